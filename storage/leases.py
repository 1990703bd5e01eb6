"""Leases: which process runs the clock. Only the holder of the lease schedules reminders and
drains the queue, so a second process (a second worker, a restart overlapping the old one)
never sends the same things twice; when the holder dies, the lease runs out and another takes
it over."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select, update
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class Lease(SQLModel, table=True):
    """One lease: its holder and until when it holds."""

    __tablename__ = "leases"

    name: str = Field(primary_key=True, max_length=40)
    holder: str = Field(max_length=80)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    # the fencing token: grows each time the lease changes hands, so a holder that lost it
    # (a frozen process waking) is told apart from the one holding it now
    token: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


_LEASES = Lease.__table__
GIVEN_UP = datetime(2000, 1, 1, tzinfo=UTC)  # the expiry of a lease given up: long past


def hold(*, db: Connection, name: str, holder: str, now: datetime, term: timedelta) -> int | None:
    """Take or renew a lease for `term`; return its fencing token when `holder` holds it now
    (the same while it keeps it, greater each time it changes hands), else None."""
    until = now + term
    columns = (_LEASES.c.token,)
    renewed = db.execute(
        update(_LEASES)
        .where(_LEASES.c.name == name, _LEASES.c.holder == holder, _LEASES.c.expires_at > now)
        .values(expires_at=until)
        .returning(*columns)
    ).first()
    if renewed is not None:
        return renewed.token
    taken = db.execute(
        update(_LEASES)
        .where(_LEASES.c.name == name, _LEASES.c.expires_at <= now)
        .values(holder=holder, expires_at=until, token=_LEASES.c.token + 1)
        .returning(*columns)
    ).first()
    if taken is not None:
        return taken.token
    current = db.execute(select(_LEASES.c.holder).where(_LEASES.c.name == name)).first()
    if current is not None:
        return None
    db.execute(_LEASES.insert().values(name=name, holder=holder, expires_at=until, token=1))
    return 1


def holds(*, db: Connection, name: str, holder: str, token: int, now: datetime) -> bool:
    """Tell whether `holder` still holds the lease under `token` (the fence a drain checks
    before it marks rows as being sent). On PostgreSQL the lease row stays locked (shared) to
    the end of the transaction, so nobody takes the lease over in the middle of it."""
    found = db.execute(
        select(_LEASES.c.name)
        .where(
            _LEASES.c.name == name,
            _LEASES.c.holder == holder,
            _LEASES.c.token == token,
            _LEASES.c.expires_at > now,
        )
        .with_for_update(read=True)
    ).first()
    return found is not None


def release(*, db: Connection, name: str, holder: str) -> None:
    """Give a lease up, so another process may take it at once; its row stays, so that the
    next holder's token is still greater than this one's."""
    db.execute(
        update(_LEASES)
        .where(_LEASES.c.name == name, _LEASES.c.holder == holder)
        .values(expires_at=GIVEN_UP)
    )
