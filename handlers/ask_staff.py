"""Tanya petugas: when the bot understands nothing, it says so in one line and offers to pass
the resident's message on to the kelurahan officers as a question (TNY-2026-000001), answered
in this chat from the staff queue (handlers/complaint_staff.py) like a complaint.

    offer_staff ─▶ offer ─▶ Tanya petugas ─▶ (consent) ─▶ (kelurahan | confirm) ─▶ TNY-…
                        └▶ Menu | Back
    ask_staff_now ─▶ (question) ─▶ (consent) ─▶ (kelurahan | confirm) ─▶ TNY-…

The engine calls `offer_staff(ctx, text)` when nothing fits, and `ask_staff_now(ctx, text)`
when the resident asks for an officer ("saya mau tanya petugas: …"). The question goes to the
officers of the resident's kelurahan, or of the one they choose when they have none; it needs
the privacy consent (it is kept with the resident, so that the answer reaches them), not a
completed profile. What is kept, in the conversation and in the question, is redacted of NIKs
and phone numbers and at most storage.complaints.MAX_TEXT characters.
"""

import re

from handlers.answers import YES_WORDS, yes_no
from handlers.complaint_subjects import kelurahan_options
from handlers.messages import Incoming, Option, Reply
from handlers.positions import HOME, AskStaffStep, FlowName, ask_staff
from handlers.start import consent_then
from handlers.steps import BACK, Context, Expect, Flow, Outcome, Step, no_options, options_of
from storage import complaints as stored
from storage import places
from storage.complaints import ComplaintKind, Item
from storage.redaction import redact

RETURN = "_return"  # in the offer's data: where the resident was, for "Back"
# how one starts asking: greetings and address words, "saya", "mau", "can I"
_REQUEST = r"""^[\W_]*
    (?:(?:halo|hai|hi|hello|permisi|pagi|siang|sore|malam|min|kak|pak|bu|admin)[\W_]+)*
    (?:(?:saya|sy|sya|aku|aq|gue|gw|i)\s+)?
    (?:(?:mau|mo|mw|ingin|pengen|pingin|pgn|bisa|boleh|perlu|want|wanna|would\s+like|need)
       (?:\s+to)?\s+)?
    (?:(?:can|could|may)\s+i\s+)?"""
# the words of one who asks for an officer, before the question itself
_ASKING = re.compile(
    _REQUEST
    + r"""(?:tanya|nanya|bertanya|tny|ask|talk|speak|chat)
    (?:\s+(?:ke|kepada|pada|sama|sm|dengan|dgn|dg|to|with))?
    (?:\s+(?:a|an|the|seorang|langsung|dong|aja))*
    \s+(?:petugas|admin|staf|staff|orang|manusia|operator|pegawai|cs|officer|officers|
         person|human|someone|somebody)
    (?:\s+(?:kelurahan|kecamatan|member|dong|ya|yah|min|kak|aja|please|pls))*
    [\s:;,.!?\-–—]*""",
    re.IGNORECASE | re.VERBOSE,
)
# "min sy mau nanya aja", "can I ask something": asking, without the question itself
_ONLY_ASKING = re.compile(
    _REQUEST
    + r"""(?:tanya|nanya|bertanya|ask|a\s+question)
    (?:\s+(?:aja|saja|dong|ya|dulu|sih|boleh|bisa|sesuatu|something|a\s+question|question|
         please|pls|min|kak|pak|bu))*
    [\W_]*$""",
    re.IGNORECASE | re.VERBOSE,
)
_LETTERS = re.compile(r"[^\W\d_]")
ENOUGH_LETTERS = 3  # fewer letters than this after the request is no question


def kept(text: str) -> str:
    """Return a question as it may be kept: redacted, one line of spaces, at most MAX_TEXT."""
    return (redact(" ".join((text or "").split())) or "")[: stored.MAX_TEXT].strip()


def question_of(text: str) -> str:
    """Return the question in "saya mau tanya petugas: kapan KJP cair?", or "" when the text
    only asks for an officer."""
    if _ONLY_ASKING.match(text or ""):
        return ""
    found = _ASKING.match(text or "")
    rest = (text or "")[found.end() :] if found else (text or "")
    rest = rest.strip()
    return rest if len(_LETTERS.findall(rest)) >= ENOUGH_LETTERS else ""


