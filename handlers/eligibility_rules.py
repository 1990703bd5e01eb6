"""Self-screening ("Cek kelayakan"): which programs a household may qualify for, and why.

Indicative only: Dinas Sosial decides. The thresholds live in data/eligibility.toml; the
sentences that explain a reason to a resident are in handlers/eligibility_reasons.py.
"""

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

DEFAULT_PATH = Path(__file__).parent / "data" / "eligibility.toml"

MEMBERS = (
    "child_under6",
    "pupil_sd",
    "pupil_smp",
    "pupil_sma",
    "student",
    "elderly",
    "disabled",
    "pregnant",
)
WORK = ("formal", "informal", "business", "unemployed")
HOUSING = ("own", "rent", "family", "none")
DTSEN = ("yes", "no", "unknown")

INCOME_CONDITIONS = ("income_per_person_at_most", "income_at_most")
KEY_CONDITIONS = {"any_member": MEMBERS, "work_in": WORK, "housing_in": HOUSING}
QUALIFIES_FOR = "qualifies_for"
CONDITIONS = (*INCOME_CONDITIONS, *KEY_CONDITIONS, QUALIFIES_FOR)
LIMIT_BASES = ("amount", "poverty_line_times", "minimum_wage_times")
MAX_MULTIPLE = 10  # a larger multiple of a line is a typo (150 for 1.5), not a rule
TOP_KEYS = ("poverty_line", "source", "minimum_wage", "minimum_wage_source", "rule")
RULE_KEYS = ("program", "needs_dtsen", "when", "strengthened_by")
_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class Household:
    """A resident's answers to the questionnaire."""

    size: int  # people in the household, >= 1
    income: int  # whole household's monthly income, Rupiah, >= 0
    members: frozenset[str]  # subset of MEMBERS
    work: str
    housing: str
    dtsen: str

    def __post_init__(self) -> None:
        """Reject answers the questionnaire cannot give."""
        if not _is_int(self.size) or self.size < 1:
            raise ValueError(f"household size must be a whole number from 1: {self.size!r}")
        if not _is_int(self.income) or self.income < 0:
            raise ValueError(f"income must be a whole number of Rupiah from 0: {self.income!r}")
        if not isinstance(self.members, frozenset):
            raise ValueError(f"members must be a frozenset: {self.members!r}")
        if not self.members <= set(MEMBERS):
            raise ValueError(f"unknown members: {sorted(self.members - set(MEMBERS))}")
        for name, value, allowed in (
            ("work", self.work, WORK),
            ("housing", self.housing, HOUSING),
            ("dtsen", self.dtsen, DTSEN),
        ):
            if value not in allowed:
                raise ValueError(f"unknown {name}: {value!r}")


@dataclass(frozen=True)
class Reason:
    """One condition that matched, with what its sentence needs."""

    kind: str  # income_per_person, income, member, work, housing, qualifies_for, dtsen
    values: Mapping[str, object]


@dataclass(frozen=True)
class Finding:
    """A program the household may qualify for."""

    program: str  # program code, as in programs.toml
    reasons: tuple[Reason, ...]  # every condition that matched, in rule order
    needs_dtsen: bool  # propose the household (usulan) via RT/RW and kelurahan first


