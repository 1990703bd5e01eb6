"""No overbooking when many take seats at the same moment: real threads, one connection each."""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

import pytest
from sqlalchemy import Engine, select

from storage import health, training
from storage.database import make_engine
from storage.health import BookResult
from storage.training import EnrolmentStatus
from tests.helpers import Clock
from tests.test_health_storage import add_event, add_slot
from tests.test_training_storage import add_batch, add_course, add_resident

CROWD = 50
QUOTA = 10
ROUNDS = 2
T = TypeVar("T")


@pytest.fixture
def wide(database, database_url: str) -> Iterator[Engine]:
    """An engine with a connection for every thread (the usual one keeps five)."""
    engine = make_engine(database_url, pool_size=CROWD)
    yield engine
    engine.dispose()


def together(wide: Engine, count: int, work: Callable[..., T]) -> list[T]:
    """Run work(db, index) in `count` threads at once, each in its own transaction on its
    own connection; return the results by index."""
    barrier = threading.Barrier(count)

    def task(index: int) -> T:
        with wide.connect() as connection:
            barrier.wait(timeout=30)  # everyone holds a connection: go
            with connection.begin():
                return work(connection, index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(task, range(count)))


@pytest.fixture
def crowd(database, clock: Clock) -> list[int]:
    """Fifty residents."""
    with database.begin() as db:
        return [add_resident(db, f"warga-{number}", clock.now) for number in range(CROWD)]


@pytest.fixture
def course(database, clock: Clock) -> int:
    """A course to hold the batches."""
    with database.begin() as db:
        return add_course(db, "JAHIT", clock.now)


def new_batch(database, course: int, code: str, quota: int, clock: Clock) -> int:
    """Insert a batch starting in a week."""
    with database.begin() as db:
        return add_batch(
            db, course, code, quota=quota, starts_at=clock.now + timedelta(days=7), now=clock.now
        )


def stored(database, batch_id: int) -> list[tuple[int, int, str]]:
    """Return a batch's enrolments as (id, resident, status), by id."""
    table = training.Enrolment.__table__
    with database.connect() as db:
        rows = db.execute(
            select(table.c.id, table.c.resident_id, table.c.status)
            .where(table.c.batch_id == batch_id)
            .order_by(table.c.id)
        ).all()
    return [tuple(row) for row in rows]


def test_fifty_at_once_never_overbook_ten_seats(database, wide, clock, course, crowd) -> None:
    for round_ in range(ROUNDS):
        batch = new_batch(database, course, f"JAHIT-{round_}", QUOTA, clock)
        found = together(
            wide,
            CROWD,
            lambda db, index, batch=batch: training.enrol(
                db=db, batch_id=batch, resident_id=crowd[index], now=clock.now
            ),
        )

        confirmed = [item for item in found if item.status == EnrolmentStatus.CONFIRMED]
        waitlisted = [item for item in found if item.status == EnrolmentStatus.WAITLISTED]
        assert (len(confirmed), len(waitlisted)) == (QUOTA, CROWD - QUOTA)
        assert not any(item.existing for item in found)
        assert all(item.position == 0 for item in confirmed)
        assert sorted(item.position for item in waitlisted) == list(range(1, CROWD - QUOTA + 1))
        # the database's order of arrival decided: every seat went before every waitlist place
        assert max(item.enrolment_id for item in confirmed) < min(
            item.enrolment_id for item in waitlisted
        )
        by_arrival = sorted(waitlisted, key=lambda item: item.enrolment_id)
        assert [item.position for item in by_arrival] == list(range(1, CROWD - QUOTA + 1))

        rows = stored(database, batch)
        assert len(rows) == CROWD
        assert sorted(resident for _id, resident, _status in rows) == sorted(crowd)
        told = {crowd[index]: (item.enrolment_id, item.status) for index, item in enumerate(found)}
        assert {resident: (id_, status) for id_, resident, status in rows} == told
        with database.connect() as db:
            shown = training.get_batch(db=db, batch_id=batch)
        assert (shown.confirmed, shown.waitlisted, shown.seats_left) == (QUOTA, CROWD - QUOTA, 0)


