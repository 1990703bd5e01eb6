"""Message catalogs (Babel, gettext): Indonesian first, English second."""

import io
import logging
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

log = logging.getLogger(__name__)

LOCALES = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


def catalog_paths(language: str) -> tuple[Path, Path]:
    """Return the .po and .mo file of a language."""
    folder = LOCALES / language / "LC_MESSAGES"
    return folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"


@cache
def translations(language: str) -> NullTranslations:
    """Load a language's catalog: the compiled .mo when current, else the .po compiled here."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language: {language!r}")
    po_path, mo_path = catalog_paths(language)
    if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        with mo_path.open("rb") as fp:
            return Translations(fp, domain=DOMAIN)
    # a fresh clone has no .mo files: compile in memory so it works without a build step
    with po_path.open("rb") as fp:
        catalog = read_po(fp, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def normalise_language(code: str | None) -> str | None:
    """Map an app's language code ('en-US', 'id') to one we speak, or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None
