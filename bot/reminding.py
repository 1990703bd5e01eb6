"""The reminders' clock: move reminders that fall due into the outbound queue."""

from datetime import datetime

from sqlalchemy import Engine as Database


def tick(database: Database, *, now: datetime, time_zone: str) -> int:
    """Queue the reminders due by `now`; return how many were queued."""
    return 0
