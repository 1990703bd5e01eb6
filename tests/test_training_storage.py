"""Courses, batches and enrolments: seats, the waitlist, cancellations, attendance."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Connection, select

from storage import residents, training
from storage.training import EnrolmentStatus
from tests.helpers import Clock

CONFIRMED, WAITLISTED = EnrolmentStatus.CONFIRMED, EnrolmentStatus.WAITLISTED


def add_resident(
    db: Connection, external_id: str, now: datetime, *, registered: bool = True
) -> int:
    """Create a resident on the console channel (by default registered in Klender RW 5, as
    storage asks of anyone who books, enrols or applies) and return their id."""
    profile, _identity = residents.create_resident(
        db=db, channel="console", external_id=external_id, language="id", now=now
    )
    if registered:
        residents.update_profile(
            db=db,
            profile=profile,
            now=now,
            consent_at=now,
            name=f"Warga {external_id}",
            kelurahan_code="31.75.07.1003",
            rw=5,
        )
    return profile.id


def add_course(
    db: Connection, code: str, now: datetime, category: str = "Menjahit", category_en: str = ""
) -> int:
    """Insert a course and return its id."""
    created = db.execute(
        training.Course.__table__.insert().values(
            code=code,
            category=category,
            category_en=category_en,
            title=f"Kursus {code}",
            title_en=f"Course {code}",
            description="",
            description_en="",
            demo=False,
            updated_at=now,
        )
    )
    return created.inserted_primary_key[0]


def add_batch(
    db: Connection,
    course_id: int,
    code: str,
    *,
    quota: int,
    starts_at: datetime,
    now: datetime,
    days: int = 1,
    cancelled: bool = False,
) -> int:
    """Insert a batch with one two-hour session a day from starts_at and return its id."""
    created = db.execute(
        training.CourseBatch.__table__.insert().values(
            code=code,
            course_id=course_id,
            organiser="PKK Kelurahan Klender",
            place="Aula RW 05",
            address="Jl. Contoh No. 1",
            quota=quota,
            min_age=0,
            residents_only=True,
            priority_groups=[],
            starts_at=starts_at,
            ends_at=starts_at + timedelta(days=days - 1, hours=2),
            cancelled=cancelled,
            demo=False,
            updated_at=now,
        )
    )
    batch_id = created.inserted_primary_key[0]
    db.execute(
        training.BatchSession.__table__.insert(),
        [
            {
                "batch_id": batch_id,
                "number": day + 1,
                "starts_at": starts_at + timedelta(days=day),
                "ends_at": starts_at + timedelta(days=day, hours=2),
            }
            for day in range(days)
        ],
    )
    return batch_id


def statuses(db: Connection, batch_id: int) -> dict[int, str]:
    """Return every enrolment of a batch, cancelled ones included: resident id -> status."""
    table = training.Enrolment.__table__
    rows = db.execute(
        select(table.c.resident_id, table.c.status).where(table.c.batch_id == batch_id)
    ).all()
    return dict(rows)


@pytest.fixture
def batch(database, clock: Clock) -> int:
    """A batch of quota 2 that starts in a week and runs three days."""
    with database.begin() as db:
        course = add_course(db, "JAHIT", clock.now)
        return add_batch(
            db,
            course,
            "JAHIT-1",
            quota=2,
            starts_at=clock.now + timedelta(days=7),
            now=clock.now,
            days=3,
        )


@pytest.fixture
def people(database, clock: Clock) -> list[int]:
    """Six residents."""
    with database.begin() as db:
        return [add_resident(db, f"warga-{number}", clock.now) for number in range(6)]


def enrol_all(database, batch: int, people: list[int], now: datetime) -> list[training.Enrolled]:
    """Enrol residents one after the other, each in their own transaction."""
    found = []
    for resident in people:
        with database.begin() as db:
            found.append(training.enrol(db=db, batch_id=batch, resident_id=resident, now=now))
    return found


def positions(database, people: list[int], now: datetime) -> dict[int, tuple[str, int]]:
    """Return each resident's (status, waitlist position) as of_resident shows it."""
    found = {}
    with database.connect() as db:
        for resident in people:
            mine = training.of_resident(db=db, resident_id=resident, now=now)
            if mine:
                found[resident] = (mine[0].status, mine[0].position)
    return found


