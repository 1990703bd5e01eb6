"""Reminders residents ask for ("Ingatkan saya"); sending them comes with the outbound queue."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, UniqueConstraint, bindparam, select
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class Subject(StrEnum):
    """What a reminder is about."""

    DISTRIBUTION = "distribution"


class ReminderStatus(StrEnum):
    """Where a reminder stands."""

    PENDING = "pending"  # waiting for its time
    QUEUED = "queued"  # its time came: the message is in the outbound queue
    EXPIRED = "expired"  # its event began before it could be sent: never sent
    CANCELLED = "cancelled"  # the resident, or a cancelled enrolment, called it off


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
_EXISTING = select(_REMINDERS.c.remind_at).where(
    _REMINDERS.c.resident_id == bindparam("b_resident_id"),
    _REMINDERS.c.subject == bindparam("b_subject"),
    _REMINDERS.c.subject_id == bindparam("b_subject_id"),
)


def request(
    *,
    db: Connection,
    resident_id: int,
    subject: Subject,
    subject_id: int,
    times: list[datetime],
    now: datetime,
) -> list[datetime]:
    """Record reminders at the given times, skipping ones already asked for; return the new."""
    params = {"b_resident_id": resident_id, "b_subject": subject, "b_subject_id": subject_id}
    existing = set(db.execute(_EXISTING, params).scalars())
    new = sorted(set(times) - existing)
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
    return new
