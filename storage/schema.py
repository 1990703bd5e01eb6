"""Every table, imported in one place so SQLModel.metadata is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from storage.conversations import Conversation, ProcessedMessage
from storage.places import Kelurahan, RukunWarga
from storage.registry import Beneficiary, Program, StatusCheck
from storage.reminders import Reminder
from storage.residents import ChannelIdentity, Resident
from storage.schedules import Distribution, DistributionRw

metadata = SQLModel.metadata

__all__ = [
    "Beneficiary",
    "ChannelIdentity",
    "Conversation",
    "Distribution",
    "DistributionRw",
    "Kelurahan",
    "ProcessedMessage",
    "Program",
    "Reminder",
    "Resident",
    "RukunWarga",
    "StatusCheck",
    "metadata",
]
