"""Pengingat saya: the reminders a resident has waiting (what, when each is sent, for which
event), cancelling one or all of them; and what a reminder says when its time comes: what,
when, where, what to bring (or, for the end of a round of applications, until when and how to
apply), in the resident's language."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from handlers.answers import yes_no
from handlers.buttons import ID, button
from handlers.formatting import format_day, format_window
from handlers.i18n import translations
from handlers.messages import Incoming, Option, Reply
from handlers.notices import round_name
from handlers.positions import HOME, FlowName, ReminderStep, reminders
from handlers.sembako import MAP_LINK
from handlers.steps import Context, Flow, Outcome, Step, options_of
from storage import health, registry, rounds, schedules, training
from storage import reminders as stored
from storage.health import Slot
from storage.reminders import Reminder, Subject
from storage.rounds import Round
from storage.schedules import Pickup
from storage.training import Batch

CANCEL = button("reminder:cancel", reminder=ID)  # works from any old message
LISTED = 7  # reminders with a cancel button at once: with the ways out, a WhatsApp list holds 10


@dataclass(frozen=True)
class Occasion:
    """The event a reminder is for: a pickup, a course session, a health slot, or the end of a
    round of applications (which "starts" when the round closes)."""

    subject: Subject
    starts_at: datetime
    ends_at: datetime
    place: str
    address: str
    pickup: Pickup | None = None
    program: str = ""  # the pickup's program, by name
    batch: Batch | None = None
    number: int = 0  # the session's
    slot: Slot | None = None
    round: Round | None = None


def occasion(db: Connection, subject: str, subject_id: int) -> Occasion | None:
    """Return the event a reminder is for, or None when it is gone or called off."""
    if subject == Subject.DISTRIBUTION:
        pickup = schedules.get(db=db, distribution_id=subject_id)
        if pickup is None:
            return None
        found = registry.programs(db=db, codes=(pickup.program_code,))
        program = found[0].name if found else pickup.program_code
        return Occasion(
            Subject.DISTRIBUTION,
            pickup.starts_at,
            pickup.ends_at,
            pickup.place,
            pickup.address,
            pickup=pickup,
            program=program,
        )
    if subject == Subject.SESSION:
        session = stored.session_of(db=db, session_id=subject_id)
        batch = session and training.get_batch(db=db, batch_id=session.batch_id)
        if not batch or batch.cancelled:
            return None
        return Occasion(
            Subject.SESSION,
            session.starts_at,
            session.ends_at,
            batch.place,
            batch.address,
            batch=batch,
            number=session.number,
        )
    if subject == Subject.SLOT:
        slot = health.get_slot(db=db, slot_id=subject_id)
        if slot is None or not stored.live_starts(db=db, subject=Subject.SLOT, ids=[slot.id]):
            return None
        event = slot.event
        return Occasion(
            Subject.SLOT, slot.starts_at, slot.ends_at, event.place, event.address, slot=slot
        )
    if subject == Subject.ROUND:
        found = rounds.get(db=db, round_id=subject_id)
        if found is None:
            return None
        return Occasion(Subject.ROUND, found.closes_at, found.closes_at, "", "", round=found)
    return None


def round_text(found: Round, language: str, time_zone: str) -> str:
    """Return the reminder before a round of applications closes."""
    _ = translations(language).gettext
    day = format_day(found.last_day(time_zone), language, time_zone)
    return "\n".join(
        [
            _("Reminder: {what} close after {day}.").format(
                what=round_name(found.kind, language), day=day
            ),
            _(
                "To apply, choose “Scholarships & capital” in the menu. Have the documents "
                "ready; the kelurahan checks them before deciding."
            ),
            _("To stop these reminders: menu → “My reminders”."),
        ]
    )


def what(found: Occasion, language: str) -> str:
    """Name the event: 'Pengambilan sembako (BPNT)', '“Menjahit Dasar”, pertemuan 2 dari 6'."""
    _ = translations(language).gettext
    if found.batch is not None:
        return _("“{course}” ({batch}), session {number} of {count}").format(
            course=found.batch.course_title(language),
            batch=found.batch.code,
            number=found.number,
            count=len(found.batch.sessions),
        )
    if found.slot is not None:
        return f"“{found.slot.event.text('title', language)}”"
    if found.round is not None:
        return _("the last day of {what}").format(
            what=round_name(found.round.kind, language).lower()
        )
    return _("Sembako pickup ({program})").format(program=found.program)


def bring(found: Occasion, language: str) -> str:
    """Say what to bring, if anything is asked."""
    _ = translations(language).gettext
    if found.pickup is not None:
        return found.pickup.text("bring", language)
    if found.slot is not None:
        return found.slot.event.text("bring", language)
    return _("your KTP") if found.number == 1 else ""


def reminder_text(found: Occasion, language: str, time_zone: str) -> str:
    """Return the reminder a resident gets: what, when, where, what to bring."""
    _ = translations(language).gettext
    if found.round is not None:
        return round_text(found.round, language, time_zone)
    when = format_window(found.starts_at, found.ends_at, language, time_zone)
    lines = [
        _("Reminder: {what}").format(what=what(found, language)),
        _("When: {when}").format(when=when),
        _("Place: {place}, {address}").format(place=found.place, address=found.address),
    ]
    if found.pickup is not None:
        link = MAP_LINK.format(latitude=found.pickup.latitude, longitude=found.pickup.longitude)
        lines.append(_("Map: {link}").format(link=link))
    needed = bring(found, language)
    if needed:
        lines.append(_("Bring: {bring}").format(bring=needed))
    if found.pickup is not None:
        lines.append(_("Come in person with the documents; collecting is free of charge."))
        lines.append(_("To stop these reminders: menu → “My reminders”."))
    elif found.batch is not None:
        lines.append(
            _(
                "If you can no longer take part, please cancel in “Skills training” → “My "
                "enrolments”, so someone else can take your place."
            )
        )
    else:
        lines.append(
            _("Please come 10 minutes early. If you cannot come, cancel in “My bookings”.")
        )
    return "\n".join(lines)


# -- Pengingat saya ------------------------------------------------------------------------------


def open_reminders(ctx: Context) -> Outcome:
    """Opens the resident's reminders."""
    return Outcome(goto=reminders(ReminderStep.LIST), data={})


