"""Erasure of a resident's personal data (UU PDP 27/2022: the right to erase)."""

from dataclasses import dataclass

from sqlalchemy import Connection, delete, update
from sqlmodel import select

from storage.conversations import Conversation, ProcessedMessage
from storage.registry import StatusCheck
from storage.reminders import Reminder
from storage.residents import ChannelIdentity, Resident


@dataclass(frozen=True)
class Erased:
    """What an erasure removed."""

    profile: bool
    identities: int
    conversation: bool
    message_ids: int
    reminders: int


def erase_resident(*, db: Connection, resident_id: int) -> Erased:
    """Delete a resident with every identity and record that points to them."""
    # children first, so this holds on a database without ON DELETE CASCADE too
    identity_ids = select(ChannelIdentity.id).where(ChannelIdentity.resident_id == resident_id)
    messages = db.execute(
        delete(ProcessedMessage).where(ProcessedMessage.identity_id.in_(identity_ids))
    )
    reminders = db.execute(delete(Reminder).where(Reminder.resident_id == resident_id))
    # the audit of status checks keeps its figures, without the person
    db.execute(
        update(StatusCheck).where(StatusCheck.resident_id == resident_id).values(resident_id=None)
    )
    conversation = db.execute(delete(Conversation).where(Conversation.resident_id == resident_id))
    identities = db.execute(
        delete(ChannelIdentity).where(ChannelIdentity.resident_id == resident_id)
    )
    profile = db.execute(delete(Resident).where(Resident.id == resident_id))
    return Erased(
        profile=profile.rowcount > 0,
        identities=identities.rowcount,
        conversation=conversation.rowcount > 0,
        message_ids=messages.rowcount,
        reminders=reminders.rowcount,
    )
