"""Siaran: staff send an announcement to a segment of residents, now or at a set time (the
progress and final reports the clock sends them are in handlers/broadcast_reports.py).

    kind ─▶ choose / code / rw ─▶ message ─▶ preview ─▶ (when) ─▶ (repeat?) ─▶ queued
    (preview "Repeat regularly" and kind "Stop a recurring siaran": handlers/broadcast_plans.py)

Every step asks storage.staff anew whether the chat still belongs to someone who may send
announcements; one who lost that right is sent to the menu and nothing is queued.
"""

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from handlers.formatting import format_count as number
from handlers.i18n import N_
from handlers.messages import Incoming, Option, Reply
from handlers.moments import parse_moment
from handlers.places_typed import rw_number
from handlers.positions import (
    HOME,
    BroadcastPlanStep,
    BroadcastStep,
    FlowName,
    broadcast,
    broadcast_plan,
)
from handlers.staff_steps import StaffGate
from handlers.steps import Context, Expect, Flow, Outcome, Step, no_options, options_of
from handlers.text import normalise
from storage import broadcasts as stored
from storage import places, registry, training
from storage.broadcasts import Segment, SegmentKind
from storage.staff import Member
from storage.training import Course

MAX_LENGTH = 1000  # characters of an announcement
LISTED = 10  # options a WhatsApp list holds
AHEAD = timedelta(days=365)  # the latest time an announcement may be scheduled for
KIND_LABELS = {
    SegmentKind.EVERYONE: N_("Everyone"),
    SegmentKind.KELURAHAN: N_("One kelurahan"),
    SegmentKind.RW: N_("One RW"),
    SegmentKind.PROGRAM: N_("Program recipients"),
    SegmentKind.COURSE: N_("Course participants"),
    SegmentKind.BATCH: N_("Batch participants"),
    SegmentKind.LANGUAGE: N_("By language"),
    SegmentKind.CHANNEL: N_("By chat app"),
}
KIND_WORDS = {
    SegmentKind.EVERYONE: "semua|semua warga|all|everyone",
    SegmentKind.KELURAHAN: "kelurahan",
    SegmentKind.RW: "rw",
    SegmentKind.PROGRAM: "program|bansos",
    SegmentKind.COURSE: "kursus|course",
    SegmentKind.BATCH: "angkatan|batch",
    SegmentKind.LANGUAGE: "bahasa|language",
    SegmentKind.CHANNEL: "aplikasi|channel|app",
}
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}
CHANNEL_NAMES = {"telegram": "Telegram", "whatsapp": "WhatsApp"}


# -- who may -------------------------------------------------------------------------------------


def gone_text(ctx: Context) -> str:
    """Say that this chat may no longer send announcements."""
    _ = ctx.gettext
    return _("This account can no longer send announcements. Nothing was sent.")


GATE = StaffGate("broadcast.send", gone_text)
member_of = GATE.member_of
may_broadcast = GATE.may


def open_broadcast(ctx: Context) -> Outcome:
    """Starts a new announcement (the `siaran` keyword, for staff only)."""
    return Outcome(goto=broadcast(BroadcastStep.KIND), data={})


# -- segments ------------------------------------------------------------------------------------


def allowed_kelurahan(ctx: Context, member: Member) -> list[places.Place]:
    """Return the kelurahan the member may reach."""
    found = places.list_kelurahan(db=ctx.db)
    if member.kelurahan_code:
        return [place for place in found if place.code == member.kelurahan_code]
    return found


def kelurahan_name(ctx: Context, code: str) -> str:
    """Return a kelurahan's name, or its code when it is gone."""
    found = places.get_kelurahan(db=ctx.db, code=code)
    return found.name if found else code


