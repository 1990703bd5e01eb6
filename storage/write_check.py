"""A write that tells whether the database takes writes now (the health check)."""

from datetime import datetime

from sqlalchemy import Connection, delete, update
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class WriteCheck(SQLModel, table=True):
    """The last successful write check of one process."""

    __tablename__ = "write_checks"

    name: str = Field(primary_key=True, max_length=120)
    checked_at: datetime = Field(sa_type=UTCDateTime)


_CHECKS = WriteCheck.__table__


def write(*, db: Connection, name: str, now: datetime) -> None:
    """Write one small row: it fails when the database cannot take a write (a full disk, a
    read-only file or standby)."""
    done = db.execute(update(_CHECKS).where(_CHECKS.c.name == name).values(checked_at=now))
    if done.rowcount == 0:
        db.execute(_CHECKS.insert().values(name=name, checked_at=now))


def prune(*, db: Connection, older_than: datetime) -> int:
    """Delete the rows of processes that stopped checking before `older_than` (each start
    of the program names a new one); return how many."""
    return db.execute(delete(_CHECKS).where(_CHECKS.c.checked_at < older_than)).rowcount
