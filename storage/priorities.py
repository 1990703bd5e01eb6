"""Groups a training organiser gives priority to (data/priority_groups.toml)."""

import tomllib
from functools import cache
from pathlib import Path

PRIORITY_FILE = Path(__file__).parent / "data" / "priority_groups.toml"


@cache
def priority_groups(source: Path = PRIORITY_FILE) -> dict[str, dict[str, str]]:
    """Return the groups by code, each with its name in Indonesian (`id`) and English (`en`)."""
    if not source.is_file():
        return {}
    return tomllib.loads(source.read_text(encoding="utf-8"))


def group_label(code: str, language: str) -> str:
    """Return a group's name in a language, or its code when it is not in the data."""
    entry = priority_groups().get(code, {})
    return entry.get(language) or entry.get("id") or code
