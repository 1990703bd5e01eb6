"""Reminders from asking to the outbound queue: the clock queues them in the resident's language,
the misfire rule, reminders made and cancelled with enrolments and bookings (in the same
transaction), and "Pengingat saya" (see, cancel one or all; stale and foreign buttons)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot import reminding
from handlers.engine import Engine
from storage import reminders
from storage.demo import seed_distributions, seed_health, seed_training
from storage.outbox import Outbound, OutboundKind
from storage.reminders import Reminder, ReminderStatus, Subject
from storage.training import Enrolment, EnrolmentStatus
from tests.helpers import Chat, Clock
from tests.test_health_flow import open_check
from tests.test_registration import HAPPY_EN, HAPPY_ID
from tests.test_training_flow import SMALL, batch_id, english

ZONE = "Asia/Jakarta"
# Siti (Klender RW 5) picks up on Saturday 19 December 2026 at 08.00 WIB
EVENING_BEFORE = datetime(2026, 12, 18, 11, 0, tzinfo=UTC)  # Friday 18.00 WIB
MORNING_OF = datetime(2026, 12, 18, 23, 30, tzinfo=UTC)  # Saturday 06.30 WIB
PICKUP_STARTS = datetime(2026, 12, 19, 1, 0, tzinfo=UTC)


@pytest.fixture
def schedule(database, clock) -> None:
    """Load the demo distributions for the weeks after the test clock's day."""
    with database.begin() as db:
        seed_distributions(db=db, today=clock().date(), now=clock())


@pytest.fixture
def courses(database, clock) -> None:
    """Load the demo courses and batches."""
    with database.begin() as db:
        seed_training(db=db, now=clock())


@pytest.fixture
def clinics(database, clock) -> None:
    """Load the demo health talks and check days."""
    with database.begin() as db:
        seed_health(db=db, now=clock())


def tick(database, clock: Clock, **options) -> int:
    """Run the reminders' clock once at the test clock's time."""
    return reminding.tick(database, now=clock(), time_zone=ZONE, **options)


def outbound(database, kind: OutboundKind | None = None) -> list[Outbound]:
    """Return the queued messages, oldest first (of one kind)."""
    with database.connect() as db:
        rows = db.execute(select(Outbound.__table__).order_by(Outbound.id)).all()
    found = [Outbound.model_validate(row._asdict()) for row in rows]
    return [item for item in found if kind is None or item.kind == kind]


def stored_reminders(database, subject: Subject | None = None) -> list[Reminder]:
    """Return every reminder, earliest first (of one subject)."""
    with database.connect() as db:
        rows = db.execute(
            select(Reminder.__table__).order_by(Reminder.remind_at, Reminder.id)
        ).all()
    found = [Reminder.model_validate(row._asdict()) for row in rows]
    return [item for item in found if subject is None or item.subject == subject]


async def ask_for_sembako_reminder(chat: Chat, transcript=HAPPY_ID) -> None:
    """Register, open the schedule and ask for a reminder of the next pickup."""
    await chat.run(transcript)
    await chat.send("Jadwal sembako" if transcript is HAPPY_ID else "Sembako schedule")
    await chat.tap(chat.keys[0])
    assert "remind" in chat.text.lower() or "ingat" in chat.text.lower()


# -- the clock -------------------------------------------------------------------------------


async def test_a_sembako_reminder_falls_due_and_is_queued_in_the_residents_language(
    engine: Engine,
    schedule,
    database,
    clock,
) -> None:
    siti, budi = Chat(engine, "siti"), Chat(engine, "budi")
    await ask_for_sembako_reminder(siti)
    await ask_for_sembako_reminder(budi, HAPPY_EN)  # Pondok Bambu RW 14: 12 December, 13.00
    clock.now = datetime(2026, 12, 11, 10, 59, tzinfo=UTC)
    assert tick(database, clock) == 0
    clock.now = datetime(2026, 12, 11, 11, 0, tzinfo=UTC)  # Friday 18.00 WIB
    assert tick(database, clock) == 1
    [english_one] = outbound(database)
    assert english_one.kind == OutboundKind.REMINDER
    assert "Reminder: Sembako pickup (" in english_one.text
    assert "When: Saturday, 12 December 2026, 13.00–16.00 WIB" in english_one.text
    assert "To stop these reminders: menu → “My reminders”." in english_one.text
    assert tick(database, clock) == 0  # a reminder queued is never queued again
    clock.now = EVENING_BEFORE
    assert tick(database, clock) == 1
    indonesian = outbound(database)[-1].text
    assert "Pengingat: Pengambilan sembako (" in indonesian
    assert "Waktu: Sabtu, 19 Desember 2026, 08.00–11.00 WIB" in indonesian
    assert "Tempat: Kantor Kelurahan Klender, Jl. Bekasi Timur Raya No. 3" in indonesian
    assert "Yang dibawa: KTP asli, Kartu Keluarga, dan kartu KKS" in indonesian
    assert "https://www.google.com/maps/search/?api=1&query=-6.217900,106.901200" in indonesian
    statuses = [(item.remind_at, item.status) for item in stored_reminders(database)]
    assert (EVENING_BEFORE, ReminderStatus.QUEUED) in statuses
    assert (MORNING_OF, ReminderStatus.PENDING) in statuses


