"""`export feedback | complaints | enrolments`: the figures as a CSV or Excel file, for staff and
above all for evaluators.

What a role sees: admin and staff get the resident's name and phone (its last four digits);
an evaluator gets no name and no phone, only kelurahan and RW. An anonymous complaint never
says who sent it, to anyone. A kelurahan-limited account exports only its kelurahan. Never a
NIK: none is stored in these tables, and any run of 16 digits in a text is blanked all the
same. Every export is written to the audit log in the transaction that reads the rows.
"""

import argparse
import csv
import re
import sys
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, case, func, literal, select
from sqlalchemy.orm import aliased

from bot.accounts import account_of
from bot.app import open_database
from bot.courses import spreadsheet_cell
from bot.settings import Settings
from storage import audit
from storage.complaints import Complaint, ComplaintKind, ComplaintStatus
from storage.health import HealthEvent, HealthSlot
from storage.places import Kelurahan
from storage.ratings import Rated, Rating
from storage.residents import Resident
from storage.schedules import Distribution
from storage.staff import Member, Role
from storage.training import (
    Attendance,
    BatchSession,
    Course,
    CourseBatch,
    Enrolment,
    EnrolmentStatus,
)
from storage.types import utcnow

WHAT = ("feedback", "complaints", "enrolments")
FORMATS = ("csv", "xlsx")
SEES_PEOPLE = frozenset({Role.ADMIN, Role.STAFF})  # names and phones; evaluators do not
ANONYMOUS = "anonim"
NOBODY = "-"
# 16 digits or more, maybe grouped by spaces, dots or dashes: what could be a NIK
_LONG_NUMBER = re.compile(r"(?<!\d)(?:\d[\s.\-]?){15,}\d(?!\d)")
_REMOVED = "[nomor dihapus]"
# control characters an XLSX file cannot hold (tab, newline and carriage return it can)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
SUBJECTS = {
    Rated.DISTRIBUTION: "sembako",
    Rated.BATCH: "course",
    Rated.SLOT: "health",
    Rated.GENERAL: "general",  # "Beri masukan", at any time; its program says about what
}
KINDS = {
    ComplaintKind.COMPLAINT: "pengaduan",
    ComplaintKind.PROPOSAL: "usul",
    ComplaintKind.DISPUTE: "sanggah",
    ComplaintKind.SUGGESTION: "saran",
}
DATE_FORMAT = "%Y-%m-%d %H:%M"
XLSX_DATE_FORMAT = "yyyy-mm-dd hh:mm"
WIDEST = 60  # characters of an XLSX column

_RATINGS = Rating.__table__
_RESIDENTS = Resident.__table__
_KELURAHAN = Kelurahan.__table__
_DISTRIBUTIONS = Distribution.__table__
_BATCHES = CourseBatch.__table__
_COURSES = Course.__table__
_SESSIONS = BatchSession.__table__
_ENROLMENTS = Enrolment.__table__
_ATTENDANCE = Attendance.__table__
_SLOTS = HealthSlot.__table__
_EVENTS = HealthEvent.__table__
_COMPLAINTS = Complaint.__table__

Cell = str | int | float | datetime | None


@dataclass(frozen=True)
class Span:
    """The moments an export covers: [start, end), either open."""

    start: datetime | None
    end: datetime | None

    def where(self, column):
        """Return the condition that a column falls in the span."""
        conditions = []
        if self.start is not None:
            conditions.append(column >= self.start)
        if self.end is not None:
            conditions.append(column < self.end)
        return and_(literal(True), *conditions)


@dataclass(frozen=True)
class Table:
    """What an export writes: the header and the rows."""

    columns: tuple[str, ...]
    rows: list[list[Cell]]


class NotWritten(Exception):
    """The output could not be written (the reason printed); the transaction rolls back."""


# -- the command line ----------------------------------------------------------------------------


