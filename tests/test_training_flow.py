"""Skills training as transcripts: browse, enrol until a batch is full, the waitlist, cancel
and promotion with its queued notification, stale buttons and bad input."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers.engine import Engine
from handlers.messages import Kind
from storage.demo import seed_training
from storage.outbox import Outbound, OutboundKind
from storage.training import CourseBatch, Enrolment, EnrolmentStatus
from tests.helpers import Chat
from tests.test_registration import HAPPY_EN, HAPPY_ID

SMALL = "MJH-2026-12B"  # the demo batch with 3 seats, Menjahit Dasar at RPTRA Klender


@pytest.fixture
def courses(database, clock) -> None:
    """Load the demo courses and batches for the weeks after the test clock's day."""
    with database.begin() as db:
        seed_training(db=db, now=clock())


def batch_id(database, code: str) -> int:
    """Return a batch's id by its code."""
    with database.connect() as db:
        return db.execute(select(CourseBatch.id).where(CourseBatch.code == code)).scalar_one()


def english(engine: Engine, name: str) -> list[tuple[str, str]]:
    """Return the registration transcript of an English-speaking resident called `name`."""
    return [
        (name if sent == "Budi Santoso" else sent, expected.replace("Budi Santoso", name))
        for sent, expected in HAPPY_EN
    ]


async def enrol_in_small(chat: Chat, database) -> None:
    """Open the small sewing batch and go through to the confirmation question."""
    await chat.send("Skills training")
    await chat.tap("cat:Menjahit")
    await chat.tap(f"batch:{batch_id(database, SMALL)}")
    await chat.tap(f"training:enrol:{batch_id(database, SMALL)}")
    assert "Are you 17 or older?" in chat.text
    await chat.send("yes")
    assert "Do you belong to one of them?" in chat.text
    await chat.send("None of these")


async def test_browse_and_enrol(chat: Chat, courses, database) -> None:
    await chat.run(HAPPY_EN)
    await chat.send("Skills training")
    assert "Which kind of course?" in chat.text
    assert "Sewing" in chat.labels and "My enrolments" in chat.labels
    await chat.tap("cat:Menjahit")
    assert "Open batches:" in chat.text
    assert "3 places left of 3" in chat.text
    await chat.tap(f"batch:{batch_id(database, SMALL)}")
    text = chat.text
    assert "Basic sewing" in text or "Menjahit" in text
    assert "Organiser: Kelurahan Klender" in text
    assert "6 sessions:" in text
    assert "For: residents of Kecamatan Duren Sawit, aged 17 or over" in text
    assert "Cost: free of charge" in text
    assert chat.labels[0] == "Enrol"
    await chat.tap(f"training:enrol:{batch_id(database, SMALL)}")
    await chat.send("ya")
    await chat.send("1")  # the first priority group
    assert "Enrol Budi Santoso in" in chat.text
    await chat.send("Yes, enrol me")
    assert "Done: you are enrolled in" in chat.text
    assert "Your enrolments:" in chat.text
    assert "You are enrolled in this batch." in chat.text
    with database.connect() as db:
        row = db.execute(select(Enrolment)).one()
    assert row.status == EnrolmentStatus.CONFIRMED
    assert row.priority_group is not None


