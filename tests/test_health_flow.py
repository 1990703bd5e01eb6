"""Health talks and free checks as transcripts: browse, book, what to bring, see, cancel,
full slots, stale buttons."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers.engine import Engine
from storage.demo import seed_health
from storage.health import BookingStatus, HealthBooking, HealthEvent, HealthSlot
from tests.helpers import Chat
from tests.test_registration import HAPPY_EN
from tests.test_training_flow import english

CHECK = "Cek tekanan darah & gula darah"  # the demo check day whose 08.00 slot holds one person


@pytest.fixture
def clinics(database, clock) -> None:
    """Load the demo talks and check days for the weeks after the test clock's day."""
    with database.begin() as db:
        seed_health(db=db, now=clock())


async def open_check(chat: Chat) -> None:
    """Go to the blood pressure check day's time slots."""
    await chat.send("Free health checks")
    await chat.tap("kind:check")
    assert "Which health check?" in chat.text
    await chat.tap(f"tp:{CHECK}")


async def test_book_a_talk(chat: Chat, clinics, database) -> None:
    await chat.run(HAPPY_EN)
    await chat.send("Free health checks")
    assert chat.labels[:2] == ["Health talks", "Free health checks"]
    await chat.send("1")
    assert "Which topic interests you?" in chat.text
    assert "Balanced nutrition" in chat.labels
    await chat.send("Balanced nutrition")
    text = chat.text
    assert "My plate: balanced nutrition for the family" in text
    assert "Organiser: Puskesmas Kecamatan Duren Sawit" in text
    assert "Bring: Nothing needed" in text
    assert "Choose the time below to book a place." in text
    await chat.send("1")
    assert "Book “My plate: balanced nutrition for the family” for Budi Santoso on" in chat.text
    await chat.send("Yes, book it")
    assert "Booked: “My plate: balanced nutrition for the family”" in chat.text
    assert "Please come 10 minutes early." in chat.text
    assert "Your bookings:" in chat.text
    with database.connect() as db:
        assert db.execute(select(HealthBooking.status)).scalar_one() == BookingStatus.BOOKED


async def test_a_slot_for_one_fills_and_is_no_longer_offered(
    engine: Engine, clinics, database
) -> None:
    first, second = Chat(engine, "first"), Chat(engine, "second")
    for chat, name in ((first, "Ani Lestari"), (second, "Budi Hartono")):
        await chat.run(english(engine, name))
        await open_check(chat)
    assert first.labels[0].endswith("08.00 (1 left)")
    one_place = first.keys[0]
    await first.tap(one_place)
    await first.send("yes")
    assert "Booked:" in first.text
    # the second had the same list open: the slot is gone from it now
    await second.tap(one_place)
    assert "That button is from an old message" in second.text
    assert not second.labels[0].endswith("08.00 (1 left)")
    with database.connect() as db:
        taken = db.execute(select(HealthSlot.taken).order_by(HealthSlot.taken.desc())).first()
    assert taken[0] == 1


async def test_a_slot_taken_between_choosing_and_confirming(
    engine: Engine, clinics, database
) -> None:
    first, second = Chat(engine, "first"), Chat(engine, "second")
    for chat, name in ((first, "Ani Lestari"), (second, "Budi Hartono")):
        await chat.run(english(engine, name))
        await open_check(chat)
        await chat.tap(chat.keys[0])
        assert "Book “" in chat.text
    await first.send("yes")
    await second.send("yes")
    assert "Sorry, that time has just been taken. Please choose another." in second.text
    assert "Choose a time to book:" in second.text


async def test_one_booking_per_event_and_cancel(chat: Chat, clinics, database) -> None:
    await chat.run(HAPPY_EN)
    await open_check(chat)
    await chat.tap(chat.keys[1])
    await chat.send("yes")
    await open_check(chat)
    await chat.tap(chat.keys[2])
    await chat.send("yes")
    assert "You already have a booking for this:" in chat.text
    cancel_key = next(key for key in chat.keys if key.startswith("health:cancel:"))
    await chat.tap(cancel_key)
    assert "Cancel your booking for" in chat.text
    await chat.send("yes")
    assert "is cancelled" in chat.text
    assert "You have no booking for a health talk or check." in chat.text
    with database.connect() as db:
        assert sum(db.execute(select(HealthSlot.taken)).scalars()) == 0
    await chat.tap(cancel_key)  # the old button once more
    assert "not (or no longer) on your list" in chat.text


async def test_someone_elses_booking_cannot_be_cancelled(
    engine: Engine, clinics, database
) -> None:
    owner, other = Chat(engine, "owner"), Chat(engine, "other")
    await owner.run(english(engine, "Ani Lestari"))
    await open_check(owner)
    await owner.tap(owner.keys[1])
    await owner.send("yes")
    with database.connect() as db:
        booking = db.execute(select(HealthBooking.id)).scalar_one()
    await other.run(english(engine, "Budi Hartono"))
    await other.tap(f"health:cancel:{booking}")
    assert "That booking is not (or no longer) on your list." in other.text
    with database.connect() as db:
        assert db.execute(select(HealthBooking.status)).scalar_one() == BookingStatus.BOOKED


async def test_nothing_planned(chat: Chat, database) -> None:
    await chat.run(HAPPY_EN)
    await chat.send("Free health checks")
    await chat.tap("kind:talk")
    assert "No health talk is planned right now." in chat.text
    assert chat.labels == ["Back", "My bookings", "Main menu"]


async def test_many_times_come_a_page_at_a_time(chat: Chat, clinics, database) -> None:
    await chat.run(HAPPY_EN)
    await open_check(chat)
    with database.begin() as db:  # three more half hours after the last slot
        table = HealthSlot.__table__
        event = db.execute(select(HealthEvent.id).where(HealthEvent.topic == CHECK)).scalar_one()
        last = (
            db.execute(
                select(table).where(table.c.event_id == event).order_by(table.c.starts_at.desc())
            )
            .mappings()
            .first()
        )
        slots = db.execute(select(table).where(table.c.event_id == last["event_id"])).all()
        assert len(slots) == 7
        for step in range(1, 4):
            db.execute(
                table.insert().values(
                    event_id=last["event_id"],
                    starts_at=last["starts_at"] + timedelta(minutes=30 * step),
                    ends_at=last["ends_at"] + timedelta(minutes=30 * step),
                    capacity=5,
                    taken=0,
                )
            )
    await open_check(chat)
    assert len(chat.keys) <= 10
    assert "Other times" in chat.labels
    first = [key for key in chat.keys if key.startswith("slot:")]
    await chat.send("Other times")
    later = [key for key in chat.keys if key.startswith("slot:")]
    assert len(first) + len(later) == 10 and not set(first) & set(later)
