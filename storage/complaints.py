"""Complaints and participation: pengaduan (a complaint), usul (proposing someone in need as a
recipient), sanggah (disputing a recipient in one's own kelurahan) and saran (an idea for a
program), and a question to staff (tanya petugas, when the bot understood nothing), each with a
tracking number (ADU-2026-000045, TNY-2026-000001), a response time of 3 working days, and a
history `baru → diproses → dijawab → selesai` whose notes are the replies.

Anonymity: an anonymous complaint still keeps `resident_id`, so that staff replies reach the
resident who filed it, but nothing that shows staff who it is (`submitter`) ever names them.
Erasure sets `resident_id` to NULL and drops the photo: the complaint stays for the figures,
without the person (and an anonymous one stays anonymous).

The response time counts working days Monday to Friday; Indonesian public holidays (libur
nasional, cuti bersama) are not known here and count as working days.

Never a NIK: the conversations refuse texts that hold one, so none of the other person's is
stored with a usul or sanggah.
"""

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Text, UniqueConstraint, select, update
from sqlalchemy import Date as SQLDate
from sqlmodel import Field, SQLModel

from storage.applications import next_reference
from storage.redaction import redact
from storage.residents import Resident
from storage.types import UTCDateTime

CATEGORIES_FILE = Path(__file__).parent / "data" / "complaint_categories.toml"
MAX_TEXT = 2000  # characters of what a resident writes
RESPONSE_WORKING_DAYS = 3  # "diverifikasi dalam 3 hari kerja" (SP4N-LAPOR!)
RESIDENT_ACTOR = "warga"


class ComplaintKind(StrEnum):
    """What is filed; the value is the tracking number's prefix."""

    COMPLAINT = "ADU"  # pengaduan
    PROPOSAL = "USL"  # usul penerima
    DISPUTE = "SGH"  # sanggah
    SUGGESTION = "SRN"  # saran program
    QUESTION = "TNY"  # tanya petugas: a question the bot could not answer


class ComplaintStatus(StrEnum):
    """Where a complaint stands, in the words staff use."""

    NEW = "baru"
    IN_PROGRESS = "diproses"
    ANSWERED = "dijawab"
    CLOSED = "selesai"


OPEN = (ComplaintStatus.NEW, ComplaintStatus.IN_PROGRESS, ComplaintStatus.ANSWERED)


class Complaint(SQLModel, table=True):
    """One complaint, proposal, dispute or suggestion."""

    __tablename__ = "complaints"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=20, unique=True)  # ADU-2026-000045
    kind: str = Field(max_length=3, index=True)
    category: str | None = Field(default=None, max_length=20)  # a pengaduan's, from the data
    text: str = Field(sa_type=Text)  # at most MAX_TEXT characters
    # usul and sanggah: the person proposed or disputed (a name only, never a NIK) and their RW
    subject_name: str | None = Field(default=None, max_length=100)
    rw: int | None = None
    photo_file_id: str | None = Field(default=None, max_length=255)  # the platform's file id
    anonymous: bool = False
    # kept for an anonymous one too (replies must reach them); NULL after erasure
    resident_id: int | None = Field(
        default=None, foreign_key="residents.id", index=True, ondelete="SET NULL"
    )
    # the resident's kelurahan, or for usul and sanggah the one named
    kelurahan_code: str | None = Field(
        default=None, foreign_key="kelurahan.code", max_length=16, index=True
    )
    status: str = Field(max_length=12, index=True)
    assigned_to: str | None = Field(default=None, max_length=40)  # the staff login
    due_at: datetime = Field(sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ComplaintEvent(SQLModel, table=True):
    """One step of a complaint: who, when, the status, and the reply or note."""

    __tablename__ = "complaint_events"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaints.id", index=True, ondelete="CASCADE")
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=40)  # "warga", or the staff login
    status: str = Field(max_length=12)
    note: str | None = Field(default=None, sa_type=Text)


