"""From a message as typed on a phone to the words it means.

Case, width, accents, punctuation and emoji go; letters repeated for emphasis are squeezed
('tolonggg', 'iyaaa'); chat abbreviations and Jakarta words become the words they stand for
('sy' saya, 'kpn' kapan, 'gak' tidak), from the data; words run together or split apart are
mended against the vocabulary ('cekbansos', 'sem bako'); a misspelt word becomes the closest
known one (rapidfuzz: 'jadwl sembko'); and affixes are taken off by the Sastrawi stemmer, so
'pendaftaran', 'mendaftar' and 'daftar' are one word.
"""

import math
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

from handlers.numbers import HALF_WORDS, MULTIPLIERS, SE_WORDS, TENS_EN, UNITS

DATA = Path(__file__).resolve().parent.parent / "data" / "understanding"
NUMBER = "#"  # what any run of digits becomes: the model learns that a number was there
_WORD = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)
_REPEATS = re.compile(r"(\w)\1{2,}")  # three or more of one letter
_DOUBLES = re.compile(r"(\w)\1")
# the prefixes and suffixes Sastrawi takes off; a word with none of them is its own stem
_AFFIXED = re.compile(r"^(?:di|ke|se|te|be|me|pe)|(?:i|an|kan|nya|lah|kah|tah|pun|ku|mu)$")
# numbers in words are numbers too ('delapan belas', 'dua juta'), not words the stemmer
# mangles ('delapan' -> 'depan'); the letters alone ('k', 'm', 'rb') stay words
NUMBER_WORDS = (
    frozenset(
        word for word in (*UNITS, *TENS_EN, *MULTIPLIERS, *HALF_WORDS, *SE_WORDS) if len(word) > 2
    )
    | {f"se{word}" for word in SE_WORDS}
    | {"hundred", "dozen"}
)
SHORTEST_FIXED = 4  # shorter words are too often right already to be "corrected"


@dataclass(frozen=True)
class Lexicon:
    """The words the data knows: abbreviations and the words that carry no meaning."""

    abbreviations: dict[str, str]  # as typed -> the word or words meant
    fillers: frozenset[str]  # address words and particles: 'min', 'kak', 'dong', 'sih'


@cache
def lexicon() -> Lexicon:
    """Load the abbreviations and fillers of both languages (once)."""
    with (DATA / "words.toml").open("rb") as file:
        data = tomllib.load(file)
    abbreviations = {
        typed.casefold(): meant.casefold()
        for table in data["abbreviations"].values()
        for typed, meant in table.items()
    }
    return Lexicon(abbreviations, frozenset(word.casefold() for word in data["fillers"]))


def fold(text: str) -> str:
    """Fold case, width and accents away (the letters stay, the rest is for `raw_words`)."""
    if text.isascii():  # most messages: nothing to fold but case
        return text.casefold()
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return "".join(char for char in folded if not unicodedata.combining(char))


def raw_words(text: str) -> list[str]:
    """Split a message into runs of letters and runs of digits ('rw05' is 'rw', '05')."""
    return _WORD.findall(fold(text))


def squeeze(word: str) -> str:
    """Squeeze a letter repeated three or more times to two ('tolonggg' -> 'tolongg')."""
    return _REPEATS.sub(r"\1\1", word)


def expand(words: Iterable[str]) -> list[str]:
    """Replace abbreviations by the words meant; drop fillers; digits become NUMBER."""
    return [meant for word in words for meant in _expanded(word)]


@lru_cache(maxsize=50_000)
def _expanded(word: str) -> tuple[str, ...]:
    """Return the words one typed word stands for (none for a filler)."""
    if word.isdigit():
        return (NUMBER,)
    found = lexicon()
    word = squeeze(word)
    if word not in found.abbreviations and _single(word) in found.abbreviations:
        word = _single(word)  # 'gakk', 'yaa'
    word = found.abbreviations.get(word, word)
    return tuple(
        NUMBER if part in NUMBER_WORDS else part
        for part in word.split()
        if part not in found.fillers
    )


