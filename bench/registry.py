"""Benchmark: import of a large beneficiary registry CSV, and the status lookup of the chat.

Generates a CSV of fictitious people in the registry format (valid, unique NIKs), imports it
with the real `import_registry` (chunked commits, a real key) and again (nothing may change),
then times the lookup of the bansos check: the NIK's keyed hash, `registry.find` on one open
connection, and the name-hash compare. Goals: 1,000,000 rows imported in under 60 s on the
project machine, and a lookup p99 under 2 ms.

    .venv/bin/python bench/registry.py [--rows 1000000] [--database-url URL] [--profile]

Without --database-url the database is a fresh SQLite file in a temporary folder. With it,
the database's `public` schema is dropped and recreated first (as the tests do): never point
it at a database whose data matters.
"""

import argparse
import cProfile
import csv
import io
import math
import pstats
import random
import resource
import secrets
import statistics
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from storage import registry
from storage.csvfile import Report
from storage.database import make_engine, migrate, sqlite_url
from storage.demo import FAMILY, GIVEN_MEN, GIVEN_WOMEN, WILAYAH, seed_base
from storage.identity import check_nik, name_hash, nik_hash
from storage.registry import PROGRAMS_FILE, count_beneficiaries
from storage.registry_import import import_registry
from storage.types import utcnow

HEADER = ["nik", "nama", "no_kk", "kelurahan", "rw", "rt", "desil", "program", "status"]
HOME_REGION = "317507"  # Kecamatan Duren Sawit
OTHER_REGIONS = ["317501", "317504", "317506", "317401", "327502", "320101", "330101", "357801"]
HOME_SHARE = 0.85
FIRST_BIRTH = date(1950, 1, 1)
BIRTH_DAYS = (date(2005, 12, 31) - FIRST_BIRTH).days + 1  # years 50..05: no YY twice
SERIALS = 9_999  # 0001..9999
# every (birth date, sex, serial) once: row i takes combination (i * STEP + OFFSET) mod SPACE
SPACE = BIRTH_DAYS * 2 * SERIALS
STEP = 2_654_435_761  # a prime that does not divide SPACE, so the walk never repeats
OFFSET = 12_345
STATUSES = ("aktif", "ditangguhkan", "nonaktif")
STATUS_WEIGHTS = (92, 5, 3)
TITLES = ("Hj.", "H.", "Ibu", "Bpk.")
IMPORT_GOAL_ROWS, IMPORT_GOAL_SECONDS = 1_000_000, 60.0
LOOKUP_GOAL_MS = 2.0
LOOKUPS_FOUND, LOOKUPS_MISSING, WARM_UP = 10_000, 1_000, 200


@dataclass(frozen=True)
class Lookup:
    """A NIK and name as a resident types them, and whether the registry holds them."""

    nik: str
    name: str
    listed: bool


def fictitious_nik(index: int, region: str) -> str:
    """Return the NIK of combination `index`: a valid form, never the same for two indexes."""
    combination = (index * STEP + OFFSET) % SPACE
    combination, serial = divmod(combination, SERIALS)
    day_number, woman = divmod(combination, 2)
    born = FIRST_BIRTH + timedelta(days=day_number)
    day = born.day + (40 if woman else 0)
    return f"{region}{day:02d}{born:%m%y}{serial + 1:04d}"


def program_picker(rng: random.Random) -> Callable[[int], str]:
    """Return a function giving a plausible program list ('BPNT;PKH') for a desil."""
    codes = [entry["code"] for entry in tomllib.loads(PROGRAMS_FILE.read_text())["program"]]

    def pick(desil: int) -> str:
        if desil <= 5:
            chosen = rng.sample(codes, rng.randint(1, 4))
        elif desil <= 7 and rng.random() < 0.3:
            chosen = [rng.choice(codes)]
        else:
            chosen = []
        return ";".join(sorted(chosen))

    return pick


def person_name(rng: random.Random, woman: bool, family: str) -> str:
    """Return a name as registry exports write it: mostly upper case, now and then a title."""
    given = rng.choice(GIVEN_WOMEN if woman else GIVEN_MEN)
    if rng.random() < 0.3:
        given += " " + rng.choice(GIVEN_WOMEN if woman else GIVEN_MEN)
    name = f"{given} {family}"
    if rng.random() < 0.03:
        name = f"{rng.choice(TITLES)} {name}"
    return name.upper() if rng.random() < 0.7 else name


def write_csv(path: Path, rows: int, seed: int) -> list[Lookup]:
    """Write `rows` people in households; return the lookups to time (some not in the file)."""
    rng = random.Random(seed)
    places = tomllib.loads(WILAYAH.read_text(encoding="utf-8"))["kelurahan"]
    programs = program_picker(rng)
    wanted = set(rng.sample(range(rows), min(LOOKUPS_FOUND, rows)))
    lookups = []
    index = 0
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        while index < rows:
            place = rng.choice(places)
            region = HOME_REGION if rng.random() < HOME_SHARE else rng.choice(OTHER_REGIONS)
            kk = f"{region}{rng.randrange(1, 10**10):010d}"
            family = rng.choice(FAMILY)
            desil = min(10, int(rng.triangular(1, 11, 2)))
            household = (
                kk,
                place["name"],
                rng.randint(1, place["rw_count"]),
                rng.randint(1, 15),
                desil,
                programs(desil),
                rng.choices(STATUSES, STATUS_WEIGHTS)[0],
            )
            for _member in range(min(rng.choice((1, 1, 2, 2, 3, 4)), rows - index)):
                person_region = region if rng.random() < 0.9 else rng.choice(OTHER_REGIONS)
                nik = fictitious_nik(index, person_region)
                name = person_name(rng, int(nik[6:8]) > 40, family)  # women: day + 40
                writer.writerow((nik, name, *household))
                if index in wanted:
                    lookups.append(Lookup(nik, name.title(), True))  # typed as a resident would
                index += 1
    for extra in range(rows, rows + LOOKUPS_MISSING):  # combinations no row of the file took
        lookups.append(Lookup(fictitious_nik(extra, HOME_REGION), "Siti Aminah", False))
    rng.shuffle(lookups)
    return lookups


