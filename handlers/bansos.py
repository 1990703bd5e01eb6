"""Cek status bansos: is this NIK and name in the registry, for which programs, what next.

The NIK never leaves this module in clear: the conversation keeps its keyed hash and last four
digits only. "Not found" and "name does not match" get the same answer, so nobody learns
whether a NIK is in the registry without also knowing the name on its KTP.
"""

import re
from datetime import datetime, timedelta

from handlers.answers import register_first, yes_no
from handlers.bansos_limits import refuse, tripped
from handlers.formatting import mask_tail
from handlers.messages import Incoming, Option, Reply
from handlers.positions import (
    HOME,
    BansosStep,
    FlowName,
    SembakoStep,
    bansos,
    sembako,
)
from handlers.programs import program_block
from handlers.registration import NAME_MAX, clean_name
from handlers.steps import (
    Context,
    Expect,
    Flow,
    Outcome,
    Step,
    StepRef,
    no_options,
    options_of,
)
from storage import places, registry, residents, schedules
from storage.identity import NikProblem, check_nik, keyed_hash, name_hash, nik_hash
from storage.registry import CheckOutcome, Status

WINDOW = timedelta(hours=24)
# a NIK inside a sentence: "NIK saya 3175 0745 0885 0001"
_DIGIT_RUN = re.compile(r"\d[\d .\-]{8,}\d")
_LETTER_BY_DIGIT = re.compile(r"[^\W\d_]\d|\d[^\W\d_]")  # "3175O747…": a typo, not a sentence


def actor(ctx: Context) -> str:
    """Return the keyed hash of the chat identity, which the daily limit also counts by."""
    identity = ctx.identity
    return keyed_hash(ctx.config.nik_key, "actor", f"{identity.channel}:{identity.external_id}")


def next_check(ctx: Context) -> datetime | None:
    """Return when the resident may check again, or None when they may check now."""
    return registry.next_check_at(
        db=ctx.db,
        resident_id=ctx.resident.id,
        actor_hash=actor(ctx),
        now=ctx.now,
        limit=ctx.config.status_checks_per_day,
        window=WINDOW,
    )


def next_minute(at: datetime) -> datetime:
    """Round a moment up to the minute, so the time shown is never a little too early."""
    whole = at.replace(second=0, microsecond=0)
    return whole if whole == at else whole + timedelta(minutes=1)


def limited(ctx: Context, at: datetime) -> Outcome:
    """Refuse a check beyond the daily limit, saying when the next one is possible."""
    _ = ctx.gettext
    registry.record_check(
        db=ctx.db,
        resident_id=ctx.resident.id,
        channel=ctx.identity.channel,
        actor_hash=actor(ctx),
        outcome=CheckOutcome.LIMITED,
        now=ctx.now,
    )
    text = _(
        "You have made {limit} checks in the last 24 hours, the most we allow, to protect "
        "residents' data. You can check again from {moment}."
    ).format(limit=ctx.config.status_checks_per_day, moment=ctx.moment(next_minute(at)))
    return Outcome([Reply(text)], goto=HOME)


def open_check(ctx: Context) -> Outcome:
    """Starts a status check: a completed registration first (consent, name, kelurahan, RW),
    then the resident's daily limit and all residents' limit, then the NIK."""
    _ = ctx.gettext
    if not ctx.resident.registered:
        text = _(
            "To check bansos status we first need your agreement to how we use data, and your "
            "name, kelurahan and RW. It takes a minute; then we go on with the check."
        )
        return register_first(ctx, bansos(BansosStep.NIK), text=text)
    return checks_left(ctx) or Outcome(goto=bansos(BansosStep.NIK))


def checks_left(ctx: Context) -> Outcome | None:
    """Return the refusal when the resident's or all residents' limit is reached, else None."""
    at = next_check(ctx)
    if at is not None:
        return limited(ctx, at)
    window = tripped(ctx)
    if window is not None:
        return refuse(ctx, window, actor(ctx))
    return None


def ask_nik(ctx: Context) -> Reply:
    """Asks for the NIK."""
    _ = ctx.gettext
    return Reply(
        _(
            "Please type the NIK on the KTP: 16 digits. We use it only for this check and do "
            "not store it."
        )
    )


def nik_text(text: str) -> str:
    """Find the NIK in what was typed: the whole text, or one long run of digits in it."""
    runs = _DIGIT_RUN.findall(text)
    if len(runs) != 1 or _LETTER_BY_DIGIT.search(text):
        return text
    rest = text.replace(runs[0], " ")
    if any(not char.isspace() for char in rest):  # words or emoji around it: take the number
        return runs[0]
    return text


