"""The outbound queue: what the bot sends on its own, written in the same transaction as its
cause (a waitlist promotion, a status change). Draining it is the sender's job (issue 6)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, Text, select
from sqlmodel import Field, SQLModel

from storage.residents import ChannelIdentity
from storage.types import UTCDateTime


class OutboundKind(StrEnum):
    """Why a message is sent; quiet hours and opt-outs depend on it."""

    PROMOTION = "promotion"  # a seat came free for someone on a waitlist
    STATUS = "status"  # an application's status changed
    CALLED_OFF = "called_off"  # a course batch or health event the resident held was called off
    REMINDER = "reminder"
    ANNOUNCEMENT = "announcement"


class OutboundStatus(StrEnum):
    """Where an outbound message stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Outbound(SQLModel, table=True):
    """One message to send to a resident on one of their channels."""

    __tablename__ = "outbound"

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(foreign_key="residents.id", index=True, ondelete="CASCADE")
    identity_id: int = Field(foreign_key="channel_identities.id", ondelete="CASCADE")
    channel: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    text: str = Field(sa_type=Text)  # finished, in the resident's language
    not_before: datetime = Field(sa_type=UTCDateTime, index=True)
    status: str = Field(default=OutboundStatus.PENDING, max_length=12, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=200)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


_OUTBOUND = Outbound.__table__
_IDENTITIES = ChannelIdentity.__table__


def reach(*, db: Connection, resident_id: int) -> tuple[int, str] | None:
    """Return the identity and channel to write to: the newest one that can be reached."""
    row = db.execute(
        select(_IDENTITIES.c.id, _IDENTITIES.c.channel)
        .where(_IDENTITIES.c.resident_id == resident_id, _IDENTITIES.c.unreachable_at.is_(None))
        .order_by(_IDENTITIES.c.id.desc())
        .limit(1)
    ).first()
    return (row.id, row.channel) if row else None


def enqueue(
    *,
    db: Connection,
    resident_id: int,
    kind: OutboundKind,
    text: str,
    now: datetime,
    not_before: datetime | None = None,
) -> int | None:
    """Queue a message for a resident; return its id, or None when they cannot be reached."""
    target = reach(db=db, resident_id=resident_id)
    if target is None:
        return None
    identity_id, channel = target
    created = db.execute(
        _OUTBOUND.insert().values(
            resident_id=resident_id,
            identity_id=identity_id,
            channel=channel,
            kind=kind,
            text=text,
            not_before=not_before or now,
            status=OutboundStatus.PENDING,
            attempts=0,
            created_at=now,
        )
    )
    return created.inserted_primary_key[0]


def pending_for(*, db: Connection, resident_id: int) -> list[Outbound]:
    """Return the messages waiting for one resident, oldest first."""
    rows = db.execute(
        select(_OUTBOUND)
        .where(
            _OUTBOUND.c.resident_id == resident_id,
            _OUTBOUND.c.status == OutboundStatus.PENDING,
        )
        .order_by(_OUTBOUND.c.id)
    ).all()
    return [Outbound.model_validate(row._asdict()) for row in rows]
