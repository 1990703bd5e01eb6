"""A channel's inbox: deliveries stored before the platform is told they arrived, and handed
to the channel from there; what a stopped process left is handed over again.

At the start every delivery left unhandled is taken (the process that stored it is gone, or
is another one still at it: the engine ignores a message it handled before, so it is answered
once); after that, every `SWEEP` the ones older than `STALE` (their handling failed without
an answer, or their process died while another kept running), but for those this process
handed over itself within `IN_HAND`: in a burst they wait their turn in the engine, and handed
over again they would only count tries until they were dropped.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine as Database

from bot.grouped import Grouped
from storage import inbox
from storage.inbox import Stored
from storage.types import utcnow

log = logging.getLogger(__name__)

SWEEP = timedelta(seconds=15)  # how often deliveries left unhandled are looked for
STALE = timedelta(seconds=60)  # a delivery unhandled this long was left by its handler ...
# ... unless this process handed it over less than this ago: in a burst it waits its turn
IN_HAND = timedelta(minutes=10)


class Inbox:
    """Keep a channel's deliveries, and hand the stored ones to `handle` (not awaited)."""

    def __init__(
        self,
        database: Database,
        channel: str,
        handle: Callable[[Stored], None],
        *,
        sweep: timedelta = SWEEP,
        stale: timedelta = STALE,
        clock=utcnow,
    ) -> None:
        self.database = database
        self.channel = channel
        self.handle = handle
        self.sweep = sweep
        self.stale = stale
        self.clock = clock
        self._task: asyncio.Task | None = None
        self._keep = Grouped(self._store)
        self._handed: dict[int, float] = {}  # stored id -> when handed over (time.monotonic)

    async def keep(self, entries: list[tuple[str, dict]]) -> list[Stored]:
        """Store deliveries (key, payload) and return those new to the inbox; raise when the
        database cannot take them (the platform is then not told they arrived). Deliveries
        that come in meanwhile are stored in the same transaction."""
        stored = await self._keep(entries)
        self._mark(stored)  # the channel hands them over at once
        return stored

    def _mark(self, stored: list[Stored]) -> None:
        now = time.monotonic()
        for entry in stored:
            self._handed[entry.id] = now

    def _store(self, requests: list[list[tuple[str, dict]]]) -> list[list[Stored]]:
        """Store the deliveries of several requests at once; a key twice is stored once, and
        handed to the request that gave it first."""
        every = [entry for entries in requests for entry in entries]
        with self.database.begin() as db:
            stored = inbox.store(db=db, channel=self.channel, entries=every, now=self.clock())
        by_key = {entry.key: entry for entry in stored}
        return [
            [by_key.pop(key) for key, _ in inbox.first_of_each(entries) if key in by_key]
            for entries in requests
        ]

    async def done(self, stored_id: int) -> None:
        """Drop a delivery handled outside the engine (which drops its own with the step)."""
        try:
            await asyncio.to_thread(self._forget, stored_id)
        except Exception:  # it is handled again later, which does no harm
            log.warning("a handled %s delivery could not be dropped", self.channel, exc_info=True)

    def _forget(self, stored_id: int) -> None:
        with self.database.begin() as db:
            inbox.forget(db=db, ids=[stored_id])

    async def start(self) -> None:
        """Hand over what an earlier process left, then look again every `sweep`."""
        await self._hand_over(timedelta(0))
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop looking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.sweep.total_seconds())
            await self._hand_over(self.stale)

    async def _hand_over(self, older_than: timedelta) -> None:
        """Hand the deliveries unhandled for `older_than` to the channel."""
        now = time.monotonic()
        recent = now - IN_HAND.total_seconds()
        self._handed = {key: at for key, at in self._handed.items() if at > recent}
        try:
            left = await asyncio.to_thread(self._left_over, older_than, set(self._handed))
        except Exception:  # the database is away: the next sweep looks again
            log.warning("could not look for unhandled %s deliveries", self.channel)
            return
        if left:
            log.info("%d stored %s deliveries handled again", len(left), self.channel)
        self._mark(left)
        for stored in left:
            self.handle(stored)

    def _left_over(self, older_than: timedelta, in_hand: set[int]) -> list[Stored]:
        with self.database.begin() as db:
            return inbox.left_over(
                db=db,
                channel=self.channel,
                now=self.clock(),
                older_than=older_than,
                in_hand=in_hand,
            )