class Digest(SQLModel, table=True):
    """A daily message that went out (or is going): one row per day and kind, inserted
    before sending, so that a second run that day finds it and sends nothing."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("day", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(sa_type=SQLDate)
    kind: str = Field(max_length=20)
    created_at: datetime = Field(sa_type=UTCDateTime)


_COMPLAINTS = Complaint.__table__
_EVENTS = ComplaintEvent.__table__
_DIGESTS = Digest.__table__
_RESIDENTS = Resident.__table__


# -- categories ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    """A category of pengaduan, with its labels in both languages."""

    code: str
    labels: dict[str, str]
    shorts: dict[str, str]

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels["id"]

    def short(self, language: str) -> str:
        return self.shorts.get(language, "")


@cache
def categories(source: Path = CATEGORIES_FILE) -> tuple[Category, ...]:
    """Return the categories of pengaduan from the data file, in its order."""
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    return tuple(
        Category(entry["code"], dict(entry["label"]), dict(entry.get("short", {})))
        for entry in data["category"]
    )


def category(code: str | None) -> Category | None:
    """Return one category by code, or None."""
    return next((found for found in categories() if found.code == code), None)


# -- the response time ---------------------------------------------------------------------------


def add_working_days(day: date, count: int) -> date:
    """Return the day `count` working days (Monday to Friday) after `day`."""
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def due_at(filed: datetime, time_zone: str, days: int = RESPONSE_WORKING_DAYS) -> datetime:
    """Return the end (23:59:59 local) of the last working day to answer by."""
    zone = ZoneInfo(time_zone)
    last = add_working_days(filed.astimezone(zone).date(), days)
    return datetime.combine(last, time(23, 59, 59), tzinfo=zone).astimezone(filed.tzinfo)


# -- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One step of a complaint's history."""

    at: datetime
    actor: str
    status: ComplaintStatus
    note: str | None


@dataclass(frozen=True)
class Item:
    """A complaint with its history, oldest step first."""

    id: int
    ref: str
    kind: ComplaintKind
    category: str | None
    text: str
    subject_name: str | None
    rw: int | None
    photo_file_id: str | None
    anonymous: bool
    resident_id: int | None
    kelurahan_code: str | None
    status: ComplaintStatus
    assigned_to: str | None
    due_at: datetime
    created_at: datetime
    answered_at: datetime | None
    closed_at: datetime | None
    history: tuple[Event, ...] = ()

    def overdue(self, now: datetime) -> bool:
        """Tell whether it waits for an answer past its response time."""
        return (
            self.answered_at is None
            and self.status != ComplaintStatus.CLOSED
            and (now > self.due_at)
        )


def _items(db: Connection, rows, history: bool = True) -> list[Item]:
    events: dict[int, list[Event]] = {row.id: [] for row in rows}
    if history and events:
        for event in db.execute(
            select(_EVENTS).where(_EVENTS.c.complaint_id.in_(list(events))).order_by(_EVENTS.c.id)
        ):
            events[event.complaint_id].append(
                Event(event.at, event.actor, ComplaintStatus(event.status), event.note)
            )
    return [
        Item(
            **{
                **row._asdict(),
                "kind": ComplaintKind(row.kind),
                "status": ComplaintStatus(row.status),
            },
            history=tuple(events[row.id]),
        )
        for row in rows
    ]


_FIELDS = [name for name in Item.__dataclass_fields__ if name != "history"]
_COLUMNS = select(*(_COMPLAINTS.c[name] for name in _FIELDS))


def get(*, db: Connection, complaint_id: int) -> Item | None:
    """Return one complaint with its history, or None."""
    found = _items(db, db.execute(_COLUMNS.where(_COMPLAINTS.c.id == complaint_id)).all())
    return found[0] if found else None


def find_own(*, db: Connection, ref: str, resident_id: int) -> Item | None:
    """Return the resident's own complaint by tracking number (any case, spaces ignored); None
    for an unknown number and for someone else's alike."""
    wanted = "".join(ref.split()).upper()
    rows = db.execute(
        _COLUMNS.where(_COMPLAINTS.c.ref == wanted, _COMPLAINTS.c.resident_id == resident_id)
    ).all()
    found = _items(db, rows)
    return found[0] if found else None


