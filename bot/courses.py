"""Staff commands for skills training and health checks: import courses, batches and health
events; list a batch's enrolments; mark attendance."""

import argparse
import csv
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select

from bot.accounts import admitted, staff_command
from bot.app import open_database
from bot.files import finish, readable
from bot.settings import Settings
from handlers import notices
from handlers.formatting import format_phone
from storage import health, reminders, training
from storage.course_import import import_batches as run_batch_import
from storage.course_import import import_courses as run_course_import
from storage.csvfile import FileProblem, Report
from storage.health_import import import_health as run_health_import
from storage.training import CourseBatch, EnrolmentStatus
from storage.types import utcnow


def _import(
    settings: Settings,
    path: Path,
    login: str | None,
    action: str,
    run: Callable[[Engine], Report],
) -> Report | None:
    """Run an import for a staff member let through the gate (the admission is audited);
    None when it could not run (the reason printed)."""
    if not readable(path):
        return None
    database = open_database(settings)
    try:
        admitted(settings, database, login, action, target=path.name)
        return run(database)
    except (FileProblem, csv.Error) as problem:
        print(f"Cannot import {path}: {problem}", file=sys.stderr)
        return None
    finally:
        database.dispose()


def import_courses(
    settings: Settings, path: Path, dry_run: bool, rejects: Path | None, login: str | None
) -> int:
    """Import a courses CSV."""
    report = _import(
        settings,
        path,
        login,
        "courses.import",
        lambda database: run_course_import(
            database=database, path=path, now=utcnow(), dry_run=dry_run
        ),
    )
    return 2 if report is None else finish(report, dry_run, rejects)


def import_batches(
    settings: Settings, path: Path, dry_run: bool, rejects: Path | None, login: str | None
) -> int:
    """Import a course batches CSV (one row per session); move waitlists into added seats."""
    now = utcnow()
    promoted: list[int] = []
    told: list[int] = []
    moved: list[int] = []

    def more_seats(db: Connection, batch_id: int) -> None:
        promoted.extend(_promote(db, batch_id, now, settings.tz_name))

    def called_off(db: Connection, batch_id: int) -> None:
        batch = training.get_batch(db=db, batch_id=batch_id)
        reminders.cancel_batch(db=db, batch_id=batch_id)
        for resident_id in training.call_off(db=db, batch_id=batch_id, now=now):
            notices.queue_called_off_batch(
                db=db, resident_id=resident_id, batch=batch, now=now, time_zone=settings.tz_name
            )
            told.append(resident_id)

    def rescheduled(db: Connection, batch_id: int) -> None:
        batch = training.get_batch(db=db, batch_id=batch_id)
        for listed in training.list_batch(db=db, batch_id=batch_id):
            if listed.status == EnrolmentStatus.CONFIRMED:
                notices.queue_batch_rescheduled(
                    db=db,
                    resident_id=listed.resident_id,
                    batch=batch,
                    now=now,
                    time_zone=settings.tz_name,
                )
                moved.append(listed.resident_id)

    report = _import(
        settings,
        path,
        login,
        "batches.import",
        lambda database: run_batch_import(
            database=database,
            path=path,
            now=now,
            zone=settings.tz_name,
            dry_run=dry_run,
            more_seats=more_seats,
            called_off=called_off,
            rescheduled=rescheduled,
        ),
    )
    if report is None:
        return 2
    code = finish(report, dry_run, rejects)
    print("Added, updated and unchanged count batches; a batch has one row per session.")
    if moved:
        print(
            f"{len(moved)} enrolled resident(s) of batches with a new schedule or place; "
            "their reminders follow and a message to each is queued."
        )
    if promoted:
        print(
            f"{len(promoted)} on a waitlist moved up into the added seats; "
            "a message to each is queued."
        )
    if told:
        print(
            f"{len(told)} enrolment(s) in called-off batches cancelled; "
            "a message to each is queued."
        )
    return code


def _promote(db: Connection, batch_id: int, now: datetime, zone: str) -> list[int]:
    """Move the first on a batch's waitlist into seats a higher quota added, and tell them."""
    moved = training.fill_seats(db=db, batch_id=batch_id, now=now)
    if moved:
        batch = training.get_batch(db=db, batch_id=batch_id)
        for resident_id in moved:
            notices.queue_promotion(
                db=db, resident_id=resident_id, batch=batch, now=now, time_zone=zone
            )
    return moved


def import_health(
    settings: Settings, path: Path, dry_run: bool, rejects: Path | None, login: str | None
) -> int:
    """Import a health talks and checks CSV (one row per slot)."""
    now = utcnow()
    told: list[int] = []

    def called_off(db: Connection, event_id: int) -> None:
        event = health.get_event(db=db, event_id=event_id)
        reminders.cancel_event(db=db, event_id=event_id)
        for resident_id in health.call_off(db=db, event_id=event_id, now=now):
            notices.queue_called_off_event(
                db=db, resident_id=resident_id, event=event, now=now, time_zone=settings.tz_name
            )
            told.append(resident_id)

    def moved(db: Connection, event_id: int) -> None:
        for resident_id, slot_id in reminders.booked_ahead(db=db, event_id=event_id, now=now):
            slot = health.get_slot(db=db, slot_id=slot_id)
            notices.queue_event_moved(
                db=db, resident_id=resident_id, slot=slot, now=now, time_zone=settings.tz_name
            )
            changed.append(resident_id)

    changed: list[int] = []
    report = _import(
        settings,
        path,
        login,
        "health.import",
        lambda database: run_health_import(
            database=database,
            path=path,
            now=now,
            zone=settings.tz_name,
            dry_run=dry_run,
            called_off=called_off,
            moved=moved,
        ),
    )
    if report is None:
        return 2
    code = finish(report, dry_run, rejects)
    if changed:
        print(
            f"{len(changed)} booking(s) of events that changed place; a message to each is queued."
        )
    if told:
        print(
            f"{len(told)} booking(s) of called-off events cancelled; a message to each is queued."
        )
    for note in getattr(report, "notes", ()):
        print(f"  {note}")
    return code


