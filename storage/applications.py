"""Applications for support (beasiswa, modal usaha): a reference number, the answers, the
partner they are routed to, and a status history `diajukan → diverifikasi → disetujui | ditolak`.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Connection, Text, select, update
from sqlmodel import Field, SQLModel

from storage.redaction import redacted
from storage.residents import require_profile
from storage.types import UTCDateTime


class Kind(StrEnum):
    """What is applied for; the value is the reference's prefix."""

    SCHOLARSHIP = "BSW"  # beasiswa
    CAPITAL = "MDL"  # modal usaha


class Status(StrEnum):
    """Where an application stands, in the words staff use."""

    SUBMITTED = "diajukan"
    VERIFIED = "diverifikasi"
    APPROVED = "disetujui"
    REJECTED = "ditolak"


# the moves staff may make; a rejection always needs a reason
NEXT: dict[Status, frozenset[Status]] = {
    Status.SUBMITTED: frozenset({Status.VERIFIED, Status.REJECTED}),
    Status.VERIFIED: frozenset({Status.APPROVED, Status.REJECTED}),
    Status.APPROVED: frozenset(),
    Status.REJECTED: frozenset(),
}


class Application(SQLModel, table=True):
    """One application of a resident."""

    __tablename__ = "applications"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=20, unique=True)  # BSW-2027-000123
    kind: str = Field(max_length=3, index=True)
    resident_id: int = Field(foreign_key="residents.id", index=True, ondelete="CASCADE")
    status: str = Field(max_length=12, index=True)
    partner_code: str | None = Field(default=None, max_length=20, index=True)
    details: dict = Field(default_factory=dict, sa_type=JSON)  # the answers
    screening: dict = Field(default_factory=dict, sa_type=JSON)  # the indicative pre-screen
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ApplicationEvent(SQLModel, table=True):
    """One status of an application, with who set it and why."""

    __tablename__ = "application_events"

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="applications.id", index=True, ondelete="CASCADE")
    status: str = Field(max_length=12)
    note: str | None = Field(default=None, sa_type=Text)
    actor: str = Field(max_length=60)  # "warga", or the staff login
    at: datetime = Field(sa_type=UTCDateTime)


class ReferenceCounter(SQLModel, table=True):
    """The last reference number given for a prefix and year."""

    __tablename__ = "reference_counters"

    prefix: str = Field(max_length=3, primary_key=True)
    year: int = Field(primary_key=True)
    last: int = 0


_APPLICATIONS = Application.__table__
_EVENTS = ApplicationEvent.__table__
_COUNTERS = ReferenceCounter.__table__
RESIDENT_ACTOR = "warga"


def next_reference(*, db: Connection, kind: Kind, year: int) -> str:
    """Return the next free reference of a kind and year (BSW-2027-000123), in the caller's
    transaction: the counter row stays locked until it ends, so no two get the same."""
    bumped = db.execute(
        update(_COUNTERS)
        .where(_COUNTERS.c.prefix == kind.value, _COUNTERS.c.year == year)
        .values(last=_COUNTERS.c.last + 1)
        .returning(_COUNTERS.c.last)
    ).scalar()
    if bumped is None:
        db.execute(_COUNTERS.insert().values(prefix=kind.value, year=year, last=1))
        bumped = 1
    return f"{kind.value}-{year}-{bumped:06d}"


@dataclass(frozen=True)
class Event:
    """One step of an application's history."""

    status: Status
    note: str | None
    actor: str
    at: datetime


@dataclass(frozen=True)
class Filed:
    """An application with its history, oldest step first."""

    id: int
    ref: str
    kind: Kind
    resident_id: int
    status: Status
    partner_code: str | None
    details: dict
    screening: dict
    created_at: datetime
    updated_at: datetime
    history: tuple[Event, ...] = ()


def submit(
    *,
    db: Connection,
    kind: Kind,
    resident_id: int,
    details: dict,
    screening: dict,
    partner_code: str | None,
    year: int,
    now: datetime,
) -> str:
    """File an application as `diajukan` and return its reference. Raise ProfileIncomplete
    for a resident without name, kelurahan and RW."""
    require_profile(db=db, resident_id=resident_id)
    ref = next_reference(db=db, kind=kind, year=year)
    created = db.execute(
        _APPLICATIONS.insert().values(
            ref=ref,
            kind=kind,
            resident_id=resident_id,
            status=Status.SUBMITTED,
            partner_code=partner_code,
            details=redacted(details),  # never a NIK or a phone number in typed answers
            screening=screening,
            created_at=now,
            updated_at=now,
        )
    )
    db.execute(
        _EVENTS.insert().values(
            application_id=created.inserted_primary_key[0],
            status=Status.SUBMITTED,
            note=None,
            actor=RESIDENT_ACTOR,
            at=now,
        )
    )
    return ref


