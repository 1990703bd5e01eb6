"""Benchmark: the outbound queue drained through the Telegram adapter at Telegram's pace.

10,000 queued messages, one to each of as many residents with a Telegram identity (written with
bulk inserts into a fresh SQLite file, or the given database), are drained by the real drain
(bot/outbound.py) through the real `TelegramChannel.deliver` to the tests' fake Bot API server
(tests/fake_telegram.py, over HTTP on 127.0.0.1), which lets 30 messages a second through (a
token bucket holding one second's worth) and answers the rest with 429 and retry_after, as
Telegram's flood control does. Prints the achieved rate as a share of the server's limit (goal
at least 95 %) and how many messages were delivered, duplicated and lost (goal 10,000, 0, 0).
At 30 a second the full run takes about 5.5 minutes; `--messages 1000` is a quick one (the
server lets its first second's worth through at once, so a short run shows a little more).

    .venv/bin/python bench/outbox.py [--messages 10000] [--limit 30] [--rate 30]
"""

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from datetime import time as daytime
from datetime import timedelta
from pathlib import Path

# run as a script, this file's folder comes first on the path, and its name hides the library
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from sqlalchemy import func, select, text  # noqa: E402

from bot.app import workers_for  # noqa: E402
from bot.channels.telegram import Settings, TelegramChannel  # noqa: E402
from bot.outbound import Drainer, Limits, QuietHours  # noqa: E402
from handlers import flows  # noqa: E402
from handlers.engine import Engine  # noqa: E402
from handlers.steps import EngineConfig  # noqa: E402
from storage.database import make_engine, migrate, sqlite_url  # noqa: E402
from storage.outbox import Outbound, OutboundKind, OutboundStatus  # noqa: E402
from storage.residents import ChannelIdentity, Resident  # noqa: E402
from storage.types import utcnow  # noqa: E402
from tests.fake_telegram import FakeBotAPI  # noqa: E402

FIRST_USER = 700_000_000
CHUNK = 5_000  # rows a bulk insert
NEVER = daytime(0, 0)  # quiet hours from midnight to midnight: none


def queue_messages(database, messages: int) -> set[str]:
    """Write one resident, one Telegram identity and one queued message each; return the
    texts."""
    now = utcnow()
    people = [
        {"id": n, "language": "id", "opted_out": False, "created_at": now, "updated_at": now}
        for n in range(1, messages + 1)
    ]
    identities = [
        {"id": n, "resident_id": n, "channel": "telegram", "external_id": str(FIRST_USER + n)}
        | {"created_at": now}
        for n in range(1, messages + 1)
    ]
    texts = [f"Pengingat nomor {n}: besok pengambilan sembako." for n in range(1, messages + 1)]
    rows = [
        {
            "resident_id": n,
            "identity_id": n,
            "channel": "telegram",
            "kind": OutboundKind.REMINDER,
            "text": texts[n - 1],
            "not_before": now,
            "status": OutboundStatus.PENDING,
            "attempts": 0,
            "created_at": now,
        }
        for n in range(1, messages + 1)
    ]
    with database.begin() as db:
        for table, values in (
            (Resident.__table__, people),
            (ChannelIdentity.__table__, identities),
            (Outbound.__table__, rows),
        ):
            for start in range(0, len(values), CHUNK):
                db.execute(table.insert(), values[start : start + CHUNK])
        if db.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for table in ("residents", "channel_identities"):
                db.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :last)"),
                    {"last": messages},
                )
    return set(texts)


def unfinished(database) -> int:
    """Return how many queued messages are neither sent nor failed."""
    table = Outbound.__table__
    with database.connect() as db:
        return db.execute(
            select(func.count()).where(
                table.c.status.in_((OutboundStatus.PENDING, OutboundStatus.SENDING))
            )
        ).scalar_one()


def outcome(database) -> Counter:
    """Return how many queued messages ended in each status."""
    table = Outbound.__table__
    with database.connect() as db:
        return Counter(
            dict(db.execute(select(table.c.status, func.count()).group_by(table.c.status)).all())
        )


async def drain(database, messages: int, limit: float, rate: float) -> None:
    """Queue the messages, drain them through the adapter to a rate-limited fake server and
    print the figures."""
    started = time.perf_counter()
    texts = queue_messages(database, messages)
    print(f"queued {messages:,} messages in {time.perf_counter() - started:.1f} s")
    engine = Engine(database, flows.build(), EngineConfig(workers=workers_for(database)))
    async with FakeBotAPI() as fake:
        fake.limit_rate(limit)
        # the channel's pacer is the drain's pace (bot/pacing.py)
        channel = TelegramChannel(
            Settings(token=fake.token, base_url=fake.base_url, rate=rate), engine, database
        )
        await channel.start()
        # quiet hours never hold a reminder back; start = end switches them off anyway
        drainer = Drainer(channel, database, Limits(rate=rate), QuietHours(NEVER, NEVER))
        drainer.permit(utcnow() + timedelta(days=1))
        task = asyncio.create_task(drainer.run(poll=timedelta(seconds=0.2)))
        while await asyncio.to_thread(unfinished, database):
            await asyncio.sleep(0.5)
        drainer.stop()
        await task
        drainer.close()
        await channel.stop()
    engine.close()
    calls = [c for c in fake.calls("sendMessage") if str(c.params.get("text")) in texts]
    accepted = [c for c in calls if not c.failed]
    seconds = accepted[-1].at - calls[0].at
    achieved = (len(accepted) - 1) / seconds if seconds > 0 else float("nan")
    counts = Counter(str(c.params["text"]) for c in accepted)
    duplicated = sum(count - 1 for count in counts.values())
    lost = len(texts - set(counts))
    statuses = outcome(database)
    print(
        f"drained {len(accepted):,} messages in {seconds:.1f} s: {achieved:.2f} messages/s, "
        f"{achieved / limit:.1%} of the server's {limit:g}/s (goal 95 %); drain rate set to "
        f"{rate:g}/s"
    )
    print(
        f"delivered {len(counts):,}   duplicated {duplicated}   lost {lost}   "
        f"(goal {messages:,} / 0 / 0)"
    )
    print(
        f"429 answers {fake.rate_limited}; rows sent {statuses[OutboundStatus.SENT]:,}, "
        f"failed {statuses[OutboundStatus.FAILED]}"
    )


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--limit", type=float, default=30, help="the fake server's messages/s")
    parser.add_argument("--rate", type=float, default=30, help="the drain's messages/s")
    parser.add_argument("--database-url", help="a database to use; its public schema is wiped")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or sqlite_url(Path(folder))
        database = make_engine(url)
        if database.dialect.name == "postgresql":
            with database.begin() as db:
                db.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                db.execute(text("CREATE SCHEMA public"))
        migrate(database)
        try:
            await drain(database, args.messages, args.limit, args.rate)
        finally:
            database.dispose()


if __name__ == "__main__":
    asyncio.run(main())
