"""Messages the bot did not understand (misses), kept so that staff can add phrasings and
frequent questions: the text redacted of NIKs and phone numbers, its language, where in the
conversation it came (flow.step) and when. Nothing says who wrote it: no resident, no chat,
no message id. Kept for the retention period of residents' data, then deleted by housekeeping.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Text, func, select
from sqlmodel import Field, SQLModel

from storage.redaction import redact
from storage.types import UTCDateTime

MAX_TEXT = 500  # characters kept of a miss: enough to read the phrasing
READ_AT_MOST = 4000  # characters redacted of a longer text before it is cut to MAX_TEXT
MAX_KEY = 200  # characters of the normalised text misses are grouped by
MAX_WHERE = 80
FREQUENT = 10  # the misses named in the report

_PUNCTUATION = re.compile(r"[\W_]+")
_REPEATED = re.compile(r"([^\W\d_])\1{2,}")  # "tolonggg" → "tolong"
_TRAILING_DIGITS = re.compile(r"[\d\s.\-+()]+$")


class UnrecognisedMessage(SQLModel, table=True):
    """One message the bot did not understand, without who wrote it."""

    __tablename__ = "unrecognised_messages"

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(sa_type=Text)  # redacted, at most MAX_TEXT characters
    key: str = Field(max_length=MAX_KEY, index=True)  # the text normalised, to group by
    language: str = Field(max_length=8)
    where: str = Field(max_length=MAX_WHERE)  # "menu.main": the flow and step it came at
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


_MISSES = UnrecognisedMessage.__table__


def normalise(text: str) -> str:
    """Return the form misses are grouped by: lower case, no punctuation or emoji, repeated
    letters once, single spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _PUNCTUATION.sub(" ", text)
    text = _REPEATED.sub(r"\1", text)
    return " ".join(text.split())[:MAX_KEY]


def cleaned(text: str) -> str:
    """Return a miss as it is kept: redacted of NIKs and phone numbers, at most MAX_TEXT."""
    text = text.strip()
    if len(text) > READ_AT_MOST:  # a number cut in two at the end could escape redaction
        text = _TRAILING_DIGITS.sub("", text[:READ_AT_MOST])
    text = redact(text) or ""
    return " ".join(text.split())[:MAX_TEXT].strip()


def record_miss(*, db: Connection, text: str, language: str, where: str, now: datetime) -> bool:
    """Keep a message the bot did not understand, redacted and without its author; return
    whether it was kept (not an empty one, nor one with nothing left to group by)."""
    kept = cleaned(text or "")
    key = normalise(kept)
    if not key:
        return False
    db.execute(
        _MISSES.insert().values(
            text=kept,
            key=key,
            language=(language or "")[:8],
            where=(where or "")[:MAX_WHERE],
            created_at=now,
        )
    )
    return True


def prune_misses(*, db: Connection, older_than: datetime) -> int:
    """Delete the misses kept longer than the retention; return how many."""
    return db.execute(_MISSES.delete().where(_MISSES.c.created_at < older_than)).rowcount


@dataclass(frozen=True)
class Frequent:
    """A phrasing the bot missed: how it was typed most recently, and how often."""

    text: str
    count: int


def count_misses(*, db: Connection, since: datetime, until: datetime) -> int:
    """Return how many misses were kept in [since, until)."""
    query = select(func.count()).where(_MISSES.c.created_at >= since, _MISSES.c.created_at < until)
    return int(db.execute(query).scalar_one())


def frequent_misses(
    *, db: Connection, since: datetime, until: datetime, limit: int = FREQUENT
) -> list[Frequent]:
    """Return the most frequent misses of [since, until), grouped by their normalised text,
    each shown as it was last typed; the most frequent first, then the latest."""
    window = (_MISSES.c.created_at >= since, _MISSES.c.created_at < until)
    count = func.count().label("count")
    latest = func.max(_MISSES.c.id).label("latest")
    grouped = (
        select(_MISSES.c.key, count, latest)
        .where(*window)
        .group_by(_MISSES.c.key)
        .order_by(count.desc(), latest.desc())
        .limit(limit)
    ).subquery()
    rows = db.execute(
        select(_MISSES.c.text, grouped.c.count)
        .join(grouped, grouped.c.latest == _MISSES.c.id)
        .order_by(grouped.c.count.desc(), grouped.c.latest.desc())
    ).all()
    return [Frequent(row.text, int(row.count)) for row in rows]


@dataclass(frozen=True)
class Miss:
    """One miss as it is exported."""

    created_at: datetime
    language: str
    where: str
    text: str
    key: str


def misses_between(
    *, db: Connection, since: datetime | None = None, until: datetime | None = None
) -> list[Miss]:
    """Return the misses of [since, until) (either open), oldest first."""
    query = select(
        _MISSES.c.created_at, _MISSES.c.language, _MISSES.c["where"], _MISSES.c.text, _MISSES.c.key
    )
    if since is not None:
        query = query.where(_MISSES.c.created_at >= since)
    if until is not None:
        query = query.where(_MISSES.c.created_at < until)
    rows = db.execute(query.order_by(_MISSES.c.created_at, _MISSES.c.id)).all()
    return [Miss(*row) for row in rows]
