"""Cek status aduan: a resident's own report (or question to staff, TNY-…) by its tracking
number, with its status and the officers' replies; anyone else's number gets the same "not
found" as a wrong one."""

from handlers.complaint_words import kind_label, status_label
from handlers.messages import Incoming, Option, Reply
from handlers.positions import HOME
from handlers.steps import Context, Outcome, options_of
from storage import complaints as stored
from storage.complaints import ComplaintKind, ComplaintStatus, Item

STATUS_LISTED = 5  # own reports offered as buttons at the status question


def status_options(ctx: Context) -> tuple[Option, ...]:
    """Return the resident's newest reports and the menu."""
    _ = ctx.gettext
    own = stored.of_resident(db=ctx.db, resident_id=ctx.resident.id, limit=STATUS_LISTED)
    return options_of(
        *((f"cs:{item.ref}", item.ref) for item in own),
        ("cs:menu", _("Main menu"), "menu"),
    )


def ask_status(ctx: Context) -> Reply:
    """Asks for a tracking number."""
    _ = ctx.gettext
    text = _("Please type the tracking number, for example ADU-2026-000045.")
    return Reply(text, status_options(ctx))


def take_status(ctx: Context, msg: Incoming) -> Outcome:
    """Shows one's own report by number; any other number gets the same "not found"."""
    _ = ctx.gettext
    if msg.option == "cs:menu":
        return Outcome(goto=HOME, data={})
    typed = (msg.option or "").removeprefix("cs:") if msg.option else msg.text
    item = None
    if len(typed) <= 40:
        item = stored.find_own(db=ctx.db, ref=typed, resident_id=ctx.resident.id)
    if item is None:
        text = _(
            "We found no report of yours with the number {ref}. Please check the number."
        ).format(ref=" ".join(typed.split())[:40])
        return Outcome([Reply(text)])
    return Outcome([Reply(history_text(ctx, item), status_options(ctx))], ask=False)


def history_text(ctx: Context, item: Item) -> str:
    """Describe one's own report with its status and the officers' replies."""
    _ = ctx.gettext
    lines = [
        f"{item.ref} · {kind_label(item.kind, ctx.language)}",
        _("Sent: {day}").format(day=ctx.day(item.created_at)),
        _("Status: {status}").format(status=status_label(item.status, ctx.language)),
    ]
    if item.status in (ComplaintStatus.NEW, ComplaintStatus.IN_PROGRESS):
        if item.kind == ComplaintKind.QUESTION:
            lines.append(_("Answer expected by: {day}").format(day=ctx.day(item.due_at)))
        else:
            lines.append(_("To be verified by: {day}").format(day=ctx.day(item.due_at)))
    for event in item.history:
        if event.note:
            lines.append(
                _("Reply of {day}: {note}").format(day=ctx.day(event.at), note=event.note)
            )
    return "\n".join(lines)
