"""The outbound queue's worker: drain what the bot sends on its own, channel by channel.

Rows are written by the causes (storage/outbox.py); one `Drainer` per channel claims the due
ones, sends them through the channel's `Sender` within the channel's limits and records the
outcome. The `Beat` runs on the clock: it holds the leases, so that one process per database
queues reminders and drains each channel, and it lets the drainers run only while their lease
holds.

What a failed send leads to:
- the platform could not be reached (`Unavailable`: connection refused, no DNS answer, no
  connection in time), or several sends in a row got no answer or a server error: an outage.
  The channel pauses (1 s, doubling up to a minute) and then sends one message at a time until
  one goes; the rows handed back keep their tries.
- no answer (`Unknown`: a reset after the request left, a read timeout): it may have arrived.
  It is sent again after a pause, up to `max_doubts` times, each counted in the row's
  `doubts`: a resident who misses "sembako besok jam 8" has lost more than one who reads it
  twice.
- a definite refusal of the message (blocked, no such chat, a bad request) uses it up; a lone
  server error counts a try and goes again after a growing pause (`SendFailed`).

Fencing: the drain claims rows only after checking, in the same transaction, that it still
holds its lease under its fencing token, and marks them `sending` under a claim naming the
lease and the token; every outcome it records touches only a row still under that claim. A row
left `sending` under another claim for longer than a lease term was abandoned by a sender that
died or froze: the drain puts it back with one more doubt. Until it is claimed again the old
claim may still record it as sent, so a process that froze for less than about two terms and
wakes saves what it had in flight from going twice; a process that lost its lease hands
nothing more over (its permit runs out by the clock, and the claim's check fails).
"""

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine as Database

from bot import metrics
from bot.pacing import Budget, Pacer, paid, priority_of
from storage import leases, outbox, residents
from storage.outbox import Due
from storage.types import utcnow

log = logging.getLogger(__name__)

