"""Cek kelayakan: a short questionnaire, and the programs the household may qualify for.

The rules and thresholds are data (handlers/data/eligibility.toml, read by
handlers/eligibility_rules.py). The answers stay in the conversation only until the result is
shown (or the conversation times out); nothing of them is kept after.
"""

import re
from functools import cache

from handlers import bansos
from handlers.answers import NO_WORDS, YES_WORDS
from handlers.eligibility_reasons import explain
from handlers.eligibility_rules import (
    DTSEN,
    HOUSING,
    MEMBERS,
    WORK,
    Household,
    Rules,
    load_rules,
    screen,
)
from handlers.i18n import N_
from handlers.messages import Incoming, Option, Reply
from handlers.numbers import parse_amount, parse_count
from handlers.positions import HOME, EligibilityStep, FlowName, eligibility
from handlers.steps import Context, Expect, Flow, Outcome, Step, no_options, options_of
from storage import registry

MAX_SIZE = 30
MAX_INCOME = 1_000_000_000  # a month; more is surely a typing slip
MEMBER_LABELS = {
    "child_under6": N_("Child under 6"),
    "pupil_sd": N_("Pupil at SD"),
    "pupil_smp": N_("Pupil at SMP"),
    "pupil_sma": N_("Pupil at SMA/SMK"),
    "student": N_("University student"),
    "elderly": N_("Aged 60 or over"),
    "disabled": N_("Person with disability"),
    "pregnant": N_("Pregnant woman"),
}
MEMBER_ALIASES = {
    "child_under6": "balita|anak kecil|toddler",
    "pupil_sd": "sd|anak sd",
    "pupil_smp": "smp|anak smp",
    "pupil_sma": "sma|smk|anak sma",
    "student": "mahasiswa|kuliah|college",
    "elderly": "lansia|lanjut usia|elderly",
    "disabled": "disabilitas|difabel|cacat|disability",
    "pregnant": "hamil|ibu hamil|pregnant",
}
WORK_LABELS = {
    "formal": (
        N_("Regular wage job"),
        "karyawan|pegawai|gaji tetap|buruh pabrik|karyawan swasta|pegawai negeri|pns|asn|guru|"
        "satpam|kerja kantor|kantoran|honorer|tni|polri|polisi|digaji bulanan|employee|salary|"
        "office job|regular job|wage job",
    ),
    "informal": (
        N_("Daily or casual work"),
        "harian|serabutan|ojek|ojol|ojek online|buruh harian|buruh lepas|kuli|kuli bangunan|"
        "tukang|tukang bangunan|pemulung|sopir|supir|driver|asisten rumah tangga|pembantu|"
        "kerja harian|kerja serabutan|casual|daily|odd jobs|day labourer",
    ),
    "business": (
        N_("Own small business"),
        "usaha|dagang|jualan|warung|wiraswasta|pedagang|usaha sendiri|buka usaha|jualan online|"
        "punya warung|jual makanan|jualan makanan|self employed|own business|trader|seller",
    ),
    "unemployed": (
        N_("Not working"),
        "tidak bekerja|nganggur|menganggur|pengangguran|tidak kerja|gak kerja|ga kerja|"
        "belum kerja|belum bekerja|tidak ada kerja|gak ada kerjaan|kena phk|phk|pensiun|"
        "pensiunan|unemployed|not working|no job|jobless|retired",
    ),
}
HOUSING_LABELS = {
    "own": (
        N_("Own home"),
        "milik sendiri|rumah sendiri|punya sendiri|rumah pribadi|rumah milik sendiri|warisan|"
        "own|own home|my own house|owned",
    ),
    "rent": (
        N_("Rented"),
        "sewa|kontrak|kos|kost|ngekos|ngontrak|kontrakan|rumah kontrakan|sewa rumah|"
        "kamar kos|rent|renting|rented|boarding",
    ),
    "family": (
        N_("Living with family"),
        "numpang|menumpang|ikut keluarga|ikut orang tua|rumah orang tua|ikut mertua|"
        "rumah mertua|rumah saudara|tinggal dengan keluarga|family|with family|with parents",
    ),
    "none": (
        N_("No fixed home"),
        "tidak tetap|tidak punya rumah|gak punya rumah|ga punya rumah|pindah pindah|"
        "tidak ada rumah|homeless|no home|no fixed home",
    ),
}
DTSEN_LABELS = {
    "yes": (N_("Yes"), f"{YES_WORDS}|sudah|pernah|terdaftar|sudah terdaftar|sudah masuk|kks"),
    "no": (N_("No"), f"{NO_WORDS}|belum terdaftar|tidak terdaftar|belum masuk|belum pernah"),
    "unknown": (
        N_("Don't know"),
        "tidak tahu|gak tau|ga tau|ndak tahu|nggak tahu|tidak tau|kurang tahu|entah|lupa|"
        "tidak yakin|ragu|unknown|don t know|dont know|not sure|no idea",
    ),
}
_NUMBERS = re.compile(r"[0-9]+")
_NUMBER_LIST = re.compile(
    r"^\s*[0-9]+(?:\s*(?:[,;/&+]|dan|and)?\s*[0-9]+)*\s*\.?\s*$", re.IGNORECASE
)
_TYPED_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)?")
assert set(MEMBER_LABELS) == set(MEMBERS)
assert set(WORK_LABELS) == set(WORK) and set(HOUSING_LABELS) == set(HOUSING)
assert set(DTSEN_LABELS) == set(DTSEN)


