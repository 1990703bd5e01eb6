"""Recurring siaran in chat: after the preview, "Repeat regularly" asks how often (every day,
week or month) and the first time; the clock then queues a copy at each time
(bot/broadcasting.py), checking the sender's role anew each time. "Stop a recurring siaran",
offered when `siaran` starts while some run, lists them to stop one.

    preview ─▶ (repeat regularly) often ─▶ first ─▶ planned
    kind ─▶ (stop a recurring siaran) stop ─▶ stopped

As in the rest of the siaran, every step asks storage.staff anew whether the chat may still
send announcements; a kelurahan-limited account plans and stops only its kelurahan's.
"""

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from handlers.broadcast import (
    GATE,
    LISTED,
    cancelled,
    guarded,
    member_of,
    segment_of,
    segment_text,
    typed_moment,
)
from handlers.buttons import ID, ascii_number, button
from handlers.formatting import babel_locale
from handlers.messages import Incoming, Option, Reply
from handlers.positions import HOME, BroadcastPlanStep, FlowName, broadcast_plan
from handlers.steps import Context, Expect, Flow, Outcome, options_of
from storage import broadcasts as stored
from storage.broadcasts import Broadcast, Segment
from storage.staff import Member

STOP = button("bp:stop", plan=ID)  # a recurring siaran to stop

DAILY, WEEKLY, MONTHLY = "day", "week", "month"
LAST_MONTHLY_DAY = 28  # every month has it
CRON_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # crontab names, Monday first
SHOWN_TEXT = 60  # characters of a plan's message shown in the list to stop


def running(ctx: Context, member: Member) -> list[Broadcast]:
    """Return the recurring siaran the account may stop: its kelurahan's, if limited."""
    return stored.running_plans(db=ctx.db, kelurahan_limit=member.kelurahan_code)


# -- how often -----------------------------------------------------------------------------------


def often_options(ctx: Context) -> tuple[Option, ...]:
    """Return every day, week and month, and cancel."""
    _ = ctx.gettext
    token = ctx.data.get("token", "")
    return options_of(
        (f"bp:{token}:{DAILY}", _("Every day"), "harian|daily"),
        (f"bp:{token}:{WEEKLY}", _("Every week"), "mingguan|weekly"),
        (f"bp:{token}:{MONTHLY}", _("Every month"), "bulanan|monthly"),
        (f"bp:{token}:cancel", _("Cancel"), "batal|cancel"),
    )


def ask_often(ctx: Context) -> Reply:
    """Asks how often the announcement should go out."""
    _ = ctx.gettext
    return Reply(_("How often should this announcement go out?"), often_options(ctx))


def take_often(ctx: Context, msg: Incoming, member: Member) -> Outcome:
    """Keeps how often, and asks for the first time."""
    often = (msg.option or "").rpartition(":")[2]
    if often == "cancel":
        return cancelled(ctx)
    ctx.data["often"] = often
    return Outcome(goto=broadcast_plan(BroadcastPlanStep.FIRST))


# -- the first time ------------------------------------------------------------------------------


def ask_first(ctx: Context) -> Reply:
    """Asks when the first one goes out; the others follow at the same time."""
    _ = ctx.gettext
    text = _(
        "When should the first one go out? Write the date and time (WIB), for example "
        "“besok 08.00”, “1/12 08.00” or “2026-12-01 08:00”. The next ones go out at the same "
        "time."
    )
    return Reply(text)


def take_first(ctx: Context, msg: Incoming, member: Member) -> Outcome:
    """Plans the recurring announcement from its first time."""
    _ = ctx.gettext
    moment = typed_moment(ctx, msg.text)
    if isinstance(moment, Outcome):
        return moment
    local = moment.astimezone(ZoneInfo(ctx.config.time_zone))
    often = ctx.data.get("often", WEEKLY)
    if often == MONTHLY and local.day > LAST_MONTHLY_DAY:
        text = _(
            "Not every month has a day {day}. For a monthly announcement please choose a day "
            "from 1 to 28."
        ).format(day=local.day)
        return Outcome([Reply(text)], ask=False)
    cron = cron_of(often, local)
    segment = segment_of(ctx)
    plan_id = stored.plan(
        db=ctx.db,
        segment=segment,
        text=ctx.data["text"],
        cron=cron,
        next_at=moment,
        created_by=member.login,
        now=ctx.now,
        kelurahan_limit=member.kelurahan_code,
        report_to=(ctx.identity.channel, ctx.identity.external_id),
    )
    GATE.permit(ctx, member).record(
        ctx.db,
        action="broadcast.plan",
        target=f"siaran #{plan_id}",
        details={"segment": segment.as_dict(), "every": cron, "from": "chat"},
    )
    text = _(
        "Recurring siaran #{id} to {whom}: {schedule}, the first on {moment}. To stop it, "
        "type “siaran” and choose “Stop a recurring siaran”."
    ).format(
        id=plan_id,
        whom=segment_text(ctx, segment, member),
        schedule=schedule_text(ctx, cron),
        moment=ctx.moment(moment),
    )
    return Outcome([Reply(text)], goto=HOME, data={})


