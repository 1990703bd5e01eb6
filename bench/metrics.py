"""Benchmark: what a scrape of /metrics costs with a large queue.

Fills a database with `--residents` residents and queues a broadcast to all of them (about
98 % of them get a row: `bench/broadcast.py`'s population), then scrapes /metrics over real
HTTP on 127.0.0.1 from the program's own server, with the cache off so every scrape reads the
database, and prints the p50 and the slowest of `--scrapes` scrapes, and the database part
alone. Then it marks that broadcast as sent, queues a second one, and measures again: the
rows done with (the history) should cost next to nothing.

    .venv/bin/python bench/metrics.py [--residents 100000] [--scrapes 20] [--database-url URL]

Without --database-url the database is a fresh SQLite file in a temporary folder. With it, the
database's `public` schema is dropped and recreated first: never point it at data that matters.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# run as a script: the project, not bench/, is where the packages are
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import httpx  # noqa: E402
from sqlalchemy import Engine, func, select, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.broadcast import TEXT, populate  # noqa: E402
from bench.registry import fresh_database  # noqa: E402
from bot import metrics  # noqa: E402
from bot.app import process_name  # noqa: E402
from bot.http import HttpServer, build_app  # noqa: E402
from storage import broadcasts  # noqa: E402
from storage.broadcasts import Segment, SegmentKind  # noqa: E402
from storage.outbox import Outbound, OutboundStatus  # noqa: E402
from storage.types import utcnow  # noqa: E402


def queue_broadcast(database: Engine) -> int:
    """Queue an announcement to everyone; return how many messages."""
    with database.begin() as db:
        _broadcast_id, queued, _skipped = broadcasts.queue(
            db=db, segment=Segment(SegmentKind.EVERYONE), text=TEXT, created_by="bench",
            now=utcnow(),
        )  # fmt: skip
    return queued


def milliseconds(samples: list[float]) -> str:
    return f"p50 {statistics.median(samples) * 1000:.1f} ms, slowest {max(samples) * 1000:.1f} ms"


async def scrape_times(database: Engine, scrapes: int) -> tuple[list[float], list[float], int]:
    """Scrape over HTTP `scrapes` times; return the times of the scrapes, of the database part
    alone, and the size of the last answer in bytes."""
    server = HttpServer(build_app(database), "127.0.0.1", 0)
    await server.start()
    whole, reads, size = [], [], 0
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            url = f"http://127.0.0.1:{server.port}/metrics"
            for _ in range(scrapes):
                started = time.perf_counter()
                answer = await client.get(url)
                whole.append(time.perf_counter() - started)
                answer.raise_for_status()
                size = len(answer.content)
                started = time.perf_counter()
                metrics.read_snapshot(database, utcnow(), process_name())
                reads.append(time.perf_counter() - started)
    finally:
        await server.stop()
    return whole, reads, size


def measure(database: Engine, scrapes: int, label: str) -> None:
    with database.connect() as db:
        waiting = db.execute(
            select(func.count()).select_from(Outbound).where(Outbound.status.in_(metrics.WAITING))
        ).scalar_one()
        total = db.execute(select(func.count()).select_from(Outbound)).scalar_one()
    whole, reads, size = asyncio.run(scrape_times(database, scrapes))
    print(f"{label}: {waiting:,} rows waiting of {total:,} in the table")
    print(f"  scrape over HTTP: {milliseconds(whole)} ({size:,} bytes)")
    print(f"  the database part (queue depth, oldest age, leases): {milliseconds(reads)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--scrapes", type=int, default=20)
    parser.add_argument("--database-url", help="a database that may be wiped (default: SQLite)")
    args = parser.parse_args()
    where = make_url(args.database_url).render_as_string() if args.database_url else "SQLite"
    print(f"{args.residents:,} residents on {where}; cache off, every scrape reads the database")
    metrics.CACHE_SECONDS = 0.0
    with tempfile.TemporaryDirectory() as folder:
        database = fresh_database(args.database_url, Path(folder))
        populate(database, args.residents)
        queue_broadcast(database)
        measure(database, args.scrapes, "one broadcast queued")
        with database.begin() as db:
            db.execute(update(Outbound).values(status=OutboundStatus.SENT, sent_at=utcnow()))
        queue_broadcast(database)
        if database.dialect.name == "postgresql":
            with database.begin() as db:
                db.exec_driver_sql("ANALYZE outbound")
        measure(database, args.scrapes, "a second queued, the first sent")
        database.dispose()


if __name__ == "__main__":
    main()