@cache
def rules() -> Rules:
    """Return the screening rules, read once from the data file."""
    return load_rules()


def open_screening(ctx: Context) -> Outcome:
    """Explains the questionnaire and asks the first question."""
    _ = ctx.gettext
    text = _(
        "Check eligibility: six short questions about your household. Your answers are kept "
        "only until the result is shown, and the result is only an estimate."
    )
    return Outcome([Reply(text)], goto=eligibility(EligibilityStep.SIZE))


def ask_size(ctx: Context) -> Reply:
    """Asks how many people live in the household."""
    _ = ctx.gettext
    return Reply(
        _(
            "How many people live in your household (on one Kartu Keluarga), yourself "
            "included? Type a number, for example 4."
        )
    )


def take_size(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the household size and asks for the income."""
    _ = ctx.gettext
    size = parse_count(msg.text[:50])
    if size is None or not 1 <= size <= MAX_SIZE:
        text = _("Please type the number of people, from 1 to {most}, for example 4.")
        return Outcome([Reply(text.format(most=MAX_SIZE))])
    return Outcome(goto=eligibility(EligibilityStep.INCOME), data={"size": size})


def ask_income(ctx: Context) -> Reply:
    """Asks for the household's monthly income."""
    _ = ctx.gettext
    return Reply(
        _(
            "About how much does the whole household earn in a month, from everyone who "
            "works? Type an amount, for example 2500000 or 2,5 juta. Type 0 if there is none."
        )
    )


def take_income(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the income and asks who lives in the household."""
    _ = ctx.gettext
    amount = parse_amount(msg.text[:50])
    if amount is None or amount > MAX_INCOME:
        text = _("Please type the amount, for example 2500000, 2,5 juta or dua setengah juta.")
        return Outcome([Reply(text)])
    if 0 < amount < 1000:  # "3" for three million: ask for the whole amount
        text = _(
            "Rp{amount} a month seems very little. If you meant {amount} juta, please type "
            "{amount} juta."
        ).format(amount=typed_number(msg.text, amount))
        return Outcome([Reply(text)])
    ctx.data["income"] = amount
    ctx.data["members"] = []
    return Outcome(goto=eligibility(EligibilityStep.MEMBERS))


def typed_number(text: str, amount: int) -> str:
    """Return the number as typed ("2,5", not a rounded 2), or the amount for one in words."""
    typed = _TYPED_NUMBER.search(text)
    return typed.group() if typed else str(amount)


def member_options(ctx: Context) -> tuple[Option, ...]:
    """Return the kinds of household members, with "none" and "done"."""
    _ = ctx.gettext
    choices = [
        (f"member:{key}", _(label), MEMBER_ALIASES[key]) for key, label in MEMBER_LABELS.items()
    ]
    choices.append(("member:none", _("None of these"), "tidak ada|none|nothing"))
    choices.append(("member:done", _("Done"), "selesai|sudah|lanjut|done|next"))
    return options_of(*choices)


def chosen_text(ctx: Context) -> str:
    """Name the members chosen so far."""
    _ = ctx.gettext
    chosen = [_(MEMBER_LABELS[key]) for key in MEMBERS if key in ctx.data.get("members", [])]
    if not chosen:
        return _("Nothing chosen yet.")
    return _("Chosen: {members}.").format(members=", ".join(chosen))


def ask_members(ctx: Context) -> Reply:
    """Asks who lives in the household."""
    _ = ctx.gettext
    text = _(
        "Who lives in your household? Choose each one that applies, then choose “Done”. You "
        "can also type several numbers at once, for example 1 6."
    )
    text = "\n".join((text, chosen_text(ctx)))
    return Reply(text, member_options(ctx))


def remind_members(ctx: Context) -> Reply:
    """Asks again, briefly, for the household members."""
    _ = ctx.gettext
    text = _("Choose who lives in your household, then “Done”.")
    text = "\n".join((text, chosen_text(ctx)))
    return Reply(text, member_options(ctx))


def take_members(ctx: Context, msg: Incoming) -> Outcome:
    """Adds or removes a member kind; "Done" moves on to work."""
    _ = ctx.gettext
    options = member_options(ctx)
    keys: list[str] = []
    if msg.option:
        keys = [msg.option]
    else:  # "1 6", "1,3,6"
        # only numbers and separators: "2,5 juta" typed here is not options 2 and 5
        listed = _NUMBER_LIST.match(msg.text[:100])
        numbers = [int(number) for number in _NUMBERS.findall(msg.text[:100])] if listed else []
        if not numbers or any(not 1 <= number <= len(options) for number in numbers):
            text = _("Please choose from the list, or type the numbers, for example 1 6.")
            return Outcome([Reply(text)])
        keys = [options[number - 1].key for number in numbers]
    chosen = list(ctx.data.get("members", []))
    for key in keys:
        if key == "member:done":
            ctx.data["members"] = chosen
            return Outcome(goto=eligibility(EligibilityStep.WORK))
        if key == "member:none":
            ctx.data["members"] = []
            return Outcome(goto=eligibility(EligibilityStep.WORK))
        member = key.removeprefix("member:")
        if member in MEMBER_LABELS:
            if member in chosen:
                chosen.remove(member)
            else:
                chosen.append(member)
    ctx.data["members"] = chosen
    text = f"{chosen_text(ctx)}\n" + _("Choose more, or “Done” to go on.")
    return Outcome([Reply(text, options)], ask=False)


def choice_options(ctx: Context, prefix: str, labels: dict) -> tuple[Option, ...]:
    """Return options from a {key: (label, aliases)} table."""
    _ = ctx.gettext
    return options_of(
        *((f"{prefix}:{key}", _(label), aliases) for key, (label, aliases) in labels.items())
    )


def work_options(ctx: Context) -> tuple[Option, ...]:
    """Return the kinds of work."""
    return choice_options(ctx, "work", WORK_LABELS)


def ask_work(ctx: Context) -> Reply:
    """Asks about the main earner's work."""
    _ = ctx.gettext
    return Reply(_("What is the work of the person who earns the most?"), work_options(ctx))


def take_work(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the work and asks about housing."""
    ctx.data["work"] = (msg.option or "").removeprefix("work:")
    return Outcome(goto=eligibility(EligibilityStep.HOUSING))


def housing_options(ctx: Context) -> tuple[Option, ...]:
    """Return the kinds of housing."""
    return choice_options(ctx, "housing", HOUSING_LABELS)


def ask_housing(ctx: Context) -> Reply:
    """Asks where the household lives."""
    _ = ctx.gettext
    return Reply(_("Where does your household live?"), housing_options(ctx))


def take_housing(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the housing and asks about DTSEN."""
    ctx.data["housing"] = (msg.option or "").removeprefix("housing:")
    return Outcome(goto=eligibility(EligibilityStep.DTSEN))


def dtsen_options(ctx: Context) -> tuple[Option, ...]:
    """Return yes, no and don't know."""
    return choice_options(ctx, "dtsen", DTSEN_LABELS)


def ask_dtsen(ctx: Context) -> Reply:
    """Asks whether the household is already in DTSEN."""
    _ = ctx.gettext
    text = _(
        "Is your household already in the social data DTSEN (formerly DTKS)? For example, you "
        "have received bansos before or have a KKS card."
    )
    return Reply(text, dtsen_options(ctx))


def take_dtsen(ctx: Context, msg: Incoming) -> Outcome:
    """Screens the household and shows the result."""
    data = ctx.data
    if not {"size", "income", "work", "housing"} <= data.keys():  # lost answers: start again
        return Outcome(goto=eligibility(EligibilityStep.SIZE), data={})
    household = Household(
        size=data["size"],
        income=data["income"],
        members=frozenset(data.get("members", [])),
        work=data["work"],
        housing=data["housing"],
        dtsen=(msg.option or "").removeprefix("dtsen:"),
    )
    text = result_text(ctx, household)
    # the answers end here: the next step starts with nothing of them
    return Outcome([Reply(text)], goto=eligibility(EligibilityStep.DONE), data={})


def result_text(ctx: Context, household: Household) -> str:
    """Describe which programs the household may qualify for, why, and how to apply."""
    _ = ctx.gettext
    found = rules()
    per_person = household.income // household.size
    lines = [
        _("Result (an estimate only):"),
        _("Income per person: {income} a month (Jakarta's poverty line: {line}).").format(
            income=ctx.rupiah(per_person), line=ctx.rupiah(found.poverty_line)
        ),
        "",
    ]
    findings = screen(household, found)
    names = {program.code: program.name for program in registry.programs(db=ctx.db)}

    def program_name(code: str) -> str:
        return names.get(code, code)

    if findings:
        lines.append(_("Your household may qualify for:"))
        for finding in findings:
            lines.append(f"• {names.get(finding.program, finding.program)} ({finding.program})")
            for reason in finding.reasons:
                lines.append(f"  – {explain(reason, _, ctx.rupiah, program_name)}")
            if finding.needs_dtsen:
                lines.append("  – " + _("First, your household must be in DTSEN (see below)."))
        lines += ["", how_to_apply(ctx, any(finding.needs_dtsen for finding in findings))]
    else:
        lines.append(
            _(
                "From your answers, your household does not seem to qualify for these programs "
                "now. If your situation changes (losing work, illness, a new baby), check "
                "again or talk to your kelurahan office."
            )
        )
    lines += [
        "",
        _(
            "This is only an estimate from your answers. The Dinas Sosial decides, from the "
            "DTSEN data and a visit. Source of the poverty line: {source}."
        ).format(source=found.source),
    ]
    return "\n".join(lines)


def how_to_apply(ctx: Context, needs_dtsen: bool) -> str:
    """Say how to apply: through the RT/RW and kelurahan, with the documents to bring."""
    _ = ctx.gettext
    steps = _(
        "How to apply: ask your RT/RW head to propose your household (usulan); the kelurahan "
        "office enters it in DTSEN through SIKS-NG. Bring your KTP, Kartu Keluarga and, if you "
        "have one, an SKTM (certificate of low income). School aid (PIP, KJP Plus) also goes "
        "through the school."
    )
    if needs_dtsen:
        return steps
    return (
        steps + " " + _("If you are already in DTSEN, check your status in “Check bansos status”.")
    )


def done_options(ctx: Context) -> tuple[Option, ...]:
    """Return what to do after the result."""
    _ = ctx.gettext
    return options_of(
        ("screen:status", _("Check bansos status"), "cek status|status|bansos"),
        ("screen:again", _("Start again"), "ulang|lagi|again"),
        ("screen:menu", _("Main menu"), "menu"),
    )


def ask_done(ctx: Context) -> Reply:
    """Asks what to do next."""
    _ = ctx.gettext
    return Reply(_("What would you like to do next?"), done_options(ctx))


def take_done(ctx: Context, msg: Incoming) -> Outcome:
    """Opens the chosen next step."""
    if msg.option == "screen:status":
        return bansos.open_check(ctx)
    if msg.option == "screen:again":
        return open_screening(ctx)
    return Outcome(goto=HOME)


ELIGIBILITY = Flow(
    FlowName.ELIGIBILITY,
    {
        EligibilityStep.SIZE: Step(ask_size, take_size, Expect.TEXT, options=no_options),
        EligibilityStep.INCOME: Step(ask_income, take_income, Expect.TEXT, options=no_options),
        EligibilityStep.MEMBERS: Step(
            ask_members, take_members, Expect.TEXT, options=member_options, remind=remind_members
        ),
        EligibilityStep.WORK: Step(ask_work, take_work, options=work_options),
        EligibilityStep.HOUSING: Step(ask_housing, take_housing, options=housing_options),
        EligibilityStep.DTSEN: Step(ask_dtsen, take_dtsen, options=dtsen_options),
        EligibilityStep.DONE: Step(ask_done, take_done, options=done_options),
    },
)