@pytest.mark.parametrize(
    ("back_at", "queued", "status"),
    [
        (datetime(2026, 12, 19, 0, 45, tzinfo=UTC), 1, ReminderStatus.QUEUED),  # 07.45 WIB
        (datetime(2026, 12, 19, 1, 30, tzinfo=UTC), 0, ReminderStatus.EXPIRED),  # 08.30 WIB
    ],
)
async def test_reminders_missed_while_down_go_only_before_the_event(
    chat: Chat,
    schedule,
    database,
    clock,
    back_at,
    queued,
    status,
) -> None:
    await ask_for_sembako_reminder(chat)
    clock.now = back_at  # the program was down from Friday afternoon until now
    assert tick(database, clock) == queued
    assert len(outbound(database)) == queued  # both missed reminders go as one message
    assert {item.status for item in stored_reminders(database)} == {status}


async def test_a_reminder_of_a_called_off_or_gone_pickup_expires(
    chat: Chat,
    schedule,
    database,
    clock,
) -> None:
    from storage.schedules import Distribution

    await ask_for_sembako_reminder(chat)
    with database.begin() as db:
        db.execute(update(Distribution).values(cancelled=True))
    clock.now = EVENING_BEFORE
    assert tick(database, clock) == 0
    assert outbound(database) == []
    assert stored_reminders(database)[0].status == ReminderStatus.EXPIRED


async def test_an_unreachable_resident_gets_nothing_and_the_reminder_is_spent(
    chat: Chat,
    schedule,
    database,
    clock,
) -> None:
    from storage import residents

    await ask_for_sembako_reminder(chat)
    with database.begin() as db:
        residents.set_unreachable(db=db, channel="console", external_id="warga-1", at=clock())
    clock.now = EVENING_BEFORE
    assert tick(database, clock) == 0
    assert stored_reminders(database)[0].status == ReminderStatus.EXPIRED


# -- training and health ---------------------------------------------------------------------


async def enrol_small(chat: Chat, database, name: str) -> None:
    """Register in English and enrol in (or queue for) the small sewing batch."""
    await chat.run(english(chat.engine, name))
    await chat.send("Skills training")
    await chat.tap("cat:Menjahit")
    await chat.tap(f"batch:{batch_id(database, SMALL)}")
    await chat.tap(f"training:enrol:{batch_id(database, SMALL)}")
    await chat.send("yes")
    await chat.send("None of these")
    await chat.send("yes")


def session_starts(database) -> list[datetime]:
    """Return when the small batch's sessions start."""
    from storage.training import BatchSession

    with database.connect() as db:
        query = select(BatchSession.starts_at).where(
            BatchSession.batch_id == batch_id(database, SMALL)
        )
        return sorted(db.execute(query).scalars())


