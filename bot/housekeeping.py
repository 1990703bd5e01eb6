"""Periodic clean-up: old message ids, abandoned conversations, residents long gone, audit
rows of status checks and messages the bot did not understand past the retention, the rows of
direct replies that are done with, the health check's rows of processes long stopped."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine as Database

from handlers.notices import queue_promotion
from handlers.positions import HOME
from handlers.steps import EXPIRED
from storage import conversations, outbox, registry, write_check
from storage.erasure import erase_resident
from storage.misses import prune_misses

log = logging.getLogger(__name__)

# Telegram redelivers for a day at most, WhatsApp's webhook retries for up to 7 days
KEEP_MESSAGE_IDS = timedelta(days=14)
# who made a status check matters for the daily limit only (a day, and a margin)
KEEP_CHECK_ACTORS = timedelta(days=2)
# a direct reply's row is there to get it out: once out, given up or expired, it goes (what
# the bot answered a resident is theirs, not a record to keep)
KEEP_REPLIES = timedelta(days=2)
# a process checks every few seconds while it runs: a row a day old is of one that stopped
KEEP_WRITE_CHECKS = timedelta(days=1)


@dataclass(frozen=True)
class Swept:
    """What one round of housekeeping removed."""

    message_ids: int
    conversations: int
    residents: int
    status_checks: int = 0
    misses: int = 0
    replies: int = 0
    write_checks: int = 0


def sweep(
    database: Database,
    *,
    now: datetime,
    idle_timeout: timedelta,
    retention: timedelta,
    time_zone: str = "Asia/Jakarta",
) -> Swept:
    """Forget old message ids, end abandoned conversations, erase residents silent too long,
    delete misses past the retention, the rows of replies done with and the write checks of
    processes long stopped."""
    with database.begin() as db:
        message_ids = conversations.prune_processed(db=db, older_than=now - KEEP_MESSAGE_IDS)
        # half-finished answers (a name typed and left) must not wait for the next message
        ended = conversations.expire_idle(
            db=db,
            before=now - idle_timeout,
            home_flow=HOME.flow,
            home_step=HOME.step,
            data={EXPIRED: True},
        )
        gone = conversations.silent_since(db=db, before=now - retention)
        for resident_id in gone:
            erased = erase_resident(db=db, resident_id=resident_id, now=now)
            for promoted, batch in erased.promoted:
                queue_promotion(
                    db=db, resident_id=promoted, batch=batch, now=now, time_zone=time_zone
                )
        checks = registry.prune_checks(
            db=db, older_than=now - retention, actors_before=now - KEEP_CHECK_ACTORS
        )
        # what the bot did not understand is kept as long as residents' data, no longer
        misses = prune_misses(db=db, older_than=now - retention)
        replies = outbox.prune_replies(db=db, older_than=now - KEEP_REPLIES)
        stopped = write_check.prune(db=db, older_than=now - KEEP_WRITE_CHECKS)
    swept = Swept(message_ids, ended, len(gone), checks, misses, replies, stopped)
    if any((message_ids, ended, gone, checks, misses, replies, stopped)):
        log.info("housekeeping: %s", swept)
    return swept
