"""What a typed message means: one label with its detail when sure, the likeliest few when
not, or nothing.

Some things are read before the model: a tracking number (ADU-2026-000012) is the status of
that report; a NIK alone is a NIK (never kept: the caller only asks whether to check bansos).
The model then scores the labels; the best opens a service only when it is clearly ahead,
because asking is better than opening the wrong service.
"""

import csv
import logging
import re
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache, lru_cache

from handlers import faq_data
from handlers.understanding.model import Model, Score
from handlers.understanding.words import (
    DATA,
    NUMBER,
    Speller,
    fold,
    meant_words,
    stem,
)

log = logging.getLogger(__name__)

NOTHING = "none"  # the label of messages the service has no answer for
CHATTER = "chatter"  # greetings and thanks: no service, no miss
SURE = 0.60  # the best label's probability to act on it (bench/understanding.py --tune)
# at another service's question the text was most likely meant as its answer: leave the
# question only when the sentence clearly says something else
SURE_AT_A_QUESTION = 0.80
LIKELY = 0.10  # a label worth suggesting when not sure
SUGGESTED = 3
LONGEST = 1000  # characters read of a message; a longer one is read from its start

_REFERENCE = re.compile(r"\b(adu|usl|sgh|srn|tny)\W{0,3}(\d{4})\W{0,3}(\d{1,6})\b")
_NIK = re.compile(r"(?<!\d)(?:\d[\s.\-]?){15}\d(?!\d)")


@dataclass(frozen=True)
class Meaning:
    """A label a message means, with the detail its words name ('menjahit', 'en', 'phone')."""

    label: str
    detail: str = ""
    score: float = 1.0


@dataclass(frozen=True)
class Reading:
    """What a message means: `meaning` when sure, else the `likely` ones to suggest; `nik`
    when the message is (mostly) a NIK."""

    meaning: Meaning | None = None
    likely: tuple[Meaning, ...] = ()
    nik: bool = False
    value: bool = False  # numbers and at most one word ('rw 20', '4-5 orang'): a value typed

    @property
    def understood(self) -> bool:
        """Tell whether the message means something the service does (chatter included)."""
        return self.meaning is not None and self.meaning.label != NOTHING


@dataclass(frozen=True)
class Phrasing:
    """One way of saying something, and what it means."""

    label: str
    language: str
    text: str


def intents_data() -> dict:
    """Load the intents, their phrasings and the detail words."""
    with (DATA / "intents.toml").open("rb") as file:
        return tomllib.load(file)


def phrasings() -> Iterator[Phrasing]:
    """Yield every phrasing learned from: the written ones, and the train part of the
    labelled set (its test part is for the benchmark only)."""
    yield from written()
    yield from labelled("train")


def written() -> Iterator[Phrasing]:
    """Yield the phrasings written to learn from: the intents, the frequent questions, and
    the examples."""
    for intent in intents_data()["intent"]:
        for language in ("id", "en"):
            for text in intent.get(language, ()):
                yield Phrasing(intent["label"], language, text)
    yield from frequent_questions()
    yield from examples()


def frequent_questions() -> Iterator[Phrasing]:
    """Yield the ways residents ask the frequent questions, labelled `faq:<id>`."""
    for label, language, text in faq_data.phrasings():
        yield Phrasing(label, language, text)


def examples() -> Iterator[Phrasing]:
    """Yield the messages written for learning (examples.tsv), without their detail."""
    with (DATA / "examples.tsv").open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE):
            yield Phrasing(row["label"].split("/")[0], row["language"], row["text"])


def labelled(split: str) -> Iterator[Phrasing]:
    """Yield the rows of one part ('train' or 'test') of the labelled set, without the detail
    after a slash in the label."""
    path = DATA / "labelled.tsv"
    if not path.exists():
        return
    with path.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE):
            if row["split"] == split:
                yield Phrasing(row["label"].split("/")[0], row["language"], row["text"])