def add_commands(commands, login_option) -> None:
    """Add `export` to the command line."""
    export = commands.add_parser(
        "export",
        help="feedback, complaints or enrolments as CSV or Excel (staff and evaluators)",
        description="Write ratings (feedback), complaints or course enrolments as a CSV or "
        "XLSX file. Admin and staff see residents' names and the last digits of their phone; "
        "evaluators see kelurahan and RW only; anonymous complaints never show who sent them. "
        "A kelurahan-limited account exports only its kelurahan.",
    )
    export.add_argument("what", choices=WHAT)
    export.add_argument(
        "--format",
        dest="export_format",
        choices=FORMATS,
        help="csv or xlsx (default: xlsx for an --output ending in .xlsx, else csv)",
    )
    export.add_argument(
        "--output", type=Path, metavar="FILE", help="default: standard output (CSV only)"
    )
    export.add_argument(
        "--from", dest="since", metavar="YYYY-MM-DD", help="from this day on (local time)"
    )
    export.add_argument(
        "--to", dest="until", metavar="YYYY-MM-DD", help="up to and with this day (local time)"
    )
    login_option(export)


def run(settings: Settings, args: argparse.Namespace, login: str | None) -> int | None:
    """Run an `export` command, if it is one."""
    if args.command != "export":
        return None
    form = args.export_format
    if form is None:
        form = "xlsx" if args.output and args.output.suffix.lower() == ".xlsx" else "csv"
    if form == "xlsx" and args.output is None:
        print("An XLSX export needs --output FILE.xlsx.", file=sys.stderr)
        return 2
    span = read_span(args.since, args.until, settings.tz_name)
    if span is None:
        return 2
    return export(settings, args.what, form, args.output, span, login)


def read_day(text: str) -> date | None:
    """Read a day like 2027-03-06."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def read_span(since: str | None, until: str | None, zone: str) -> Span | None:
    """Read --from and --to as local days; None (after saying why) when they are wrong."""
    days = []
    for option, text in (("--from", since), ("--to", until)):
        day = None if text is None else read_day(text)
        if text is not None and day is None:
            print(f"{option} must be a day like 2027-03-06, not {text!r}.", file=sys.stderr)
            return None
        days.append(day)
    first, last = days
    if first is not None and last is not None and first > last:
        print("--from must not be later than --to.", file=sys.stderr)
        return None
    local = ZoneInfo(zone)

    def start_of(day: date | None) -> datetime | None:
        if day is None:
            return None
        return datetime.combine(day, time(0), tzinfo=local).astimezone(UTC)

    return Span(start_of(first), start_of(last + timedelta(days=1)) if last else None)


def export(
    settings: Settings,
    what: str,
    form: str,
    output: Path | None,
    span: Span,
    login: str | None,
) -> int:
    """Read the rows for the account, record the export in the audit log, write the file."""
    database = open_database(settings)
    now = utcnow()
    try:
        with database.begin() as db:
            member = account_of(db, login, evaluators=True)
            if member is None:
                return 2
            table = READERS[what](db, member, span, now)
            audit.record(
                db=db,
                actor=member.login,
                role=member.role,
                action=f"export.{what}",
                target=output.name if output else "stdout",
                details={
                    "format": form,
                    "rows": len(table.rows),
                    "filters": {
                        "from": span.start.isoformat() if span.start else None,
                        "to": span.end.isoformat() if span.end else None,
                        "kelurahan": member.kelurahan_code,
                    },
                },
                at=now,
            )
            write(table, form, output, ZoneInfo(settings.tz_name))
    except NotWritten:
        return 2
    finally:
        database.dispose()
    where = f" to {output}" if output else ""
    print(f"Exported {len(table.rows)} {what} rows as {form}{where}.", file=sys.stderr)
    return 0


# -- reading -------------------------------------------------------------------------------------


def sees_people(member: Member) -> bool:
    """Tell whether an account may see residents' names and phones."""
    return member.role in SEES_PEOPLE


