"""The limit on bansos status checks of all residents together, per hour and per 24 hours.

One account is held by the per-resident limit; this one holds many accounts at once (someone
trying NIKs with many new chat accounts). It counts the status-check audit in the database, so
every process sees the same figure. When it is reached the resident is refused kindly, and the
admins are told in chat once per tripped window: the window's row in `digests` is claimed first,
so a second process that trips the same window queues nothing.
"""

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from handlers.i18n import translations
from handlers.messages import Reply
from handlers.positions import HOME
from handlers.steps import Context, Outcome
from storage import complaints, outbox, registry, residents, staff
from storage.outbox import OutboundKind

HOUR = timedelta(hours=1)
DAY = timedelta(hours=24)


class Window(StrEnum):
    """Which limit of all residents was reached."""

    HOUR = "hour"
    DAY = "day"


def tripped(ctx: Context) -> Window | None:
    """Return the window whose limit all residents' checks have reached, or None."""
    config, now = ctx.config, ctx.now
    hour, day = registry.count_checks(db=ctx.db, hour_since=now - HOUR, day_since=now - DAY)
    if hour >= config.status_checks_per_hour_all:
        return Window.HOUR
    if day >= config.status_checks_per_day_all:
        return Window.DAY
    return None


def alert_key(window: Window, now: datetime) -> str:
    """Return the name of a tripped window in `digests` (with the UTC day): one per clock hour,
    or one per day."""
    if window == Window.HOUR:
        return f"bansos-limit-h{now.hour:02d}"
    return "bansos-limit-day"


def alert_text(window: Window, limit: int, language: str) -> str:
    """Return the alert for admins: which limit, and what it may mean. No resident in it."""
    _ = translations(language).gettext
    if window == Window.HOUR:
        head = _(
            "Bansos status checks by all residents reached {limit} in the last hour "
            "(STATUS_CHECKS_PER_HOUR_ALL). Further checks are refused for now."
        )
    else:
        head = _(
            "Bansos status checks by all residents reached {limit} in the last 24 hours "
            "(STATUS_CHECKS_PER_DAY_ALL). Further checks are refused for now."
        )
    body = _(
        "This may be someone trying NIKs from many chat accounts. Residents are asked to try "
        "again later or to ask at the kelurahan office."
    )
    return f"{head.format(limit=limit)}\n{body}"


def alert_admins(ctx: Context, window: Window) -> int:
    """Queue the alert to every admin chat, once per tripped window; return how many."""
    utc = ctx.now.astimezone(UTC)
    if not complaints.claim_once(
        db=ctx.db, day=utc.date(), kind=alert_key(window, utc), now=ctx.now
    ):
        return 0
    limit = (
        ctx.config.status_checks_per_hour_all
        if window == Window.HOUR
        else ctx.config.status_checks_per_day_all
    )
    queued = 0
    for resident_id in staff.admin_chats(db=ctx.db):
        language = residents.language_of(db=ctx.db, resident_id=resident_id)
        text = alert_text(window, limit, language or ctx.config.default_language)
        done = outbox.enqueue(
            db=ctx.db, resident_id=resident_id, kind=OutboundKind.STATUS, text=text, now=ctx.now
        )
        queued += done is not None
    return queued


def refuse(ctx: Context, window: Window, actor_hash: str) -> Outcome:
    """Refuse a check while all residents' limit is reached, audit it, tell the admins once."""
    _ = ctx.gettext
    registry.record_check(
        db=ctx.db,
        resident_id=ctx.resident.id,
        channel=ctx.identity.channel,
        actor_hash=actor_hash,
        outcome=registry.CheckOutcome.LIMITED_ALL,
        now=ctx.now,
    )
    alert_admins(ctx, window)
    text = _(
        "Many residents are checking their bansos status right now, so we cannot check yours "
        "at the moment. Please try again later, or ask at your kelurahan office."
    )
    return Outcome([Reply(text)], goto=HOME)
