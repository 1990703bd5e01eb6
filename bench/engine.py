"""Benchmark: conversation steps per second through the engine, on SQLite or PostgreSQL.

Every step is a full update: load and lock the resident, ignore a repeat, run the step, save
the position, commit. Prints steps per second (one resident at a time, and many at once) and
the p50/p99 time of one step. Goal (issue 18): at least 3,000 steps/s with 50 residents at once
on SQLite, p99 under 30 ms. With `--database-url` it runs on that database (its tables are
emptied first: give it one of its own). tests/test_statements_per_step.py guards the statements
each common step costs, which is what this figure rests on.

    .venv/bin/python bench/engine.py [--steps 20000] [--residents 50] [--database-url URL]
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from itertools import count
from pathlib import Path

HERE = Path(__file__).resolve().parent
# run as a script: the project, not bench/, is where the packages are
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from sqlalchemy import make_url, text  # noqa: E402

from bench.registry import fresh_database  # noqa: E402
from handlers import flows  # noqa: E402
from handlers.engine import Engine  # noqa: E402
from handlers.messages import Incoming  # noqa: E402
from handlers.steps import EngineConfig  # noqa: E402

REGISTER = ["halo", "1", "1", "Siti Aminah", "3", "5", "Lewati"]
# then round and round through what residents do most: the menu, a service's first step, the
# profile and an edit of it (a write to the resident as well as to the position), the sembako
# schedule, help, a greeting
LOOP = ["menu", "1", "menu", "9", "1", "Siti Nurhaliza", "menu", "3", "bantuan", "halo"]


def script():
    """Yield a resident's messages: registration, then the loop for ever."""
    yield from REGISTER
    while True:
        yield from LOOP


async def run(engine: Engine, residents: int, steps: int, tag: str) -> tuple[float, list[float]]:
    """Send `steps` messages spread over `residents` residents; return seconds and latencies."""
    ids = count()
    latencies: list[float] = []
    per_resident = steps // residents

    async def resident(number: int) -> None:
        lines = script()
        for _ in range(per_resident):
            message = Incoming("bench", f"{tag}-{number}", f"{tag}-{next(ids)}", text=next(lines))
            started = time.perf_counter()
            replies = await engine.handle(message)
            latencies.append(time.perf_counter() - started)
            assert replies, "every step answers"

    started = time.perf_counter()
    await asyncio.gather(*(resident(number) for number in range(residents)))
    return time.perf_counter() - started, latencies


def report(label: str, seconds: float, latencies: list[float]) -> None:
    """Print one line of figures."""
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(
        f"{label:<28} {len(ordered) / seconds:8.0f} steps/s   p50 {p50:6.2f} ms   "
        f"p99 {p99:6.2f} ms   ({len(ordered)} steps)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="a database that may be wiped (default: SQLite)")
    args = parser.parse_args()
    where = make_url(args.database_url).render_as_string() if args.database_url else "SQLite"
    print(f"on {where}")
    with tempfile.TemporaryDirectory() as folder:
        database = fresh_database(args.database_url, Path(folder))
        engine = Engine(database, flows.build(), EngineConfig())
        await run(engine, 10, 1_000, "warm-up")
        if database.dialect.name == "postgresql":
            # what autovacuum does once a table has grown by a tenth; without statistics the
            # planner keeps the plans it made for empty tables (a scan of every processed
            # message, each step, slower every round) and the figure measures a database that
            # no deployment runs (this machine's PostgreSQL has autovacuum off)
            with database.begin() as db:
                db.execute(text("ANALYZE"))
        report("one resident at a time", *await run(engine, 1, args.steps // 4, "one"))
        rates = []
        for round_ in range(1, args.rounds + 1):
            seconds, latencies = await run(engine, args.residents, args.steps, f"round{round_}")
            report(f"{args.residents} residents at once, #{round_}", seconds, latencies)
            rates.append(len(latencies) / seconds)
        print(
            f"median of {args.rounds} rounds: {statistics.median(rates):.0f} steps/s "
            "(goal: at least 3,000 on SQLite, p99 under 30 ms)"
        )
        engine.close()
        database.dispose()


if __name__ == "__main__":
    asyncio.run(main())
