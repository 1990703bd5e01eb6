"""The daily digest of complaints past their response time: one message to each active staff
chat account (admin or staff) listing the overdue ones of its kelurahan (all, for an account
not limited to one). It runs once a day: the day's row in `digests` is written first, in the
same transaction as the messages, so a second run that day (another process, a restart) fails
on its unique key and queues nothing."""

import logging
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select
from sqlalchemy import Engine as Database
from sqlalchemy.exc import IntegrityError

from handlers.complaint_staff import digest_text
from storage import complaints, gate, outbox, residents, staff
from storage.outbox import OutboundKind
from storage.residents import ChannelIdentity

log = logging.getLogger(__name__)

KIND = "complaints-overdue"  # the digest's name in `digests`
# not before the office day starts: staff messages are not held back by quiet hours
NOT_BEFORE = time(7, 0)


def digest(db: Database, now: datetime, time_zone: str) -> int:
    """Queue today's digest of overdue complaints to each staff chat, once a day from 07.00
    local time; return how many messages were queued (0 before 07.00, or when it already ran
    today). `db` is the database engine: the day's claim and the messages are one
    transaction."""
    local = now.astimezone(ZoneInfo(time_zone))
    if local.time() < NOT_BEFORE:  # a clock that calls at midnight waits for the morning
        return 0
    day = local.date()
    try:
        with db.begin() as connection:
            if complaints.digest_sent(db=connection, day=day, kind=KIND):
                return 0
            complaints.claim_digest(db=connection, day=day, kind=KIND, now=now)
            queued = queue_digests(connection, now=now, time_zone=time_zone)
    except IntegrityError:  # another process claimed the day meanwhile
        return 0
    log.info("complaint digest: %d messages", queued)
    return queued


def queue_digests(db: Connection, *, now: datetime, time_zone: str) -> int:
    """Queue a message per staff chat account with overdue complaints in its reach."""
    queued = 0
    for account in staff.listing(db=db):
        if not (account.active and account.channel and account.external_id):
            continue
        if account.role not in gate.rule_of("complaint.handle").roles:
            continue
        # a staff chat is also a resident record once it has written to the bot
        resident_id = db.execute(
            select(ChannelIdentity.resident_id).where(
                ChannelIdentity.channel == account.channel,
                ChannelIdentity.external_id == account.external_id,
            )
        ).scalar()
        if resident_id is None:
            continue
        late = complaints.overdue(db=db, now=now, kelurahan_code=account.kelurahan_code)
        if not late:
            continue
        language = residents.language_of(db=db, resident_id=resident_id) or "id"
        text = digest_text(late, language, time_zone)
        done = outbox.enqueue(
            db=db, resident_id=resident_id, kind=OutboundKind.STATUS, text=text, now=now
        )
        queued += done is not None
    return queued
