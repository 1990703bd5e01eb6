"""Staff commands on the office PC: load the registry, the schedules, the programs, courses
and health events; list a batch and mark attendance; handle applications."""

import argparse
import csv
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select
from tqdm import tqdm

from bot import planning
from bot.app import open_database
from bot.settings import Settings, pepper
from handlers import notices
from handlers.formatting import format_phone
from storage import applications, health, places, registry, training
from storage import staff as accounts
from storage.applications import Filed, Kind, Status, StatusProblem
from storage.course_import import import_batches as run_batch_import
from storage.course_import import import_courses as run_course_import
from storage.csvfile import FileProblem, Report, print_report
from storage.health_import import import_health as run_health_import
from storage.places import Kelurahan
from storage.registry_import import import_registry as run_registry_import
from storage.residents import Resident
from storage.schedule_import import import_schedule as run_schedule_import
from storage.staff import Member, Role, StaffFileProblem
from storage.training import CourseBatch, EnrolmentStatus
from storage.types import utcnow

BAR_FROM_BYTES = 1_000_000  # smaller files import in a blink: no progress bar


def _finish(report: Report, dry_run: bool, rejects: Path | None) -> int:
    """Print the report; exit 1 when rows were rejected, so a script notices."""
    print_report(report, dry_run=dry_run, rejects=rejects, out=sys.stdout)
    return 1 if report.rejected else 0


def _readable(path: Path) -> bool:
    """Tell whether a file can be read, saying why not."""
    if not path.is_file():
        print(f"No such file: {path}", file=sys.stderr)
        return False
    return True


def import_registry(settings: Settings, path: Path, dry_run: bool, rejects: Path | None) -> int:
    """Import a registry CSV, with a progress bar for a large file."""
    if not _readable(path):
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
    return _finish(report, dry_run, rejects)


def import_schedule(settings: Settings, path: Path, dry_run: bool, rejects: Path | None) -> int:
    """Import a schedule CSV."""
    if not _readable(path):
        return 2
    database = open_database(settings)
    try:
        report = run_schedule_import(
            database=database, path=path, now=utcnow(), zone=settings.tz_name, dry_run=dry_run
        )
    except FileProblem as problem:
        print(f"Cannot import {path}: {problem}", file=sys.stderr)
        return 2
    finally:
        database.dispose()
    return _finish(report, dry_run, rejects)


def load_places(settings: Settings, path: Path) -> int:
    """Load or update the kelurahan and their RWs from a TOML file."""
    if not _readable(path):
        return 2
    database = open_database(settings)
    try:
        with database.begin() as db:
            kelurahan, rukun_warga = places.load_places(db=db, source=path)
    except (KeyError, ValueError, TypeError) as problem:
        print(f"Cannot load {path}: {problem}", file=sys.stderr)
        return 2
    finally:
        database.dispose()
    print(f"{kelurahan} kelurahan with {rukun_warga} RWs loaded from {path}.")
    return 0


def load_programs(settings: Settings, path: Path) -> int:
    """Load or update the programs from a TOML file."""
    if not _readable(path):
        return 2
    database = open_database(settings)
    try:
        with database.begin() as db:
            count = registry.load_programs(db=db, source=path)
    except (KeyError, ValueError) as problem:
        print(f"Cannot load {path}: {problem}", file=sys.stderr)
        return 2
    finally:
        database.dispose()
    print(f"{count} programs loaded from {path}.")
    return 0


def plan(year: int, every_months: int, output: Path | None, venues: Path, places: Path) -> int:
    """Draft a year's distribution rounds as a schedule CSV; notes go to standard error."""
    if not (_readable(venues) and _readable(places)):
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


# -- who is running the command ---------------------------------------------------------------

WHO = "Say who you are with --as LOGIN or STAFF_LOGIN; accounts are loaded with load-staff."


def _member(db: Connection, login: str | None, *, partners: bool = False) -> Member | None:
    """Return the active account running a command, or None after saying why not."""
    if not login or not login.strip():
        print(WHO, file=sys.stderr)
        return None
    member = accounts.find(db=db, login=login)
    if member is None:
        print(f"No active staff account {login.strip()!r}. {WHO}", file=sys.stderr)
        return None
    if member.role == Role.PARTNER and not partners:
        print(
            f"{member.login} is a partner account; this command is for kelurahan staff.",
            file=sys.stderr,
        )
        return None
    return member


def _staff_only(database: Engine, login: str | None) -> bool:
    """Tell whether a kelurahan staff or admin account runs the command, saying why not."""
    with database.connect() as db:
        return _member(db, login) is not None