@dataclass(frozen=True)
class Condition:
    """One test of a rule: an income limit in Rupiah, or the keys it accepts."""

    name: str
    limit: int = 0
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One way to qualify for a program."""

    program: str
    needs_dtsen: bool
    when: tuple[Condition, ...]  # all must hold
    strengthened_by: tuple[Condition, ...]  # optional: each that holds adds a reason


@dataclass(frozen=True)
class Rules:
    """The screening rules and the lines their limits are measured against."""

    poverty_line: int  # per person per month
    source: str
    minimum_wage: int  # per month (UMP)
    minimum_wage_source: str
    rules: tuple[Rule, ...]


def load_rules(path: Path = DEFAULT_PATH) -> Rules:
    """Read the screening rules and check them; a mistake raises ValueError naming the rule."""
    with path.open("rb") as file:
        data = tomllib.load(file)
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise ValueError(f"{path.name}: unknown keys {unknown}")
    poverty_line = _positive_int(data.get("poverty_line"), f"{path.name}: poverty_line")
    minimum_wage = _positive_int(data.get("minimum_wage"), f"{path.name}: minimum_wage")
    bases = {"poverty_line_times": poverty_line, "minimum_wage_times": minimum_wage}
    raw_rules = data.get("rule")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise ValueError(f"{path.name}: no [[rule]]")
    rules: list[Rule] = []
    for number, raw in enumerate(raw_rules, start=1):
        earlier = tuple(dict.fromkeys(rule.program for rule in rules))
        rules.append(_parse_rule(raw, number, bases, earlier))
    return Rules(
        poverty_line=poverty_line,
        source=_text(data.get("source"), f"{path.name}: source"),
        minimum_wage=minimum_wage,
        minimum_wage_source=_text(
            data.get("minimum_wage_source"), f"{path.name}: minimum_wage_source"
        ),
        rules=tuple(rules),
    )


def screen(household: Household, rules: Rules) -> list[Finding]:
    """Return the programs the household may qualify for, in the rules' order."""
    found: dict[str, Finding] = {}
    for rule in rules.rules:
        earlier = found.get(rule.program)
        if earlier is not None and not earlier.needs_dtsen:  # a way in without waiting matched
            continue
        reasons = []
        for condition in rule.when:
            reason = _check(condition, household, rules, found)
            if reason is None:
                break
            reasons.append(reason)
        else:
            finding = _finding(rule, reasons, household, rules, found)
            # a later way in that needs no DTSEN registration beats one that does
            if earlier is None or not finding.needs_dtsen:
                found[rule.program] = finding  # keeps the place of the first match
    return list(found.values())


def _finding(
    rule: Rule,
    reasons: list[Reason],
    household: Household,
    rules: Rules,
    found: Mapping[str, Finding],
) -> Finding:
    """Build the finding of a rule whose conditions all hold."""
    in_dtsen = household.dtsen == "yes"
    needs_dtsen = rule.needs_dtsen and not in_dtsen
    # a program reached only through cards that wait for DTSEN waits for it too
    cards = [
        found[code]
        for reason in reasons
        if reason.kind == QUALIFIES_FOR
        for code in reason.values["programs"]
    ]
    if cards and all(card.needs_dtsen for card in cards):
        needs_dtsen = True
    for condition in rule.strengthened_by:
        reason = _check(condition, household, rules, found)
        if reason is not None:
            reasons.append(reason)
    if rule.needs_dtsen and in_dtsen:
        reasons.append(Reason("dtsen", MappingProxyType({})))
    return Finding(program=rule.program, reasons=tuple(reasons), needs_dtsen=needs_dtsen)


def _check(
    condition: Condition, household: Household, rules: Rules, found: Mapping[str, Finding]
) -> Reason | None:
    """Return the reason a condition gives, or None when it does not hold."""
    match condition.name:
        case "income_per_person_at_most":
            # compare in whole Rupiah: income / size <= limit
            if household.income > condition.limit * household.size:
                return None
            return _reason(
                "income_per_person",
                amount=household.income // household.size,
                limit=condition.limit,
                poverty_line=rules.poverty_line,
            )
        case "income_at_most":
            if household.income > condition.limit:
                return None
            return _reason("income", amount=household.income, limit=condition.limit)
        case "any_member":
            members = tuple(key for key in condition.keys if key in household.members)
            return _reason("member", members=members) if members else None
        case "work_in":
            if household.work not in condition.keys:
                return None
            return _reason("work", work=household.work)
        case "housing_in":
            if household.housing not in condition.keys:
                return None
            return _reason("housing", housing=household.housing)
        case "qualifies_for":
            programs = tuple(code for code in condition.keys if code in found)
            return _reason(QUALIFIES_FOR, programs=programs) if programs else None
    raise ValueError(f"unknown condition: {condition.name!r}")


