"""Who an usul (a proposed recipient) or a sanggah (a disputed one) is about: a name, a
kelurahan and an RW; never a NIK."""

from handlers.complaint_words import holds_nik, kind_of, nik_refused
from handlers.messages import Incoming, Option, Reply
from handlers.places_typed import rw_number
from handlers.positions import ComplaintStep, complaint
from handlers.registration import clean_name
from handlers.steps import Context, Outcome, options_of
from storage import places
from storage.complaints import ComplaintKind


def ask_name(ctx: Context) -> Reply:
    """Asks for the name of the person proposed or disputed."""
    _ = ctx.gettext
    if kind_of(ctx) == ComplaintKind.PROPOSAL:
        text = _("Who do you propose? Please write their full name, as far as you know it.")
    else:
        text = _(
            "Which recipient do you dispute? Please write their full name. Only recipients in "
            "your own kelurahan can be disputed."
        )
    hint = _("Do not write their NIK: we do not need it.")
    shown = f"{text}\n{hint}"
    return Reply(shown)


def take_name(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the name and asks where the person lives."""
    _ = ctx.gettext
    if holds_nik(msg.text):
        return nik_refused(ctx)
    name = clean_name(msg.text)
    if name is None:
        text = _("Please write the name with letters only, for example: Siti Aminah.")
        return Outcome([Reply(text)])
    ctx.data["name"] = name
    if kind_of(ctx) == ComplaintKind.DISPUTE:
        ctx.data["kelurahan"] = ctx.resident.kelurahan_code
        return Outcome(goto=complaint(ComplaintStep.RW))
    return Outcome(goto=complaint(ComplaintStep.KELURAHAN))


def kelurahan_options(ctx: Context) -> tuple[Option, ...]:
    """Return the kelurahan of Duren Sawit."""
    found = places.list_kelurahan(db=ctx.db)
    return options_of(*((f"kel:{place.code}", place.name) for place in found))


def ask_kelurahan(ctx: Context) -> Reply:
    """Asks which kelurahan the person (or the complaint) is in."""
    _ = ctx.gettext
    if kind_of(ctx) == ComplaintKind.PROPOSAL:
        text = _("In which kelurahan does {name} live?").format(name=ctx.data.get("name", "-"))
    else:
        text = _("Which kelurahan is this about? It goes to the officers of that kelurahan.")
    return Reply(text, kelurahan_options(ctx))


def take_kelurahan(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the kelurahan and goes on."""
    code = (msg.option or "").removeprefix("kel:")
    if places.get_kelurahan(db=ctx.db, code=code) is None:
        return Outcome()
    ctx.data["kelurahan"] = code
    if kind_of(ctx) == ComplaintKind.PROPOSAL:
        return Outcome(goto=complaint(ComplaintStep.RW))
    return Outcome(goto=complaint(ComplaintStep.CONFIRM))


def ask_rw(ctx: Context) -> Reply:
    """Asks for the RW of the person."""
    _ = ctx.gettext
    code = ctx.data.get("kelurahan") or ""
    kelurahan = places.get_kelurahan(db=ctx.db, code=code)
    numbers = places.rw_numbers(db=ctx.db, kelurahan_code=code)
    if kelurahan is None or not numbers:
        return Reply(
            _("In which RW does {name} live? Type the number.").format(
                name=ctx.data.get("name", "-")
            )
        )
    text = _(
        "In which RW does {name} live? Kelurahan {kelurahan} has RW {first} to {last}. Type the "
        "number."
    ).format(
        name=ctx.data.get("name", "-"),
        kelurahan=kelurahan.name,
        first=f"{numbers[0]:03d}",
        last=f"{numbers[-1]:03d}",
    )
    return Reply(text)


def take_rw(ctx: Context, msg: Incoming) -> Outcome:
    """Checks the RW against the kelurahan and asks for the reason."""
    _ = ctx.gettext
    code = ctx.data.get("kelurahan") or ""
    numbers = places.rw_numbers(db=ctx.db, kelurahan_code=code)
    if not numbers:  # the kelurahan is gone or unknown: start again
        return Outcome(goto=complaint(ComplaintStep.CHOOSE), data={})
    number = rw_number(msg.text)
    if number is None or number not in numbers:
        text = _("Please type an RW number from {first} to {last}.").format(
            first=f"{numbers[0]:03d}", last=f"{numbers[-1]:03d}"
        )
        return Outcome([Reply(text)])
    ctx.data["rw"] = number
    return Outcome(goto=complaint(ComplaintStep.TEXT))
