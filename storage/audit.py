"""The audit log: who did what, when, with which role — every staff action, in chat and on the
command line. Never a NIK or what a resident wrote; targets are references (a broadcast's
number, an application's reference, a login)."""

from datetime import datetime

from sqlalchemy import JSON, Connection, select
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class AuditEntry(SQLModel, table=True):
    """One staff action."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=40, index=True)  # the staff login
    role: str = Field(max_length=12)
    action: str = Field(max_length=40)  # e.g. broadcast.queue, staff.add, application.status
    target: str = Field(default="", max_length=80)
    details: dict = Field(default_factory=dict, sa_type=JSON)


_AUDIT = AuditEntry.__table__


def record(
    *,
    db: Connection,
    actor: str,
    role: str,
    action: str,
    at: datetime,
    target: str = "",
    details: dict | None = None,
) -> None:
    """Write one entry, in the transaction of the action itself."""
    db.execute(
        _AUDIT.insert().values(
            at=at,
            actor=actor,
            role=role,
            action=action,
            target=target[:80],
            details=details or {},
        )
    )


def recent(*, db: Connection, limit: int = 50) -> list[AuditEntry]:
    """Return the newest entries, newest first."""
    rows = db.execute(select(_AUDIT).order_by(_AUDIT.c.id.desc()).limit(limit)).all()
    return [AuditEntry.model_validate(row._asdict()) for row in rows]