@pytest.mark.parametrize(
    ("quota", "status", "position"),
    [(10, EnrolmentStatus.CONFIRMED, 0), (0, EnrolmentStatus.WAITLISTED, 1)],
)
def test_one_resident_tapping_five_times_at_once_enrols_once(
    database, wide, clock, course, crowd, quota, status, position
) -> None:
    batch = new_batch(database, course, "JAHIT-SAME", quota, clock)
    found = together(
        wide,
        5,
        lambda db, _index: training.enrol(
            db=db, batch_id=batch, resident_id=crowd[0], now=clock.now
        ),
    )
    assert sorted(item.existing for item in found) == [False, True, True, True, True]
    assert {(item.enrolment_id, item.status, item.position) for item in found} == {
        (found[0].enrolment_id, status, position)
    }
    assert stored(database, batch) == [(found[0].enrolment_id, crowd[0], status)]


def test_seats_freed_at_once_go_to_the_waitlist_in_order(
    database, wide, clock, course, crowd
) -> None:
    # ten leave while ten more arrive: the freed seats go to the waitlist, never to newcomers
    batch = new_batch(database, course, "JAHIT-SWAP", QUOTA, clock)
    first = []
    for resident in crowd[:20]:
        with database.begin() as db:
            first.append(
                training.enrol(db=db, batch_id=batch, resident_id=resident, now=clock.now)
            )
    assert [item.status for item in first] == [EnrolmentStatus.CONFIRMED] * 10 + [
        EnrolmentStatus.WAITLISTED
    ] * 10

    def leave_or_arrive(db, index: int):
        if index < QUOTA:
            return training.cancel(
                db=db,
                enrolment_id=first[index].enrolment_id,
                resident_id=crowd[index],
                now=clock.now,
            )
        return training.enrol(db=db, batch_id=batch, resident_id=crowd[10 + index], now=clock.now)

    found = together(wide, 2 * QUOTA, leave_or_arrive)

    promoted = [moved for item in found[:QUOTA] for moved in item.promoted]
    assert all(item.was == EnrolmentStatus.CONFIRMED for item in found[:QUOTA])
    assert sorted(promoted) == sorted(crowd[10:20])
    arrived = found[QUOTA:]
    assert all(item.status == EnrolmentStatus.WAITLISTED for item in arrived)
    assert all(1 <= item.position <= 2 * QUOTA for item in arrived)
    with database.connect() as db:
        shown = training.get_batch(db=db, batch_id=batch)
        listed = training.list_batch(db=db, batch_id=batch)
        places = {
            mine.id: mine.position
            for resident in crowd[20:30]
            for mine in training.of_resident(db=db, resident_id=resident, now=clock.now)
        }
    assert (shown.confirmed, shown.waitlisted) == (QUOTA, QUOTA)
    assert [item.resident_id for item in listed[:QUOTA]] == crowd[10:20]
    by_arrival = sorted(arrived, key=lambda item: item.enrolment_id)
    assert [item.id for item in listed[QUOTA:]] == [item.enrolment_id for item in by_arrival]
    assert [places[item.enrolment_id] for item in by_arrival] == list(range(1, QUOTA + 1))


def test_twenty_at_once_never_overbook_a_slot_of_five(database, wide, clock, crowd) -> None:
    with database.begin() as db:
        event = add_event(db, "CEK-RAMAI", clock.now)
        slot = add_slot(db, event, clock.now + timedelta(days=1), 5)
    found = together(
        wide,
        20,
        lambda db, index: health.book(
            db=db, slot_id=slot, resident_id=crowd[index], now=clock.now
        ),
    )
    results = [item.result for item in found]
    assert results.count(BookResult.BOOKED) == 5
    assert results.count(BookResult.FULL) == 15
    booked = {crowd[index] for index, item in enumerate(found) if item.result == BookResult.BOOKED}
    table = health.HealthBooking.__table__
    with database.connect() as db:
        assert health.get_slot(db=db, slot_id=slot).taken == 5
        holders = db.execute(select(table.c.resident_id).where(table.c.slot_id == slot)).scalars()
        assert sorted(holders) == sorted(booked)
