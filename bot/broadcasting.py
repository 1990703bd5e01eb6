"""The clock's part in broadcasts: tell the sender how a broadcast goes (at a quarter, half and
three quarters, and a final report when nothing of it waits any more), and queue a copy of each
recurring broadcast when its time comes. Runs in the clock's beat, one transaction a broadcast."""

import logging
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine as Database
from sqlalchemy import select

from handlers.broadcast_reports import progress_text, report_text
from storage import audit, broadcasts, outbox, residents, staff, surveys
from storage.broadcasts import Broadcast, Segment
from storage.outbox import OutboundKind
from storage.residents import ChannelIdentity

log = logging.getLogger(__name__)

STEPS = (25, 50, 75)  # progress reported at these percentages of the messages done


def tick(database: Database, *, now: datetime, time_zone: str) -> int:
    """Queue the recurring broadcasts due and report on those going out, each in its own
    transaction (one that fails is logged and does not hold up the others); return how many
    messages were queued (copies and reports)."""
    queued = 0
    with database.connect() as db:
        due = [plan.id for plan in broadcasts.plans_due(db=db, now=now)]
    for plan_id in due:
        try:
            with database.begin() as db:
                queued += queue_copy(db, plan_id, now=now, time_zone=time_zone)
        except Exception:
            log.exception("recurring broadcast %d could not be queued", plan_id)
    with database.connect() as db:
        going = broadcasts.in_progress(db=db)
    for item in going:
        try:
            with database.begin() as db:
                queued += follow(db, item, now=now)
        except Exception:
            log.exception("broadcast %d could not be reported on", item.id)
    return queued


def valid_cron(cron: str, time_zone: str) -> bool:
    """Tell whether a crontab (minute hour day month weekday) can be read."""
    try:
        CronTrigger.from_crontab(cron, timezone=time_zone)
    except ValueError:
        return False
    return True


def next_fire(cron: str, time_zone: str, after: datetime) -> datetime | None:
    """Return a crontab's first time strictly after `after`."""
    trigger = CronTrigger.from_crontab(cron, timezone=time_zone)
    return trigger.get_next_fire_time(None, after + timedelta(seconds=1))


def queue_copy(db, plan_id: int, *, now: datetime, time_zone: str) -> int:
    """Queue this time's copy of a recurring broadcast and move the plan to its next time;
    a plan whose creator may no longer send announcements stops instead."""
    plan = broadcasts.due_plan(db=db, plan_id=plan_id, now=now)
    if plan is None:  # another clock took it meanwhile
        return 0
    creator = staff.find(db=db, login=plan.created_by)
    if creator is None or not creator.broadcasts:
        broadcasts.stop_plan(db=db, plan_id=plan.id)
        log.info("recurring broadcast %d stopped: its sender may no longer broadcast", plan.id)
        return 0
    report_to = staff.chat_of(db=db, login=creator.login)
    broadcast_id, count, _skipped = broadcasts.queue(
        db=db,
        segment=Segment.from_dict(plan.segment),
        text=plan.text,
        created_by=plan.created_by,
        now=now,
        kelurahan_limit=creator.kelurahan_code,  # as the sender is limited now
        report_to=report_to,
        plan_id=plan.id,
    )
    audit.record(
        db=db,
        actor=creator.login,
        role=creator.role,
        action="broadcast.repeat",
        target=f"siaran #{broadcast_id}",
        details={"plan": plan.id, "recipients": count},
        at=now,
    )
    upcoming = next_fire(plan.cron or "", time_zone, max(now, plan.send_at))
    if upcoming is None:
        broadcasts.stop_plan(db=db, plan_id=plan.id)
    else:
        broadcasts.next_time(db=db, plan_id=plan.id, at=upcoming)
    log.info("recurring broadcast %d: copy %d for %d residents", plan.id, broadcast_id, count)
    return count


def reporter(db, item: Broadcast) -> int | None:
    """Return the resident record of the sender's chat, if the broadcast has one."""
    if not item.report_channel:
        return None
    return db.execute(
        select(ChannelIdentity.resident_id).where(
            ChannelIdentity.channel == item.report_channel,
            ChannelIdentity.external_id == item.report_external_id,
        )
    ).scalar()


def follow(db, item: Broadcast, *, now: datetime) -> int:
    """Report a broadcast's progress or its end to its sender; return messages queued."""
    found = broadcasts.report(db=db, broadcast_id=item.id)
    if found is None or item.send_at > now:
        return 0
    sender = reporter(db, item)
    language = (residents.language_of(db=db, resident_id=sender) if sender else None) or "id"
    invited_to = surveys.of_broadcast(db=db, broadcast_id=item.id)
    survey = invited_to.title(language) if invited_to else None
    if found.finished:
        if not broadcasts.mark_done(db=db, broadcast_id=item.id, now=now):
            return 0
        if sender is None:
            return 0
        text = report_text(found, language, survey)
        queued = outbox.enqueue(
            db=db, resident_id=sender, kind=OutboundKind.STATUS, text=text, now=now
        )
        return int(queued is not None)
    done = found.recipients - found.waiting
    percent = 100 * done // found.recipients if found.recipients else 100
    step = max((step for step in STEPS if percent >= step), default=0)
    if step <= item.reported_percent or sender is None:
        return 0
    if not broadcasts.mark_progress(db=db, broadcast_id=item.id, percent=step):
        return 0  # told already (another clock)
    queued = outbox.enqueue(
        db=db,
        resident_id=sender,
        kind=OutboundKind.STATUS,
        text=progress_text(found, language, survey),
        now=now,
    )
    return int(queued is not None)