def of_resident(*, db: Connection, resident_id: int, limit: int = 20) -> list[Item]:
    """Return a resident's complaints, newest first, without history."""
    rows = db.execute(
        _COLUMNS.where(_COMPLAINTS.c.resident_id == resident_id)
        .order_by(_COMPLAINTS.c.id.desc())
        .limit(limit)
    ).all()
    return _items(db, rows, history=False)


def _limited(query, kelurahan_code: str | None):
    if kelurahan_code is not None:
        query = query.where(_COMPLAINTS.c.kelurahan_code == kelurahan_code)
    return query


def queue(*, db: Connection, kelurahan_code: str | None = None) -> list[Item]:
    """Return the complaints not closed, the oldest response time first; `kelurahan_code`
    narrows to one kelurahan (a limited staff account sees only its own)."""
    query = _limited(_COLUMNS.where(_COMPLAINTS.c.status.in_(OPEN)), kelurahan_code)
    rows = db.execute(query.order_by(_COMPLAINTS.c.due_at, _COMPLAINTS.c.id)).all()
    return _items(db, rows, history=False)


def overdue(*, db: Connection, now: datetime, kelurahan_code: str | None = None) -> list[Item]:
    """Return the complaints waiting for an answer past their response time, oldest first."""
    query = _COLUMNS.where(
        _COMPLAINTS.c.status.in_((ComplaintStatus.NEW, ComplaintStatus.IN_PROGRESS)),
        _COMPLAINTS.c.answered_at.is_(None),
        _COMPLAINTS.c.due_at < now,
    )
    rows = db.execute(_limited(query, kelurahan_code).order_by(_COMPLAINTS.c.due_at)).all()
    return _items(db, rows, history=False)


@dataclass(frozen=True)
class Submitter:
    """Who filed a complaint, as staff may see it."""

    name: str | None
    phone: str | None
    kelurahan_code: str | None
    rw: int | None


def submitter(*, db: Connection, item: Item) -> Submitter | None:
    """Return who filed a complaint, for staff; None when it is anonymous or they are erased."""
    if item.anonymous or item.resident_id is None:
        return None
    row = db.execute(
        select(
            _RESIDENTS.c.name, _RESIDENTS.c.phone, _RESIDENTS.c.kelurahan_code, _RESIDENTS.c.rw
        ).where(_RESIDENTS.c.id == item.resident_id)
    ).first()
    return Submitter(*row) if row else None


# -- writing -------------------------------------------------------------------------------------


class ComplaintProblem(Exception):
    """A change that cannot be made, with the reason."""


def file(
    *,
    db: Connection,
    kind: ComplaintKind,
    resident_id: int,
    text: str,
    now: datetime,
    time_zone: str,
    kelurahan_code: str | None = None,
    category: str | None = None,
    subject_name: str | None = None,
    rw: int | None = None,
    photo_file_id: str | None = None,
    anonymous: bool = False,
) -> Item:
    """File a complaint as `baru` with its tracking number and response time."""
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise ComplaintProblem(f"the text must have 1 to {MAX_TEXT} characters")
    text = redact(text)  # never a NIK or a phone number in what is kept
    year = now.astimezone(ZoneInfo(time_zone)).year
    ref = next_reference(db=db, kind=kind, year=year)
    created = db.execute(
        _COMPLAINTS.insert().values(
            ref=ref,
            kind=kind,
            category=category,
            text=text,
            subject_name=subject_name,
            rw=rw,
            photo_file_id=photo_file_id,
            anonymous=anonymous,
            resident_id=resident_id,
            kelurahan_code=kelurahan_code,
            status=ComplaintStatus.NEW,
            due_at=due_at(now, time_zone),
            created_at=now,
        )
    )
    complaint_id = created.inserted_primary_key[0]
    _event(db, complaint_id, RESIDENT_ACTOR, ComplaintStatus.NEW, None, now)
    return get(db=db, complaint_id=complaint_id)


def _event(db, complaint_id: int, actor: str, status: str, note: str | None, now: datetime):
    db.execute(
        _EVENTS.insert().values(
            complaint_id=complaint_id, at=now, actor=actor, status=status, note=note
        )
    )


