"""Import of the beneficiary registry from a CSV file: every row checked, NIKs hashed.

Rows are matched to the registry by the keyed hash of their NIK: a new NIK is added, a changed
row updated, an unchanged one left alone, so importing the same file twice changes nothing.
Rows not in the file stay as they are; mark them `nonaktif` in a file to end them.
The work is committed in chunks, so a bot running on SQLite is not blocked for the whole import;
an import that stops half-way can simply be run again. New people are added at the end of the
import, sorted by their NIK hash; a million new rows take about 700 MB of memory meanwhile.
"""

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Connection, Engine, bindparam, select

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
from storage.identity import NikProblem, check_nik, keyed_hash, name_key, nik_hash
from storage.places import kelurahan_finder
from storage.registry import (
    PROGRAM_SEPARATOR,
    Beneficiary,
    Status,
    program_codes,
    resolve_program,
)
from storage.types import UTCDateTime

CHUNK = 5_000  # rows compared with the registry at once (an IN list: SQLite allows 32,766)
INSERT_CHUNK = 20_000  # sorted new rows per commit: well under a second of write lock each
NAME_MAX = 100

# the column names staff files use, after lower-casing and turning non-letters into "_"
COLUMNS = {
    "nik": ("nik", "no_nik", "nomor_nik", "nik_ktp"),
    "name": (
        "nama",
        "name",
        "nama_ktp",
        "nama_sesuai_ktp",
        "nama_lengkap",
        "nama_penerima",
        "full_name",
    ),
    "kk": ("kk", "no_kk", "nomor_kk", "nkk", "kk_number", "nomor_kartu_keluarga", "family_card"),
    "kelurahan": ("kelurahan", "kel", "desa_kelurahan", "kelurahan_desa", "village"),
    "rw": ("rw",),
    "rt": ("rt",),
    "desil": ("desil", "decile"),
    "programs": ("program", "programs", "bansos", "program_bansos", "jenis_bansos"),
    "status": ("status", "status_kpm", "keterangan_status"),
}
REQUIRED = ("nik", "name", "kelurahan", "rw", "rt", "desil")
STATUS_WORDS = {
    "": Status.ACTIVE,
    "aktif": Status.ACTIVE,
    "active": Status.ACTIVE,
    "ditangguhkan": Status.SUSPENDED,
    "tangguh": Status.SUSPENDED,
    "suspended": Status.SUSPENDED,
    "nonaktif": Status.INACTIVE,
    "non_aktif": Status.INACTIVE,
    "tidak_aktif": Status.INACTIVE,
    "dihentikan": Status.INACTIVE,
    "inactive": Status.INACTIVE,
    "ended": Status.INACTIVE,
}
NIK_REASONS = {
    NikProblem.EMPTY: "NIK is empty",
    NikProblem.NOT_DIGITS: "NIK must contain digits only",
    NikProblem.LENGTH: "NIK must have 16 digits, this one has {length}",
    NikProblem.DATE: "NIK digits 7-12 are not a real birth date (DDMMYY, women day+40)",
    NikProblem.REGION: "NIK region code 00 does not exist",
    NikProblem.SERIAL: "NIK serial 0000 does not exist",
    NikProblem.SPREADSHEET: "NIK was turned into a number by a spreadsheet; format it as text",
}
_NUMBER = re.compile(r"^(?:rw|rt|desil)?[\s.:]*0*(\d{1,3})$", re.IGNORECASE)
_PROGRAM_SPLIT = re.compile(r"[;,|/+]")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_KK_NOISE = re.compile(r"[\s.\-_/]")
NUMBER_RANGES = {"rw": (1, 999), "rt": (1, 999), "desil": (1, 10)}
REPEATING = ("kelurahan", "rw", "rt", "desil", "programs", "status")  # in this order


class _Row(NamedTuple):
    """A checked row, ready to store."""

    line: int
    nik_hash: str
    values: tuple  # what a re-import compares: see _COMPARED


_COMPARED = (
    "nik_last4",
    "name_hash",
    "kk_hash",
    "kelurahan_code",
    "rw",
    "rt",
    "desil",
    "programs",
    "status",
)
_TABLE = Beneficiary.__table__


def map_columns(header: list[str]) -> dict[str, int]:
    """Find the registry's columns in a file's header."""
    return find_columns(header, COLUMNS, REQUIRED, "Beneficiary registry")


