"""Import of skills-training courses and their batches from CSV files.

Courses are matched by code. A batches file has one row per session: the rows of a batch share
its code and its batch-level columns (course, organiser, place, address, quota, who may join).
A batch is imported whole or not at all, so residents never see half of its sessions. Codes are
kept in capitals; importing the same file twice changes nothing.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Column, Connection, Engine, Table, func, select

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
from storage.priorities import PRIORITY_FILE, priority_groups
from storage.schedule_import import CANCELLED_WORDS, read_date, read_time
from storage.training import (
    Attendance,
    BatchSession,
    Course,
    CourseBatch,
    Enrolment,
    EnrolmentStatus,
)

COURSE_COLUMNS = {
    "code": ("code", "kode", "kode_kursus", "kode_pelatihan", "course_code"),
    "category": ("category", "kategori", "bidang"),
    "title": ("title", "judul", "nama", "name", "nama_kursus", "nama_pelatihan"),
    "category_en": ("category_en", "kategori_en"),
    "title_en": ("title_en", "judul_en", "nama_en", "name_en"),
    "description": ("description", "deskripsi", "keterangan", "uraian"),
    "description_en": ("description_en", "deskripsi_en", "keterangan_en"),
}
COURSE_REQUIRED = ("code", "category", "title")
BATCH_COLUMNS = {
    "batch": ("batch", "kode_batch", "batch_code", "angkatan", "gelombang"),
    "course": ("course", "kursus", "pelatihan", "kode_kursus", "course_code"),
    "organiser": ("organiser", "organizer", "penyelenggara"),
    "place": ("place", "tempat", "lokasi"),
    "address": ("address", "alamat"),
    "quota": ("quota", "kuota"),
    "date": ("date", "tanggal"),
    "start": ("start", "mulai", "jam_mulai"),
    "end": ("end", "selesai", "jam_selesai"),
    "min_age": ("min_age", "usia_minimal", "umur_minimal", "usia_min"),
    "residents_only": ("residents_only", "khusus_warga"),
    "priority": ("priority", "prioritas", "priority_groups", "kelompok_prioritas"),
    "status": ("status",),
}
BATCH_REQUIRED = (
    "batch",
    "course",
    "organiser",
    "place",
    "address",
    "quota",
    "date",
    "start",
    "end",
)
MAX_COUNT = 10_000  # a quota or capacity beyond this is a slip
MAX_AGE = 100
YES_NO = {
    "": True,
    "ya": True,
    "y": True,
    "yes": True,
    "true": True,
    "1": True,
    "tidak": False,
    "tdk": False,
    "bukan": False,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
}
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._/-]{0,39}$")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_GROUP_SEPARATORS = re.compile(r"[;|,]")

_COURSES = Course.__table__
_BATCHES = CourseBatch.__table__
_SESSIONS = BatchSession.__table__
_ENROLMENTS = Enrolment.__table__
_ATTENDANCE = Attendance.__table__
_COURSE_FIELDS = ("category", "title", "category_en", "title_en", "description", "description_en")
# batch-level columns every row of a batch must agree on, by field and by CSV column
_SHARED = {
    "course_id": "course",
    "organiser": "organiser",
    "place": "place",
    "address": "address",
    "quota": "quota",
    "min_age": "min_age",
    "residents_only": "residents_only",
    "priority_groups": "priority",
}
_BATCH_FIELDS = (*_SHARED, "cancelled", "starts_at", "ends_at")


# -- reading cells, shared with the health import ----------------------------------------------


def cell_reader(cells: list[str], columns: dict[str, int]) -> Callable[[str], str]:
    """Return a function that gives a column's cell of a row, stripped ('' when absent)."""

    def cell(column: str) -> str:
        index = columns.get(column)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    return cell


def read_code(text: str) -> str | None:
    """Read a code (JHT-2027-01), in capitals; None when empty, too long or with spaces."""
    code = text.strip().upper()
    return code if _CODE.match(code) else None


