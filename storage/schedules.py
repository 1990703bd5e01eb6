"""Sembako distributions: when and where a kelurahan's RWs pick up their packages."""

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, exists, or_, select
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

EARTH_RADIUS_KM = 6371.0


class Distribution(SQLModel, table=True):
    """One pickup: a program's packages for some RWs of a kelurahan, at a place and time."""

    __tablename__ = "distributions"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=40, unique=True)  # staff's own id, to update on re-import
    program_code: str = Field(foreign_key="programs.code", max_length=16)
    kelurahan_code: str = Field(foreign_key="kelurahan.code", max_length=16, index=True)
    all_rws: bool = False  # serves every RW of the kelurahan
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    place: str = Field(max_length=120)
    address: str = Field(max_length=200)
    latitude: float
    longitude: float
    items: str = Field(default="", max_length=500)
    bring: str = Field(default="", max_length=500)
    items_en: str | None = Field(default=None, max_length=500)
    bring_en: str | None = Field(default=None, max_length=500)
    quota: int | None = None
    cancelled: bool = False  # called off: kept on file, never shown
    demo: bool = False
    updated_at: datetime = Field(sa_type=UTCDateTime)


class DistributionRw(SQLModel, table=True):
    """An RW a distribution serves (none listed: all of the kelurahan's)."""

    __tablename__ = "distribution_rws"

    distribution_id: int = Field(
        foreign_key="distributions.id", primary_key=True, ondelete="CASCADE"
    )
    rw: int = Field(primary_key=True)


@dataclass(frozen=True)
class Pickup:
    """A distribution as the conversations show it."""

    id: int
    ref: str
    program_code: str
    kelurahan_code: str
    starts_at: datetime
    ends_at: datetime
    place: str
    address: str
    latitude: float
    longitude: float
    items: str
    bring: str
    items_en: str | None
    bring_en: str | None
    rws: tuple[int, ...]  # empty: every RW

    def text(self, field: str, language: str) -> str:
        """Return items or bring in a language, Indonesian when there is no English."""
        english = getattr(self, f"{field}_en")
        return english if language == "en" and english else getattr(self, field)


_DISTRIBUTIONS = Distribution.__table__
_RWS = DistributionRw.__table__
_COLUMNS = tuple(_DISTRIBUTIONS.c[name] for name in Pickup.__dataclass_fields__ if name != "rws")
_SERVES_RW = exists().where(
    _RWS.c.distribution_id == _DISTRIBUTIONS.c.id, _RWS.c.rw == bindparam("b_rw")
)
_FOR_RW = (
    select(*_COLUMNS)
    .where(
        _DISTRIBUTIONS.c.kelurahan_code == bindparam("b_kelurahan"),
        _DISTRIBUTIONS.c.ends_at > bindparam("b_now"),
        _DISTRIBUTIONS.c.cancelled.is_(False),
        or_(_DISTRIBUTIONS.c.all_rws.is_(True), _SERVES_RW),
    )
    .order_by(_DISTRIBUTIONS.c.starts_at, _DISTRIBUTIONS.c.id)
    .limit(bindparam("b_limit"))
)
_UPCOMING = (
    select(*_COLUMNS)
    .where(
        _DISTRIBUTIONS.c.ends_at > bindparam("b_now"),
        _DISTRIBUTIONS.c.starts_at < bindparam("b_until"),
        _DISTRIBUTIONS.c.cancelled.is_(False),
    )
    .order_by(_DISTRIBUTIONS.c.starts_at, _DISTRIBUTIONS.c.id)
)
_ONE = select(*_COLUMNS).where(
    _DISTRIBUTIONS.c.id == bindparam("b_id"), _DISTRIBUTIONS.c.cancelled.is_(False)
)
_RWS_OF = select(_RWS.c.distribution_id, _RWS.c.rw).where(
    _RWS.c.distribution_id.in_(bindparam("b_ids", expanding=True))
)


def _with_rws(db: Connection, rows: list) -> list[Pickup]:
    """Attach the RWs each distribution serves."""
    if not rows:
        return []
    served: dict[int, list[int]] = {}
    for distribution_id, rw in db.execute(_RWS_OF, {"b_ids": [row.id for row in rows]}):
        served.setdefault(distribution_id, []).append(rw)
    return [Pickup(*row, rws=tuple(sorted(served.get(row.id, ())))) for row in rows]


def next_for_rw(
    *, db: Connection, kelurahan_code: str, rw: int, now: datetime, limit: int = 3
) -> list[Pickup]:
    """Return the next distributions (not yet over) that serve one RW, soonest first."""
    params = {"b_kelurahan": kelurahan_code, "b_rw": rw, "b_now": now, "b_limit": limit}
    return _with_rws(db, list(db.execute(_FOR_RW, params)))


def get(*, db: Connection, distribution_id: int) -> Pickup | None:
    """Return one distribution by id."""
    rows = list(db.execute(_ONE, {"b_id": distribution_id}))
    found = _with_rws(db, rows)
    return found[0] if found else None


def distance_km(latitude: float, longitude: float, other_lat: float, other_lon: float) -> float:
    """Return the great-circle distance between two points (haversine), in kilometres."""
    phi1, phi2 = math.radians(latitude), math.radians(other_lat)
    d_phi = phi2 - phi1
    d_lambda = math.radians(other_lon - longitude)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    # rounding can take `a` a hair past 1 for points on opposite sides of the Earth
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, a))))


@dataclass(frozen=True)
class Nearby:
    """A pickup place near the resident, with its next distribution."""

    distance_km: float
    pickup: Pickup


def nearest(
    *,
    db: Connection,
    latitude: float,
    longitude: float,
    now: datetime,
    until: datetime,
    limit: int = 3,
) -> list[Nearby]:
    """Return the nearest places with a distribution before `until`, each with its next one
    (none for a point that is not on Earth: the engine refuses those before they get here)."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return []
    pickups = _with_rws(db, list(db.execute(_UPCOMING, {"b_now": now, "b_until": until})))
    # soonest first, so the first seen at a place for a group of RWs is that group's next one
    first_at_place: dict[tuple[float, float, tuple[int, ...]], Pickup] = {}
    for pickup in pickups:
        first_at_place.setdefault((pickup.latitude, pickup.longitude, pickup.rws), pickup)
    ranked = sorted(
        (
            Nearby(distance_km(latitude, longitude, place[0], place[1]), pickup)
            for place, pickup in first_at_place.items()
        ),
        key=lambda near: (near.distance_km, near.pickup.starts_at),
    )
    return ranked[:limit]


def replace_rws(*, db: Connection, distribution_id: int, rws: tuple[int, ...]) -> None:
    """Set the RWs a distribution serves."""
    db.execute(delete(_RWS).where(_RWS.c.distribution_id == distribution_id))
    if rws:
        db.execute(_RWS.insert(), [{"distribution_id": distribution_id, "rw": rw} for rw in rws])
