"""Import of health talks (penyuluhan) and free health checks from a CSV file, one row per slot.

Events are matched by code, their slots by start. The rows of an event share its details
(kind, topic, title, organiser, place, what to bring); `batal` on any of them calls the event
off. An event is imported whole or not at all. A later slot that is no longer in the file is
removed when nobody booked it and kept (with a note) when somebody did; a capacity is never
lowered below the places already booked. Importing the same file twice changes nothing.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select

from storage.course_import import (
    CODE_RULE,
    MAX_COUNT,
    cell_reader,
    header_of,
    held_back,
    read_cancelled,
    read_code,
    read_count,
    read_times,
    too_long,
)
from storage.csvfile import (
    Rejected,
    Report,
    extra_cells,
    find_columns,
    guessed_columns,
    open_text,
    read_rows,
)
from storage.health import BookingStatus, EventKind, HealthBooking, HealthEvent, HealthSlot

COLUMNS = {
    "event": ("event", "kode", "code", "kode_acara", "kode_kegiatan", "event_code"),
    "kind": ("kind", "jenis", "type", "jenis_kegiatan"),
    "topic": ("topic", "topik", "tema"),
    "title": ("title", "judul", "nama", "name"),
    "organiser": ("organiser", "organizer", "penyelenggara"),
    "place": ("place", "tempat", "lokasi"),
    "address": ("address", "alamat"),
    "date": ("date", "tanggal"),
    "start": ("start", "mulai", "jam_mulai"),
    "end": ("end", "selesai", "jam_selesai"),
    "capacity": ("capacity", "kapasitas", "kuota", "quota"),
    "topic_en": ("topic_en", "topik_en", "tema_en"),
    "title_en": ("title_en", "judul_en", "nama_en", "name_en"),
    "bring": ("bring", "dibawa", "yang_dibawa", "syarat", "persiapan"),
    "bring_en": ("bring_en", "dibawa_en"),
    "status": ("status",),
}
REQUIRED = (
    "event",
    "kind",
    "topic",
    "title",
    "organiser",
    "place",
    "address",
    "date",
    "start",
    "end",
    "capacity",
)
KIND_WORDS = {
    "penyuluhan": EventKind.TALK,
    "talk": EventKind.TALK,
    "edukasi": EventKind.TALK,
    "ceramah": EventKind.TALK,
    "cek": EventKind.CHECK,
    "check": EventKind.CHECK,
    "cekkesehatan": EventKind.CHECK,
    "healthcheck": EventKind.CHECK,
    "pemeriksaan": EventKind.CHECK,
    "pemeriksaankesehatan": EventKind.CHECK,
    "periksa": EventKind.CHECK,
    "skrining": EventKind.CHECK,
    "screening": EventKind.CHECK,
}
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_EVENTS = HealthEvent.__table__
_SLOTS = HealthSlot.__table__
_BOOKINGS = HealthBooking.__table__
_TEXTS = ("topic", "title", "organiser", "place", "address", "topic_en", "title_en")
_LONG_TEXTS = ("bring", "bring_en")
_SHARED = ("kind", *_TEXTS, *_LONG_TEXTS)
_EVENT_FIELDS = (*_SHARED, "cancelled")


@dataclass
class NotedReport(Report):
    """A report with remarks on what else the import did, or left alone."""

    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _SlotRow:
    """A checked row: its event's details and one slot."""

    line: int
    shared: dict
    cancelled: bool
    starts_at: datetime
    ends_at: datetime
    capacity: int


def _check(line: int, cells: list[str], columns: dict[str, int], zone: ZoneInfo) -> _SlotRow | str:
    """Check one row; return it, or why it is rejected."""
    cell = cell_reader(cells, columns)
    kind = KIND_WORDS.get(_NOT_WORD.sub("", cell("kind").lower()))
    if kind is None:
        return f"kind must be penyuluhan (talk) or cek (check), not {cell('kind')!r}"
    texts = {name: cell(name) for name in (*_TEXTS, *_LONG_TEXTS)}
    if not all(texts[name] for name in ("topic", "title", "organiser", "place", "address")):
        return "topic, title, organiser, place and address are needed"
    problem = too_long(_EVENTS, texts)
    if problem:
        return problem
    capacity = read_count(cell("capacity"), 1, MAX_COUNT)
    if capacity is None:
        return f"capacity must be a whole number from 1 to {MAX_COUNT}, not {cell('capacity')!r}"
    cancelled = read_cancelled(cell("status"))
    if cancelled is None:
        return "status must be empty, aktif or batal"
    times = read_times(cell, zone)
    if isinstance(times, str):
        return times
    return _SlotRow(line, {"kind": kind, **texts}, cancelled, *times, capacity)


def _agreeing(code: str, found: list[tuple[int, _SlotRow | str]]):
    """Split an event's rows into the good slots and the rejected lines."""
    good: list[_SlotRow] = []
    bad: list[Rejected] = []
    starts: dict[datetime, int] = {}
    for line, row in found:
        if isinstance(row, str):
            bad.append(Rejected(line, row))
            continue
        if good:
            first = good[0]
            differ = [name for name in _SHARED if row.shared[name] != first.shared[name]]
            if differ:
                verb = "differs" if len(differ) == 1 else "differ"
                reason = f"event {code}: {', '.join(differ)} {verb} from line {first.line}"
                bad.append(Rejected(line, reason))
                continue
        if row.starts_at in starts:
            bad.append(Rejected(line, f"same slot as line {starts[row.starts_at]}"))
            continue
        starts[row.starts_at] = line
        good.append(row)
    return good, bad


