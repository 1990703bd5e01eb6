"""Benchmark: one pacer for a broadcast and the residents' answers, against a sliding window.

A broadcast of `--messages` announcements (3,000; `--messages 100000` for the long run) drains
through the real drain and the real Telegram adapter to the tests' fake Bot API server, which
lets `--limit` messages a second through over any `--window` seconds (a sliding window, as the
platforms count) and answers the rest with 429 and retry_after. Meanwhile residents write to
the bot (by the webhook path), one every `--write-every` seconds. The harness is
tests/pacing_harness.py. Prints:

- the broadcast's rate as a share of the limit (goal at least 95 %),
- the share of sendMessage calls answered 429 (goal under 1 %),
- the residents' answers: p50 and p99 from the update handed to the bot to the answer arriving
  at the server (goal p99 under 300 ms), and how much of the broadcast went meanwhile.

    .venv/bin/python bench/pacing.py [--messages 3000] [--limit 20] [--rate R] [--seconds S]
        [--database-url URL]

With `--seconds S` it measures S seconds of the drain and stops with the rest still queued:
`--messages 100000 --limit 30 --seconds 120` is the resident's answer while a 100,000-message
broadcast drains, without waiting the hour the whole of it takes.

Without --database-url the database is a fresh SQLite file in a temporary folder. With it, the
database's `public` schema is dropped and recreated first: never point it at data that matters.
"""

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

# run as a script, this file's folder comes first on the path, and its name hides the library
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from sqlalchemy import text  # noqa: E402

from storage.database import make_engine, migrate, sqlite_url  # noqa: E402
from tests.pacing_harness import drain_while_residents_write  # noqa: E402


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3_000)
    parser.add_argument("--limit", type=float, default=20, help="the server's messages/s")
    parser.add_argument("--window", type=float, default=1.0, help="the server's window, s")
    parser.add_argument("--rate", type=float, help="the pacer's messages/s (default: the limit)")
    parser.add_argument("--write-every", type=float, default=0.5, help="s between residents")
    parser.add_argument("--seconds", type=float, help="measure this long, then stop")
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
        started = time.perf_counter()
        try:
            figures = await drain_while_residents_write(
                database,
                messages=args.messages,
                limit=args.limit,
                window=args.window,
                rate=args.rate,
                writers=10**9,  # for as long as the broadcast drains
                write_every=args.write_every,
                timeout=args.messages / args.limit * 3 + 120,
                seconds=args.seconds,
            )
        finally:
            database.dispose()
    rate = args.rate or args.limit
    print(
        f"{database.dialect.name}: {figures.bulk:,} of {args.messages:,} broadcast messages in "
        f"{figures.seconds:.1f} s ({time.perf_counter() - started:.0f} s in all), pacer at "
        f"{rate:g}/s against a sliding window of {args.limit:g}/s over {args.window:g} s"
    )
    print(
        f"rate {figures.rate:.2f}/s = {figures.share:.1%} of the limit (goal >= 95 %), of "
        f"which the broadcast {figures.bulk_rate:.2f}/s and the answers the rest; "
        f"429s {figures.refused} of {figures.calls:,} calls = {figures.refused_share:.2%} "
        f"(goal < 1 %); rows still queued at the end {figures.unfinished:,}"
    )
    replies = len(figures.replies)
    during = sorted(figures.bulk_before_reply)
    print(
        f"replies during the drain: {replies} (unanswered {figures.unanswered}); "
        f"p50 {figures.reply_percentile(0.5) * 1000:.0f} ms, "
        f"p99 {figures.reply_percentile(0.99) * 1000:.0f} ms, "
        f"max {max(figures.replies, default=float('nan')) * 1000:.0f} ms (goal p99 < 300 ms); "
        f"broadcast messages sent between an update and its answer: "
        f"median {during[len(during) // 2] if during else 0}, max {max(during, default=0)}"
    )


if __name__ == "__main__":
    asyncio.run(main())