async def test_full_batch_waitlist_cancel_and_promotion(engine: Engine, courses, database) -> None:
    people = [Chat(engine, f"warga-{number}") for number in range(5)]
    names = ["Ani Lestari", "Budi Hartono", "Citra Dewi", "Dedi Kurniawan", "Eka Putri"]
    for chat, name in zip(people, names, strict=True):
        await chat.run(english(engine, name))
        await enrol_in_small(chat, database)
        await chat.send("yes")
    for chat in people[:3]:
        assert "you are enrolled in" in chat.text
    assert "on the waiting list of" in people[3].text and "as number 1" in people[3].text
    assert "as number 2" in people[4].text
    # the detail screen of a full batch offers the waiting list
    late = Chat(engine, "warga-late")
    await late.run(english(engine, "Fajar Nugroho"))
    await late.send("Skills training")
    await late.tap("cat:Menjahit")
    assert "full; 2 people on the waiting list" in late.text
    await late.tap(f"batch:{batch_id(database, SMALL)}")
    assert "Join the waiting list" in late.labels
    # the second enrolled cancels: the first on the waitlist moves up and is told
    second = people[1]
    await second.send("Skills training")
    await second.tap("training:mine")
    cancel_key = next(key for key in second.keys if key.startswith("training:cancel:"))
    await second.tap(cancel_key)
    assert "Your place goes to the next person on the waiting list." in second.text
    await second.send("yes")
    assert "is cancelled" in second.text
    with database.connect() as db:
        queued = db.execute(select(Outbound)).all()
        statuses = dict(db.execute(select(Enrolment.resident_id, Enrolment.status)).all())
    assert len(queued) == 1
    assert queued[0].kind == OutboundKind.PROMOTION
    assert "a place came free" in queued[0].text and SMALL in queued[0].text
    assert list(statuses.values()).count(EnrolmentStatus.CONFIRMED) == 3
    # the one left on the waitlist is now number 1
    await people[4].send("Skills training")
    await people[4].tap("training:mine")
    assert "You are number 1 on the waiting list." in people[4].text
    await people[3].send("Skills training")
    await people[3].tap("training:mine")
    assert "You are enrolled in this batch." in people[3].text


async def test_enrolling_twice_changes_nothing(chat: Chat, courses, database) -> None:
    await chat.run(HAPPY_EN)
    await enrol_in_small(chat, database)
    await chat.send("yes")
    await chat.send("Skills training")
    await chat.tap("cat:Menjahit")
    await chat.tap(f"batch:{batch_id(database, SMALL)}")
    assert "You are enrolled in this batch." in chat.text
    assert "Enrol" not in chat.labels and "Cancel my enrolment" in chat.labels
    await chat.tap(f"training:enrol:{batch_id(database, SMALL)}")  # from an older message
    assert "That button is from an old message" in chat.text
    assert "You are enrolled in this batch." in chat.text
    with database.connect() as db:
        assert len(db.execute(select(Enrolment)).all()) == 1


async def test_an_old_confirm_button_does_not_enrol_twice(chat: Chat, courses, database) -> None:
    await chat.run(HAPPY_EN)
    await enrol_in_small(chat, database)
    yes = f"enrol:{batch_id(database, SMALL)}:yes"
    tap = chat.message(kind=Kind.OPTION, option=yes)
    await chat.deliver(tap)
    assert "Done: you are enrolled in" in chat.text
    await chat.deliver(tap)  # the same update delivered again by the platform
    assert chat.replies == []
    await chat.tap(yes)  # the button tapped again on the old message
    assert "That button is from an old message" in chat.text
    with database.connect() as db:
        assert len(db.execute(select(Enrolment)).all()) == 1


async def test_cancelling_someone_elses_enrolment_by_a_stale_button(
    engine: Engine, courses, database
) -> None:
    owner, other = Chat(engine, "owner"), Chat(engine, "other")
    await owner.run(english(engine, "Ani Lestari"))
    await enrol_in_small(owner, database)
    await owner.send("yes")
    with database.connect() as db:
        enrolment_id = db.execute(select(Enrolment.id)).scalar_one()
    await other.run(english(engine, "Budi Hartono"))
    await other.tap(f"training:cancel:{enrolment_id}")
    assert "That enrolment is not (or no longer) on your list." in other.text
    await other.tap("training:cancel:abc")  # no key we made: a stale button
    assert "That button is from an old message" in other.text
    with database.connect() as db:
        assert db.execute(select(Enrolment.status)).scalar_one() == EnrolmentStatus.CONFIRMED