# -- what the engine calls -----------------------------------------------------------------------


def offer_staff(ctx: Context, text: str) -> Outcome:
    """Say in one line that we did not understand, and offer to ask an officer."""
    data: dict = {"text": kept(text)}
    if ctx.position.flow == FlowName.ASK_STAFF:  # offered again: keep where they came from
        if RETURN in ctx.data:
            data[RETURN] = ctx.data[RETURN]
    elif ctx.position != HOME:  # in the middle of something: they may go back to it
        data[RETURN] = {"flow": ctx.position.flow, "step": ctx.position.step, "data": ctx.data}
    return Outcome(goto=ask_staff(AskStaffStep.OFFER), data=data)


def ask_staff_now(ctx: Context, text: str) -> Outcome:
    """Offer to pass the question in the text on to the officers (a guess sends nothing
    before the resident says so), or ask for it when there is none."""
    question = kept(question_of(text))
    if not question:
        return Outcome(goto=ask_staff(AskStaffStep.QUESTION), data={})
    return proceed(ctx, question, confirm=True)


# -- offer ---------------------------------------------------------------------------------------


def offer_options(ctx: Context) -> tuple[Option, ...]:
    """Return ask an officer, the menu, and back when they came from a question."""
    _ = ctx.gettext
    choices = [
        (
            "ask:staff",
            _("Ask an officer"),
            f"tanya petugas|tanya|petugas|ask|officer|ask an officer|{YES_WORDS}",
        ),
        ("ask:menu", _("Main menu"), "menu|menu utama|main menu"),
    ]
    if ctx.data.get(RETURN):
        choices.append(("ask:back", _("Back"), "kembali|back|lanjut|continue"))
    return options_of(*choices)


def ask_offer(ctx: Context) -> Reply:
    """Says that we did not understand, and offers to ask an officer."""
    _ = ctx.gettext
    text = _("Sorry, we did not understand that. Shall we pass it on to the kelurahan officers?")
    return Reply(text, offer_options(ctx))


def take_offer(ctx: Context, msg: Incoming) -> Outcome:
    """Passes the message on as a question, or goes to the menu or back."""
    if msg.option == "ask:menu":
        return Outcome(goto=HOME, data={})
    if msg.option == "ask:back" and ctx.data.get(RETURN):
        return Outcome(goto=BACK)
    text = ctx.data.get("text") or ""
    if not question_of(text):  # nothing to pass on: ask for the question
        return Outcome(goto=ask_staff(AskStaffStep.QUESTION), data={})
    return proceed(ctx, text)


# -- question ------------------------------------------------------------------------------------


def ask_question(ctx: Context) -> Reply:
    """Asks for the question to the officers."""
    _ = ctx.gettext
    text = _(
        "Please write your question for the kelurahan officers in one message (at most "
        "{limit} characters). The answer will come to this chat."
    ).format(limit=stored.MAX_TEXT)
    return Reply(text)


