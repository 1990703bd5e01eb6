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

With `--queued N` it measures the claim at a queue size instead: N announcements waiting (to
up to 100,000 consented residents, round robin; written with COPY on PostgreSQL, bulk inserts on
SQLite; `--scheduled M` of them first, due tomorrow, at the head of the queue), drained by the
real drain against an in-process fake sender that lets `--limit` messages a second through (a
token bucket holding one second's worth; beyond it RetryLater(1 s), as a 429) after a round trip
of `--latency` seconds, for `--seconds` seconds of measurement. Prints the rate as a share of
the limit (goal at least 95 %), the claim's p50/p99 (its statements in the drain's thread, one
claim of 64 rows), and lost (recorded as sent, never delivered) and doubled (delivered twice).
With `--database-url` on PostgreSQL and `--keep`, a second run on the same size reuses the
seeded queue (its public schema is kept; rows sent by the first run are put back).

    .venv/bin/python bench/outbox.py --queued 1000000 [--seconds 60] [--database-url URL]
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

from sqlalchemy import func, select, text, update  # noqa: E402

from bot.app import workers_for  # noqa: E402
from bot.channels.telegram import Settings, TelegramChannel  # noqa: E402
from bot.outbound import Drainer, Limits, QuietHours, RetryLater  # noqa: E402
from handlers import flows  # noqa: E402
from handlers.engine import Engine  # noqa: E402
from handlers.steps import EngineConfig  # noqa: E402
from storage import outbox  # noqa: E402
from storage.database import make_engine, migrate, sqlite_url  # noqa: E402
from storage.outbox import Outbound, OutboundKind, OutboundStatus  # noqa: E402
from storage.residents import ChannelIdentity, Resident  # noqa: E402
from storage.types import UTCDateTime, utcnow  # noqa: E402
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


# --- the claim at a queue size (--queued) ---------------------------------------------------

MOST_PEOPLE = 100_000  # residents the queued messages go to, round robin
SEED_CHUNK = 50_000  # rows generated at once


def naive(moment):
    """Return a datetime as the database keeps it (naive UTC), for COPY."""
    return UTCDateTime().process_bind_param(moment, None)


def bulk(db, table, rows) -> None:
    """Write rows (dicts with the same keys): with COPY on PostgreSQL, many INSERTs else."""
    if not rows:
        return
    if db.dialect.name != "postgresql":
        db.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    cursor = db.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


def vacuum(database) -> None:
    """On PostgreSQL, do what autovacuum does after a bulk change: the statistics, the
    visibility map, the dead index entries."""
    if database.dialect.name == "postgresql":
        with database.connect() as db:
            db.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


def seed(database, queued: int, scheduled: int) -> None:
    """Write the residents, their Telegram chats and `queued` announcements waiting, the first
    `scheduled` of them due tomorrow."""
    now = utcnow()
    postgres = database.dialect.name == "postgresql"
    stamp = naive if postgres else (lambda moment: moment)
    people = min(queued, MOST_PEOPLE)
    due, tomorrow = stamp(now - timedelta(minutes=1)), stamp(now + timedelta(days=1))
    created, expires = stamp(now), stamp(now + timedelta(days=7))
    with database.begin() as db:
        for start in range(1, people + 1, SEED_CHUNK):
            numbers = range(start, min(start + SEED_CHUNK, people + 1))
            bulk(
                db,
                Resident.__table__,
                [
                    {"id": n, "language": "id", "opted_out": False, "consent_at": created}
                    | {"created_at": created, "updated_at": created}
                    for n in numbers
                ],
            )
            bulk(
                db,
                ChannelIdentity.__table__,
                [
                    {"id": n, "resident_id": n, "channel": "telegram"}
                    | {"external_id": str(FIRST_USER + n), "created_at": created}
                    for n in numbers
                ],
            )
        for start in range(1, queued + 1, SEED_CHUNK):
            numbers = range(start, min(start + SEED_CHUNK, queued + 1))
            bulk(
                db,
                Outbound.__table__,
                [
                    {
                        "id": n,
                        "resident_id": (n - 1) % people + 1,
                        "identity_id": (n - 1) % people + 1,
                        "channel": "telegram",
                        "kind": OutboundKind.ANNOUNCEMENT.value,
                        "text": f"Pengumuman nomor {n}: pasar murah di kelurahan.",
                        "not_before": tomorrow if n <= scheduled else due,
                        "expires_at": expires,
                        "status": OutboundStatus.PENDING.value,
                        "attempts": 0,
                        "priority": 1,
                        "doubts": 0,
                        "created_at": created,
                    }
                    for n in numbers
                ],
            )
        if postgres:  # explicit ids: move the sequences past them
            for table, last in (
                ("residents", people),
                ("channel_identities", people),
                ("outbound", queued),
            ):
                db.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :last)"),
                    {"last": last},
                )
    vacuum(database)


def put_back(database, scheduled: int) -> int:
    """Put what an earlier run took back in the queue; return how many pending rows there
    are."""
    table = Outbound.__table__
    now = utcnow()
    with database.begin() as db:
        db.execute(
            update(table)
            .where(table.c.status != OutboundStatus.PENDING)
            .values(
                status=OutboundStatus.PENDING,
                not_before=now - timedelta(minutes=1),
                claim=None,
                sending_at=None,
                sent_at=None,
                attempts=0,
                doubts=0,
                last_error=None,
            )
        )
        db.execute(
            update(table).where(table.c.id <= scheduled).values(not_before=now + timedelta(days=1))
        )
        pending = db.execute(
            select(func.count()).where(table.c.status == OutboundStatus.PENDING)
        ).scalar_one()
    vacuum(database)
    return pending


