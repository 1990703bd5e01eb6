"""The kantor kecamatan and the kantor kelurahan of Duren Sawit: address, phone, office hours.

Read from data/offices.toml once. Each value says whether it was invented for the demo, so the
conversations can tell residents which facts are examples.
"""

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

OFFICES_FILE = Path(__file__).parent / "data" / "offices.toml"
KECAMATAN = "kecamatan"  # the key of the kantor kecamatan
LANGUAGES = ("id", "en")


class OfficesProblem(ValueError):
    """The offices file is missing something or holds a value of the wrong kind."""


@dataclass(frozen=True)
class Fact:
    """One value about an office, and whether it was invented for the demo."""

    text: str
    demo: bool


@dataclass(frozen=True)
class Office:
    """A government office residents can go to."""

    key: str
    kelurahan_code: str  # "" for the kantor kecamatan
    name: str
    address: Fact
    phone: Fact
    hours: dict[str, Fact]  # by language

    def hours_in(self, language: str) -> Fact:
        """Return the office hours in a language, Indonesian when missing."""
        return self.hours.get(language) or self.hours["id"]


def _fact(entry: dict, name: str) -> Fact:
    value = entry.get(name)
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        raise OfficesProblem(f"office {entry.get('key')!r}: {name} needs a text")
    if not value["text"].strip() or not isinstance(value.get("demo", False), bool):
        raise OfficesProblem(f"office {entry.get('key')!r}: {name} is empty or demo not a bool")
    return Fact(value["text"].strip(), value.get("demo", False))


def parse(data: dict) -> tuple[Office, ...]:
    """Check the file's data and return the offices, the kecamatan first."""
    offices = []
    for entry in data.get("office", []):
        key, code, name = entry.get("key"), entry.get("kelurahan", ""), entry.get("name")
        if not isinstance(key, str) or not key or not isinstance(name, str) or not name:
            raise OfficesProblem(f"an office needs a key and a name: {entry!r}")
        if not isinstance(code, str) or (key == KECAMATAN) != (code == ""):
            raise OfficesProblem(f"office {key!r}: only the kecamatan has no kelurahan code")
        hours = {language: _fact(entry, f"hours_{language}") for language in LANGUAGES}
        offices.append(
            Office(key, code, name, _fact(entry, "address"), _fact(entry, "phone"), hours)
        )
    keys = [office.key for office in offices]
    codes = [office.kelurahan_code for office in offices if office.kelurahan_code]
    if len(set(keys)) != len(keys) or len(set(codes)) != len(codes):
        raise OfficesProblem("offices: a key or a kelurahan code appears twice")
    if KECAMATAN not in keys:
        raise OfficesProblem("offices: the kantor kecamatan is missing")
    return tuple(sorted(offices, key=lambda office: office.key != KECAMATAN))


def load(path: Path = OFFICES_FILE) -> tuple[Office, ...]:
    """Read and check an offices file."""
    return parse(tomllib.loads(path.read_text(encoding="utf-8")))


@cache
def offices() -> tuple[Office, ...]:
    """Return the offices shipped with the program (read once), the kecamatan first."""
    return load()


def kecamatan() -> Office:
    """Return the kantor kecamatan."""
    return offices()[0]


def of_kelurahan(code: str | None) -> Office | None:
    """Return the kantor kelurahan of a kelurahan code, or None."""
    if not code:
        return None
    return next((office for office in offices() if office.kelurahan_code == code), None)
