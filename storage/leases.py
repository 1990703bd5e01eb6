"""Leases: which process runs the clock. Only the holder of the lease schedules reminders and
drains the queue, so a second process (a second worker, a restart overlapping the old one)
never sends the same things twice; when the holder dies, the lease runs out and another takes
it over."""

from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, select, update
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class Lease(SQLModel, table=True):
    """One lease: its holder and until when it holds."""

    __tablename__ = "leases"

    name: str = Field(primary_key=True, max_length=40)
    holder: str = Field(max_length=80)
    expires_at: datetime = Field(sa_type=UTCDateTime)


_LEASES = Lease.__table__


def hold(*, db: Connection, name: str, holder: str, now: datetime, term: timedelta) -> bool:
    """Take or renew a lease for `term`; return whether `holder` holds it now."""
    until = now + term
    renewed = db.execute(
        update(_LEASES)
        .where(
            _LEASES.c.name == name,
            or_(_LEASES.c.holder == holder, _LEASES.c.expires_at <= now),
        )
        .values(holder=holder, expires_at=until)
    )
    if renewed.rowcount == 1:
        return True
    exists = db.execute(select(_LEASES.c.name).where(_LEASES.c.name == name)).first()
    if exists is not None:
        return False
    db.execute(_LEASES.insert().values(name=name, holder=holder, expires_at=until))
    return True


def release(*, db: Connection, name: str, holder: str) -> None:
    """Give a lease up, so another process may take it at once."""
    db.execute(_LEASES.delete().where(_LEASES.c.name == name, _LEASES.c.holder == holder))
