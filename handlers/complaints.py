"""Masukan & pengaduan: a complaint (pengaduan), proposing someone in need (usul), disputing a
recipient in one's own kelurahan (sanggah), an idea for a program (saran), and the status of
one's own report by its tracking number.

    pengaduan: category ─▶ text ─▶ photo? ─▶ anonymous? ─▶ (kelurahan) ─▶ confirm ─▶ ADU-…
    usul:      name ─▶ kelurahan ─▶ rw ─▶ text ─▶ confirm ─▶ USL-…
    sanggah:   name ─▶ rw (own kelurahan) ─▶ text ─▶ photo? ─▶ confirm ─▶ SGH-…
    saran:     text ─▶ anonymous? ─▶ (kelurahan) ─▶ confirm ─▶ SRN-…

Usul and sanggah, and whatever is not anonymous, need a completed profile; anonymous reports
need the privacy consent only. No one's NIK is asked for, and a text holding one is refused.
"""

from handlers import masukan
from handlers.answers import NO_WORDS, YES_WORDS, resume_after, yes_no
from handlers.buttons import NAME, button
from handlers.choice_words import choice_words
from handlers.complaint_status import ask_status, status_options, take_status
from handlers.complaint_subjects import (
    ask_kelurahan,
    ask_name,
    ask_rw,
    kelurahan_options,
    take_kelurahan,
    take_name,
    take_rw,
)
from handlers.complaint_words import (
    category_label,
    holds_nik,
    kind_label,
    kind_of,
    nik_refused,
)
from handlers.messages import Incoming, Kind, Option, Reply
from handlers.positions import (
    HOME,
    ComplaintStep,
    FlowName,
    RegistrationStep,
    complaint,
    registration,
)
from handlers.registration import SKIP_WORDS
from handlers.start import REGISTER, consent_then
from handlers.steps import Context, Expect, Flow, Outcome, Step, StepRef, no_options, options_of
from storage import complaints as stored
from storage import places
from storage.complaints import ComplaintKind, Item

CATEGORY = button("cat", name=NAME)  # a category of pengaduan, by its code in the data


def open_complaints(ctx: Context) -> Outcome:
    """Opens the chooser of Masukan & pengaduan."""
    return Outcome(goto=complaint(ComplaintStep.CHOOSE), data={})


# -- choose --------------------------------------------------------------------------------------


def choose_options(ctx: Context) -> tuple[Option, ...]:
    """Return the kinds of report, the status and the menu."""
    _ = ctx.gettext
    return options_of(
        ("cp:ADU", _("Complaint"), "pengaduan|aduan|lapor|keluhan|complaint"),
        ("cp:USL", _("Propose a recipient"), "usul|usulan|propose", _("Propose someone")),
        ("cp:SGH", _("Dispute a recipient"), "sanggah|sanggahan|dispute", _("Dispute someone")),
        ("cp:SRN", _("Suggest a program idea"), "saran|ide|idea|suggestion", _("Program idea")),
        (
            "cp:status",
            _("Check report status"),
            "status|cek status|check status|status aduan|cek aduan|lacak|track",
        ),
        ("cp:feedback", _("Give feedback"), "beri masukan|masukan|nilai|rating|feedback"),
        ("cp:menu", _("Main menu"), "menu"),
    )


def ask_choose(ctx: Context) -> Reply:
    """Explains the four kinds of report and feedback, and asks which."""
    _ = ctx.gettext
    text = _(
        "Feedback and complaints. What would you like to do?\n"
        "• Complaint: something went wrong with assistance or a service (wrong recipients, "
        "cuts or illegal levies, schedules, wrong data).\n"
        "• Propose a recipient: someone in need who does not get assistance yet.\n"
        "• Dispute a recipient: someone in your kelurahan who gets assistance but should not.\n"
        "• Program idea: a suggestion to improve the programs.\n"
        "Each report gets a tracking number, and officers reply here."
    )
    more = _("• Give feedback: a score from 1 to 5 for a program or this service.")
    shown = f"{text}\n{more}"
    return Reply(shown, choose_options(ctx))