def masked_phone(phone: str | None) -> str:
    """Show a phone by its last four digits only: …7890."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return "…" + digits[-4:] if digits else ""


def feedback(db: Connection, member: Member, span: Span, now: datetime) -> Table:
    """The ratings given (scored), oldest first."""
    kelurahan_code = func.coalesce(_RESIDENTS.c.kelurahan_code, _DISTRIBUTIONS.c.kelurahan_code)
    what = func.coalesce(_DISTRIBUTIONS.c.place, _BATCHES.c.code, _EVENTS.c.code)
    query = (
        select(
            _RATINGS.c.rated_at,
            _RATINGS.c.subject,
            what.label("what"),
            _KELURAHAN.c.name.label("kelurahan"),
            _RESIDENTS.c.rw,
            _RATINGS.c.score,
            _RATINGS.c.program,
            _RATINGS.c.comment,
            _RESIDENTS.c.name,
            _RESIDENTS.c.phone,
        )
        .select_from(_RATINGS)
        .outerjoin(_RESIDENTS, _RESIDENTS.c.id == _RATINGS.c.resident_id)
        .outerjoin(
            _DISTRIBUTIONS,
            and_(
                _RATINGS.c.subject == Rated.DISTRIBUTION,
                _DISTRIBUTIONS.c.id == _RATINGS.c.subject_id,
            ),
        )
        .outerjoin(
            _BATCHES,
            and_(_RATINGS.c.subject == Rated.BATCH, _BATCHES.c.id == _RATINGS.c.subject_id),
        )
        .outerjoin(
            _SLOTS, and_(_RATINGS.c.subject == Rated.SLOT, _SLOTS.c.id == _RATINGS.c.subject_id)
        )
        .outerjoin(_EVENTS, _EVENTS.c.id == _SLOTS.c.event_id)
        .outerjoin(_KELURAHAN, _KELURAHAN.c.code == kelurahan_code)
        .where(
            _RATINGS.c.score.is_not(None),
            _RATINGS.c.rated_at.is_not(None),
            span.where(_RATINGS.c.rated_at),
        )
        .order_by(_RATINGS.c.rated_at, _RATINGS.c.id)
    )
    if member.kelurahan_code is not None:
        query = query.where(kelurahan_code == member.kelurahan_code)
    people = sees_people(member)
    columns = ("rated_at", "subject", "what", "kelurahan", "rw", "score", "program", "comment")
    rows = []
    for row in db.execute(query):
        cells: list[Cell] = [
            row.rated_at,
            SUBJECTS.get(row.subject, row.subject),
            row.what,
            row.kelurahan,
            row.rw,
            row.score,
            row.program,
            no_long_numbers(row.comment) if row.comment else None,
        ]
        if people:
            cells += [row.name, masked_phone(row.phone)]
        rows.append(cells)
    return Table(columns + (("resident", "phone") if people else ()), rows)


def complaints(db: Connection, member: Member, span: Span, now: datetime) -> Table:
    """Complaints, proposals, disputes and suggestions, oldest first."""
    # the name only of one who did not ask to stay anonymous, whatever the code below does
    name = case((_COMPLAINTS.c.anonymous.is_(True), None), else_=_RESIDENTS.c.name)
    query = (
        select(
            _COMPLAINTS.c.ref,
            _COMPLAINTS.c.kind,
            _COMPLAINTS.c.category,
            _COMPLAINTS.c.status,
            _KELURAHAN.c.name.label("kelurahan"),
            _COMPLAINTS.c.created_at,
            _COMPLAINTS.c.due_at,
            _COMPLAINTS.c.answered_at,
            _COMPLAINTS.c.closed_at,
            _COMPLAINTS.c.text,
            _COMPLAINTS.c.anonymous,
            name.label("name"),
        )
        .select_from(_COMPLAINTS)
        .outerjoin(_RESIDENTS, _RESIDENTS.c.id == _COMPLAINTS.c.resident_id)
        .outerjoin(_KELURAHAN, _KELURAHAN.c.code == _COMPLAINTS.c.kelurahan_code)
        .where(span.where(_COMPLAINTS.c.created_at))
        .order_by(_COMPLAINTS.c.created_at, _COMPLAINTS.c.id)
    )
    if member.kelurahan_code is not None:
        query = query.where(_COMPLAINTS.c.kelurahan_code == member.kelurahan_code)
    people = sees_people(member)
    rows = []
    for row in db.execute(query):
        if row.anonymous:
            sender = ANONYMOUS
        elif people and row.name:
            sender = row.name
        else:
            sender = NOBODY
        rows.append(
            [
                row.ref,
                KINDS.get(row.kind, row.kind),
                row.category,
                row.status,
                row.kelurahan,
                row.created_at,
                row.due_at,
                row.answered_at,
                row.closed_at,
                "yes" if overdue(row, now) else "no",
                days_to_answer(row.created_at, row.answered_at),
                row.text,
                sender,
            ]
        )
    columns = (
        "ref",
        "kind",
        "category",
        "status",
        "kelurahan",
        "created_at",
        "due_at",
        "answered_at",
        "closed_at",
        "overdue",
        "days_to_answer",
        "text",
        "from",
    )
    return Table(columns, rows)


def overdue(row, now: datetime) -> bool:
    """Tell whether a complaint missed its response time: answered (or closed unanswered)
    after it, or still waiting past it."""
    responded = row.answered_at
    if responded is None and row.status == ComplaintStatus.CLOSED:
        responded = row.closed_at
    return (responded or now) > row.due_at


def days_to_answer(created: datetime, answered: datetime | None) -> float | None:
    """Return the days from filing to the first answer, to a tenth; None before it."""
    if answered is None:
        return None
    return round((answered - created).total_seconds() / 86400, 1)


def enrolments(db: Connection, member: Member, span: Span, now: datetime) -> Table:
    """Course enrolments (confirmed, waitlisted and cancelled), oldest first."""
    ahead = aliased(_ENROLMENTS)
    waitlist_position = (
        select(func.count())
        .where(
            ahead.c.batch_id == _ENROLMENTS.c.batch_id,
            ahead.c.status == EnrolmentStatus.WAITLISTED,
            ahead.c.id <= _ENROLMENTS.c.id,
        )
        .correlate(_ENROLMENTS)
        .scalar_subquery()
    )
    attended = (
        select(func.count())
        .where(_ATTENDANCE.c.enrolment_id == _ENROLMENTS.c.id, _ATTENDANCE.c.present.is_(True))
        .correlate(_ENROLMENTS)
        .scalar_subquery()
    )
    sessions = (
        select(func.count())
        .where(_SESSIONS.c.batch_id == _BATCHES.c.id)
        .correlate(_BATCHES)
        .scalar_subquery()
    )
    query = (
        select(
            _BATCHES.c.code.label("batch"),
            _COURSES.c.code.label("course"),
            _ENROLMENTS.c.status,
            case(
                (_ENROLMENTS.c.status == EnrolmentStatus.WAITLISTED, waitlist_position),
                else_=None,
            ).label("waitlist_position"),
            _KELURAHAN.c.name.label("kelurahan"),
            _RESIDENTS.c.rw,
            _ENROLMENTS.c.created_at,
            attended.label("attended"),
            sessions.label("sessions"),
            _RESIDENTS.c.name,
            _RESIDENTS.c.phone,
        )
        .select_from(_ENROLMENTS)
        .join(_BATCHES, _BATCHES.c.id == _ENROLMENTS.c.batch_id)
        .join(_COURSES, _COURSES.c.id == _BATCHES.c.course_id)
        .join(_RESIDENTS, _RESIDENTS.c.id == _ENROLMENTS.c.resident_id)
        .outerjoin(_KELURAHAN, _KELURAHAN.c.code == _RESIDENTS.c.kelurahan_code)
        .where(span.where(_ENROLMENTS.c.created_at))
        .order_by(_ENROLMENTS.c.created_at, _ENROLMENTS.c.id)
    )
    if member.kelurahan_code is not None:
        query = query.where(_RESIDENTS.c.kelurahan_code == member.kelurahan_code)
    people = sees_people(member)
    columns = (
        "batch",
        "course",
        "status",
        "waitlist_position",
        "kelurahan",
        "rw",
        "enrolled_at",
        "sessions_attended",
        "sessions_total",
    )
    rows = []
    for row in db.execute(query):
        cells: list[Cell] = [
            row.batch,
            row.course,
            row.status,
            row.waitlist_position,
            row.kelurahan,
            row.rw,
            row.created_at,
            row.attended,
            row.sessions,
        ]
        if people:
            cells += [row.name, masked_phone(row.phone)]
        rows.append(cells)
    return Table(columns + (("resident", "phone") if people else ()), rows)


READERS: dict[str, Callable[[Connection, Member, Span, datetime], Table]] = {
    "feedback": feedback,
    "complaints": complaints,
    "enrolments": enrolments,
}


# -- writing -------------------------------------------------------------------------------------


def no_long_numbers(text: str) -> str:
    """Blank any run of 16 digits or more (maybe grouped): never anything like a NIK."""
    return _LONG_NUMBER.sub(_REMOVED, text)


def csv_cell(value: Cell, zone: ZoneInfo) -> str | int | float:
    """Return a value as a CSV cell: local times, formula-safe text."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime(DATE_FORMAT)
    if value == NOBODY:
        return value  # a lone dash is no formula
    if isinstance(value, str):
        return spreadsheet_cell(no_long_numbers(value))
    return value