async def test_a_cancel_button_from_yesterday_works_from_anywhere(
    chat: Chat, courses, database
) -> None:
    await chat.run(HAPPY_EN)
    await enrol_in_small(chat, database)
    await chat.send("yes")
    cancel_key = next(key for key in chat.keys if key.startswith("training:cancel:"))
    await chat.send("menu")
    await chat.tap(cancel_key)
    assert "Cancel your enrolment in" in chat.text
    await chat.send("no")
    assert "Your enrolment is kept." in chat.text
    await chat.tap(cancel_key)
    await chat.send("yes")
    await chat.tap(cancel_key)  # once more, after it is cancelled
    assert "not (or no longer) on your list" in chat.text


async def test_too_young_is_told_kindly(chat: Chat, courses, database) -> None:
    await chat.run(HAPPY_EN)
    await chat.send("Skills training")
    await chat.tap("cat:Menjahit")
    await chat.tap(f"batch:{batch_id(database, SMALL)}")
    await chat.tap(f"training:enrol:{batch_id(database, SMALL)}")
    await chat.send("no")
    assert "Sorry, this course is for people aged 17 or over." in chat.text
    assert "Which kind of course?" in chat.text


async def test_an_unregistered_resident_registers_then_returns_to_the_batch(
    chat: Chat, courses, database
) -> None:
    await chat.run(
        [
            ("hello", "Please choose your language:"),
            ("English", "Do you agree?"),
            ("no", "That is fine."),
        ]
    )
    await chat.send("Skills training")
    await chat.tap("cat:Menjahit")
    await chat.tap(f"batch:{batch_id(database, SMALL)}")
    await chat.tap(f"training:enrol:{batch_id(database, SMALL)}")
    assert "we need your name, kelurahan and RW" in chat.text
    assert "Do you agree?" in chat.text
    await chat.run(
        [
            ("yes", "What is your full name"),
            ("Sri Wahyuni", "Which kelurahan"),
            ("Klender", "Which RW"),
            ("5", "mobile number"),
            ("skip", "Your registration is complete"),
        ]
    )
    assert "Organiser: Kelurahan Klender" in chat.text  # back at the batch
    await chat.tap(f"training:enrol:{batch_id(database, SMALL)}")
    assert "Are you 17 or older?" in chat.text


async def test_stickers_and_nonsense_at_the_confirmation(chat: Chat, courses, database) -> None:
    await chat.run(HAPPY_EN)
    await enrol_in_small(chat, database)
    await chat.send_kind(Kind.STICKER)
    assert "Enrol Budi Santoso in" in chat.text
    await chat.send("🤔")
    assert chat.labels == ["Yes, enrol me", "No"]
    await chat.send("x" * 5000)
    assert chat.labels == ["Yes, enrol me", "No"]
    with database.connect() as db:
        assert db.execute(select(Enrolment)).all() == []


async def test_a_batch_that_started_meanwhile(chat: Chat, courses, database, clock) -> None:
    await chat.run(HAPPY_EN)
    await enrol_in_small(chat, database)
    with database.begin() as db:  # staff moved the first session to an hour ago
        db.execute(
            CourseBatch.__table__.update()
            .where(CourseBatch.code == SMALL)
            .values(starts_at=clock.now - timedelta(hours=1))
        )
    await chat.send("yes")
    assert "no longer open for enrolment" in chat.text


async def test_indonesian(chat: Chat, courses, database) -> None:
    await chat.run(HAPPY_ID)
    await chat.send("Pelatihan keterampilan")
    assert "Pendaftaran saya" in chat.labels


async def test_erasing_frees_the_seat_for_the_next_in_line(
    engine: Engine, courses, database
) -> None:
    people = [Chat(engine, f"warga-{number}") for number in range(4)]
    names = ["Ani Lestari", "Budi Hartono", "Citra Dewi", "Dedi Kurniawan"]
    for chat, name in zip(people, names, strict=True):
        await chat.run(english(engine, name))
        await enrol_in_small(chat, database)
        await chat.send("yes")
    leaving = people[0]
    await leaving.send("hapus data")
    assert "your course enrolments" in leaving.text
    await leaving.send("yes")
    assert "Your data has been erased" in leaving.text
    with database.connect() as db:
        queued = db.execute(select(Outbound)).one()
        left = db.execute(select(Enrolment.status)).scalars().all()
    assert "a place came free" in queued.text
    assert sorted(left) == [EnrolmentStatus.CONFIRMED] * 3  # nothing of the erased is kept


