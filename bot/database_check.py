"""The health check's question to the database: can it take a write now, within a second?

Each check writes this process's row of `write_checks` in a transaction, in a daemon thread of
its own, and the answer counts only if it comes within `CHECK_SECONDS`: a stalled or frozen
database makes the check say so at once rather than hold the caller. While a check is still
waiting for the database, the next one does not start another thread: it answers at once that
the database is stalled. On SQLite the check also looks at the disk: a full disk fails the
residents' updates (the write-ahead log cannot grow) before it fails a write of one small row.
"""

import asyncio
import contextlib
import os
import shutil
import socket
import threading
from pathlib import Path

from sqlalchemy import Engine as Database
from sqlalchemy import text

from storage import write_check
from storage.types import utcnow

CHECK_SECONDS = 0.9  # the check's answer comes within this; /healthz within a second
MIN_FREE_BYTES = 16 << 20  # less free space under the SQLite file: full (a WAL checkpoint)
OK = "ok"


def process_name() -> str:
    """Name this process's row of write_checks: host and process id."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def explain(error: BaseException) -> str:
    """Say in a word or two why the database took no write (for /healthz and its logs)."""
    said = str(getattr(error, "orig", None) or error).lower()
    if "full" in said or "no space" in said:
        return "full"
    if "read-only" in said or "readonly" in said:
        return "read-only"
    if "lock" in said or "statement timeout" in said or "canceling statement" in said:
        return "locked"
    if "connect" in said or "closed" in said or "terminat" in said:
        return "unreachable"
    return f"failed ({type(error).__name__})"


def sqlite_space_left(db, database: Database) -> str | None:
    """Return why an SQLite database cannot grow (its page limit reached, its disk full), or
    None when it can."""
    pages = db.execute(text("PRAGMA page_count")).scalar_one()
    limit = db.execute(text("PRAGMA max_page_count")).scalar_one()
    if pages >= limit:
        return "full"
    folder = Path(database.url.database or ".").resolve().parent
    if shutil.disk_usage(folder).free < MIN_FREE_BYTES:
        return "full"
    return None


def write_now(database: Database, name: str) -> str:
    """Make the check's write in a transaction; return "ok" or why it failed."""
    try:
        with database.begin() as db:
            write_check.write(db=db, name=name, now=utcnow())
            if database.dialect.name == "sqlite":
                problem = sqlite_space_left(db, database)
                if problem is not None:
                    return problem
    except Exception as error:  # any failure is the answer
        return explain(error)
    return OK


class DatabaseCheck:
    """Answers whether the database takes a write, within CHECK_SECONDS; one check at a time."""

    def __init__(self, database: Database, name: str | None = None) -> None:
        self.database = database
        self.name = name or process_name()
        self._running: asyncio.Future | None = None

    async def __call__(self, seconds: float = CHECK_SECONDS) -> str:
        """Return "ok", or a short reason why the database took no write in time."""
        if self._running is not None and not self._running.done():
            return "stalled"  # the last check still waits for the database
        loop = asyncio.get_running_loop()
        self._running = running = loop.create_future()

        def check() -> None:
            answer = write_now(self.database, self.name)
            with contextlib.suppress(RuntimeError):  # the event loop ended: nobody waits
                loop.call_soon_threadsafe(settle, running, answer)

        threading.Thread(target=check, name="healthz", daemon=True).start()
        try:
            return await asyncio.wait_for(asyncio.shield(running), seconds)
        except TimeoutError:
            return "stalled"


def settle(future: asyncio.Future, answer: str) -> None:
    """Hand a check's answer to its future (runs on the event loop)."""
    if not future.done():
        future.set_result(answer)
