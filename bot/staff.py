"""Staff commands on the office PC: load the registry, the schedules, the places and the
programs; draft a year's distributions."""

import sys
from pathlib import Path

from sqlalchemy import Connection
from tqdm import tqdm

from bot import planning
from bot.accounts import admitted, staff_command
from bot.app import open_database
from bot.files import finish, readable
from bot.settings import Settings, pepper
from handlers import notices
from storage import places, registry
from storage.csvfile import FileProblem
from storage.registry_import import import_registry as run_registry_import
from storage.schedule_import import Change
from storage.schedule_import import import_schedule as run_schedule_import
from storage.types import utcnow

BAR_FROM_BYTES = 1_000_000  # smaller files import in a blink: no progress bar


def import_registry(
    settings: Settings, path: Path, dry_run: bool, rejects: Path | None, login: str | None
) -> int:
    """Import a registry CSV, with a progress bar for a large file, as staff of the whole
    kecamatan."""
    if not readable(path):
        return 2
    database = open_database(settings)
    size = path.stat().st_size
    bar = tqdm(
        total=size,
        unit="B",
        unit_scale=True,
        desc="registry",
        disable=None if size >= BAR_FROM_BYTES else True,  # None: only on a terminal
    )
    try:
        admitted(settings, database, login, "registry.import", target=path.name)
        report = run_registry_import(
            database=database,
            path=path,
            key=pepper(settings),
            now=utcnow(),
            dry_run=dry_run,
            progress=bar.update,
        )
    except FileProblem as problem:
        print(f"Cannot import {path}: {problem}", file=sys.stderr)
        return 2
    finally:
        bar.close()
        database.dispose()
    return finish(report, dry_run, rejects)


def import_schedule(
    settings: Settings, path: Path, dry_run: bool, rejects: Path | None, login: str | None
) -> int:
    """Import a schedule CSV, as staff of the whole kecamatan."""
    if not readable(path):
        return 2
    database = open_database(settings)
    now, zone = utcnow(), settings.tz_name
    told: list[int] = []

    def moved(db: Connection, change: Change) -> None:
        for resident_id in change.residents:
            notices.queue_distribution_moved(
                db=db,
                resident_id=resident_id,
                distribution_id=change.distribution_id,
                now=now,
                time_zone=zone,
            )
        told.extend(change.residents)

    def called_off(db: Connection, change: Change) -> None:
        before = change.before
        for resident_id in change.residents:
            notices.queue_distribution_called_off(
                db=db,
                resident_id=resident_id,
                program_code=before["program_code"],
                starts_at=before["starts_at"],
                ends_at=before["ends_at"],
                place=before["place"],
                now=now,
                time_zone=zone,
            )
        told.extend(change.residents)

    try:
        admitted(settings, database, login, "schedule.import", target=path.name)
        report = run_schedule_import(
            database=database,
            path=path,
            now=now,
            zone=zone,
            dry_run=dry_run,
            moved=moved,
            called_off=called_off,
        )
    except FileProblem as problem:
        print(f"Cannot import {path}: {problem}", file=sys.stderr)
        return 2
    finally:
        database.dispose()
    code = finish(report, dry_run, rejects)
    if told:
        print(
            f"{len(told)} resident(s) with reminders of moved or called-off distributions; "
            "their reminders follow and a message to each is queued."
        )
    return code


def load_places(settings: Settings, path: Path, login: str | None) -> int:
    """Load or update the kelurahan and their RWs from a TOML file, as an administrator."""
    if not readable(path):
        return 2
    try:
        with staff_command(settings, login, "places.load", target=path.name) as admission:
            kelurahan, rukun_warga = places.load_places(db=admission.db, source=path)
    except (KeyError, ValueError, TypeError) as problem:
        print(f"Cannot load {path}: {problem}", file=sys.stderr)
        return 2
    print(f"{kelurahan} kelurahan with {rukun_warga} RWs loaded from {path}.")
    return 0


def load_programs(settings: Settings, path: Path, login: str | None) -> int:
    """Load or update the programs from a TOML file, as an administrator."""
    if not readable(path):
        return 2
    try:
        with staff_command(settings, login, "programs.load", target=path.name) as admission:
            count = registry.load_programs(db=admission.db, source=path)
    except (KeyError, ValueError) as problem:
        print(f"Cannot load {path}: {problem}", file=sys.stderr)
        return 2
    print(f"{count} programs loaded from {path}.")
    return 0


def plan(year: int, every_months: int, output: Path | None, venues: Path, places: Path) -> int:
    """Draft a year's distribution rounds as a schedule CSV; notes go to standard error."""
    if not (readable(venues) and readable(places)):
        return 2
    files = {"venues": venues, "wilayah": places, "every_months": every_months}
    try:
        rounds = planning.plan_distributions(year, **files)
        notes = planning.notes(year, **files)
    except (KeyError, ValueError) as problem:
        print(f"Cannot plan: {problem}", file=sys.stderr)
        return 2
    if output is None:
        planning.write_csv(rounds, sys.stdout)
    else:
        with output.open("w", encoding="utf-8", newline="") as file:
            planning.write_csv(rounds, file)
        print(f"{len(rounds)} rounds written to {output}.", file=sys.stderr)
    for line in notes:
        print(line, file=sys.stderr)
    return 0
