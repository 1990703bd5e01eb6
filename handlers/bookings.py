"""Jadwal saya: a resident's bookings of health talks and checks, with what to bring, and
cancelling one, which frees its place."""

from handlers.answers import cancel_options, own_item
from handlers.buttons import ID, button
from handlers.formatting import format_window
from handlers.messages import Incoming, Option, Reply
from handlers.positions import HOME, HealthStep, health
from handlers.steps import Context, Outcome, options_of
from storage import health as clinics
from storage import reminders
from storage.reminders import Subject

CANCEL = button("health:cancel", booking=ID)  # works from any old message


def mine_options(ctx: Context) -> tuple[Option, ...]:
    """Return a cancel option per booking, then browsing and the menu."""
    _ = ctx.gettext
    found = clinics.of_resident(db=ctx.db, resident_id=ctx.resident.id, now=ctx.now)
    choices = [
        (
            CANCEL.encode(booking=item.id),
            _("Cancel: {title}").format(title=item.slot.event.text("title", ctx.language)),
            "",
            # where the title does not fit: the booking's number in the list
            _("Cancel booking {number}").format(number=number),
        )
        for number, item in enumerate(found, 1)
    ]
    choices += [
        ("health:browse", _("Talks and checks"), "penyuluhan|cek|browse"),
        ("health:menu", _("Main menu"), "menu"),
    ]
    return options_of(*choices)


def ask_mine(ctx: Context) -> Reply:
    """Lists the resident's bookings."""
    _ = ctx.gettext
    found = clinics.of_resident(db=ctx.db, resident_id=ctx.resident.id, now=ctx.now)
    if not found:
        return Reply(_("You have no booking for a health talk or check."), mine_options(ctx))
    lines = [_("Your bookings:")]
    for number, item in enumerate(found, 1):
        slot = item.slot
        when = format_window(slot.starts_at, slot.ends_at, ctx.language, ctx.config.time_zone)
        title = slot.event.text("title", ctx.language)
        lines.append(f"{number}. {title}\n  {when}\n  {slot.event.place}")
        bring = slot.event.text("bring", ctx.language)
        if bring:
            lines.append("  " + _("Bring: {bring}").format(bring=bring))
    shown = "\n".join(lines)
    return Reply(shown, mine_options(ctx))


def take_mine(ctx: Context, msg: Incoming) -> Outcome:
    """Asks to confirm a cancellation, or browses."""
    key = msg.option or ""
    if CANCEL.owns(key):
        return cancel_asked(ctx, key)
    if key == "health:browse":
        return Outcome(goto=health(HealthStep.KIND), data={})
    return Outcome(goto=HOME)


def cancel_asked(ctx: Context, key: str) -> Outcome:
    """Asks to confirm cancelling one of the resident's own bookings."""
    _ = ctx.gettext
    found = clinics.of_resident(db=ctx.db, resident_id=ctx.resident.id, now=ctx.now)
    chosen = CANCEL.decode(key)
    mine = own_item(found, chosen["booking"] if chosen else None)
    if mine is None:  # cancelled already, over, or not theirs: the same answer for all
        text = _("That booking is not (or no longer) on your list.")
        return Outcome([Reply(text)], goto=health(HealthStep.MINE), data={})
    return Outcome(goto=health(HealthStep.CANCEL), data={"booking": mine.id})


def cancel_anywhere(ctx: Context, msg: Incoming) -> Outcome:
    """Takes a cancel button from an older message, wherever the resident is."""
    return cancel_asked(ctx, msg.option or "")


def confirm_cancel_options(ctx: Context) -> tuple[Option, ...]:
    """Return yes and no to cancelling the booking in the conversation."""
    return cancel_options(ctx, "booking")


def ask_cancel(ctx: Context) -> Reply:
    """Asks to confirm the cancellation."""
    _ = ctx.gettext
    found = clinics.of_resident(db=ctx.db, resident_id=ctx.resident.id, now=ctx.now)
    mine = next((item for item in found if item.id == ctx.data.get("booking")), None)
    title = mine.slot.event.text("title", ctx.language) if mine else "-"
    text = _("Cancel your booking for “{title}”? The place goes to someone else.").format(
        title=title
    )
    return Reply(text, cancel_options(ctx, "booking"))


def take_cancel(ctx: Context, msg: Incoming) -> Outcome:
    """Cancels the booking."""
    _ = ctx.gettext
    if (msg.option or "").endswith(":no"):
        return Outcome([Reply(_("Your booking is kept."))], goto=health(HealthStep.MINE))
    slot = clinics.cancel(
        db=ctx.db, booking_id=ctx.data.get("booking", 0), resident_id=ctx.resident.id, now=ctx.now
    )
    if slot is None:
        text = _("That booking is not (or no longer) on your list.")
        return Outcome([Reply(text)], goto=health(HealthStep.MINE), data={})
    reminders.cancel(
        db=ctx.db, subject=Subject.SLOT, subject_ids=[slot.id], resident_id=ctx.resident.id
    )
    text = _("Your booking for “{title}” is cancelled.").format(
        title=slot.event.text("title", ctx.language)
    )
    return Outcome([Reply(text)], goto=health(HealthStep.MINE), data={})