def test_enrolment_takes_free_seats(database, clock, batch, people) -> None:
    first, second = enrol_all(database, batch, people[:2], clock.now)
    assert (first.status, first.position, first.existing) == (CONFIRMED, 0, False)
    assert (second.status, second.position) == (CONFIRMED, 0)
    assert first.enrolment_id < second.enrolment_id
    with database.connect() as db:
        shown = training.get_batch(db=db, batch_id=batch)
    assert (shown.confirmed, shown.waitlisted, shown.seats_left) == (2, 0, 0)
    assert [session.number for session in shown.sessions] == [1, 2, 3]


def test_a_full_batch_puts_people_on_the_waitlist_in_order(database, clock, batch, people):
    found = enrol_all(database, batch, people[:5], clock.now)
    assert [(item.status, item.position) for item in found] == [
        (CONFIRMED, 0),
        (CONFIRMED, 0),
        (WAITLISTED, 1),
        (WAITLISTED, 2),
        (WAITLISTED, 3),
    ]
    with database.connect() as db:
        shown = training.get_batch(db=db, code="JAHIT-1")
    assert (shown.confirmed, shown.waitlisted, shown.seats_left) == (2, 3, 0)


def test_enrolling_again_changes_nothing(database, clock, batch, people) -> None:
    found = enrol_all(database, batch, people[:4], clock.now)
    again = enrol_all(database, batch, [people[0], people[3]], clock.now)
    assert again == [
        training.Enrolled(found[0].enrolment_id, CONFIRMED, 0, existing=True),
        training.Enrolled(found[3].enrolment_id, WAITLISTED, 2, existing=True),
    ]
    with database.connect() as db:
        assert len(training.list_batch(db=db, batch_id=batch)) == 4


def test_enrolling_in_no_batch_gives_none(database, clock, people) -> None:
    with database.begin() as db:
        assert training.enrol(db=db, batch_id=999, resident_id=people[0], now=clock.now) is None


def test_cancelling_a_seat_promotes_the_first_on_the_waitlist(database, clock, batch, people):
    found = enrol_all(database, batch, people[:5], clock.now)
    clock.advance(hours=1)
    with database.begin() as db:
        done = training.cancel(
            db=db, enrolment_id=found[0].enrolment_id, resident_id=people[0], now=clock.now
        )
    assert done.was == CONFIRMED
    assert done.promoted == (people[2],)
    assert (done.batch.confirmed, done.batch.waitlisted) == (2, 2)
    assert positions(database, people[:5], clock.now) == {
        people[1]: (CONFIRMED, 0),
        people[2]: (CONFIRMED, 0),
        people[3]: (WAITLISTED, 1),
        people[4]: (WAITLISTED, 2),
    }
    table = training.Enrolment.__table__
    with database.connect() as db:
        promoted = db.execute(
            select(table.c.confirmed_at).where(table.c.id == found[2].enrolment_id)
        ).scalar_one()
        cancelled = db.execute(
            select(table.c.status, table.c.cancelled_at).where(table.c.id == found[0].enrolment_id)
        ).one()
    assert promoted == clock.now
    assert tuple(cancelled) == (EnrolmentStatus.CANCELLED, clock.now)


def test_cancelling_a_waitlist_place_promotes_nobody(database, clock, batch, people) -> None:
    found = enrol_all(database, batch, people[:5], clock.now)
    with database.begin() as db:
        done = training.cancel(
            db=db, enrolment_id=found[2].enrolment_id, resident_id=people[2], now=clock.now
        )
    assert (done.was, done.promoted) == (WAITLISTED, ())
    assert (done.batch.confirmed, done.batch.waitlisted) == (2, 2)
    assert positions(database, people[:5], clock.now) == {
        people[0]: (CONFIRMED, 0),
        people[1]: (CONFIRMED, 0),
        people[3]: (WAITLISTED, 1),
        people[4]: (WAITLISTED, 2),
    }


