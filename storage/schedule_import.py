"""Import of sembako distributions from a CSV file (the format `plan-distributions` drafts).

Rows are matched by their `ref`: a new ref is added, a changed row updated, an unchanged one
left alone, so importing the same file twice changes nothing. When a distribution moves, its
pending reminders move with it; when it is called off (status batal), they are cancelled; in
both cases the caller is handed who held a reminder, to tell them, in the same transaction.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from storage import reminders
from storage.csvfile import (
    FileProblem,
    Rejected,
    Report,
    extra_cells,
    find_columns,
    guessed_columns,
    open_text,
    read_rows,
)
from storage.places import RukunWarga, kelurahan_finder
from storage.registry import program_codes, resolve_program
from storage.registry_import import check_ready
from storage.reminders import Subject
from storage.schedules import Distribution, DistributionRw, replace_rws

COLUMNS = {
    "ref": ("ref", "id", "kode"),
    "program": ("program", "program_code"),
    "kelurahan": ("kelurahan", "kel"),
    "rw": ("rw", "rws"),
    "date": ("date", "tanggal"),
    "start": ("start", "mulai", "jam_mulai"),
    "end": ("end", "selesai", "jam_selesai"),
    "place": ("place", "tempat", "lokasi"),
    "address": ("address", "alamat"),
    "latitude": ("latitude", "lat", "lintang"),
    "longitude": ("longitude", "lon", "lng", "bujur"),
    "items": ("items", "isi", "isi_paket"),
    "bring": ("bring", "dibawa", "yang_dibawa", "syarat"),
    "quota": ("quota", "kuota"),
    "items_en": ("items_en",),
    "bring_en": ("bring_en",),
    "status": ("status",),
}
# the columns a drafted schedule is written with (`plan-distributions`); status is for staff
WRITTEN = tuple(column for column in COLUMNS if column != "status")
# a distribution called off stays on file, hidden from residents
CANCELLED_WORDS = {
    "": False,
    "aktif": False,
    "active": False,
    "batal": True,
    "dibatalkan": True,
    "cancelled": True,
    "canceled": True,
}
REQUIRED = (
    "ref",
    "program",
    "kelurahan",
    "date",
    "start",
    "end",
    "place",
    "address",
    "latitude",
    "longitude",
)
# a generous box around Jakarta: coordinates outside it are a slip (often lat and lon swapped)
JAKARTA = (-6.45, -5.95, 106.55, 107.10)
_DATE_DMY = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")
_ASCII_NUMBER = re.compile(r"^[0-9]{1,3}$")
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_FIELDS = (
    "program_code",
    "kelurahan_code",
    "all_rws",
    "starts_at",
    "ends_at",
    "place",
    "address",
    "latitude",
    "longitude",
    "items",
    "bring",
    "items_en",
    "bring_en",
    "quota",
    "cancelled",
)


@dataclass(frozen=True)
class _Row:
    """A checked distribution."""

    ref: str
    values: dict
    rws: tuple[int, ...]


def read_date(text: str) -> date | None:
    """Read 2027-02-13 or 13/02/2027."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        match = _DATE_DMY.match(text)
        if match:
            day, month, year = (int(part) for part in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                return None
    return None


def read_time(text: str) -> time | None:
    """Read 08:00 or 08.00."""
    match = _TIME.match(text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        return None
    return time(int(match.group(1)), int(match.group(2)))


def read_rws(text: str) -> tuple[int, ...] | None:
    """Read '1;2;3', '1-8;10' or '' (every RW); None when it is not a list of RWs."""
    numbers: set[int] = set()
    cleaned = text.lower().replace("rw", "").strip()
    if cleaned in ("", "semua", "all", "*"):
        return ()
    for part in re.split(r"[;,\s]+", cleaned):
        if not part:
            continue
        first, dash, last = part.partition("-")
        if not _ASCII_NUMBER.match(first) or (dash and not _ASCII_NUMBER.match(last)):
            return None
        low, high = int(first), int(last) if dash else int(first)
        if low > high or high > 999:
            return None
        numbers.update(range(low, high + 1))
    return tuple(sorted(numbers))


class Checker:
    """Checks distribution rows against the programs, kelurahan and RWs in the database."""

    def __init__(self, db: Connection, zone: ZoneInfo):
        self.zone = zone
        self.programs = program_codes(db=db)
        self.kelurahan_code = kelurahan_finder(db=db)
        self.rws: dict[str, set[int]] = {}
        for code, number in db.execute(select(RukunWarga.kelurahan_code, RukunWarga.number)):
            self.rws.setdefault(code, set()).add(number)

    def check(self, line: int, cells: list[str], columns: dict[str, int]) -> _Row | Rejected:
        """Check one row; return it ready to store, or why it is rejected."""

        def cell(column: str) -> str:
            index = columns.get(column)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        ref = cell("ref")
        if not ref or len(ref) > 40:
            return Rejected(line, "ref is missing or longer than 40 characters")
        program = resolve_program(self.programs, cell("program"))
        if program is None:
            return Rejected(line, "unknown program code")
        kelurahan = self.kelurahan_code(cell("kelurahan"))
        if kelurahan is None:
            return Rejected(line, "unknown kelurahan (not one of the seven)")
        rws = read_rws(cell("rw"))
        if rws is None:
            return Rejected(line, f"RW must be like 1;2;3 or 1-8, not {cell('rw')!r}")
        unknown = set(rws) - self.rws.get(kelurahan, set())
        if unknown:
            return Rejected(
                line, f"no RW {', '.join(map(str, sorted(unknown)))} in this kelurahan"
            )
        day, start, end = read_date(cell("date")), read_time(cell("start")), read_time(cell("end"))
        if day is None:
            return Rejected(line, f"date must be YYYY-MM-DD, not {cell('date')!r}")
        if start is None or end is None or end == start:
            return Rejected(line, "start and end must be times like 08:00, and differ")
        cancelled = CANCELLED_WORDS.get(_NOT_WORD.sub("", cell("status").lower()))
        if cancelled is None:
            return Rejected(line, "status must be empty, aktif or batal")
        try:
            latitude, longitude = float(cell("latitude")), float(cell("longitude"))
        except ValueError:
            return Rejected(line, "latitude and longitude must be decimal numbers")
        south, north, west, east = JAKARTA
        if not (south <= latitude <= north and west <= longitude <= east):
            return Rejected(line, "coordinates are not in Jakarta (latitude first, e.g. -6.23)")
        quota = cell("quota")
        if quota and not (quota.isascii() and quota.isdigit()):
            return Rejected(line, "quota must be a whole number or empty")
        if not cell("place") or not cell("address"):
            return Rejected(line, "place and address are needed")
        values = {
            "program_code": program,
            "kelurahan_code": kelurahan,
            "all_rws": not rws,
            "starts_at": datetime.combine(day, start, self.zone),
            # an end before the start is the next morning: 22:00-02:00
            "ends_at": datetime.combine(day + timedelta(days=end < start), end, self.zone),
            "cancelled": cancelled,
            "place": cell("place")[:120],
            "address": cell("address")[:200],
            "latitude": latitude,
            "longitude": longitude,
            "items": cell("items")[:500],
            "bring": cell("bring")[:500],
            "items_en": cell("items_en")[:500] or None,
            "bring_en": cell("bring_en")[:500] or None,
            "quota": int(quota) if quota else None,
        }
        return _Row(ref, values, rws)


_TABLE = Distribution.__table__
_RWS = DistributionRw.__table__


def _stored(db: Connection, ref: str) -> tuple[int, dict, tuple[int, ...]] | None:
    """Return a stored distribution's id, values and RWs by ref."""
    row = db.execute(select(_TABLE).where(_TABLE.c.ref == ref)).mappings().first()
    if row is None:
        return None
    query = select(_RWS.c.rw).where(_RWS.c.distribution_id == row["id"]).order_by(_RWS.c.rw)
    rws = tuple(db.execute(query).scalars())
    return row["id"], {name: row[name] for name in _FIELDS}, rws


@dataclass(frozen=True)
class Change:
    """A distribution that moved or was called off, for the residents who held a reminder."""

    distribution_id: int
    before: dict  # its values before the import: program_code, starts_at, ends_at, place, …
    residents: list[int]


Told = Callable[[Connection, Change], None]


def _follow(
    db: Connection,
    distribution_id: int,
    before: dict,
    after: dict,
    now: datetime,
    zone: str,
    moved: Told | None,
    called_off: Told | None,
) -> None:
    """Move or cancel the reminders of a changed distribution, and hand who held one over."""
    if after["cancelled"]:
        if before["cancelled"]:
            return
        held = reminders.cancel(db=db, subject=Subject.DISTRIBUTION, subject_ids=[distribution_id])
        if held and called_off is not None and before["ends_at"] > now:
            called_off(db, Change(distribution_id, before, held))
        return
    if before["cancelled"]:  # back on: its reminders were cancelled, residents ask anew
        return
    if before["starts_at"] != after["starts_at"]:
        held = reminders.move(
            db=db,
            subject=Subject.DISTRIBUTION,
            subject_id=distribution_id,
            old_start=before["starts_at"],
            new_start=after["starts_at"],
            zone=zone,
            now=now,
        )
    elif (before["place"], before["address"]) != (after["place"], after["address"]):
        held = reminders.holders(db=db, subject=Subject.DISTRIBUTION, subject_id=distribution_id)
    else:
        return
    if held and moved is not None and after["ends_at"] > now:
        moved(db, Change(distribution_id, before, held))


def import_schedule(
    *,
    database: Engine,
    path: Path,
    now: datetime,
    zone: str,
    dry_run: bool = False,
    moved: Told | None = None,
    called_off: Told | None = None,
) -> Report:
    """Import a schedule CSV in one transaction; raise FileProblem when it is unusable.
    `moved(db, change)` is called, in the transaction, for a distribution whose time or place
    changed, and `called_off(db, change)` for one just called off, when someone held a
    reminder of it."""
    report = Report()
    with open_text(path) as file, database.begin() as db:
        rows = read_rows(file)
        try:
            _line, header = next(rows)
        except StopIteration:
            raise FileProblem("the file is empty") from None
        columns = find_columns(header, COLUMNS, REQUIRED, "Sembako schedules")
        report.guessed = guessed_columns(header, COLUMNS, columns)
        checker = Checker(db, ZoneInfo(zone))
        check_ready(checker.kelurahan_code.spellings, checker.programs)
        seen: dict[str, int] = {}
        for line, cells in rows:
            report.rows += 1
            row = extra_cells(line, cells, header) or checker.check(line, cells, columns)
            if isinstance(row, Rejected):
                report.rejected.append(row)
                continue
            first = seen.setdefault(row.ref, line)
            if first != line:
                report.rejected.append(Rejected(line, f"same ref as line {first}"))
                continue
            stored = _stored(db, row.ref)
            if stored is not None and (stored[1], stored[2]) == (row.values, row.rws):
                report.unchanged += 1
                continue
            if stored is None:
                report.added += 1
            else:
                report.updated += 1
            if dry_run:
                continue
            values = {**row.values, "updated_at": now}
            if stored is None:
                created = db.execute(_TABLE.insert().values(ref=row.ref, demo=False, **values))
                distribution_id = created.inserted_primary_key[0]
            else:
                distribution_id = stored[0]
                db.execute(_TABLE.update().where(_TABLE.c.id == distribution_id).values(values))
            replace_rws(db=db, distribution_id=distribution_id, rws=row.rws)
            if stored is not None:
                _follow(db, distribution_id, stored[1], row.values, now, zone, moved, called_off)
    return report