def waiting(ctx: Context) -> list[tuple[Reminder, Occasion]]:
    """Return the resident's pending reminders of events still ahead, earliest first."""
    found: dict[tuple[str, int], Occasion | None] = {}
    listed = []
    for reminder in stored.pending_of(db=ctx.db, resident_id=ctx.resident.id):
        key = (reminder.subject, reminder.subject_id)
        if key not in found:
            found[key] = occasion(ctx.db, *key)
        event = found[key]
        if event is not None and event.starts_at > ctx.now:
            listed.append((reminder, event))
    return listed


def last_day_shown(ctx: Context, found: Round) -> str:
    """Return a round's last day, for the resident."""
    return format_day(found.last_day(ctx.config.time_zone), ctx.language, ctx.config.time_zone)


def list_options(ctx: Context) -> tuple[Option, ...]:
    """Return a cancel option per reminder shown, cancel all, and the menu."""
    _ = ctx.gettext
    found = waiting(ctx)
    choices = [
        (CANCEL.encode(reminder=reminder.id), _("Cancel reminder {number}").format(number=number))
        for number, (reminder, _event) in enumerate(found[:LISTED], 1)
    ]
    if len(found) > 1:
        choices.append(("reminder:all", _("Cancel all"), "batalkan semua|semua|all"))
    choices.append(("reminder:menu", _("Main menu"), "menu"))
    return options_of(*choices)


