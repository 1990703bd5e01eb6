"""Every message the code shows exists in Indonesian and English, complete and well formed."""

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from handlers.i18n import LANGUAGES, LOCALES, catalog_paths, translations

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "N_": None, "gettext": None, "pgettext": ((1, "c"), 2)}


def source_messages() -> set[tuple[str | None, str]]:
    """Extract (context, message) pairs from handlers/ as `make extract` does."""
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        ROOT / "handlers", method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        found.add((context, message))
    return found


def placeholders(text: str) -> set[str]:
    """Return the {names} a format string uses."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_has_every_message_translated(language: str) -> None:
    po_path, _ = catalog_paths(language)
    with po_path.open("rb") as file:
        catalog = read_po(file, locale=language)
    missing, fuzzy, broken = [], [], []
    for context, message in sorted(source_messages(), key=str):
        entry = catalog.get(message, context=context)
        if entry is None or not entry.string:
            missing.append(message)
        elif entry.fuzzy:
            fuzzy.append(message)
        elif placeholders(entry.string) != placeholders(message):
            broken.append(message)
    assert not missing, f"{language}: untranslated: {missing}"
    assert not fuzzy, f"{language}: fuzzy: {fuzzy}"
    assert not broken, f"{language}: placeholders differ: {broken}"
    assert not [error for entry in catalog for error in entry.check(catalog)]


def test_indonesian_really_is_indonesian() -> None:
    _ = translations("id").gettext
    assert _("Main menu. How can we help you?") == "Menu utama. Ada yang bisa kami bantu?"
    assert _("Skip") == "Lewati"


def test_template_is_current() -> None:
    with (LOCALES / "messages.pot").open("rb") as file:
        template = {(entry.context, entry.id) for entry in read_po(file) if entry.id}
    assert source_messages() <= template, "run `make update-catalogs`"


def test_no_literal_user_text_outside_catalogs() -> None:
    # a Reply built from a bare string literal would reach residents untranslated
    bare = re.compile(r"Reply\(\s*f?[\"']")
    offenders = [
        path.name for path in (ROOT / "handlers").glob("*.py") if bare.search(path.read_text())
    ]
    assert offenders == []