def segment_text(ctx: Context, segment: Segment, member: Member) -> str:
    """Name whom a segment reaches: 'residents of RW 005, Kelurahan Klender'."""
    _ = ctx.gettext
    kind, value = segment.kind, segment.value
    if kind == SegmentKind.EVERYONE:
        if member.kelurahan_code:
            name = kelurahan_name(ctx, member.kelurahan_code)
            return _("all residents of Kelurahan {name}").format(name=name)
        return _("all residents of Kecamatan Duren Sawit")
    if kind == SegmentKind.KELURAHAN:
        return _("residents of Kelurahan {name}").format(name=kelurahan_name(ctx, value))
    if kind == SegmentKind.RW:
        code, _sep, rw = value.partition(":")
        return _("residents of RW {rw}, Kelurahan {name}").format(
            rw=f"{int(rw or 0):03d}", name=kelurahan_name(ctx, code)
        )
    if kind == SegmentKind.PROGRAM:
        return _("recipients of {program} (as their bansos status check found)").format(
            program=value
        )
    if kind == SegmentKind.COURSE:
        return _("confirmed participants of the course {code}").format(code=value)
    if kind == SegmentKind.BATCH:
        return _("confirmed participants of the batch {code}").format(code=value)
    if kind == SegmentKind.LANGUAGE:
        return _("residents who use {language}").format(language=LANGUAGE_NAMES[value])
    return _("residents on {app}").format(app=CHANNEL_NAMES.get(value, value))


def limited_note(ctx: Context, member: Member) -> str:
    """Say that a member limited to a kelurahan reaches only its residents."""
    if not member.kelurahan_code:
        return ""
    _ = ctx.gettext
    name = kelurahan_name(ctx, member.kelurahan_code)
    return _("You can reach residents of Kelurahan {name} only.").format(name=name)


# -- kind ----------------------------------------------------------------------------------------


def kind_options(ctx: Context) -> tuple[Option, ...]:
    """Return the kinds of segment, and cancel."""
    _ = ctx.gettext
    choices = [
        (f"bc:kind:{kind}", _(label), KIND_WORDS[kind]) for kind, label in KIND_LABELS.items()
    ]
    member = member_of(ctx)
    if member is not None and stored.running_plans(
        db=ctx.db, kelurahan_limit=member.kelurahan_code
    ):
        choices.append(("bc:plans", _("Stop a recurring siaran"), "hentikan|berkala"))
    choices.append(("bc:cancel", _("Cancel"), "batal|cancel"))
    return options_of(*choices)


def ask_kind(ctx: Context) -> Reply:
    """Asks whom the announcement is for."""
    _ = ctx.gettext
    lines = [_("New announcement (siaran). Who should receive it?")]
    note = limited_note(ctx, member_of(ctx))
    if note:
        lines.append(note)
    text = "\n".join(lines)
    return Reply(text, kind_options(ctx))


def take_kind(ctx: Context, msg: Incoming, member: Member) -> Outcome:
    """Keeps the kind of segment and asks for its value (if it has one)."""
    key = msg.option or ""
    if key == "bc:cancel":
        return cancelled(ctx)
    if key == "bc:plans":  # handlers/broadcast_plans.py
        return Outcome(goto=broadcast_plan(BroadcastPlanStep.STOP), data={})
    kind = SegmentKind(key.removeprefix("bc:kind:"))
    data = {"kind": kind.value}
    if kind == SegmentKind.EVERYONE:
        return Outcome(goto=broadcast(BroadcastStep.MESSAGE), data={**data, "value": ""})
    limit = member.kelurahan_code
    if kind == SegmentKind.KELURAHAN and limit:  # only one to choose: theirs
        return Outcome(goto=broadcast(BroadcastStep.MESSAGE), data={**data, "value": limit})
    if kind == SegmentKind.RW and limit:
        return Outcome(goto=broadcast(BroadcastStep.RW), data={**data, "kelurahan": limit})
    if kind in (SegmentKind.COURSE, SegmentKind.BATCH):
        return Outcome(goto=broadcast(BroadcastStep.CODE), data=data)
    return Outcome(goto=broadcast(BroadcastStep.CHOOSE), data=data)


# -- choose: kelurahan (also of an RW), program, language, chat app --------------------------


def choose_options(ctx: Context, member: Member | None = None) -> tuple[Option, ...]:
    """Return the values of the kind of segment being chosen."""
    member = member or member_of(ctx)
    kind = ctx.data.get("kind")
    if kind in (SegmentKind.KELURAHAN, SegmentKind.RW):
        found = allowed_kelurahan(ctx, member)
        return options_of(*((f"bc:val:{place.code}", place.name) for place in found))
    if kind == SegmentKind.PROGRAM:
        found = registry.programs(db=ctx.db)[:LISTED]
        return options_of(
            *(
                (f"bc:val:{item.code}", item.name, f"{normalise(item.code)}", item.code)
                for item in found
            )
        )
    if kind == SegmentKind.LANGUAGE:
        return options_of(*((f"bc:val:{code}", name) for code, name in LANGUAGE_NAMES.items()))
    return options_of(*((f"bc:val:{code}", name) for code, name in CHANNEL_NAMES.items()))


