"""Button keys: one codec builds and reads every key a button carries.

A key is a prefix and typed fields joined by ":" ("rate:12:4"). Keys come back from the
platforms, so anyone can forge one: `decode` reads only ASCII digits of a bounded size and
known words, and gives None for anything else (a huge or negative id, a Unicode digit such as
"²", a missing or an extra part). The engine answers a key nobody can read as a stale button.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

SEPARATOR = ":"
MAX_ID = 2**31 - 1  # the largest value of a database integer column
MAX_KEY = 200  # longer than any key we build: not worth reading


def ascii_number(text: str, low: int = 0, high: int = MAX_ID) -> int | None:
    """Read a whole number of ASCII digits within [low, high]; None for anything else."""
    if not text or len(text) > len(str(high)) or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if low <= value <= high else None


class Field(Protocol):
    """One typed part of a key."""

    def read(self, text: str) -> int | str | None:
        """Return the part's value, or None when the text is not one."""

    def write(self, value: int | str) -> str:
        """Return the part as the key holds it; raise ValueError for a value it cannot hold."""


@dataclass(frozen=True)
class Number:
    """A whole number within a range (by default a database id)."""

    low: int = 1
    high: int = MAX_ID

    def read(self, text: str) -> int | None:
        """Return the number, or None."""
        return ascii_number(text, self.low, self.high)

    def write(self, value: int | str) -> str:
        """Return the number's digits."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"not a whole number: {value!r}")
        if not self.low <= value <= self.high:
            raise ValueError(f"{value} is outside {self.low}..{self.high}")
        return str(value)


@dataclass(frozen=True)
class Word:
    """One of a few known words."""

    words: frozenset[str]

    def read(self, text: str) -> str | None:
        """Return the word, or None."""
        return text if text in self.words else None

    def write(self, value: int | str) -> str:
        """Return the word."""
        if value not in self.words:
            raise ValueError(f"not one of {sorted(self.words)}: {value!r}")
        return str(value)


def words(*choices: str) -> Word:
    """Return a field that holds one of these words."""
    return Word(frozenset(choices))


@dataclass(frozen=True)
class Either:
    """A number or a word (a survey's answer: the choice's number, or "skip")."""

    number: Number
    word: Word

    def read(self, text: str) -> int | str | None:
        """Return the number or the word, or None."""
        found = self.number.read(text)
        return found if found is not None else self.word.read(text)

    def write(self, value: int | str) -> str:
        """Return the number's digits or the word."""
        return self.word.write(value) if isinstance(value, str) else self.number.write(value)


@dataclass(frozen=True)
class Name:
    """A short name from the data (a course category), without the separator."""

    longest: int = 60

    def read(self, text: str) -> str | None:
        """Return the name, or None."""
        return text if 0 < len(text) <= self.longest and SEPARATOR not in text else None

    def write(self, value: int | str) -> str:
        """Return the name."""
        if not isinstance(value, str) or self.read(value) is None:
            raise ValueError(f"not a short name: {value!r}")
        return value


ID = Number()
NAME = Name()


@dataclass(frozen=True)
class Button:
    """The kind of a button: its prefix and its fields, in order."""

    prefix: str  # may hold ":" itself ("reminder:cancel")
    fields: tuple[tuple[str, Field], ...] = ()

    def encode(self, **values: int | str) -> str:
        """Build a key; raise ValueError when a value is missing, unknown or out of range."""
        if set(values) != {name for name, _field in self.fields}:
            raise ValueError(f"{self.prefix}: fields {sorted(values)}")
        parts = [field.write(values[name]) for name, field in self.fields]
        return SEPARATOR.join([self.prefix, *parts])

    def owns(self, key: str | None) -> bool:
        """Tell whether a key claims to be of this kind (readable or not)."""
        return bool(key) and f"{key}{SEPARATOR}".startswith(f"{self.prefix}{SEPARATOR}")

    def decode(self, key: str | None) -> Mapping[str, int | str] | None:
        """Read a key of this kind into its values; None when it is not one."""
        if not key or len(key) > MAX_KEY or not self.owns(key):
            return None
        rest = key[len(self.prefix) :]
        parts = rest.split(SEPARATOR)[1:] if rest else []
        if len(parts) != len(self.fields):
            return None
        values: dict[str, int | str] = {}
        for (name, field), part in zip(self.fields, parts, strict=True):
            value = field.read(part)
            if value is None:
                return None
            values[name] = value
        return values


def button(prefix: str, **fields: Field) -> Button:
    """Declare a kind of button: `button("rate", rating=ID, score=Number(1, 5))`."""
    return Button(prefix, tuple(fields.items()))