CODE_RULE = "up to 40 letters, digits and - _ . / without spaces"


def read_count(text: str, low: int, high: int) -> int | None:
    """Read a whole number from low to high written in plain digits."""
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        return None
    number = int(text)
    return number if low <= number <= high else None


def read_cancelled(text: str) -> bool | None:
    """Read a status cell: empty or aktif (False), batal (True); None when it is neither."""
    return CANCELLED_WORDS.get(_NOT_WORD.sub("", text.lower()))


def limit(table: Table, name: str) -> int:
    """Return the length a text column holds."""
    column: Column = table.c[name]
    return column.type.length


def too_long(table: Table, values: dict[str, str]) -> str | None:
    """Say which text is longer than its column (of the same name) holds."""
    for name, value in values.items():
        if len(value) > limit(table, name):
            return f"{name} is longer than {limit(table, name)} characters"
    return None


def read_times(cell: Callable[[str], str], zone: ZoneInfo) -> tuple[datetime, datetime] | str:
    """Read the date, start and end cells as aware local moments, or say what is wrong."""
    day = read_date(cell("date"))
    if day is None:
        return f"date must be YYYY-MM-DD or DD/MM/YYYY, not {cell('date')!r}"
    start, end = read_time(cell("start")), read_time(cell("end"))
    if start is None or end is None:
        return f"start and end must be times like 08:00, not {cell('start')!r}–{cell('end')!r}"
    if end <= start:
        return "end must be later than start on the same day"
    return datetime.combine(day, start, zone), datetime.combine(day, end, zone)


def held_back(what: str, good: list[int], bad: list[Rejected], report: Report) -> None:
    """Reject the good lines of a batch or event that had a bad one: it goes in whole or not."""
    report.rejected.extend(bad)
    first = min(rejected.line for rejected in bad)
    report.rejected.extend(
        Rejected(line, f"{what} not imported: line {first} was rejected") for line in good
    )


def header_of(rows) -> list[str]:
    """Return a file's header row; raise FileProblem when the file is empty."""
    try:
        _line, header = next(rows)
    except StopIteration:
        raise FileProblem("the file is empty") from None
    return header


# -- courses ------------------------------------------------------------------------------------


def import_courses(
    *, database: Engine, path: Path, now: datetime, dry_run: bool = False
) -> Report:
    """Import a courses CSV in one transaction; raise FileProblem when it is unusable."""
    report = Report()
    with open_text(path) as file, database.begin() as db:
        rows = read_rows(file)
        header = header_of(rows)
        columns = find_columns(header, COURSE_COLUMNS, COURSE_REQUIRED, "Training courses")
        report.guessed = guessed_columns(header, COURSE_COLUMNS, columns)
        stored = {
            row.code.upper(): row
            for row in db.execute(select(_COURSES.c.id, _COURSES.c.code, *_course_columns()))
        }
        seen: dict[str, int] = {}
        for line, cells in rows:
            report.rows += 1
            checked = extra_cells(line, cells, header) or _check_course(line, cells, columns)
            if isinstance(checked, Rejected):
                report.rejected.append(checked)
                continue
            code, values = checked
            first = seen.setdefault(code, line)
            if first != line:
                report.rejected.append(Rejected(line, f"same code as line {first}"))
                continue
            old = stored.get(code)
            if old is not None and {name: getattr(old, name) for name in _COURSE_FIELDS} == values:
                report.unchanged += 1
                continue
            if old is None:
                report.added += 1
            else:
                report.updated += 1
            if dry_run:
                continue
            if old is None:
                db.execute(
                    _COURSES.insert().values(code=code, demo=False, updated_at=now, **values)
                )
            else:
                db.execute(
                    _COURSES.update()
                    .where(_COURSES.c.id == old.id)
                    .values(updated_at=now, **values)
                )
    return report