def _with_history(db: Connection, rows) -> list[Filed]:
    ids = [row.id for row in rows]
    history: dict[int, list[Event]] = {key: [] for key in ids}
    if ids:
        for event in db.execute(
            select(_EVENTS).where(_EVENTS.c.application_id.in_(ids)).order_by(_EVENTS.c.id)
        ):
            history[event.application_id].append(
                Event(Status(event.status), event.note, event.actor, event.at)
            )
    return [
        Filed(
            **{
                **row._asdict(),
                "kind": Kind(row.kind),
                "status": Status(row.status),
            },
            history=tuple(history[row.id]),
        )
        for row in rows
    ]


_COLUMNS = select(
    _APPLICATIONS.c.id,
    _APPLICATIONS.c.ref,
    _APPLICATIONS.c.kind,
    _APPLICATIONS.c.resident_id,
    _APPLICATIONS.c.status,
    _APPLICATIONS.c.partner_code,
    _APPLICATIONS.c.details,
    _APPLICATIONS.c.screening,
    _APPLICATIONS.c.created_at,
    _APPLICATIONS.c.updated_at,
)


def of_resident(*, db: Connection, resident_id: int) -> list[Filed]:
    """Return a resident's applications with their history, newest first."""
    rows = db.execute(
        _COLUMNS.where(_APPLICATIONS.c.resident_id == resident_id).order_by(
            _APPLICATIONS.c.id.desc()
        )
    ).all()
    return _with_history(db, rows)


def get(*, db: Connection, ref: str) -> Filed | None:
    """Return one application by its reference (any case), or None."""
    rows = db.execute(_COLUMNS.where(_APPLICATIONS.c.ref == ref.strip().upper())).all()
    found = _with_history(db, rows)
    return found[0] if found else None


def listing(
    *,
    db: Connection,
    kind: Kind | None = None,
    status: Status | None = None,
    partner_code: str | None = None,
    kelurahan_limit: str | None = None,
) -> list[Filed]:
    """Return applications, oldest first, narrowed by kind, status, partner or the kelurahan
    the applicant lives in."""
    query = _COLUMNS
    if kelurahan_limit is not None:
        query = query.where(_APPLICATIONS.c.resident_id.in_(_residents_of(kelurahan_limit)))
    if kind is not None:
        query = query.where(_APPLICATIONS.c.kind == kind)
    if status is not None:
        query = query.where(_APPLICATIONS.c.status == status)
    if partner_code is not None:
        query = query.where(_APPLICATIONS.c.partner_code == partner_code)
    return _with_history(db, db.execute(query.order_by(_APPLICATIONS.c.id)).all())


def _residents_of(kelurahan_code: str):
    from storage.residents import Resident

    residents_ = Resident.__table__
    return select(residents_.c.id).where(residents_.c.kelurahan_code == kelurahan_code)


def applicant_kelurahan(*, db: Connection, resident_id: int) -> str | None:
    """Return the code of the kelurahan an applicant lives in (None: unknown)."""
    from storage.residents import Resident

    residents_ = Resident.__table__
    return db.execute(
        select(residents_.c.kelurahan_code).where(residents_.c.id == resident_id)
    ).scalar()


class StatusProblem(Exception):
    """A status change that is not allowed, with the reason for staff."""


def set_status(
    *, db: Connection, ref: str, status: Status, note: str | None, actor: str, now: datetime
) -> Filed:
    """Move an application to a new status, recording who and why; raise StatusProblem."""
    current = get(db=db, ref=ref)
    if current is None:
        raise StatusProblem(f"no application {ref.strip().upper()}")
    allowed = NEXT[current.status]
    if status not in allowed:
        options = ", ".join(sorted(allowed)) or "none: it is final"
        raise StatusProblem(f"{current.ref} is {current.status}; it can move to: {options}")
    note = (note or "").strip() or None
    if status == Status.REJECTED and note is None:
        raise StatusProblem('a rejection needs a reason: add --note "…"')
    changed = db.execute(
        update(_APPLICATIONS)
        .where(_APPLICATIONS.c.id == current.id, _APPLICATIONS.c.status == current.status)
        .values(status=status, updated_at=now)
    )
    if changed.rowcount != 1:
        raise StatusProblem(f"{current.ref} changed meanwhile; look again")
    db.execute(
        _EVENTS.insert().values(
            application_id=current.id, status=status, note=note, actor=actor, at=now
        )
    )
    return get(db=db, ref=current.ref)