def nik_problem_text(ctx: Context, problem: NikProblem, length: int) -> str:
    """Say what is wrong with a NIK, plainly."""
    _ = ctx.gettext
    if problem == NikProblem.LENGTH:
        return ctx.ngettext(
            "You typed {count} digit, but a NIK has 16. Please check the KTP and type it again.",
            "You typed {count} digits, but a NIK has 16. Please check the KTP and type it again.",
            length,
        ).format(count=length)
    if problem == NikProblem.NOT_DIGITS:
        return _("A NIK has digits only, no letters. Please type the 16 digits on the KTP.")
    if problem == NikProblem.DATE:
        return _(
            "That cannot be a NIK: digits 7 to 12 are a birth date (day, month, year; women "
            "add 40 to the day), and these are not a real date. Please check the KTP and type "
            "it again."
        )
    return _("That cannot be a NIK. Please check the 16 digits on the KTP and type them again.")


def take_nik(ctx: Context, msg: Incoming) -> Outcome:
    """Checks the NIK's form, keeps only its hash and last digits, asks for the name."""
    checked = check_nik(nik_text(msg.text[:200]))
    if checked.digits is None:
        length = checked.length
        if checked.problem == NikProblem.LENGTH and len(msg.text) > 200:
            length = sum(char.isdigit() for char in msg.text)  # say how many were really typed
        return Outcome([Reply(nik_problem_text(ctx, checked.problem, length))])
    data = {
        "nik_hash": nik_hash(ctx.config.nik_key, checked.digits),
        "last4": checked.digits[-4:],
    }
    return Outcome(goto=bansos(BansosStep.NAME), data=data)


def ask_name(ctx: Context) -> Reply:
    """Asks for the name as on the KTP."""
    _ = ctx.gettext
    return Reply(_("Now type the full name exactly as written on that KTP."))


def take_name(ctx: Context, msg: Incoming) -> Outcome:
    """Looks the NIK and name up, writes the audit, and tells what was found."""
    _ = ctx.gettext
    if "nik_hash" not in ctx.data:  # answers lost (an old version, a reset): start again
        return Outcome(goto=bansos(BansosStep.NIK))
    if len(msg.text.strip()) > NAME_MAX:
        text = _("That name is too long. Please write at most {count} characters.")
        return Outcome([Reply(text.format(count=NAME_MAX))])
    name = clean_name(msg.text)
    if name is None:
        return Outcome([Reply(_("Please type the name with letters, as written on the KTP."))])
    if not ctx.resident.registered:  # an old position, or the profile was erased meanwhile
        return open_check(ctx)
    # checked again: another device, or other residents, may have used the last check
    refused = checks_left(ctx)
    if refused is not None:
        return refused
    entry = registry.find(db=ctx.db, nik_hash=ctx.data["nik_hash"])
    if entry is None:
        outcome = CheckOutcome.NOT_FOUND
    elif entry.name_hash != name_hash(ctx.config.nik_key, name):
        outcome = CheckOutcome.NAME_MISMATCH
    else:
        outcome = CheckOutcome.FOUND
    registry.record_check(
        db=ctx.db,
        resident_id=ctx.resident.id,
        channel=ctx.identity.channel,
        actor_hash=actor(ctx),
        outcome=outcome,
        now=ctx.now,
    )
    masked = mask_tail("0" * 12 + ctx.data["last4"])
    if outcome != CheckOutcome.FOUND:
        return Outcome(
            [Reply(not_found_text(ctx, masked))],
            goto=bansos(BansosStep.DONE),
            data={"found": False},
        )
    # the schedule is offered when a pickup of one of this person's programs is coming up
    # where they live, which may not be where the one asking lives
    upcoming = schedules.next_for_rw(
        db=ctx.db, kelurahan_code=entry.kelurahan_code, rw=entry.rw, now=ctx.now
    )
    pickup = entry.status == Status.ACTIVE and any(
        found.program_code in entry.programs for found in upcoming
    )
    where = {"kelurahan": entry.kelurahan_code, "rw": entry.rw} if pickup else None
    # the programs are kept for the resident only once they say the data is their own
    programs = registry.PROGRAM_SEPARATOR.join(entry.programs)
    return Outcome(
        [Reply(found_text(ctx, entry, masked))],
        goto=bansos(BansosStep.OWN),
        data={"found": True, "sembako": where, "programs": programs},
    )


def own_options(ctx: Context) -> tuple[Option, ...]:
    """Return the two answers to "is this your own data?"."""
    _ = ctx.gettext
    return yes_no(ctx, "bansos:own", _("Yes, this is my data"), _("No, not mine"))


def ask_own(ctx: Context) -> Reply:
    """Asks whether the data found is the resident's own."""
    _ = ctx.gettext
    return Reply(
        _(
            "Is this your own data? If it is, we keep your programs so that you receive the "
            "kelurahan's announcements about them. If you checked for someone else, answer No: "
            "nothing is kept."
        ),
        own_options(ctx),
    )


def take_own(ctx: Context, msg: Incoming) -> Outcome:
    """Links the programs found to the resident only when they confirm the data is theirs."""
    _ = ctx.gettext
    if msg.option == "bansos:own:yes" and "programs" in ctx.data:
        # the household's programs, for the kelurahan's announcements about them
        residents.update_profile(
            db=ctx.db, profile=ctx.resident, now=ctx.now, registry_programs=ctx.data["programs"]
        )
        text = _("Thank you. We will let you know of announcements about your programs.")
    else:
        text = _("All right, nothing of this data is kept with your profile.")
    data = {"found": True, "sembako": ctx.data.get("sembako")}
    return Outcome([Reply(text)], goto=bansos(BansosStep.DONE), data=data)


