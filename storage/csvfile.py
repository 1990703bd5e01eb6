"""Reading the CSV files staff bring: any encoding Excel writes, commas or semicolons, and a
report of what was imported and which lines were rejected, and why."""

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

_NOT_WORD = re.compile(r"[^0-9a-z]+")
_LOOKS_LIKE_DATA = re.compile(r"\d{4}")  # a header has no long numbers; a NIK or a date has
DELIMITERS = (",", ";", "\t", "|")


class FileProblem(Exception):
    """The file as a whole cannot be imported (missing columns, unreadable)."""


@dataclass(frozen=True)
class Rejected:
    """A row that was not imported, and why (never with personal data)."""

    line: int
    reason: str


@dataclass
class Report:
    """What an import did, or would do in a dry run."""

    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    guessed: dict[str, str] = field(default_factory=dict)  # column → header taken by a word


def header_key(name: str) -> str:
    """Normalise a column name: 'Nama (sesuai KTP)' → 'nama_sesuai_ktp'."""
    return _NOT_WORD.sub("_", name.strip().lower()).strip("_")


def guessed_columns(
    header: list[str], columns: Mapping[str, tuple[str, ...]], found: dict[str, int]
) -> dict[str, str]:
    """Return the columns whose header is not one of their names, with that header."""
    return {
        column: header[index].strip()
        for column, index in found.items()
        if header_key(header[index]) not in columns[column]
    }


def find_columns(
    header: list[str],
    columns: Mapping[str, tuple[str, ...]],
    required: tuple[str, ...],
    section: str,
) -> dict[str, int]:
    """Find our columns in a file's header; raise FileProblem naming what is missing."""
    positions: dict[str, int] = {}
    keys = [header_key(name) for name in header]
    for column, names in columns.items():
        for index, key in enumerate(keys):
            if key in names:
                positions[column] = index
                break
    # then a header that holds one of a column's names as a word ("nama_kepala_keluarga",
    # "nomor_rw", "name_on_ktp"; for an optional column only as its first word, "program_pkh"),
    # when exactly one header does; the report says which header each column came from
    for column in columns:
        if column in positions:
            continue
        words = {name for name in columns[column] if "_" not in name}
        candidates = [
            index
            for index, key in enumerate(keys)
            if index not in positions.values()
            and (words & set(key.split("_")) if column in required else key.split("_")[0] in words)
        ]
        if len(candidates) > 1:
            names = ", ".join(repr(header[index].strip()[:40]) for index in candidates)
            raise FileProblem(
                f"more than one column could be {column}: {names}. Rename the one to use "
                f"{columns[column][0]!r} (see README, '{section}')."
            )
        if candidates:
            positions[column] = candidates[0]
    missing = [column for column in required if column not in positions]
    if missing:
        expected = f"Expected at least: {', '.join(required)} (see README, '{section}')."
        if any(_LOOKS_LIKE_DATA.search(name) for name in header):
            # the first line is a row, not a header: never print it, it may hold a NIK
            raise FileProblem(f"the first line looks like data, not a header row. {expected}")
        found = ", ".join(name.strip()[:40] for name in header) or "nothing"
        raise FileProblem(f"missing column(s): {', '.join(missing)}. Found: {found}. {expected}")
    return positions


def open_text(path: Path) -> io.TextIOBase:
    """Open a CSV as UTF-8 (with or without Excel's BOM), or as Windows-1252 when it is not."""
    with path.open("rb") as raw:
        try:
            raw.read().decode("utf-8-sig")
            encoding = "utf-8-sig"
        except UnicodeDecodeError:
            encoding = "cp1252"
    return path.open(encoding=encoding, newline="")


class _Excel(csv.excel):
    """Excel's quoting ("" inside a quoted cell is one quote) with a delimiter of our choice."""


def sniff_dialect(first_line: str) -> type[csv.Dialect]:
    """Tell commas from semicolons (Indonesian Excel), tabs and bars: whichever the header
    line holds most of, outside quotes. The quoting stays Excel's."""
    unquoted = re.sub(r'"[^"]*"', "", first_line)  # a delimiter inside quotes does not count
    delimiter = max(DELIMITERS, key=unquoted.count)
    if not unquoted.count(delimiter):
        delimiter = ","
    return type("Sniffed", (_Excel,), {"delimiter": delimiter})


def read_rows(
    file: io.TextIOBase, progress: Callable[[int], None] | None = None
) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, cells) of every non-empty row, the header first."""
    first_line = file.readline()
    file.seek(0)
    lines: Iterable[str] = file if progress is None else _counted(file, progress)
    reader = csv.reader(lines, sniff_dialect(first_line))
    for cells in reader:
        if any(cell.strip() for cell in cells):
            yield reader.line_num, cells


def extra_cells(line: int, cells: list[str], header: list[str]) -> Rejected | None:
    """Refuse a row with more filled cells than the header has columns (an unquoted comma in a
    name shifts every cell after it), without repeating what the cells hold."""
    while len(cells) > len(header) and not cells[-1].strip():
        cells = cells[:-1]  # Excel's trailing empty cells are harmless
    if len(cells) > len(header):
        return Rejected(line, f"row has {len(cells)} cells, the header {len(header)}")
    return None


def _counted(lines: Iterable[str], progress: Callable[[int], None]) -> Iterator[str]:
    """Pass lines on, telling the progress bar every so often how many characters went by."""
    pending = 0
    for count, line in enumerate(lines, 1):
        pending += len(line)
        if count % 10_000 == 0:
            progress(pending)
            pending = 0
        yield line
    progress(pending)


def print_report(report: Report, *, dry_run: bool, rejects: Path | None, out) -> None:
    """Print what an import did, the rejected lines (the first ones), and write them all."""
    verb = "would be" if dry_run else "were"
    if report.guessed:
        used = ", ".join(f"{column} ← {header!r}" for column, header in report.guessed.items())
        print(f"Columns found by a word in their header: {used}.", file=out)
    print(
        f"{report.rows} rows read: {report.added} {verb} added, {report.updated} {verb} "
        f"updated, {report.unchanged} unchanged, {len(report.rejected)} rejected.",
        file=out,
    )
    if dry_run:
        print("Dry run: nothing was written.", file=out)
    for rejected in report.rejected[:MAX_PRINTED]:
        print(f"  line {rejected.line}: {rejected.reason}", file=out)
    if len(report.rejected) > MAX_PRINTED:
        more = len(report.rejected) - MAX_PRINTED
        hint = "" if rejects else " (write them all with --rejects FILE.csv)"
        print(f"  … and {more} more rejected rows{hint}", file=out)
    if rejects is not None:
        with rejects.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["line", "reason"])
            writer.writerows((rejected.line, rejected.reason) for rejected in report.rejected)
        print(f"All rejected rows: {rejects}", file=out)


MAX_PRINTED = 100
