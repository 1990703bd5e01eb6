"""Ratings 1–5 of a sembako pickup, a course batch or a health talk or check, asked for by a
feedback invitation some hours after it ended (the follow-up). One row per resident and event:
written when the invitation is queued (score empty), scored when the resident answers. A rating
may carry a comment, and one about a program or service ("Beri masukan") may be given at any
time: subject "general", numbered per resident, written scored.

Who is invited is who we know was there: for a course, those marked present at a session; for
a health slot, bookings not cancelled (and not marked absent); for a pickup we cannot know, so
those who asked for a reminder of it and kept it.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, Text, UniqueConstraint, and_, exists, func, select, update
from sqlmodel import Field, SQLModel

from storage.health import BookingStatus, HealthBooking, HealthEvent, HealthSlot
from storage.redaction import redact
from storage.reminders import Reminder, ReminderStatus
from storage.reminders import Subject as ReminderSubject
from storage.schedules import Distribution
from storage.training import Attendance, CourseBatch, Enrolment, EnrolmentStatus
from storage.types import UTCDateTime

SCORES = range(1, 6)
MAX_COMMENT = 1000  # characters of a comment
# what a rating given at any time may be about besides a registry program's code
SERVICES = ("sembako", "pelatihan", "kesehatan", "beasiswa", "modal", "layanan bot")


class Rated(StrEnum):
    """What a rating is about; `subject_id` is the id of that row."""

    DISTRIBUTION = "distribution"  # distributions.id
    BATCH = "batch"  # course_batches.id
    SLOT = "slot"  # health_slots.id
    GENERAL = "general"  # not asked for: the resident's 1st, 2nd... feedback given at any time


class Rating(SQLModel, table=True):
    """A resident's rating of something they took part in; empty until they answer."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("resident_id", "subject", "subject_id"),)

    id: int | None = Field(default=None, primary_key=True)
    # kept without the person when they erase their data, so the figures stay
    resident_id: int | None = Field(
        default=None, foreign_key="residents.id", index=True, ondelete="SET NULL"
    )
    subject: str = Field(max_length=16)
    subject_id: int
    score: int | None = None  # 1–5
    invited_at: datetime = Field(sa_type=UTCDateTime, index=True)
    rated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    comment: str | None = Field(default=None, sa_type=Text)  # at most MAX_COMMENT characters
    # a program's code (registry programs) or one of SERVICES; None when not said
    program: str | None = Field(default=None, max_length=16)


_RATINGS = Rating.__table__
_DISTRIBUTIONS = Distribution.__table__
_REMINDERS = Reminder.__table__
_BATCHES = CourseBatch.__table__
_ENROLMENTS = Enrolment.__table__
_ATTENDANCE = Attendance.__table__
_SLOTS = HealthSlot.__table__
_EVENTS = HealthEvent.__table__
_BOOKINGS = HealthBooking.__table__


@dataclass(frozen=True)
class Invitee:
    """Someone to invite to rate an event."""

    resident_id: int
    subject: Rated
    subject_id: int


def _not_invited(subject: Rated, resident, subject_id):
    return ~exists().where(
        _RATINGS.c.resident_id == resident,
        _RATINGS.c.subject == subject,
        _RATINGS.c.subject_id == subject_id,
    )