async def test_batal_at_the_cancel_question_asks_which_answer(chat: Chat, courses, database):
    await chat.run(HAPPY_ID)
    await chat.send("Pelatihan keterampilan")
    await chat.tap("cat:Menjahit")
    await chat.tap(f"batch:{batch_id(database, SMALL)}")
    await chat.tap(f"training:enrol:{batch_id(database, SMALL)}")
    await chat.run([("ya", "memprioritaskan"), ("Tidak ada", "Daftarkan"), ("ya", "Selesai")])
    cancel_key = next(key for key in chat.keys if key.startswith("training:cancel:"))
    await chat.tap(cancel_key)
    await chat.send("batal")
    assert "Belum ada yang dibatalkan" in chat.text
    assert chat.labels == ["Ya, batalkan", "Tidak, simpan saja"]
    with database.connect() as db:
        assert db.execute(select(Enrolment.status)).scalar_one() == EnrolmentStatus.CONFIRMED
    await chat.send("Ya, batalkan")
    assert "sudah dibatalkan" in chat.text


async def test_buttons_of_another_batch_are_old_ones(chat: Chat, courses, database) -> None:
    await chat.run(HAPPY_EN)
    await chat.send("Skills training")
    await chat.tap("cat:Menjahit")
    small, other = chat.keys[0], chat.keys[1]
    await chat.tap(small)
    enrol_small = chat.keys[0]
    await chat.tap("training:back")
    await chat.tap(other)  # now looking at the other sewing batch
    await chat.tap(enrol_small)  # the enrol button of the first batch's message
    assert "That button is from an old message" in chat.text
    await chat.tap(chat.keys[0])
    await chat.send("yes")  # age
    await chat.send("None of these")
    assert "MJH-2026-12A" in chat.text
    await chat.tap(f"enrol:{batch_id(database, SMALL)}:yes")  # a confirm of the small batch
    assert "That button is from an old message" in chat.text
    with database.connect() as db:
        assert db.execute(select(Enrolment)).all() == []


async def test_a_waitlist_closes_when_the_batch_begins(engine: Engine, courses, database, clock):
    people = [Chat(engine, f"warga-{number}") for number in range(4)]
    names = ["Ani Lestari", "Budi Hartono", "Citra Dewi", "Dedi Kurniawan"]
    for chat, name in zip(people, names, strict=True):
        await chat.run(english(engine, name))
        await enrol_in_small(chat, database)
        await chat.send("yes")
    with database.begin() as db:  # the first session began an hour ago
        db.execute(
            CourseBatch.__table__.update()
            .where(CourseBatch.code == SMALL)
            .values(starts_at=clock.now - timedelta(hours=1))
        )
    await people[3].send("Skills training")
    await people[3].tap("training:mine")
    assert "The batch has begun, so its waiting list is closed." in people[3].text


async def test_a_long_list_of_batches_comes_a_page_at_a_time(
    chat: Chat, courses, database
) -> None:
    with database.begin() as db:  # eight more sewing batches: ten in all
        table = CourseBatch.__table__
        model = db.execute(select(table).where(table.c.code == SMALL)).mappings().one()
        for number in range(8):
            copy = {**model, "code": f"MJH-EXTRA-{number}"}
            copy.pop("id")
            db.execute(table.insert().values(**copy))
    await chat.run(HAPPY_EN)
    await chat.send("Skills training")
    await chat.tap("cat:Menjahit")
    assert "Open batches (10 in all):" in chat.text
    first = [key for key in chat.keys if key.startswith("batch:")]
    assert len(first) == 6 and len(chat.keys) == 10
    await chat.send("More batches")
    second = [key for key in chat.keys if key.startswith("batch:")]
    assert len(second) == 4 and not set(first) & set(second)
    await chat.send("more")
    assert [key for key in chat.keys if key.startswith("batch:")] == first  # round again
