"""Reminders: rows a resident can see ("Pengingat saya") and cancel, for a sembako pickup they
asked about, the sessions of a course they are enrolled in, a health slot they booked, and the
last day of a round of scholarship or business-capital applications they asked about.

A reminder goes pending → queued (its time came and its event had not begun: the message is in
the outbound queue) or expired (its event began, or was called off, first: never sent), or is
cancelled (by the resident, or with the enrolment or booking it belongs to).

When reminders go out is a rule per subject (`rule_times`), kept here so the conversations, the
imports that move an event and the clock agree on it.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, UniqueConstraint, bindparam, select, update
from sqlmodel import Field, SQLModel

from storage import outbox, rounds
from storage.applications import Application
from storage.health import BookingStatus, HealthBooking, HealthEvent, HealthSlot
from storage.schedules import Distribution
from storage.training import BatchSession, CourseBatch, Enrolment, EnrolmentStatus
from storage.types import UTCDateTime


class Subject(StrEnum):
    """What a reminder is about; `subject_id` is the id of that row."""

    DISTRIBUTION = "distribution"  # a sembako pickup: distributions.id
    SESSION = "session"  # one meeting of a course batch: batch_sessions.id
    SLOT = "slot"  # a health talk or check time slot: health_slots.id
    ROUND = "round"  # the end of a round of applications: application_rounds.id


class ReminderStatus(StrEnum):
    """Where a reminder stands."""

    PENDING = "pending"  # waiting for its time
    QUEUED = "queued"  # its time came: the message is in the outbound queue
    EXPIRED = "expired"  # never sent: its event began first, or nobody could be reached
    CANCELLED = "cancelled"  # the resident, or a cancelled enrolment, called it off


# the reminders' times, in local time: the evening before every event, the morning of a
# pickup, and two hours before a health slot unless that falls in the night
EVENING_BEFORE = time(18, 0)
MORNING_OF = time(6, 30)
BEFORE_SLOT = timedelta(hours=2)
NIGHT_ENDS = time(6, 0)
# before the end of a round of applications: the evening three days ahead (documents can still
# be gathered) and the morning of the last day
ROUND_DAYS_AHEAD = 3
LAST_MORNING = time(8, 0)


class Reminder(SQLModel, table=True):
    """One reminder a resident asked for: about what, and when to send it."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("resident_id", "subject", "subject_id", "remind_at"),)

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(foreign_key="residents.id", index=True, ondelete="CASCADE")
    subject: str = Field(max_length=16)
    subject_id: int
    remind_at: datetime = Field(sa_type=UTCDateTime, index=True)
    status: str = Field(default=ReminderStatus.PENDING, max_length=12)
    created_at: datetime = Field(sa_type=UTCDateTime)


_REMINDERS = Reminder.__table__
_SESSIONS = BatchSession.__table__
_BATCHES = CourseBatch.__table__
_ENROLMENTS = Enrolment.__table__
_SLOTS = HealthSlot.__table__
_EVENTS = HealthEvent.__table__
_BOOKINGS = HealthBooking.__table__
_DISTRIBUTIONS = Distribution.__table__
_APPLICATIONS = Application.__table__
_EXISTING = select(_REMINDERS.c.id, _REMINDERS.c.remind_at, _REMINDERS.c.status).where(
    _REMINDERS.c.resident_id == bindparam("b_resident_id"),
    _REMINDERS.c.subject == bindparam("b_subject"),
    _REMINDERS.c.subject_id == bindparam("b_subject_id"),
)
HELD = (ReminderStatus.PENDING, ReminderStatus.QUEUED)  # reminders of someone still expected