def load_staff(settings: Settings, path: Path) -> int:
    """Load or update the partner organisations and the staff accounts from a TOML file."""
    if not _readable(path):
        return 2
    database = open_database(settings)
    try:
        with database.begin() as db:
            partner_count, account_count = accounts.load(db=db, source=path, now=utcnow())
    except StaffFileProblem as problem:
        print(f"Cannot load {path}: {problem}", file=sys.stderr)
        return 2
    finally:
        database.dispose()
    print(
        f"{partner_count} partners and {account_count} staff accounts loaded from {path}. "
        "Accounts not in the file are deactivated."
    )
    return 0


# -- courses, batches and health events -------------------------------------------------------


def _import(
    settings: Settings, path: Path, login: str | None, run: Callable[[Engine], Report]
) -> Report | None:
    """Run an import for a staff member; None when it could not run (the reason printed)."""
    if not _readable(path):
        return None
    database = open_database(settings)
    try:
        if not _staff_only(database, login):
            return None
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
        lambda database: run_course_import(
            database=database, path=path, now=utcnow(), dry_run=dry_run
        ),
    )
    return 2 if report is None else _finish(report, dry_run, rejects)


def import_batches(
    settings: Settings, path: Path, dry_run: bool, rejects: Path | None, login: str | None
) -> int:
    """Import a course batches CSV (one row per session); move waitlists into added seats."""
    now = utcnow()
    promoted: list[int] = []

    told: list[int] = []

    def more_seats(db: Connection, batch_id: int) -> None:
        promoted.extend(_promote(db, batch_id, now, settings.tz_name))

    def called_off(db: Connection, batch_id: int) -> None:
        batch = training.get_batch(db=db, batch_id=batch_id)
        for resident_id in training.call_off(db=db, batch_id=batch_id, now=now):
            notices.queue_called_off_batch(
                db=db, resident_id=resident_id, batch=batch, now=now, time_zone=settings.tz_name
            )
            told.append(resident_id)

    report = _import(
        settings,
        path,
        login,
        lambda database: run_batch_import(
            database=database,
            path=path,
            now=now,
            zone=settings.tz_name,
            dry_run=dry_run,
            more_seats=more_seats,
            called_off=called_off,
        ),
    )
    if report is None:
        return 2
    code = _finish(report, dry_run, rejects)
    print("Added, updated and unchanged count batches; a batch has one row per session.")
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
        for resident_id in health.call_off(db=db, event_id=event_id, now=now):
            notices.queue_called_off_event(
                db=db, resident_id=resident_id, event=event, now=now, time_zone=settings.tz_name
            )
            told.append(resident_id)

    report = _import(
        settings,
        path,
        login,
        lambda database: run_health_import(
            database=database,
            path=path,
            now=now,
            zone=settings.tz_name,
            dry_run=dry_run,
            called_off=called_off,
        ),
    )
    if report is None:
        return 2
    code = _finish(report, dry_run, rejects)
    if told:
        print(
            f"{len(told)} booking(s) of called-off events cancelled; a message to each is queued."
        )
    for note in getattr(report, "notes", ()):
        print(f"  {note}")
    return code


def _local(moment: datetime, settings: Settings, form: str = "%Y-%m-%d %H:%M") -> str:
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