def take_choose(ctx: Context, msg: Incoming) -> Outcome:
    """Starts the chosen report, or asks for a tracking number."""
    key = (msg.option or "").removeprefix("cp:")
    if key == "menu":
        return Outcome(goto=HOME, data={})
    if key == "status":
        return Outcome(goto=complaint(ComplaintStep.STATUS), data={})
    if key == "feedback":
        return masukan.open_masukan(ctx)
    kind = ComplaintKind(key)
    data = {"kind": kind.value}
    if kind == ComplaintKind.COMPLAINT:
        first = complaint(ComplaintStep.CATEGORY)
    elif kind == ComplaintKind.SUGGESTION:
        first = complaint(ComplaintStep.TEXT)
    else:  # usul and sanggah: the kelurahan checks them with the one who sent them
        first = complaint(ComplaintStep.NAME)
        signup = signup_first(ctx, first, data)
        if signup is not None:
            return signup
    if ctx.resident.consent_at is None:
        _ = ctx.gettext
        text = _("Before you write, please read and agree to how we keep your data.")
        return consent_then(ctx, text, first, data)
    return Outcome(goto=first, data=data)


def signup_first(ctx: Context, then: StepRef, data: dict) -> Outcome | None:
    """Send a resident without a completed profile to consent and registration, and back to
    `then` after; None when the profile is complete."""
    if ctx.resident.registered:
        return None
    _ = ctx.gettext
    text = _(
        "For this we need your name, kelurahan and RW, so that the kelurahan can check the "
        "report with you. It takes a minute."
    )
    signup = {"mode": REGISTER, "then": resume_after(then, data)}
    name = registration(RegistrationStep.NAME)
    if ctx.resident.consent_at is None:
        return consent_then(ctx, text, name, signup)
    return Outcome([Reply(text)], goto=name, data=signup)


# -- category ------------------------------------------------------------------------------------


def category_options(ctx: Context) -> tuple[Option, ...]:
    """Return the categories of pengaduan from the data."""
    return options_of(
        *(
            (
                CATEGORY.encode(name=found.code),
                found.label(ctx.language),
                choice_words("complaint", found.code),
                found.short(ctx.language),
            )
            for found in stored.categories()
        )
    )


def ask_category(ctx: Context) -> Reply:
    """Asks what the complaint is about."""
    _ = ctx.gettext
    return Reply(_("What is your complaint about?"), category_options(ctx))


