"""Evaluator surveys as written in a file (TOML, or YAML for those who prefer it): a code, a
title and an introduction in Indonesian and English, an optional last day, and the questions,
each of one kind: choice, rating (1–5), number or text.

    code = "sembako-des-2026"
    closes = 2026-12-31                  # optional: the last day answers are taken
    title = { id = "Survei penyaluran sembako", en = "Sembako distribution survey" }
    intro = { id = "Tiga pertanyaan singkat.", en = "Three short questions." }

    [[questions]]
    key = "puas"
    kind = "rating"
    text = { id = "Seberapa puas Bapak/Ibu?", en = "How satisfied are you?" }

    [[questions]]
    key = "jarak"
    kind = "choice"
    text = { id = "Seberapa jauh lokasi pengambilan?", en = "How far is the pickup place?" }
    choices = [
      { key = "dekat", id = "Dekat", en = "Close" },
      { key = "jauh", id = "Jauh", en = "Far" },
    ]

    [[questions]]
    key = "anggota"
    kind = "number"
    min = 1
    max = 20
    text = { id = "Berapa orang di rumah?", en = "How many people live in your home?" }

    [[questions]]
    key = "saran"
    kind = "text"
    required = false
    text = { id = "Ada saran?", en = "Any suggestion?" }

Reading checks everything an evaluator can get wrong and says where, in English, on the
command line; what residents read is the file's own Indonesian and English.
"""

import re
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path

LANGUAGES = ("id", "en")
MAX_QUESTIONS = 30
MAX_CHOICES = 10  # a WhatsApp list holds ten rows
MAX_QUESTION = 600  # characters of a question: it goes with its buttons in one message
MAX_TITLE = 120
MAX_INTRO = 600
MAX_LABEL = 60  # characters of a choice (a WhatsApp list row's description holds 72)
MAX_SHORT = 20  # a short label fits a WhatsApp button
BUTTONS = 3  # WhatsApp shows up to three answers as buttons, more as a list
BUTTON_TITLE = 20  # characters of a WhatsApp button
ROW_TITLE = 24  # characters of a WhatsApp list row
MAX_TEXT_ANSWER = 1000  # the most a text question may allow
LARGEST = 1_000_000_000  # numbers are whole numbers within ± this
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,29}$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{2,39}$")


class QuestionKind(StrEnum):
    """What a question asks for."""

    CHOICE = "choice"  # one of its choices
    RATING = "rating"  # a score from 1 to 5
    NUMBER = "number"  # a whole number between min and max
    TEXT = "text"  # a few words, up to max_length characters


@dataclass(frozen=True)
class Choice:
    """One answer of a choice question: a stable key and its labels."""

    key: str
    labels: dict[str, str]  # language → label
    shorts: dict[str, str] = field(default_factory=dict)  # language → a label of ≤ 20

    def label(self, language: str) -> str:
        """Return the label in a language."""
        return self.labels.get(language) or self.labels["id"]

    def short(self, language: str) -> str:
        """Return the short label in a language, or ""."""
        return self.shorts.get(language, "")


@dataclass(frozen=True)
class Question:
    """One question of a survey."""

    key: str
    kind: QuestionKind
    texts: dict[str, str]  # language → the question
    required: bool = True
    choices: tuple[Choice, ...] = ()
    minimum: int = 0  # numbers
    maximum: int = LARGEST
    max_length: int = 500  # texts

    def text(self, language: str) -> str:
        """Return the question in a language."""
        return self.texts.get(language) or self.texts["id"]

    def choice(self, key: str) -> Choice | None:
        """Return the choice with a key."""
        return next((choice for choice in self.choices if choice.key == key), None)


class Texts:
    """What a survey's title, introduction and questions give, for a survey from its file or
    from the database (which have `titles`, `intros` and `questions`)."""

    titles: dict[str, str]
    intros: dict[str, str]
    questions: tuple[Question, ...]

    def title(self, language: str) -> str:
        """Return the title in a language."""
        return self.titles.get(language) or self.titles["id"]

    def intro(self, language: str) -> str:
        """Return the introduction in a language, or ""."""
        return self.intros.get(language) or self.intros.get("id", "")

    def question(self, key: str) -> Question | None:
        """Return the question with a key."""
        return next((question for question in self.questions if question.key == key), None)