def cron_of(often: str, local: datetime) -> str:
    """Return the crontab (minute hour day month weekday) of a recurring time."""
    if often == DAILY:
        return f"{local.minute} {local.hour} * * *"
    if often == MONTHLY:
        return f"{local.minute} {local.hour} {local.day} * *"
    return f"{local.minute} {local.hour} * * {CRON_WEEKDAYS[local.weekday()]}"


def schedule_text(ctx: Context, cron: str) -> str:
    """Say when a recurring siaran goes out: 'every Monday at 08.00'; a crontab of the command
    line that is none of day, week or month is shown as it is."""
    _ = ctx.gettext
    fields = cron.split()
    if len(fields) != 5:
        return cron
    minute, hour, day, month, weekday = fields
    if ascii_number(minute, 0, 59) is None or ascii_number(hour, 0, 23) is None:
        return cron
    locale = babel_locale(ctx.language)
    # as handlers.formatting.format_moment writes times, so both read the same in one line
    at = format_time(datetime(2026, 1, 1, int(hour), int(minute)), "short", locale=locale)
    if (day, month, weekday) == ("*", "*", "*"):
        return _("every day at {time}").format(time=at)
    if day == "*" and month == "*" and weekday in CRON_WEEKDAYS:
        # 5 January 2026 was a Monday
        named = datetime(2026, 1, 5 + CRON_WEEKDAYS.index(weekday))
        name = format_date(named, "EEEE", locale=locale)
        return _("every {weekday} at {time}").format(weekday=name, time=at)
    if ascii_number(day, 1, 31) is not None and month == "*" and weekday == "*":
        return _("on day {day} of every month at {time}").format(day=day, time=at)
    return cron


# -- stopping ------------------------------------------------------------------------------------


def stop_options(ctx: Context, member: Member | None = None) -> tuple[Option, ...]:
    """Return a button per recurring siaran (the newest first), and cancel."""
    _ = ctx.gettext
    member = member or member_of(ctx)
    plans = running(ctx, member)[: LISTED - 1] if member else []
    choices = [(STOP.encode(plan=plan.id), f"#{plan.id}") for plan in plans]
    choices.append(("bp:stop:cancel", _("Cancel"), "batal|cancel"))
    return options_of(*choices)


def ask_stop(ctx: Context) -> Reply:
    """Lists the recurring siaran, to stop one."""
    _ = ctx.gettext
    member = member_of(ctx)
    every = running(ctx, member)
    plans = every[: LISTED - 1]
    if not plans:
        return Reply(_("No recurring siaran is running."), stop_options(ctx, member))
    lines = [_("Which recurring siaran should stop?")]
    for plan in plans:
        sender = replace(member, kelurahan_code=plan.kelurahan_limit)  # whom it reaches
        shown = plan.text if len(plan.text) <= SHOWN_TEXT else plan.text[:SHOWN_TEXT] + "…"
        lines.append(
            _("#{id}: {schedule}, to {whom}, next on {moment}: “{text}”").format(
                id=plan.id,
                schedule=schedule_text(ctx, plan.cron or ""),
                whom=segment_text(ctx, Segment.from_dict(plan.segment), sender),
                moment=ctx.moment(plan.send_at),
                text=shown,
            )
        )
    if len(every) > len(plans):
        more = len(every) - len(plans)
        lines.append(
            ctx.ngettext(
                "…and {count} older one: stop it with `python -m bot broadcast --stop ID`.",
                "…and {count} older ones: stop those with `python -m bot broadcast --stop ID`.",
                more,
            ).format(count=more)
        )
    text = "\n".join(lines)
    return Reply(text, stop_options(ctx, member))


def take_stop(ctx: Context, msg: Incoming, member: Member) -> Outcome:
    """Stops the chosen recurring siaran."""
    _ = ctx.gettext
    chosen = STOP.decode(msg.option)
    if chosen is None:  # "bp:stop:cancel"
        return cancelled(ctx)
    plan_id = int(chosen["plan"])
    mine = {plan.id for plan in running(ctx, member)}
    if plan_id not in mine or not stored.stop_plan(db=ctx.db, plan_id=plan_id):
        text = _("That recurring siaran is no longer running.")
        return Outcome([Reply(text)])
    GATE.permit(ctx, member).record(
        ctx.db,
        action="broadcast.stop",
        target=f"siaran #{plan_id}",
        details={"from": "chat"},
    )
    text = _("Recurring siaran #{id} is stopped; no more copies go out.").format(id=plan_id)
    return Outcome([Reply(text)], goto=HOME, data={})


BROADCAST_PLAN = Flow(
    FlowName.BROADCAST_PLAN,
    {
        BroadcastPlanStep.OFTEN: guarded(ask_often, take_often, often_options),
        BroadcastPlanStep.FIRST: guarded(ask_first, take_first, expects=Expect.TEXT),
        BroadcastPlanStep.STOP: guarded(ask_stop, take_stop, stop_options),
    },
)
