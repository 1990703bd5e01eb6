"""Health talks (penyuluhan) and free health checks: events, time slots, bookings.

A booking takes a slot with one conditional UPDATE (taken = taken + 1 where taken < capacity),
so a slot can never be overbooked, on SQLite and on PostgreSQL alike.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, Index, func, select, text, update
from sqlmodel import Field, SQLModel

from storage.residents import require_profile
from storage.types import UTCDateTime


class EventKind(StrEnum):
    """What a health event is."""

    TALK = "talk"  # penyuluhan
    CHECK = "check"  # cek kesehatan gratis


class BookingStatus(StrEnum):
    """Where a booking stands."""

    BOOKED = "booked"
    CANCELLED = "cancelled"


class HealthEvent(SQLModel, table=True):
    """A health talk or a free check day at a clinic, puskesmas or posyandu."""

    __tablename__ = "health_events"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    kind: str = Field(max_length=8)
    topic: str = Field(max_length=60)  # gizi, stunting, hipertensi … as residents read it
    topic_en: str = Field(default="", max_length=60)
    title: str = Field(max_length=120)
    title_en: str = Field(default="", max_length=120)
    organiser: str = Field(max_length=120)
    place: str = Field(max_length=120)
    address: str = Field(max_length=200)
    bring: str = Field(default="", max_length=500)
    bring_en: str = Field(default="", max_length=500)
    cancelled: bool = False
    demo: bool = False
    updated_at: datetime = Field(sa_type=UTCDateTime)


class HealthSlot(SQLModel, table=True):
    """A time slot of an event, with room for a number of people."""

    __tablename__ = "health_slots"
    __table_args__ = (Index("uq_health_slots_event_start", "event_id", "starts_at", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="health_events.id", index=True, ondelete="CASCADE")
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    capacity: int
    taken: int = 0


class HealthBooking(SQLModel, table=True):
    """A resident's booked slot."""

    __tablename__ = "health_bookings"
    __table_args__ = (
        Index(
            "uq_health_bookings_active",
            "slot_id",
            "resident_id",
            unique=True,
            sqlite_where=text("status = 'booked'"),
            postgresql_where=text("status = 'booked'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    slot_id: int = Field(foreign_key="health_slots.id", index=True, ondelete="CASCADE")
    resident_id: int = Field(foreign_key="residents.id", index=True, ondelete="CASCADE")
    status: str = Field(max_length=12)
    created_at: datetime = Field(sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attended: bool | None = None


_EVENTS = HealthEvent.__table__
_SLOTS = HealthSlot.__table__
_BOOKINGS = HealthBooking.__table__


@dataclass(frozen=True)
class Event:
    """An event as the conversations show it."""

    id: int
    code: str
    kind: EventKind
    topic: str
    topic_en: str
    title: str
    title_en: str
    organiser: str
    place: str
    address: str
    bring: str
    bring_en: str

    def text(self, name: str, language: str) -> str:
        """Return a text field in a language, Indonesian when there is no other."""
        return (getattr(self, f"{name}_en") if language == "en" else "") or getattr(self, name)


@dataclass(frozen=True)
class Slot:
    """A slot with its event and the room left."""

    id: int
    event: Event
    starts_at: datetime
    ends_at: datetime
    capacity: int
    taken: int

    @property
    def left(self) -> int:
        """Return the places still free."""
        return max(0, self.capacity - self.taken)


_EVENT_COLUMNS = tuple(_EVENTS.c[name] for name in Event.__dataclass_fields__)


def _event(row) -> Event:
    values = {name: getattr(row, name) for name in Event.__dataclass_fields__}
    values["kind"] = EventKind(values["kind"])
    return Event(**values)


def topics(*, db: Connection, kind: EventKind, now: datetime) -> list[tuple[str, str]]:
    """Return the (topic, topic_en) of events of a kind with a slot still ahead, by name."""
    rows = db.execute(
        select(_EVENTS.c.topic, func.max(_EVENTS.c.topic_en))
        .join(_SLOTS, _SLOTS.c.event_id == _EVENTS.c.id)
        .where(_EVENTS.c.kind == kind, _EVENTS.c.cancelled.is_(False), _SLOTS.c.starts_at > now)
        .group_by(_EVENTS.c.topic)
        .order_by(_EVENTS.c.topic)
    ).all()
    return [(topic, topic_en or "") for topic, topic_en in rows]


def upcoming_events(
    *, db: Connection, kind: EventKind, now: datetime, topic: str | None = None
) -> list[tuple[Event, datetime]]:
    """Return the events of a kind with a slot still ahead, with their first such slot."""
    first = func.min(_SLOTS.c.starts_at).label("first")
    query = (
        select(*_EVENT_COLUMNS, first)
        .join(_SLOTS, _SLOTS.c.event_id == _EVENTS.c.id)
        .where(_EVENTS.c.kind == kind, _EVENTS.c.cancelled.is_(False), _SLOTS.c.starts_at > now)
        .group_by(*_EVENT_COLUMNS)
        .order_by(first, _EVENTS.c.id)
    )
    if topic is not None:
        query = query.where(_EVENTS.c.topic == topic)
    return [(_event(row), row.first) for row in db.execute(query).all()]


def get_event(*, db: Connection, event_id: int) -> Event | None:
    """Return one event by id."""
    row = db.execute(select(*_EVENT_COLUMNS).where(_EVENTS.c.id == event_id)).first()
    return _event(row) if row else None


def _slots(db: Connection, where) -> list[Slot]:
    rows = db.execute(
        select(
            *_EVENT_COLUMNS,
            _SLOTS.c.id.label("slot_id"),
            _SLOTS.c.starts_at,
            _SLOTS.c.ends_at,
            _SLOTS.c.capacity,
            _SLOTS.c.taken,
        )
        .join(_SLOTS, _SLOTS.c.event_id == _EVENTS.c.id)
        .where(where)
        .order_by(_SLOTS.c.starts_at, _SLOTS.c.id)
    ).all()
    return [
        Slot(row.slot_id, _event(row), row.starts_at, row.ends_at, row.capacity, row.taken)
        for row in rows
    ]


def open_slots(*, db: Connection, event_id: int, now: datetime) -> list[Slot]:
    """Return an event's slots still ahead, full ones included, earliest first."""
    return _slots(db, (_SLOTS.c.event_id == event_id) & (_SLOTS.c.starts_at > now))


def get_slot(*, db: Connection, slot_id: int) -> Slot | None:
    """Return one slot with its event."""
    found = _slots(db, _SLOTS.c.id == slot_id)
    return found[0] if found else None


class BookResult(StrEnum):
    """How a booking went."""

    BOOKED = "booked"
    FULL = "full"
    ALREADY = "already"  # the resident holds a booking for this event already
    GONE = "gone"  # no such slot, or it has begun, or the event was called off


@dataclass(frozen=True)
class Booked:
    """The outcome of a booking, with the booking's id when there is one."""

    result: BookResult
    booking_id: int | None = None
    slot: Slot | None = None


def book(*, db: Connection, slot_id: int, resident_id: int, now: datetime) -> Booked:
    """Book a slot for a resident: one booking per event, never more than the capacity.
    Raise ProfileIncomplete for a resident without name, kelurahan and RW."""
    require_profile(db=db, resident_id=resident_id)
    slot = get_slot(db=db, slot_id=slot_id)
    if slot is None:
        return Booked(BookResult.GONE)
    # lock the event: calling it off (an import) waits for this booking, or this for it
    cancelled = db.execute(
        select(_EVENTS.c.cancelled).where(_EVENTS.c.id == slot.event.id).with_for_update()
    ).scalar()
    if cancelled or slot.starts_at <= now:
        return Booked(BookResult.GONE)
    held = db.execute(
        select(_BOOKINGS.c.id, _BOOKINGS.c.slot_id)
        .join(_SLOTS, _SLOTS.c.id == _BOOKINGS.c.slot_id)
        .where(
            _SLOTS.c.event_id == slot.event.id,
            _BOOKINGS.c.resident_id == resident_id,
            _BOOKINGS.c.status == BookingStatus.BOOKED,
        )
    ).first()
    if held is not None:
        return Booked(BookResult.ALREADY, held.id, get_slot(db=db, slot_id=held.slot_id))
    taken = db.execute(
        update(_SLOTS)
        .where(_SLOTS.c.id == slot_id, _SLOTS.c.taken < _SLOTS.c.capacity)
        .values(taken=_SLOTS.c.taken + 1)
    )
    if taken.rowcount != 1:
        return Booked(BookResult.FULL, slot=slot)
    created = db.execute(
        _BOOKINGS.insert().values(
            slot_id=slot_id, resident_id=resident_id, status=BookingStatus.BOOKED, created_at=now
        )
    )
    return Booked(BookResult.BOOKED, created.inserted_primary_key[0], slot)


@dataclass(frozen=True)
class MyBooking:
    """One of a resident's bookings still ahead."""

    id: int
    slot: Slot


def of_resident(*, db: Connection, resident_id: int, now: datetime) -> list[MyBooking]:
    """Return a resident's bookings whose slot has not ended, soonest first."""
    rows = db.execute(
        select(_BOOKINGS.c.id, _BOOKINGS.c.slot_id)
        .join(_SLOTS, _SLOTS.c.id == _BOOKINGS.c.slot_id)
        .where(
            _BOOKINGS.c.resident_id == resident_id,
            _BOOKINGS.c.status == BookingStatus.BOOKED,
            _SLOTS.c.ends_at > now,
        )
        .order_by(_SLOTS.c.starts_at)
    ).all()
    return [MyBooking(row.id, get_slot(db=db, slot_id=row.slot_id)) for row in rows]


def cancel(*, db: Connection, booking_id: int, resident_id: int, now: datetime) -> Slot | None:
    """Cancel a resident's own booking and free its place; None: not theirs or not active."""
    row = db.execute(
        select(_BOOKINGS.c.slot_id).where(
            _BOOKINGS.c.id == booking_id,
            _BOOKINGS.c.resident_id == resident_id,
            _BOOKINGS.c.status == BookingStatus.BOOKED,
        )
    ).first()
    if row is None:
        return None
    changed = db.execute(
        update(_BOOKINGS)
        .where(_BOOKINGS.c.id == booking_id, _BOOKINGS.c.status == BookingStatus.BOOKED)
        .values(status=BookingStatus.CANCELLED, cancelled_at=now)
    )
    if changed.rowcount != 1:
        return None
    db.execute(
        update(_SLOTS)
        .where(_SLOTS.c.id == row.slot_id, _SLOTS.c.taken > 0)
        .values(taken=_SLOTS.c.taken - 1)
    )
    return get_slot(db=db, slot_id=row.slot_id)


def call_off(*, db: Connection, event_id: int, now: datetime) -> list[int]:
    """Cancel the bookings of an event's slots still ahead, for an event called off; return
    who held one, for the caller to tell them."""
    ahead = select(_SLOTS.c.id).where(_SLOTS.c.event_id == event_id, _SLOTS.c.starts_at > now)
    held = list(
        db.execute(
            select(_BOOKINGS.c.resident_id).where(
                _BOOKINGS.c.slot_id.in_(ahead), _BOOKINGS.c.status == BookingStatus.BOOKED
            )
        ).scalars()
    )
    db.execute(
        update(_BOOKINGS)
        .where(_BOOKINGS.c.slot_id.in_(ahead), _BOOKINGS.c.status == BookingStatus.BOOKED)
        .values(status=BookingStatus.CANCELLED, cancelled_at=now)
    )
    db.execute(update(_SLOTS).where(_SLOTS.c.id.in_(ahead)).values(taken=0))
    return sorted(set(held))