@dataclass(frozen=True)
class SurveyFile(Texts):
    """A survey as its file gives it."""

    code: str
    titles: dict[str, str]
    intros: dict[str, str]
    questions: tuple[Question, ...]
    closes: date | None = None

    def questions_as_data(self) -> list[dict]:
        """Return the questions as JSON-ready data, to be kept with the survey."""
        return [
            {**asdict(question), "choices": [asdict(choice) for choice in question.choices]}
            for question in self.questions
        ]


class SurveyFileProblem(Exception):
    """The file cannot be used; the message says what and where."""


def read(path: Path) -> SurveyFile:
    """Read and check a survey file (.toml, or .yaml/.yml)."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as problem:
        raise SurveyFileProblem(f"Cannot read {path}: {problem}") from problem
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(source)
        except yaml.YAMLError as problem:
            raise SurveyFileProblem(f"{path.name} is not valid YAML: {problem}") from problem
    else:
        try:
            data = tomllib.loads(source)
        except tomllib.TOMLDecodeError as problem:
            raise SurveyFileProblem(f"{path.name} is not valid TOML: {problem}") from problem
    if not isinstance(data, dict):
        raise SurveyFileProblem(f"{path.name}: expected a code, a title and questions.")
    return from_data(data)


def from_data(data: dict) -> SurveyFile:
    """Check a survey read from a file, or kept in the database."""
    code = data.get("code")
    if not isinstance(code, str) or not _CODE.match(code):
        raise SurveyFileProblem(
            "code: 3 to 40 small letters, digits, - or _ (e.g. sembako-des-2026)."
        )
    closes = data.get("closes")
    if closes is not None:
        if isinstance(closes, str):
            try:
                closes = date.fromisoformat(closes)
            except ValueError:
                closes = None
        if not isinstance(closes, date):
            raise SurveyFileProblem("closes: a day like 2026-12-31.")
    questions = data.get("questions")
    if not isinstance(questions, list) or not 1 <= len(questions) <= MAX_QUESTIONS:
        raise SurveyFileProblem(f"questions: 1 to {MAX_QUESTIONS} [[questions]].")
    read_questions = tuple(question_of(item, number) for number, item in enumerate(questions, 1))
    keys = [question.key for question in read_questions]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise SurveyFileProblem(f"questions: the key {twice[0]!r} is used twice.")
    return SurveyFile(
        code=code,
        titles=texts_of(data.get("title"), "title", MAX_TITLE),
        intros=texts_of(data.get("intro"), "intro", MAX_INTRO) if data.get("intro") else {},
        questions=read_questions,
        closes=closes,
    )


def texts_of(value, where: str, limit: int) -> dict[str, str]:
    """Read a text in both languages: {id = "…", en = "…"}."""
    if not isinstance(value, dict):
        raise SurveyFileProblem(f'{where}: {{ id = "…", en = "…" }}, in Indonesian and English.')
    texts = {}
    for language in LANGUAGES:
        text = value.get(language)
        if isinstance(text, bool | int | float):  # YAML reads Yes, No, 10 so
            raise SurveyFileProblem(f"{where}: put the {language} text {text!r} in quotes.")
        if not isinstance(text, str) or not text.strip():
            raise SurveyFileProblem(f"{where}: the {language} text is missing.")
        if len(text.strip()) > limit:
            raise SurveyFileProblem(f"{where}: the {language} text is over {limit} characters.")
        texts[language] = text.strip()
    return texts


def question_of(item, number: int) -> Question:
    """Read and check one [[questions]] table."""
    where = f"question {number}"
    if not isinstance(item, dict):
        raise SurveyFileProblem(f"{where}: a table with key, kind and text.")
    key = item.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        raise SurveyFileProblem(f"{where}: key, 1 to 30 small letters, digits, - or _.")
    where = f"question {number} ({key})"
    try:
        kind = QuestionKind(item.get("kind"))
    except ValueError:
        kinds = ", ".join(kind.value for kind in QuestionKind)
        raise SurveyFileProblem(f"{where}: kind is one of {kinds}.") from None
    required = item.get("required", True)
    if not isinstance(required, bool):
        raise SurveyFileProblem(f"{where}: required is true or false.")
    texts = texts_of(item.get("text"), f"{where} text", MAX_QUESTION)
    if kind == QuestionKind.CHOICE:
        choices = choices_of(item, where)
        buttons = len(choices) + (not required)  # "Skip" is a button too
        if buttons > MAX_CHOICES:
            raise SurveyFileProblem(
                f"{where}: with Skip (required = false) at most {MAX_CHOICES - 1} choices."
            )
        check_fit(choices, BUTTON_TITLE if buttons <= BUTTONS else ROW_TITLE, where)
        return Question(key, kind, texts, required, choices=choices)
    if kind == QuestionKind.NUMBER:
        low, high = item.get("min", 0), item.get("max", LARGEST)
        whole = all(
            isinstance(value, int) and not isinstance(value, bool) for value in (low, high)
        )
        if not whole or not -LARGEST <= low < high <= LARGEST:
            raise SurveyFileProblem(f"{where}: min and max are whole numbers, min below max.")
        return Question(key, kind, texts, required, minimum=low, maximum=high)
    if kind == QuestionKind.TEXT:
        length = item.get("max_length", 500)
        if not isinstance(length, int) or not 1 <= length <= MAX_TEXT_ANSWER:
            raise SurveyFileProblem(f"{where}: max_length is 1 to {MAX_TEXT_ANSWER}.")
        return Question(key, kind, texts, required, max_length=length)
    return Question(key, kind, texts, required)


def choices_of(item: dict, where: str) -> tuple[Choice, ...]:
    """Read the choices of a choice question."""
    raw = item.get("choices")
    if not isinstance(raw, list) or not 2 <= len(raw) <= MAX_CHOICES:
        raise SurveyFileProblem(f"{where}: 2 to {MAX_CHOICES} choices.")
    choices = []
    for number, entry in enumerate(raw, 1):
        if not isinstance(entry, dict) or not _KEY.match(str(entry.get("key", ""))):
            raise SurveyFileProblem(
                f'{where}, choice {number}: {{ key = "…", id = "…", en = "…" }}, the key in '
                "small letters, digits, - or _."
            )
        here = f"{where}, choice {entry['key']}"
        labels = texts_of(entry, here, MAX_LABEL)
        shorts = {}
        for language in LANGUAGES:
            short = entry.get(f"short_{language}")
            if short is None:
                continue
            if not isinstance(short, str) or not 0 < len(short.strip()) <= MAX_SHORT:
                raise SurveyFileProblem(f"{here}: short_{language} has 1 to {MAX_SHORT} letters.")
            shorts[language] = short.strip()
        choices.append(Choice(str(entry["key"]), labels, shorts))
    keys = [choice.key for choice in choices]
    if len(set(keys)) != len(keys):
        raise SurveyFileProblem(f"{where}: two choices have the same key.")
    return tuple(choices)


def check_fit(choices: tuple[Choice, ...], limit: int, where: str) -> None:
    """Check that each choice fits WhatsApp's buttons or list rows (`limit` characters) by its
    label or its short label, so residents there tap it rather than type a number."""
    for choice in choices:
        for language in LANGUAGES:
            label = choice.label(language)
            if len(label) <= limit or 0 < len(choice.short(language)) <= limit:
                continue
            raise SurveyFileProblem(
                f"{where}, choice {choice.key}: the {language} label {label!r} has "
                f"{len(label)} characters and WhatsApp shows {limit} here; add "
                f"short_{language} (up to {min(limit, MAX_SHORT)})."
            )


def questions_from_data(data: list[dict]) -> tuple[Question, ...]:
    """Rebuild the questions kept with a survey in the database."""
    return tuple(
        Question(
            key=item["key"],
            kind=QuestionKind(item["kind"]),
            texts=item["texts"],
            required=item["required"],
            choices=tuple(Choice(**choice) for choice in item["choices"]),
            minimum=item["minimum"],
            maximum=item["maximum"],
            max_length=item["max_length"],
        )
        for item in data
    )
