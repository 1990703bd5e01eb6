"""The reminders' clock: move reminders that fall due into the outbound queue, and queue the
feedback invitations after an event.

The misfire rule: a reminder whose time passed while the program was down is still sent when
it comes back, as long as its event has not started; once the event has started (or was called
off, or is gone) it expires unsent. The tick is one transaction: a reminder is queued, or
expired, together with its outbound row or not at all.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy import Engine as Database

from handlers import feedback
from handlers.reminders import Occasion, occasion, reminder_text
from storage import outbox, ratings, reminders, residents
from storage.outbox import OutboundKind
from storage.reminders import ReminderStatus, Subject

log = logging.getLogger(__name__)

DUE_PER_TICK = 1000  # reminders handled in one tick; the rest wait for the next, 30 s later
# a feedback invitation goes this long after the event ended (the default; tick takes another)
FOLLOW_UP_AFTER = timedelta(hours=3)
# events that ended longer ago than this before their invitation time get none: attendance
# marked a day or two late still counts, a first start on an old database invites nobody
FOLLOW_UP_WINDOW = timedelta(days=3)


def tick(
    database: Database,
    *,
    now: datetime,
    time_zone: str,
    follow_up_after: timedelta = FOLLOW_UP_AFTER,
) -> int:
    """Queue the reminders due by `now` and the feedback invitations due; return how many
    messages were queued."""
    with database.begin() as db:
        queued, expired = queue_due(db, now=now, time_zone=time_zone)
        invited = invite(db, now=now, time_zone=time_zone, after=follow_up_after)
    if queued or expired or invited:
        log.info(
            "reminders: %d queued, %d expired; %d feedback invitations", queued, expired, invited
        )
    return queued + invited


def queue_due(db: Connection, *, now: datetime, time_zone: str) -> tuple[int, int]:
    """Queue the due reminders whose event has not started, expire the rest; return how many
    messages were queued and how many reminders expired. Several reminders of one resident and
    event due together (the program was down) go as one message."""
    due = reminders.due(db=db, now=now, limit=DUE_PER_TICK)
    starts: dict[str, dict[int, datetime]] = {}
    for subject in Subject:
        ids = sorted({item.subject_id for item in due if item.subject == subject})
        starts[subject] = reminders.live_starts(db=db, subject=subject, ids=ids)
    groups: dict[tuple[int, str, int], list[int]] = {}
    for item in due:
        groups.setdefault((item.resident_id, item.subject, item.subject_id), []).append(item.id)
    events: dict[tuple[str, int], Occasion | None] = {}
    queued, expired, dropped = [], [], []
    messages = 0
    for (resident_id, subject, subject_id), ids in groups.items():
        start = starts.get(subject, {}).get(subject_id)
        if start is None or start <= now:  # begun, called off or gone: never sent
            expired += ids
            continue
        # cancelling an enrolment or booking cancels its reminders; this guards any other path
        if not reminders.holds(
            db=db, subject=subject, subject_id=subject_id, resident_id=resident_id
        ):
            dropped += ids
            continue
        if (subject, subject_id) not in events:
            events[subject, subject_id] = occasion(db, subject, subject_id)
        event = events[subject, subject_id]
        if event is None:
            expired += ids
            continue
        language = residents.language_of(db=db, resident_id=resident_id) or "id"
        sent = outbox.enqueue(
            db=db,
            resident_id=resident_id,
            kind=OutboundKind.REMINDER,
            text=reminder_text(event, language, time_zone),
            now=now,
            expires_at=start,  # held up past the event's start (a crash, a long 429): never
            about=(subject, subject_id),  # withdrawn if the enrolment or booking is cancelled
        )
        if sent is None:  # nobody to reach (every chat blocked the bot): spent, never sent
            expired += ids
            continue
        queued += ids
        messages += 1
    reminders.mark(db=db, reminder_ids=queued, status=ReminderStatus.QUEUED)
    reminders.mark(db=db, reminder_ids=expired, status=ReminderStatus.EXPIRED)
    reminders.mark(db=db, reminder_ids=dropped, status=ReminderStatus.CANCELLED)
    return messages, len(expired)


def invite(db: Connection, *, now: datetime, time_zone: str, after: timedelta) -> int:
    """Queue a feedback invitation to everyone who took part in an event that ended `after`
    ago (and not longer than the window before that); return how many were queued."""
    found = ratings.to_invite(
        db=db, ended_after=now - after - FOLLOW_UP_WINDOW, ended_by=now - after
    )
    return sum(
        feedback.queue_invitation(db=db, invitee=invitee, now=now, time_zone=time_zone)
        for invitee in found
    )
