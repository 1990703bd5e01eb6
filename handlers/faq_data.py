"""The frequent questions of residents, read from data/faq.toml: answers in both languages,
their source, the services they lead on to, and the phrasings the classifier learns from.

This module imports no flow, so the understanding layer can read the phrasings without
pulling in the conversations.
"""

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from handlers.i18n import LANGUAGES

FAQ_FILE = Path(__file__).parent / "data" / "faq.toml"
PREFIX = "faq:"
DEMO = "demo"  # the source of an answer invented for the demo
# facts added below an answer from other data (handlers/faq.py says how)
FILLS = frozenset({"payment_schedule", "office_hours", "office_contact", "capital_limits"})
MIN_PHRASINGS = 6
NAME = re.compile(r"[a-z][a-z0-9_]{1,40}")  # an id without its prefix; ASCII only


class FaqProblem(ValueError):
    """The questions file is wrong; the message says where."""


@dataclass(frozen=True)
class Entry:
    """One frequent question: its answer in each language, and how residents ask it."""

    id: str  # the intent label, "faq:office_hours"
    answers: dict[str, str]  # by language
    source: str
    cite: str  # the source as residents read it; "" when not shown
    services: tuple[str, ...]  # menu keys, "svc:sembako"
    fill: str | None  # facts added from other data, or None
    phrasings: dict[str, tuple[str, ...]]  # by language

    @property
    def name(self) -> str:
        """Return the id without its prefix ("office_hours"), as a button key holds it."""
        return self.id.removeprefix(PREFIX)

    @property
    def demo(self) -> bool:
        """Tell whether the answer was invented for the demo."""
        return self.source == DEMO

    def answer(self, language: str) -> str:
        """Return the answer in a language, Indonesian when missing."""
        return self.answers.get(language) or self.answers["id"]


def _texts(entry: dict, field: str) -> tuple[str, ...]:
    values = entry.get(field)
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise FaqProblem(f"{entry.get('id')!r}: {field} must be a list of texts")
    return tuple(value.strip() for value in values)


def parse_entry(entry: dict) -> Entry:
    """Check one [[faq]] table and build its entry."""
    faq_id = entry.get("id")
    name = faq_id.removeprefix(PREFIX) if isinstance(faq_id, str) else ""
    if not isinstance(faq_id, str) or not faq_id.startswith(PREFIX) or not NAME.fullmatch(name):
        raise FaqProblem(f"an entry needs an id like 'faq:office_hours': {faq_id!r}")
    answers = {}
    for language in LANGUAGES:
        text = entry.get(f"answer_{language}")
        if not isinstance(text, str) or not text.strip():
            raise FaqProblem(f"{faq_id}: answer_{language} is missing")
        answers[language] = text.strip()
    source = entry.get("source")
    if not isinstance(source, str) or not source.strip():
        raise FaqProblem(f'{faq_id}: a source is needed (or "{DEMO}" when invented)')
    cite = entry.get("cite", "")
    if not isinstance(cite, str):
        raise FaqProblem(f"{faq_id}: cite must be a text")
    services = _texts(entry, "services") if entry.get("services") else ()
    fill = entry.get("fill")
    if fill is not None and fill not in FILLS:
        raise FaqProblem(f"{faq_id}: fill must be one of {sorted(FILLS)}, not {fill!r}")
    phrasings = {}
    for language in LANGUAGES:
        found = _texts(entry, f"phrasings_{language}")
        if len(found) < MIN_PHRASINGS:
            raise FaqProblem(f"{faq_id}: at least {MIN_PHRASINGS} phrasings_{language}")
        phrasings[language] = found
    return Entry(faq_id, answers, source.strip(), cite.strip(), services, fill, phrasings)


def parse(data: dict) -> tuple[Entry, ...]:
    """Check the whole file's data and return its entries in file order."""
    found = tuple(parse_entry(entry) for entry in data.get("faq", []))
    ids = [entry.id for entry in found]
    if len(set(ids)) != len(ids):
        raise FaqProblem("an id appears twice")
    if not found:
        raise FaqProblem("no [[faq]] entries")
    return found


def load(path: Path = FAQ_FILE) -> tuple[Entry, ...]:
    """Read and check a questions file."""
    return parse(tomllib.loads(path.read_text(encoding="utf-8")))


@cache
def entries() -> tuple[Entry, ...]:
    """Return the questions shipped with the program (read and checked once)."""
    return load()


def entry(faq_id: str) -> Entry | None:
    """Return the question with this id ("faq:dtsen"), or None."""
    return _by_id().get(faq_id)


@cache
def _by_id() -> dict[str, Entry]:
    return {entry.id: entry for entry in entries()}


def labels() -> tuple[str, ...]:
    """Return the ids of every question: the classifier's FAQ labels."""
    return tuple(entry.id for entry in entries())


def phrasings() -> list[tuple[str, str, str]]:
    """Return every phrasing as (label, language, text): examples the classifier learns."""
    return [
        (entry.id, language, text)
        for entry in entries()
        for language in LANGUAGES
        for text in entry.phrasings[language]
    ]
