"""Benchmark: durability of the real program, seen from outside.

Runs real `python -m bot run` processes (each scenario in a temp DATA_DIR, with its own
database) against the tests' fake Bot API and Graph API servers on 127.0.0.1, kills, freezes
and restarts them, switches faults on in the fakes, and counts at the fakes what residents
got. The harness is tests/durability_harness.py (the tests in
tests/test_durability_process.py run the same code). Goal: 0 lost, 0 doubled everywhere.

    .venv/bin/python bench/durability.py [--scenario NAME ...] [--residents 300]
        [--database-url postgresql+psycopg://root@127.0.0.1:5432/wproc] [--keep-logs DIR]
        [--program DIR]

Without --database-url each scenario gets a new SQLite file, and the PostgreSQL-only ones
(pg-terminate, frozen-holder) are skipped; with it, the database's tables are emptied and
refilled with the demo data for every scenario, so never point it at real data.
"""

import argparse
import asyncio
import sys
import time
from pathlib import Path

# run as a script, this file's folder comes first on the path, and its name hides the library
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from tests.durability_harness import (  # noqa: E402
    HEADER,
    ROOT,
    SCENARIOS,
    Options,
    run_scenario,
)

EXPLANATION = """\
Columns: sent = messages residents wrote (queue scenarios: rows queued, one per resident);
answered = followed by at least one bot message (rows: delivered at least once);
lost = sent, never answered or delivered; doubled = more bot messages after one message than
a resident gets in calm conditions, or the same text twice (rows: delivered more than once);
maybe2x = rows the program marked itself with outbound.doubts > 0; '-' = not measured."""


def arguments() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[*SCENARIOS, "all"],
        help="a scenario to run (repeatable); default: all",
    )
    parser.add_argument("--residents", type=int, default=300, help="residents (or rows) each")
    parser.add_argument("--database-url", help="a PostgreSQL database whose tables may be emptied")
    parser.add_argument("--keep-logs", type=Path, help="keep the programs' logs in this folder")
    parser.add_argument(
        "--program",
        type=Path,
        default=ROOT,
        help="the source tree whose `python -m bot run` is measured (default: this one), "
        "e.g. a `git archive` of another branch",
    )
    return parser.parse_args()


async def main() -> None:
    """Run the scenarios asked for, one after another, printing a line for each."""
    args = arguments()
    names = list(SCENARIOS) if not args.scenario or "all" in args.scenario else args.scenario
    options = Options(args.residents, args.database_url, args.keep_logs, program=args.program)
    database = "PostgreSQL" if args.database_url else "SQLite (a new file each scenario)"
    print(
        f"durability of `python -m bot run` in {args.program.resolve()}: "
        f"{args.residents} residents, {database}"
    )
    print(EXPLANATION)
    print(HEADER, flush=True)
    started = time.monotonic()
    for name in names:
        print((await run_scenario(name, options)).row(), flush=True)
    print(f"total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    asyncio.run(main())
