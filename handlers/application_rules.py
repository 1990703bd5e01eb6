"""What scholarship and business-capital applications ask and check, read from
data/applications.toml: levels, documents, business types, amount limits, the indicative
pre-screen of a business and the routing of an application to a partner."""

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DEFAULT_PATH = Path(__file__).parent / "data" / "applications.toml"


@dataclass(frozen=True)
class Named:
    """Something offered by code, with its name in each language."""

    code: str
    id: str
    en: str
    # a shorter name for chat buttons that hold fewer characters (WhatsApp); "" when none
    id_short: str = ""
    en_short: str = ""
    aliases: tuple[str, ...] = ()  # what residents type for it, either language

    @property
    def words(self) -> str:
        """Return the aliases as options take them ("a|b")."""
        return "|".join(self.aliases)

    def label(self, language: str) -> str:
        """Return the name in a language, Indonesian when there is no other."""
        return (self.en if language == "en" else "") or self.id

    def short(self, language: str) -> str:
        """Return the short name in the language the name is shown in; "" when there is none."""
        return self.en_short if language == "en" and self.en else self.id_short


@dataclass(frozen=True)
class Level(Named):
    """A school level and the grades (or semesters) a child can be in at it."""

    first: int = 1
    last: int = 12
    unit: str = "grade"  # or "semester"


@dataclass(frozen=True)
class Route:
    """Send applications that match to a partner (women_led None: any)."""

    partner: str
    women_led: bool | None = None

    def matches(self, women_led: bool) -> bool:
        """Tell whether an application matches this route."""
        return self.women_led is None or self.women_led == women_led


@dataclass(frozen=True)
class Rules:
    """All of the data, checked."""

    levels: tuple[Level, ...]
    documents: tuple[Named, ...]
    business_types: tuple[Named, ...]
    min_amount: int
    max_amount: int
    min_months: int
    profit_multiple: int
    routes: tuple[Route, ...]
    scholarship_source: str
    capital_source: str

    def level(self, code: str) -> Level | None:
        """Return a level by code."""
        return next((level for level in self.levels if level.code == code), None)

    def business_type(self, code: str) -> Named | None:
        """Return a business type by code."""
        return next((kind for kind in self.business_types if kind.code == code), None)

    def document(self, code: str) -> Named | None:
        """Return a document by code."""
        return next((document for document in self.documents if document.code == code), None)

    def route(self, *, women_led: bool) -> str | None:
        """Return the partner an application goes to."""
        return next((route.partner for route in self.routes if route.matches(women_led)), None)


class RulesProblem(Exception):
    """The rules file is wrong; the message says where."""


def _listed(entry: dict) -> dict:
    """Return a data entry with its aliases as a tuple (a frozen, hashable value)."""
    return {**entry, "aliases": tuple(str(alias) for alias in entry.get("aliases", ()))}


def parse(data: dict) -> Rules:
    """Check and build the rules from the parsed TOML."""
    try:
        scholarship, capital = data["scholarship"], data["capital"]
        levels = tuple(Level(**_listed(level)) for level in scholarship["levels"])
        documents = tuple(Named(**_listed(document)) for document in scholarship["documents"])
        types = tuple(Named(**_listed(kind)) for kind in capital["business_types"])
        routes = tuple(Route(**route) for route in capital.get("routes", ()))
        rules = Rules(
            levels=levels,
            documents=documents,
            business_types=types,
            min_amount=int(capital["min_amount"]),
            max_amount=int(capital["max_amount"]),
            min_months=int(capital["screen"]["min_months"]),
            profit_multiple=int(capital["screen"]["profit_multiple"]),
            routes=routes,
            scholarship_source=scholarship.get("source", ""),
            capital_source=capital.get("source", ""),
        )
    except (KeyError, TypeError, ValueError) as problem:
        raise RulesProblem(f"applications rules: {problem!r}") from None
    if not levels or not documents or not types:
        raise RulesProblem("applications rules: levels, documents and business types are needed")
    if not 0 < rules.min_amount <= rules.max_amount:
        raise RulesProblem("applications rules: need 0 < min_amount <= max_amount")
    for level in levels:
        if not 0 < level.first <= level.last or level.unit not in ("grade", "semester"):
            raise RulesProblem(f"applications rules: level {level.code} grades or unit")
    return rules


def load(path: Path = DEFAULT_PATH) -> Rules:
    """Read and check a rules file."""
    return parse(tomllib.loads(path.read_text(encoding="utf-8")))


@cache
def rules() -> Rules:
    """Return the rules shipped with the program (read once)."""
    return load()


@dataclass(frozen=True)
class Check:
    """One rule of the pre-screen: its name, whether it passed, and the figures behind it."""

    rule: str  # "months", "margin", "amount"
    passed: bool
    figures: dict


def screen(
    rules_: Rules, *, months: int, revenue: int, costs: int, amount: int
) -> tuple[Check, ...]:
    """Run the indicative pre-screen of a business-capital application."""
    profit = revenue - costs
    limit = max(profit, 0) * rules_.profit_multiple
    return (
        Check(
            "months", months >= rules_.min_months, {"months": months, "minimum": rules_.min_months}
        ),
        Check("margin", profit > 0, {"profit": profit}),
        Check(
            "amount",
            0 < amount <= limit,
            {"amount": amount, "limit": limit, "multiple": rules_.profit_multiple},
        ),
    )
