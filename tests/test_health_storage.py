"""Health events: booking a slot, full slots, one booking per event, cancelling."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Connection, select

from storage import health
from storage.health import BookResult, EventKind
from tests.helpers import Clock
from tests.test_training_storage import add_resident


def add_event(
    db: Connection,
    code: str,
    now: datetime,
    *,
    kind: EventKind = EventKind.CHECK,
    topic: str = "Hipertensi",
    cancelled: bool = False,
) -> int:
    """Insert a health event and return its id."""
    created = db.execute(
        health.HealthEvent.__table__.insert().values(
            code=code,
            kind=kind,
            topic=topic,
            topic_en="",
            title=f"Cek kesehatan {code}",
            title_en="",
            organiser="Puskesmas Kecamatan Duren Sawit",
            place="Puskesmas",
            address="Jl. Contoh No. 2",
            bring="KTP",
            bring_en="",
            cancelled=cancelled,
            demo=False,
            updated_at=now,
        )
    )
    return created.inserted_primary_key[0]


def add_slot(db: Connection, event_id: int, starts_at: datetime, capacity: int) -> int:
    """Insert a half-hour slot and return its id."""
    created = db.execute(
        health.HealthSlot.__table__.insert().values(
            event_id=event_id,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=30),
            capacity=capacity,
            taken=0,
        )
    )
    return created.inserted_primary_key[0]


def taken(database, slot_id: int) -> int:
    """Return how many places of a slot are taken."""
    with database.connect() as db:
        return health.get_slot(db=db, slot_id=slot_id).taken


def booking_rows(database) -> list[tuple]:
    """Return every booking as (slot, resident, status)."""
    table = health.HealthBooking.__table__
    with database.connect() as db:
        return [
            tuple(row)
            for row in db.execute(
                select(table.c.slot_id, table.c.resident_id, table.c.status).order_by(table.c.id)
            )
        ]


@pytest.fixture
def event(database, clock: Clock) -> int:
    """A check day tomorrow."""
    with database.begin() as db:
        return add_event(db, "CEK-1", clock.now)


@pytest.fixture
def slots(database, clock: Clock, event: int) -> list[int]:
    """Two slots of the event tomorrow: one place at nine, two at half past nine."""
    tomorrow = clock.now + timedelta(days=1)
    with database.begin() as db:
        return [
            add_slot(db, event, tomorrow, 1),
            add_slot(db, event, tomorrow + timedelta(minutes=30), 2),
        ]


@pytest.fixture
def people(database, clock: Clock) -> list[int]:
    """Four residents."""
    with database.begin() as db:
        return [add_resident(db, f"warga-{number}", clock.now) for number in range(4)]


def book(database, slot_id: int, resident_id: int, now: datetime) -> health.Booked:
    """Book in a transaction of its own."""
    with database.begin() as db:
        return health.book(db=db, slot_id=slot_id, resident_id=resident_id, now=now)


def test_booking_takes_a_place(database, clock, slots, people) -> None:
    booked = book(database, slots[1], people[0], clock.now)
    assert booked.result == BookResult.BOOKED
    assert booked.booking_id is not None
    assert booked.slot.id == slots[1]
    assert taken(database, slots[1]) == 1
    with database.connect() as db:
        assert health.get_slot(db=db, slot_id=slots[1]).left == 1
    assert booking_rows(database) == [(slots[1], people[0], health.BookingStatus.BOOKED)]


def test_a_full_slot_takes_nobody_more(database, clock, slots, people) -> None:
    assert book(database, slots[0], people[0], clock.now).result == BookResult.BOOKED
    full = book(database, slots[0], people[1], clock.now)
    assert (full.result, full.booking_id, full.slot.id) == (BookResult.FULL, None, slots[0])
    assert taken(database, slots[0]) == 1
    assert len(booking_rows(database)) == 1


def test_one_booking_per_event(database, clock, slots, people) -> None:
    first = book(database, slots[0], people[0], clock.now)
    for slot in slots:  # the same slot again, or another slot of the same event
        again = book(database, slot, people[0], clock.now)
        assert (again.result, again.booking_id, again.slot.id) == (
            BookResult.ALREADY,
            first.booking_id,
            slots[0],
        )
    assert (taken(database, slots[0]), taken(database, slots[1])) == (1, 0)


def test_a_booking_elsewhere_does_not_count(database, clock, slots, people) -> None:
    book(database, slots[0], people[0], clock.now)
    with database.begin() as db:
        talk = add_event(db, "PENYULUHAN-1", clock.now, kind=EventKind.TALK, topic="Gizi")
        other = add_slot(db, talk, clock.now + timedelta(days=2), 10)
    assert book(database, other, people[0], clock.now).result == BookResult.BOOKED


def test_a_cancelled_booking_does_not_count_either(database, clock, slots, people) -> None:
    first = book(database, slots[0], people[0], clock.now)
    with database.begin() as db:
        health.cancel(db=db, booking_id=first.booking_id, resident_id=people[0], now=clock.now)
    assert book(database, slots[1], people[0], clock.now).result == BookResult.BOOKED


def test_a_slot_that_began_is_gone(database, clock, slots, people) -> None:
    clock.advance(days=1)  # the first slot starts right now
    gone = book(database, slots[0], people[0], clock.now)
    assert (gone.result, gone.booking_id, gone.slot) == (BookResult.GONE, None, None)
    assert book(database, slots[1], people[0], clock.now).result == BookResult.BOOKED
    assert taken(database, slots[0]) == 0


def test_a_cancelled_event_is_gone(database, clock, people) -> None:
    with database.begin() as db:
        called_off = add_event(db, "CEK-BATAL", clock.now, cancelled=True)
        slot = add_slot(db, called_off, clock.now + timedelta(days=3), 5)
    assert book(database, slot, people[0], clock.now).result == BookResult.GONE
    assert taken(database, slot) == 0


def test_no_such_slot_is_gone(database, clock, people) -> None:
    assert book(database, 999, people[0], clock.now).result == BookResult.GONE


def test_cancelling_frees_the_place(database, clock, slots, people) -> None:
    first = book(database, slots[0], people[0], clock.now)
    clock.advance(hours=1)
    with database.begin() as db:
        freed = health.cancel(
            db=db, booking_id=first.booking_id, resident_id=people[0], now=clock.now
        )
    assert (freed.id, freed.taken, freed.left) == (slots[0], 0, 1)
    table = health.HealthBooking.__table__
    with database.connect() as db:
        row = db.execute(select(table).where(table.c.id == first.booking_id)).one()
    assert (row.status, row.cancelled_at) == (health.BookingStatus.CANCELLED, clock.now)
    assert book(database, slots[0], people[1], clock.now).result == BookResult.BOOKED
    assert taken(database, slots[0]) == 1


def test_nobody_cancels_someone_elses_booking(database, clock, slots, people) -> None:
    first = book(database, slots[1], people[0], clock.now)
    with database.begin() as db:
        assert (
            health.cancel(db=db, booking_id=first.booking_id, resident_id=people[1], now=clock.now)
            is None
        )
    assert taken(database, slots[1]) == 1
    assert booking_rows(database) == [(slots[1], people[0], health.BookingStatus.BOOKED)]


def test_cancelling_twice_frees_one_place(database, clock, slots, people) -> None:
    first = book(database, slots[1], people[0], clock.now)
    book(database, slots[1], people[1], clock.now)
    found = []
    for _attempt in range(2):
        with database.begin() as db:
            found.append(
                health.cancel(
                    db=db, booking_id=first.booking_id, resident_id=people[0], now=clock.now
                )
            )
    assert found[0].taken == 1
    assert found[1] is None
    assert taken(database, slots[1]) == 1


def test_own_bookings_are_the_active_ones_not_yet_ended(database, clock, event, people):
    now = clock.now
    with database.begin() as db:
        late = add_slot(db, event, now + timedelta(days=1, hours=2), 5)
        talk = add_event(db, "PENYULUHAN-1", now, kind=EventKind.TALK, topic="Gizi")
        early = add_slot(db, talk, now + timedelta(days=1), 5)
        third = add_event(db, "CEK-2", now)
        dropped = add_slot(db, third, now + timedelta(hours=3), 5)
    mine = {slot: book(database, slot, people[0], now) for slot in (late, early, dropped)}
    book(database, late, people[1], now)
    with database.begin() as db:
        health.cancel(db=db, booking_id=mine[dropped].booking_id, resident_id=people[0], now=now)

    with database.connect() as db:
        listed = health.of_resident(db=db, resident_id=people[0], now=now)
        during = health.of_resident(
            db=db, resident_id=people[0], now=now + timedelta(days=1, minutes=29)
        )
        after = health.of_resident(
            db=db, resident_id=people[0], now=now + timedelta(days=1, minutes=30)
        )
    assert [(item.id, item.slot.id) for item in listed] == [
        (mine[early].booking_id, early),
        (mine[late].booking_id, late),
    ]
    assert listed[0].slot.event.code == "PENYULUHAN-1"
    assert listed[1].slot.taken == 2
    assert [item.slot.id for item in during] == [early, late]  # under way still counts
    assert [item.slot.id for item in after] == [late]