CLOCK_LEASE = "clock"  # who queues what falls due (the reminders' tick)
DRAIN_LEASE = "outbound:{channel}"  # who drains one channel's queue
BATCH = 64  # rows claimed at once; the ones waiting for a send slot were not handed over yet
POLL = timedelta(seconds=1)  # how soon a row written by a conversation is picked up
LEASE_TERM = timedelta(seconds=90)  # CLOCK_LEASE_SECONDS' default; the Beat sets the real one
STOP_CHECK = 0.25  # seconds between looks at a stop while a send waits for its turn
SWEEP_EVERY = timedelta(seconds=5)  # how often the drain looks for abandoned rows
# an abandoned row goes again this many lease terms after it was found: its sender may only
# be frozen, and one that wakes within them records what it had in flight (the lease passes
# on a term after its last renewal, so a freeze of up to about three terms doubles nothing)
ABANDONED_WAIT_TERMS = 2
# last_error of a row whose send went but whose record failed, put back by the drain
UNRECORDED = "sent, but its record failed: it may have arrived"

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
    """The send failed; `transient` says whether trying again later may help, `server_error`
    that the platform itself failed (a 5xx): several in a row are an outage."""

    def __init__(self, reason: str, *, transient: bool, server_error: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.server_error = server_error


class Unavailable(Exception):
    """The platform could not be reached (connection refused, no DNS answer, no connection or
    pool slot in time): the message never left. The channel pauses and probes; the message
    keeps its tries."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unknown(Exception):
    """The request may have reached the platform, but no answer came (the connection reset
    after it left, a read timeout, a broken answer): it may have arrived. Sent again after a
    pause, a bounded number of times, each counted as a doubt."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
        raise RetryLater, Unreachable, Unavailable, Unknown, SendFailed or Held. A direct
        reply comes in full as `reply` (a Reply as data, handlers/reply_data.py), rendered as
        the channel renders its answers."""


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

    rate: float = 25.0  # a second, all chats: the pace of a sender without a pacer of its own
    chat_interval: timedelta = timedelta(seconds=1)  # least time between two to one chat
    in_flight: int = 8  # sends at once: also the most that can repeat after a crash
    max_attempts: int = 5  # failed tries before a message is given up
    backoff: timedelta = timedelta(seconds=30)  # wait after the first failed try, then doubled
    backoff_cap: timedelta = timedelta(hours=1)
    batch: int = BATCH
    max_doubts: int = 3  # sends without an answer sent again (so it may arrive that many more)
    outage_after: int = 3  # sends in a row without an answer or with a server error: an outage
    outage_backoff: timedelta = timedelta(seconds=1)  # an outage's first pause, then doubled
    outage_backoff_cap: timedelta = timedelta(seconds=60)  # the longest pause between probes

    def retry_delay(self, attempts: int) -> timedelta:
        """Return how long to wait after the `attempts`-th failed try."""
        return min(self.backoff_cap, self.backoff * 2 ** (attempts - 1))


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
        term: timedelta = LEASE_TERM,
        pacer: Pacer | None = None,
    ) -> None:
        self.sender = sender
        self.channel = sender.channel
        self.database = database
        self.limits = limits or Limits()
        self.quiet = quiet or QuietHours()
        self.clock = clock
        self.term = term  # the lease term: a row `sending` longer than this was abandoned
        self.lease_name = DRAIN_LEASE.format(channel=self.channel)
        # the platform's one budget, shared with the channel's direct replies (bot/pacing.py);
        # a sender without one (the console, a test's) gets its own at the queue's rate
        self.pacer = pacer or getattr(sender, "pacer", None)
        self._own_pacer = self.pacer is None  # told of 429s here, not by its channel
        if self.pacer is None:
            self.pacer = Pacer(Budget(self.limits.rate), name=self.channel)
        self._slots = asyncio.Semaphore(self.limits.in_flight)
        # the database work runs here, one statement group at a time, off the event loop
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"outbound-{self.channel}")
        self._permit_until: datetime | None = None  # set by the Beat while the lease holds
        self._fence: tuple[str, int] | None = None  # the lease's holder and fencing token
        self._local = secrets.token_hex(4)  # names this drain's claims when it has no token
        self._lease = 0  # counts the times the lease was taken or lost
        self._swept: tuple[int, datetime] | None = None  # the lease and time of the last sweep
        # rows this drain left `sending` when a record failed: id → (claim, maybe delivered)
        self._orphans: dict[int, tuple[str, bool]] = {}
        self._paused_until: datetime | None = None  # slow down asked, or the platform away
        self._troubles = 0  # sends in a row without an answer, or with a server error
        self._outage_since: datetime | None = None  # the platform out of reach since then
        self._outage_wait = self.limits.outage_backoff  # the pause before the next probe
        self._next_turn: dict[str, datetime] = {}  # when each chat may get its next message
        self._stopping = False
        self._unrecorded = False  # an outcome could not be written in this round
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None

    # --- control -------------------------------------------------------------------------

    def permit(
        self, until: datetime | None, *, holder: str | None = None, token: int | None = None
    ) -> None:
        """Let the drain run until `until` (None: stop after the batch in hand) under the
        lease `holder` holds with fencing `token` (None: a drain without a lease, in tests and
        tools); any thread."""
        fence = (holder or "", token) if token is not None else None
        if until is None or not self.permitted(self.clock()) or fence != self._fence:
            # lost, or taken afresh: look for rows abandoned by whoever held it first
            self._lease += 1
        self._fence = fence
        self._permit_until = until

    def permitted(self, now: datetime) -> bool:
        """Tell whether the drain may send at `now`."""
        return self._permit_until is not None and now < self._permit_until

    def claim_name(self) -> str:
        """Return the claim this drain marks its rows with now: its lease and fencing token."""
        if self._fence is None:
            return f"{self.lease_name}~{self._local}"
        holder, token = self._fence
        # the holder (host:pid:…) tells a later process on this machine that it is gone
        return f"{self.lease_name}#{token}@{holder}"[:120]

    def in_outage(self) -> bool:
        """Tell whether the platform is out of reach (the drain probes one at a time)."""
        return self._outage_since is not None

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
            wait = poll.total_seconds()
            if self._paused_until is not None:  # go on as soon as a pause ends
                left = (self._paused_until - self.clock()).total_seconds()
                wait = min(wait, left + 0.01) if left > 0 else wait
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), wait)
            self._wakeup.clear()

    # --- one round -----------------------------------------------------------------------

    async def drain_once(self) -> int:
        """Claim the due messages and send them; return how many were claimed. In an outage
        one is claimed: the probe."""
        now = self.clock()
        if self._stopping or not self.permitted(now) or self._paused(now):
            return 0
        fence, claim = self._fence, self.claim_name()
        if self._orphans:
            await self._in_thread(self._put_back_orphans, dict(self._orphans), now)
            self._orphans.clear()
        self._unrecorded = False
        quiet = self.quiet.covers(now)
        limit = 1 if self.in_outage() else self.limits.batch
        if not await self._sweep(now, fence, claim):
            return self._lost()
        due = await self._in_thread(self._claim, now, quiet, limit, fence, claim)
        if due is None:
            return self._lost()
        if not due:
            return 0
        ready, waiting = self._take_turns(due, now)
        if waiting:
            try:
                await self._in_thread(self._defer, waiting)
            except Exception:
                self._orphans.update({row.id: (claim, False) for row in due})
                raise
        results = await asyncio.gather(*(self._send(row) for row in ready), return_exceptions=True)
        errors = [result for result in results if isinstance(result, BaseException)]
        if errors:
            # a send may have gone out without its record: the next round puts it back
            raise errors[0]
        return len(due)

    def _lost(self) -> int:
        """The lease is held under another token now: send nothing more under this one;
        return 0 (nothing claimed)."""
        log.warning("the %s queue's lease was taken over: this drain stops", self.channel)
        self._permit_until = None
        return 0

    async def _sweep(self, now: datetime, fence: tuple[str, int] | None, claim: str) -> bool:
        """Put back what another sender abandoned, at a new lease and every SWEEP_EVERY;
        return False when the lease turns out to be lost."""
        if self._swept is not None:
            lease, at = self._swept
            if lease == self._lease and now - at < SWEEP_EVERY:
                return True
        recovered = await self._in_thread(self._recover, now, fence, claim)
        if recovered is None:
            return False
        if recovered:
            log.info(
                "%d %s messages abandoned by a stopped sender go again (they may have arrived)",
                recovered,
                self.channel,
            )
        self._swept = (self._lease, now)
        return True

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
        async with self._slots:
            await self._turn(row)
            now = self.clock()
            if self._unrecorded:
                # an outcome could not be written: hand nothing more over this round; the row
                # goes back (not sent) at the next round
                self._orphans[row.id] = (row.claim, False)
                return
            if self._stopping or self._paused(now) or not self.permitted(now):
                # not handed to the platform: back in the queue, to be sent once
                at = max(now, self._paused_until or now)
                await self._record(
                    False, self._hand_back, row, at, "not sent yet: the queue paused"
                )
                return
            if self.limits.chat_interval:
                turn = self._next_turn.get(row.external_id, now)
                self._next_turn[row.external_id] = max(turn, now + self.limits.chat_interval)
            try:
                with paid():  # the channel's first call of it takes this turn
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
                self._answered()
                if self._own_pacer:  # a channel's own pacer heard it from the channel
                    self.pacer.slow_down(error.seconds)
                until = self.clock() + timedelta(seconds=error.seconds)
                if self._paused_until is None or until > self._paused_until:
                    log.info(
                        "%s asked to slow down: its queue waits %g s", self.channel, error.seconds
                    )
                    metrics.paused(self.channel, "rate_limited")
                    self._paused_until = until  # every send not yet handed over waits too
                await self._record(
                    False,
                    self._hand_back,
                    row,
                    until,
                    f"rate limited: retry after {error.seconds:g} s",
                )
            except Unavailable as error:
                until = self._out_of_reach(error.reason)
                await self._record(False, self._hand_back, row, until, platform_away(error.reason))
            except Unknown as error:
                outage = self._trouble(error.reason)
                await self._record(True, self._doubtful, row, error.reason, outage)
            except Unreachable as error:
                self._answered()
                others = await self._record(False, self._unreachable, row, error.reason)
                log.info(
                    "a %s account cannot be reached (%s); %d more messages to it given up",
                    self.channel,
                    error.reason,
                    others,
                )
            except SendFailed as error:
                if error.server_error and self._trouble(error.reason):
                    until = self._paused_until or self.clock()
                    await self._record(
                        False, self._hand_back, row, until, platform_away(error.reason)
                    )
                    return
                if not error.server_error:
                    self._answered()
                await self._record(False, self._failed, row, error.reason, error.transient)
            except Held as error:
                self._answered()
                await self._record(False, self._held, row, error.reason)
            except Exception as error:  # a bug in a sender: tried again like a network error
                log.error("%s sender failed: %s", self.channel, type(error).__name__, exc_info=1)
                await self._record(False, self._failed, row, type(error).__name__, True)
            else:
                self._answered()
                await self._record(True, self._sent, row, platform_id)

    async def _turn(self, row: Due) -> None:
        """Wait for the row's slot in the platform's pace, by its kind; return early when the
        drain stops meanwhile (the row then goes back unsent)."""
        turn = asyncio.ensure_future(self.pacer.turn(priority_of(row.kind), row.external_id))
        while not turn.done():
            await asyncio.wait({turn}, timeout=STOP_CHECK)
            if self._stopping and not turn.done():
                turn.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await turn
                return

    # --- outages -------------------------------------------------------------------------

    def _answered(self) -> None:
        """The platform answered: a run of troubles ends, and an outage with it."""
        self._troubles = 0
        if self._outage_since is None:
            return
        lasted = (self.clock() - self._outage_since).total_seconds()
        log.warning("%s answers again after %.0f s: its queue goes on", self.channel, lasted)
        self._outage_since = None
        self._outage_wait = self.limits.outage_backoff

    def _trouble(self, reason: str) -> bool:
        """Count a send without an answer or with a server error; return whether the platform
        is out of reach (several in a row, or an outage already), the queue paused."""
        self._troubles += 1
        if self._outage_since is None and self._troubles < self.limits.outage_after:
            return False
        self._out_of_reach(f"{self._troubles} sends in a row failed; the last: {reason}")
        return True

    def _out_of_reach(self, reason: str) -> datetime:
        """Start an outage, or wait longer after a failed probe; return until when the queue
        pauses (every send not yet handed over waits too)."""
        now = self.clock()
        if self._outage_since is None:
            log.warning(
                "%s cannot be reached (%s): its queue waits, then tries one message at a time",
                self.channel,
                reason,
            )
            self._outage_since = now
            self._outage_wait = self.limits.outage_backoff
            metrics.paused(self.channel, "outage")
        elif self._paused(now):  # a send that was under way when the pause began
            return self._paused_until
        else:  # a probe failed
            self._outage_wait = min(self.limits.outage_backoff_cap, self._outage_wait * 2)
        until = now + self._outage_wait
        self._paused_until = max(until, self._paused_until or until)
        return self._paused_until

    async def _record(self, delivered: bool, function: Callable[..., T], row: Due, *args) -> T:
        """Write a send's outcome; when that fails, stop handing messages over this round, so
        no more than the sends in flight can go out without their record, and put the row back
        at the next round (with a doubt when it may have been `delivered`)."""
        try:
            return await self._in_thread(function, row, *args)
        except Exception:
            self._unrecorded = True
            self._orphans[row.id] = (row.claim, delivered)
            raise

    async def _in_thread(self, function: Callable[..., T], *args) -> T:
        """Run database work in the drain's own thread, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(function, *args))

    # --- the database side, each one transaction in the drain's thread --------------------

    def _holds(self, db, now: datetime, fence: tuple[str, int] | None) -> bool:
        """Tell whether the drain still holds its lease under its fencing token (a drain
        without a lease always may)."""
        if fence is None:
            return True
        holder, token = fence
        return leases.holds(db=db, name=self.lease_name, holder=holder, token=token, now=now)

    def _recover(self, now: datetime, fence: tuple[str, int] | None, claim: str) -> int | None:
        """Put back the rows abandoned by other claims; return how many, or None when the
        lease is no longer held under the fence's token."""
        with self.database.begin() as db:
            if not self._holds(db, now, fence):
                return None
            # what a process of this machine that is gone left goes again at once; it cannot
            # wake to record it
            gone = gone_claims(outbox.sending_claims(db=db, channel=self.channel))
            recovered = outbox.recover_claims(db=db, channel=self.channel, claims=gone, now=now)
            # the rest back later: a sender that merely froze may still record it meanwhile
            return recovered + outbox.recover_abandoned(
                db=db,
                channel=self.channel,
                now=now,
                older_than=self.term,
                keep=claim,
                wait=self.term * ABANDONED_WAIT_TERMS,
            )

    def _put_back_orphans(self, orphans: dict[int, tuple[str, bool]], now: datetime) -> None:
        """Put back the rows a failed record left `sending` under this drain's claims."""
        with self.database.begin() as db:
            for outbound_id, (claim, delivered) in orphans.items():
                outbox.retry_later(
                    db=db,
                    outbound_id=outbound_id,
                    at=now,
                    error=UNRECORDED if delivered else "not sent yet: a record failed",
                    counts=False,
                    doubtful=delivered,
                    claim=claim,
                )

    def _claim(
        self, now: datetime, quiet: bool, limit: int, fence: tuple[str, int] | None, claim: str
    ) -> list[Due] | None:
        """Claim due rows under `claim`; None when the lease is no longer held under the
        fence's token (checked in the same transaction, which is committed before sending)."""
        with self.database.begin() as db:
            if not self._holds(db, now, fence):
                return None
            return outbox.claim(
                db=db, channel=self.channel, now=now, quiet=quiet, limit=limit, claim=claim
            )

    def _defer(self, waiting: list[tuple[Due, datetime]]) -> None:
        with self.database.begin() as db:
            for row, turn in waiting:
                outbox.hand_back(
                    db=db,
                    outbound_id=row.id,
                    at=turn,
                    error="waiting for its chat's turn",
                    claim=row.claim,
                )

    def _sent(self, row: Due, platform_id: str | None = None) -> None:
        with self.database.begin() as db:
            recorded = outbox.mark_sent(
                db=db,
                outbound_id=row.id,
                now=self.clock(),
                platform_id=platform_id,
                claim=row.claim,
            )
        if not recorded:  # another sender claimed it again meanwhile (this one was frozen)
            log.warning("a %s message sent after another took it over: maybe twice", self.channel)

    def _held(self, row: Due, reason: str) -> None:
        with self.database.begin() as db:
            outbox.hold(db=db, outbound_id=row.id, reason=reason, claim=row.claim)
        log.info("a %s message held back: %s", self.channel, reason)

    def _hand_back(self, row: Due, at: datetime, reason: str) -> None:
        """Put back a row that never left (the queue paused, retry_after, the platform out of
        reach) until `at`; it keeps its tries."""
        with self.database.begin() as db:
            outbox.hand_back(db=db, outbound_id=row.id, at=at, error=reason, claim=row.claim)

    def _doubtful(self, row: Due, reason: str, outage: bool) -> None:
        """No answer came, so it may have arrived: send it again after a pause (after the
        outage when there is one), counted as a doubt, or give it up after max_doubts."""
        doubts = row.doubts + 1
        with self.database.begin() as db:
            if doubts <= self.limits.max_doubts:
                at = self.clock() + self.limits.retry_delay(doubts)
                if outage and self._paused_until is not None:
                    at = max(at, self._paused_until)
                outbox.retry_later(
                    db=db, outbound_id=row.id, at=at, error=reason, doubtful=True, claim=row.claim
                )
                return
            outbox.mark_failed(db=db, outbound_id=row.id, error=reason, claim=row.claim)
        log.warning("a %s message given up after %d sends without an answer", self.channel, doubts)

    def _unreachable(self, row: Due, reason: str) -> int:
        """Mark the account unreachable and give up everything waiting for it."""
        with self.database.begin() as db:
            outbox.mark_failed(db=db, outbound_id=row.id, error=reason, claim=row.claim)
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
                outbox.retry_later(db=db, outbound_id=row.id, at=at, error=reason, claim=row.claim)
                return
            outbox.mark_failed(db=db, outbound_id=row.id, error=reason, claim=row.claim)
        log.warning("a %s message given up after %d tries", self.channel, attempts)


def platform_away(reason: str) -> str:
    """Return the last_error of a row that waits for the platform to be back."""
    return f"not sent, the platform out of reach: {reason}"


def gone_claims(claims: Iterable[str]) -> list[str]:
    """Return the claims made by processes of this machine that no longer run: a drain's
    (`…@host:pid:…`) or a fast path's (`reply:host:pid:…`)."""
    host = socket.gethostname()[:50]
    gone = []
    for claim in claims:
        process = claim.rsplit("@", 1)[1] if "@" in claim else claim.removeprefix("reply:")
        name, _colon, rest = process.partition(":")
        pid = rest.partition(":")[0]
        if name != host or not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)  # signal 0: only asks whether it exists
        except ProcessLookupError:
            gone.append(claim)
        except OSError:  # it exists, as another user's
            continue
    return gone


class Beat:
    """One beat of the clock, run by the scheduler every third of the lease term: hold the
    leases, queue what fell due, and let each channel's drain run while its lease holds.

    The `clock` lease makes one process per database queue reminders; one `outbound:<channel>`
    lease per channel makes one process drain it (a console chat on the same database as a
    Telegram server drains only the console), under the lease's fencing token. A drain stops a
    third of a term before its lease could run out, so the sends it has in flight are recorded
    before another process may take the lease over; what it still had `sending` a term later
    the new holder puts back in the queue. The drains take the beat's term for that."""

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
        for drainer in self.drainers:  # a row `sending` longer than a term was abandoned
            drainer.term = term

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
                token = self._hold(drainer.lease_name, now)
            except Exception:
                log.exception("could not renew the %s queue's lease", drainer.channel)
                continue  # the permit runs out by itself before the lease does
            mine = token is not None
            until = now + self.term - self.interval if mine else None
            drainer.permit(until, holder=self.holder, token=token)
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