def rule_times(subject: Subject, starts_at: datetime, zone: str) -> list[datetime]:
    """Return when an event's reminders go out by the rules, earliest first."""
    local = ZoneInfo(zone)
    if subject == Subject.ROUND:  # "starts" when the round closes, at midnight after its last day
        last = (starts_at - timedelta(microseconds=1)).astimezone(local).date()
        return [
            datetime.combine(last - timedelta(days=ROUND_DAYS_AHEAD), EVENING_BEFORE, local),
            datetime.combine(last, LAST_MORNING, local),
        ]
    day = starts_at.astimezone(local).date()
    times = [datetime.combine(day - timedelta(days=1), EVENING_BEFORE, local)]
    if subject == Subject.DISTRIBUTION:
        times.append(datetime.combine(day, MORNING_OF, local))
    elif subject == Subject.SLOT:
        shortly = starts_at - BEFORE_SLOT
        if shortly.astimezone(local).time() >= NIGHT_ENDS:
            times.append(shortly)
    return times


def times_ahead(subject: Subject, starts_at: datetime, zone: str, now: datetime) -> list[datetime]:
    """Return the rule's times still ahead and before the event starts."""
    return [at for at in rule_times(subject, starts_at, zone) if now < at < starts_at]


def request(
    *,
    db: Connection,
    resident_id: int,
    subject: Subject,
    subject_id: int,
    times: list[datetime],
    now: datetime,
) -> list[datetime]:
    """Record reminders at the given times, skipping ones already there (a cancelled one is
    taken up again: asked for anew); return the new."""
    params = {"b_resident_id": resident_id, "b_subject": subject, "b_subject_id": subject_id}
    existing = {row.remind_at: row for row in db.execute(_EXISTING, params)}
    again = [
        existing[at].id
        for at in times
        if at in existing and existing[at].status == ReminderStatus.CANCELLED
    ]
    if again:
        db.execute(
            update(_REMINDERS)
            .where(_REMINDERS.c.id.in_(again))
            .values(status=ReminderStatus.PENDING)
        )
    new = sorted(set(times) - set(existing))
    if new:
        rows = [
            {
                "resident_id": resident_id,
                "subject": subject,
                "subject_id": subject_id,
                "remind_at": at,
                "status": ReminderStatus.PENDING,
                "created_at": now,
            }
            for at in new
        ]
        db.execute(_REMINDERS.insert(), rows)
    return sorted([*new, *(at for at in times if at in existing and existing[at].id in again)])


# -- the clock -------------------------------------------------------------------------------


