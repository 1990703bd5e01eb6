"""Reading what residents type: keywords that work anywhere, and choosing options."""

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from handlers import option_words
from handlers.messages import Option
from handlers.typed_words import emoji_word, typed_form


class Keyword(StrEnum):
    """A word that works at any step, in either language."""

    MENU = "menu"
    CANCEL = "cancel"
    HELP = "help"
    LANGUAGE = "language"
    STOP = "stop"
    START = "start"
    ERASE = "erase"
    BROADCAST = "broadcast"  # staff only; anyone else's "siaran" is plain text
    COMPLAINTS = "complaints"  # staff only: the queue of complaints; anyone else's "aduan" too
    REPORT = "report"  # staff and evaluators: the figures; anyone else's "laporan" is plain text
    SURVEY = "survey"  # the newest survey the resident was invited to and has not finished


# both languages work whatever the resident chose; Telegram commands arrive with a slash
KEYWORDS = {
    "menu": Keyword.MENU,
    "menu utama": Keyword.MENU,
    "main menu": Keyword.MENU,
    "batal": Keyword.CANCEL,
    "cancel": Keyword.CANCEL,
    "bantuan": Keyword.HELP,
    "help": Keyword.HELP,
    "bahasa": Keyword.LANGUAGE,
    "language": Keyword.LANGUAGE,
    "berhenti": Keyword.STOP,
    "stop": Keyword.STOP,
    "unsubscribe": Keyword.STOP,
    "mulai": Keyword.START,
    "start": Keyword.START,
    "hapus data": Keyword.ERASE,
    "hapus data saya": Keyword.ERASE,
    "delete my data": Keyword.ERASE,
    "erase my data": Keyword.ERASE,
    "siaran": Keyword.BROADCAST,
    "broadcast": Keyword.BROADCAST,
    "aduan": Keyword.COMPLAINTS,
    "laporan": Keyword.REPORT,
    "report": Keyword.REPORT,
    "survei": Keyword.SURVEY,
    "survey": Keyword.SURVEY,
    "isi survei": Keyword.SURVEY,
    "mulai survei": Keyword.SURVEY,  # the invitation's button, typed
    "start the survey": Keyword.SURVEY,
}

GREETINGS = frozenset(
    {
        "halo",
        "hallo",
        "hai",
        "hi",
        "hello",
        "hey",
        "p",
        "ping",
        "pagi",
        "siang",
        "sore",
        "malam",
        "selamat pagi",
        "selamat siang",
        "selamat sore",
        "selamat malam",
        "assalamualaikum",
        "assalamu alaikum",
        "permisi",
        "good morning",
        "good afternoon",
        "good evening",
    }
)

# small talk that is no answer to any question: ask the question again
CHATTER = frozenset(
    {
        "ok",
        "oke",
        "okay",
        "ya",
        "iya",
        "y",
        "tidak",
        "nggak",
        "gak",
        "ga",
        "enggak",
        "hmm",
        "terima kasih",
        "makasih",
        "trims",
        "thanks",
        "thank you",
        "sip",
        "siap",
        "baik",
    }
)

_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^\w\s]", re.UNICODE)
_NUMBER = re.compile(r"^\s*#?([0-9]{1,3})\s*[.)]?\s*$")
_COMMAND = re.compile(r"^/(\w+)(@\w+)?")


def normalise(text: str) -> str:
    """Fold case, width and accents away; drop punctuation; collapse spaces."""
    if len(text) <= _CACHED_LENGTH:  # a step asks several times of the same short message
        return _normalise_short(text)
    return _normalise(text)


_CACHED_LENGTH = 200


@lru_cache(maxsize=4096)
def _normalise_short(text: str) -> str:
    return _normalise(text)


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = _NOT_WORD.sub(" ", folded)
    return _SPACES.sub(" ", folded).strip()


def keyword_of(text: str) -> Keyword | None:
    """Return the keyword a whole message is, if any ('/start@DurenBot' counts as start)."""
    if len(text) > 40:
        return None
    command = _COMMAND.match(text.strip())
    if command:
        text = command.group(1)
    return KEYWORDS.get(normalise(text))


def is_greeting(text: str) -> bool:
    """Tell whether the message is only a greeting such as 'halo' or 'selamat pagi'."""
    return len(text) <= 40 and normalise(text) in GREETINGS


def is_chatter(text: str) -> bool:
    """Tell whether the message is a greeting or small talk, never an answer to a question."""
    return len(text) <= 40 and (normalise(text) in GREETINGS or normalise(text) in CHATTER)


@dataclass(frozen=True)
class Match:
    """What a typed text picks among options: one key, several candidates, or nothing."""

    key: str | None = None
    candidates: tuple[Option, ...] = ()


NO_MATCH = Match()


def match_option(
    options: tuple[Option, ...], text: str, *, loose: bool = False, within: bool = True
) -> Match:
    """Find the option a typed text picks: its number, label or alias, also as typed in chat
    ('iyaaa', 'tdk', 'pdk kopi'); when loose, also the start of a label or of a word in it,
    an alias or label inside a short sentence ('saya jualan makanan'), or a close spelling
    ('klendr'); `within=False` leaves sentences and slips to someone else (an intent reader).
    Several options found are candidates for the resident to choose from."""
    if not options or len(text) > 200:
        return NO_MATCH
    number = _NUMBER.match(text)
    if number:
        index = int(number.group(1))
        return Match(options[index - 1].key) if 1 <= index <= len(options) else NO_MATCH
    wanted = normalise(text) or normalise(emoji_word(text))
    if not wanted:
        return NO_MATCH
    for option in options:
        if wanted == normalise(option.label) or wanted in option.aliases:
            return Match(option.key)
        if option.short and wanted == normalise(option.short):  # as a narrow platform shows it
            return Match(option.key)
    typed = typed_form(wanted)
    found = option_words.exact(options, typed)
    if len(found) == 1:
        return Match(found[0].key)
    if found:
        return Match(candidates=found)
    if not loose or len(wanted) < 3:
        return NO_MATCH
    labels = {option.key: normalise(option.label) for option in options}
    hits = tuple(option for option in options if f" {labels[option.key]}".find(f" {wanted}") >= 0)
    if not hits and within:
        hits = option_words.contained(options, typed) or option_words.close(options, typed)
    if len(hits) == 1:
        return Match(hits[0].key)
    return Match(candidates=hits)