def _course_columns():
    return tuple(_COURSES.c[name] for name in _COURSE_FIELDS)


def _check_course(
    line: int, cells: list[str], columns: dict[str, int]
) -> tuple[str, dict] | Rejected:
    """Check one course row; return its code and values, or why it is rejected."""
    cell = cell_reader(cells, columns)
    code = read_code(cell("code"))
    if code is None:
        return Rejected(line, f"code is missing or not {CODE_RULE}")
    values = {name: cell(name) for name in _COURSE_FIELDS}
    if not values["category"] or not values["title"]:
        return Rejected(line, "category and title are needed")
    problem = too_long(_COURSES, values)
    if problem:
        return Rejected(line, problem)
    return code, values


# -- batches ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SessionRow:
    """A checked row of a batches file: its batch's values and one session."""

    line: int
    shared: dict
    cancelled: bool
    starts_at: datetime
    ends_at: datetime


class _BatchChecker:
    """Checks batch rows against the courses in the database and the priority groups."""

    def __init__(self, db: Connection, zone: ZoneInfo, groups: Path):
        self.zone = zone
        self.courses = {
            code.upper(): course_id
            for course_id, code in db.execute(select(_COURSES.c.id, _COURSES.c.code))
        }
        self.groups = priority_groups(groups)

    def check(self, line: int, cells: list[str], columns: dict[str, int]) -> _SessionRow | str:
        """Check one row; return it, or why it is rejected."""
        cell = cell_reader(cells, columns)
        course = self.courses.get(cell("course").upper())
        if course is None:
            return f"unknown course code {cell('course')!r}: import it with import-courses first"
        texts = {name: cell(name) for name in ("organiser", "place", "address")}
        if not all(texts.values()):
            return "organiser, place and address are needed"
        problem = too_long(_BATCHES, texts)
        if problem:
            return problem
        quota = read_count(cell("quota"), 1, MAX_COUNT)
        if quota is None:
            return f"quota must be a whole number from 1 to {MAX_COUNT}, not {cell('quota')!r}"
        min_age = read_count(cell("min_age") or "0", 0, MAX_AGE)
        if min_age is None:
            return f"min_age must be a whole number from 0 to {MAX_AGE}, not {cell('min_age')!r}"
        residents_only = YES_NO.get(cell("residents_only").lower())
        if residents_only is None:
            return f"residents_only must be ya or tidak, not {cell('residents_only')!r}"
        groups = self.read_groups(cell("priority"))
        if isinstance(groups, str):
            return groups
        cancelled = read_cancelled(cell("status"))
        if cancelled is None:
            return "status must be empty, aktif or batal"
        times = read_times(cell, self.zone)
        if isinstance(times, str):
            return times
        shared = {
            "course_id": course,
            **texts,
            "quota": quota,
            "min_age": min_age,
            "residents_only": residents_only,
            "priority_groups": groups,
        }
        return _SessionRow(line, shared, cancelled, *times)

    def read_groups(self, text: str) -> list[str] | str:
        """Read priority group codes separated by ; or |, in the order given."""
        codes: list[str] = []
        for part in _GROUP_SEPARATORS.split(text):
            code = part.strip().lower()
            if not code or code in codes:
                continue
            if code not in self.groups:
                known = (
                    ", ".join(self.groups) or "none: storage/data/priority_groups.toml is empty"
                )
                return f"unknown priority group {part.strip()!r} (known: {known})"
            codes.append(code)
        return codes


def _stored_batch(db: Connection, code: str):
    """Return a stored batch row by code (any case), locked until the transaction ends."""
    return (
        db.execute(select(_BATCHES).where(func.upper(_BATCHES.c.code) == code).with_for_update())
        .mappings()
        .first()
    )


def _stored_sessions(db: Connection, batch_id: int) -> list[tuple[int, datetime, datetime]]:
    return [
        tuple(row)
        for row in db.execute(
            select(_SESSIONS.c.number, _SESSIONS.c.starts_at, _SESSIONS.c.ends_at)
            .where(_SESSIONS.c.batch_id == batch_id)
            .order_by(_SESSIONS.c.number)
        )
    ]