def import_health(
    *,
    database: Engine,
    path: Path,
    now: datetime,
    zone: str,
    dry_run: bool = False,
    called_off: Callable[[Connection, int], None] | None = None,
    moved: Callable[[Connection, int], None] | None = None,
) -> NotedReport:
    """Import a health events CSV (one row per slot) in one transaction; raise FileProblem when
    it is unusable. Added, updated, unchanged and rejected count slots (rows).
    `called_off(db, event_id)` is called, in the transaction, for an event just called off, and
    `moved(db, event_id)` for one whose place changed. (Slots are matched by their start, so a
    slot never moves in time: a booked one left out of the file stays, with a note.)"""
    report = NotedReport()
    local = ZoneInfo(zone)
    with open_text(path) as file, database.begin() as db:
        rows = read_rows(file)
        header = header_of(rows)
        columns = find_columns(header, COLUMNS, REQUIRED, "Health talks and checks")
        report.guessed = guessed_columns(header, COLUMNS, columns)
        events: dict[str, list[tuple[int, _SlotRow | str]]] = {}
        for line, cells in rows:
            report.rows += 1
            too_many = extra_cells(line, cells, header)
            if too_many is not None:
                report.rejected.append(too_many)
                continue
            code = read_code(cell_reader(cells, columns)("event"))
            if code is None:
                report.rejected.append(Rejected(line, f"event code is missing or not {CODE_RULE}"))
                continue
            events.setdefault(code, []).append((line, _check(line, cells, columns, local)))
        for code, found in events.items():
            _import_event(db, code, found, report, now, local, dry_run, called_off, moved)
        report.rejected.sort(key=lambda rejected: rejected.line)
    return report


def _import_event(
    db: Connection,
    code: str,
    found: list[tuple[int, _SlotRow | str]],
    report: NotedReport,
    now: datetime,
    zone: ZoneInfo,
    dry_run: bool,
    called_off: Callable[[Connection, int], None] | None = None,
    moved: Callable[[Connection, int], None] | None = None,
) -> None:
    """Check one event's rows together and store the event with its slots."""
    good, bad = _agreeing(code, found)
    if bad:
        held_back(f"event {code}", [row.line for row in good], bad, report)
        return
    values = {**good[0].shared, "cancelled": any(row.cancelled for row in good)}
    stored = (
        db.execute(select(_EVENTS).where(func.upper(_EVENTS.c.code) == code).with_for_update())
        .mappings()
        .first()
    )
    slots = {}
    if stored is not None:
        slots = {
            slot.starts_at: slot
            for slot in db.execute(
                select(_SLOTS).where(_SLOTS.c.event_id == stored["id"]).with_for_update()
            )
        }
    low = [
        Rejected(
            row.line,
            f"capacity {row.capacity} is below the {slots[row.starts_at].taken} places "
            "already booked in this slot",
        )
        for row in good
        if row.starts_at in slots and row.capacity < slots[row.starts_at].taken
    ]
    if low:
        failed = {rejected.line for rejected in low}
        held_back(
            f"event {code}", [row.line for row in good if row.line not in failed], low, report
        )
        return
    changed = stored is None or {name: stored[name] for name in _EVENT_FIELDS} != values
    for row in good:
        old = slots.get(row.starts_at)
        if old is None:
            report.added += 1
        elif changed or (old.ends_at, old.capacity) != (row.ends_at, row.capacity):
            report.updated += 1
        else:
            report.unchanged += 1
    listed = {row.starts_at for row in good}
    stale = [slot for start, slot in slots.items() if start not in listed and start > now]
    removed = [slot for slot in stale if slot.taken == 0]
    if removed:
        many = len(removed) > 1
        verb = "would be" if dry_run else "were" if many else "was"
        count = f"{len(removed)} later slot{'s' if many else ''}"
        report.notes.append(f"event {code}: {count} not in the file {verb} removed")
    for slot in stale:
        if slot.taken:
            when = slot.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            report.notes.append(
                f"event {code}: the slot at {when} is not in the file but has {slot.taken} "
                "booking(s), so it stays (to call the whole event off, use status batal)"
            )
    if dry_run:
        return
    if stored is None:
        created = db.execute(
            _EVENTS.insert().values(code=code, demo=False, updated_at=now, **values)
        )
        event_id = created.inserted_primary_key[0]
    else:
        event_id = stored["id"]
        if changed:
            db.execute(
                _EVENTS.update().where(_EVENTS.c.id == event_id).values(updated_at=now, **values)
            )
        if values["cancelled"] and not stored["cancelled"] and called_off is not None:
            called_off(db, event_id)
        where = (stored["place"], stored["address"]) != (values["place"], values["address"])
        if where and not values["cancelled"] and moved is not None:
            moved(db, event_id)
    for slot in removed:
        # only cancelled bookings can be left on an unbooked slot
        db.execute(
            _BOOKINGS.delete().where(
                _BOOKINGS.c.slot_id == slot.id, _BOOKINGS.c.status != BookingStatus.BOOKED
            )
        )
        db.execute(_SLOTS.delete().where(_SLOTS.c.id == slot.id))
    for row in good:
        old = slots.get(row.starts_at)
        if old is None:
            db.execute(
                _SLOTS.insert().values(
                    event_id=event_id,
                    starts_at=row.starts_at,
                    ends_at=row.ends_at,
                    capacity=row.capacity,
                    taken=0,
                )
            )
        elif (old.ends_at, old.capacity) != (row.ends_at, row.capacity):
            db.execute(
                _SLOTS.update()
                .where(_SLOTS.c.id == old.id, _SLOTS.c.taken <= row.capacity)
                .values(ends_at=row.ends_at, capacity=row.capacity)
            )
