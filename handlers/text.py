"""Reading what residents type: keywords that work anywhere, and choosing options."""

import re
import unicodedata
from enum import StrEnum

from handlers.messages import Option


class Keyword(StrEnum):
    """A word that works at any step, in either language."""

    MENU = "menu"
    CANCEL = "cancel"
    HELP = "help"
    LANGUAGE = "language"
    STOP = "stop"
    START = "start"
    ERASE = "erase"


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

_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^\w\s]", re.UNICODE)
_NUMBER = re.compile(r"^\s*#?(\d{1,3})\s*[.)]?\s*$")
_COMMAND = re.compile(r"^/(\w+)(@\w+)?")


def normalise(text: str) -> str:
    """Fold case, width and accents away; drop punctuation; collapse spaces."""
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


def match_option(options: tuple[Option, ...], text: str, *, prefix: bool = False) -> str | None:
    """Return the key of the option a typed text picks: its number, its label, or a prefix."""
    if not options or len(text) > 200:
        return None
    number = _NUMBER.match(text)
    if number:
        index = int(number.group(1))
        return options[index - 1].key if 1 <= index <= len(options) else None
    wanted = normalise(text)
    if not wanted:
        return None
    for option in options:
        if normalise(option.label) == wanted:
            return option.key
    if prefix and len(wanted) >= 3:
        hits = [option.key for option in options if normalise(option.label).startswith(wanted)]
        if len(hits) == 1:
            return hits[0]
    return None
