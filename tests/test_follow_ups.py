"""Follow-ups: some hours after a pickup, a course's last session or a health check, the clock
queues a feedback invitation (with a button per score) to those who were there; the score
comes back by a button from anywhere or typed at the rating question."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot import reminding
from bot.serve import tick_reminders
from bot.settings import Settings
from handlers.engine import Engine
from storage import training
from storage.demo import seed_distributions, seed_health, seed_training
from storage.health import BookingStatus, HealthBooking
from storage.outbox import Outbound, OutboundKind
from storage.ratings import Rated, Rating
from tests.helpers import Chat, Clock
from tests.test_course_import import resident
from tests.test_health_flow import open_check
from tests.test_registration import HAPPY_EN, HAPPY_ID
from tests.test_reminders import PICKUP_STARTS
from tests.test_training_flow import SMALL

ZONE = "Asia/Jakarta"
AFTER = reminding.FOLLOW_UP_AFTER


@pytest.fixture
def schedule(database, clock) -> None:
    """Load the demo distributions."""
    with database.begin() as db:
        seed_distributions(db=db, today=clock().date(), now=clock())


@pytest.fixture
def clinics(database, clock) -> None:
    """Load the demo health talks and check days."""
    with database.begin() as db:
        seed_health(db=db, now=clock())


@pytest.fixture
def courses(database, clock) -> None:
    """Load the demo courses and batches."""
    with database.begin() as db:
        seed_training(db=db, now=clock())


def tick(database, clock: Clock, **options) -> int:
    """Run the clock once at the test clock's time."""
    return reminding.tick(database, now=clock(), time_zone=ZONE, **options)


def invitations(database) -> list[Outbound]:
    """Return the queued feedback invitations."""
    with database.connect() as db:
        rows = db.execute(
            select(Outbound.__table__)
            .where(Outbound.kind == OutboundKind.FEEDBACK)
            .order_by(Outbound.id)
        ).all()
    return [Outbound.model_validate(row._asdict()) for row in rows]


def all_ratings(database) -> list[Rating]:
    """Return every rating row."""
    with database.connect() as db:
        rows = db.execute(select(Rating.__table__).order_by(Rating.id)).all()
    return [Rating.model_validate(row._asdict()) for row in rows]


async def book_a_check(chat: Chat, database) -> HealthBooking:
    """Register in English and book the first time of the check day."""
    await chat.run(HAPPY_EN)
    await open_check(chat)
    await chat.tap(chat.keys[0])
    await chat.send("yes")
    assert "Booked:" in chat.text
    with database.connect() as db:
        return db.execute(select(HealthBooking.__table__)).one()


async def test_after_a_health_check_an_invitation_with_buttons_and_a_tapped_score(
    engine: Engine, clinics, database, clock
) -> None:
    chat = Chat(engine, "ani")
    booking = await book_a_check(chat, database)
    from storage import health

    with database.connect() as db:
        slot = health.get_slot(db=db, slot_id=booking.slot_id)
    clock.now = slot.ends_at + AFTER - timedelta(minutes=1)
    tick(database, clock)
    assert invitations(database) == []
    clock.now = slot.ends_at + AFTER
    tick(database, clock)
    [invitation] = invitations(database)
    assert invitation.text.startswith("Thank you for taking part in “")
    assert "Please give a score from 1 (very poor) to 5 (very good)" in invitation.text
    [rating] = all_ratings(database)
    assert (rating.subject, rating.subject_id, rating.score) == (Rated.SLOT, slot.id, None)
    assert invitation.options == [
        {"key": f"rate:{rating.id}:{score}", "label": "⭐" * score} for score in range(1, 6)
    ]
    tick(database, clock)  # once only
    assert len(invitations(database)) == 1
    await chat.send("menu")
    await chat.send("Free health checks")  # the resident is somewhere else when tapping
    await chat.tap(f"rate:{rating.id}:4")
    assert "Thank you for your score: ⭐⭐⭐⭐ (4 of 5)." in chat.text
    assert chat.labels == ["Add a comment", "No, thank you"]  # a comment is offered
    await chat.tap("mo:no")
    assert chat.labels[:2] == ["Health talks", "Free health checks"]  # still where they were
    assert all_ratings(database)[0].score == 4
    await chat.tap(f"rate:{rating.id}:5")  # changed their mind
    assert "Thank you, your score is now ⭐⭐⭐⭐⭐ (5 of 5)." in chat.text
    other = Chat(engine, "budi")
    await other.run(HAPPY_ID)
    await other.tap(f"rate:{rating.id}:1")  # someone else's invitation
    assert "Pertanyaan itu sudah tidak berlaku." in other.text
    assert all_ratings(database)[0].score == 5