class Checker:
    """Checks rows against the kelurahan and programs in the database and hashes them.

    Columns that repeat (kelurahan, RW, RT, desil, programs, status) are read once per distinct
    text: a registry of a million rows has only a few hundred of each.
    """

    def __init__(self, db: Connection, key: bytes, columns: dict[str, int]):
        self.key = key
        self.programs = program_codes(db=db)
        self.find_kelurahan = kelurahan_finder(db=db)
        self.columns = columns
        self.width = max(columns.values()) + 1
        self._seen: dict[tuple[str, str], tuple[object, str | None]] = {}

    def program_list(self, text: str) -> tuple[str | None, str | None]:
        """Return the codes joined ('BPNT;PKH'), or an error naming an unknown one."""
        codes = set()
        for part in _PROGRAM_SPLIT.split(text):
            if not _NOT_WORD.sub("", part.lower()):
                continue  # empty, or a dash for "none"
            code = resolve_program(self.programs, part)
            if code is None:
                known = ", ".join(sorted(set(self.programs.values())))
                return None, f"unknown program code (known: {known})"
            codes.add(code)
        return PROGRAM_SEPARATOR.join(sorted(codes)), None

    def _read(self, column: str, text: str) -> tuple[object, str | None]:
        """Read a repeating column's text: its value, or why it cannot be taken."""
        if column == "kelurahan":
            code = self.find_kelurahan(text)
            # cell contents are never quoted: a shifted row would put a name here
            return code, None if code else "unknown kelurahan (not one of the seven)"
        if column == "programs":
            return self.program_list(text)
        if column == "status":
            status = STATUS_WORDS.get(_NOT_WORD.sub("_", text.lower()).strip("_"))
            known = "aktif, ditangguhkan, nonaktif"
            return status, None if status else f"unknown status (use {known})"
        low, high = NUMBER_RANGES[column]
        found = _NUMBER.match(text)
        number = int(found.group(1)) if found and found.group(1).isascii() else None
        if number is None or not low <= number <= high:
            return None, f"{column.upper()} must be a number from {low} to {high}"
        return number, None

    def read(self, column: str, text: str) -> tuple[object, str | None]:
        """Read a repeating column, from memory when the same text came before."""
        known = self._seen.get((column, text))
        if known is None:
            known = self._seen[(column, text)] = self._read(column, text)
        return known

    def check(self, line: int, cells: list[str]) -> _Row | Rejected:
        """Check one row; return it ready to store, or why it is rejected."""
        if len(cells) < self.width:
            cells = cells + [""] * (self.width - len(cells))
        columns = self.columns
        nik = check_nik(cells[columns["nik"]])
        if nik.digits is None:
            return Rejected(line, NIK_REASONS[nik.problem].format(length=nik.length))
        name = cells[columns["name"]].strip()
        key_of_name = name_key(name) if len(name) <= NAME_MAX else ""
        if len(key_of_name) < 2:
            return Rejected(line, "name is missing or not a name")
        kk_hash = None
        kk = cells[columns["kk"]].strip() if "kk" in columns else ""
        if kk:
            kk_digits = _KK_NOISE.sub("", kk.lstrip("'"))
            if len(kk_digits) != 16 or not (kk_digits.isascii() and kk_digits.isdigit()):
                return Rejected(line, "KK number must have 16 digits")
            kk_hash = keyed_hash(self.key, "kk", kk_digits)
        values = []
        for column in REPEATING:
            index = columns.get(column)
            value, problem = self.read(column, cells[index].strip() if index is not None else "")
            if problem:
                return Rejected(line, problem)
            values.append(value)
        kelurahan, rw, rt, desil, programs, status = values
        stored = (
            nik.digits[-4:],
            keyed_hash(self.key, "name", key_of_name),
            kk_hash,
            kelurahan,
            rw,
            rt,
            desil,
            programs,
            str(status),
        )
        return _Row(line, nik_hash(self.key, nik.digits), stored)


_EXISTING = select(_TABLE.c.nik_hash, *(_TABLE.c[name] for name in _COMPARED)).where(
    _TABLE.c.nik_hash.in_(bindparam("b_hashes", expanding=True))
)
_INSERTED = ("nik_hash", *_COMPARED, "demo", "updated_at")  # the order of a new row's values
_INSERT = _TABLE.insert().values(**{name: bindparam(name) for name in _INSERTED})
_UPDATE = (
    _TABLE.update()
    .where(_TABLE.c.nik_hash == bindparam("nik_hash"))
    .values(**{name: bindparam(f"new_{name}") for name in (*_COMPARED, "updated_at")})
)
_UPDATED = ("nik_hash", *(f"new_{name}" for name in (*_COMPARED, "updated_at")))