def test_nobody_cancels_someone_elses_enrolment(database, clock, batch, people) -> None:
    found = enrol_all(database, batch, people[:3], clock.now)
    with database.connect() as db:
        before = statuses(db, batch)
    with database.begin() as db:
        done = training.cancel(
            db=db, enrolment_id=found[0].enrolment_id, resident_id=people[1], now=clock.now
        )
    assert done is None
    with database.connect() as db:
        assert statuses(db, batch) == before


def test_cancelling_twice_does_nothing_the_second_time(database, clock, batch, people) -> None:
    found = enrol_all(database, batch, people[:4], clock.now)
    for expected in ((people[2],), None):
        with database.begin() as db:
            done = training.cancel(
                db=db, enrolment_id=found[0].enrolment_id, resident_id=people[0], now=clock.now
            )
        assert (done.promoted if done else None) == expected
    assert done is None
    with database.connect() as db:
        assert statuses(db, batch) == {
            people[0]: EnrolmentStatus.CANCELLED,
            people[1]: CONFIRMED,
            people[2]: CONFIRMED,
            people[3]: WAITLISTED,
        }


def test_a_cancelled_resident_may_enrol_again_at_the_back(database, clock, batch, people):
    found = enrol_all(database, batch, people[:3], clock.now)
    with database.begin() as db:
        training.cancel(
            db=db, enrolment_id=found[0].enrolment_id, resident_id=people[0], now=clock.now
        )
    (again,) = enrol_all(database, batch, people[:1], clock.now)
    assert (again.status, again.position, again.existing) == (WAITLISTED, 1, False)
    assert again.enrolment_id != found[0].enrolment_id


def test_no_promotion_once_the_batch_has_begun(database, clock, batch, people) -> None:
    found = enrol_all(database, batch, people[:4], clock.now)
    clock.advance(days=7, minutes=1)  # the first session is under way
    with database.begin() as db:
        done = training.cancel(
            db=db, enrolment_id=found[1].enrolment_id, resident_id=people[1], now=clock.now
        )
    assert (done.was, done.promoted) == (CONFIRMED, ())
    assert (done.batch.confirmed, done.batch.waitlisted) == (1, 2)
    assert positions(database, people[:4], clock.now) == {
        people[0]: (CONFIRMED, 0),
        people[2]: (WAITLISTED, 1),
        people[3]: (WAITLISTED, 2),
    }


def test_no_promotion_into_a_cancelled_batch(database, clock, batch, people) -> None:
    found = enrol_all(database, batch, people[:3], clock.now)
    with database.begin() as db:
        db.execute(
            training.CourseBatch.__table__.update()
            .where(training.CourseBatch.__table__.c.id == batch)
            .values(cancelled=True)
        )
        done = training.cancel(
            db=db, enrolment_id=found[0].enrolment_id, resident_id=people[0], now=clock.now
        )
    assert (done.was, done.promoted) == (CONFIRMED, ())


def test_own_enrolments_are_the_active_ones_in_batches_not_over(database, clock, people):
    now = clock.now
    with database.begin() as db:
        course = add_course(db, "BOGA", now, category="Tata Boga")
        later = add_batch(
            db, course, "BOGA-2", quota=5, starts_at=now + timedelta(days=20), now=now
        )
        sooner = add_batch(
            db, course, "BOGA-1", quota=0, starts_at=now + timedelta(days=3), now=now
        )
        short = add_batch(
            db, course, "BOGA-0", quota=5, starts_at=now + timedelta(days=1), now=now
        )
        dropped = add_batch(
            db, course, "BOGA-X", quota=5, starts_at=now + timedelta(days=2), now=now
        )
        other = add_batch(
            db, course, "BOGA-Y", quota=5, starts_at=now + timedelta(days=2), now=now
        )
    mine = {}
    for batch_id in (later, sooner, short, dropped):
        (mine[batch_id],) = enrol_all(database, batch_id, people[:1], now)
    enrol_all(database, other, people[1:2], now)
    with database.begin() as db:
        training.cancel(
            db=db, enrolment_id=mine[dropped].enrolment_id, resident_id=people[0], now=now
        )

    with database.connect() as db:
        listed = training.of_resident(db=db, resident_id=people[0], now=now)
        assert [(item.batch.code, item.status, item.position) for item in listed] == [
            ("BOGA-0", CONFIRMED, 0),
            ("BOGA-1", WAITLISTED, 1),
            ("BOGA-2", CONFIRMED, 0),
        ]
        assert [item.id for item in listed] == [
            mine[short].enrolment_id,
            mine[sooner].enrolment_id,
            mine[later].enrolment_id,
        ]
        # a batch that has begun is still theirs; one that is over is not
        started = training.of_resident(db=db, resident_id=people[0], now=now + timedelta(days=1))
        over = training.of_resident(
            db=db, resident_id=people[0], now=now + timedelta(days=1, hours=2)
        )
    assert [item.batch.code for item in started] == ["BOGA-0", "BOGA-1", "BOGA-2"]
    assert [item.batch.code for item in over] == ["BOGA-1", "BOGA-2"]


