"""Staff commands for applications: list, show, move one to a new status with a message to the
applicant, and set the last day of a round of applications."""

import argparse
import sys
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Connection, select

from bot.accounts import staff_command
from bot.courses import local_time, write_csv
from bot.settings import Settings
from handlers import notices
from handlers.formatting import format_phone
from storage import applications, reminders, rounds
from storage import staff as accounts
from storage.applications import Filed, Kind, Status, StatusProblem
from storage.gate import Pass, Refused
from storage.places import Kelurahan
from storage.reminders import Subject
from storage.residents import Resident
from storage.staff import Role
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


def _visible(db: Connection, permit: Pass, ref: str) -> Filed | None:
    """Return an application the account may see: routed to its partner, and of an applicant
    within its kelurahan; None when there is none (the reason printed). Another kelurahan's is
    refused by the gate (and audited)."""
    filed = applications.get(db=db, ref=ref)
    if filed is None:
        print(f"No such application: {ref.strip().upper()}.", file=sys.stderr)
        return None
    if not permit.member.sees(filed.partner_code):  # refused, as if there were none
        raise Refused(
            f"No such application: {filed.ref}.",
            action=permit.action,
            why="partner",
            actor=permit.member.login,
            role=permit.member.role,
            target=filed.ref,
        )
    where = applications.applicant_kelurahan(db=db, resident_id=filed.resident_id)
    permit.require(where, target=filed.ref)
    return filed


def application_list(
    settings: Settings,
    kind: Kind | None,
    status: Status | None,
    output: Path | None,
    login: str | None,
) -> int:
    """List applications, a partner only those routed to it, as a table or a CSV file."""
    with staff_command(settings, login, "application.list") as admission:
        member = admission.member
        partner = member.partner_code if member.role == Role.PARTNER else None
        found = [
            filed
            for filed in applications.listing(
                db=admission.db,
                kind=kind,
                status=status,
                partner_code=partner,
                kelurahan_limit=admission.permit.kelurahan_limit,
            )
            if member.sees(filed.partner_code)
        ]
        admission.permit.record(
            admission.db,
            details={
                "kind": kind.value if kind else None,
                "status": status.value if status else None,
                "rows": len(found),
            },
        )
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
    with staff_command(
        settings, login, "application.show", target=ref.strip().upper()
    ) as admission:
        filed = _visible(admission.db, admission.permit, ref)
        if filed is None:
            return 2
        partner_names = accounts.partners(db=admission.db)
        applicant = _applicant(admission.db, filed.resident_id)
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
    try:
        with staff_command(
            settings, login, "application.status", target=ref.strip().upper()
        ) as admission:
            db, now = admission.db, admission.now
            if _visible(db, admission.permit, ref) is None:
                return 2
            changed = applications.set_status(
                db=db, ref=ref, status=status, note=note, actor=admission.member.login, now=now
            )
            queued = notices.queue_status_change(db=db, filed=changed, now=now)
            admission.permit.record(db, details={"status": changed.status.value})
    except StatusProblem as problem:
        print(f"Not changed: {problem}.", file=sys.stderr)
        return 2
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
    told = 0
    with staff_command(
        settings, login, "application.deadline", target=KIND_NAMES[kind]
    ) as admission:
        db = admission.db
        found, old_close = rounds.set_deadline(
            db=db, kind=kind, closes_at=closes_at, login=admission.member.login, now=now
        )
        admission.permit.record(db, details={"closes": day.isoformat()})
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
    name = KIND_NAMES[kind]
    if old_close is None:
        print(f"A new round of {name} applications is open until {day.isoformat()} (inclusive).")
    else:
        print(f"{name.capitalize()} applications are now taken until {day.isoformat()}.")
        print(f"{told} resident(s) who asked for a reminder will be told.")
    return 0
