"""The outbound queue's worker: drain what the bot sends on its own, channel by channel.

Rows are written by the causes (storage/outbox.py); one `Drainer` per channel claims the due
ones, sends them through the channel's `Sender` within the channel's limits and records the
outcome. The `Beat` runs on the clock: it holds the leases, so that one process per database
queues reminders and drains each channel, and it lets the drainers run only while their lease
holds.

How many messages may arrive twice: a claimed row is committed as `sending` before the
platform is called, and each send keeps its slot until its outcome is committed, so at most
`in_flight` messages (OUTBOUND_IN_FLIGHT, default 8) of a channel are between "handed to the
platform" and "recorded". When the process dies there (or the database fails to take the
record), those rows are still `sending`; the next holder of the lease puts every `sending` row
back in the queue and sends it again. So at most `in_flight` messages per channel repeat, once;
rows claimed but not yet handed over are sent for the first time, and a row recorded as sent
is never sent again. A send whose answer was lost (a timeout after the request left) is not
retried either: it is failed with the reason, as it may have arrived.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from aiolimiter import AsyncLimiter
from sqlalchemy import Engine as Database

from storage import leases, outbox, residents
from storage.outbox import Due
from storage.types import utcnow

log = logging.getLogger(__name__)

CLOCK_LEASE = "clock"  # who queues what falls due (the reminders' tick)
DRAIN_LEASE = "outbound:{channel}"  # who drains one channel's queue
BATCH = 64  # rows claimed at once; the ones waiting for a send slot were not handed over yet
POLL = timedelta(seconds=1)  # how soon a row written by a conversation is picked up

T = TypeVar("T")


class RetryLater(Exception):
    """The platform asked to slow down: try again after `seconds` (Telegram's 429)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:g} s")
        self.seconds = seconds


class Unreachable(Exception):
    """The account cannot get messages: it blocked the bot, was deleted, or is unknown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SendFailed(Exception):
    """The send failed; `transient` says whether trying again later may help."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


class Held(Exception):
    """The message cannot go now and is kept back until the resident writes again (WhatsApp:
    outside the 24-hour window, with no approved template for its kind); `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Sender(Protocol):
    """What a channel offers the queue: deliver one finished text to one of its accounts."""

    channel: str

    async def deliver(
        self,
        external_id: str,
        text: str,
        options: Sequence[dict[str, str]] | None = None,
        *,
        kind: str = "",
        last_inbound_at: datetime | None = None,
        language: str = "id",
        reply: dict | None = None,
    ) -> str | None:
        """Send the text (with its options, each a key and a label, as the channel shows
        them) of an outbound `kind` to an account that last wrote at `last_inbound_at` and
        reads `language`, and return the platform's id of the message if it has one; or
        raise RetryLater, Unreachable, SendFailed or Held. A direct reply comes in full as
        `reply` (handlers.messages.Reply as data, see bot/replies.py), rendered as the
        channel renders its answers."""


@dataclass(frozen=True)
class QuietHours:
    """Local hours in which what residents did not ask for waits: [start, end), across
    midnight when start is later than end; start equal to end means never quiet."""

    start: time = time(21, 0)
    end: time = time(6, 0)
    time_zone: str = "Asia/Jakarta"

    def covers(self, now: datetime) -> bool:
        """Tell whether `now` falls within the quiet hours."""
        local = now.astimezone(ZoneInfo(self.time_zone)).time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True)
class Limits:
    """How fast, how often and how hard one channel's queue is drained."""

    rate: float = 25.0  # messages a second, all chats together
    chat_interval: timedelta = timedelta(seconds=1)  # least time between two to one chat
    in_flight: int = 8  # sends at once: also the most that can repeat after a crash
    max_attempts: int = 5  # failed tries before a message is given up
    backoff: timedelta = timedelta(seconds=30)  # wait after the first failed try, then doubled
    backoff_cap: timedelta = timedelta(hours=1)
    batch: int = BATCH

    def retry_delay(self, attempts: int) -> timedelta:
        """Return how long to wait after the `attempts`-th failed try."""
        return min(self.backoff_cap, self.backoff * 2 ** (attempts - 1))


def rate_limiter(rate: float) -> AsyncLimiter:
    """Return a limiter for `rate` messages a second (fewer than one a second too)."""
    return AsyncLimiter(rate, 1) if rate >= 1 else AsyncLimiter(1, 1 / rate)


class Drainer:
    """Drain one channel's queue: claim, send within the limits, record the outcome."""

    def __init__(
        self,
        sender: Sender,
        database: Database,
        limits: Limits | None = None,
        quiet: QuietHours | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sender = sender
        self.channel = sender.channel
        self.database = database
        self.limits = limits or Limits()
        self.quiet = quiet or QuietHours()
        self.clock = clock
        self._limiter = rate_limiter(self.limits.rate)
        self._slots = asyncio.Semaphore(self.limits.in_flight)
        # the database work runs here, one statement group at a time, off the event loop
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"outbound-{self.channel}")
        self._permit_until: datetime | None = None  # set by the Beat while the lease holds
        self._lease = 0  # counts the times the lease was taken or lost
        self._resumed: int | None = None  # the lease under which leftovers were put back
        self._paused_until: datetime | None = None  # the platform asked us to slow down
        self._next_turn: dict[str, datetime] = {}  # when each chat may get its next message
        self._stopping = False
        self._unrecorded = False  # an outcome could not be written in this round
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None

    # --- control -------------------------------------------------------------------------

    def permit(self, until: datetime | None) -> None:
        """Let the drain run until `until` (None: stop after the batch in hand); any thread."""
        if until is None or not self.permitted(self.clock()):
            # lost, or taken afresh: rows left `sending` by whoever held it go back first
            self._lease += 1
        self._permit_until = until

    def permitted(self, now: datetime) -> bool:
        """Tell whether the drain may send at `now`."""
        return self._permit_until is not None and now < self._permit_until

    def wake(self) -> None:
        """Look at the queue now rather than at the next poll; any thread."""
        loop, wakeup = self._loop, self._wakeup
        if loop is not None and wakeup is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wakeup.set)

    def stop(self) -> None:
        """Send nothing more; the sends in flight finish and are recorded."""
        self._stopping = True
        self.wake()

    def close(self) -> None:
        """Let go of the database thread."""
        self._executor.shutdown(wait=True)

    async def run(self, poll: timedelta = POLL) -> None:
        """Drain until stopped, looking at the queue every `poll` or when woken."""
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        while not self._stopping:
            try:
                busy = await self.drain_once()
            except Exception:  # e.g. the database is away: try again at the next poll
                log.exception("draining the %s queue failed", self.channel)
                busy = 0
            if busy or self._stopping:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), poll.total_seconds())
            self._wakeup.clear()

    # --- one round -----------------------------------------------------------------------

    async def drain_once(self) -> int:
        """Claim the due messages and send them; return how many were claimed."""
        now = self.clock()
        if self._stopping or not self.permitted(now) or self._paused(now):
            return 0
        lease = self._lease
        if self._resumed != lease:
            resumed = await self._in_thread(self._resume)
            if resumed:
                log.info(
                    "%d %s messages in flight at the last stop go again", resumed, self.channel
                )
            self._resumed = lease
        self._unrecorded = False
        quiet = self.quiet.covers(now)
        due = await self._in_thread(self._claim, now, quiet)
        if not due:
            return 0
        ready, waiting = self._take_turns(due, now)
        if waiting:
            await self._in_thread(self._defer, waiting)
        results = await asyncio.gather(*(self._send(row) for row in ready), return_exceptions=True)
        errors = [result for result in results if isinstance(result, BaseException)]
        if errors:
            # a send may have gone out without its record: the next round puts it back
            self._resumed = None
            raise errors[0]
        return len(due)

    def _paused(self, now: datetime) -> bool:
        return self._paused_until is not None and now < self._paused_until

    def _take_turns(self, due: list[Due], now: datetime) -> tuple[list[Due], list[tuple]]:
        """Split the claimed rows into those to send now and those that wait for their chat's
        turn (one message per chat_interval), each with the time of its turn."""
        interval = self.limits.chat_interval
        self._next_turn = {chat: at for chat, at in self._next_turn.items() if at > now}
        booked = dict(self._next_turn)  # and the turns given out in this batch
        ready, waiting = [], []
        for row in due:
            turn = max(booked.get(row.external_id, now), now)
            if turn <= now:
                ready.append(row)
                if interval:
                    self._next_turn[row.external_id] = now + interval
            else:
                waiting.append((row, turn))
            booked[row.external_id] = turn + interval
        return ready, waiting

    async def _send(self, row: Due) -> None:
        """Send one row within the limits, and record the outcome before freeing its slot."""
        async with self._slots, self._limiter:
            now = self.clock()
            if self._unrecorded:
                # an outcome could not be written: hand nothing more over this round; the row
                # stays `sending` and goes out (once) after the next round puts it back
                return
            if self._stopping or self._paused(now) or not self.permitted(now):
                # not handed to the platform: back in the queue, to be sent once
                at = max(now, self._paused_until or now)
                await self._in_thread(self._hand_back, row, at)
                return
            if self.limits.chat_interval:
                turn = self._next_turn.get(row.external_id, now)
                self._next_turn[row.external_id] = max(turn, now + self.limits.chat_interval)
            try:
                platform_id = await self.sender.deliver(
                    row.external_id,
                    row.text,
                    row.options,
                    kind=row.kind,
                    last_inbound_at=row.last_inbound_at,
                    language=row.language,
                    reply=row.reply,
                )
            except RetryLater as error:
                until = self.clock() + timedelta(seconds=error.seconds)
                if self._paused_until is None or until > self._paused_until:
                    log.info(
                        "%s asked to slow down: its queue waits %g s", self.channel, error.seconds
                    )
                    self._paused_until = until  # every send not yet handed over waits too
                await self._record(self._slow_down, row, until, error.seconds)
            except Unreachable as error:
                others = await self._record(self._unreachable, row, error.reason)
                log.info(
                    "a %s account cannot be reached (%s); %d more messages to it given up",
                    self.channel,
                    error.reason,
                    others,
                )
            except SendFailed as error:
                await self._record(self._failed, row, error.reason, error.transient)
            except Held as error:
                await self._record(self._held, row, error.reason)
            except Exception as error:  # a bug in a sender: tried again like a network error
                log.error("%s sender failed: %s", self.channel, type(error).__name__, exc_info=1)
                await self._record(self._failed, row, type(error).__name__, True)
            else:
                await self._record(self._sent, row, platform_id)

    async def _record(self, function: Callable[..., T], *args) -> T:
        """Write a send's outcome; when that fails, stop handing messages over this round, so
        no more than the sends in flight can go out without their record."""
        try:
            return await self._in_thread(function, *args)
        except Exception:
            self._unrecorded = True
            raise

    async def _in_thread(self, function: Callable[..., T], *args) -> T:
        """Run database work in the drain's own thread, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(function, *args))

    # --- the database side, each one transaction in the drain's thread --------------------

    def _resume(self) -> int:
        with self.database.begin() as db:
            return outbox.resume_in_flight(db=db, channel=self.channel)

    def _claim(self, now: datetime, quiet: bool) -> list[Due]:
        with self.database.begin() as db:  # committed before anything is sent
            return outbox.claim(
                db=db, channel=self.channel, now=now, quiet=quiet, limit=self.limits.batch
            )

    def _defer(self, waiting: list[tuple[Due, datetime]]) -> None:
        with self.database.begin() as db:
            for row, turn in waiting:
                outbox.retry_later(
                    db=db,
                    outbound_id=row.id,
                    at=turn,
                    error="waiting for its chat's turn",
                    counts=False,
                )

    def _sent(self, row: Due, platform_id: str | None = None) -> None:
        with self.database.begin() as db:
            outbox.mark_sent(db=db, outbound_id=row.id, now=self.clock(), platform_id=platform_id)

    def _held(self, row: Due, reason: str) -> None:
        with self.database.begin() as db:
            outbox.hold(db=db, outbound_id=row.id, reason=reason)
        log.info("a %s message held back: %s", self.channel, reason)

    def _hand_back(self, row: Due, at: datetime) -> None:
        with self.database.begin() as db:
            outbox.retry_later(
                db=db,
                outbound_id=row.id,
                at=at,
                error="not sent yet: the queue paused",
                counts=False,
            )

    def _slow_down(self, row: Due, until: datetime, seconds: float) -> None:
        """Honour retry_after: the row waits that long, and it does not count as a try."""
        with self.database.begin() as db:
            outbox.retry_later(
                db=db,
                outbound_id=row.id,
                at=until,
                error=f"rate limited: retry after {seconds:g} s",
                counts=False,
            )

    def _unreachable(self, row: Due, reason: str) -> int:
        """Mark the account unreachable and give up everything waiting for it."""
        with self.database.begin() as db:
            outbox.mark_failed(db=db, outbound_id=row.id, error=reason)
            residents.set_unreachable(
                db=db, channel=self.channel, external_id=row.external_id, at=self.clock()
            )
            return outbox.fail_unreachable(db=db, identity_id=row.identity_id, error=reason)

    def _failed(self, row: Due, reason: str, transient: bool) -> None:
        """Try again after a growing pause, or give up after the last attempt."""
        attempts = row.attempts + 1
        with self.database.begin() as db:
            if transient and attempts < self.limits.max_attempts:
                at = self.clock() + self.limits.retry_delay(attempts)
                outbox.retry_later(db=db, outbound_id=row.id, at=at, error=reason)
                return
            outbox.mark_failed(db=db, outbound_id=row.id, error=reason)
        log.warning("a %s message given up after %d tries", self.channel, attempts)


class Beat:
    """One beat of the clock, run by the scheduler every third of the lease term: hold the
    leases, queue what fell due, and let each channel's drain run while its lease holds.

    The `clock` lease makes one process per database queue reminders; one `outbound:<channel>`
    lease per channel makes one process drain it (a console chat on the same database as a
    Telegram server drains only the console). A drain stops a third of a term before its lease
    could run out, so the sends it has in flight are recorded before another process may take
    the lease over and put its `sending` rows back in the queue."""

    def __init__(
        self,
        database: Database,
        drainers: Iterable[Drainer],
        *,
        tick: Callable[[datetime], int],
        holder: str,
        term: timedelta = timedelta(seconds=90),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.drainers = list(drainers)
        self.tick = tick
        self.holder = holder
        self.term = term
        self.clock = clock

    @property
    def interval(self) -> timedelta:
        """Return how often the beat runs."""
        return self.term / 3

    def __call__(self) -> bool:
        """Beat once; return whether this process holds the clock."""
        now = self.clock()
        try:
            held = self._hold(CLOCK_LEASE, now)
        except Exception:
            log.exception("could not renew the clock's lease")
            held = False
        if held:
            try:
                self.tick(now)
            except Exception:
                log.exception("the reminders' tick failed")
        held = bool(held)
        for drainer in self.drainers:
            try:
                mine = self._hold(DRAIN_LEASE.format(channel=drainer.channel), now)
            except Exception:
                log.exception("could not renew the %s queue's lease", drainer.channel)
                continue  # the permit runs out by itself before the lease does
            drainer.permit(now + self.term - self.interval if mine else None)
            if mine:  # at once, rather than at its next poll: a new permit, new reminders
                drainer.wake()
        return held

    def _hold(self, name: str, now: datetime) -> int | None:
        with self.database.begin() as db:
            return leases.hold(db=db, name=name, holder=self.holder, now=now, term=self.term)

    def release(self) -> None:
        """Give the leases up, so that another process takes over at once."""
        for drainer in self.drainers:
            drainer.permit(None)
        names = [CLOCK_LEASE, *(DRAIN_LEASE.format(channel=d.channel) for d in self.drainers)]
        with self.database.begin() as db:
            for name in names:
                leases.release(db=db, name=name, holder=self.holder)