def _open(db: Connection, complaint_id: int) -> Item:
    current = get(db=db, complaint_id=complaint_id)
    if current is None:
        raise ComplaintProblem("no such complaint")
    if current.status == ComplaintStatus.CLOSED:
        raise ComplaintProblem(f"{current.ref} is closed")
    return current


def take(*, db: Connection, complaint_id: int, login: str, now: datetime) -> Item:
    """Assign a complaint to a staff member; a new one moves to `diproses`."""
    current = _open(db, complaint_id)
    status = (
        ComplaintStatus.IN_PROGRESS if current.status == ComplaintStatus.NEW else current.status
    )
    db.execute(
        update(_COMPLAINTS)
        .where(_COMPLAINTS.c.id == complaint_id)
        .values(assigned_to=login, status=status)
    )
    _event(db, complaint_id, login, status, None, now)
    return get(db=db, complaint_id=complaint_id)


def answer(*, db: Connection, complaint_id: int, login: str, note: str, now: datetime) -> Item:
    """Record a staff reply: `dijawab`, assigned to who answered if nobody had it."""
    current = _open(db, complaint_id)
    note = note.strip()
    if not note:
        raise ComplaintProblem("a reply needs a text")
    db.execute(
        update(_COMPLAINTS)
        .where(_COMPLAINTS.c.id == complaint_id)
        .values(
            status=ComplaintStatus.ANSWERED,
            assigned_to=current.assigned_to or login,
            answered_at=current.answered_at or now,
        )
    )
    _event(db, complaint_id, login, ComplaintStatus.ANSWERED, note, now)
    return get(db=db, complaint_id=complaint_id)


def close(
    *, db: Connection, complaint_id: int, login: str, now: datetime, note: str | None = None
) -> Item:
    """Close a complaint (`selesai`)."""
    current = _open(db, complaint_id)
    db.execute(
        update(_COMPLAINTS)
        .where(_COMPLAINTS.c.id == complaint_id)
        .values(
            status=ComplaintStatus.CLOSED,
            assigned_to=current.assigned_to or login,
            closed_at=now,
        )
    )
    _event(db, complaint_id, login, ComplaintStatus.CLOSED, (note or "").strip() or None, now)
    return get(db=db, complaint_id=complaint_id)


def erase(*, db: Connection, resident_id: int) -> int:
    """Keep a resident's complaints for the figures without the person: no resident, no
    photo; return how many."""
    done = db.execute(
        update(_COMPLAINTS)
        .where(_COMPLAINTS.c.resident_id == resident_id)
        .values(resident_id=None, photo_file_id=None)
    )
    return done.rowcount


def claim_digest(*, db: Connection, day: date, kind: str, now: datetime) -> None:
    """Record that today's digest of a kind goes out; raises IntegrityError when it already
    did (the unique day and kind), which rolls the caller's transaction back."""
    db.execute(_DIGESTS.insert().values(day=day, kind=kind, created_at=now))


def claim_once(*, db: Connection, day: date, kind: str, now: datetime) -> bool:
    """Record that a message of a kind goes out for a day; return False, changing nothing,
    when it already did (another process may have been first: the unique day and kind
    decide, without ending the caller's transaction)."""
    dialect = db.dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:  # pragma: no cover - the two backends the project supports
        raise NotImplementedError(dialect)
    statement = (
        insert(_DIGESTS)
        .values(day=day, kind=kind, created_at=now)
        .on_conflict_do_nothing(index_elements=["day", "kind"])
        .returning(_DIGESTS.c.id)  # a row back only when it was inserted (rowcount is not
    )  # reliable for an INSERT with RETURNING on every driver)
    return db.execute(statement).first() is not None


def digest_sent(*, db: Connection, day: date, kind: str) -> bool:
    """Tell whether the digest of a kind went out on a day."""
    row = db.execute(
        select(_DIGESTS.c.id).where(_DIGESTS.c.day == day, _DIGESTS.c.kind == kind)
    ).first()
    return row is not None