def ask_choose(ctx: Context) -> Reply:
    """Asks which kelurahan, program, language or chat app."""
    _ = ctx.gettext
    kind = ctx.data.get("kind")
    if kind == SegmentKind.KELURAHAN:
        text = _("Residents of which kelurahan?")
    elif kind == SegmentKind.RW:
        text = _("The RW is in which kelurahan?")
    elif kind == SegmentKind.PROGRAM:
        text = _(
            "Recipients of which program? It reaches residents whose bansos status check "
            "found that program."
        )
    elif kind == SegmentKind.LANGUAGE:
        text = _("Residents who use which language?")
    else:
        text = _("Residents on which chat app?")
    return Reply(text, choose_options(ctx))


def take_choose(ctx: Context, msg: Incoming, member: Member) -> Outcome:
    """Keeps the value (for an RW: its kelurahan, then asks the number)."""
    value = (msg.option or "").removeprefix("bc:val:")
    if value not in {option.key.removeprefix("bc:val:") for option in choose_options(ctx, member)}:
        return Outcome()  # a kelurahan outside the member's: ask again
    kind = ctx.data.get("kind")
    if kind == SegmentKind.RW:
        return Outcome(goto=broadcast(BroadcastStep.RW), data={"kind": kind, "kelurahan": value})
    return Outcome(goto=broadcast(BroadcastStep.MESSAGE), data={"kind": kind, "value": value})


# -- code: a course or a batch -------------------------------------------------------------------


def code_options(ctx: Context) -> tuple[Option, ...]:
    """Return courses or batches with a batch still open, to choose instead of typing."""
    batches = training.open_batches(db=ctx.db, now=ctx.now)
    if ctx.data.get("kind") == SegmentKind.COURSE:
        courses = {batch.course_code: batch.course_title(ctx.language) for batch in batches}
        listed = list(courses.items())[:LISTED]
        return options_of(
            *((f"bc:code:{code}", title, normalise(code), code) for code, title in listed)
        )
    return options_of(
        *(
            (f"bc:code:{batch.code}", batch.code, normalise(batch.code))
            for batch in batches[:LISTED]
        )
    )


def ask_code(ctx: Context) -> Reply:
    """Asks which course or batch."""
    _ = ctx.gettext
    options = code_options(ctx)
    if ctx.data.get("kind") == SegmentKind.COURSE:
        if options:
            text = _(
                "Participants of which course? Choose one with a batch still open, or type the "
                "course code (for example MJH-DASAR)."
            )
        else:
            text = _("Participants of which course? Type the course code (for example MJH-DASAR).")
    elif options:
        text = _(
            "Participants of which batch? Choose an open batch, or type its code (for example "
            "MJH-2026-12A)."
        )
    else:
        text = _("Participants of which batch? Type its code (for example MJH-2026-12A).")
    return Reply(text, options)


def known_code(ctx: Context, kind: str, code: str) -> bool:
    """Tell whether a course or batch with this code exists."""
    if kind == SegmentKind.BATCH:
        return training.get_batch(db=ctx.db, code=code) is not None
    courses = Course.__table__
    found = ctx.db.execute(select(courses.c.id).where(courses.c.code == code)).first()
    return found is not None


def take_code(ctx: Context, msg: Incoming, member: Member) -> Outcome:
    """Keeps the course or batch code and asks for the message."""
    _ = ctx.gettext
    kind = ctx.data.get("kind", "")
    code = (msg.option or "").removeprefix("bc:code:") if msg.option else msg.text.strip()
    code = code.upper()
    if not code or len(code) > 40 or not known_code(ctx, kind, code):
        if kind == SegmentKind.COURSE:
            text = _("There is no course with the code {code}. Please check it.")
        else:
            text = _("There is no batch with the code {code}. Please check it.")
        return Outcome([Reply(text.format(code=code[:40]))])
    return Outcome(goto=broadcast(BroadcastStep.MESSAGE), data={"kind": kind, "value": code})


