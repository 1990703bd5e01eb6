"""Finding the option a typed answer names when it is not the option's exact label or alias:
one of its words or phrases inside a short sentence ('saya jualan makanan di rumah'), or a
spelling slip ('klendr', 'pondok kelpa', measured by rapidfuzz). Texts come in normalised
(handlers/text.py) and are compared in their typed form (handlers/typed_words.py)."""

from functools import lru_cache

from rapidfuzz import fuzz, process

from handlers.messages import Option
from handlers.typed_words import typed_form

MAX_WORDS = 8  # a longer message is a sentence about something else, not an answer
SHORT = 4  # a phrase shorter than this ('ya', 'ok') counts inside two words at most
CLOSE = 85  # how alike (0-100) a slip and a word must be
FUZZY_SHORTEST = 6  # shorter words are too alike to guess ("siaran" is no "saran")
# a word before a phrase that turns it round: 'bukan warung' does not pick the warung
NEGATORS = frozenset(
    typed_form(word)
    for word in (
        "tidak", "tak", "gak", "ga", "nggak", "enggak", "ndak", "bukan", "jangan", "belum",
        "tanpa", "not", "no", "non", "never", "without",
    )
)  # fmt: skip


def _normal(text: str) -> str:
    from handlers.text import normalise  # text.py imports this module

    return normalise(text)


@lru_cache(maxsize=4096)
def forms(option: Option) -> frozenset[str]:
    """Return the typed forms of an option's label, short label and aliases."""
    phrases = {option.label, option.short, *option.aliases}
    return frozenset(typed_form(_normal(phrase)) for phrase in phrases if phrase) - {""}


def exact(options: tuple[Option, ...], typed: str) -> tuple[Option, ...]:
    """Return the options one of whose phrases is the typed answer."""
    return tuple(option for option in options if typed in forms(option))


def _found(sentence: str, phrase: str) -> bool:
    """Tell whether the phrase stands in the sentence, not turned round by a negation."""
    padded, wanted = f" {sentence} ", f" {phrase} "
    turned = phrase.split()[0] in NEGATORS
    start = padded.find(wanted)
    while start >= 0:
        before = padded[:start].split()
        if turned or not before or before[-1] not in NEGATORS:
            return True
        start = padded.find(wanted, start + 1)
    return False


def contained(options: tuple[Option, ...], typed: str) -> tuple[Option, ...]:
    """Return the options whose longest phrase (in words) found in a short sentence is the
    longest found: 'gak jadi' picks "no" over the "jadi" of "yes"; a tie is for the resident
    to settle ('ya tidak')."""
    words = typed.split()
    if len(words) > MAX_WORDS:
        return ()
    best: dict[str, int] = {}
    for option in options:
        for phrase in forms(option):
            if len(phrase) < SHORT and len(words) > 2:
                continue
            if _found(typed, phrase):
                best[option.key] = max(best.get(option.key, 0), len(phrase.split()))
    if not best:
        return ()
    top = max(best.values())
    return tuple(option for option in options if best.get(option.key) == top)


def _windows(typed: str, size: int) -> list[str]:
    """Return the runs of `size` words of a sentence, and the whole of it."""
    words = typed.split()
    runs = {" ".join(words[start : start + size]) for start in range(len(words) - size + 1)}
    return [typed, *runs]


def close(options: tuple[Option, ...], typed: str) -> tuple[Option, ...]:
    """Return the options with a phrase most like the answer, or like a run of as many of its
    words ('di klendr' → 'klender'), spaces aside ('durensawit'); a slip, not a guess."""
    if len(typed) < FUZZY_SHORTEST or len(typed.split()) > MAX_WORDS:
        return ()
    if NEGATORS & set(typed.split()):
        return ()  # 'bukan klender': a slip is not guessed against a negation
    scores: dict[str, float] = {}
    squashed = typed.replace(" ", "")
    for option in options:
        for phrase in forms(option):
            if len(phrase) < FUZZY_SHORTEST:
                continue
            runs = _windows(typed, len(phrase.split()))
            score = max(
                process.extractOne(phrase, runs, scorer=fuzz.ratio)[1],
                fuzz.ratio(phrase.replace(" ", ""), squashed),
            )
            if score >= CLOSE:
                scores[option.key] = max(scores.get(option.key, 0), score)
    if not scores:
        return ()
    top = max(scores.values())
    return tuple(option for option in options if scores.get(option.key, 0) >= top - 1)
