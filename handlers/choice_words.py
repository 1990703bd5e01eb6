"""The words residents type for options named elsewhere (course categories, complaint
categories), read from data/choice_words.toml."""

import tomllib
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "choice_words.toml"


@cache
def _table() -> dict[str, dict[str, list[str]]]:
    return tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))


def choice_words(kind: str, name: str) -> str:
    """Return the words for one option of a kind ('training', 'complaint') as options take
    them ("jahit|menjahit"); '' for a name the data does not know."""
    return "|".join(_table().get(kind, {}).get(name, ()))