def ask_list(ctx: Context) -> Reply:
    """Lists the reminders waiting: when each is sent, and for which event."""
    _ = ctx.gettext
    found = waiting(ctx)
    if not found:
        text = _(
            "You have no reminders waiting. For a sembako pickup, choose “Remind me” in "
            "“Sembako schedule”; for your courses and health bookings, reminders come by "
            "themselves."
        )
        return Reply(text, list_options(ctx))
    lines = [_("Your reminders (we send them here):")]
    for number, (reminder, event) in enumerate(found[:LISTED], 1):
        if event.round is not None:
            day = last_day_shown(ctx, event.round)
            lines.append(
                _("{number}. On {moment}, about {what} ({day})").format(
                    number=number,
                    moment=ctx.moment(reminder.remind_at),
                    what=what(event, ctx.language),
                    day=day,
                )
            )
            continue
        when = format_window(event.starts_at, event.ends_at, ctx.language, ctx.config.time_zone)
        lines.append(
            _("{number}. On {moment}, about {what} ({when}, {place})").format(
                number=number,
                moment=ctx.moment(reminder.remind_at),
                what=what(event, ctx.language),
                when=when,
                place=event.place,
            )
        )
    if len(found) > LISTED:
        more = len(found) - LISTED
        lines.append(
            ctx.ngettext(
                "{count} more reminder comes later; it is shown here once these are sent.",
                "{count} more reminders come later; they are shown here once these are sent.",
                more,
            ).format(count=more)
        )
    lines.append(_("To cancel a reminder, choose its number."))
    shown = "\n".join(lines)
    return Reply(shown, list_options(ctx))


def take_list(ctx: Context, msg: Incoming) -> Outcome:
    """Cancels the chosen reminder, asks about cancelling all, or goes back to the menu."""
    key = msg.option or ""
    if CANCEL.owns(key):
        return cancel_one(ctx, key)
    if key == "reminder:all":
        return Outcome(goto=reminders(ReminderStep.CANCEL_ALL))
    return Outcome(goto=HOME)


def cancel_one(ctx: Context, key: str) -> Outcome:
    """Cancels one of the resident's own reminders and shows those left."""
    _ = ctx.gettext
    chosen = CANCEL.decode(key)
    done = None
    if chosen is not None:
        done = stored.cancel_mine(
            db=ctx.db, reminder_id=int(chosen["reminder"]), resident_id=ctx.resident.id
        )
    if done is None:  # cancelled or sent already, or not theirs: the same answer for all
        text = _("That reminder is not (or no longer) on your list.")
        return Outcome([Reply(text)], goto=reminders(ReminderStep.LIST), data={})
    text = _("Done: the reminder of {moment} is cancelled.").format(
        moment=ctx.moment(done.remind_at)
    )
    return Outcome([Reply(text)], goto=reminders(ReminderStep.LIST), data={})


def cancel_anywhere(ctx: Context, msg: Incoming) -> Outcome:
    """Takes a cancel button from an older list of reminders, wherever the resident is."""
    return cancel_one(ctx, msg.option or "")


def all_options(ctx: Context) -> tuple[Option, ...]:
    """Return yes and no to cancelling every reminder."""
    _ = ctx.gettext
    return yes_no(ctx, "reminders", _("Yes, cancel all"), _("No, keep them"))


def ask_cancel_all(ctx: Context) -> Reply:
    """Asks to confirm cancelling every reminder."""
    count = len(waiting(ctx))
    text = ctx.ngettext(
        "Cancel your {count} reminder? Your enrolments and bookings stay as they are.",
        "Cancel all {count} reminders? Your enrolments and bookings stay as they are.",
        count,
    ).format(count=count)
    return Reply(text, all_options(ctx))


def take_cancel_all(ctx: Context, msg: Incoming) -> Outcome:
    """Cancels every reminder of the resident, or keeps them."""
    _ = ctx.gettext
    if msg.option == "reminders:no":
        text = _("Your reminders are kept.")
        return Outcome([Reply(text)], goto=reminders(ReminderStep.LIST), data={})
    count = stored.cancel_all_mine(db=ctx.db, resident_id=ctx.resident.id)
    text = ctx.ngettext(
        "Done: {count} reminder cancelled.", "Done: {count} reminders cancelled.", count
    ).format(count=count)
    return Outcome([Reply(text)], goto=HOME)


REMINDERS = Flow(
    FlowName.REMINDERS,
    {
        ReminderStep.LIST: Step(ask_list, take_list, options=list_options),
        ReminderStep.CANCEL_ALL: Step(ask_cancel_all, take_cancel_all, options=all_options),
    },
)