def _reason(kind: str, **values: object) -> Reason:
    """Build a reason whose values cannot be changed afterwards."""
    return Reason(kind, MappingProxyType(values))


def _parse_rule(raw: Any, number: int, bases: Mapping[str, int], earlier: tuple[str, ...]) -> Rule:
    """Check one [[rule]] table and turn it into a Rule."""
    program = raw.get("program") if isinstance(raw, dict) else None
    where = f"rule {number} ({program})" if isinstance(program, str) else f"rule {number}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: not a table")
    unknown = sorted(set(raw) - set(RULE_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}")
    if not isinstance(program, str) or not _CODE.match(program):
        raise ValueError(f"{where}: program must be a code like 'KJP_PLUS'")
    if not isinstance(raw.get("needs_dtsen"), bool):
        raise ValueError(f"{where}: needs_dtsen must be true or false")
    when = raw.get("when")
    if not isinstance(when, dict) or not when:
        raise ValueError(f"{where}: [rule.when] needs at least one condition")
    strengthened_by = raw.get("strengthened_by", {})
    if not isinstance(strengthened_by, dict):
        raise ValueError(f"{where}: strengthened_by must be a table of conditions")
    return Rule(
        program=program,
        needs_dtsen=raw["needs_dtsen"],
        when=tuple(
            _parse_condition(name, value, where, bases, earlier) for name, value in when.items()
        ),
        strengthened_by=tuple(
            _parse_condition(name, value, where, bases, earlier)
            for name, value in strengthened_by.items()
        ),
    )


def _parse_condition(
    name: str, value: Any, where: str, bases: Mapping[str, int], earlier: tuple[str, ...]
) -> Condition:
    """Check one condition of a rule and turn it into a Condition."""
    if name in INCOME_CONDITIONS:
        return Condition(name, limit=_parse_limit(value, f"{where}: {name}", bases))
    if name in KEY_CONDITIONS or name == QUALIFIES_FOR:
        allowed = earlier if name == QUALIFIES_FOR else KEY_CONDITIONS[name]
        if not isinstance(value, list) or not value or not all(isinstance(k, str) for k in value):
            raise ValueError(f"{where}: {name} must be a non-empty list of names")
        unknown = [key for key in value if key not in allowed]
        if unknown:
            expected = "programs of earlier rules" if name == QUALIFIES_FOR else "names"
            raise ValueError(f"{where}: {name}: unknown {unknown}; {expected}: {list(allowed)}")
        if len(set(value)) != len(value):
            raise ValueError(f"{where}: {name}: a name is repeated")
        return Condition(name, keys=tuple(value))
    raise ValueError(f"{where}: unknown condition {name!r}; known: {list(CONDITIONS)}")


def _parse_limit(value: Any, where: str, bases: Mapping[str, int]) -> int:
    """Turn { amount = … } or { poverty_line_times = … } into whole Rupiah."""
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError(f"{where}: needs exactly one of {list(LIMIT_BASES)}")
    ((basis, number),) = value.items()
    if basis == "amount":
        return _positive_int(number, f"{where}: amount")
    if basis not in bases:
        raise ValueError(f"{where}: unknown {basis!r}; use one of {list(LIMIT_BASES)}")
    if (
        isinstance(number, bool)
        or not isinstance(number, int | float)
        or not math.isfinite(number)
        or not 0 < number <= MAX_MULTIPLE
    ):
        raise ValueError(f"{where}: {basis} must be a number above 0, at most {MAX_MULTIPLE}")
    exact = Decimal(str(number)) * bases[basis]
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _positive_int(value: Any, where: str) -> int:
    """Return a whole number of Rupiah above 0, or raise ValueError."""
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{where}: must be a whole number of Rupiah above 0, not {value!r}")
    return value


def _text(value: Any, where: str) -> str:
    """Return a non-empty string, or raise ValueError."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: must be a non-empty text")
    return value


def _is_int(value: Any) -> bool:
    """Tell whether a value is an int (TOML's true is not a number here)."""
    return isinstance(value, int) and not isinstance(value, bool)
