"""Benchmark: conversation steps per second through the engine on the SQLite store.

Every step is a full update: load and lock the resident, ignore a repeat, run the step, save
the position, commit. Prints steps per second (one resident at a time, and many at once) and
the p50/p99 time of one step. Goal (issue 2): at least 2,000 steps/s on the project machine.

    .venv/bin/python bench/engine.py [--steps 20000] [--residents 50]
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from itertools import count
from pathlib import Path

from handlers import flows
from handlers.engine import Engine
from handlers.messages import Incoming
from handlers.steps import EngineConfig
from storage.database import make_engine, migrate, sqlite_url
from storage.demo import seed_base

REGISTER = ["halo", "1", "1", "Siti Aminah", "3", "5", "Lewati"]
# then round and round through what residents do most: the menu, a service, help, the profile
# and an edit of it (a write to the resident as well as to the position)
LOOP = ["menu", "1", "7", "1", "Siti Nurhaliza", "6", "2", "bantuan", "8", "halo"]


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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = make_engine(sqlite_url(Path(folder)))
        migrate(database)
        with database.begin() as db:
            seed_base(db=db)
        engine = Engine(database, flows.build(), EngineConfig())
        await run(engine, 10, 1_000, "warm-up")
        report("one resident at a time", *await run(engine, 1, args.steps // 4, "one"))
        rates = []
        for round_ in range(1, args.rounds + 1):
            seconds, latencies = await run(engine, args.residents, args.steps, f"round{round_}")
            report(f"{args.residents} residents at once, #{round_}", seconds, latencies)
            rates.append(len(latencies) / seconds)
        print(
            f"median of {args.rounds} rounds: {statistics.median(rates):.0f} steps/s "
            "(goal: at least 2,000)"
        )
        engine.close()
        database.dispose()


if __name__ == "__main__":
    asyncio.run(main())