def confirmed_count(db: Connection, batch_id: int) -> int:
    """Return how many confirmed enrolments a batch holds."""
    return db.execute(
        select(func.count()).where(
            _ENROLMENTS.c.batch_id == batch_id,
            _ENROLMENTS.c.status == EnrolmentStatus.CONFIRMED,
        )
    ).scalar_one()


def replace_sessions(
    db: Connection, batch_id: int, sessions: list[tuple[int, datetime, datetime]]
) -> None:
    """Make a batch's sessions the given ones; a session whose start did not move keeps its
    id and so its attendance."""
    wanted = {start: (number, end) for number, start, end in sessions}
    kept = set()
    for session_id, start, number, end in db.execute(
        select(
            _SESSIONS.c.id, _SESSIONS.c.starts_at, _SESSIONS.c.number, _SESSIONS.c.ends_at
        ).where(_SESSIONS.c.batch_id == batch_id)
    ).all():
        if start not in wanted or start in kept:
            db.execute(_ATTENDANCE.delete().where(_ATTENDANCE.c.session_id == session_id))
            db.execute(_SESSIONS.delete().where(_SESSIONS.c.id == session_id))
            continue
        kept.add(start)
        if (number, end) != wanted[start]:
            new_number, new_end = wanted[start]
            db.execute(
                _SESSIONS.update()
                .where(_SESSIONS.c.id == session_id)
                .values(number=new_number, ends_at=new_end)
            )
    new = [
        {"batch_id": batch_id, "number": number, "starts_at": start, "ends_at": end}
        for number, start, end in sessions
        if start not in kept
    ]
    if new:
        db.execute(_SESSIONS.insert(), new)


def import_batches(
    *,
    database: Engine,
    path: Path,
    now: datetime,
    zone: str,
    dry_run: bool = False,
    groups: Path = PRIORITY_FILE,
    more_seats: Callable[[Connection, int], None] | None = None,
    called_off: Callable[[Connection, int], None] | None = None,
    rescheduled: Callable[[Connection, int], None] | None = None,
) -> Report:
    """Import a batches CSV (one row per session) in one transaction; raise FileProblem when it
    is unusable. Added, updated and unchanged count batches, rejected counts rows.
    `more_seats(db, batch_id)` is called, in the transaction, for a batch whose quota rose,
    `called_off(db, batch_id)` for a batch just called off (status batal), and
    `rescheduled(db, batch_id)` for a batch whose sessions moved or whose place changed (the
    reminders of its sessions have followed by then)."""
    report = Report()
    with open_text(path) as file, database.begin() as db:
        rows = read_rows(file)
        header = header_of(rows)
        columns = find_columns(header, BATCH_COLUMNS, BATCH_REQUIRED, "Course batches")
        report.guessed = guessed_columns(header, BATCH_COLUMNS, columns)
        checker = _BatchChecker(db, ZoneInfo(zone), groups)
        if not checker.courses:
            raise FileProblem("no courses are loaded yet: run `python -m bot import-courses`")
        batches: dict[str, list[tuple[int, _SessionRow | str]]] = {}
        for line, cells in rows:
            report.rows += 1
            too_many = extra_cells(line, cells, header)
            if too_many is not None:
                report.rejected.append(too_many)
                continue
            code = read_code(cell_reader(cells, columns)("batch"))
            if code is None:
                report.rejected.append(Rejected(line, f"batch code is missing or not {CODE_RULE}"))
                continue
            batches.setdefault(code, []).append((line, checker.check(line, cells, columns)))
        for code, found in batches.items():
            _import_batch(
                db,
                code,
                found,
                report,
                now,
                dry_run,
                more_seats,
                called_off,
                zone=zone,
                rescheduled=rescheduled,
            )
        report.rejected.sort(key=lambda rejected: rejected.line)
    return report


