"""Where each resident is in a conversation, and which channel messages were handled."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, delete
from sqlmodel import Field, Session, SQLModel, select

from storage.residents import ChannelIdentity, Resident
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


def load_for_update(
    *, session: Session, channel: str, external_id: str
) -> tuple[ChannelIdentity, Resident, Conversation] | None:
    """Load and lock an identity with its resident and conversation, or None if unknown."""
    query = (
        select(ChannelIdentity, Resident, Conversation)
        .join(Resident, Resident.id == ChannelIdentity.resident_id)
        .join(Conversation, Conversation.resident_id == Resident.id)
        .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)
        .with_for_update()
    )
    row = session.exec(query).first()
    return None if row is None else (row[0], row[1], row[2])


def start_conversation(
    *, session: Session, resident_id: int, flow: str, step: str, now: datetime
) -> Conversation:
    """Create the conversation row of a new resident."""
    conversation = Conversation(
        resident_id=resident_id, flow=flow, step=step, data={}, updated_at=now
    )
    session.add(conversation)
    return conversation


def save_position(
    *,
    session: Session,
    conversation: Conversation,
    flow: str,
    step: str,
    data: dict[str, Any],
    now: datetime,
) -> None:
    """Store where the resident is now."""
    conversation.flow = flow
    conversation.step = step
    conversation.data = dict(data)  # a new object, so the JSON column is written
    conversation.updated_at = now
    session.add(conversation)


def mark_processed(*, session: Session, identity_id: int, message_id: str, now: datetime) -> bool:
    """Record a channel message as handled; False when it was handled before."""
    if session.get(ProcessedMessage, (identity_id, message_id)) is not None:
        return False
    session.add(ProcessedMessage(identity_id=identity_id, message_id=message_id, processed_at=now))
    return True


def prune_processed(*, session: Session, older_than: datetime) -> int:
    """Forget handled message ids older than a moment; return how many."""
    result = session.exec(
        delete(ProcessedMessage).where(ProcessedMessage.processed_at < older_than)
    )
    return result.rowcount or 0
