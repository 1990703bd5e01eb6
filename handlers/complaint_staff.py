"""Staff handle complaints in the chat (the `aduan` keyword): the queue, the oldest response
time first with overdue ones marked, a page at a time; one complaint; take it, reply (queued to
the resident in their language), close it. Questions to staff (tanya petugas, TNY-…) are in the
same queue as their own kind, answered with the same reply.

    queue ─▶ item ─▶ take | reply ─▶ (text) | close ─▶ queue

Every step asks storage.staff anew whether the chat still belongs to an admin or staff
account; a kelurahan-limited account sees only complaints of its kelurahan. Anonymous
complaints never show who filed them. Every change is in the audit log.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection

from handlers.buttons import ID, button
from handlers.complaint_words import category_label, kind_label
from handlers.formatting import format_day
from handlers.i18n import translations
from handlers.messages import Incoming, Option, Reply
from handlers.positions import HOME, ComplaintStaffStep, FlowName, complaint_staff
from handlers.staff_steps import StaffGate
from handlers.steps import Context, Expect, Flow, Outcome, Step, options_of
from storage import complaints as stored
from storage import outbox, places, residents
from storage.complaints import ComplaintKind, ComplaintProblem, ComplaintStatus, Item
from storage.outbox import OutboundKind
from storage.staff import Member

QUEUE_ITEM = button("cq", complaint=ID)  # a complaint in the queue

DIGEST_LISTED = 20  # overdue complaints named in the daily digest; the rest are counted
PAGE = 8  # complaints a page of the queue (with "more" and "menu": 10, a WhatsApp list)


# -- who may -------------------------------------------------------------------------------------


def gone_text(ctx: Context) -> str:
    """Say that this chat may no longer handle complaints."""
    _ = ctx.gettext
    return _("This account can no longer handle complaints. Nothing was changed.")


GATE = StaffGate("complaint.handle", gone_text)
member_of = GATE.member_of
may_handle = GATE.may


def guarded(
    ask: Callable[[Context, Member], Reply],
    answer: Callable[[Context, Incoming, Member], Outcome],
    options: Callable[[Context, Member], tuple[Option, ...]] | None = None,
    expects: Expect = Expect.CHOICE,
) -> Step:
    """Build a staff step whose question, options and answer each check the role anew."""
    return GATE.step(ask, answer, options, expects)


def open_queue(ctx: Context) -> Outcome:
    """Shows the queue of complaints (the `aduan` keyword, for staff only)."""
    return Outcome(goto=complaint_staff(ComplaintStaffStep.QUEUE), data={})


def visible(ctx: Context, member: Member, complaint_id: int | None) -> Item | None:
    """Return a complaint the member may see (their kelurahan's, if limited), or None."""
    item = stored.get(db=ctx.db, complaint_id=complaint_id) if complaint_id else None
    if item is None:
        return None
    if not GATE.permit(ctx, member).reaches(item.kelurahan_code):
        GATE.refuse(ctx, member, item.ref)  # another kelurahan's: as if there were none
        return None
    return item


def kelurahan_name(ctx: Context, code: str | None) -> str:
    """Return a kelurahan's name, or a dash."""
    found = places.get_kelurahan(db=ctx.db, code=code) if code else None
    return found.name if found else "-"


# -- queue ---------------------------------------------------------------------------------------


def page_items(ctx: Context, member: Member) -> tuple[list[Item], int, bool]:
    """Return the page of the queue shown, the number of open complaints, and whether there
    are more pages."""
    found = stored.queue(db=ctx.db, kelurahan_code=member.kelurahan_code)
    start = ctx.data.get("page", 0) * PAGE
    if start >= len(found):
        start = 0
    return found[start : start + PAGE], len(found), len(found) > PAGE


def queue_options(ctx: Context, member: Member) -> tuple[Option, ...]:
    """Return a button per complaint of the page, next page and the menu."""
    _ = ctx.gettext
    shown, _count, more = page_items(ctx, member)
    choices = [(QUEUE_ITEM.encode(complaint=item.id), item.ref) for item in shown]
    if more:
        choices.append(("cq:more", _("Next page"), "lagi|berikutnya|more|next"))
    choices.append(("cq:menu", _("Main menu"), "menu"))
    return options_of(*choices)


def queue_line(ctx: Context, item: Item) -> str:
    """Describe a complaint on one line of the queue."""
    _ = ctx.gettext
    line = _("{ref} · {kind} · {status} · due {day}").format(
        ref=item.ref,
        kind=kind_label(item.kind, ctx.language),
        status=item.status.value,
        day=ctx.day(item.due_at),
    )
    if item.overdue(ctx.now):
        line = "⚠️ " + line + " · " + _("OVERDUE")
    return line


def ask_queue(ctx: Context, member: Member) -> Reply:
    """Shows a page of open complaints, the oldest response time first."""
    _ = ctx.gettext
    shown, count, _more = page_items(ctx, member)
    if not shown:
        return Reply(_("There are no open complaints."), queue_options(ctx, member))
    head = ctx.ngettext(
        "{count} open complaint, the oldest response time first:",
        "{count} open complaints, the oldest response time first:",
        count,
    ).format(count=count)
    if member.kelurahan_code:
        where = _("Kelurahan {name} only.").format(name=kelurahan_name(ctx, member.kelurahan_code))
        head = f"{head}\n{where}"
    lines = [head, *(queue_line(ctx, item) for item in shown), _("Choose one to open it.")]
    shown = "\n".join(lines)
    return Reply(shown, queue_options(ctx, member))


def take_queue(ctx: Context, msg: Incoming, member: Member) -> Outcome:
    """Opens a complaint, turns the page, or goes to the menu."""
    if msg.option == "cq:menu":
        return Outcome(goto=HOME, data={})
    if msg.option == "cq:more":
        ctx.data["page"] = ctx.data.get("page", 0) + 1
        return Outcome()
    chosen = QUEUE_ITEM.decode(msg.option)
    if chosen is None or visible(ctx, member, int(chosen["complaint"])) is None:
        return Outcome()
    # its photo goes with it when it is opened, not again at each step on it
    data = {"id": chosen["complaint"], "page": ctx.data.get("page", 0), "show_photo": True}
    return Outcome(goto=complaint_staff(ComplaintStaffStep.ITEM), data=data)


# -- item ----------------------------------------------------------------------------------------


def item_options(ctx: Context, member: Member) -> tuple[Option, ...]:
    """Return take, reply, close and back, as they apply."""
    _ = ctx.gettext
    item = visible(ctx, member, ctx.data.get("id"))
    choices = []
    if item is not None and item.status != ComplaintStatus.CLOSED:
        if item.assigned_to != member.login:
            choices.append(("ci:take", _("Take it"), "ambil|take"))
        choices.append(("ci:reply", _("Reply"), "balas|jawab|reply"))
        choices.append(("ci:close", _("Close"), "tutup|selesai|close"))
    choices.append(("ci:back", _("Back to the queue"), "kembali|back|antrean|queue"))
    return options_of(*choices)


def who_text(ctx: Context, item: Item) -> str:
    """Say who filed a complaint, as staff may see it (never for an anonymous one)."""
    _ = ctx.gettext
    if item.anonymous:
        return _("From: anonymous (not shown to officers)")
    found = stored.submitter(db=ctx.db, item=item)
    if found is None:
        return _("From: a resident who has erased their data")
    if not found.name:  # a question from someone who never registered
        return _("From: a resident who has not registered (reply in the chat only)")
    return _("From: {name}, RW {rw}, Kelurahan {kelurahan}, phone {phone}").format(
        name=found.name or "-",
        rw=f"{found.rw or 0:03d}",
        kelurahan=kelurahan_name(ctx, found.kelurahan_code),
        phone=ctx.phone(found.phone),
    )


def item_text(ctx: Context, item: Item) -> str:
    """Describe a complaint in full for staff, with its history."""
    _ = ctx.gettext
    lines = [
        f"{item.ref} · {kind_label(item.kind, ctx.language)}",
        _("Status: {status}").format(status=item.status.value),
        _("Kelurahan: {name}").format(name=kelurahan_name(ctx, item.kelurahan_code)),
        _("Sent: {moment}").format(moment=ctx.moment(item.created_at)),
        _("Response due: {day}").format(day=ctx.day(item.due_at)),
    ]
    if item.overdue(ctx.now):
        lines[-1] += " · ⚠️ " + _("OVERDUE")
    if item.assigned_to:
        lines.append(_("Handled by: {login}").format(login=item.assigned_to))
    lines.append(who_text(ctx, item))
    if item.kind == ComplaintKind.COMPLAINT:
        lines.append(
            _("About: {category}").format(category=category_label(item.category, ctx.language))
        )
    if item.subject_name:
        lines.append(
            _("Person: {name}, RW {rw}").format(name=item.subject_name, rw=f"{item.rw or 0:03d}")
        )
    if item.kind == ComplaintKind.QUESTION:
        lines.append(_("Question: {text}").format(text=item.text))
    else:
        lines.append(_("Text: {text}").format(text=item.text))
    if item.photo_file_id:
        lines.append(_("Photo: attached (sent when the complaint is opened)"))
    for event in item.history[1:]:
        step = f"{ctx.moment(event.at)} · {event.actor} · {event.status.value}"
        lines.append(f"  {step}" + (f": {event.note}" if event.note else ""))
    return "\n".join(lines)


def ask_item(ctx: Context, member: Member) -> Reply:
    """Shows one complaint and what can be done with it."""
    _ = ctx.gettext
    item = visible(ctx, member, ctx.data.get("id"))
    if item is None:
        return Reply(_("That complaint is not in your queue."), item_options(ctx, member))
    photo = item.photo_file_id if ctx.data.pop("show_photo", False) else None
    return Reply(item_text(ctx, item), item_options(ctx, member), photo=photo)


def back_to_queue(ctx: Context, *replies: Reply) -> Outcome:
    """Go back to the page of the queue the member came from."""
    data = {"page": ctx.data.get("page", 0)}
    return Outcome(list(replies), goto=complaint_staff(ComplaintStaffStep.QUEUE), data=data)


def take_item(ctx: Context, msg: Incoming, member: Member) -> Outcome:
    """Takes, closes or answers the complaint, or goes back to the queue."""
    _ = ctx.gettext
    choice = (msg.option or "").removeprefix("ci:")
    item = visible(ctx, member, ctx.data.get("id"))
    if choice == "back" or item is None:
        return back_to_queue(ctx)
    if choice == "reply":
        return Outcome(goto=complaint_staff(ComplaintStaffStep.REPLY))
    try:
        if choice == "take":
            done = stored.take(db=ctx.db, complaint_id=item.id, login=member.login, now=ctx.now)
            record(ctx, member, "complaint.take", done)
            return Outcome([Reply(_("{ref} is now yours.").format(ref=done.ref))])
        done = stored.close(db=ctx.db, complaint_id=item.id, login=member.login, now=ctx.now)
    except ComplaintProblem:  # closed meanwhile by someone else
        return back_to_queue(ctx, Reply(_("That complaint is already closed.")))
    record(ctx, member, "complaint.close", done)
    closed = question_closed_text if done.kind == ComplaintKind.QUESTION else closed_text
    tell_resident(ctx.db, done, closed, ctx.now)
    return back_to_queue(ctx, Reply(_("{ref} is closed.").format(ref=done.ref)))


# -- reply ---------------------------------------------------------------------------------------


def ask_reply(ctx: Context, member: Member) -> Reply:
    """Asks for the reply to the resident."""
    _ = ctx.gettext
    text = _(
        "Write the reply as the resident should read it (at most {limit} characters). It is "
        "sent to them in the chat."
    ).format(limit=stored.MAX_TEXT)
    return Reply(text)


def take_reply(ctx: Context, msg: Incoming, member: Member) -> Outcome:
    """Records the reply, queues it to the resident, and shows the complaint again."""
    _ = ctx.gettext
    note = msg.text.strip()
    if len(note) > stored.MAX_TEXT:
        text = _(
            "Your message has {count} characters; at most {limit} fit. Please shorten it."
        ).format(count=len(note), limit=stored.MAX_TEXT)
        return Outcome([Reply(text)], ask=False)
    item = visible(ctx, member, ctx.data.get("id"))
    if item is None:
        return back_to_queue(ctx)
    try:
        done = stored.answer(
            db=ctx.db, complaint_id=item.id, login=member.login, note=note, now=ctx.now
        )
    except ComplaintProblem:
        return back_to_queue(ctx, Reply(_("That complaint is already closed.")))
    record(ctx, member, "complaint.reply", done)
    answered = answer_text if done.kind == ComplaintKind.QUESTION else reply_text
    if tell_resident(ctx.db, done, lambda ref, language: answered(ref, note, language), ctx.now):
        text = _("The reply to {ref} is on its way to the resident.")
    else:
        text = _("The reply to {ref} is recorded, but the resident cannot be reached in the chat.")
    return Outcome(
        [Reply(text.format(ref=done.ref))], goto=complaint_staff(ComplaintStaffStep.ITEM)
    )


# -- what staff actions leave behind -------------------------------------------------------------


def record(ctx: Context, member: Member, action: str, item: Item) -> None:
    """Write a staff action on a complaint to the audit log (never what anyone wrote)."""
    GATE.permit(ctx, member).record(
        ctx.db,
        action=action,
        target=item.ref,
        details={"status": item.status.value},
    )


def reply_text(ref: str, note: str, language: str) -> str:
    """Return an officer's reply as the resident reads it."""
    _ = translations(language).gettext
    return _("Reply from the kelurahan officers to your report {ref}:\n\n{note}").format(
        ref=ref, note=note
    )


def answer_text(ref: str, note: str, language: str) -> str:
    """Return an officer's answer to a resident's question as the resident reads it."""
    _ = translations(language).gettext
    return _("Answer from the kelurahan officers to your question {ref}:\n\n{note}").format(
        ref=ref, note=note
    )


def question_closed_text(ref: str, language: str) -> str:
    """Return the word that a resident's question is closed."""
    _ = translations(language).gettext
    return _(
        "Your question {ref} is now closed. If you have another question, just write it here."
    ).format(ref=ref)


def closed_text(ref: str, language: str) -> str:
    """Return the word that a resident's report is closed."""
    _ = translations(language).gettext
    return _(
        "Your report {ref} is now closed. Thank you for telling us. If the problem remains, "
        "you can send a new report from “Feedback & complaints” in the menu."
    ).format(ref=ref)


def tell_resident(
    db: Connection, item: Item, text: Callable[[str, str], str], now: datetime
) -> bool:
    """Queue a message about a report to whoever filed it, in their language; return whether
    it was queued (not after erasure, nor to a chat that cannot be reached)."""
    if item.resident_id is None:
        return False
    language = residents.language_of(db=db, resident_id=item.resident_id) or "id"
    queued = outbox.enqueue(
        db=db,
        resident_id=item.resident_id,
        kind=OutboundKind.STATUS,
        text=text(item.ref, language),
        now=now,
    )
    return queued is not None


def digest_text(late: list[Item], language: str, time_zone: str) -> str:
    """Return the daily digest for staff: how many complaints are overdue, each with its due
    day (the first DIGEST_LISTED; the rest counted)."""
    catalog = translations(language)
    _ = catalog.gettext
    lines = [
        catalog.ngettext(
            "{count} complaint is past its response time:",
            "{count} complaints are past their response time:",
            len(late),
        ).format(count=len(late))
    ]
    for item in late[:DIGEST_LISTED]:
        lines.append(
            _("• {ref} ({kind}), due {day}").format(
                ref=item.ref,
                kind=kind_label(item.kind, language),
                day=format_day(item.due_at, language, time_zone),
            )
        )
    if len(late) > DIGEST_LISTED:
        lines.append(_("…and {count} more.").format(count=len(late) - DIGEST_LISTED))
    lines.append(_("Type “aduan” to open the queue."))
    return "\n".join(lines)


COMPLAINT_STAFF = Flow(
    FlowName.COMPLAINT_STAFF,
    {
        ComplaintStaffStep.QUEUE: guarded(ask_queue, take_queue, queue_options),
        ComplaintStaffStep.ITEM: guarded(ask_item, take_item, item_options),
        ComplaintStaffStep.REPLY: guarded(ask_reply, take_reply, expects=Expect.TEXT),
    },
)