def _agreeing(code: str, found: list[tuple[int, _SessionRow | str]]):
    """Split a batch's rows into the good sessions and the rejected lines."""
    good: list[_SessionRow] = []
    bad: list[Rejected] = []
    starts: dict[datetime, int] = {}
    for line, row in found:
        if isinstance(row, str):
            bad.append(Rejected(line, row))
            continue
        if good:
            first = good[0]
            differ = [
                column
                for name, column in _SHARED.items()
                if row.shared[name] != first.shared[name]
            ]
            if differ:
                verb = "differs" if len(differ) == 1 else "differ"
                bad.append(
                    Rejected(
                        line, f"batch {code}: {', '.join(differ)} {verb} from line {first.line}"
                    )
                )
                continue
        if row.starts_at in starts:
            bad.append(Rejected(line, f"same session as line {starts[row.starts_at]}"))
            continue
        starts[row.starts_at] = line
        good.append(row)
    return good, bad


def _import_batch(
    db: Connection,
    code: str,
    found: list[tuple[int, _SessionRow | str]],
    report: Report,
    now: datetime,
    dry_run: bool,
    more_seats: Callable[[Connection, int], None] | None,
    called_off: Callable[[Connection, int], None] | None = None,
    *,
    zone: str = "Asia/Jakarta",
    rescheduled: Callable[[Connection, int], None] | None = None,
) -> None:
    """Check one batch's rows together and store the batch with its sessions."""
    good, bad = _agreeing(code, found)
    lines = [row.line for row in good]
    if bad:
        held_back(f"batch {code}", lines, bad, report)
        return
    sessions = sorted(good, key=lambda row: row.starts_at)
    numbered = [(number, row.starts_at, row.ends_at) for number, row in enumerate(sessions, 1)]
    values = {
        **sessions[0].shared,
        "cancelled": any(row.cancelled for row in good),
        "starts_at": sessions[0].starts_at,
        "ends_at": max(row.ends_at for row in sessions),
    }
    stored = _stored_batch(db, code)
    if stored is not None and not values["cancelled"]:
        confirmed = confirmed_count(db, stored["id"])
        if values["quota"] < confirmed:
            reason = (
                f"batch {code}: quota {values['quota']} is below the {confirmed} confirmed "
                "enrolments already taken"
            )
            report.rejected.extend(Rejected(line, reason) for line in lines)
            return
    if stored is not None:
        same = {name: stored[name] for name in _BATCH_FIELDS} == values
        if same and _stored_sessions(db, stored["id"]) == numbered:
            report.unchanged += 1
            return
    if stored is None:
        report.added += 1
    else:
        report.updated += 1
    if dry_run:
        return
    if stored is None:
        created = db.execute(
            _BATCHES.insert().values(code=code, demo=False, updated_at=now, **values)
        )
        batch_id = created.inserted_primary_key[0]
    else:
        batch_id = stored["id"]
        db.execute(
            _BATCHES.update().where(_BATCHES.c.id == batch_id).values(updated_at=now, **values)
        )
    before = reminders.sessions_of(db=db, batch_id=batch_id)
    replace_sessions(db, batch_id, numbered)
    if stored is not None and not values["cancelled"]:
        # the reminders of moved sessions move; confirmed residents are told the new schedule
        moved = reminders.follow_sessions(
            db=db, batch_id=batch_id, before=before, now=now, zone=zone
        )
        place = (stored["place"], stored["address"]) != (values["place"], values["address"])
        if (moved or place) and rescheduled is not None and values["ends_at"] > now:
            rescheduled(db, batch_id)
    if stored is not None and values["quota"] > stored["quota"] and more_seats is not None:
        more_seats(db, batch_id)
    if values["cancelled"] and not (stored or {}).get("cancelled") and called_off is not None:
        called_off(db, batch_id)