# -- rw ------------------------------------------------------------------------------------------


def ask_rw(ctx: Context) -> Reply:
    """Asks for the RW number."""
    _ = ctx.gettext
    code = ctx.data.get("kelurahan", "")
    numbers = places.rw_numbers(db=ctx.db, kelurahan_code=code) or [1]
    text = _("Which RW of Kelurahan {name}? Type a number from {first} to {last}.").format(
        name=kelurahan_name(ctx, code), first=f"{numbers[0]:03d}", last=f"{numbers[-1]:03d}"
    )
    return Reply(text)


def take_rw(ctx: Context, msg: Incoming, member: Member) -> Outcome:
    """Keeps the RW and asks for the message."""
    code = ctx.data.get("kelurahan", "")
    if member.kelurahan_code and code != member.kelurahan_code:
        return Outcome(goto=broadcast(BroadcastStep.KIND), data={})
    numbers = places.rw_numbers(db=ctx.db, kelurahan_code=code)
    rw = rw_number(msg.text)
    if rw is None or rw not in numbers:
        return Outcome([ask_rw(ctx)], ask=False)
    value = f"{code}:{rw}"
    return Outcome(goto=broadcast(BroadcastStep.MESSAGE), data={"kind": "rw", "value": value})


# -- message -------------------------------------------------------------------------------------


def segment_of(ctx: Context) -> Segment:
    """Return the segment chosen so far."""
    return Segment(SegmentKind(ctx.data["kind"]), ctx.data.get("value", ""))


def ask_message(ctx: Context) -> Reply:
    """Asks for the announcement's text."""
    _ = ctx.gettext
    whom = segment_text(ctx, segment_of(ctx), member_of(ctx))
    text = _(
        "To: {whom}.\nWrite the announcement as residents should read it (at most {limit} "
        "characters)."
    ).format(whom=whom, limit=MAX_LENGTH)
    return Reply(text)


def take_message(ctx: Context, msg: Incoming, member: Member) -> Outcome:
    """Keeps the text and shows the preview."""
    _ = ctx.gettext
    text = msg.text.strip()
    if len(text) > MAX_LENGTH:
        reply = _(
            "The message has {count} characters; at most {limit} fit. Please shorten it."
        ).format(count=number(len(text), ctx.language), limit=number(MAX_LENGTH, ctx.language))
        return Outcome([Reply(reply)], ask=False)
    # a new key for the preview's buttons, so that those of an older preview do nothing
    data = {**ctx.data, "text": text, "token": secrets.token_hex(4)}
    data.pop("send_at", None)
    return Outcome(goto=broadcast(BroadcastStep.PREVIEW), data=data)


# -- preview -------------------------------------------------------------------------------------


def preview_options(ctx: Context) -> tuple[Option, ...]:
    """Return send now, schedule, edit and cancel."""
    _ = ctx.gettext
    token = ctx.data.get("token", "")
    return options_of(
        (f"bc:{token}:now", _("Send now"), "kirim|send"),
        (f"bc:{token}:later", _("Schedule"), "jadwal|later"),
        (f"bc:{token}:every", _("Repeat regularly"), "ulangi|berkala|rutin|recurring"),
        (f"bc:{token}:edit", _("Edit message"), "ubah|edit"),
        (f"bc:{token}:cancel", _("Cancel"), "batal|cancel"),
    )


def counted(ctx: Context, member: Member) -> stored.Preview:
    """Count who the announcement would reach now."""
    return stored.preview(
        db=ctx.db,
        segment=segment_of(ctx),
        text=ctx.data.get("text", ""),
        kelurahan_limit=member.kelurahan_code,
        now=ctx.now,
    )


