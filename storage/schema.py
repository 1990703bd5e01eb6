"""Every table, imported in one place so SQLModel.metadata is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from storage.conversations import Conversation, ProcessedMessage
from storage.places import Kelurahan, RukunWarga
from storage.residents import ChannelIdentity, Resident

metadata = SQLModel.metadata

__all__ = [
    "ChannelIdentity",
    "Conversation",
    "Kelurahan",
    "ProcessedMessage",
    "Resident",
    "RukunWarga",
    "metadata",
]