def local_time(moment: datetime, settings: Settings, form: str = "%Y-%m-%d %H:%M") -> str:
    """Show a moment in local time."""
    return moment.astimezone(ZoneInfo(settings.tz_name)).strftime(form)


def _find_batch(db: Connection, code: str) -> training.Batch | None:
    """Return a batch by code, in any case."""
    batch_id = db.execute(
        select(CourseBatch.id).where(func.upper(CourseBatch.code) == code.strip().upper())
    ).scalar()
    return None if batch_id is None else training.get_batch(db=db, batch_id=batch_id)


ENROLMENT_COLUMNS = (
    "no",
    "name",
    "kelurahan",
    "rw",
    "phone",
    "status",
    "waitlist_position",
    "priority_group",
    "enrolled_at",
    "sessions_attended",
)


def spreadsheet_cell(text: str | None) -> str:
    """Return text typed by a resident as a CSV cell a spreadsheet will not run as a formula."""
    text = text or ""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(
    output: Path | None, columns: tuple[str, ...], rows: Iterable[Iterable[object]]
) -> bool:
    """Write rows to a file (UTF-8 with the BOM Excel looks for) or to standard output."""
    if output is None:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return True
    try:
        with output.open("w", encoding="utf-8-sig", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(columns)
            writer.writerows(rows)
    except OSError as error:
        print(f"Cannot write {output}: {error.strerror}", file=sys.stderr)
        return False
    return True


def batch_list(settings: Settings, code: str, output: Path | None, login: str | None) -> int:
    """Write a batch's enrolments as CSV: confirmed first, then the waitlist."""
    with staff_command(settings, login, "batch.list", target=code.strip().upper()) as admission:
        batch = _find_batch(admission.db, code)
        if batch is None:
            print(f"No batch {code.strip().upper()}.", file=sys.stderr)
            return 2
        limit = admission.permit.kelurahan_limit
        listed = training.list_batch(db=admission.db, batch_id=batch.id, kelurahan_limit=limit)
        admission.permit.record(admission.db, details={"rows": len(listed)})
    rows, waiting = [], 0
    for enrolment in listed:
        waitlisted = enrolment.status == EnrolmentStatus.WAITLISTED
        waiting += waitlisted
        rows.append(
            (
                enrolment.id,
                spreadsheet_cell(enrolment.name),
                enrolment.kelurahan or "",
                enrolment.rw if enrolment.rw is not None else "",
                format_phone(enrolment.phone) if enrolment.phone else "",
                enrolment.status.value,
                waiting if waitlisted else "",
                enrolment.priority_group or "",
                local_time(enrolment.created_at, settings),
                enrolment.attended,
            )
        )
    if not write_csv(output, ENROLMENT_COLUMNS, rows):
        return 2
    where = "" if output is None else f"; written to {output}"
    if limit is not None:
        where += f" (only residents of your kelurahan, {limit})"
    print(
        f"Batch {batch.code} ({batch.title}): {len(rows) - waiting} confirmed of {batch.quota} "
        f"seats, {waiting} on the waitlist{where}.",
        file=sys.stderr,
    )
    return 0


def enrolment_ids(text: str) -> list[int]:
    """Read enrolment numbers from the command line: 12, or 12,15,16."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts or not all(part.isascii() and part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(
            f"enrolment numbers must be like 12 or 12,15, not {text!r}"
        )
    return [int(part) for part in parts]


class _NotMarked(Exception):
    """Numbers that are not confirmed enrolments: nothing is marked."""

    def __init__(self, unknown: list[int]) -> None:
        super().__init__(unknown)
        self.unknown = unknown


def batch_attendance(
    settings: Settings, code: str, session: int, present: list[int], login: str | None
) -> int:
    """Mark who came to one session of a batch: the given enrolments present, the rest absent.
    A number that is not a confirmed enrolment of the batch changes nothing at all."""
    target = code.strip().upper()
    try:
        with staff_command(settings, login, "batch.attendance", target=target) as admission:
            batch = _find_batch(admission.db, code)
            if batch is None:
                print(f"No batch {target}.", file=sys.stderr)
                return 2
            sessions = {item.number: item for item in batch.sessions}
            if session not in sessions:
                have = f"its sessions are 1–{max(sessions)}" if sessions else "it has no sessions"
                print(f"Batch {batch.code} has no session {session} ({have}).", file=sys.stderr)
                return 2
            came, absent, unknown = training.mark_attendance(
                db=admission.db,
                batch_id=batch.id,
                session=session,
                present=set(present),
                now=admission.now,
                kelurahan_limit=admission.permit.kelurahan_limit,
            )
            if unknown:  # a typo would mark the person meant absent: mark nobody
                raise _NotMarked(unknown)
            admission.permit.record(
                admission.db, details={"session": session, "present": came, "absent": absent}
            )
    except _NotMarked as problem:
        print(
            f"Not confirmed in batch {batch.code}: {', '.join(map(str, problem.unknown))}. "
            "Nothing was marked; correct the numbers (the first column of "
            f"python -m bot batch list {batch.code}) and run it again.",
            file=sys.stderr,
        )
        return 1
    when = local_time(sessions[session].starts_at, settings)
    print(f"Batch {batch.code}, session {session} ({when}): {came} present, {absent} absent.")
    return 0