def xlsx_value(value: Cell, zone: ZoneInfo) -> str | int | float | datetime | None:
    """Return a value for an XLSX cell: naive local times, text an XLSX file can hold."""
    if isinstance(value, datetime):
        return value.astimezone(zone).replace(tzinfo=None)
    if isinstance(value, str):
        return _CONTROL.sub("", no_long_numbers(value))
    return value


def write(table: Table, form: str, output: Path | None, zone: ZoneInfo) -> None:
    """Write a table as CSV (to a file or standard output) or XLSX; NotWritten on failure."""
    try:
        if form == "xlsx":
            write_xlsx(table, output, zone)
        elif output is None:
            write_csv(table, sys.stdout, zone)
        else:
            with output.open("w", encoding="utf-8-sig", newline="") as file:
                write_csv(table, file, zone)
    except OSError as error:
        print(f"Cannot write {output}: {error.strerror or error}", file=sys.stderr)
        raise NotWritten from error


def write_csv(table: Table, file, zone: ZoneInfo) -> None:
    """Write the header and the rows."""
    writer = csv.writer(file, lineterminator="\r\n" if file is not sys.stdout else "\n")
    writer.writerow(table.columns)
    writer.writerows([csv_cell(value, zone) for value in row] for row in table.rows)


def write_xlsx(table: Table, output: Path, zone: ZoneInfo) -> None:
    """Write an Excel workbook: a bold, frozen header row, set widths, real dates and
    numbers, and text stored as text (never run as a formula)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "export"
    sheet.append(list(table.columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [len(name) for name in table.columns]
    for number, row in enumerate(table.rows, start=2):
        for column, raw in enumerate(row, start=1):
            value = xlsx_value(raw, zone)
            cell = sheet.cell(row=number, column=column, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # "=…" is text here, not a formula
                shown = len(value)
            elif isinstance(value, datetime):
                cell.number_format = XLSX_DATE_FORMAT
                shown = len(XLSX_DATE_FORMAT)
            else:
                shown = len(str(value)) if value is not None else 0
            widths[column - 1] = max(widths[column - 1], shown)
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = min(width + 2, WIDEST)
    sheet.freeze_panes = "A2"
    try:
        book.save(output)
    except OSError:
        with suppress(OSError):
            output.unlink(missing_ok=True)
        raise
