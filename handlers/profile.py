"""“My profile”: see and change what is stored, stop announcements, erase everything."""

from handlers.messages import Incoming, Reply
from handlers.notices import queue_promotion
from handlers.positions import (
    CONSENT,
    ERASE,
    HOME,
    EraseStep,
    FlowName,
    ProfileStep,
    RegistrationStep,
    registration,
)
from handlers.registration import to_kelurahan
from handlers.reminders import open_reminders
from handlers.start import LANGUAGE_NAMES, REGISTER
from handlers.steps import Context, Flow, Outcome, Step, options_of
from storage import applications, health, places, reminders, residents, training
from storage.erasure import erase_resident

EDIT = "edit"


def ask_profile(ctx: Context) -> Reply:
    """Shows what is stored about the resident and what they can change."""
    _ = ctx.gettext
    resident = ctx.resident
    language = LANGUAGE_NAMES[resident.language]
    announcements = _("off") if resident.opted_out else _("on")
    if not resident.registered:
        lead = (
            _("You have agreed to the privacy notice, but registration is not finished.")
            if resident.consent_at
            else _("You are not registered.")
        )
        text = _(
            "{lead}\nWe keep only your chat ID and these choices:\n"
            "Language: {language}\nAnnouncements: {announcements}"
        ).format(lead=lead, language=language, announcements=announcements)
        label = _("Continue sign-up") if resident.consent_at else _("Register")
        choices = [
            ("profile:register", label),
            ("profile:reminders", _("My reminders")),
            ("profile:erase", _("Erase my data")),
            ("profile:menu", _("Back to menu")),
        ]
        return Reply(text, options_of(*choices))
    kelurahan = places.get_kelurahan(db=ctx.db, code=resident.kelurahan_code)
    text = _(
        "Your data with us:\n"
        "Name: {name}\n"
        "Kelurahan: {kelurahan}, RW {rw}\n"
        "Phone: {phone}\n"
        "Language: {language}\n"
        "Announcements: {announcements}\n"
        "Privacy notice agreed on: {consent}"
    ).format(
        name=resident.name,
        kelurahan=kelurahan.name if kelurahan else "-",
        rw=f"{resident.rw:03d}" if resident.rw else "-",
        phone=ctx.phone(resident.phone),
        language=language,
        announcements=announcements,
        consent=ctx.moment(resident.consent_at),
    )
    toggle = _("Receive announcements") if resident.opted_out else _("Stop announcements")
    choices = [
        ("profile:name", _("Change name")),
        ("profile:kelurahan", _("Change kelurahan/RW")),
        ("profile:phone", _("Change phone number")),
        ("profile:announcements", toggle),
        ("profile:reminders", _("My reminders")),
        ("profile:erase", _("Erase my data")),
        ("profile:menu", _("Back to menu")),
    ]
    return Reply(text, options_of(*choices))


def take_profile(ctx: Context, msg: Incoming) -> Outcome:
    """Opens the chosen change."""
    _ = ctx.gettext
    edits = {
        "profile:name": RegistrationStep.NAME,
        "profile:phone": RegistrationStep.PHONE,
    }
    key = msg.option
    if key == "profile:kelurahan":
        return to_kelurahan(ctx, {"mode": EDIT})
    if key in edits:
        return Outcome(goto=registration(edits[key]), data={"mode": EDIT})
    if key == "profile:register":
        if ctx.resident.consent_at is None:
            return Outcome(goto=CONSENT)
        return Outcome(goto=registration(RegistrationStep.NAME), data={"mode": REGISTER})
    if key == "profile:announcements":
        return Outcome([Reply(set_announcements(ctx, on=ctx.resident.opted_out))])
    if key == "profile:reminders":
        return open_reminders(ctx)
    if key == "profile:erase":
        return Outcome(goto=ERASE)
    return Outcome(goto=HOME)


def set_announcements(ctx: Context, *, on: bool) -> str:
    """Turn announcements on or off; return what to tell the resident."""
    _ = ctx.gettext
    residents.update_profile(db=ctx.db, profile=ctx.resident, now=ctx.now, opted_out=not on)
    if on:
        return _("You will receive announcements again.")
    return _(
        "You will not receive announcements any more. Reminders you asked for still come. "
        "Type mulai to receive announcements again."
    )


def stored_items(ctx: Context) -> list[str]:
    """Name what is stored about the resident, for the erasure question and answer."""
    _ = ctx.gettext
    resident = ctx.resident
    items = [_("your chat ID"), _("your language choice")]
    if resident.consent_at:
        items.append(_("your consent to the privacy notice"))
    named = [
        (resident.name, _("your name")),
        (resident.kelurahan_code, _("kelurahan and RW")),
        (resident.phone, _("phone number")),
    ]
    items += [label for value, label in named if value]
    held = [
        (
            training.of_resident(db=ctx.db, resident_id=resident.id, now=ctx.now),
            _("your course enrolments"),
        ),
        (
            health.of_resident(db=ctx.db, resident_id=resident.id, now=ctx.now),
            _("your health bookings"),
        ),
        (applications.of_resident(db=ctx.db, resident_id=resident.id), _("your applications")),
        (reminders.pending_of(db=ctx.db, resident_id=resident.id), _("your reminders")),
    ]
    items += [label for found, label in held if found]
    items.append(_("the conversation in progress"))
    return items


def ask_erase(ctx: Context) -> Reply:
    """Says what erasure removes and asks for confirmation."""
    _ = ctx.gettext
    text = _("This erases all your data with us: {items}. It cannot be undone. Continue?").format(
        items=", ".join(stored_items(ctx))
    )
    choices = [
        ("erase:yes", _("Yes, erase my data"), "ya|iya|y|hapus|yes"),
        ("erase:no", _("No, keep it"), "tidak|tdk|gak|nggak|jangan|no|keep"),
    ]
    return Reply(text, options_of(*choices))


def take_erase(ctx: Context, msg: Incoming) -> Outcome:
    """Erases everything about the resident, or keeps it."""
    _ = ctx.gettext
    if msg.option != "erase:yes":
        return Outcome([Reply(_("Nothing was erased."))], goto=HOME)
    items = stored_items(ctx)
    erased = erase_resident(db=ctx.db, resident_id=ctx.resident.id, now=ctx.now)
    for promoted, batch in erased.promoted:  # a seat they held goes to the next in line
        queue_promotion(
            db=ctx.db,
            resident_id=promoted,
            batch=batch,
            now=ctx.now,
            time_zone=ctx.config.time_zone,
        )
    ctx.erased = True
    text = _(
        "Your data has been erased: {items}. Thank you for using this service. Type mulai "
        "at any time to start again."
    ).format(items=", ".join(items))
    return Outcome([Reply(text)], ask=False)


PROFILE_FLOW = Flow(FlowName.PROFILE, {ProfileStep.VIEW: Step(ask_profile, take_profile)})
ERASE_FLOW = Flow(FlowName.ERASE, {EraseStep.CONFIRM: Step(ask_erase, take_erase)})
