"""Send rates: how fast each process sends to each platform, so that they share its limit.

Every process sends its residents' replies itself, and the one holding a channel's lease also
drains its queue. Twice a second each process writes the rate it sent at lately (`share`) and
reads the others'; its pacer leaves them that much of the platform's limit, and some room,
before it gives any to reminders or bulk (bot/pacing.py, bot/rate_sharing.py). A row that is
not written again for a few seconds is a process that stopped: it counts no more, and is
removed after a minute.
"""

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select, update
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

FORGET_AFTER = timedelta(minutes=1)  # a row this old is removed: its process has stopped


class SendRate(SQLModel, table=True):
    """The rate one process sent to one platform at, over the second before `at`."""

    __tablename__ = "send_rates"

    channel: str = Field(primary_key=True, max_length=20)
    holder: str = Field(primary_key=True, max_length=80)  # the process (leases' holder name)
    at: datetime = Field(sa_type=UTCDateTime)
    rate: float  # sends a second


_RATES = SendRate.__table__


def share(
    *, db: Connection, channel: str, holder: str, rate: float, now: datetime, fresh: timedelta
) -> list[float]:
    """Record that `holder` sends to `channel` at `rate` now; return the rates of the other
    processes that told theirs within `fresh`."""
    written = db.execute(
        update(_RATES)
        .where(_RATES.c.channel == channel, _RATES.c.holder == holder)
        .values(at=now, rate=rate)
    )
    if written.rowcount == 0:
        db.execute(_RATES.insert().values(channel=channel, holder=holder, at=now, rate=rate))
    db.execute(delete(_RATES).where(_RATES.c.channel == channel, _RATES.c.at < now - FORGET_AFTER))
    others = db.execute(
        select(_RATES.c.rate).where(
            _RATES.c.channel == channel,
            _RATES.c.holder != holder,
            _RATES.c.at >= now - fresh,
        )
    ).scalars()
    return [float(rate) for rate in others]


def forget(*, db: Connection, holder: str) -> None:
    """Remove `holder`'s rows (a process that stops), so the others use the whole limit."""
    db.execute(delete(_RATES).where(_RATES.c.holder == holder))