async def test_a_cancelled_booking_gets_no_invitation(
    engine: Engine, clinics, database, clock
) -> None:
    booking = await book_a_check(Chat(engine, "ani"), database)
    with database.begin() as db:
        db.execute(update(HealthBooking).values(status=BookingStatus.CANCELLED))
    from storage import health

    with database.connect() as db:
        slot = health.get_slot(db=db, slot_id=booking.slot_id)
    clock.now = slot.ends_at + AFTER
    tick(database, clock)
    assert invitations(database) == []


async def test_after_a_pickup_those_reminded_are_asked_and_a_typed_score_counts(
    chat: Chat, schedule, database, clock
) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Jadwal sembako")
    await chat.send("Ingatkan saya")
    ends = PICKUP_STARTS + timedelta(hours=3)  # 11.00 WIB
    # the delay is a setting (FOLLOW_UP_AFTER_MINUTES), which the running clock's tick uses
    settings = Settings(follow_up_after_minutes=60)
    clock.now = ends + timedelta(minutes=59)
    assert tick_reminders(settings, database, clock()) == 0
    clock.now = ends + timedelta(hours=1)
    assert tick_reminders(settings, database, clock()) == 1
    [invitation] = invitations(database)
    assert invitation.text.startswith(
        "Terima kasih sudah mengikuti pengambilan sembako pada Sabtu, 19 Desember 2026 di "
        "Kantor Kelurahan Klender."
    )
    await chat.send("menu")
    await chat.send("Masukan & pengaduan")
    assert (
        "Bagaimana pengambilan sembako pada Sabtu, 19 Desember 2026 di Kantor Kelurahan "
        "Klender? Ketik angka 1 (sangat buruk) sampai 5 (sangat baik)" in chat.text
    )
    for wrong in ("6", "lumayanlah ya"):
        await chat.send(wrong)
        assert "Mohon jawab dengan angka 1 sampai 5" in chat.text
    assert all_ratings(database)[0].score is None
    await chat.send("5")
    assert "Terima kasih atas nilai dari Bapak/Ibu: ⭐⭐⭐⭐⭐ (5 dari 5)." in chat.text
    assert chat.labels == ["Tambah komentar", "Tidak, terima kasih"]
    await chat.send("Tidak, terima kasih")
    assert "Menu utama" in chat.text
    assert all_ratings(database)[0].score == 5
    await chat.send("Masukan & pengaduan")  # nothing left to rate: the complaints chooser
    assert "Apa yang ingin Bapak/Ibu lakukan?" in chat.text


async def test_after_a_course_only_those_present_are_asked(courses, database, clock) -> None:
    came, stayed_away = resident(database, "Siti"), resident(database, "Ani", language="en")
    with database.begin() as db:
        batch = training.get_batch(db=db, code=SMALL)
        enrolments = [
            training.enrol(db=db, batch_id=batch.id, resident_id=person, now=clock())
            for person in (came, stayed_away)
        ]
        training.mark_attendance(
            db=db,
            batch_id=batch.id,
            session=1,
            present={enrolments[0].enrolment_id},
            now=clock(),
        )
    clock.now = batch.ends_at + AFTER
    tick(database, clock)
    [invitation] = invitations(database)
    assert invitation.resident_id == came
    assert f"pelatihan “Menjahit Dasar” ({SMALL})" in invitation.text
    # long after the window, an event asks nobody (a first start on an old database)
    clock.now = batch.ends_at + AFTER + reminding.FOLLOW_UP_WINDOW + timedelta(days=1)
    with database.begin() as db:
        db.execute(Rating.__table__.delete())
    tick(database, clock)
    assert len(invitations(database)) == 1


async def test_erasure_keeps_a_given_score_without_the_person(
    engine: Engine, clinics, database, clock
) -> None:
    chat = Chat(engine, "ani")
    booking = await book_a_check(chat, database)
    from storage import health

    with database.connect() as db:
        slot = health.get_slot(db=db, slot_id=booking.slot_id)
    clock.now = slot.ends_at + AFTER
    tick(database, clock)
    rating = all_ratings(database)[0]
    await chat.tap(f"rate:{rating.id}:3")
    await chat.send("erase my data")
    await chat.send("Yes, erase my data")
    [kept] = all_ratings(database)
    assert (kept.resident_id, kept.score) == (None, 3)
