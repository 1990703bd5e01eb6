"""Numbers as residents type them: in digits or in words, Indonesian or English.

- `parse_number`: '12', 'dua belas', 'seratus lima puluh', 'satu setengah', 'twenty five'.
- `parse_count`: people in a household: '5 orang', 'lima jiwa', 'berlima', 'ber-5', 'sendiri'.
- `parse_amount`: Rupiah: 'Rp 2.500.000', '1,5 jt', '500rb', 'dua setengah juta', 'sekitar
  2 juta', '2 juta 500 ribu', '2jt an per bulan'; a range ('1-2 juta') is read as its upper
  end, the most it may be, so a screening never counts a household poorer than it said.

Only ASCII digits count ('１２' and '²' are refused), and nothing ambiguous is guessed:
'sejuta lima' (1,5 juta or 1.000.005?) and 'lima ratus ribu juta' are None, and the question
is asked again with its hint.
"""

import math
import re

MAX_TYPED = 60  # "Rp 10.000.000.000 per bulan" fits with room to spare
MAX_VALUE = 10**15  # far above any amount a question takes; more is no number
ZERO_WORDS = frozenset(
    {
        "nol", "kosong", "tidak ada", "tdk ada", "gak ada", "ga ada", "nggak ada", "belum ada",
        "tidak punya", "gak punya", "none", "nothing", "zero",
    }
)  # fmt: skip

