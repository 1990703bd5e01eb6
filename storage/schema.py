"""Every table, imported in one place so SQLModel.metadata is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from storage.applications import Application, ApplicationEvent, ReferenceCounter
from storage.audit import AuditEntry
from storage.broadcasts import Broadcast
from storage.complaints import Complaint, ComplaintEvent, Digest
from storage.conversations import Conversation, ProcessedMessage
from storage.health import HealthBooking, HealthEvent, HealthSlot
from storage.inbox import InboxEntry
from storage.leases import Lease
from storage.misses import UnrecognisedMessage
from storage.outbox import Outbound
from storage.places import Kelurahan, RukunWarga
from storage.ratings import Rating
from storage.registry import Beneficiary, Program, StatusCheck
from storage.reminders import Reminder
from storage.residents import ChannelIdentity, Resident
from storage.rounds import ApplicationRound
from storage.schedules import Distribution, DistributionRw
from storage.send_rates import SendRate
from storage.staff import Partner, StaffMember
from storage.surveys import Survey, SurveyAnswer, SurveyResponse
from storage.training import Attendance, BatchSession, Course, CourseBatch, Enrolment
from storage.write_check import WriteCheck

metadata = SQLModel.metadata

__all__ = [
    "Application",
    "ApplicationEvent",
    "ApplicationRound",
    "Attendance",
    "AuditEntry",
    "BatchSession",
    "Beneficiary",
    "Broadcast",
    "ChannelIdentity",
    "Complaint",
    "ComplaintEvent",
    "Conversation",
    "Course",
    "CourseBatch",
    "Digest",
    "Distribution",
    "DistributionRw",
    "Enrolment",
    "HealthBooking",
    "HealthEvent",
    "HealthSlot",
    "InboxEntry",
    "Kelurahan",
    "Lease",
    "Outbound",
    "Partner",
    "ProcessedMessage",
    "Program",
    "Rating",
    "ReferenceCounter",
    "Reminder",
    "Resident",
    "RukunWarga",
    "SendRate",
    "StaffMember",
    "StatusCheck",
    "Survey",
    "SurveyAnswer",
    "SurveyResponse",
    "UnrecognisedMessage",
    "WriteCheck",
    "metadata",
]
