"""Import of the beneficiary registry from a CSV file: every row checked, NIKs hashed.

Rows are matched to the registry by the keyed hash of their NIK: a new NIK is added, a changed
row updated, an unchanged one left alone, so importing the same file twice changes nothing.
Rows not in the file stay as they are; mark them `nonaktif` in a file to end them.
The work is committed in chunks, so a bot running on SQLite is not blocked for the whole import;
an import that stops half-way can simply be run again.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, select

from storage.csvfile import (
    FileProblem,
    Rejected,
    Report,
    extra_cells,
    find_columns,
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

CHUNK = 5_000
NAME_MAX = 100

# the column names staff files use, after lower-casing and turning non-letters into "_"
COLUMNS = {
    "nik": ("nik", "no_nik", "nomor_nik", "nik_ktp"),
    "name": ("nama", "name", "nama_ktp", "nama_sesuai_ktp", "nama_lengkap", "nama_penerima"),
    "kk": ("kk", "no_kk", "nomor_kk", "nkk", "kk_number", "nomor_kartu_keluarga"),
    "kelurahan": ("kelurahan", "kel", "desa_kelurahan", "kelurahan_desa"),
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


@dataclass(frozen=True)
class _Row:
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
    """Checks rows against the kelurahan and programs in the database and hashes them."""

    def __init__(self, db: Connection, key: bytes):
        self.key = key
        self.programs = program_codes(db=db)
        self.kelurahan_code = kelurahan_finder(db=db)

    def program_list(self, text: str) -> tuple[str | None, str | None]:
        """Return the codes joined ('BPNT;PKH'), or an error naming an unknown one."""
        codes = set()
        for part in _PROGRAM_SPLIT.split(text):
            if not _NOT_WORD.sub("", part.lower()):
                continue  # empty, or a dash for "none"
            code = resolve_program(self.programs, part)
            if code is None:
                known = ", ".join(sorted(set(self.programs.values())))
                return None, f"unknown program {part.strip()!r} (known: {known})"
            codes.add(code)
        return PROGRAM_SEPARATOR.join(sorted(codes)), None

    def check(self, line: int, cells: list[str], columns: dict[str, int]) -> _Row | Rejected:
        """Check one row; return it ready to store, or why it is rejected."""

        def cell(column: str) -> str:
            index = columns.get(column)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        nik = check_nik(cell("nik"))
        if nik.digits is None:
            return Rejected(line, NIK_REASONS[nik.problem].format(length=nik.length))
        name = cell("name")
        if len(name) > NAME_MAX or len(name_key(name)) < 2:
            return Rejected(line, "name is missing or not a name")
        kk_hash = None
        if cell("kk"):
            kk = check_nik(cell("kk"))  # a KK number has the NIK's shape without the date rule
            if kk.digits is None and kk.problem not in (NikProblem.DATE, NikProblem.SERIAL):
                return Rejected(line, "KK number must have 16 digits")
            kk_hash = keyed_hash(self.key, "kk", _NOT_WORD.sub("", cell("kk")))
        kelurahan = self.kelurahan_code(cell("kelurahan"))
        if kelurahan is None:
            return Rejected(line, f"unknown kelurahan {cell('kelurahan')!r}")
        numbers = {}
        for column, low, high in (("rw", 1, 999), ("rt", 1, 999), ("desil", 1, 10)):
            found = _NUMBER.match(cell(column))
            number = int(found.group(1)) if found and found.group(1).isascii() else None
            if number is None or not low <= number <= high:
                return Rejected(line, f"{column.upper()} must be a number from {low} to {high}")
            numbers[column] = number
        programs, problem = self.program_list(cell("programs"))
        if problem:
            return Rejected(line, problem)
        status = STATUS_WORDS.get(_NOT_WORD.sub("_", cell("status").lower()).strip("_"))
        if status is None:
            return Rejected(
                line, f"unknown status {cell('status')!r} (aktif, ditangguhkan, nonaktif)"
            )
        values = (
            nik.digits[-4:],
            keyed_hash(self.key, "name", name_key(name)),
            kk_hash,
            kelurahan,
            numbers["rw"],
            numbers["rt"],
            numbers["desil"],
            programs,
            str(status),
        )
        return _Row(line, nik_hash(self.key, nik.digits), values)


_EXISTING = select(_TABLE.c.nik_hash, *(_TABLE.c[name] for name in _COMPARED)).where(
    _TABLE.c.nik_hash.in_(bindparam("b_hashes", expanding=True))
)
_UPDATE = (
    _TABLE.update()
    .where(_TABLE.c.nik_hash == bindparam("b_nik_hash"))
    .values(**{name: bindparam(f"b_{name}") for name in (*_COMPARED, "updated_at")})
)


def _store(
    db: Connection, chunk: list[_Row], report: Report, now: datetime, dry_run: bool
) -> None:
    """Add new rows and update changed ones of one chunk."""
    hashes = [row.nik_hash for row in chunk]
    existing = {row[0]: tuple(row[1:]) for row in db.execute(_EXISTING, {"b_hashes": hashes})}
    added, updated = [], []
    for row in chunk:
        before = existing.get(row.nik_hash)
        values = dict(zip(_COMPARED, row.values, strict=True))
        if before is None:
            added.append({"nik_hash": row.nik_hash, **values, "demo": False, "updated_at": now})
        elif before != row.values:
            updated.append(
                {
                    "b_nik_hash": row.nik_hash,
                    **{f"b_{k}": v for k, v in values.items()},
                    "b_updated_at": now,
                }
            )
        else:
            report.unchanged += 1
    report.added += len(added)
    report.updated += len(updated)
    if dry_run:
        return
    if added:
        db.execute(_TABLE.insert(), added)
    if updated:
        db.execute(_UPDATE, updated)


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
    with open_text(path) as file:
        rows = read_rows(file, progress)
        try:
            _line, header = next(rows)
        except StopIteration:
            raise FileProblem("the file is empty") from None
        columns = map_columns(header)
        with database.connect() as db:
            checker = Checker(db, key)
        seen: dict[str, int] = {}  # NIK hash → first line, to catch a NIK twice in one file
        chunk: list[_Row] = []
        for line, cells in rows:
            report.rows += 1
            row = extra_cells(line, cells, header) or checker.check(line, cells, columns)
            if isinstance(row, Rejected):
                report.rejected.append(row)
                continue
            first = seen.setdefault(row.nik_hash, line)
            if first != line:
                report.rejected.append(Rejected(line, f"same NIK as line {first}"))
                continue
            chunk.append(row)
            if len(chunk) >= CHUNK:
                _flush(database, chunk, report, now, dry_run)
                chunk = []
        _flush(database, chunk, report, now, dry_run)
    return report


def _flush(
    database: Engine, chunk: list[_Row], report: Report, now: datetime, dry_run: bool
) -> None:
    """Store one chunk in its own transaction."""
    if not chunk:
        return
    with database.begin() as db:
        _store(db, chunk, report, now, dry_run)
