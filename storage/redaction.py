"""What must never be kept or exported from what people type: a NIK (16 digits, however they
are spaced, dotted, dashed, slashed, hidden with zero-width characters or written in other
digits) and Indonesian phone numbers (08…, +62 8…, 62 8…, landlines such as (021) 8611234).

`holds_nik` tells a flow to ask again without it; `redact` is applied to every free text where
it is stored and again where it is exported, so nothing depends on one flow remembering it.
Dates, amounts, RT/RW numbers and tracking numbers stay as they are.
"""

import re
import unicodedata

NIK_REMOVED = "[NIK dihapus]"
PHONE_REMOVED = "[nomor telepon dihapus]"

# characters that hide between digits without showing: zero-width space, joiners, word joiner,
# the byte-order mark, the soft hyphen, and the other format characters (Unicode category Cf)
_SEPARATOR = r"[\s./\\\-‐-―_,:|*]"
_NIK = re.compile(rf"(?<![0-9])(?:[0-9]{_SEPARATOR}{{0,3}}){{15}}[0-9](?![0-9])")
# one date or a range of dates: digits grouped like 12/03/2026 or 2026-03-12
_DATE = r"(?:[0-9]{1,2}[/.\-][0-9]{1,2}[/.\-][0-9]{4}|[0-9]{4}[/.\-][0-9]{1,2}[/.\-][0-9]{1,2})"
_DATES = re.compile(rf"{_DATE}(?:\s*(?:-|–|—|s/?d|sampai|to)?\s*{_DATE})+")
_MOBILE = re.compile(
    r"(?<![0-9])(?:\+\s?62|62|0)[\s.\-]?\(?8[0-9]{1,2}\)?(?:[\s.\-]?[0-9]){6,10}(?![0-9])"
)
_LANDLINE = re.compile(
    r"(?<![0-9])(?:\(\s?0[2-9][0-9]{1,2}\s?\)|\+\s?62[\s.\-]?\(?[2-9][0-9]{1,2}\)?|0[2-9][0-9]{1,2})"
    r"[\s.\-]?[0-9]{3,4}[\s.\-]?[0-9]{3,5}(?![0-9])"
)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def normalised(text: str) -> str:
    """Return text with other digits as ASCII ones (full-width, Arabic-Indic, ①, ²) and the
    invisible characters between them removed, as the patterns read it; control characters
    (NUL, which PostgreSQL refuses in text, and the like) go too, line breaks stay."""
    text = "".join(
        character
        for character in unicodedata.normalize("NFKC", _CONTROL.sub("", text))
        if unicodedata.category(character) != "Cf"
    )
    return "".join(
        str(unicodedata.digit(character))
        if not character.isascii() and _digit(character)
        else character
        for character in text
    )


def _digit(character: str) -> bool:
    try:
        unicodedata.digit(character)
    except (TypeError, ValueError):
        return False
    return True


def _niks(text: str) -> list[re.Match]:
    return [found for found in _NIK.finditer(text) if not _DATES.fullmatch(found.group().strip())]


def holds_nik(text: str) -> bool:
    """Tell whether a text holds something that reads as a NIK."""
    return bool(_niks(normalised(text)))


def holds_phone(text: str) -> bool:
    """Tell whether a text holds an Indonesian phone number."""
    text = normalised(text)
    return bool(_MOBILE.search(text) or _LANDLINE.search(text))


def redact(text: str | None) -> str | None:
    """Return a free text with every NIK and phone number in it replaced by a marker. A text
    that holds neither comes back as it was typed, without control characters (a NUL, which
    PostgreSQL refuses in text)."""
    if not text:
        return text
    plain = normalised(text)
    found = _niks(plain)
    if not found and not (_MOBILE.search(plain) or _LANDLINE.search(plain)):
        return _CONTROL.sub("", text)
    for match in reversed(found):
        plain = plain[: match.start()] + NIK_REMOVED + plain[match.end() :]
    plain = _MOBILE.sub(PHONE_REMOVED, plain)
    return _LANDLINE.sub(PHONE_REMOVED, plain)


def redacted(value):
    """Return answers (a dict, a list or a text) with every text in them redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redacted(item) for item in value]
    return value