def test_the_batch_list_shows_seats_first_then_the_waitlist(database, clock, batch, people):
    found = enrol_all(database, batch, people[:5], clock.now)
    with database.begin() as db:
        profile = residents.Profile(people[3], None, "id", None, None, None, clock.now, "1", False)
        residents.register(
            db=db,
            profile=profile,
            name="Siti Aminah",
            kelurahan_code="31.75.07.1001",
            rw=5,
            phone="081234567890",
            now=clock.now,
        )
        # the first leaves: the third moves up, and is listed with the seats, by arrival
        training.cancel(
            db=db, enrolment_id=found[0].enrolment_id, resident_id=people[0], now=clock.now
        )
    with database.connect() as db:
        listed = training.list_batch(db=db, batch_id=batch)
    assert [(item.resident_id, item.status) for item in listed] == [
        (people[1], CONFIRMED),
        (people[2], CONFIRMED),
        (people[3], WAITLISTED),
        (people[4], WAITLISTED),
    ]
    siti = listed[2]
    assert (siti.name, siti.rw, siti.phone, siti.attended) == ("Siti Aminah", 5, "081234567890", 0)
    assert siti.kelurahan == "Duren Sawit"
    assert (listed[0].name, listed[0].kelurahan) == ("Warga warga-1", "Klender")


def test_attendance_marks_the_confirmed_present_or_absent(database, clock, people) -> None:
    with database.begin() as db:
        course = add_course(db, "KOMP", clock.now, category="Komputer")
        batch = add_batch(
            db,
            course,
            "KOMP-1",
            quota=3,
            starts_at=clock.now + timedelta(days=7),
            now=clock.now,
            days=2,
        )
    found = enrol_all(database, batch, people[:4], clock.now)
    seats = [item.enrolment_id for item in found[:3]]
    waiting = found[3].enrolment_id
    clock.advance(days=7, hours=3)
    with database.begin() as db:
        marked = training.mark_attendance(
            db=db,
            batch_id=batch,
            session=1,
            present={seats[0], seats[1], waiting, 9999},
            now=clock.now,
        )
    assert marked == (2, 1, sorted([waiting, 9999]))
    with database.begin() as db:
        assert training.mark_attendance(
            db=db, batch_id=batch, session=2, present={seats[0]}, now=clock.now
        ) == (1, 2, [])
        # marking a session again replaces what was marked before
        assert training.mark_attendance(
            db=db, batch_id=batch, session=1, present={seats[2]}, now=clock.now
        ) == (1, 2, [])
    with database.connect() as db:
        attended = {item.id: item.attended for item in training.list_batch(db=db, batch_id=batch)}
        rows = db.execute(select(training.Attendance.__table__)).all()
    assert attended == {seats[0]: 1, seats[1]: 0, seats[2]: 1, waiting: 0}
    assert len(rows) == 6  # three confirmed, two sessions: the absent are written too
    assert all(row.marked_at == clock.now for row in rows)


def test_attendance_of_an_unknown_session_is_refused(database, clock, batch, people) -> None:
    enrol_all(database, batch, people[:1], clock.now)
    with database.begin() as db, pytest.raises(ValueError, match="no session 4"):
        training.mark_attendance(db=db, batch_id=batch, session=4, present=set(), now=clock.now)