def take_question(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the question and passes it on."""
    _ = ctx.gettext
    text = " ".join(msg.text.split())
    if len(text) > stored.MAX_TEXT:
        reply = _(
            "Your message has {count} characters; at most {limit} fit. Please shorten it."
        ).format(count=len(text), limit=stored.MAX_TEXT)
        return Outcome([Reply(reply)], ask=False)
    question = kept(text)
    if len(_LETTERS.findall(question)) < ENOUGH_LETTERS:
        return Outcome([Reply(_("Please write your question in words."))])
    return proceed(ctx, question)


# -- where it goes -------------------------------------------------------------------------------


def proceed(ctx: Context, text: str, *, confirm: bool = False) -> Outcome:
    """File the question, after consent and the kelurahan where they are missing (and after
    the resident's yes when `confirm`)."""
    data = {"text": text}
    without_place = ctx.resident.kelurahan_code is None
    if ctx.resident.consent_at is None:
        _ = ctx.gettext
        why = _(
            "We keep your question with your chat, so that the officers' answer reaches you. "
            "Please first read and agree to how we keep your data."
        )
        then = ask_staff(AskStaffStep.KELURAHAN if without_place else AskStaffStep.CONFIRM)
        return consent_then(ctx, why, then, data)
    if without_place:
        return Outcome(goto=ask_staff(AskStaffStep.KELURAHAN), data=data)
    if confirm:
        return Outcome(goto=ask_staff(AskStaffStep.CONFIRM), data=data)
    return file_question(ctx, text, ctx.resident.kelurahan_code)


def ask_kelurahan(ctx: Context) -> Reply:
    """Asks which kelurahan's officers the question goes to."""
    _ = ctx.gettext
    text = _(
        "Which kelurahan do you live in? Your question goes to the officers of that kelurahan."
    )
    return Reply(text, kelurahan_options(ctx))


def take_kelurahan(ctx: Context, msg: Incoming) -> Outcome:
    """Passes the question on to the officers of the chosen kelurahan."""
    code = (msg.option or "").removeprefix("kel:")
    if places.get_kelurahan(db=ctx.db, code=code) is None:
        return Outcome()
    return file_question(ctx, ctx.data.get("text") or "", code)


def confirm_options(ctx: Context) -> tuple[Option, ...]:
    """Return send and cancel."""
    _ = ctx.gettext
    return yes_no(ctx, "ask", _("Send"), _("Cancel"))


def ask_confirm(ctx: Context) -> Reply:
    """Shows the question and asks to send it to the officers."""
    _ = ctx.gettext
    text = _("Send this question to the officers of Kelurahan {kelurahan}?\n“{text}”").format(
        kelurahan=kelurahan_name(ctx, ctx.resident.kelurahan_code),
        text=ctx.data.get("text") or "-",
    )
    return Reply(text, confirm_options(ctx))


def take_confirm(ctx: Context, msg: Incoming) -> Outcome:
    """Passes the question on, or drops it."""
    _ = ctx.gettext
    if msg.option == "ask:no":
        return Outcome([Reply(_("Not sent. Nothing was saved."))], goto=HOME, data={})
    if ctx.resident.consent_at is None:  # withdrawn meanwhile: ask again
        return proceed(ctx, ctx.data.get("text") or "")
    if ctx.resident.kelurahan_code is None:
        return Outcome(goto=ask_staff(AskStaffStep.KELURAHAN))
    return file_question(ctx, ctx.data.get("text") or "", ctx.resident.kelurahan_code)


# -- filed ---------------------------------------------------------------------------------------


def kelurahan_name(ctx: Context, code: str | None) -> str:
    """Return a kelurahan's name, or a dash."""
    found = places.get_kelurahan(db=ctx.db, code=code) if code else None
    return found.name if found else "-"


def file_question(ctx: Context, text: str, kelurahan_code: str) -> Outcome:
    """File the question for the officers and tell when to expect the answer."""
    text = kept(text)
    if not text:  # the question was lost (an old position): ask for it
        return Outcome(goto=ask_staff(AskStaffStep.QUESTION), data={})
    item = stored.file(
        db=ctx.db,
        kind=ComplaintKind.QUESTION,
        resident_id=ctx.resident.id,
        text=text,
        now=ctx.now,
        time_zone=ctx.config.time_zone,
        kelurahan_code=kelurahan_code,
    )
    return Outcome([Reply(filed_text(ctx, item))], goto=HOME, data={})


def filed_text(ctx: Context, item: Item) -> str:
    """Say that the question went to the officers, with its number and when they answer."""
    _ = ctx.gettext
    days = stored.RESPONSE_WORKING_DAYS
    answer = ctx.ngettext(
        "The officers usually answer within {days} working day; the answer will come to this "
        "chat.",
        "The officers usually answer within {days} working days; the answer will come to this "
        "chat.",
        days,
    ).format(days=days)
    head = _(
        "Your question has been passed on to the officers of Kelurahan {kelurahan}.\nNumber: {ref}"
    ).format(kelurahan=kelurahan_name(ctx, item.kelurahan_code), ref=item.ref)
    return f"{head}\n{answer}"


ASK_STAFF = Flow(
    FlowName.ASK_STAFF,
    {
        AskStaffStep.OFFER: Step(ask_offer, take_offer, options=offer_options),
        AskStaffStep.QUESTION: Step(
            ask_question, take_question, Expect.ANSWER, options=no_options
        ),
        AskStaffStep.KELURAHAN: Step(ask_kelurahan, take_kelurahan, options=kelurahan_options),
        AskStaffStep.CONFIRM: Step(ask_confirm, take_confirm, options=confirm_options),
    },
)
