"""Application rounds: until when scholarship and business-capital applications are taken. Staff
set a round's last day; residents see it, can ask to be reminded before it, and cannot apply
after it. With no round ever set for a kind, its applications are always open."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select, update
from sqlmodel import Field, SQLModel

from storage.applications import Kind
from storage.types import UTCDateTime


class ApplicationRound(SQLModel, table=True):
    """One round of applications of a kind; the newest of a kind is the current one."""

    __tablename__ = "application_rounds"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=3, index=True)  # storage.applications.Kind
    opened_at: datetime = Field(sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime)  # the end of the last day, local time
    set_by: str = Field(max_length=40)  # the staff login that set it


_ROUNDS = ApplicationRound.__table__


@dataclass(frozen=True)
class Round:
    """A round of applications: of which kind, open since when, until when."""

    id: int
    kind: Kind
    opened_at: datetime
    closes_at: datetime

    def is_open(self, now: datetime) -> bool:
        """Tell whether applications are taken at `now`."""
        return now < self.closes_at

    def last_day(self, zone: str) -> date:
        """Return the last day applications are taken, in local time."""
        return (self.closes_at - timedelta(microseconds=1)).astimezone(ZoneInfo(zone)).date()


def end_of(day: date, zone: str) -> datetime:
    """Return the moment a last day ends: midnight after it, local time."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), ZoneInfo(zone))


def _round(row) -> Round:
    return Round(row.id, Kind(row.kind), row.opened_at, row.closes_at)


def current(*, db: Connection, kind: Kind) -> Round | None:
    """Return the newest round of a kind (open or closed), or None when none was ever set."""
    row = db.execute(
        select(_ROUNDS).where(_ROUNDS.c.kind == kind).order_by(_ROUNDS.c.id.desc()).limit(1)
    ).first()
    return _round(row) if row else None


def get(*, db: Connection, round_id: int) -> Round | None:
    """Return a round by id."""
    row = db.execute(select(_ROUNDS).where(_ROUNDS.c.id == round_id)).first()
    return _round(row) if row else None


def closing_times(*, db: Connection, ids: list[int]) -> dict[int, datetime]:
    """Return when each of some rounds closes."""
    if not ids:
        return {}
    rows = db.execute(select(_ROUNDS.c.id, _ROUNDS.c.closes_at).where(_ROUNDS.c.id.in_(ids)))
    return {row.id: row.closes_at for row in rows}


def set_deadline(
    *, db: Connection, kind: Kind, closes_at: datetime, login: str, now: datetime
) -> tuple[Round, datetime | None]:
    """Set the last day of the current round of a kind: an open round gets the new day (return
    its old closing time too, for its reminders to follow); after a closed one, or with none, a
    new round opens now."""
    found = current(db=db, kind=kind)
    if found is not None and found.is_open(now):
        db.execute(
            update(_ROUNDS)
            .where(_ROUNDS.c.id == found.id)
            .values(closes_at=closes_at, set_by=login)
        )
        return Round(found.id, kind, found.opened_at, closes_at), found.closes_at
    created = db.execute(
        _ROUNDS.insert().values(kind=kind, opened_at=now, closes_at=closes_at, set_by=login)
    )
    return Round(created.inserted_primary_key[0], kind, now, closes_at), None
