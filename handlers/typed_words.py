"""How residents type words in chat, folded away before an answer is matched to options:
letters held down ('iyaaa', 'okeee'), and shortenings from data/typed_words.toml ('pdk' →
'pondok', 'tdk' → 'tidak', 'kel' → 'kelurahan')."""

import re
import tomllib
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "typed_words.toml"
_MODIFIERS = re.compile("[\ufe0f\u200d\U0001f3fb-\U0001f3ff\u2640\u2642]")  # skin, gender
_HELD = re.compile(r"([^\W\d_])\1+", re.UNICODE)  # a letter typed twice or more


def squeeze(word: str) -> str:
    """Fold a letter repeated in a row into one ('iyaaa' → 'iya', 'nggak' → 'ngak'); both
    sides of a comparison are squeezed, so 'maaf' still meets 'maaf'."""
    return _HELD.sub(r"\1", word)


@cache
def abbreviations() -> dict[str, str]:
    """Return the shortenings and the words they stand for, squeezed as typed_form reads them."""
    table = tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))["abbreviations"]
    found = {short: full for short, full in table.items()}
    found |= {squeeze(short): full for short, full in table.items() if squeeze(short) not in found}
    return found


def typed_form(normalised: str) -> str:
    """Return a normalised text with shortenings spelled out and held letters folded, the form
    answers and option words are compared in ('pdk kopii' → 'pondok kopi')."""
    table = abbreviations()
    words = []
    for word in normalised.split():
        word = table.get(word) or table.get(squeeze(word)) or word
        words.append(squeeze(word))
    return " ".join(words)


@cache
def _emoji() -> dict[str, str]:
    return tomllib.loads(DATA_FILE.read_text(encoding="utf-8")).get("emoji", {})


def emoji_word(text: str) -> str:
    """Return the word a message of one emoji stands for ('👍' → 'ya'), or ''."""
    bare = _MODIFIERS.sub("", text).strip()
    if not bare or len(bare) > 12:
        return ""
    table = _emoji()
    signs = set(bare.replace(" ", ""))
    return table.get(signs.pop(), "") if len(signs) == 1 else ""  # '👍👍' too