class Reader:
    """Reads messages with the model and the speller learned from the phrasings."""

    def __init__(self, learned: list[Phrasing], details: dict[str, dict[str, list[str]]]):
        words = [meant_words(phrasing.text) for phrasing in learned]
        detail_words = {
            word
            for table in details.values()
            for names in table.values()
            for name in names
            for word in meant_words(name)
        }
        vocabulary = {word for found in words for word in found} | detail_words
        vocabulary |= {stem(word) for word in vocabulary}
        self.speller = Speller(vocabulary)
        examples = [
            (phrasing.label, [stem(word) for word in self.speller.mend(found) if word != NUMBER])
            for phrasing, found in zip(learned, words, strict=True)
        ]
        self.model = Model(examples)
        # a message that is, word for word, a phrasing of one label only means that label
        labels_of: dict[tuple[str, ...], set[str]] = {}
        for label, stems in examples:
            labels_of.setdefault(tuple(stems), set()).add(label)
        self.exact = {
            stems: labels.pop() for stems, labels in labels_of.items() if len(labels) == 1
        }
        self.details = {
            kind: [
                (value, tuple(stem(word) for word in meant_words(name)))
                for value, names in table.items()
                for name in names
            ]
            for kind, table in details.items()
        }

    def stems(self, text: str) -> list[str]:
        """Return the mended, stemmed words of a message."""
        return [stem(word) for word in self.speller.mend(meant_words(text[:LONGEST]))]

    def read(self, text: str) -> Reading:
        """Read a message."""
        folded = fold(text[:LONGEST])
        reference = _REFERENCE.search(folded)
        if reference:
            prefix, year, number = reference.groups()
            ref = f"{prefix.upper()}-{year}-{int(number):06d}"
            return Reading(Meaning("complaint_status", ref))
        stems = self.stems(text)
        if _NIK.search(folded) and len([word for word in stems if word != NUMBER]) <= 2:
            return Reading(nik=True)
        if all(word == NUMBER for word in stems):  # a number alone means nothing here
            return Reading()
        # numbers are read above (a NIK, a tracking number); to the model they say nothing
        words = [word for word in stems if word != NUMBER]
        found = self._judge(words, stems)
        return replace(found, value=True) if len(words) <= 1 < len(stems) else found

    def _judge(self, words: list[str], stems: list[str]) -> Reading:
        """Read a message's words with the model (`stems` with its numbers, for details)."""
        exact = self.exact.get(tuple(words))
        if exact is not None:
            return Reading(self._meaning(Score(exact, 1.0), stems))
        scores = self.model.scores(words)
        if not scores:
            return Reading()
        best = scores[0]
        if best.score >= SURE:
            return Reading(self._meaning(best, stems))
        likely = tuple(
            self._meaning(score, stems)
            for score in scores[:SUGGESTED]
            if score.score >= LIKELY and score.label not in (NOTHING, CHATTER)
        )
        if best.label == NOTHING or (best.label == CHATTER and not likely):
            return Reading(Meaning(best.label, score=best.score))
        return Reading(likely=likely)

    def _meaning(self, score: Score, stems: list[str]) -> Meaning:
        return Meaning(score.label, self.detail(score.label, stems), score.score)

    def detail(self, label: str, stems: list[str]) -> str:
        """Return what the words name for a label that takes a detail (first named wins)."""
        table = self.details.get(label)
        if not table:
            return ""
        for start in range(len(stems)):
            for value, words in table:
                if tuple(stems[start : start + len(words)]) == words:
                    return value
        return ""


_LEARNING = threading.Lock()  # one learns; a sentence that comes meanwhile waits for it


def reader() -> Reader:
    """Return the reader, learned from the data the first time it is needed."""
    with _LEARNING:
        return _learned()


@cache
def _learned() -> Reader:
    started = time.perf_counter()
    built = Reader(list(phrasings()), intents_data().get("details", {}))
    log.info(
        "understanding learned %d phrasings in %.0f ms",
        built.model.examples.shape[0],
        (time.perf_counter() - started) * 1000,
    )
    return built


@lru_cache(maxsize=4096)
def read(text: str) -> Reading:
    """Read a message with the reader learned from the data (the same short messages come
    again and again, "halo", "ok", "makasih": each is read once)."""
    return reader().read(text)