def ask_preview(ctx: Context) -> Reply:
    """Shows the announcement as residents will see it, with how many it reaches."""
    _ = ctx.gettext
    member = member_of(ctx)
    found = counted(ctx, member)
    lines = [
        _("This is how residents will see it:"),
        "",
        ctx.data.get("text", ""),
        "",
        "———",
        _("To: {whom}").format(whom=segment_text(ctx, segment_of(ctx), member)),
        ctx.ngettext(
            "It reaches {count} resident.", "It reaches {count} residents.", found.recipients
        ).format(count=number(found.recipients, ctx.language)),
        ctx.ngettext(
            "{count} resident is skipped for having said “berhenti”.",
            "{count} residents are skipped for having said “berhenti”.",
            found.skipped_opted_out,
        ).format(count=number(found.skipped_opted_out, ctx.language)),
        _("Send it?"),
    ]
    shown = "\n".join(lines)
    return Reply(shown, preview_options(ctx))


def take_preview(ctx: Context, msg: Incoming, member: Member) -> Outcome:
    """Sends, schedules, edits or drops the announcement."""
    choice = (msg.option or "").rpartition(":")[2]
    if choice == "cancel":
        return cancelled(ctx)
    if choice == "edit":
        data = {key: ctx.data[key] for key in ("kind", "value") if key in ctx.data}
        return Outcome(goto=broadcast(BroadcastStep.MESSAGE), data=data)
    if choice == "later":
        return Outcome(goto=broadcast(BroadcastStep.WHEN))
    if choice == "every":  # handlers/broadcast_plans.py, with the preview's answers
        if counted(ctx, member).recipients == 0:
            return nobody(ctx)
        return Outcome(goto=broadcast_plan(BroadcastPlanStep.OFTEN), data=dict(ctx.data))
    return decide(ctx, member)


def nobody(ctx: Context) -> Outcome:
    """Say that the segment reaches nobody, and start again from whom."""
    _ = ctx.gettext
    text = _("Nobody in this group can receive announcements, so nothing was queued.")
    return Outcome([Reply(text)], goto=broadcast(BroadcastStep.KIND), data={})


def decide(ctx: Context, member: Member) -> Outcome:
    """Queues the announcement, or first asks again when some got the same text lately."""
    found = counted(ctx, member)
    if found.recipients == 0:
        return nobody(ctx)
    if found.repeated:
        data = {**ctx.data, "repeated": found.repeated}
        return Outcome(goto=broadcast(BroadcastStep.REPEAT), data=data)
    return send(ctx, member)


# -- when ----------------------------------------------------------------------------------------


def ask_when(ctx: Context) -> Reply:
    """Asks when to send the announcement."""
    _ = ctx.gettext
    text = _(
        "When should it go out? Write the date and time (WIB), for example “besok 08.00”, "
        "“1/12 08.00” or “2026-12-01 08:00”."
    )
    return Reply(text)


def typed_moment(ctx: Context, typed: str) -> datetime | Outcome:
    """Read the time to send at; an Outcome saying what is wrong when it cannot be used."""
    _ = ctx.gettext
    moment = parse_moment(typed, ctx.now, ctx.config.time_zone)
    if moment is None:
        text = _(
            "I could not read that as a date and time. Please write it like “besok 08.00”, "
            "“1/12 08.00” or “2026-12-01 08:00”."
        )
        return Outcome([Reply(text)], ask=False)
    if moment <= ctx.now:
        text = _("{moment} has already passed. Please give a time in the future.")
        return Outcome([Reply(text.format(moment=ctx.moment(moment)))], ask=False)
    if moment > ctx.now + AHEAD:
        text = _("That is more than a year ahead. Please give an earlier time.")
        return Outcome([Reply(text)], ask=False)
    return moment


def take_when(ctx: Context, msg: Incoming, member: Member) -> Outcome:
    """Keeps the time and queues the announcement for then."""
    moment = typed_moment(ctx, msg.text)
    if isinstance(moment, Outcome):
        return moment
    ctx.data["send_at"] = moment.isoformat()
    return decide(ctx, member)


# -- repeat --------------------------------------------------------------------------------------


def repeat_options(ctx: Context) -> tuple[Option, ...]:
    """Return send again and do not send."""
    _ = ctx.gettext
    token = ctx.data.get("token", "")
    return options_of(
        (f"bc:{token}:again", _("Yes, send again"), "ya|yes|kirim"),
        (f"bc:{token}:drop", _("No, do not send"), "tidak|no|jangan"),
    )