def fresh_database(url: str | None, folder: Path) -> Engine:
    """Return a migrated, seeded database: a new SQLite file, or the given one wiped."""
    if url is None:
        database = make_engine(sqlite_url(folder))
    else:
        database = make_engine(url)
        if database.dialect.name == "postgresql":
            with database.begin() as db:
                db.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                db.execute(text("CREATE SCHEMA public"))
    migrate(database)
    with database.begin() as db:
        seed_base(db=db)
    return database


def timed_import(database: Engine, path: Path, key: bytes, profile: bool) -> tuple[float, Report]:
    """Import the file; return the seconds it took and the report."""
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    report = import_registry(database=database, path=path, key=key, now=utcnow())
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime")
        stats.print_stats(25)
        stats.sort_stats("cumulative").print_stats(30)
        print(out.getvalue())
    return seconds, report


def print_import(label: str, seconds: float, report: Report) -> None:
    """Print the figures and counts of one import."""
    print(
        f"{label:<16} {report.rows / seconds:9,.0f} rows/s   {seconds:7.2f} s   "
        f"added {report.added:,}, updated {report.updated:,}, unchanged {report.unchanged:,}, "
        f"rejected {len(report.rejected):,}"
    )
    for rejected in report.rejected[:5]:
        print(f"  line {rejected.line}: {rejected.reason}")


def time_lookups(database: Engine, key: bytes, lookups: list[Lookup]) -> list[float]:
    """Time each lookup as the chat does it, on one connection; return the seconds of each."""
    latencies = []
    outcomes = {"found": 0, "name mismatch": 0, "not found": 0}
    with database.connect() as db, db.begin():  # the engine's worker holds one connection
        for lookup in lookups[:WARM_UP]:
            registry.find(db=db, nik_hash=nik_hash(key, lookup.nik))
        for lookup in lookups:
            started = time.perf_counter()
            entry = registry.find(db=db, nik_hash=nik_hash(key, lookup.nik))
            if entry is None:
                outcome = "not found"
            elif entry.name_hash != name_hash(key, lookup.name):
                outcome = "name mismatch"
            else:
                outcome = "found"
            latencies.append(time.perf_counter() - started)
            outcomes[outcome] += 1
            assert (outcome == "found") == lookup.listed, "every listed person is found"
    print("lookups: " + ", ".join(f"{count:,} {outcome}" for outcome, count in outcomes.items()))
    return latencies


def percentile(ordered: list[float], share: float) -> float:
    """Return the nearest-rank percentile of sorted values."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def main() -> None:
    """Generate, import twice, look up, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="a database that may be wiped (default: SQLite)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", action="store_true", help="profile the first import")
    args = parser.parse_args()
    if not 0 < args.rows <= SPACE - LOOKUPS_MISSING:
        parser.error(f"--rows must be from 1 to {SPACE - LOOKUPS_MISSING:,}")
    where = make_url(args.database_url).render_as_string() if args.database_url else "SQLite"
    print(f"{args.rows:,} rows on {where}")
    key = secrets.token_hex(32).encode()  # what bot.settings.pepper generates
    with tempfile.TemporaryDirectory() as folder:
        database = fresh_database(args.database_url, Path(folder))
        path = Path(folder) / "registry.csv"
        started = time.perf_counter()
        lookups = write_csv(path, args.rows, args.seed)
        seconds = time.perf_counter() - started
        assert all(check_nik(lookup.nik).digits for lookup in lookups), "NIKs of valid form"
        size = path.stat().st_size / 2**20
        print(f"CSV generated    {seconds:7.2f} s   {size:,.1f} MiB (not counted)")

        seconds, report = timed_import(database, path, key, args.profile)
        print_import("first import", seconds, report)
        projected = IMPORT_GOAL_ROWS / (report.rows / seconds)
        met = "met" if projected < IMPORT_GOAL_SECONDS else "MISSED"
        print(
            f"goal: {IMPORT_GOAL_ROWS:,} rows in under {IMPORT_GOAL_SECONDS:.0f} s: {met} "
            f"(at this rate {IMPORT_GOAL_ROWS:,} rows take {projected:.1f} s)"
        )
        with database.connect() as db:
            stored = count_beneficiaries(db=db)
        print(f"registry holds {stored:,} people")

        seconds, again = timed_import(database, path, key, profile=False)
        print_import("second import", seconds, again)
        idempotent = (again.added, again.updated, again.unchanged) == (0, 0, args.rows)
        print(f"second import changed nothing: {'yes' if idempotent else 'NO'}")

        ordered = sorted(time_lookups(database, key, lookups))
        p50, p90, p99 = (percentile(ordered, share) * 1000 for share in (0.5, 0.9, 0.99))
        print(
            f"lookup           p50 {p50:.3f} ms   p90 {p90:.3f} ms   p99 {p99:.3f} ms   "
            f"max {ordered[-1] * 1000:.3f} ms   mean {statistics.mean(ordered) * 1000:.3f} ms   "
            f"({len(ordered):,} lookups)"
        )
        met = "met" if p99 < LOOKUP_GOAL_MS else "MISSED"
        print(f"goal: lookup p99 under {LOOKUP_GOAL_MS:.0f} ms: {met}")
        database.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak RSS         {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