def _executemany(db: Connection, statement, names: tuple[str, ...], rows: list[tuple]) -> None:
    """Run a statement for many rows straight on the driver: SQLAlchemy's work per row would
    cost more than the database's. Rows hold values in the order of `names`, already in the
    driver's types."""
    compiled = statement.compile(dialect=db.dialect)
    if compiled.positional:  # SQLite's "?" placeholders
        place = {name: index for index, name in enumerate(names)}
        order = [place[name] for name in compiled.positiontup]
        db.exec_driver_sql(str(compiled), [tuple(row[i] for i in order) for row in rows])
    else:
        db.exec_driver_sql(str(compiled), [dict(zip(names, row, strict=True)) for row in rows])


def _insert(db: Connection, rows: list[tuple]) -> None:
    """Add new registry rows: with COPY on PostgreSQL (twice as fast as many INSERTs), with
    many INSERTs elsewhere."""
    if db.dialect.name != "postgresql":
        _executemany(db, _INSERT, _INSERTED, rows)
        return
    columns = ", ".join(_INSERTED)
    cursor = db.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {_TABLE.name} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


class _Writer:
    """Sorts checked rows into new, changed and unchanged, updating changed ones chunk by
    chunk; new rows wait and go in at the end in the order of their NIK hash, which keeps the
    NIK index growing at its end: three times faster than in file order."""

    def __init__(self, database: Engine, report: Report, now: datetime, dry_run: bool):
        self.database, self.report, self.dry_run = database, report, dry_run
        with database.connect() as db:  # an empty registry (the first load): every row is new
            self.empty = db.execute(select(_TABLE.c.id).limit(1)).first() is None
        self.stamp = UTCDateTime().bind_processor(database.dialect)(now)  # as the column stores it
        self.new: list[tuple] = []

    def chunk(self, rows: list[_Row]) -> None:
        """Classify one chunk against the registry and update its changed rows."""
        if not rows:
            return
        # a dry run only reads: no write lock (BEGIN IMMEDIATE on SQLite) for it
        with self.database.connect() if self.dry_run else self.database.begin() as db:
            existing = {}
            if not self.empty:
                params = {"b_hashes": [row.nik_hash for row in rows]}
                existing = {found[0]: tuple(found[1:]) for found in db.execute(_EXISTING, params)}
            changed = []
            for row in rows:
                before = existing.get(row.nik_hash)
                if before is None:
                    self.new.append((row.nik_hash, *row.values, False, self.stamp))
                elif before != row.values:
                    changed.append((row.nik_hash, *row.values, self.stamp))
                else:
                    self.report.unchanged += 1
            self.report.updated += len(changed)
            if changed and not self.dry_run:
                _executemany(db, _UPDATE, _UPDATED, changed)

    def finish(self) -> None:
        """Add the new rows, in order, committing every chunk."""
        self.report.added += len(self.new)
        if self.dry_run:
            return
        self.new.sort()
        for start in range(0, len(self.new), INSERT_CHUNK):
            with self.database.begin() as db:
                _insert(db, self.new[start : start + INSERT_CHUNK])
        self.new = []


def check_ready(kelurahan: dict, programs: dict) -> None:
    """Refuse an import into a database without kelurahan or programs: every row would fail."""
    if not kelurahan:
        raise FileProblem("no kelurahan are loaded yet: run `python -m bot load-places` first")
    if not programs:
        raise FileProblem("no programs are loaded yet: run `python -m bot load-programs` first")


def import_registry(
    *,
    database: Engine,
    path: Path,
    key: bytes,
    now: datetime,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Import a registry CSV; raise FileProblem when the file as a whole is unusable."""
    report = Report()
    writer = _Writer(database, report, now, dry_run)
    with open_text(path) as file:
        rows = read_rows(file, progress)
        try:
            _line, header = next(rows)
        except StopIteration:
            raise FileProblem("the file is empty") from None
        columns = map_columns(header)
        report.guessed = guessed_columns(header, COLUMNS, columns)
        with database.connect() as db:
            checker = Checker(db, key, columns)
        check_ready(checker.find_kelurahan.spellings, checker.programs)
        seen: dict[str, int] = {}  # NIK hash → first line, to catch a NIK twice in one file
        chunk: list[_Row] = []
        for line, cells in rows:
            report.rows += 1
            row = extra_cells(line, cells, header) or checker.check(line, cells)
            if isinstance(row, Rejected):
                report.rejected.append(row)
                continue
            first = seen.setdefault(row.nik_hash, line)
            if first != line:
                report.rejected.append(Rejected(line, f"same NIK as line {first}"))
                continue
            chunk.append(row)
            if len(chunk) >= CHUNK:
                writer.chunk(chunk)
                chunk = []
        writer.chunk(chunk)
    writer.finish()
    return report
