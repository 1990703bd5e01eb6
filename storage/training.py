"""Skills training: courses, their batches and sessions, enrolments with a waitlist.

Taking a seat locks the batch row (SELECT … FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE
already serialises writers), counts the confirmed seats and inserts in the same transaction, so
a batch can never hold more confirmed enrolments than its quota, however many arrive at once.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Connection, Index, func, select, text, update
from sqlmodel import Field, SQLModel

from storage.residents import require_profile
from storage.types import UTCDateTime


class EnrolmentStatus(StrEnum):
    """Where an enrolment stands."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


ACTIVE = (EnrolmentStatus.CONFIRMED, EnrolmentStatus.WAITLISTED)


class Course(SQLModel, table=True):
    """A course (menjahit, tata boga, …) in a category; held in batches."""

    __tablename__ = "courses"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    category: str = Field(max_length=60)  # as residents read it, in Indonesian
    category_en: str = Field(default="", max_length=60)
    title: str = Field(max_length=120)
    title_en: str = Field(default="", max_length=120)
    description: str = Field(default="", max_length=800)
    description_en: str = Field(default="", max_length=800)
    demo: bool = False
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CourseBatch(SQLModel, table=True):
    """One run of a course: who organises it, where, its sessions, quota and who may join."""

    __tablename__ = "course_batches"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    course_id: int = Field(foreign_key="courses.id", index=True, ondelete="CASCADE")
    organiser: str = Field(max_length=120)
    place: str = Field(max_length=120)
    address: str = Field(max_length=200)
    quota: int
    min_age: int = 0
    residents_only: bool = True  # only residents of Kecamatan Duren Sawit
    priority_groups: list = Field(default_factory=list, sa_type=JSON)  # codes, from data
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)  # the first session
    ends_at: datetime = Field(sa_type=UTCDateTime)  # the end of the last session
    cancelled: bool = False
    demo: bool = False
    updated_at: datetime = Field(sa_type=UTCDateTime)


class BatchSession(SQLModel, table=True):
    """One meeting of a batch."""

    __tablename__ = "batch_sessions"

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="course_batches.id", index=True, ondelete="CASCADE")
    number: int  # 1, 2, … in date order
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)


