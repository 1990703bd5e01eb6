"""What flows are made of: positions, steps, the context a step gets, and its outcome."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from handlers.buttons import Button
from handlers.formatting import format_day, format_moment, format_phone, format_rupiah
from handlers.i18n import DEFAULT_LANGUAGE, translations
from handlers.messages import Incoming, Kind, Option, Reply
from handlers.text import Keyword
from storage.conversations import IdentityRef
from storage.residents import Profile


class Expect(StrEnum):
    """What a step waits for."""

    CHOICE = "choice"  # one of its options
    TEXT = "text"  # free text (its options, if any, still work)
    # free text that is an answer whatever it says: "baik" or "Jadwal sembako" is not small
    # talk or the menu here (a survey's text question); keywords still work
    ANSWER = "answer"
    PHONE = "phone"  # typed number or a shared contact
    LOCATION = "location"  # a shared location


@dataclass(frozen=True)
class StepRef:
    """A position in a conversation: a flow and one of its steps."""

    flow: str
    step: str


BACK = StepRef("", "back")  # return to where the resident was before a detour
EXPIRED = "_expired"  # in a position's data: housekeeping ended the conversation for silence


@dataclass
class Outcome:
    """What a step decided: replies, and where to go (None: stay and ask again)."""

    replies: list[Reply] = field(default_factory=list)
    goto: StepRef | None = None
    remember: bool = False  # keep the current position to come BACK to after a detour
    ask: bool = True  # ask the question of the step we end up at
    data: dict[str, Any] | None = None  # the answers the next step starts with


@dataclass(frozen=True)
class Understood:
    """What a typed sentence meant, for the engine to follow as if the resident had gone
    there: from the main menu where `start` leads, then tapping `taps` in turn (a tap the
    step reached does not offer ends the way there), then typing `typed`; or a `keyword`; or
    a button that works anywhere (`anywhere`, such as a language) where the resident is."""

    start: Outcome | None = None
    taps: tuple[str, ...] = ()
    typed: str = ""
    keyword: Keyword | None = None
    anywhere: str = ""


@dataclass
class Context:
    """What a step may use: the database connection, the resident, their answers, the clock."""

    db: Connection  # inside the update's transaction
    resident: Profile
    identity: IdentityRef
    data: dict[str, Any]
    now: datetime
    config: "EngineConfig"
    position: StepRef
    erased: bool = False  # set by erasure: nothing of the resident may be saved afterwards

    @property
    def language(self) -> str:
        """Return the resident's language."""
        return self.resident.language

    def gettext(self, message: str) -> str:
        """Translate a message into the resident's language."""
        return translations(self.language).gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """Translate a message whose form depends on a number."""
        return translations(self.language).ngettext(singular, plural, count)

    def pgettext(self, context: str, message: str) -> str:
        """Translate a short label that needs a context to be unambiguous."""
        return translations(self.language).pgettext(context, message)

    def moment(self, value: datetime) -> str:
        """Format a moment in local time for the resident."""
        return format_moment(value, self.language, self.config.time_zone)

    def day(self, value: datetime) -> str:
        """Format a day for the resident."""
        return format_day(value, self.language, self.config.time_zone)

    def phone(self, number: str | None) -> str:
        """Format a stored phone number, or say it was not given."""
        return format_phone(number) if number else self.gettext("not given")

    def rupiah(self, amount: int) -> str:
        """Format an amount of Rupiah for the resident."""
        return format_rupiah(amount, self.language)


@dataclass(frozen=True)
class Step:
    """One question of a flow: how to ask it and how to take the answer."""

    ask: Callable[[Context], Reply]
    answer: Callable[[Context, Incoming], Outcome]
    expects: Expect = Expect.CHOICE
    accepts: frozenset[Kind] = frozenset()  # media kinds the step takes itself
    # the options alone, when asking the whole question to learn them would cost queries
    options: Callable[[Context], tuple[Option, ...]] | None = None
    # a short form of the question, for asking again right after a hint
    remind: Callable[[Context], Reply] | None = None


def no_options(ctx: "Context") -> tuple[Option, ...]:
    """Say that a step offers no options (a free-text question)."""
    return ()


@dataclass(frozen=True)
class Flow:
    """A named group of steps, one per service or task."""

    name: str
    steps: Mapping[str, Step]


@dataclass(frozen=True)
class EngineConfig:
    """Settings the engine needs, handed down from the program's settings."""

    time_zone: str = "Asia/Jakarta"
    idle_timeout: timedelta = timedelta(minutes=30)
    default_language: str = DEFAULT_LANGUAGE
    workers: int = 1  # threads running updates; one suits SQLite, which writes one at a time
    retention: timedelta = timedelta(days=730)  # a silent resident's data is erased after it
    # the secret of NIK hashes (NIK_PEPPER): kept out of repr, so never in a log or traceback
    nik_key: bytes = field(default=b"", repr=False)
    status_checks_per_day: int = 5  # registry lookups a resident may make in 24 hours
    status_checks_per_hour_all: int = 300  # registry lookups of all residents in an hour
    status_checks_per_day_all: int = 2000  # registry lookups of all residents in 24 hours
    # channels whose replies are written to the outbound queue with their step, and the claim
    # under which this process sends them at once (its fast path)
    queued_replies: frozenset[str] = frozenset()
    reply_claim: str = "reply:local"
    # the longest a resident waits for an update before the apology (None: no bound), once
    # the update is in hand: in a burst, the others wait their turn without a bound (the
    # inbox holds them)
    answer_within: timedelta | None = None
    in_hand: int | None = None  # updates handled at once; None: workers x workers.BATCH


@dataclass(frozen=True)
class Conversations:
    """The flows, where residents start and rest, and what each keyword does."""

    flows: Mapping[str, Flow]
    entry: StepRef  # where a new resident starts
    home: StepRef  # the main menu
    keywords: Mapping[Keyword, Callable[[Context], Outcome]]
    # buttons that still mean something wherever they are tapped (a language, a cancel or a
    # reminder from an old message), by their kind; a key the kind cannot read, or a take
    # that returns None, is answered as a stale button. Every other key counts only at the
    # step that offered it.
    anywhere: Mapping[Button, Callable[[Context, Incoming], Outcome | None]] = field(
        default_factory=dict
    )
    # keywords only some may use (staff): for anyone the check refuses, the word is plain text
    staff_keywords: Mapping[Keyword, Callable[[Context], bool]] = field(default_factory=dict)
    # what a typed text means where it answers nothing: (ctx, text, at home) -> where to go,
    # or None when it is not clear enough to leave the question (at home it always answers)
    understand: Callable[[Context, str, bool, bool], "Understood | Outcome | None"] | None = None


NO_ALIASES: frozenset[str] = frozenset()


def options_of(
    *choices: tuple[str, str] | tuple[str, str, str] | tuple[str, str, str, str],
) -> tuple[Option, ...]:
    """Build options from (key, label), (key, label, "alias|alias...") or (key, label, aliases,
    short label) tuples."""
    return tuple(
        Option(
            choice[0],
            choice[1],
            frozenset(choice[2].split("|")) if len(choice) > 2 and choice[2] else NO_ALIASES,
            choice[3] if len(choice) > 3 else "",
        )
        for choice in choices
    )