def take_category(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the category and asks for the complaint."""
    chosen = CATEGORY.decode(msg.option)
    code = chosen["name"] if chosen else ""
    if stored.category(code) is None:
        return Outcome()
    ctx.data["category"] = code
    return Outcome(goto=complaint(ComplaintStep.TEXT))


# -- text ----------------------------------------------------------------------------------------


def ask_text(ctx: Context) -> Reply:
    """Asks for the complaint, the reason or the idea."""
    _ = ctx.gettext
    kind = kind_of(ctx)
    name = ctx.data.get("name", "-")
    if kind == ComplaintKind.COMPLAINT:
        text = _(
            "Please tell us what happened: what, where and when. Names of officers or places "
            "help us check it."
        )
    elif kind == ComplaintKind.PROPOSAL:
        text = _(
            "Why does {name} need assistance? For example their work, income, family or housing."
        ).format(name=name)
    elif kind == ComplaintKind.DISPUTE:
        text = _(
            "Why should {name} not receive assistance? For example a steady good income, a "
            "car, or having moved away."
        ).format(name=name)
    else:
        text = _("What is your idea? Which program or service would it improve, and how?")
    limit = _("Please write at most {limit} characters.").format(limit=stored.MAX_TEXT)
    shown = f"{text}\n{limit}"
    return Reply(shown)


def take_text(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the text and goes on."""
    _ = ctx.gettext
    text = msg.text.strip()
    if len(text) > stored.MAX_TEXT:
        reply = _(
            "Your message has {count} characters; at most {limit} fit. Please shorten it."
        ).format(count=len(text), limit=stored.MAX_TEXT)
        return Outcome([Reply(reply)], ask=False)
    if holds_nik(text):
        return nik_refused(ctx)
    ctx.data["text"] = text
    kind = kind_of(ctx)
    if kind in (ComplaintKind.COMPLAINT, ComplaintKind.DISPUTE):
        return Outcome(goto=complaint(ComplaintStep.PHOTO))
    if kind == ComplaintKind.SUGGESTION:
        return Outcome(goto=complaint(ComplaintStep.ANONYMOUS))
    return Outcome(goto=complaint(ComplaintStep.CONFIRM))


# -- photo ---------------------------------------------------------------------------------------


def photo_options(ctx: Context) -> tuple[Option, ...]:
    """Return skip."""
    _ = ctx.gettext
    return options_of(("photo:skip", _("Skip"), SKIP_WORDS))


def ask_photo(ctx: Context) -> Reply:
    """Asks for an optional photo as evidence."""
    _ = ctx.gettext
    text = _(
        "If you have a photo as evidence, send it now (one photo). If not, tap “Skip”. "
        "Please make sure it does not show anyone's KTP or KK."
    )
    return Reply(text, photo_options(ctx))


def take_photo(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the photo's id, or skips it, and goes on."""
    _ = ctx.gettext
    if msg.kind == Kind.PHOTO:
        if not msg.media_id:
            text = _("Sorry, that photo could not be kept. Please send it again, or tap “Skip”.")
            return Outcome([Reply(text)])
        # with its platform, so staff on another one can be shown it (bot/channels/media.py)
        ctx.data["photo"] = f"{msg.channel}:{msg.media_id}"[:255]
    elif msg.option == "photo:skip":
        ctx.data.pop("photo", None)
    else:
        return Outcome([Reply(_("Please send a photo, or tap “Skip”."))])
    if kind_of(ctx) == ComplaintKind.DISPUTE:
        return Outcome(goto=complaint(ComplaintStep.CONFIRM))
    return Outcome(goto=complaint(ComplaintStep.ANONYMOUS))


# -- anonymous -----------------------------------------------------------------------------------


def anonymous_options(ctx: Context) -> tuple[Option, ...]:
    """Return anonymous and with my name."""
    _ = ctx.gettext
    return options_of(
        ("anon:yes", _("Yes, anonymous"), f"anonim|anonymous|{YES_WORDS}"),
        ("anon:no", _("No, use my name"), f"nama|name|{NO_WORDS}"),
    )


def ask_anonymous(ctx: Context) -> Reply:
    """Explains what anonymous means and asks whether to send it so."""
    _ = ctx.gettext
    text = _(
        "Send it anonymously?\n"
        "• Anonymous: the officers do not see your name, phone number or RW. Their reply still "
        "comes to you here.\n"
        "• With your name: the officers see your name, kelurahan, RW and phone number, so "
        "they can ask you for details."
    )
    return Reply(text, anonymous_options(ctx))


def take_anonymous(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the choice; with the name, registration first; anonymous, the kelurahan if we do
    not know it."""
    anonymous = msg.option == "anon:yes"
    ctx.data["anonymous"] = anonymous
    confirm = complaint(ComplaintStep.CONFIRM)
    if not anonymous:
        return signup_first(ctx, confirm, ctx.data) or Outcome(goto=confirm)
    if ctx.resident.kelurahan_code is None:
        return Outcome(goto=complaint(ComplaintStep.KELURAHAN))
    return Outcome(goto=confirm)


# -- confirm -------------------------------------------------------------------------------------


def confirm_options(ctx: Context) -> tuple[Option, ...]:
    """Return send and cancel."""
    _ = ctx.gettext
    return yes_no(ctx, "send", _("Send"), _("Cancel"))


def kelurahan_of(ctx: Context) -> str | None:
    """Return the kelurahan a report goes to: the one named, else the resident's."""
    return ctx.data.get("kelurahan") or ctx.resident.kelurahan_code


def summary(ctx: Context) -> str:
    """Sum up the report before it is sent."""
    _ = ctx.gettext
    data = ctx.data
    kind = kind_of(ctx)
    shown_kind = kind_label(kind, ctx.language)
    lines = [_("Please check your report:"), _("Kind: {kind}").format(kind=shown_kind)]
    if kind == ComplaintKind.COMPLAINT:
        category = category_label(data.get("category"), ctx.language)
        lines.append(_("About: {category}").format(category=category))
    if kind in (ComplaintKind.PROPOSAL, ComplaintKind.DISPUTE):
        place = places.get_kelurahan(db=ctx.db, code=data.get("kelurahan"))
        lines.append(
            _("Person: {name}, RW {rw}, Kelurahan {kelurahan}").format(
                name=data.get("name", "-"),
                rw=f"{int(data.get('rw') or 0):03d}",
                kelurahan=place.name if place else "-",
            )
        )
    lines.append(_("Text: {text}").format(text=data.get("text", "-")))
    if kind in (ComplaintKind.COMPLAINT, ComplaintKind.DISPUTE):
        lines.append(_("Photo: attached") if data.get("photo") else _("Photo: none"))
    if data.get("anonymous"):
        lines.append(_("Sent anonymously: officers do not see who you are."))
    elif kind in (ComplaintKind.COMPLAINT, ComplaintKind.SUGGESTION):
        lines.append(_("Sent with your name: {name}").format(name=ctx.resident.name or "-"))
    return "\n".join(lines)


def ask_confirm(ctx: Context) -> Reply:
    """Shows the report and asks to send it."""
    _ = ctx.gettext
    shown = f"{summary(ctx)}\n\n" + _("Send this report?")
    return Reply(shown, confirm_options(ctx))


def take_confirm(ctx: Context, msg: Incoming) -> Outcome:
    """Files the report and gives its tracking number and response time, or drops it."""
    _ = ctx.gettext
    if msg.option == "send:no":
        return Outcome([Reply(_("Not sent. Nothing was saved."))], goto=HOME, data={})
    data = ctx.data
    kind = kind_of(ctx)
    named = kind in (ComplaintKind.PROPOSAL, ComplaintKind.DISPUTE)
    needed = ("text", "name", "rw", "kelurahan") if named else ("text",)
    anonymous = bool(data.get("anonymous"))
    if any(key not in data for key in needed):  # answers lost: start again
        return Outcome(goto=complaint(ComplaintStep.CHOOSE), data={})
    if not anonymous and not ctx.resident.registered:  # erased meanwhile, or never did
        return signup_first(ctx, complaint(ComplaintStep.CONFIRM), data) or Outcome()
    item = stored.file(
        db=ctx.db,
        kind=kind,
        resident_id=ctx.resident.id,
        text=data["text"],
        now=ctx.now,
        time_zone=ctx.config.time_zone,
        kelurahan_code=kelurahan_of(ctx),
        category=data.get("category"),
        subject_name=data.get("name"),
        rw=data.get("rw"),
        photo_file_id=data.get("photo"),
        anonymous=anonymous,
    )
    return Outcome([Reply(filed_text(ctx, item))], goto=HOME, data={})


def filed_text(ctx: Context, item: Item) -> str:
    """Say that a report is in, with its number and when it will be verified."""
    _ = ctx.gettext
    return _(
        "Thank you, your report has been received.\n"
        "Tracking number: {ref}\n"
        "It will be verified within 3 working days, by {day}. Please keep this number: "
        "the officers' reply comes here, and you can check it any time with “Check report "
        "status”."
    ).format(ref=item.ref, day=ctx.day(item.due_at))


COMPLAINT = Flow(
    FlowName.COMPLAINT,
    {
        ComplaintStep.CHOOSE: Step(ask_choose, take_choose, options=choose_options),
        ComplaintStep.CATEGORY: Step(ask_category, take_category, options=category_options),
        ComplaintStep.NAME: Step(ask_name, take_name, Expect.TEXT, options=no_options),
        ComplaintStep.KELURAHAN: Step(ask_kelurahan, take_kelurahan, options=kelurahan_options),
        ComplaintStep.RW: Step(ask_rw, take_rw, Expect.TEXT, options=no_options),
        ComplaintStep.TEXT: Step(ask_text, take_text, Expect.TEXT, options=no_options),
        ComplaintStep.PHOTO: Step(
            ask_photo, take_photo, Expect.TEXT, frozenset({Kind.PHOTO}), options=photo_options
        ),
        ComplaintStep.ANONYMOUS: Step(ask_anonymous, take_anonymous, options=anonymous_options),
        ComplaintStep.CONFIRM: Step(ask_confirm, take_confirm, options=confirm_options),
        ComplaintStep.STATUS: Step(ask_status, take_status, Expect.TEXT, options=status_options),
    },
)
