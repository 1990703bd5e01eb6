"""Registration (name, kelurahan, RW, optional phone); the profile reuses each step to edit."""

import re
import unicodedata

from handlers.messages import Incoming, Kind, Option, Reply, Request
from handlers.places_typed import rw_number
from handlers.positions import HOME, PROFILE, FlowName, RegistrationStep, registration
from handlers.start import REGISTER
from handlers.steps import Context, Expect, Flow, Outcome, Step, StepRef, no_options, options_of
from storage import places, residents

NAME_MAX = 100
SKIP_WORDS = (
    "lewati|lewat|skip|tidak|tidak ada|tdk ada|gak ada|ga ada|nggak ada|tidak punya|"
    "gak punya|ga punya|nanti|nanti saja|tanpa nomor|belum ada|no|none|no number|no phone|"
    "i don t have one|later"
)
_SPACES = re.compile(r"\s+")
_PHONE_NOISE = re.compile(r"[\s\-.()]")
_MOBILE = re.compile(r"^8[0-9]{8,11}$")  # after the country code or the leading 0


def clean_name(text: str) -> str | None:
    """Return a tidy name, or None when it is not a plausible name."""
    name = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    letters = sum(1 for char in name if char.isalpha())
    allowed = all(
        char.isalpha() or char in " .,'’‘-" or unicodedata.category(char) == "Mn" for char in name
    )
    if not allowed or letters < 2 or len(name) > NAME_MAX:
        return None
    return name