# small numbers in words, as people write them in both languages
UNITS = {
    "nol": 0, "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7,
    "delapan": 8, "sembilan": 9, "sepuluh": 10, "sebelas": 11,
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
COUNT_WORDS = {word: value for word, value in UNITS.items() if 1 <= value <= 10}
TENS_EN = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
HALF_WORDS = {"setengah": 0.5, "half": 0.5, "seperempat": 0.25, "quarter": 0.25}
# the big steps: 'dua juta lima ratus ribu' is 2 × juta + 500 × ribu
MULTIPLIERS = {
    "ribu": 1_000, "rb": 1_000, "rebu": 1_000, "k": 1_000, "thousand": 1_000, "rbu": 1_000,
    "juta": 1_000_000, "jt": 1_000_000, "jta": 1_000_000, "million": 1_000_000,
    "m": 1_000_000, "mio": 1_000_000, "miliar": 10**9, "milyar": 10**9, "billion": 10**9,
}  # fmt: skip
# 'seratus' is 'satu ratus': the words that take the prefix 'se-'
SE_WORDS = ("ratus", "ribu", "juta", "puluh", "belas", "miliar", "milyar")

_TOKENS = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+", re.UNICODE)
_RANGE = re.compile(
    r"^(.*?[0-9a-z])(?:\s*[-–]\s*|\s+(?:s/d|sd|sampai|hingga|atau|to|or)\s+)([0-9a-z].*)$"
)
_NEGATIVE = re.compile(r"^\s*(?:rp\.?\s*)?(?:-|−|minus\b)", re.IGNORECASE)

# words around an amount that change nothing: 'sekitar', 'kurang lebih', 'per bulan', 'rupiah'
AMOUNT_FILLER = re.compile(
    r"\b(?:rp|idr|rupiah|sekitar|sekitaran|kira kira|kira|kurang lebih|kurleb|kl|lebih kurang|"
    r"lebih dari|lebih|dari|hampir|cuma|cuman|hanya|sih|aja|saja|ya|an|kurang dari|"
    r"per bulan|perbulan|sebulan|tiap bulan|setiap bulan|bulan|bln|sebulannya|bulanan|"
    r"about|around|approximately|approx|roughly|almost|only|just|maybe|mungkin|"
    r"a month|per month|monthly|each month|every month|month|rupiahs)\b"
)
_PLUS_MINUS = re.compile(r"[±~]|\+/-|\+-")


def tokens(text: str) -> list[str] | None:
    """Split typed text into number tokens and words ('500rb' → '500', 'rb'); None when it
    holds a digit that is not ASCII ('１２', '²')."""
    if any(char.isdigit() and char not in "0123456789" for char in text):
        return None
    found = _TOKENS.findall(text.casefold())
    words: list[str] = []
    for token in found:
        if token[0].isdigit():
            words.append(token)
            continue
        for suffix in ("an",):  # 'jutaan', 'ribuan', '2jtan': about that much
            if token.endswith(suffix) and token[: -len(suffix)] in MULTIPLIERS:
                token = token[: -len(suffix)]
        if token.startswith("se") and token[2:] in SE_WORDS:
            words += ["satu", token[2:]]
        else:
            words.append(token)
    return words


def digits_value(token: str) -> float | None:
    """Read '3.000.000', '3,000,000', '2,5' or '2.5' as a number."""
    groups = re.split(r"[.,]", token)
    if len(groups) > 1 and all(len(group) == 3 for group in groups[1:]):
        return float("".join(groups))  # thousands separators, either style
    if len(groups) == 2:
        return float(f"{groups[0]}.{groups[1]}")  # a decimal comma or point
    if len(groups) == 1:
        return float(token)
    return None


def _value_of(words: list[str]) -> tuple[float, bool] | None:
    """Read a sequence of number words and digits; return the value and whether a big step
    (ribu, juta) was in it; None when it is no number or an ambiguous one."""
    if not words or len(words) > 16:
        return None
    total = 0.0  # the parts already multiplied by ribu, juta, ...
    group = 0.0  # the part below a thousand being built: 'lima ratus dua puluh'
    last: float | None = None  # a bare number waiting for puluh, ratus or a big step
    step = math.inf  # the last big step: they must come down ('juta' before 'ribu')
    places: set[str] = set()  # puluh/ratus/belas used in this group
    half = False
    for word in words:
        if word[0].isdigit():
            value = digits_value(word)
            if value is None or last is not None:
                return None
            last = value
        elif word in UNITS:
            value = UNITS[word]
            if last is not None:
                return None  # 'dua tiga': no number
            last = float(value)
        elif word in TENS_EN:
            if last is not None:
                return None
            last = float(TENS_EN[word])
        elif word in ("belas", "puluh", "ratus", "hundred"):
            # 'dua belas', 'dua puluh', 'lima ratus': a unit first, each place once
            if last is None or not 1 <= last <= 9 or last != int(last) or word in places:
                return None
            if word == "puluh" and places & {"belas"}:
                return None
            factor = {"belas": None, "puluh": 10, "ratus": 100, "hundred": 100}[word]
            group += last + 10 if factor is None else last * factor
            places.add(word)
            last = None
        elif word in HALF_WORDS:
            if half:
                return None
            half = True
            if last is None and not group:
                last = HALF_WORDS[word]  # 'setengah juta'
            else:
                last = (last or 0) + HALF_WORDS[word]  # 'satu setengah', 'dua setengah juta'
        elif word in MULTIPLIERS:
            factor = MULTIPLIERS[word]
            value = group + (last or 0)
            if value <= 0 or factor >= step:
                return None  # 'juta' alone, 'lima ratus ribu juta'
            total += value * factor
            step, group, last, places, half = factor, 0.0, None, set(), False
        elif word in ("and", "dan"):
            continue
        else:
            return None
    tail = group + (last or 0)
    if total and tail and (step >= 1_000_000 or not group):
        # 'sejuta lima', '2 juta 500', 'dua juta lima ratus': 1.500.000 or 1.000.005? ask again
        return None
    return total + group + (last or 0), step != math.inf


def _join_english(words: list[str]) -> list[str]:
    """Join 'twenty five' into one number ('25'); read 'a hundred', 'a million' as one."""
    joined: list[str] = []
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else ""
        if word in ("a", "an") and (following in MULTIPLIERS or following == "hundred"):
            word = "one"
        if joined and joined[-1] in TENS_EN and word in UNITS and 1 <= UNITS[word] <= 9:
            joined[-1] = str(TENS_EN[joined[-1]] + UNITS[word])
            continue
        joined.append(word)
    return joined


def parse_number(text: str) -> float | None:
    """Read one number in digits or words: '12', 'dua belas', 'seratus', 'satu setengah',
    'twenty five', 'dua ribu lima ratus'; None when there is none, or more than one."""
    if len(text) > MAX_TYPED:
        return None
    words = tokens(text)
    if not words:
        return None
    read = _value_of(_join_english(words))
    if read is None or not math.isfinite(read[0]) or read[0] > MAX_VALUE:
        return None
    return read[0]


def whole(value: float | None) -> int | None:
    """Return a number that is whole as an int, else None ('2,5 orang' is no count)."""
    if value is None or value != int(value):
        return None
    return int(value)


# -- people --------------------------------------------------------------------------------------

# 'berlima', 'berempat': all of us, five
_ALL_OF_US = {f"ber{word}": value for word, value in COUNT_WORDS.items() if word != "satu"}
_ALL_OF_US |= {"berdua": 2, "berenam": 6}
ALONE_WORDS = frozenset(
    {
        "sendiri", "sendirian", "saya sendiri", "aku sendiri", "hanya saya", "cuma saya",
        "saya saja", "saya aja", "tinggal sendiri", "alone", "just me", "only me", "me only",
        "myself", "me alone", "i live alone",
    }
)  # fmt: skip
COUPLE_WORDS = frozenset(
    {
        "suami istri", "suami dan istri", "saya dan istri", "saya dan suami",
        "saya dan istri saya", "saya dan suami saya", "berdua dengan istri",
        "berdua dengan suami", "pasutri",
        "husband and wife", "me and my wife", "me and my husband", "a couple", "couple",
    }
)  # fmt: skip
# words around a count that change nothing: 'kami berlima', 'ada 5 orang', 'sekitar 4 jiwa'
COUNT_FILLER = re.compile(
    r"\b(?:kami|kita|saya|aku|ada|sekitar|kira kira|kurang lebih|jumlah|jumlahnya|semua|semuanya|"
    r"total|totalnya|sebanyak|orang|org|jiwa|anggota|anggota keluarga|keluarga|di rumah|"
    r"dalam kk|di kk|termasuk saya|sudah termasuk saya|people|persons?|members?|in total|"
    r"we are|there are|of us|family|including me|yang tinggal|tinggal|sih|aja|saja)\b"
)
_BER_DIGITS = re.compile(r"\bber\s*-?\s*([0-9]{1,2})\b")


def _plain(text: str) -> str:
    """Fold case and drop punctuation but the marks inside numbers, for phrase tables."""
    folded = re.sub(r"[^\w\s.,/-]", " ", text.casefold())
    return " ".join(folded.split()).strip(" .,")


def parse_count(text: str) -> int | None:
    """Read how many people: '5', '5 orang', 'lima jiwa', 'berlima', 'ber-5', 'kami
    berempat', 'sendiri' (1), 'suami istri' (2); None when not a whole number of people."""
    if len(text) > MAX_TYPED or tokens(text) is None:
        return None
    plain = _plain(text)
    if plain in ALONE_WORDS:
        return 1
    if plain in COUPLE_WORDS:
        return 2
    plain = _BER_DIGITS.sub(r"\1", plain)
    rest = " ".join(COUNT_FILLER.sub(" ", plain).split())
    if rest in _ALL_OF_US:
        return _ALL_OF_US[rest]
    if rest in ALONE_WORDS or rest == "sendiri":
        return 1
    if _RANGE.match(rest) and not re.fullmatch(r"[0-9]+", rest):
        return None  # '4-5 orang': ask for the one number
    count = whole(parse_number(rest)) if rest else None
    return count if count is not None and count < 1000 else None


# -- Rupiah --------------------------------------------------------------------------------------


def parse_amount(text: str) -> int | None:
    """Read an amount of Rupiah: '3000000', 'Rp 3.000.000', '2,5 juta', '750rb', 'dua juta',
    'setengah juta', 'sekitar 2 juta', '± 1 jt', '2jt an sebulan', '2 million', a range by
    its upper end ('1-2 juta'); 0 for 'nol' or 'tidak ada'; None if not an amount."""
    cleaned = text.strip().lower()
    if len(cleaned) > MAX_TYPED or _NEGATIVE.match(cleaned):  # no amount is written that long
        return None
    if tokens(cleaned) is None:
        return None
    plain = _plain(_PLUS_MINUS.sub(" ", cleaned)).replace("/", " / ")
    if plain.strip(" .") in ZERO_WORDS:
        return 0
    plain = re.sub(r"\brp\.?(?=[0-9])", "rp ", plain)
    plain = re.sub(r"(?<=[0-9])(?=[a-z])|(?<=[a-z])(?=[0-9])", " ", plain)
    plain = re.sub(r"\s*/\s*(?:bulan|bln|bl|month|mo|bulannya)\b", " ", plain)
    rest = " ".join(AMOUNT_FILLER.sub(" ", plain).split()).strip(" .,/")
    if not rest:
        return None
    upper = _RANGE.match(rest)
    if upper and not re.fullmatch(r"[0-9.,]+", rest):
        low, high = parse_number(upper.group(1)), parse_number(upper.group(2))
        if low is None or high is None:
            return None
        rest = upper.group(2)  # the most it may be
    value = parse_number(rest)
    if value is None or 0 < value < 1:  # 'setengah' alone: half of what?
        return None
    return round(value)


# -- ratings -------------------------------------------------------------------------------------

# what residents type for a score from 1 to 5, besides the number
SCORE_WORDS = {
    1: "satu|one|satu bintang|bintang satu|1 bintang|bintang 1|1 star|one star|sangat jelek|"
    "jelek sekali|jelek banget|sangat buruk|buruk sekali|buruk banget|parah|very poor|very bad|"
    "terrible|awful",
    2: "dua|two|dua bintang|bintang dua|2 bintang|bintang 2|2 stars|two stars|jelek|buruk|"
    "kurang|kurang bagus|kurang baik|poor|bad",
    3: "tiga|three|tiga bintang|bintang tiga|3 bintang|bintang 3|3 stars|three stars|biasa|"
    "biasa saja|biasa aja|lumayan|cukup|sedang|okay|ok|so so|average|fair",
    4: "empat|four|empat bintang|bintang empat|4 bintang|bintang 4|4 stars|four stars|bagus|"
    "baik|puas|good|nice",
    5: "lima|five|lima bintang|bintang lima|5 bintang|bintang 5|5 stars|five stars|"
    "sangat bagus|bagus sekali|bagus banget|sangat baik|baik sekali|mantap|mantul|keren|"
    "sangat puas|puas banget|luar biasa|very good|excellent|great|perfect|the best",
}


def score_aliases(score: int) -> str:
    """Return the words that pick a score from 1 to 5 ('empat', 'lima bintang', 'bagus')."""
    return SCORE_WORDS.get(score, "")