def _cell(text: str | None) -> str:
    """Return text typed by a resident as a CSV cell a spreadsheet will not run as a formula."""
    text = text or ""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _write_csv(
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
    database = open_database(settings)
    try:
        with database.connect() as db:
            if _member(db, login) is None:
                return 2
            batch = _find_batch(db, code)
            if batch is None:
                print(f"No batch {code.strip().upper()}.", file=sys.stderr)
                return 2
            listed = training.list_batch(db=db, batch_id=batch.id)
    finally:
        database.dispose()
    rows, waiting = [], 0
    for enrolment in listed:
        waitlisted = enrolment.status == EnrolmentStatus.WAITLISTED
        waiting += waitlisted
        rows.append(
            (
                enrolment.id,
                _cell(enrolment.name),
                enrolment.kelurahan or "",
                enrolment.rw if enrolment.rw is not None else "",
                format_phone(enrolment.phone) if enrolment.phone else "",
                enrolment.status.value,
                waiting if waitlisted else "",
                enrolment.priority_group or "",
                _local(enrolment.created_at, settings),
                enrolment.attended,
            )
        )
    if not _write_csv(output, ENROLMENT_COLUMNS, rows):
        return 2
    where = "" if output is None else f"; written to {output}"
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


def batch_attendance(
    settings: Settings, code: str, session: int, present: list[int], login: str | None
) -> int:
    """Mark who came to one session of a batch: the given enrolments present, the rest absent.
    A number that is not a confirmed enrolment of the batch changes nothing at all."""
    database = open_database(settings)
    try:
        with database.connect() as db, db.begin() as transaction:
            if _member(db, login) is None:
                return 2
            batch = _find_batch(db, code)
            if batch is None:
                print(f"No batch {code.strip().upper()}.", file=sys.stderr)
                return 2
            sessions = {item.number: item for item in batch.sessions}
            if session not in sessions:
                have = f"its sessions are 1–{max(sessions)}" if sessions else "it has no sessions"
                print(f"Batch {batch.code} has no session {session} ({have}).", file=sys.stderr)
                return 2
            came, absent, unknown = training.mark_attendance(
                db=db, batch_id=batch.id, session=session, present=set(present), now=utcnow()
            )
            if unknown:  # a typo would mark the person meant absent: mark nobody
                transaction.rollback()
                print(
                    f"Not confirmed in batch {batch.code}: {', '.join(map(str, unknown))}. "
                    "Nothing was marked; correct the numbers (the first column of "
                    f"python -m bot batch list {batch.code}) and run it again.",
                    file=sys.stderr,
                )
                return 1
    finally:
        database.dispose()
    when = _local(sessions[session].starts_at, settings)
    print(f"Batch {batch.code}, session {session} ({when}): {came} present, {absent} absent.")
    return 0


# -- applications ------------------------------------------------------------------------------

KIND_WORDS = {
    "beasiswa": Kind.SCHOLARSHIP,
    "scholarship": Kind.SCHOLARSHIP,
    "bsw": Kind.SCHOLARSHIP,
    "modal": Kind.CAPITAL,
    "modal_usaha": Kind.CAPITAL,
    "capital": Kind.CAPITAL,
    "mdl": Kind.CAPITAL,
}
KIND_NAMES = {Kind.SCHOLARSHIP: "beasiswa", Kind.CAPITAL: "modal usaha"}
STATUS_WORDS = {
    **{status.value: status for status in Status},
    "submitted": Status.SUBMITTED,
    "verified": Status.VERIFIED,
    "approved": Status.APPROVED,
    "rejected": Status.REJECTED,
}
STATUS_EN = {
    Status.SUBMITTED: "submitted",
    Status.VERIFIED: "verified",
    Status.APPROVED: "approved",
    Status.REJECTED: "rejected",
}
APPLICATION_COLUMNS = ("ref", "kind", "status", "partner", "submitted", "last_change")


def _word(text: str) -> str:
    return "_".join(text.strip().lower().replace("-", " ").split())


def read_kind(text: str) -> Kind:
    """Read what an application is for: beasiswa or modal (English words work too)."""
    kind = KIND_WORDS.get(_word(text))
    if kind is None:
        raise argparse.ArgumentTypeError(f"must be beasiswa or modal, not {text!r}")
    return kind


def read_status(text: str) -> Status:
    """Read an application status in Indonesian or English."""
    status = STATUS_WORDS.get(_word(text))
    if status is None:
        words = ", ".join(f"{status} ({STATUS_EN[status]})" for status in Status)
        raise argparse.ArgumentTypeError(f"must be one of {words}, not {text!r}")
    return status


def _visible(db: Connection, member: Member, ref: str) -> Filed | None:
    """Return an application the account may see; None also when it may not (say nothing)."""
    filed = applications.get(db=db, ref=ref)
    if filed is None or not member.sees(filed.partner_code):
        print(f"No such application: {ref.strip().upper()}.", file=sys.stderr)
        return None
    return filed


def application_list(
    settings: Settings,
    kind: Kind | None,
    status: Status | None,
    output: Path | None,
    login: str | None,
) -> int:
    """List applications, a partner only those routed to it, as a table or a CSV file."""
    database = open_database(settings)
    try:
        with database.connect() as db:
            member = _member(db, login, partners=True)
            if member is None:
                return 2
            partner = member.partner_code if member.role == Role.PARTNER else None
            found = [
                filed
                for filed in applications.listing(
                    db=db, kind=kind, status=status, partner_code=partner
                )
                if member.sees(filed.partner_code)
            ]
    finally:
        database.dispose()
    rows = [
        (
            filed.ref,
            KIND_NAMES[filed.kind],
            filed.status.value,
            filed.partner_code or "-",
            _local(filed.created_at, settings, "%Y-%m-%d"),
            _local(filed.updated_at, settings),
        )
        for filed in found
    ]
    if output is not None:
        if not _write_csv(output, APPLICATION_COLUMNS, rows):
            return 2
        print(f"{len(rows)} applications written to {output}.")
        return 0
    if not rows:
        print("No applications.")
        return 0
    header = tuple(column.replace("_", " ").upper() for column in APPLICATION_COLUMNS)
    widths = [max(len(str(row[index])) for row in (header, *rows)) for index in range(len(header))]
    for row in (header, *rows):
        print(
            "  ".join(
                str(value).ljust(width) for value, width in zip(row, widths, strict=True)
            ).rstrip()
        )
    print(f"{len(rows)} application{'s' if len(rows) > 1 else ''}.")
    return 0


def _applicant(db: Connection, resident_id: int) -> str:
    """Describe an applicant for staff: name, kelurahan, RW and phone when given."""
    residents_ = Resident.__table__
    kelurahan = Kelurahan.__table__
    row = db.execute(
        select(
            residents_.c.name,
            kelurahan.c.name.label("kelurahan"),
            residents_.c.rw,
            residents_.c.phone,
        )
        .outerjoin(kelurahan, kelurahan.c.code == residents_.c.kelurahan_code)
        .where(residents_.c.id == resident_id)
    ).first()
    if row is None:
        return "(no longer on file)"
    parts = [row.name or "(name not given)"]
    if row.kelurahan:
        parts.append(f"Kelurahan {row.kelurahan}")
    if row.rw is not None:
        parts.append(f"RW {row.rw}")
    parts.append(f"phone {format_phone(row.phone)}" if row.phone else "no phone given")
    return ", ".join(parts)


def _lines(value: object, indent: int) -> list[str]:
    """Return answers or a pre-screen as indented lines, whatever their shape."""
    pad = " " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines += [f"{pad}{key}:", *_lines(item, indent + 2)]
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
        return lines
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                inner = _lines(item, indent + 2)
                lines += [f"{pad}- {inner[0].lstrip()}", *inner[1:]]
            else:
                lines.append(f"{pad}- {_scalar(item)}")
        return lines
    return [f"{pad}{_scalar(value)}"]


def _scalar(value: object) -> str:
    if value is None or value == {} or value == []:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def application_show(settings: Settings, ref: str, login: str | None) -> int:
    """Print an application: applicant, answers, pre-screen and history."""
    database = open_database(settings)
    try:
        with database.connect() as db:
            member = _member(db, login, partners=True)
            if member is None:
                return 2
            filed = _visible(db, member, ref)
            if filed is None:
                return 2
            partner_names = accounts.partners(db=db)
            applicant = _applicant(db, filed.resident_id)
    finally:
        database.dispose()
    if filed.partner_code:
        partner = f"{filed.partner_code} ({partner_names.get(filed.partner_code, 'unknown')})"
    else:
        partner = "none: handled by kelurahan staff"
    print(f"{filed.ref}: {KIND_NAMES[filed.kind]} ({filed.kind.name.lower()})")
    print(
        f"Status:     {filed.status.value} ({STATUS_EN[filed.status]}) "
        f"since {_local(filed.updated_at, settings)}"
    )
    print(f"Partner:    {partner}")
    print(f"Submitted:  {_local(filed.created_at, settings)}")
    print(f"Applicant:  {applicant}")
    print("Answers:", *_lines(filed.details or "-", 2), sep="\n")
    print("Pre-screen (indicative):", *_lines(filed.screening or "-", 2), sep="\n")
    print("History:")
    width = max(len(event.status.value) for event in filed.history) if filed.history else 0
    for event in filed.history:
        note = f': "{event.note}"' if event.note else ""
        when = _local(event.at, settings)
        print(f"  {when}  {event.status.value:<{width}}  by {event.actor}{note}")
    return 0


def application_set_status(
    settings: Settings, ref: str, status: Status, note: str | None, login: str | None
) -> int:
    """Move an application to a new status and queue the message to the applicant, together."""
    database = open_database(settings)
    now = utcnow()
    try:
        with database.begin() as db:
            member = _member(db, login, partners=True)
            if member is None:
                return 2
            if _visible(db, member, ref) is None:
                return 2
            changed = applications.set_status(
                db=db, ref=ref, status=status, note=note, actor=member.login, now=now
            )
            queued = notices.queue_status_change(db=db, filed=changed, now=now)
    except StatusProblem as problem:
        print(f"Not changed: {problem}.", file=sys.stderr)
        return 2
    finally:
        database.dispose()
    print(f"{changed.ref} is now {changed.status.value} ({STATUS_EN[changed.status]}).")
    if queued is None:
        print("The applicant can no longer be reached on any chat; no notification was queued.")
    else:
        print("Notification queued for the applicant.")
    return 0
