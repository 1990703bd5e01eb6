"""Erasure of a resident's personal data (UU PDP 27/2022: the right to erase)."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, delete, update
from sqlmodel import select

from storage import complaints, health, surveys, training
from storage.applications import Application, ApplicationEvent
from storage.conversations import Conversation, ProcessedMessage
from storage.outbox import Outbound
from storage.ratings import Rating
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
    # residents moved up from a waitlist into a seat the erased resident held, with the batch
    promoted: list[tuple[int, training.Batch]] = field(default_factory=list)


def erase_resident(*, db: Connection, resident_id: int, now: datetime) -> Erased:
    """Delete a resident with every identity and record that points to them. Seats and slots
    they held are freed first, and the next on a waitlist moves up (the caller tells them)."""
    promoted = []
    for item in training.of_resident(db=db, resident_id=resident_id, now=now):
        done = training.cancel(db=db, enrolment_id=item.id, resident_id=resident_id, now=now)
        if done is not None:
            promoted += [(moved, done.batch) for moved in done.promoted]
    for booking in health.of_resident(db=db, resident_id=resident_id, now=now):
        health.cancel(db=db, booking_id=booking.id, resident_id=resident_id, now=now)
    # children first, so this holds on a database without ON DELETE CASCADE too
    identity_ids = select(ChannelIdentity.id).where(ChannelIdentity.resident_id == resident_id)
    messages = db.execute(
        delete(ProcessedMessage).where(ProcessedMessage.identity_id.in_(identity_ids))
    )
    reminders = db.execute(delete(Reminder).where(Reminder.resident_id == resident_id))
    db.execute(delete(Outbound).where(Outbound.resident_id == resident_id))
    db.execute(delete(training.Enrolment).where(training.Enrolment.resident_id == resident_id))
    db.execute(delete(health.HealthBooking).where(health.HealthBooking.resident_id == resident_id))
    filed = select(Application.id).where(Application.resident_id == resident_id)
    db.execute(delete(ApplicationEvent).where(ApplicationEvent.application_id.in_(filed)))
    db.execute(delete(Application).where(Application.resident_id == resident_id))
    # ratings given keep their figures, without the person; ratings only asked for go
    db.execute(delete(Rating).where(Rating.resident_id == resident_id, Rating.score.is_(None)))
    # (a comment is free text that may name them: it goes with them)
    db.execute(
        update(Rating)
        .where(Rating.resident_id == resident_id)
        .values(resident_id=None, comment=None)
    )
    # complaints stay for the figures, without the person and their photo (an anonymous one
    # stays anonymous); the ON DELETE SET NULL of resident_id does the same where it exists
    complaints.erase(db=db, resident_id=resident_id)
    # survey answers likewise, without their text answers
    surveys.erase(db=db, resident_id=resident_id)
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
        promoted=promoted,
    )