def ask_repeat(ctx: Context) -> Reply:
    """Asks to confirm sending a text some residents got in the last 24 hours."""
    count = int(ctx.data.get("repeated", 0))
    text = ctx.ngettext(
        "{count} of these residents already got this same message in the last 24 hours. "
        "Send it to them again?",
        "{count} of these residents already got this same message in the last 24 hours. "
        "Send it to them again?",
        count,
    ).format(count=number(count, ctx.language))
    return Reply(text, repeat_options(ctx))


def take_repeat(ctx: Context, msg: Incoming, member: Member) -> Outcome:
    """Queues the announcement after all, or drops it."""
    if (msg.option or "").endswith(":again"):
        return send(ctx, member)
    return cancelled(ctx)


# -- queue ---------------------------------------------------------------------------------------


def send(ctx: Context, member: Member) -> Outcome:
    """Queues the announcement, records who did it, and says so."""
    _ = ctx.gettext
    send_at = datetime.fromisoformat(ctx.data["send_at"]) if ctx.data.get("send_at") else None
    if send_at is not None and send_at <= ctx.now:  # the time passed while they decided
        text = _("{moment} has already passed. Please give a time in the future.")
        reply = Reply(text.format(moment=ctx.moment(send_at)))
        return Outcome([reply], goto=broadcast(BroadcastStep.WHEN))
    segment = segment_of(ctx)
    broadcast_id, queued, skipped = stored.queue(
        db=ctx.db,
        segment=segment,
        text=ctx.data["text"],
        created_by=member.login,
        now=ctx.now,
        send_at=send_at,
        kelurahan_limit=member.kelurahan_code,
        report_to=(ctx.identity.channel, ctx.identity.external_id),
    )
    details = {"segment": segment.as_dict(), "recipients": queued, "skipped": skipped}
    if member.kelurahan_code:
        details["kelurahan_limit"] = member.kelurahan_code
    if send_at is not None:
        details["send_at"] = send_at.isoformat()
    GATE.permit(ctx, member).record(
        ctx.db,
        action="broadcast.queue",
        target=f"siaran #{broadcast_id}",
        details=details,
    )
    count = number(queued, ctx.language)
    if send_at is None:
        text = ctx.ngettext(
            "Siaran #{id} queued for {count} resident; you will get progress here.",
            "Siaran #{id} queued for {count} residents; you will get progress here.",
            queued,
        ).format(id=broadcast_id, count=count)
    else:
        text = ctx.ngettext(
            "Siaran #{id} scheduled for {moment}, to {count} resident; you will get "
            "progress here.",
            "Siaran #{id} scheduled for {moment}, to {count} residents; you will get "
            "progress here.",
            queued,
        ).format(id=broadcast_id, moment=ctx.moment(send_at), count=count)
    return Outcome([Reply(text)], goto=HOME, data={})


def cancelled(ctx: Context) -> Outcome:
    """Drops the announcement."""
    _ = ctx.gettext
    return Outcome([Reply(_("Cancelled. Nothing was sent."))], goto=HOME, data={})


def guarded(
    ask: Callable[[Context], Reply],
    answer: Callable[[Context, Incoming, Member], Outcome],
    options: Callable[[Context], tuple[Option, ...]] = no_options,
    expects: Expect = Expect.CHOICE,
) -> Step:
    """Build a staff step whose question, options and answer each check the role anew."""
    return GATE.step(
        lambda ctx, _member: ask(ctx), answer, lambda ctx, _member: options(ctx), expects
    )


BROADCAST = Flow(
    FlowName.BROADCAST,
    {
        BroadcastStep.KIND: guarded(ask_kind, take_kind, kind_options),
        BroadcastStep.CHOOSE: guarded(ask_choose, take_choose, choose_options),
        BroadcastStep.CODE: guarded(ask_code, take_code, code_options, Expect.TEXT),
        BroadcastStep.RW: guarded(ask_rw, take_rw, expects=Expect.TEXT),
        BroadcastStep.MESSAGE: guarded(ask_message, take_message, expects=Expect.TEXT),
        BroadcastStep.PREVIEW: guarded(ask_preview, take_preview, preview_options),
        BroadcastStep.WHEN: guarded(ask_when, take_when, expects=Expect.TEXT),
        BroadcastStep.REPEAT: guarded(ask_repeat, take_repeat, repeat_options),
    },
)
