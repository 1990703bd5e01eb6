"""The sentences that tell a resident why a self-screening rule matched."""

from collections.abc import Callable

from handlers.eligibility_rules import Reason
from handlers.i18n import N_

INCOME_BELOW_POVERTY_LINE = N_(
    "Your household's income per person ({amount} a month) is below Jakarta's poverty line "
    "({poverty_line})."
)
INCOME_PER_PERSON_WITHIN = N_(
    "Your household's income per person ({amount} a month) is not above {limit}, the limit we "
    "use for this program."
)
INCOME_WITHIN = N_(
    "Your household's income ({amount} a month) is not above {limit}, the limit we use for "
    "this program."
)
IN_DTSEN = N_("Your household is already in DTSEN.")
HAS_MEMBERS = N_("Your household includes {members}.")
QUALIFIES = N_("Your household may qualify for {programs}.")
LAST_OF_LIST = N_("{items} and {last}")

# one member: a sentence of its own; several: their labels in HAS_MEMBERS
MEMBER_SENTENCES = {
    "child_under6": N_("There is a child under 6 in your household."),
    "pupil_sd": N_("There is a primary school pupil in your household."),
    "pupil_smp": N_("There is a junior high school pupil in your household."),
    "pupil_sma": N_("There is a senior high or vocational school pupil in your household."),
    "student": N_("There is a university student in your household."),
    "elderly": N_("Someone in your household is 60 or older."),
    "disabled": N_("Someone in your household has a disability."),
    "pregnant": N_("Someone in your household is pregnant."),
}
MEMBER_LABELS = {
    "child_under6": N_("a child under 6"),
    "pupil_sd": N_("a primary school pupil"),
    "pupil_smp": N_("a junior high school pupil"),
    "pupil_sma": N_("a senior high or vocational school pupil"),
    "student": N_("a university student"),
    "elderly": N_("someone aged 60 or older"),
    "disabled": N_("someone with a disability"),
    "pregnant": N_("a pregnant woman"),
}
WORK_SENTENCES = {
    "formal": N_("Your household lives on a regular wage job."),
    "informal": N_("Your household lives on daily or casual work."),
    "business": N_("Your household lives on its own small business."),
    "unemployed": N_("No one in your household has work."),
}
HOUSING_SENTENCES = {
    "own": N_("Your household owns its home."),
    "rent": N_("Your household rents its home."),
    "family": N_("Your household lives with family or without paying rent."),
    "none": N_("Your household has no fixed home."),
}


def explain(
    reason: Reason,
    gettext: Callable[[str], str],
    rupiah: Callable[[int], str],
    program_name: Callable[[str], str] = lambda code: code.replace("_", " "),
) -> str:
    """Return one plain sentence, in the resident's language, for a reason."""
    values = reason.values
    match reason.kind:
        case "income_per_person":
            if values["amount"] < values["poverty_line"]:
                return gettext(INCOME_BELOW_POVERTY_LINE).format(
                    amount=rupiah(values["amount"]), poverty_line=rupiah(values["poverty_line"])
                )
            return gettext(INCOME_PER_PERSON_WITHIN).format(
                amount=rupiah(values["amount"]), limit=rupiah(values["limit"])
            )
        case "income":
            return gettext(INCOME_WITHIN).format(
                amount=rupiah(values["amount"]), limit=rupiah(values["limit"])
            )
        case "member":
            members = values["members"]
            if len(members) == 1:
                return gettext(MEMBER_SENTENCES[members[0]])
            labels = [gettext(MEMBER_LABELS[member]) for member in members]
            return gettext(HAS_MEMBERS).format(members=_join(labels, gettext))
        case "work":
            return gettext(WORK_SENTENCES[values["work"]])
        case "housing":
            return gettext(HOUSING_SENTENCES[values["housing"]])
        case "qualifies_for":
            names = [program_name(code) for code in values["programs"]]
            return gettext(QUALIFIES).format(programs=_join(names, gettext))
        case "dtsen":
            return gettext(IN_DTSEN)
    raise ValueError(f"unknown reason kind: {reason.kind!r}")


def _join(items: list[str], gettext: Callable[[str], str]) -> str:
    """Join words as a list a person would write: 'a, b and c'."""
    if len(items) == 1:
        return items[0]
    return gettext(LAST_OF_LIST).format(items=", ".join(items[:-1]), last=items[-1])