class Enrolment(SQLModel, table=True):
    """A resident's place in a batch: confirmed, on the waitlist, or cancelled."""

    __tablename__ = "enrolments"
    __table_args__ = (
        # one active enrolment per resident and batch, whatever the code above it does
        Index(
            "uq_enrolments_active",
            "batch_id",
            "resident_id",
            unique=True,
            sqlite_where=text("status != 'cancelled'"),
            postgresql_where=text("status != 'cancelled'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)  # arrival order
    batch_id: int = Field(foreign_key="course_batches.id", index=True, ondelete="CASCADE")
    resident_id: int = Field(foreign_key="residents.id", index=True, ondelete="CASCADE")
    status: str = Field(max_length=12)
    priority_group: str | None = Field(default=None, max_length=40)  # self-declared
    created_at: datetime = Field(sa_type=UTCDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Attendance(SQLModel, table=True):
    """Whether an enrolled resident came to one session."""

    __tablename__ = "attendance"

    enrolment_id: int = Field(foreign_key="enrolments.id", primary_key=True, ondelete="CASCADE")
    session_id: int = Field(foreign_key="batch_sessions.id", primary_key=True, ondelete="CASCADE")
    present: bool
    marked_at: datetime = Field(sa_type=UTCDateTime)


_COURSES = Course.__table__
_BATCHES = CourseBatch.__table__
_SESSIONS = BatchSession.__table__
_ENROLMENTS = Enrolment.__table__
_ATTENDANCE = Attendance.__table__


@dataclass(frozen=True)
class Session:
    """A session's times."""

    number: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Batch:
    """A batch as the conversations show it, with its course and how full it is."""

    id: int
    code: str
    course_code: str
    category: str
    category_en: str
    title: str
    title_en: str
    description: str
    description_en: str
    organiser: str
    place: str
    address: str
    quota: int
    min_age: int
    residents_only: bool
    priority_groups: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    cancelled: bool
    confirmed: int  # seats taken
    waitlisted: int
    sessions: tuple[Session, ...] = ()

    @property
    def seats_left(self) -> int:
        """Return the seats still free."""
        return max(0, self.quota - self.confirmed)

    def course_title(self, language: str) -> str:
        """Return the course's title in a language, Indonesian when there is no other."""
        return (self.title_en if language == "en" else "") or self.title

    def course_description(self, language: str) -> str:
        """Return the course's description in a language."""
        return (self.description_en if language == "en" else "") or self.description


@dataclass(frozen=True)
class Category:
    """A category of courses with open batches."""

    name: str
    name_en: str

    def label(self, language: str) -> str:
        """Return the category's name in a language."""
        return (self.name_en if language == "en" else "") or self.name


def _counts(status: EnrolmentStatus):
    return (
        select(func.count())
        .where(_ENROLMENTS.c.batch_id == _BATCHES.c.id, _ENROLMENTS.c.status == status)
        .correlate(_BATCHES)
        .scalar_subquery()
    )


_BATCH_ROWS = select(
    _BATCHES.c.id,
    _BATCHES.c.code,
    _COURSES.c.code.label("course_code"),
    _COURSES.c.category,
    _COURSES.c.category_en,
    _COURSES.c.title,
    _COURSES.c.title_en,
    _COURSES.c.description,
    _COURSES.c.description_en,
    _BATCHES.c.organiser,
    _BATCHES.c.place,
    _BATCHES.c.address,
    _BATCHES.c.quota,
    _BATCHES.c.min_age,
    _BATCHES.c.residents_only,
    _BATCHES.c.priority_groups,
    _BATCHES.c.starts_at,
    _BATCHES.c.ends_at,
    _BATCHES.c.cancelled,
    _counts(EnrolmentStatus.CONFIRMED).label("confirmed"),
    _counts(EnrolmentStatus.WAITLISTED).label("waitlisted"),
).join(_COURSES, _COURSES.c.id == _BATCHES.c.course_id)


def _batch(row, sessions: tuple[Session, ...] = ()) -> Batch:
    values = row._asdict()
    values["priority_groups"] = tuple(values["priority_groups"] or ())
    return Batch(**values, sessions=sessions)


def categories(*, db: Connection, now: datetime) -> list[Category]:
    """Return the categories that have a batch still open for enrolment, by name."""
    rows = db.execute(
        select(_COURSES.c.category, func.max(_COURSES.c.category_en))
        .join(_BATCHES, _BATCHES.c.course_id == _COURSES.c.id)
        .where(_BATCHES.c.starts_at > now, _BATCHES.c.cancelled.is_(False))
        .group_by(_COURSES.c.category)
        .order_by(_COURSES.c.category)
    ).all()
    return [Category(name, name_en or "") for name, name_en in rows]


def open_batches(*, db: Connection, now: datetime, category: str | None = None) -> list[Batch]:
    """Return the batches open for enrolment (not started, not cancelled), soonest first."""
    query = _BATCH_ROWS.where(_BATCHES.c.starts_at > now, _BATCHES.c.cancelled.is_(False))
    if category is not None:
        query = query.where(_COURSES.c.category == category)
    rows = db.execute(query.order_by(_BATCHES.c.starts_at, _BATCHES.c.id)).all()
    return [_batch(row) for row in rows]


def get_batch(*, db: Connection, batch_id: int | None = None, code: str | None = None):
    """Return one batch with its sessions, by id or code, or None."""
    query = _BATCH_ROWS.where(
        _BATCHES.c.id == batch_id if batch_id is not None else _BATCHES.c.code == code
    )
    row = db.execute(query).first()
    if row is None:
        return None
    sessions = db.execute(
        select(_SESSIONS.c.number, _SESSIONS.c.starts_at, _SESSIONS.c.ends_at)
        .where(_SESSIONS.c.batch_id == row.id)
        .order_by(_SESSIONS.c.number)
    ).all()
    return _batch(row, tuple(Session(*session) for session in sessions))


@dataclass(frozen=True)
class Enrolled:
    """The outcome of an enrolment: the new (or existing) enrolment and the waitlist place."""

    enrolment_id: int
    status: EnrolmentStatus
    position: int  # on the waitlist, from 1; 0 when confirmed
    existing: bool = False  # the resident was already enrolled: nothing changed


def _lock_batch(db: Connection, batch_id: int):
    """Lock a batch's row until the transaction ends; return its quota, whether it is called
    off and when it starts (None: no such batch). Read after the lock, these are current."""
    return db.execute(
        select(_BATCHES.c.quota, _BATCHES.c.cancelled, _BATCHES.c.starts_at)
        .where(_BATCHES.c.id == batch_id)
        .with_for_update()
    ).first()


def waitlist_position(*, db: Connection, batch_id: int, enrolment_id: int) -> int:
    """Return an enrolment's place on its batch's waitlist, counting from 1."""
    return db.execute(
        select(func.count()).where(
            _ENROLMENTS.c.batch_id == batch_id,
            _ENROLMENTS.c.status == EnrolmentStatus.WAITLISTED,
            _ENROLMENTS.c.id <= enrolment_id,
        )
    ).scalar_one()


def enrol(
    *,
    db: Connection,
    batch_id: int,
    resident_id: int,
    now: datetime,
    priority_group: str | None = None,
) -> Enrolled | None:
    """Take a seat, or a place on the waitlist when the batch is full (None: no such batch,
    or it was called off or has begun, perhaps while the resident was deciding). Raise
    ProfileIncomplete for a resident without name, kelurahan and RW."""
    require_profile(db=db, resident_id=resident_id)
    locked = _lock_batch(db, batch_id)
    if locked is None or locked.cancelled or locked.starts_at <= now:
        return None
    quota = locked.quota
    existing = db.execute(
        select(_ENROLMENTS.c.id, _ENROLMENTS.c.status).where(
            _ENROLMENTS.c.batch_id == batch_id,
            _ENROLMENTS.c.resident_id == resident_id,
            _ENROLMENTS.c.status.in_(ACTIVE),
        )
    ).first()
    if existing is not None:
        status = EnrolmentStatus(existing.status)
        position = (
            waitlist_position(db=db, batch_id=batch_id, enrolment_id=existing.id)
            if status == EnrolmentStatus.WAITLISTED
            else 0
        )
        return Enrolled(existing.id, status, position, existing=True)
    confirmed = db.execute(
        select(func.count()).where(
            _ENROLMENTS.c.batch_id == batch_id,
            _ENROLMENTS.c.status == EnrolmentStatus.CONFIRMED,
        )
    ).scalar_one()
    waiting = db.execute(
        select(_ENROLMENTS.c.id)
        .where(
            _ENROLMENTS.c.batch_id == batch_id,
            _ENROLMENTS.c.status == EnrolmentStatus.WAITLISTED,
        )
        .limit(1)
    ).first()
    # a free seat with people waiting (a quota just raised) is theirs: nobody jumps the queue
    free = confirmed < quota and waiting is None
    status = EnrolmentStatus.CONFIRMED if free else EnrolmentStatus.WAITLISTED
    created = db.execute(
        _ENROLMENTS.insert().values(
            batch_id=batch_id,
            resident_id=resident_id,
            status=status,
            priority_group=priority_group,
            created_at=now,
            confirmed_at=now if status == EnrolmentStatus.CONFIRMED else None,
        )
    )
    enrolment_id = created.inserted_primary_key[0]
    if status == EnrolmentStatus.CONFIRMED:
        return Enrolled(enrolment_id, status, 0)
    return Enrolled(
        enrolment_id,
        status,
        waitlist_position(db=db, batch_id=batch_id, enrolment_id=enrolment_id),
    )


@dataclass(frozen=True)
class MyEnrolment:
    """One of a resident's active enrolments, with its batch."""

    id: int
    status: EnrolmentStatus
    position: int
    batch: Batch


def of_resident(*, db: Connection, resident_id: int, now: datetime) -> list[MyEnrolment]:
    """Return a resident's active enrolments in batches not yet over, soonest first."""
    rows = db.execute(
        select(_ENROLMENTS.c.id, _ENROLMENTS.c.status, _ENROLMENTS.c.batch_id)
        .join(_BATCHES, _BATCHES.c.id == _ENROLMENTS.c.batch_id)
        .where(
            _ENROLMENTS.c.resident_id == resident_id,
            _ENROLMENTS.c.status.in_(ACTIVE),
            _BATCHES.c.ends_at > now,
        )
        .order_by(_BATCHES.c.starts_at, _ENROLMENTS.c.id)
    ).all()
    found = []
    for row in rows:
        status = EnrolmentStatus(row.status)
        position = (
            waitlist_position(db=db, batch_id=row.batch_id, enrolment_id=row.id)
            if status == EnrolmentStatus.WAITLISTED
            else 0
        )
        found.append(
            MyEnrolment(row.id, status, position, get_batch(db=db, batch_id=row.batch_id))
        )
    return found


@dataclass(frozen=True)
class Cancelled:
    """What a cancellation did: the batch, and who moved up from the waitlist, if anyone."""

    batch: Batch
    was: EnrolmentStatus
    promoted: tuple[int, ...] = ()  # residents moved up into the freed seats


def cancel(
    *, db: Connection, enrolment_id: int, resident_id: int, now: datetime
) -> Cancelled | None:
    """Cancel a resident's own active enrolment; promote the first on the waitlist into a
    freed seat while the batch has not started. None: not theirs, or not active."""
    row = db.execute(
        select(_ENROLMENTS.c.batch_id, _ENROLMENTS.c.status).where(
            _ENROLMENTS.c.id == enrolment_id,
            _ENROLMENTS.c.resident_id == resident_id,
            _ENROLMENTS.c.status.in_(ACTIVE),
        )
    ).first()
    if row is None:
        return None
    locked = _lock_batch(db, row.batch_id)
    changed = db.execute(
        update(_ENROLMENTS)
        .where(_ENROLMENTS.c.id == enrolment_id, _ENROLMENTS.c.status.in_(ACTIVE))
        .values(status=EnrolmentStatus.CANCELLED, cancelled_at=now)
    )
    if changed.rowcount != 1:  # cancelled meanwhile by another process
        return None
    promoted = _fill_seats(db, row.batch_id, locked.quota if locked else 0, now)
    batch = get_batch(db=db, batch_id=row.batch_id)
    return Cancelled(batch, EnrolmentStatus(row.status), tuple(promoted))


def fill_seats(*, db: Connection, batch_id: int, now: datetime) -> list[int]:
    """Move the first on the waitlist into a batch's free seats (after its quota was raised);
    return who moved up, for the caller to tell them."""
    locked = _lock_batch(db, batch_id)
    return _fill_seats(db, batch_id, locked.quota, now) if locked else []


def _fill_seats(db: Connection, batch_id: int, quota: int, now: datetime) -> list[int]:
    """Move the first on the waitlist into free seats of a batch not yet begun; return who."""
    batch = db.execute(
        select(_BATCHES.c.starts_at, _BATCHES.c.cancelled).where(_BATCHES.c.id == batch_id)
    ).first()
    if batch is None or batch.cancelled or batch.starts_at <= now:
        return []
    confirmed = db.execute(
        select(func.count()).where(
            _ENROLMENTS.c.batch_id == batch_id,
            _ENROLMENTS.c.status == EnrolmentStatus.CONFIRMED,
        )
    ).scalar_one()
    free = quota - confirmed
    if free <= 0:
        return []
    waiting = db.execute(
        select(_ENROLMENTS.c.id, _ENROLMENTS.c.resident_id)
        .where(
            _ENROLMENTS.c.batch_id == batch_id,
            _ENROLMENTS.c.status == EnrolmentStatus.WAITLISTED,
        )
        .order_by(_ENROLMENTS.c.id)
        .limit(free)
    ).all()
    for enrolment in waiting:
        db.execute(
            update(_ENROLMENTS)
            .where(_ENROLMENTS.c.id == enrolment.id)
            .values(status=EnrolmentStatus.CONFIRMED, confirmed_at=now)
        )
    return [enrolment.resident_id for enrolment in waiting]


@dataclass(frozen=True)
class Listed:
    """One enrolment of a batch, as staff list it."""

    id: int
    resident_id: int
    name: str | None
    kelurahan: str | None
    rw: int | None
    phone: str | None
    status: EnrolmentStatus
    priority_group: str | None
    created_at: datetime
    attended: int  # sessions marked present


def list_batch(
    *, db: Connection, batch_id: int, kelurahan_limit: str | None = None
) -> list[Listed]:
    """Return a batch's enrolments, confirmed first, then the waitlist, in arrival order;
    with a limit, only those of residents of that kelurahan."""
    from storage.places import Kelurahan
    from storage.residents import Resident

    residents_ = Resident.__table__
    kelurahan = Kelurahan.__table__
    attended = (
        select(func.count())
        .where(_ATTENDANCE.c.enrolment_id == _ENROLMENTS.c.id, _ATTENDANCE.c.present.is_(True))
        .correlate(_ENROLMENTS)
        .scalar_subquery()
    )
    order = {EnrolmentStatus.CONFIRMED: 0, EnrolmentStatus.WAITLISTED: 1}
    rows = db.execute(
        select(
            _ENROLMENTS.c.id,
            _ENROLMENTS.c.resident_id,
            residents_.c.name,
            kelurahan.c.name.label("kelurahan"),
            residents_.c.rw,
            residents_.c.phone,
            _ENROLMENTS.c.status,
            _ENROLMENTS.c.priority_group,
            _ENROLMENTS.c.created_at,
            attended.label("attended"),
        )
        .join(residents_, residents_.c.id == _ENROLMENTS.c.resident_id)
        .outerjoin(kelurahan, kelurahan.c.code == residents_.c.kelurahan_code)
        .where(
            _ENROLMENTS.c.batch_id == batch_id,
            _ENROLMENTS.c.status.in_(ACTIVE),
            *_within(residents_, kelurahan_limit),
        )
        .order_by(_ENROLMENTS.c.id)
    ).all()
    listed = [Listed(**{**row._asdict(), "status": EnrolmentStatus(row.status)}) for row in rows]
    return sorted(listed, key=lambda item: (order[item.status], item.id))


def _within(residents_, kelurahan_limit: str | None) -> tuple:
    """Return the condition that keeps residents of one kelurahan (none without a limit)."""
    if kelurahan_limit is None:
        return ()
    return (residents_.c.kelurahan_code == kelurahan_limit,)


def session_id(*, db: Connection, batch_id: int, number: int) -> int | None:
    """Return the id of a batch's session by its number."""
    return db.execute(
        select(_SESSIONS.c.id).where(
            _SESSIONS.c.batch_id == batch_id, _SESSIONS.c.number == number
        )
    ).scalar()


def mark_attendance(
    *,
    db: Connection,
    batch_id: int,
    session: int,
    present: set[int],
    now: datetime,
    kelurahan_limit: str | None = None,
) -> tuple[int, int, list[int]]:
    """Mark the confirmed enrolments of a batch present (the given ids) or absent (the rest)
    at one session; return (present, absent, ids that are not confirmed in this batch). With a
    kelurahan limit, only the enrolments of that kelurahan's residents are marked (an id of
    another's counts as not confirmed) and the others' marks are kept."""
    from storage.residents import Resident

    residents_ = Resident.__table__
    target = session_id(db=db, batch_id=batch_id, number=session)
    if target is None:
        raise ValueError(f"the batch has no session {session}")
    confirmed = set(
        db.execute(
            select(_ENROLMENTS.c.id)
            .join(residents_, residents_.c.id == _ENROLMENTS.c.resident_id)
            .where(
                _ENROLMENTS.c.batch_id == batch_id,
                _ENROLMENTS.c.status == EnrolmentStatus.CONFIRMED,
                *_within(residents_, kelurahan_limit),
            )
        ).scalars()
    )
    unknown = sorted(present - confirmed)
    mine = () if kelurahan_limit is None else (_ATTENDANCE.c.enrolment_id.in_(confirmed),)
    db.execute(_ATTENDANCE.delete().where(_ATTENDANCE.c.session_id == target, *mine))
    rows = [
        {
            "enrolment_id": enrolment,
            "session_id": target,
            "present": enrolment in present,
            "marked_at": now,
        }
        for enrolment in sorted(confirmed)
    ]
    if rows:
        db.execute(_ATTENDANCE.insert(), rows)
    came = len(present & confirmed)
    return came, len(confirmed) - came, unknown


def call_off(*, db: Connection, batch_id: int, now: datetime) -> list[int]:
    """Cancel every active enrolment of a batch the organiser called off; return who held one,
    for the caller to tell them."""
    _lock_batch(db, batch_id)
    held = list(
        db.execute(
            select(_ENROLMENTS.c.resident_id).where(
                _ENROLMENTS.c.batch_id == batch_id, _ENROLMENTS.c.status.in_(ACTIVE)
            )
        ).scalars()
    )
    db.execute(
        update(_ENROLMENTS)
        .where(_ENROLMENTS.c.batch_id == batch_id, _ENROLMENTS.c.status.in_(ACTIVE))
        .values(status=EnrolmentStatus.CANCELLED, cancelled_at=now)
    )
    return held
