"""Lengths of time as residents type them, read as whole months (how long a business has run):
'8', '8 bulan', '3 bln', 'tiga bulan', 'setahun', 'dua tahun', '1,5 tahun', '6 bulanan',
'2 tahun 3 bulan', 'sejam lebih' or 'baru buka' (0: it has only just started).

Less than half a month counts as 0; 'sekitar', 'sudah', 'lebih' and the like change nothing.
"""

import re

from handlers.numbers import MAX_TYPED, parse_number, tokens

DAYS_IN = {
    "jam": 1 / 24, "hour": 1 / 24, "hours": 1 / 24,
    "hari": 1, "hr": 1, "day": 1, "days": 1,
    "minggu": 7, "mgg": 7, "mg": 7, "pekan": 7, "week": 7, "weeks": 7, "wk": 7,
    "bulan": 30, "bln": 30, "bl": 30, "month": 30, "months": 30, "mo": 30, "mth": 30,
    "tahun": 360, "thn": 360, "th": 360, "tahunan": 360, "year": 360, "years": 360, "yr": 360,
    "yrs": 360,
}  # fmt: skip
MONTH_DAYS = 30
_NEGATIVE = re.compile(r"^\s*(?:-|−|minus\b)", re.IGNORECASE)
# 'sejam', 'sebulan', 'setahun': one of the unit
_SE_UNITS = {f"se{unit}": unit for unit in ("jam", "hari", "minggu", "pekan", "bulan", "tahun")}
JUST_STARTED = frozenset(
    {
        "baru", "baru mulai", "baru buka", "baru saja", "baru aja", "baru saja mulai",
        "baru aja mulai", "baru saja buka", "baru aja buka", "baru dimulai", "baru jalan",
        "baru berjalan", "belum", "belum mulai", "belum buka", "belum jalan", "new", "brand new",
        "just started", "just opened", "just begun", "not yet", "not started",
    }
)  # fmt: skip
# words around a length of time that change nothing: 'sudah 3 bulan', 'sekitar 2 tahunan'
FILLER = re.compile(
    r"\b(?:sudah|udah|udh|sdh|telah|baru|sekitar|kira kira|kira|kurang lebih|kurleb|lebih dari|"
    r"lebih|hampir|sejak|selama|jalan|berjalan|buka|usaha|usahanya|an|nya|ya|sih|aja|saja|"
    r"about|around|almost|over|more than|for|already|since|roughly|approximately|running|"
    r"open|it has been|been|dan|and|plus|lalu|yang lalu|ago)\b"
)


def _words(text: str) -> list[str] | None:
    """Return the words of a typed length of time, 'sejam' as 'satu jam', '6 bulanan' as
    '6 bulan'; None when a digit is not ASCII."""
    found = tokens(re.sub(r"(?<=[0-9])(?=[a-z])", " ", text.lower()))
    if found is None:
        return None
    words: list[str] = []
    for word in found:
        if word in _SE_UNITS:
            words += ["satu", _SE_UNITS[word]]
        elif word.endswith("an") and word[:-2] in DAYS_IN:  # 'bulanan', 'tahunan': about
            words.append(word[:-2])
        else:
            words.append(word)
    return words


def parse_months(text: str) -> int | None:
    """Read how long something has run, in whole months: '8' (months), '3 bln', 'tiga
    bulan', 'setahun', '1,5 tahun', '2 tahun 3 bulan', 'sejam lebih' (0), 'baru buka' (0);
    None when it is not a length of time."""
    if len(text) > MAX_TYPED or _NEGATIVE.match(text):
        return None
    plain = " ".join(re.sub(r"[^\w\s.,]", " ", text.casefold()).split()).strip(" .,")
    if plain in JUST_STARTED:
        return 0
    words = _words(plain)
    if not words:
        return None
    words = FILLER.sub(" ", " ".join(words)).split()
    if not words:
        return 0 if plain.startswith("baru") else None
    days, number = 0.0, []
    for word in words:
        if word in DAYS_IN:
            value = parse_number(" ".join(number)) if number else None
            if value is None or value < 0:
                return None
            days += value * DAYS_IN[word]
            number = []
        else:
            number.append(word)
    if number:  # a number without a unit: months, as the question asks
        if days:
            return None  # '2 tahun 3': three what?
        value = parse_number(" ".join(number))
        if value is None:
            return None
        days = value * MONTH_DAYS
    return round(days / MONTH_DAYS)
