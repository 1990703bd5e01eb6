"""Staff commands for applications: list, show, move one to a new status with a message to the
applicant, and set the last day of a round of applications."""

import argparse
import sys
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Connection, select

from bot.accounts import account_of
from bot.app import open_database
from bot.courses import local_time, write_csv
from bot.settings import Settings
from handlers import notices
from handlers.formatting import format_phone
from storage import applications, reminders, rounds
from storage import staff as accounts
from storage.applications import Filed, Kind, Status, StatusProblem
from storage.places import Kelurahan
from storage.reminders import Subject
from storage.residents import Resident
from storage.staff import Member, Role
from storage.types import utcnow

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
            member = account_of(db, login, partners=True)
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
            local_time(filed.created_at, settings, "%Y-%m-%d"),
            local_time(filed.updated_at, settings),
        )
        for filed in found
    ]
    if output is not None:
        if not write_csv(output, APPLICATION_COLUMNS, rows):
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
            member = account_of(db, login, partners=True)
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
        f"since {local_time(filed.updated_at, settings)}"
    )
    print(f"Partner:    {partner}")
    print(f"Submitted:  {local_time(filed.created_at, settings)}")
    print(f"Applicant:  {applicant}")
    print("Answers:", *_lines(filed.details or "-", 2), sep="\n")
    print("Pre-screen (indicative):", *_lines(filed.screening or "-", 2), sep="\n")
    print("History:")
    width = max(len(event.status.value) for event in filed.history) if filed.history else 0
    for event in filed.history:
        note = f': "{event.note}"' if event.note else ""
        when = local_time(event.at, settings)
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
            member = account_of(db, login, partners=True)
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


def read_day(text: str) -> date:
    """Read a day as 2027-01-31 or 31-01-2027 (also with slashes)."""
    cleaned = text.strip().replace("/", "-")
    for pattern in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(cleaned, pattern).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"must be a day like 2027-01-31 or 31-01-2027, not {text!r}")


def application_deadline(settings: Settings, kind: Kind, day: date, login: str | None) -> int:
    """Set the last day of the current round of a kind of application: an open round moves
    its deadline (the reminders follow, and who asked for one is told), otherwise a new round
    opens now."""
    zone = settings.tz_name
    closes_at = rounds.end_of(day, zone)
    now = utcnow()
    if closes_at <= now:
        print(f"{day.isoformat()} has passed; give a day from today on.", file=sys.stderr)
        return 2
    database = open_database(settings)
    told = 0
    try:
        with database.begin() as db:
            member = account_of(db, login)
            if member is None:
                return 2
            found, old_close = rounds.set_deadline(
                db=db, kind=kind, closes_at=closes_at, login=member.login, now=now
            )
            if old_close is not None and old_close != closes_at:
                held = reminders.move(
                    db=db,
                    subject=Subject.ROUND,
                    subject_id=found.id,
                    old_start=old_close,
                    new_start=closes_at,
                    zone=zone,
                    now=now,
                )
                for resident_id in held:
                    queued = notices.queue_round_moved(
                        db=db, resident_id=resident_id, found=found, now=now, time_zone=zone
                    )
                    told += queued is not None
    finally:
        database.dispose()
    name = KIND_NAMES[kind]
    if old_close is None:
        print(f"A new round of {name} applications is open until {day.isoformat()} (inclusive).")
    else:
        print(f"{name.capitalize()} applications are now taken until {day.isoformat()}.")
        print(f"{told} resident(s) who asked for a reminder will be told.")
    return 0