def clean_phone(text: str) -> str | None:
    """Return an Indonesian mobile number as +628…, or None."""
    digits = _PHONE_NOISE.sub("", text)
    for prefix in ("+62", "62", "0"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
            break
    else:
        return None
    return f"+62{digits}" if _MOBILE.match(digits) else None


def editing(ctx: Context) -> bool:
    """Tell whether the steps edit a profile rather than register."""
    return ctx.data.get("mode") != REGISTER


def saved(ctx: Context, text: str) -> Outcome:
    """Go back to the profile after an edit, saying what changed."""
    return Outcome([Reply(text)], goto=PROFILE)


def ask_name(ctx: Context) -> Reply:
    """Asks for the resident's name."""
    _ = ctx.gettext
    return Reply(_("What is your full name, as on your KTP?"))


def take_name(ctx: Context, msg: Incoming) -> Outcome:
    """Checks and keeps the name, then asks for the kelurahan."""
    _ = ctx.gettext
    if len(msg.text.strip()) > NAME_MAX:
        return Outcome(
            [
                Reply(
                    _("That name is too long. Please write at most {count} characters.").format(
                        count=NAME_MAX
                    )
                )
            ]
        )
    name = clean_name(msg.text)
    if name is None:
        return Outcome(
            [Reply(_("Please write your name with letters only, for example: Siti Aminah."))]
        )
    if editing(ctx):
        residents.update_profile(db=ctx.db, profile=ctx.resident, now=ctx.now, name=name)
        return saved(ctx, _("Your name has been changed."))
    ctx.data["name"] = name
    return to_kelurahan(ctx)


def to_kelurahan(ctx: Context, data: dict | None = None) -> Outcome:
    """Go to the kelurahan question, or say why registration cannot go on."""
    _ = ctx.gettext
    if not places.list_kelurahan(db=ctx.db):  # no kelurahan loaded: nothing to choose from
        text = _(
            "Sorry, the list of kelurahan is not loaded yet, so this cannot be done now. "
            "Please try again later or contact your kelurahan office."
        )
        return Outcome([Reply(text)], goto=HOME)
    return Outcome(goto=registration(RegistrationStep.KELURAHAN), data=data)


def ask_kelurahan(ctx: Context) -> Reply:
    """Asks which kelurahan the resident lives in."""
    _ = ctx.gettext
    found = places.list_kelurahan(db=ctx.db)
    options = options_of(*((f"kel:{place.code}", place.name) for place in found))
    return Reply(_("Which kelurahan do you live in?"), options)


def take_kelurahan(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the kelurahan and asks for the RW."""
    code = (msg.option or "").removeprefix("kel:")
    if places.get_kelurahan(db=ctx.db, code=code) is None:
        return Outcome()  # the list changed under an old button: ask again
    ctx.data["kelurahan"] = code
    return Outcome(goto=registration(RegistrationStep.RW))


def ask_rw(ctx: Context) -> Reply:
    """Asks for the RW, naming the ones the kelurahan has."""
    _ = ctx.gettext
    code = ctx.data.get("kelurahan", "")
    kelurahan = places.get_kelurahan(db=ctx.db, code=code)
    numbers = places.rw_numbers(db=ctx.db, kelurahan_code=code)
    if kelurahan is None or not numbers:
        return Reply(_("Which RW do you live in? Type the number, for example 5."))
    return Reply(
        _(
            "Which RW do you live in? Kelurahan {kelurahan} has RW {first} to {last}. "
            "Type the number, for example {example}."
        ).format(
            kelurahan=kelurahan.name,
            first=f"{numbers[0]:03d}",
            last=f"{numbers[-1]:03d}",
            example=numbers[min(4, len(numbers) - 1)],
        )
    )


def take_rw(ctx: Context, msg: Incoming) -> Outcome:
    """Checks the RW against the kelurahan's list and asks for a phone number."""
    _ = ctx.gettext
    code = ctx.data.get("kelurahan", "")
    numbers = places.rw_numbers(db=ctx.db, kelurahan_code=code)
    if not numbers:  # the kelurahan is gone (data reloaded): choose it again
        return to_kelurahan(ctx)
    number = rw_number(msg.text)
    if number is None:
        return Outcome([Reply(_("Please type only the number of your RW, for example 5."))])
    if number not in numbers:
        kelurahan = places.get_kelurahan(db=ctx.db, code=code)
        text = _(
            "There is no RW {number} in Kelurahan {kelurahan}. Please type a number from "
            "{first} to {last}."
        ).format(
            number=f"{number:03d}",
            kelurahan=kelurahan.name,
            first=f"{numbers[0]:03d}",
            last=f"{numbers[-1]:03d}",
        )
        return Outcome([Reply(text)])
    if editing(ctx):
        residents.update_profile(
            db=ctx.db, profile=ctx.resident, now=ctx.now, kelurahan_code=code, rw=number
        )
        return saved(ctx, _("Your kelurahan and RW have been changed."))
    ctx.data["rw"] = number
    return Outcome(goto=registration(RegistrationStep.PHONE))


def phone_options(ctx: Context) -> tuple[Option, ...]:
    """Return the phone question's options, with the words people use to skip it."""
    _ = ctx.gettext
    choices = [("phone:skip", _("Skip"), SKIP_WORDS)]
    if editing(ctx) and ctx.resident.phone:
        choices.append(("phone:remove", _("Remove my number"), "hapus nomor|remove"))
    return options_of(*choices)


def ask_phone(ctx: Context) -> Reply:
    """Asks for an optional phone number, with a button to share it."""
    _ = ctx.gettext
    text = _(
        "May we have your mobile number? We use it only to contact you about these services. "
        "Type it (for example 081234567890), share your contact, or choose Skip."
    )
    label = _("Share my number")
    return Reply(text, phone_options(ctx), request=Request.PHONE, request_label=label)


def take_phone(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the number (or none) and finishes registration."""
    _ = ctx.gettext
    skip = msg.option == "phone:skip" or msg.text.strip() in {"-", "--", "0"}
    if msg.kind == Kind.CONTACT:
        if not msg.contact_is_own:
            return Outcome([Reply(_("Please share your own contact, or type your number."))])
        phone = clean_phone(msg.phone or "")
    elif skip:
        if editing(ctx):
            return saved(ctx, _("Your phone number was not changed."))
        phone = None
    elif msg.option == "phone:remove":
        residents.update_profile(db=ctx.db, profile=ctx.resident, now=ctx.now, phone=None)
        return saved(ctx, _("Your phone number has been removed."))
    else:
        phone = clean_phone(msg.text)
    if phone is None and not skip:
        text = _(
            "That does not look like a mobile number. Please type it like 081234567890, "
            "or choose Skip."
        )
        return Outcome([Reply(text)])
    # the platform vouches for their own contact, or for the number they write from
    vouched = phone is not None and (
        (msg.kind == Kind.CONTACT and msg.contact_is_own) or phone == msg.sender_phone
    )
    if editing(ctx):
        residents.update_profile(
            db=ctx.db, profile=ctx.resident, now=ctx.now, phone=phone, phone_verified=vouched
        )
        return saved(ctx, _("Your phone number has been changed."))
    return finish(ctx, phone, vouched)


def finish(ctx: Context, phone: str | None, vouched: bool = False) -> Outcome:
    """Stores the registration and shows the menu."""
    _ = ctx.gettext
    kelurahan = places.get_kelurahan(db=ctx.db, code=ctx.data["kelurahan"])
    residents.register(
        db=ctx.db,
        profile=ctx.resident,
        name=ctx.data["name"],
        kelurahan_code=kelurahan.code,
        rw=ctx.data["rw"],
        phone=phone,
        now=ctx.now,
        phone_verified=vouched,
    )
    text = _(
        "Thank you, {name}. Your registration is complete:\n"
        "Kelurahan {kelurahan}, RW {rw}\n"
        "Phone: {phone}\n"
        "You can see and change this at any time in “My profile”."
    ).format(
        name=ctx.data["name"],
        kelurahan=kelurahan.name,
        rw=f"{ctx.data['rw']:03d}",
        phone=ctx.phone(phone),
    )
    then = ctx.data.get("then")
    if then:  # registration was asked for by a service: back to it
        return Outcome([Reply(text)], goto=StepRef(then["flow"], then["step"]), data=then["data"])
    return Outcome([Reply(text)], goto=HOME)


REGISTRATION = Flow(
    FlowName.REGISTRATION,
    {
        RegistrationStep.NAME: Step(ask_name, take_name, Expect.TEXT, options=no_options),
        RegistrationStep.KELURAHAN: Step(ask_kelurahan, take_kelurahan),
        RegistrationStep.RW: Step(ask_rw, take_rw, Expect.TEXT, options=no_options),
        RegistrationStep.PHONE: Step(ask_phone, take_phone, Expect.PHONE, options=phone_options),
    },
)