class FakeSender:
    """A platform that takes `limit` messages a second (a token bucket holding one second's
    worth) after a round trip of `latency` seconds and asks to retry after 1 s beyond it."""

    channel = "telegram"

    def __init__(self, limit: float, latency: float) -> None:
        self.limit, self.latency = limit, latency
        self.tokens, self.at = limit, time.monotonic()
        self.delivered: list[tuple[float, str]] = []  # when, what
        self.refused = 0

    async def deliver(self, external_id, text, options=None, **_details) -> str | None:
        await asyncio.sleep(self.latency)
        now = time.monotonic()
        self.tokens = min(self.limit, self.tokens + (now - self.at) * self.limit)
        self.at = now
        if self.tokens < 1:
            self.refused += 1
            raise RetryLater(1)
        self.tokens -= 1
        self.delivered.append((now, text))
        return None


def timed_claims(times: list[float]):
    """Wrap the queue's claim so that each one's duration is kept in `times` (seconds)."""
    claim = outbox.claim

    def timed(**arguments):
        started = time.perf_counter()
        try:
            return claim(**arguments)
        finally:
            times.append(time.perf_counter() - started)

    return timed


def quantile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def wipe(database) -> None:
    """Drop every table of a PostgreSQL database (migrate it after)."""
    with database.begin() as db:
        db.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        db.execute(text("CREATE SCHEMA public"))


async def drain_queued(database, args) -> None:
    """Seed the queue (or reuse it), drain it for a time box at the limit and print the
    figures."""
    started = time.perf_counter()
    with database.connect() as db:
        present = db.execute(select(func.count()).select_from(Outbound.__table__)).scalar_one()
    if args.keep and present == args.queued:
        pending = put_back(database, args.scheduled)
        print(f"reused {present:,} queued rows ({pending:,} pending)", end="")
    else:
        if present:  # --keep with another size: start from an empty database, not on top
            wipe(database)
            migrate(database)
        seed(database, args.queued, args.scheduled)
        print(f"queued {args.queued:,} messages", end="")
    print(f" in {time.perf_counter() - started:.1f} s ({args.scheduled:,} of them due tomorrow)")
    sender = FakeSender(args.limit, args.latency)
    times: list[float] = []
    outbox.claim = timed_claims(times)
    drainer = Drainer(sender, database, Limits(rate=args.rate), QuietHours(NEVER, NEVER))
    drainer.permit(utcnow() + timedelta(days=1))
    task = asyncio.create_task(drainer.run(poll=timedelta(seconds=0.2)))
    while not sender.delivered and not task.done():
        await asyncio.sleep(0.05)
    first = sender.delivered[0][0] if sender.delivered else time.monotonic()
    warm = len(times)
    await asyncio.sleep(args.seconds)
    drainer.stop()
    await task
    drainer.close()
    window = [text for at, text in sender.delivered if at < first + args.seconds]
    claims = times[warm:]
    counts = Counter(text for _at, text in sender.delivered)
    table = Outbound.__table__
    with database.connect() as db:
        sent = db.execute(
            select(table.c.text).where(table.c.status == OutboundStatus.SENT)
        ).scalars()
        lost = sum(1 for message in sent if message not in counts)
    left = outcome(database)
    rate = len(window) / args.seconds
    print(
        f"{database.dialect.name}, {args.queued:,} queued: {rate:.2f} messages/s over "
        f"{args.seconds:g} s = {rate / args.limit:.1%} of the limit {args.limit:g}/s "
        f"(goal 95 %); drain rate {args.rate:g}/s, round trip {args.latency * 1000:.0f} ms"
    )
    print(
        f"claim p50 {quantile(claims, 0.5) * 1000:.1f} ms   p99 "
        f"{quantile(claims, 0.99) * 1000:.1f} ms   max {max(claims, default=0) * 1000:.1f} ms"
        f"   ({len(claims)} claims)"
    )
    print(
        f"delivered {len(counts):,}   lost {lost}   doubled "
        f"{sum(n - 1 for n in counts.values())}   retry-after answers {sender.refused}   "
        f"left sending {left[OutboundStatus.SENDING]}, failed {left[OutboundStatus.FAILED]}"
    )


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--limit", type=float, default=30, help="the fake server's messages/s")
    parser.add_argument("--rate", type=float, default=30, help="the drain's messages/s")
    parser.add_argument("--database-url", help="a database to use; its public schema is wiped")
    parser.add_argument("--queued", type=int, help="measure the claim with this many queued")
    parser.add_argument("--scheduled", type=int, default=0, help="of them due tomorrow, first")
    parser.add_argument("--seconds", type=float, default=60, help="--queued: time measured")
    parser.add_argument("--latency", type=float, default=0.05, help="--queued: a round trip")
    parser.add_argument("--keep", action="store_true", help="--queued: reuse a seeded queue")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or sqlite_url(Path(folder))
        # no bound on a statement: seeding a million rows takes longer than the program's
        database = make_engine(url, statement_timeout=None)
        if database.dialect.name == "postgresql" and not (args.keep and args.queued):
            wipe(database)
        migrate(database)
        try:
            if args.queued:
                await drain_queued(database, args)
            else:
                await drain(database, args.messages, args.limit, args.rate)
        finally:
            database.dispose()


if __name__ == "__main__":
    asyncio.run(main())
