"""Places as residents type them: an RW number in digits or words ('rw lima', 'RW05',
'erwe 5', '05', 'RT 3 RW 5', '003/005'). A kelurahan typed ('pdk kopi', 'klendr') is an option
of its question, read by handlers/text.py with the abbreviations of data/typed_words.toml."""

import re

from handlers.numbers import parse_number, tokens, whole

MAX_RW = 999
_NEGATIVE = re.compile(r"^\s*(?:-|−|minus\b)", re.IGNORECASE)
_ALONE = re.compile(r"^\s*0*([0-9]{1,3})\s*\.?\s*$")
_RT_RW = re.compile(r"^\s*0*[0-9]{1,3}\s*/\s*0*([0-9]{1,3})\s*$")  # RT/RW, the usual order
# what names an RW: 'rw', 'RW.', 'erwe', 'rukun warga'; 'rw05' runs it into the number
_MARKER = re.compile(r"(?:\brw|\berwe|\brukun\s+warga)\W*(?=[0-9]|\s|$)", re.IGNORECASE)
_RT = re.compile(r"(?:\brt|\berte|\brukun\s+tetangga)\W*0*[0-9]{1,3}\b|\brt\W+[a-z]+\b")
_FILLER = re.compile(r"\b(?:saya|aku|di|tinggal|nomor|no|nomer|number|i live in|in|ya|sih)\b")


def _number_after(words: list[str]) -> int | None:
    """Read the RW number at the start of `words` ('05', 'lima', 'dua belas')."""
    taken: list[str] = []
    for word in words:
        if word[0].isdigit() or parse_number(" ".join([*taken, word])) is not None:
            taken.append(word)
            if word[0].isdigit():
                break
        else:
            break
    value = whole(parse_number(" ".join(taken))) if taken else None
    return value if value is not None and 0 <= value <= MAX_RW else None


def rw_number(text: str) -> int | None:
    """Read an RW number from '5', '005', 'RW 05', 'RW05', 'rw lima', 'erwe 5', 'RT 3 RW 5' or
    '003/005'; None when there is none."""
    text = text[:100]
    if tokens(text) is None or _NEGATIVE.match(text):  # a digit that is not ASCII, '-3'
        return None
    match = _ALONE.match(text) or _RT_RW.match(text)
    if match:
        return int(match.group(1))
    marker = _MARKER.search(text)
    if marker:
        words = tokens(text[marker.end() :]) or []
        if words and words[0].isdigit() and len(words[0]) <= 3:
            return int(words[0])
        return _number_after(words)
    plain = _FILLER.sub(" ", text.lower())
    if _RT.search(plain):
        return None  # only the RT: not the RW asked for
    words = tokens(plain) or []
    value = whole(parse_number(" ".join(words))) if words else None
    return value if value is not None and 0 <= value <= MAX_RW else None