def due(*, db: Connection, now: datetime, limit: int = 1000) -> list[Reminder]:
    """Take the pending reminders whose time has come, earliest first, locked."""
    rows = db.execute(
        select(_REMINDERS)
        .where(_REMINDERS.c.status == ReminderStatus.PENDING, _REMINDERS.c.remind_at <= now)
        .order_by(_REMINDERS.c.remind_at, _REMINDERS.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    return [Reminder.model_validate(row._asdict()) for row in rows]


def mark(*, db: Connection, reminder_ids: list[int], status: ReminderStatus) -> None:
    """Set the status of some reminders."""
    if reminder_ids:
        db.execute(
            update(_REMINDERS).where(_REMINDERS.c.id.in_(reminder_ids)).values(status=status)
        )


def live_starts(*, db: Connection, subject: Subject, ids: list[int]) -> dict[int, datetime]:
    """Return when each of some events starts, for those still on (not called off, not gone)."""
    if not ids:
        return {}
    if subject == Subject.DISTRIBUTION:
        query = select(_DISTRIBUTIONS.c.id, _DISTRIBUTIONS.c.starts_at).where(
            _DISTRIBUTIONS.c.id.in_(ids), _DISTRIBUTIONS.c.cancelled.is_(False)
        )
    elif subject == Subject.SESSION:
        query = (
            select(_SESSIONS.c.id, _SESSIONS.c.starts_at)
            .join(_BATCHES, _BATCHES.c.id == _SESSIONS.c.batch_id)
            .where(_SESSIONS.c.id.in_(ids), _BATCHES.c.cancelled.is_(False))
        )
    elif subject == Subject.SLOT:
        query = (
            select(_SLOTS.c.id, _SLOTS.c.starts_at)
            .join(_EVENTS, _EVENTS.c.id == _SLOTS.c.event_id)
            .where(_SLOTS.c.id.in_(ids), _EVENTS.c.cancelled.is_(False))
        )
    elif subject == Subject.ROUND:
        return rounds.closing_times(db=db, ids=ids)
    else:
        return {}
    return {row.id: row.starts_at for row in db.execute(query)}


def holds(*, db: Connection, subject: str, subject_id: int, resident_id: int) -> bool:
    """Tell whether a resident still needs a reminder: they hold a confirmed enrolment in the
    session's batch, a booking of the slot, or have not yet applied in the round (a pickup is
    for anyone)."""
    if subject == Subject.SESSION:
        query = (
            select(_ENROLMENTS.c.id)
            .join(_SESSIONS, _SESSIONS.c.batch_id == _ENROLMENTS.c.batch_id)
            .where(
                _SESSIONS.c.id == subject_id,
                _ENROLMENTS.c.resident_id == resident_id,
                _ENROLMENTS.c.status == EnrolmentStatus.CONFIRMED,
            )
        )
    elif subject == Subject.SLOT:
        query = select(_BOOKINGS.c.id).where(
            _BOOKINGS.c.slot_id == subject_id,
            _BOOKINGS.c.resident_id == resident_id,
            _BOOKINGS.c.status == BookingStatus.BOOKED,
        )
    elif subject == Subject.ROUND:
        found = rounds.get(db=db, round_id=subject_id)
        if found is None:
            return False
        applied = select(_APPLICATIONS.c.id).where(
            _APPLICATIONS.c.resident_id == resident_id,
            _APPLICATIONS.c.kind == found.kind,
            _APPLICATIONS.c.created_at >= found.opened_at,
        )
        return db.execute(applied.limit(1)).first() is None
    else:
        return True
    return db.execute(query.limit(1)).first() is not None


def booked_ahead(*, db: Connection, event_id: int, now: datetime) -> list[tuple[int, int]]:
    """Return (resident, slot) for the bookings of a health event's slots still ahead."""
    rows = db.execute(
        select(_BOOKINGS.c.resident_id, _BOOKINGS.c.slot_id)
        .join(_SLOTS, _SLOTS.c.id == _BOOKINGS.c.slot_id)
        .where(
            _SLOTS.c.event_id == event_id,
            _SLOTS.c.starts_at > now,
            _BOOKINGS.c.status == BookingStatus.BOOKED,
        )
        .order_by(_BOOKINGS.c.id)
    ).all()
    return [(row.resident_id, row.slot_id) for row in rows]


@dataclass(frozen=True)
class SessionRef:
    """A course session a reminder is for: its batch, number and times."""

    batch_id: int
    number: int
    starts_at: datetime
    ends_at: datetime


def session_of(*, db: Connection, session_id: int) -> SessionRef | None:
    """Return one course session by id, or None."""
    row = db.execute(
        select(
            _SESSIONS.c.batch_id, _SESSIONS.c.number, _SESSIONS.c.starts_at, _SESSIONS.c.ends_at
        ).where(_SESSIONS.c.id == session_id)
    ).first()
    return SessionRef(*row) if row else None


# -- what a resident sees and cancels ------------------------------------------------------------


def pending_of(*, db: Connection, resident_id: int) -> list[Reminder]:
    """Return a resident's reminders still to be sent, earliest first."""
    rows = db.execute(
        select(_REMINDERS)
        .where(
            _REMINDERS.c.resident_id == resident_id,
            _REMINDERS.c.status == ReminderStatus.PENDING,
        )
        .order_by(_REMINDERS.c.remind_at, _REMINDERS.c.id)
    ).all()
    return [Reminder.model_validate(row._asdict()) for row in rows]


def cancel_mine(*, db: Connection, reminder_id: int, resident_id: int) -> Reminder | None:
    """Cancel one of a resident's pending reminders; None: not theirs, or no longer pending."""
    row = db.execute(
        select(_REMINDERS).where(
            _REMINDERS.c.id == reminder_id,
            _REMINDERS.c.resident_id == resident_id,
            _REMINDERS.c.status == ReminderStatus.PENDING,
        )
    ).first()
    if row is None:
        return None
    changed = db.execute(
        update(_REMINDERS)
        .where(_REMINDERS.c.id == reminder_id, _REMINDERS.c.status == ReminderStatus.PENDING)
        .values(status=ReminderStatus.CANCELLED)
    )
    return Reminder.model_validate(row._asdict()) if changed.rowcount == 1 else None


def cancel_all_mine(*, db: Connection, resident_id: int) -> int:
    """Cancel every pending reminder of a resident; return how many."""
    done = db.execute(
        update(_REMINDERS)
        .where(
            _REMINDERS.c.resident_id == resident_id,
            _REMINDERS.c.status == ReminderStatus.PENDING,
        )
        .values(status=ReminderStatus.CANCELLED)
    )
    return done.rowcount


# -- reminders that follow enrolments, bookings and the events themselves ----------------------


def session_ids(*, db: Connection, batch_id: int) -> list[int]:
    """Return the ids of a batch's sessions."""
    return list(
        db.execute(select(_SESSIONS.c.id).where(_SESSIONS.c.batch_id == batch_id)).scalars()
    )


def slot_ids(*, db: Connection, event_id: int) -> list[int]:
    """Return the ids of a health event's slots."""
    return list(db.execute(select(_SLOTS.c.id).where(_SLOTS.c.event_id == event_id)).scalars())


def holders(*, db: Connection, subject: Subject, subject_id: int) -> list[int]:
    """Return who holds a reminder of an event still to come or already sent."""
    return sorted(
        db.execute(
            select(_REMINDERS.c.resident_id)
            .distinct()
            .where(
                _REMINDERS.c.subject == subject,
                _REMINDERS.c.subject_id == subject_id,
                _REMINDERS.c.status.in_(HELD),
            )
        ).scalars()
    )


def cancel(
    *, db: Connection, subject: Subject, subject_ids: list[int], resident_id: int | None = None
) -> list[int]:
    """Cancel the pending reminders of some events (of one resident, or of all); return who
    held a reminder of them still to come or already sent, for the caller to tell them."""
    if not subject_ids:
        return []
    where = [_REMINDERS.c.subject == subject, _REMINDERS.c.subject_id.in_(subject_ids)]
    if resident_id is not None:
        where.append(_REMINDERS.c.resident_id == resident_id)
    held = db.execute(
        select(_REMINDERS.c.resident_id).distinct().where(*where, _REMINDERS.c.status.in_(HELD))
    ).scalars()
    held = sorted(held)
    db.execute(
        update(_REMINDERS)
        .where(*where, _REMINDERS.c.status == ReminderStatus.PENDING)
        .values(status=ReminderStatus.CANCELLED)
    )
    # a reminder already queued but not yet handed to the platform is withdrawn as well
    outbox.withdraw(
        db=db,
        subject=subject,
        subject_ids=subject_ids,
        resident_id=resident_id,
        reason="cancelled: the enrolment, booking or event was cancelled",
    )
    return held


def cancel_batch(*, db: Connection, batch_id: int, resident_id: int | None = None) -> list[int]:
    """Cancel the pending reminders of a batch's sessions (of one resident, or of all)."""
    ids = session_ids(db=db, batch_id=batch_id)
    return cancel(db=db, subject=Subject.SESSION, subject_ids=ids, resident_id=resident_id)


def cancel_event(*, db: Connection, event_id: int, resident_id: int | None = None) -> list[int]:
    """Cancel the pending reminders of a health event's slots (of one resident, or of all)."""
    ids = slot_ids(db=db, event_id=event_id)
    return cancel(db=db, subject=Subject.SLOT, subject_ids=ids, resident_id=resident_id)


def remind_sessions(
    *, db: Connection, resident_id: int, batch_id: int, now: datetime, zone: str
) -> list[datetime]:
    """Record the reminders of a confirmed enrolment: the evening before each session still
    ahead (a course meets weekly or so, and a reminder the evening before each meeting is what
    people asked for; one a few hours before as well would be too many). Return the times."""
    sessions = db.execute(
        select(_SESSIONS.c.id, _SESSIONS.c.starts_at).where(_SESSIONS.c.batch_id == batch_id)
    ).all()
    made = []
    for session_id, starts_at in sessions:
        times = times_ahead(Subject.SESSION, starts_at, zone, now)
        if times:
            made += request(
                db=db,
                resident_id=resident_id,
                subject=Subject.SESSION,
                subject_id=session_id,
                times=times,
                now=now,
            )
    return sorted(made)


def remind_slot(
    *,
    db: Connection,
    resident_id: int,
    slot_id: int,
    starts_at: datetime,
    now: datetime,
    zone: str,
) -> list[datetime]:
    """Record the reminders of a booked health slot (the evening before, two hours before);
    return the times."""
    times = times_ahead(Subject.SLOT, starts_at, zone, now)
    if not times:
        return []
    return request(
        db=db,
        resident_id=resident_id,
        subject=Subject.SLOT,
        subject_id=slot_id,
        times=times,
        now=now,
    )


def _closest(at: datetime, old: list[datetime], new: list[datetime]) -> datetime | None:
    """Return the new time of the rule that gave `at` (by its place among the old times)."""
    if not old or len(old) != len(new):
        return new[0] if new else None
    index = min(range(len(old)), key=lambda number: abs(old[number] - at))
    return new[index]


def move(
    *,
    db: Connection,
    subject: Subject,
    subject_id: int,
    old_start: datetime,
    new_start: datetime,
    zone: str,
    now: datetime,
    new_subject_id: int | None = None,
) -> list[int]:
    """Move the pending reminders of an event that moved (to `new_subject_id` too, when the
    event got a new row): each to its rule's new time, or cancelled when that has passed. One
    already queued is withdrawn if not yet handed over, and one sent for the old time is armed
    again for the rule's new time when that is still ahead. Return who held a reminder of it
    (pending or already sent), for the caller to tell them."""
    target = subject_id if new_subject_id is None else new_subject_id
    where = (_REMINDERS.c.subject == subject, _REMINDERS.c.subject_id == subject_id)
    held = holders(db=db, subject=subject, subject_id=subject_id)
    # a reminder queued with the old time in its text is withdrawn unless already handed over;
    # the residents hear of the move from the caller
    outbox.withdraw(db=db, subject=subject, subject_ids=[subject_id], reason="its event moved")
    pending = db.execute(
        select(
            _REMINDERS.c.id, _REMINDERS.c.resident_id, _REMINDERS.c.remind_at, _REMINDERS.c.status
        ).where(*where, _REMINDERS.c.status.in_(HELD))
    ).all()
    old_times = rule_times(subject, old_start, zone)
    new_times = rule_times(subject, new_start, zone)
    for reminder_id, resident_id, remind_at, status in pending:
        at = _closest(remind_at, old_times, new_times)
        if status == ReminderStatus.QUEUED:
            # already sent (or withdrawn just now) for the old time: the rule's time for the new
            # one, when it is still ahead, reminds them again; else it stays as it was
            if at is None or at == remind_at or not (now < at < new_start):
                continue
            status_now = ReminderStatus.PENDING
        else:
            status_now = None
        if at == remind_at and target == subject_id:
            continue
        clash = None
        if at is not None:
            clash = db.execute(
                select(_REMINDERS.c.id, _REMINDERS.c.status).where(
                    _REMINDERS.c.resident_id == resident_id,
                    _REMINDERS.c.subject == subject,
                    _REMINDERS.c.subject_id == target,
                    _REMINDERS.c.remind_at == at,
                )
            ).first()
        if clash is not None and status_now is not None:  # sent, and the new one is there
            continue
        if at is None or not (now < at < new_start) or clash is not None:
            mark(db=db, reminder_ids=[reminder_id], status=ReminderStatus.CANCELLED)
            if clash is not None and clash.status == ReminderStatus.CANCELLED and now < at:
                mark(db=db, reminder_ids=[clash.id], status=ReminderStatus.PENDING)
            continue
        values = {"subject_id": target, "remind_at": at}
        if status_now is not None:
            values["status"] = status_now
        db.execute(update(_REMINDERS).where(_REMINDERS.c.id == reminder_id).values(**values))
    return held


def sessions_of(*, db: Connection, batch_id: int) -> dict[int, tuple[int, datetime]]:
    """Return a batch's sessions by id: (number, start)."""
    rows = db.execute(
        select(_SESSIONS.c.id, _SESSIONS.c.number, _SESSIONS.c.starts_at).where(
            _SESSIONS.c.batch_id == batch_id
        )
    ).all()
    return {row.id: (row.number, row.starts_at) for row in rows}


def follow_sessions(
    *,
    db: Connection,
    batch_id: int,
    before: dict[int, tuple[int, datetime]],
    now: datetime,
    zone: str,
) -> bool:
    """Make the reminders of a batch whose sessions were replaced follow them: a session gone
    passes its pending reminders to the new session of the same number (moved), a new session
    gets reminders for every confirmed enrolment (except for those who had cancelled theirs of
    the session it replaces). Return whether any session's time changed."""
    after = sessions_of(db=db, batch_id=batch_id)
    # a session whose row was replaced may come back under the same id (SQLite reuses the
    # highest one): a kept id with another number or start counts as gone and added
    gone = {sid: value for sid, value in before.items() if after.get(sid) != value}
    added = {sid: value for sid, value in after.items() if before.get(sid) != value}
    if not gone and not added:
        return False
    by_number = {number: sid for sid, (number, _start) in added.items()}
    replaced: dict[int, int] = {}  # new session id -> the old one it replaces
    for old_id, (number, old_start) in gone.items():
        new_id = by_number.get(number)
        if new_id is None or new_id in replaced:
            cancel(db=db, subject=Subject.SESSION, subject_ids=[old_id])
            continue
        replaced[new_id] = old_id
        move(
            db=db,
            subject=Subject.SESSION,
            subject_id=old_id,
            old_start=old_start,
            new_start=added[new_id][1],
            zone=zone,
            now=now,
            new_subject_id=new_id,
        )
    confirmed = list(
        db.execute(
            select(_ENROLMENTS.c.resident_id).where(
                _ENROLMENTS.c.batch_id == batch_id,
                _ENROLMENTS.c.status == EnrolmentStatus.CONFIRMED,
            )
        ).scalars()
    )
    for new_id, (_number, starts_at) in added.items():
        declined: set[int] = set()
        if new_id in replaced:  # who cancelled the old session's reminder does not want one
            declined = set(
                db.execute(
                    select(_REMINDERS.c.resident_id).where(
                        _REMINDERS.c.subject == Subject.SESSION,
                        _REMINDERS.c.subject_id == replaced[new_id],
                        _REMINDERS.c.status == ReminderStatus.CANCELLED,
                    )
                ).scalars()
            )
        times = times_ahead(Subject.SESSION, starts_at, zone, now)
        for resident_id in confirmed:
            if times and resident_id not in declined:
                request(
                    db=db,
                    resident_id=resident_id,
                    subject=Subject.SESSION,
                    subject_id=new_id,
                    times=times,
                    now=now,
                )
    return True