def found_text(ctx: Context, entry: registry.Entry, masked: str) -> str:
    """Describe a registry entry: where, which programs, and what to do next."""
    _ = ctx.gettext
    kelurahan = places.get_kelurahan(db=ctx.db, code=entry.kelurahan_code)
    head = _(
        "Data found for NIK {nik}: Kelurahan {kelurahan}, RW {rw}, RT {rt}, desil {desil}."
    ).format(
        nik=masked,
        kelurahan=kelurahan.name if kelurahan else entry.kelurahan_code,
        rw=f"{entry.rw:03d}",
        rt=f"{entry.rt:03d}",
        desil=entry.desil,
    )
    found = registry.programs(db=ctx.db, codes=entry.programs)
    names = ", ".join(program.name for program in found)
    if entry.status == Status.SUSPENDED:
        body = _(
            "Your assistance ({programs}) is on hold for now (ditangguhkan). This usually means "
            "your data must be checked again. Please contact your kelurahan office or your "
            "pendamping PKH, and bring your KTP and Kartu Keluarga."
        ).format(programs=names or "-")
        return f"{head}\n\n{body}"
    if entry.status == Status.INACTIVE:
        body = _(
            "You are no longer an active recipient. If your situation has not improved, you "
            "can be proposed again (usulan) through your RT/RW and the kelurahan office."
        )
        return f"{head}\n\n{body}"
    if not found:
        body = _(
            "You are in the social-economic data (DTSEN), but not registered for a program at "
            "the moment. Programs are decided by the Dinas Sosial from this data; your "
            "kelurahan office can tell you more."
        )
        return f"{head}\n\n{body}"
    blocks = "\n".join(program_block(ctx, program) for program in found)
    intro = _("You are registered for:")
    closing = _(
        "Never pay anyone to receive assistance. If someone asks for money, report it to the "
        "kelurahan office."
    )
    return f"{head}\n\n{intro}\n{blocks}\n\n{closing}"


def not_found_text(ctx: Context, masked: str) -> str:
    """Say nothing was found, the same for an unknown NIK and a wrong name, and how to apply."""
    _ = ctx.gettext
    return _(
        "We found no registration for NIK {nik} with that name. Please check that both are "
        "written exactly as on the KTP.\n"
        "\n"
        "If you are not registered yet, you can be proposed (usulan):\n"
        "1. Ask your RT/RW head to propose you for social assistance.\n"
        "2. The RT/RW takes the proposal to the kelurahan office, which enters it in the "
        "social data (DTSEN) through SIKS-NG.\n"
        "3. Bring your KTP, Kartu Keluarga and, if you have one, an SKTM (certificate of low "
        "income).\n"
        "You can also propose yourself in the Cek Bansos app of the Ministry of Social Affairs."
    ).format(nik=masked)


def done_options(ctx: Context) -> tuple[Option, ...]:
    """Return what the resident may do after a check."""
    _ = ctx.gettext
    choices = []
    if ctx.data.get("sembako"):
        choices.append(("bansos:sembako", _("Sembako schedule"), "jadwal"))
    if not ctx.data.get("found"):
        choices.append(("bansos:screen", _("Check eligibility"), "kelayakan|layak"))
    choices += [
        (
            "bansos:again",
            _("Check another NIK"),
            "lagi|nik lain|cek lagi|cek bansos|cek status|cek status bansos|again|check again",
        ),
        ("bansos:menu", _("Main menu"), "menu"),
    ]
    return options_of(*choices)


def ask_done(ctx: Context) -> Reply:
    """Asks what to do next."""
    _ = ctx.gettext
    if ctx.data.get("found"):
        return Reply(_("What would you like to do next?"), done_options(ctx))
    return Reply(
        _("Would you like to see which programs your household may qualify for?"),
        done_options(ctx),
    )


def sembako_list() -> StepRef:
    """Return the sembako schedule's list."""
    return sembako(SembakoStep.LIST)


def take_done(ctx: Context, msg: Incoming) -> Outcome:
    """Opens what the resident chose after a check."""
    if msg.option == "bansos:sembako" and ctx.data.get("sembako"):
        return Outcome(goto=sembako_list(), data=dict(ctx.data["sembako"]))
    if msg.option == "bansos:screen":
        # imported here: self-screening offers this check in turn
        from handlers.eligibility import open_screening

        return open_screening(ctx)
    if msg.option == "bansos:again":
        return open_check(ctx)
    return Outcome(goto=HOME)


BANSOS = Flow(
    FlowName.BANSOS,
    {
        BansosStep.NIK: Step(ask_nik, take_nik, Expect.TEXT, options=no_options),
        BansosStep.NAME: Step(ask_name, take_name, Expect.TEXT, options=no_options),
        BansosStep.OWN: Step(ask_own, take_own, options=own_options),
        BansosStep.DONE: Step(ask_done, take_done, options=done_options),
    },
)
