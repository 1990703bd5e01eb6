"""Where each resident is in a conversation, and which channel messages were handled."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Connection, bindparam, delete, exists, select
from sqlmodel import Field, SQLModel

from storage.outbox import IS_HELD, IS_UNSENT_REPLY, Outbound
from storage.residents import PROFILE_COLUMNS, ChannelIdentity, Profile, Resident
from storage.types import UTCDateTime


class Conversation(SQLModel, table=True):
    """The flow and step a resident is at, with the answers collected so far."""

    __tablename__ = "conversations"

    resident_id: int = Field(primary_key=True, foreign_key="residents.id", ondelete="CASCADE")
    flow: str = Field(max_length=32)
    step: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ProcessedMessage(SQLModel, table=True):
    """A channel message already handled, so a redelivery is ignored."""

    __tablename__ = "processed_messages"

    identity_id: int = Field(
        primary_key=True, foreign_key="channel_identities.id", ondelete="CASCADE"
    )
    message_id: str = Field(primary_key=True, max_length=128)
    processed_at: datetime = Field(sa_type=UTCDateTime, index=True)


@dataclass
class Position:
    """Where a resident is, read from the conversations table."""

    flow: str
    step: str
    data: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class IdentityRef:
    """The chat identity an update came from."""

    id: int
    channel: str
    external_id: str
    unreachable: bool = False  # marked unreachable before this message came


_CONVERSATIONS = Conversation.__table__
_PROCESSED = ProcessedMessage.__table__
_IDENTITIES = ChannelIdentity.__table__
_RESIDENTS = Resident.__table__
_OUTBOUND = Outbound.__table__

# one statement loads everything an update needs, and says whether the message was seen,
# when the chat last wrote, whether messages wait for it to write and whether earlier replies
# wait to go (so that the update writes those only when there is something to change)
_LOAD = (
    select(
        _IDENTITIES.c.id,
        _IDENTITIES.c.unreachable_at,
        _IDENTITIES.c.last_inbound_at,
        exists().where(_OUTBOUND.c.resident_id == _RESIDENTS.c.id, IS_HELD).label("held"),
        exists()
        .where(_OUTBOUND.c.identity_id == _IDENTITIES.c.id, IS_UNSENT_REPLY)
        .label("unsent"),
        _CONVERSATIONS.c.flow,
        _CONVERSATIONS.c.step,
        _CONVERSATIONS.c.data,
        _CONVERSATIONS.c.updated_at,
        exists()
        .where(
            _PROCESSED.c.identity_id == _IDENTITIES.c.id,
            _PROCESSED.c.message_id == bindparam("message_id"),
        )
        .label("seen"),
        *PROFILE_COLUMNS,
    )
    .join(_RESIDENTS, _RESIDENTS.c.id == _IDENTITIES.c.resident_id)
    .join(_CONVERSATIONS, _CONVERSATIONS.c.resident_id == _RESIDENTS.c.id)
    .where(
        _IDENTITIES.c.channel == bindparam("channel"),
        _IDENTITIES.c.external_id == bindparam("external_id"),
    )
    .with_for_update(of=[_IDENTITIES, _RESIDENTS, _CONVERSATIONS])
)
_START = _CONVERSATIONS.insert().values(
    resident_id=bindparam("b_resident_id"),
    flow=bindparam("b_flow"),
    step=bindparam("b_step"),
    data={},
    updated_at=bindparam("b_now"),
)
_SAVE = (
    _CONVERSATIONS.update()
    .where(_CONVERSATIONS.c.resident_id == bindparam("b_resident_id"))
    .values(
        flow=bindparam("b_flow"),
        step=bindparam("b_step"),
        data=bindparam("b_data"),
        updated_at=bindparam("b_now"),
    )
)
_MARK = _PROCESSED.insert().values(
    identity_id=bindparam("b_identity_id"),
    message_id=bindparam("b_message_id"),
    processed_at=bindparam("b_now"),
)


@dataclass(frozen=True)
class Loaded:
    """Everything an update starts from."""

    identity: IdentityRef
    profile: Profile
    position: Position
    seen: bool  # the message was handled before
    last_inbound_at: datetime | None = None  # when the chat last wrote, as recorded
    held: bool = False  # messages are held for the resident until they write
    unsent: bool = False  # replies to the chat from before still wait to go


def load_for_update(
    *, db: Connection, channel: str, external_id: str, message_id: str
) -> Loaded | None:
    """Load and lock an identity with its resident and position, or None if unknown."""
    params = {"channel": channel, "external_id": external_id, "message_id": message_id}
    row = db.execute(_LOAD, params).first()
    if row is None:
        return None
    identity_id, unreachable_at, last_inbound, held, unsent = row[:5]
    flow, step, data, updated_at, seen, *profile = row[5:]
    return Loaded(
        IdentityRef(identity_id, channel, external_id, unreachable_at is not None),
        Profile(*profile),
        Position(flow, step, dict(data), updated_at),
        bool(seen),
        last_inbound,
        bool(held),
        bool(unsent),
    )


def start_conversation(
    *, db: Connection, resident_id: int, flow: str, step: str, now: datetime
) -> Position:
    """Create the conversation row of a new resident."""
    db.execute(
        _START,
        {"b_resident_id": resident_id, "b_flow": flow, "b_step": step, "b_now": now},
    )
    return Position(flow, step, {}, now)


@dataclass(frozen=True)
class Handled:
    """What a handled update leaves on record: its message id and where the resident is now."""

    identity_id: int
    message_id: str
    resident_id: int
    flow: str
    step: str
    data: dict[str, Any]
    now: datetime


def record(*, db: Connection, handled: list[Handled]) -> None:
    """Mark messages as handled and store the new positions, in two statements for all."""
    if not handled:
        return
    marks = [
        {"b_identity_id": item.identity_id, "b_message_id": item.message_id, "b_now": item.now}
        for item in handled
    ]
    positions = [
        {
            "b_resident_id": item.resident_id,
            "b_flow": item.flow,
            "b_step": item.step,
            "b_data": item.data,
            "b_now": item.now,
        }
        for item in handled
    ]
    db.execute(_MARK, marks)
    db.execute(_SAVE, positions)


def prune_processed(*, db: Connection, older_than: datetime) -> int:
    """Forget handled message ids older than a moment; return how many."""
    result = db.execute(delete(ProcessedMessage).where(ProcessedMessage.processed_at < older_than))
    return result.rowcount or 0


def expire_idle(
    *, db: Connection, before: datetime, home_flow: str, home_step: str, data: dict[str, Any]
) -> int:
    """Send conversations silent since `before` back home with the given data; return how many.

    Their answers so far (a name typed halfway through registration) go with them.
    """
    statement = (
        _CONVERSATIONS.update()
        .where(
            _CONVERSATIONS.c.updated_at < before,
            (_CONVERSATIONS.c.flow != home_flow) | (_CONVERSATIONS.c.step != home_step),
        )
        .values(flow=home_flow, step=home_step, data=data)
    )
    return db.execute(statement).rowcount or 0


def silent_since(*, db: Connection, before: datetime, limit: int = 1000) -> list[int]:
    """Return residents who have sent nothing since `before` (their conversation is older)."""
    query = (
        select(_CONVERSATIONS.c.resident_id)
        .where(_CONVERSATIONS.c.updated_at < before)
        .order_by(_CONVERSATIONS.c.updated_at)
        .limit(limit)
    )
    return list(db.execute(query).scalars())