@cache
def _stemmer():
    return StemmerFactory().create_stemmer()


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """Take Indonesian affixes off a word ('pendaftaran' -> 'daftar'); others stay."""
    if len(word) <= 3 or not word.isalpha() or not _AFFIXED.search(word):
        return word  # Sastrawi would only try (slowly) infixes, and mangle: 'lemot' -> 'lot'
    return _stemmer().stem(word) or word


class Speller:
    """Mends words against a vocabulary: repeated letters, words run together or split
    apart, and misspellings close to one known word."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        given = set(vocabulary)
        # a held letter learned as typed ('tolongg' from 'tolonggg') is the word itself
        self.vocabulary = frozenset(
            word for word in given if not (_DOUBLES.search(word) and _single(word) in given)
        )
        # the known words by length: a word this close to another is of about its length
        self._by_length: dict[int, list[str]] = {}
        for word in sorted(self.vocabulary):
            if len(word) >= 3:
                self._by_length.setdefault(len(word), []).append(word)
        self._lengths: dict[int, list[str]] = {}
        self._cache: dict[str, tuple[str, ...]] = {}

    def known(self, word: str) -> bool:
        """Tell whether the vocabulary holds the word."""
        return word in self.vocabulary or word == NUMBER

    def mend(self, words: list[str]) -> list[str]:
        """Return the words with split words joined and unknown ones mended."""
        joined: list[str] = []
        index = 0
        while index < len(words):
            word = words[index]
            following = words[index + 1] if index + 1 < len(words) else None
            if (
                following is not None
                and not (self.known(word) and self.known(following))
                and self.known(word + following)
            ):
                joined.append(word + following)  # 'sem bako'
                index += 2
                continue
            joined.append(word)
            index += 1
        mended: list[str] = []
        for word in joined:
            mended.extend(self.word(word))
        return mended

    def word(self, word: str) -> tuple[str, ...]:
        """Return the known word or words a typed word stands for (itself if none)."""
        if self.known(word):
            return (word,)
        if word not in self._cache:
            if len(self._cache) > 20_000:  # words nobody types twice must not fill memory
                self._cache.clear()
            self._cache[word] = self._mend(word)
        return self._cache[word]

    def _mend(self, word: str) -> tuple[str, ...]:
        single = _single(word)
        if self.known(single):  # 'haloo', 'tolongg'
            return (single,)
        if stem(word) in self.vocabulary:
            return (word,)  # an affixed form of a known word: the stem is a feature
        split = self._split(word)
        if split:
            return split
        if len(word) < SHORTEST_FIXED:
            return (word,)
        cutoff = _cutoff(len(word))
        best = process.extractOne(
            word, self._near_length(len(word)), scorer=fuzz.ratio, score_cutoff=cutoff
        )
        return (best[0],) if best else (word,)

    def _near_length(self, size: int) -> list[str]:
        """Return the known words whose length allows the cutoff for a word of this size."""
        if size not in self._lengths:
            cutoff = _cutoff(size)
            # a ratio of `cutoff` % is only reached by lengths within these bounds
            shortest = math.ceil(size * cutoff / (200 - cutoff))
            longest = math.floor(size * (200 - cutoff) / cutoff)
            self._lengths[size] = [
                known
                for length in range(shortest, longest + 1)
                for known in self._by_length.get(length, ())
            ]
        return self._lengths[size]

    def _split(self, word: str) -> tuple[str, ...]:
        """Split words run together into two known ones, the longer parts first
        ('cekbansos' -> 'cek', 'bansos')."""
        splits = [
            (word[:cut], word[cut:])
            for cut in range(2, len(word) - 1)
            if self.known(word[:cut]) and self.known(word[cut:])
        ]
        if not splits:
            return ()
        return max(splits, key=lambda parts: min(len(parts[0]), len(parts[1])))


def _cutoff(size: int) -> int:
    """Return how close (rapidfuzz ratio) a known word must be to mend a word of this size."""
    return 80 if size >= 6 else 85


def _single(word: str) -> str:
    """Return a word with each doubled letter once ('haloo' -> 'halo')."""
    return _DOUBLES.sub(r"\1", word)


def meant_words(text: str) -> list[str]:
    """Return the words a message means, before mending against a vocabulary."""
    return expand(raw_words(text))