def to_invite(
    *, db: Connection, ended_after: datetime, ended_by: datetime, limit: int = 500
) -> list[Invitee]:
    """Return who took part in an event that ended in the window and is not yet invited."""
    pickups = (
        select(_REMINDERS.c.resident_id, _DISTRIBUTIONS.c.id)
        .distinct()
        .join(
            _REMINDERS,
            and_(
                _REMINDERS.c.subject == ReminderSubject.DISTRIBUTION,
                _REMINDERS.c.subject_id == _DISTRIBUTIONS.c.id,
            ),
        )
        .where(
            _DISTRIBUTIONS.c.cancelled.is_(False),
            _DISTRIBUTIONS.c.ends_at > ended_after,
            _DISTRIBUTIONS.c.ends_at <= ended_by,
            _REMINDERS.c.status != ReminderStatus.CANCELLED,
            _not_invited(Rated.DISTRIBUTION, _REMINDERS.c.resident_id, _DISTRIBUTIONS.c.id),
        )
    )
    came = exists().where(
        _ATTENDANCE.c.enrolment_id == _ENROLMENTS.c.id, _ATTENDANCE.c.present.is_(True)
    )
    courses = (
        select(_ENROLMENTS.c.resident_id, _BATCHES.c.id)
        .join(_ENROLMENTS, _ENROLMENTS.c.batch_id == _BATCHES.c.id)
        .where(
            _BATCHES.c.cancelled.is_(False),
            _BATCHES.c.ends_at > ended_after,
            _BATCHES.c.ends_at <= ended_by,
            _ENROLMENTS.c.status == EnrolmentStatus.CONFIRMED,
            came,
            _not_invited(Rated.BATCH, _ENROLMENTS.c.resident_id, _BATCHES.c.id),
        )
    )
    checks = (
        select(_BOOKINGS.c.resident_id, _SLOTS.c.id)
        .join(_BOOKINGS, _BOOKINGS.c.slot_id == _SLOTS.c.id)
        .join(_EVENTS, _EVENTS.c.id == _SLOTS.c.event_id)
        .where(
            _EVENTS.c.cancelled.is_(False),
            _SLOTS.c.ends_at > ended_after,
            _SLOTS.c.ends_at <= ended_by,
            _BOOKINGS.c.status == BookingStatus.BOOKED,
            _BOOKINGS.c.attended.is_not(False),
            _not_invited(Rated.SLOT, _BOOKINGS.c.resident_id, _SLOTS.c.id),
        )
    )
    found: list[Invitee] = []
    for subject, query in (
        (Rated.DISTRIBUTION, pickups),
        (Rated.BATCH, courses),
        (Rated.SLOT, checks),
    ):
        rows = db.execute(query.limit(limit - len(found))).all() if len(found) < limit else []
        found += [Invitee(resident_id, subject, subject_id) for resident_id, subject_id in rows]
    return found


def invite(*, db: Connection, invitee: Invitee, now: datetime) -> int:
    """Record that a resident is asked to rate an event; return the rating's id."""
    created = db.execute(
        _RATINGS.insert().values(
            resident_id=invitee.resident_id,
            subject=invitee.subject,
            subject_id=invitee.subject_id,
            invited_at=now,
        )
    )
    return created.inserted_primary_key[0]


def get(*, db: Connection, rating_id: int, resident_id: int) -> Rating | None:
    """Return one of a resident's ratings (asked for, or given), or None."""
    row = db.execute(
        select(_RATINGS).where(_RATINGS.c.id == rating_id, _RATINGS.c.resident_id == resident_id)
    ).first()
    return Rating.model_validate(row._asdict()) if row else None


def latest_open(*, db: Connection, resident_id: int) -> Rating | None:
    """Return the newest rating a resident was asked for and has not given."""
    row = db.execute(
        select(_RATINGS)
        .where(_RATINGS.c.resident_id == resident_id, _RATINGS.c.score.is_(None))
        .order_by(_RATINGS.c.invited_at.desc(), _RATINGS.c.id.desc())
        .limit(1)
    ).first()
    return Rating.model_validate(row._asdict()) if row else None


def rate(*, db: Connection, rating_id: int, resident_id: int, score: int, now: datetime) -> bool:
    """Store a resident's score (a later answer replaces an earlier); False when not theirs."""
    if score not in SCORES:
        raise ValueError(f"a score is 1 to 5, not {score}")
    done = db.execute(
        update(_RATINGS)
        .where(_RATINGS.c.id == rating_id, _RATINGS.c.resident_id == resident_id)
        .values(score=score, rated_at=now)
    )
    return done.rowcount == 1


def give(
    *,
    db: Connection,
    resident_id: int,
    score: int,
    now: datetime,
    program: str | None = None,
    comment: str | None = None,
) -> int:
    """Store a rating given at any time, not asked for; return its id."""
    if score not in SCORES:
        raise ValueError(f"a score is 1 to 5, not {score}")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise ValueError(f"a comment is at most {MAX_COMMENT} characters")
    given = db.execute(
        select(func.coalesce(func.max(_RATINGS.c.subject_id), 0)).where(
            _RATINGS.c.resident_id == resident_id, _RATINGS.c.subject == Rated.GENERAL
        )
    ).scalar_one()
    created = db.execute(
        _RATINGS.insert().values(
            resident_id=resident_id,
            subject=Rated.GENERAL,
            subject_id=given + 1,
            score=score,
            program=program,
            comment=redact(comment),
            invited_at=now,
            rated_at=now,
        )
    )
    return created.inserted_primary_key[0]


def add_comment(*, db: Connection, rating_id: int, resident_id: int, comment: str) -> bool:
    """Store a comment on one of a resident's ratings (replacing one); False when not theirs."""
    if len(comment) > MAX_COMMENT:
        raise ValueError(f"a comment is at most {MAX_COMMENT} characters")
    done = db.execute(
        update(_RATINGS)
        .where(_RATINGS.c.id == rating_id, _RATINGS.c.resident_id == resident_id)
        .values(comment=redact(comment))
    )
    return done.rowcount == 1
