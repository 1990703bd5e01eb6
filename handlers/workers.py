"""Threads that run blocking database work for the event loop, each on its own connection.

A thread keeps its connection for its whole life (no pool round trip per update) and, when
several updates are waiting, runs them back to back and wakes the event loop once for all.
A connection kept that long is never checked by the pool: when the server dropped it (a
restart, a failover, a terminated backend), the work raises a lost-connection error, and the
thread connects again and runs the same batch once more, so the residents notice nothing.
"""

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Engine as Database
from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)

BATCH = 64  # most updates handled per wake-up of the event loop
_STOP = object()
# what drivers say when the connection under a statement is gone
CLOSED_WORDS = (
    "connection is closed",
    "connection already closed",
    "server closed the connection",
)


def lost_connection(error: BaseException, db: Connection | None = None) -> bool:
    """Tell whether an error means the connection was lost (the server restarted or dropped
    it) rather than that the work failed: then it is worth running again on a new one."""
    if db is not None and db.invalidated:
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError) and any(
        words in str(error.orig).lower() for words in CLOSED_WORDS
    )


def _settle(results: list[tuple[asyncio.Future, Any, BaseException | None]]) -> None:
    """Hand results to their waiting coroutines (runs on the event loop)."""
    for future, result, error in results:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


def close_quietly(db: Connection | None) -> None:
    """Close a connection that may already be broken."""
    if db is not None:
        try:
            db.close()
        except Exception:  # it is gone either way
            log.debug("closing a broken connection failed", exc_info=True)


class Workers:
    """A few threads that run `work(connection, items)` for coroutines, a result per item."""

    def __init__(
        self, database: Database, count: int, work: Callable[[Connection, list[Any]], list[Any]]
    ) -> None:
        self._database = database
        self._work = work
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._serve, name=f"engine-{number}", daemon=True)
            for number in range(count)
        ]
        for thread in self._threads:
            thread.start()

    async def run(self, item: Any) -> Any:
        """Run the work on one item in a worker thread and return its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((loop, future, item))
        return await future

    def close(self) -> None:
        """Let every thread finish what it has and stop."""
        for _thread in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            thread.join()

    def _serve(self) -> None:
        db: Connection | None = None
        while batch := self._take():
            items = [item for _loop, _future, item in batch]
            try:
                db, done = self._run_batch(db, items)
                results = [(result, None) for result in done]
            except Exception as error:  # e.g. no database: every waiting coroutine hears of it
                close_quietly(db)
                db = None
                results = [(None, error)] * len(batch)
            by_loop: dict[asyncio.AbstractEventLoop, list] = {}
            for (loop, future, _item), (result, error) in zip(batch, results, strict=True):
                by_loop.setdefault(loop, []).append((future, result, error))
            for loop, settled in by_loop.items():
                if not loop.is_closed():
                    loop.call_soon_threadsafe(_settle, settled)
        close_quietly(db)

    def _run_batch(self, db: Connection | None, items: list[Any]) -> tuple[Connection, list]:
        """Run the work on a batch; when the connection turns out lost, connect again and run
        it once more. Return the connection to keep and the results."""
        db = self._connected(db)
        try:
            return db, self._work(db, items)
        except Exception as error:
            if not lost_connection(error, db):
                raise
            log.warning("the database connection was lost; connecting again")
            close_quietly(db)
            db = self._database.connect()
            try:
                return db, self._work(db, items)
            except Exception:
                close_quietly(db)  # the caller knows only the connection it handed in
                raise

    def _connected(self, db: Connection | None) -> Connection:
        """Return the kept connection, or a new one at first use or after it broke."""
        if db is None or db.invalidated or db.closed:
            close_quietly(db)
            db = self._database.connect()
        return db

    def _take(self) -> list:
        """Wait for one item, then take what else is already waiting (up to BATCH)."""
        first = self._queue.get()
        if first is _STOP:
            return []
        batch = [first]
        while len(batch) < BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                self._queue.put(_STOP)  # stop after this batch
                break
            batch.append(item)
        return batch
