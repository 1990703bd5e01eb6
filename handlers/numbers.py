"""Numbers as residents type them: counts ('5', 'lima') and Rupiah ('2,5 juta', 'Rp3.000.000')."""

import math
import re

# small counts in words, as people write them in both languages
COUNT_WORDS = {
    "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7,
    "delapan": 8, "sembilan": 9, "sepuluh": 10, "one": 1, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
MULTIPLIERS = {
    "jt": 1_000_000, "juta": 1_000_000, "million": 1_000_000, "m": 1_000_000,
    "rb": 1_000, "ribu": 1_000, "rebu": 1_000, "k": 1_000, "thousand": 1_000,
}  # fmt: skip
MAX_TYPED = 60  # "Rp 10.000.000.000 per bulan" fits with room to spare
ZERO_WORDS = frozenset({"nol", "tidak ada", "gak ada", "ga ada", "belum ada", "none", "nothing"})
_COUNT = re.compile(r"^\s*([0-9]{1,3})\s*(orang|jiwa|people|persons?)?\s*\.?\s*$", re.IGNORECASE)
_AMOUNT = re.compile(
    r"^\s*(?:rp\.?|idr)?\s*([0-9][0-9.,\s]*)\s*([a-z]+)?\s*(?:/\s*bulan|per\s*bulan|sebulan|"
    r"a\s*month|per\s*month|/\s*month)?\s*\.?\s*$",
    re.IGNORECASE,
)


def parse_count(text: str) -> int | None:
    """Read a small count: '5', '5 orang', 'lima'."""
    words = text.strip().lower().rstrip(".")
    if words in COUNT_WORDS:
        return COUNT_WORDS[words]
    match = _COUNT.match(text)
    return int(match.group(1)) if match else None


def _plain_number(digits: str) -> float | None:
    """Read '3.000.000', '3,000,000', '2,5' or '2.5' as a number."""
    digits = digits.replace(" ", "")
    groups = re.split(r"[.,]", digits)
    if len(groups) > 1 and all(len(group) == 3 for group in groups[1:]):
        return float("".join(groups))  # thousands separators, either style
    if len(groups) == 2:
        return float(f"{groups[0]}.{groups[1]}")  # a decimal comma or point
    if len(groups) == 1:
        return float(digits)
    return None


def parse_amount(text: str) -> int | None:
    """Read an amount of Rupiah: '3000000', 'Rp 3.000.000', '2,5 juta', '750rb'; None if not."""
    cleaned = text.strip().lower()
    if len(cleaned) > MAX_TYPED:  # no amount is written that long
        return None
    if cleaned in ZERO_WORDS:
        return 0
    match = _AMOUNT.match(cleaned)
    if not match:
        return None
    number = _plain_number(match.group(1).strip())
    unit = match.group(2)
    if (
        number is None
        or not math.isfinite(number)
        or (unit is not None and unit not in MULTIPLIERS)
    ):
        return None
    return round(number * (MULTIPLIERS[unit] if unit else 1))
