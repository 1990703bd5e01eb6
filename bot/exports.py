"""`export feedback | complaints | enrolments | misses | survey ID`: the figures as a CSV or
Excel file, for staff and above all for evaluators (`misses`: the messages the bot did not
understand, redacted and without who wrote them, so that staff can add phrasings).

What a role sees: admin and staff get the resident's name and phone (its last four digits);
an evaluator gets no name and no phone, only kelurahan and RW. An anonymous complaint never
says who sent it, to anyone; a survey's answers name nobody. A kelurahan-limited account
exports only its kelurahan. Never a NIK: none is stored in these tables, and any run of 16
digits in a text is blanked all the same. Every export is written to the audit log in the
transaction that reads the rows.
"""

import argparse
import csv
import re
import sys
from contextlib import suppress
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.accounts import staff_command
from bot.courses import spreadsheet_cell
from bot.settings import Settings
from storage.figures import (
    ACTIONS,
    NOBODY,
    READERS,
    WHAT,
    Cell,
    Span,
    Table,
    no_long_numbers,
)
from storage.survey_figures import survey_answers
from storage.types import utcnow

FORMATS = ("csv", "xlsx")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
DATE_FORMAT = "%Y-%m-%d %H:%M"
XLSX_DATE_FORMAT = "yyyy-mm-dd hh:mm"
WIDEST = 60  # characters of an XLSX column


class NotWritten(Exception):
    """The output could not be written (the reason printed); the transaction rolls back."""


# -- the command line ----------------------------------------------------------------------------


def add_commands(commands, login_option) -> None:
    """Add `export` to the command line."""
    export = commands.add_parser(
        "export",
        help="feedback, complaints, enrolments, misses or a survey's answers as CSV or Excel",
        description="Write ratings (feedback), complaints (and questions to staff), course "
        "enrolments, the messages the bot did not understand (misses: redacted, without who "
        "wrote them) or the answers to survey ID as a CSV or XLSX file. Admin and staff see "
        "residents' names and the last digits of their phone; evaluators see kelurahan and "
        "RW only; anonymous complaints "
        "never show who sent them; survey answers name nobody. A kelurahan-limited account "
        "exports only its kelurahan.",
    )
    export.add_argument("what", choices=(*WHAT, "survey"))
    export.add_argument("survey_id", nargs="?", type=int, metavar="ID", help="survey only")
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
    if (args.what == "survey") != (args.survey_id is not None):
        wrong = "A survey's number goes with `export survey ID` only (see `survey list`)."
        print(wrong, file=sys.stderr)
        return 2
    span = read_span(args.since, args.until, settings.tz_name)
    if span is None:
        return 2
    return export(settings, args.what, form, args.output, span, login, args.survey_id)


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
    survey_id: int | None = None,
) -> int:
    """Read the rows for the account, record the export in the audit log, write the file."""
    now = utcnow()
    try:
        with staff_command(settings, login, ACTIONS.get(what, "export")) as admission:
            db, member = admission.db, admission.member
            if survey_id is not None:
                table = survey_answers(db, member, span, survey_id)
                if table is None:
                    print(f"No survey #{survey_id} of yours; see `survey list`.", file=sys.stderr)
                    return 2
            else:
                table = READERS[what](db, member, span, now)
            admission.permit.record(
                db,
                action=f"export.{what}",
                target=output.name if output else "stdout",
                details={
                    "survey": survey_id,
                    "format": form,
                    "rows": len(table.rows),
                    "filters": {
                        "from": span.start.isoformat() if span.start else None,
                        "to": span.end.isoformat() if span.end else None,
                        "kelurahan": member.kelurahan_code,
                    },
                },
            )
            write(table, form, output, ZoneInfo(settings.tz_name))
    except NotWritten:
        return 2
    where = f" to {output}" if output else ""
    print(f"Exported {len(table.rows)} {what} rows as {form}{where}.", file=sys.stderr)
    return 0


# -- writing -------------------------------------------------------------------------------------


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
