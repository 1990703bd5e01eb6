"""Test helpers: a fake clock, a chat transcript driver, database utilities."""

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine as Database
from sqlalchemy import text

from handlers.engine import Engine
from handlers.messages import Incoming, Kind, Reply
from handlers.steps import StepRef
from storage import conversations, residents
from storage.conversations import Conversation
from storage.demo import seed_base
from storage.schema import metadata

_ids = itertools.count(1)


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 28, 2, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        self.now += timedelta(**delta)


class Chat:
    """One resident talking to the engine, keeping the last replies."""

    def __init__(self, engine: Engine, external_id: str = "warga-1", channel: str = "console"):
        self.engine = engine
        self.external_id = external_id
        self.channel = channel
        self.replies: list[Reply] = []

    def message(self, **fields) -> Incoming:
        """Build an incoming message from this resident."""
        fields.setdefault("message_id", f"m{next(_ids)}")
        return Incoming(channel=self.channel, external_id=self.external_id, **fields)

    async def send(self, text: str, **fields) -> list[Reply]:
        """Send text; return and keep the replies."""
        return await self.deliver(self.message(text=text, **fields))

    async def tap(self, key: str) -> list[Reply]:
        """Tap a button with the given key."""
        return await self.deliver(self.message(kind=Kind.OPTION, option=key))

    async def send_kind(self, kind: Kind, **fields) -> list[Reply]:
        """Send a non-text message (sticker, photo, contact, location...)."""
        return await self.deliver(self.message(kind=kind, **fields))

    async def deliver(self, message: Incoming) -> list[Reply]:
        """Hand a ready message to the engine."""
        self.replies = await self.engine.handle(message)
        return self.replies

    @property
    def text(self) -> str:
        """Return the text of the last replies, joined."""
        return "\n".join(reply.text for reply in self.replies)

    @property
    def labels(self) -> list[str]:
        """Return the option labels of the last reply."""
        return [option.label for option in self.replies[-1].options] if self.replies else []

    @property
    def keys(self) -> list[str]:
        """Return the option keys of the last reply."""
        return [option.key for option in self.replies[-1].options] if self.replies else []

    async def run(self, transcript: list[tuple[str, str]]) -> None:
        """Send each line and check that the answer contains the expected text."""
        for sent, expected in transcript:
            await self.send(sent)
            assert expected in self.text, f"after {sent!r} expected {expected!r} in:\n{self.text}"


def clear(database: Database) -> None:
    """Delete every row of every table and seed the demo places and the programs again."""
    with database.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(table.name for table in metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())
    with database.begin() as db:
        seed_base(db=db)


def place_at(
    database: Database,
    external_id: str,
    position: StepRef,
    data: dict,
    now: datetime,
    *,
    consent: bool = True,
) -> None:
    """Create a resident who stands at a given step (for property tests)."""
    with database.begin() as db:
        profile, _identity = residents.create_resident(
            db=db, channel="console", external_id=external_id, language="id", now=now
        )
        if consent:
            residents.update_profile(db=db, profile=profile, now=now, consent_at=now)
        conversations.start_conversation(
            db=db, resident_id=profile.id, flow=position.flow, step=position.step, now=now
        )
        db.execute(
            Conversation.__table__.update()
            .where(Conversation.resident_id == profile.id)
            .values(data=data)
        )


def data_rows(database: Database) -> dict[str, list[tuple]]:
    """Return every row of every table but the audit log (which records refusals too)."""
    rows = all_rows(database)
    rows.pop("audit_log")
    return rows


def all_rows(database: Database) -> dict[str, list[tuple]]:
    """Return every row of every table, for checks that nothing personal is left."""
    with database.connect() as connection:
        return {
            table.name: [tuple(row) for row in connection.execute(table.select())]
            for table in metadata.sorted_tables
        }