def test_attendance_of_a_batch_without_seats_taken(database, clock, batch) -> None:
    with database.begin() as db:
        marked = training.mark_attendance(
            db=db, batch_id=batch, session=1, present={7}, now=clock.now
        )
    assert marked == (0, 0, [7])


def test_categories_and_open_batches_leave_out_cancelled_and_started(database, clock):
    now = clock.now
    with database.begin() as db:
        sewing = add_course(db, "JAHIT", now, category="Menjahit", category_en="Sewing")
        cooking = add_course(db, "BOGA", now, category="Tata Boga", category_en="Cooking")
        computers = add_course(db, "KOMP", now, category="Komputer")
        barista = add_course(db, "KOPI", now, category="Tata Boga")
        add_batch(db, sewing, "JAHIT-2", quota=5, starts_at=now + timedelta(days=9), now=now)
        add_batch(db, sewing, "JAHIT-1", quota=5, starts_at=now + timedelta(days=2), now=now)
        add_batch(db, cooking, "BOGA-1", quota=5, starts_at=now + timedelta(days=5), now=now)
        add_batch(db, cooking, "BOGA-0", quota=5, starts_at=now - timedelta(hours=1), now=now)
        add_batch(db, barista, "KOPI-1", quota=5, starts_at=now + timedelta(days=1), now=now)
        add_batch(
            db,
            computers,
            "KOMP-1",
            quota=5,
            starts_at=now + timedelta(days=4),
            now=now,
            cancelled=True,
        )
        add_batch(db, computers, "KOMP-0", quota=5, starts_at=now, now=now)  # begins right now

    with database.connect() as db:
        found = training.categories(db=db, now=now)
        every = training.open_batches(db=db, now=now)
        cooking_only = training.open_batches(db=db, now=now, category="Tata Boga")
        later = training.categories(db=db, now=now + timedelta(days=6))
    assert [(item.name, item.label("en"), item.label("id")) for item in found] == [
        ("Menjahit", "Sewing", "Menjahit"),
        ("Tata Boga", "Cooking", "Tata Boga"),
    ]
    assert [batch.code for batch in every] == ["KOPI-1", "JAHIT-1", "BOGA-1", "JAHIT-2"]
    assert [batch.code for batch in cooking_only] == ["KOPI-1", "BOGA-1"]
    assert [item.name for item in later] == ["Menjahit"]
    assert every[0].sessions == ()  # the list does not load sessions
    assert (every[0].confirmed, every[0].seats_left) == (0, 5)


def test_a_raised_quota_goes_to_the_waitlist_first(database, clock, batch, people) -> None:
    enrol_all(database, batch, people[:4], clock.now)  # 2 seats, 2 waiting
    with database.begin() as db:
        db.execute(
            training.CourseBatch.__table__.update()
            .where(training.CourseBatch.id == batch)
            .values(quota=3)
        )
    # a newcomer does not take the new seat ahead of those already waiting
    (late,) = enrol_all(database, batch, people[4:5], clock.now)
    assert (late.status, late.position) == (WAITLISTED, 3)
    with database.begin() as db:
        moved = training.fill_seats(db=db, batch_id=batch, now=clock.now)
    assert moved == [people[2]]
    shown = positions(database, people[:5], clock.now)
    assert shown[people[2]] == (CONFIRMED, 0)
    assert shown[people[3]] == (WAITLISTED, 1)
    assert shown[people[4]] == (WAITLISTED, 2)


def test_no_enrolment_in_a_batch_called_off_or_begun(database, clock, batch, people) -> None:
    with database.begin() as db:
        db.execute(
            training.CourseBatch.__table__.update()
            .where(training.CourseBatch.id == batch)
            .values(cancelled=True)
        )
    assert enrol_all(database, batch, people[:1], clock.now) == [None]
    with database.begin() as db:
        db.execute(
            training.CourseBatch.__table__.update()
            .where(training.CourseBatch.id == batch)
            .values(cancelled=False, starts_at=clock.now)
        )
    assert enrol_all(database, batch, people[:1], clock.now) == [None]
    with database.connect() as db:
        assert statuses(db, batch) == {}
