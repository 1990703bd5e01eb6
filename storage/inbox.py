"""The inbox: what residents sent, stored before the platform is told it arrived.

A Telegram update is stored before the next getUpdates confirms it (or before the webhook
answers 200), a WhatsApp message before its webhook answers 200. Handling runs from here: the
row is deleted in the transaction that records the message as handled, so a crash at any
point leaves it here, and it is handled after the restart, once (the engine ignores a message
id it has handled before).
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Connection, UniqueConstraint, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

GIVE_UP_AFTER = 5  # tries of one stored delivery before it is dropped with a warning


KEY_LENGTH = 160  # far longer than a platform's id of a delivery


class InboxEntry(SQLModel, table=True):
    """One delivery from a platform, not yet handled."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    key: str = Field(max_length=KEY_LENGTH)  # the platform's id of it (update_id, wamid)
    payload: dict[str, Any] = Field(sa_type=JSON)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)
    tries: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


_INBOX = InboxEntry.__table__


@dataclass(frozen=True)
class Stored:
    """A stored delivery to handle."""

    id: int
    key: str
    payload: dict[str, Any]


def store(
    *, db: Connection, channel: str, entries: list[tuple[str, dict]], now: datetime
) -> list[Stored]:
    """Keep deliveries (key and payload); one whose key is stored already is not kept twice.
    Return the ones stored now, in the order given."""
    entries = first_of_each(entries)
    if not entries:
        return []
    rows = [
        {"channel": channel, "key": key, "payload": payload, "received_at": now, "tries": 0}
        for key, payload in entries
    ]
    insert = pg_insert if db.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(_INBOX)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["channel", "key"])
        .returning(_INBOX.c.id, _INBOX.c.key, _INBOX.c.payload)
    )
    stored = {row.key: Stored(row.id, row.key, row.payload) for row in db.execute(statement)}
    return [stored[key] for key, _payload in entries if key in stored]


def first_of_each(entries: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The deliveries with their keys as the inbox keeps them, each key once (its first)."""
    first: dict[str, dict] = {}
    for key, payload in entries:
        first.setdefault(key[:KEY_LENGTH], payload)
    return list(first.items())


def forget(*, db: Connection, ids: list[int]) -> None:
    """Drop handled deliveries (in the transaction that recorded them as handled)."""
    if ids:
        db.execute(delete(_INBOX).where(_INBOX.c.id.in_(ids)))


def left_over(
    *,
    db: Connection,
    channel: str,
    now: datetime,
    older_than: timedelta,
    limit: int = 500,
    in_hand: Collection[int] = (),
) -> list[Stored]:
    """Take the deliveries of a channel stored longer ago than `older_than` and still not
    handled (their process stopped, or their handling failed), oldest first, but for those
    `in_hand` (the caller's own, waiting their turn in a burst); each take counts as a try,
    and one tried too often is dropped."""
    db.execute(delete(_INBOX).where(_INBOX.c.channel == channel, _INBOX.c.tries >= GIVE_UP_AFTER))
    found = db.execute(
        select(_INBOX.c.id, _INBOX.c.key, _INBOX.c.payload)
        .where(_INBOX.c.channel == channel, _INBOX.c.received_at <= now - older_than)
        .order_by(_INBOX.c.id)
        .limit(limit)
    ).all()
    rows = [row for row in found if row.id not in in_hand]
    if rows:
        db.execute(
            update(_INBOX)
            .where(_INBOX.c.id.in_([row.id for row in rows]))
            .values(tries=_INBOX.c.tries + 1, received_at=now)
        )
    return [Stored(row.id, row.key, row.payload) for row in rows]