async def test_an_enrolment_reminds_the_evening_before_each_session_and_a_cancel_cancels(
    chat: Chat,
    courses,
    database,
    clock,
    monkeypatch,
) -> None:
    await enrol_small(chat, database, "Ani Lestari")
    assert "We will remind you here the evening before each session." in chat.text
    made = stored_reminders(database, Subject.SESSION)
    starts = session_starts(database)
    assert len(made) == len(starts)
    for reminder, start in zip(made, starts, strict=True):
        assert reminder.remind_at.astimezone(ZoneInfo(ZONE)).hour == 18
        assert timedelta(hours=6) < start - reminder.remind_at < timedelta(days=1)
    await chat.tap("training:mine")
    cancel_key = next(key for key in chat.keys if key.startswith("training:cancel:"))

    def broken(**_kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(reminders, "cancel_batch", broken)
    await chat.tap(cancel_key)
    await chat.send("yes")  # fails half-way: nothing of it stays
    assert "something went wrong" in chat.text
    with database.connect() as db:
        assert db.execute(select(Enrolment.status)).scalar_one() == EnrolmentStatus.CONFIRMED
    assert {item.status for item in stored_reminders(database)} == {ReminderStatus.PENDING}
    monkeypatch.undo()
    await chat.tap(cancel_key)
    await chat.send("yes")
    assert "is cancelled" in chat.text
    assert {item.status for item in stored_reminders(database)} == {ReminderStatus.CANCELLED}


async def test_the_waitlist_gets_reminders_only_when_moved_up(
    engine: Engine,
    courses,
    database,
) -> None:
    people = [Chat(engine, f"warga-{number}") for number in range(4)]
    for chat, name in zip(people, ["Ani", "Budi", "Citra", "Dedi"], strict=True):
        await enrol_small(chat, database, f"{name} Santoso")
    assert "on the waiting list of" in people[3].text
    with database.connect() as db:
        dedi = db.execute(
            select(Enrolment.resident_id).where(Enrolment.status == EnrolmentStatus.WAITLISTED)
        ).scalar_one()
    assert not [item for item in stored_reminders(database) if item.resident_id == dedi]
    await people[0].tap("training:mine")
    await people[0].tap(next(key for key in people[0].keys if key.startswith("training:")))
    await people[0].send("yes")
    assert "is cancelled" in people[0].text
    moved_up = [item for item in stored_reminders(database) if item.resident_id == dedi]
    assert moved_up and {item.status for item in moved_up} == {ReminderStatus.PENDING}
    assert [item.kind for item in outbound(database)] == [OutboundKind.PROMOTION]


async def test_a_health_booking_reminds_the_evening_before_and_two_hours_before(
    chat: Chat,
    clinics,
    database,
    clock,
) -> None:
    await chat.run(HAPPY_EN)
    await open_check(chat)
    await chat.tap(chat.keys[0])
    await chat.send("yes")
    assert "We will remind you here on" in chat.text
    made = stored_reminders(database, Subject.SLOT)
    assert len(made) == 2
    from storage import health

    with database.connect() as db:
        slot = health.get_slot(db=db, slot_id=made[0].subject_id)
    assert made[1].remind_at == slot.starts_at - timedelta(hours=2)
    assert made[0].remind_at.astimezone(ZoneInfo(ZONE)).hour == 18
    # the reminder itself says what to bring
    clock.now = made[0].remind_at
    assert tick(database, clock) == 1
    text = outbound(database)[0].text
    assert "Reminder: “" in text and "Bring:" in text
    assert "Please come 10 minutes early." in text
    await chat.send("menu")
    await chat.send("Free health checks")
    await chat.tap("health:mine")
    await chat.tap(next(key for key in chat.keys if key.startswith("health:cancel:")))
    await chat.send("yes")
    assert "is cancelled" in chat.text
    assert [item.status for item in stored_reminders(database, Subject.SLOT)] == [
        ReminderStatus.QUEUED,
        ReminderStatus.CANCELLED,
    ]


async def test_a_reminder_left_behind_by_a_cancelled_booking_is_not_sent(
    chat: Chat,
    clinics,
    database,
    clock,
) -> None:
    from storage.health import BookingStatus, HealthBooking

    await chat.run(HAPPY_EN)
    await open_check(chat)
    await chat.tap(chat.keys[0])
    await chat.send("yes")
    with database.begin() as db:  # a path that forgot the reminders
        db.execute(update(HealthBooking).values(status=BookingStatus.CANCELLED))
    clock.now = stored_reminders(database)[0].remind_at
    assert tick(database, clock) == 0
    assert stored_reminders(database)[0].status == ReminderStatus.CANCELLED


# -- Pengingat saya ------------------------------------------------------------------------------


async def test_my_reminders_lists_cancels_one_and_all(
    chat: Chat,
    schedule,
    clinics,
    database,
    clock,
) -> None:
    await ask_for_sembako_reminder(chat)
    await chat.send("menu")
    assert "Pengingat saya" in chat.labels
    await chat.send("Pengingat saya")
    text = chat.text
    assert "Pengingat Bapak/Ibu (kami kirim di sini):" in text
    assert "1. Pada Jumat, 18 Desember 2026 18.00 WIB, tentang Pengambilan sembako (" in text
    assert "2. Pada Sabtu, 19 Desember 2026 06.30 WIB" in text
    assert chat.labels == [
        "Batalkan pengingat 1",
        "Batalkan pengingat 2",
        "Batalkan semua",
        "Menu utama",
    ]
    first_key = chat.keys[0]
    await chat.send("1")
    assert "Baik, pengingat pada Jumat, 18 Desember 2026 18.00 WIB sudah dibatalkan." in chat.text
    assert "1. Pada Sabtu, 19 Desember 2026 06.30 WIB" in chat.text
    await chat.tap(first_key)  # the old button again
    assert "Pengingat itu tidak (atau sudah tidak) ada di daftar Bapak/Ibu." in chat.text
    # asking again takes up the cancelled one
    await chat.send("menu")
    await chat.send("Jadwal sembako")
    await chat.send("Ingatkan saya")
    assert "Kami akan mengingatkan Bapak/Ibu pada Jumat, 18 Desember 2026 18.00 WIB" in chat.text
    await chat.send("menu")
    await chat.send("Pengingat saya")
    await chat.send("Batalkan semua")
    assert "Batalkan semua (2) pengingat?" in chat.text
    await chat.send("tidak")
    assert "Baik, pengingat Bapak/Ibu tetap berlaku." in chat.text
    await chat.send("Batalkan semua")
    await chat.send("batal")  # which answer? it asks
    assert "Belum ada yang dibatalkan." in chat.text
    await chat.send("ya")
    assert "Baik, 2 pengingat sudah dibatalkan." in chat.text
    await chat.send("Pengingat saya")
    assert "Bapak/Ibu belum punya pengingat." in chat.text
    assert {item.status for item in stored_reminders(database)} == {ReminderStatus.CANCELLED}


async def test_a_cancel_button_works_from_anywhere_but_not_for_someone_else(
    engine: Engine,
    schedule,
    database,
) -> None:
    siti, budi = Chat(engine, "siti"), Chat(engine, "budi")
    await ask_for_sembako_reminder(siti)
    sitis = stored_reminders(database)
    await ask_for_sembako_reminder(budi, HAPPY_EN)
    budis = [item for item in stored_reminders(database) if item not in sitis]
    await budi.tap(f"reminder:cancel:{sitis[0].id}")
    assert "That reminder is not (or no longer) on your list." in budi.text
    await budi.tap("reminder:cancel:999999")
    assert "That reminder is not (or no longer) on your list." in budi.text
    # from the middle of another flow, an old list's button still works
    await budi.send("Skills training")
    await budi.tap(f"reminder:cancel:{budis[0].id}")
    assert "Done: the reminder of Friday, 11 December 2026 18.00 WIB is cancelled." in budi.text
    assert "Your reminders (we send them here):" in budi.text
    statuses = {item.id: item.status for item in stored_reminders(database)}
    assert statuses[budis[0].id] == ReminderStatus.CANCELLED
    assert statuses[budis[1].id] == ReminderStatus.PENDING
    assert {statuses[item.id] for item in sitis} == {ReminderStatus.PENDING}


async def test_my_reminders_is_in_the_profile_for_everyone(chat: Chat, database) -> None:
    await chat.run([("halo", "Selamat datang"), ("1", "setuju?"), ("tidak", "Tidak apa-apa")])
    await chat.send("menu")
    assert "Pengingat saya" not in chat.labels  # the menu of someone not registered is full
    assert len(chat.labels) == 10
    await chat.send("Profil saya")
    await chat.send("Pengingat saya")
    assert "Bapak/Ibu belum punya pengingat." in chat.text


async def test_the_menu_of_a_registered_resident_holds_ten_rows(chat: Chat, database) -> None:
    await chat.run(HAPPY_EN)
    await chat.send("menu")
    assert len(chat.labels) == 10
    assert chat.labels[-3:] == ["My reminders", "My profile", "Help"]
    await chat.send("my reminders")
    assert "You have no reminders waiting." in chat.text
