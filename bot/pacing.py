"""One send budget per platform, shared by the direct replies and the queue's drain.

A `Pacer` hands out send slots evenly spaced at its rate (a "next slot" scheduler: after a
pause or an idle spell the next send goes at once and the one after it an interval later, never
a second's worth at once), to the waiting sends by priority: replies first, then reminders and
notices, then bulk (announcements, surveys), which takes what the others leave. Each chat has a
small bucket of its own (Telegram: about one a second, WhatsApp: one every 6 seconds after a
burst), and a send waiting for its chat does not hold up the others.

A 429 teaches it: `slow_down` pauses every send for the platform's retry_after, remembers the
rate it happened at (the ceiling) and lowers the rate (x0.8, once per pause; x0.98 for a lone
429 half a minute after the last, which sends bunched by chance cause at a rate that fits).
Then the rate climbs back by a share of the configured rate a second (additive increase) to a
little below the ceiling, and above that creeps up very slowly, probing: a limit lower than
configured is found and kept, without a 429 every few seconds.

Several processes send to one platform: each answers its own residents, and one drains the
queue. `leave` tells the pacer what to leave the others (bot/rate_sharing.py works it out from
their rates twice a second): reminders and bulk get only what is left of its rate after the
others' sends and room for their ups and downs, so that replies anywhere go before bulk
anywhere; its replies leave the others' sends too, but never more than the others' fair share
of the limit, so that in a burst each process answers at least its share.

A channel paces each of its platform calls with `turn`; the drain takes its turn before it
hands a row to the channel and marks the call it makes as paid (`paid()`), so that the first
platform call of that row does not wait twice. A direct reply waits for its turn only so long
(`by()`): in a burst longer than that it is left to the queue instead (bot/replying.py).
"""

import asyncio
import bisect
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from enum import IntEnum

log = logging.getLogger(__name__)

_PAID: ContextVar[bool] = ContextVar("pacing_paid", default=False)
_DEADLINE: ContextVar[float | None] = ContextVar("pacing_deadline", default=None)
PRUNE_AT = 10_000  # chats remembered before the full buckets are forgotten


class Late(Exception):
    """A send's turn did not come by its deadline (see `by`): it was not sent."""


class Priority(IntEnum):
    """Who goes first when several sends wait for the next slot (lowest first)."""

    REPLY = 0  # a direct answer to what a resident wrote
    NOTICE = 1  # reminders, status changes, a seat come free: the resident's own affairs
    BULK = 2  # announcements, surveys, invitations to rate: what the others leave


BULK_KINDS = frozenset({"announcement", "survey", "feedback"})


def priority_of(kind: str) -> Priority:
    """Return the priority of an outbound row of `kind` (storage/outbox.py's OutboundKind)."""
    if kind == "reply":
        return Priority.REPLY
    return Priority.BULK if kind in BULK_KINDS else Priority.NOTICE


@dataclass(frozen=True)
class Budget:
    """How fast one platform may be sent to, and how the pacer learns from a 429."""

    rate: float  # sends a second, all chats together
    chat_rate: float = 0.0  # sends a second to one chat; 0: no limit of its own
    chat_burst: float = 1.0  # sends one chat may get at once, before its chat_rate applies
    decrease: float = 0.8  # the rate is multiplied by this on a 429 ...
    calm: float = 30.0  # ... but by `jitter` on one that comes this many seconds after the last
    jitter: float = 0.98  # (sends bunched by a late loop or the network, not a rate too high:
    # the pause it asks for costs enough; the first 429 after the start lowers it in full)
    floor: float = 0.1  # ... but stays at least this share of the configured rate
    recovery: float = 0.05  # share of the configured rate regained a second after a 429 ...
    margin: float = 0.03  # ... up to this share below the rate the 429 came at
    probe: float = 0.0005  # share of the configured rate gained a second above that: the margin
    # back in a minute, so that a 429 from jitter alone (sends bunched by a late loop) costs a
    # minute at 97 %, not ten
    catch_up: float = 0.5  # a slot given this share of an interval late keeps the schedule


@dataclass
class _Chat:
    tokens: float
    at: float


class Pacer:
    """Hand out evenly spaced send slots, by priority, within a platform's budget."""

    def __init__(
        self,
        budget: Budget,
        *,
        name: str = "",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        chat_budget: Callable[[str], tuple[float, float]] | None = None,
    ) -> None:
        self.budget = budget
        self.name = name
        self.clock = clock
        self._sleep = sleep
        # a chat's own (rate, burst), e.g. a Telegram group's 20 a minute
        self._chat_budget = chat_budget
        self._rate = budget.rate
        self._next = float("-inf")  # when the next slot is free
        self._paused_until = float("-inf")
        self._calm_after = float("-inf")  # a 429 before this belongs to the last pause
        self._ceiling = float("inf")  # the rate the last 429 came at
        self._slowed_at = clock()  # when the last 429 came (the start counts as one)
        self._learned_at = clock()  # when the rate was last raised
        self._chats: dict[str, _Chat] = {}
        self._others = 0.0  # sends a second left to the other processes before bulk
        self._others_replies = 0.0  # ... and before replies
        self._waiting: list[tuple[int, int, str | None, asyncio.Future]] = []
        self._numbers = itertools.count()
        self._dispatcher: asyncio.Task | None = None
        self._arrived: asyncio.Event | None = None
        self.granted = 0  # slots handed out
        self.slowed = 0  # 429s told

    @property
    def rate(self) -> float:
        """Return the rate it sends at now (lower than the budget's after a 429)."""
        return self._rate

    @property
    def others(self) -> float:
        """Return the sends a second left to the other processes before reminders and bulk."""
        return self._others

    def leave(self, others: float, replies: float = 0.0) -> None:
        """Leave the other processes `others` sends a second of this platform's rate before
        reminders and bulk, and `replies` before this process's replies (at least the floor
        stays)."""
        self._others = max(0.0, others)
        self._others_replies = max(0.0, replies)

    def rate_for(self, priority: Priority) -> float:
        """Return the rate a send of `priority` is spaced at: what the other processes leave
        of this one's rate, to replies and to the rest."""
        left = self._others_replies if priority == Priority.REPLY else self._others
        if not left:
            return self._rate
        return max(self.budget.rate * self.budget.floor, self._rate - left)

    def waiting(self, priority: Priority | None = None) -> int:
        """Return how many sends wait for a slot (of one priority, or all)."""
        return sum(1 for entry in self._waiting if priority is None or entry[0] == priority)

    async def turn(self, priority: Priority = Priority.REPLY, chat: str | None = None) -> None:
        """Wait for this send's slot; a call the drain already paid for goes at once."""
        if _PAID.get():
            _PAID.set(False)  # only the first call of the paid send
            return
        deadline = _DEADLINE.get()
        if deadline is not None:
            _DEADLINE.set(None)  # only the first call: the later parts of a send go on
        future = asyncio.get_running_loop().create_future()
        entry = (int(priority), next(self._numbers), chat, future)
        bisect.insort(self._waiting, entry, key=lambda e: (e[0], e[1]))
        self._kick()
        try:
            if deadline is None:
                await future
            else:
                await asyncio.wait_for(future, max(0.0, deadline - self.clock()))
        except (asyncio.CancelledError, TimeoutError) as error:
            if entry in self._waiting:
                self._waiting.remove(entry)
            if isinstance(error, TimeoutError):
                raise Late(f"no turn within the deadline ({self.name or 'a platform'})") from None
            raise

    def slow_down(self, seconds: float, chat: str | None = None) -> None:
        """The platform answered 429: pause every send for `seconds` and lower the rate (once
        a pause: the sends already in flight answer 429 too); with `chat`, only that chat
        waits (WhatsApp's pair rate)."""
        now = self.clock()
        self.slowed += 1
        if chat is not None:
            state = self._chat(chat, now)
            state.tokens = min(state.tokens, 0.0)
            state.at = max(state.at, now + seconds)
            self._kick()
            return
        if now >= self._calm_after:
            lone = now - self._slowed_at >= self.budget.calm
            decrease = self.budget.jitter if lone else self.budget.decrease
            lowered = max(self.budget.rate * self.budget.floor, self._rate * decrease)
            self._slowed_at = now
            log.info(
                "%s asked to slow down: pausing %g s, then %.1f a second (was %.1f)",
                self.name or "a platform",
                seconds,
                lowered,
                self._rate,
            )
            self._ceiling = self._rate
            self._rate = lowered
            # what was in flight when it paused answers before the pause ends; a 429 after
            # that was sent at the lower rate, and teaches again
            self._calm_after = now + seconds
        self._paused_until = max(self._paused_until, now + seconds)
        self._learned_at = self._paused_until
        self._kick()

    # --- the dispatcher ------------------------------------------------------------------

    def _kick(self) -> None:
        if self._arrived is not None:
            self._arrived.set()
        if self._waiting and (self._dispatcher is None or self._dispatcher.done()):
            self._arrived = asyncio.Event()
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())

    async def _dispatch(self) -> None:
        while self._waiting:
            now = self.clock()
            start = max(self._next, self._paused_until)
            if now < start:
                await self._sleep(start - now)  # a newcomer waits for this slot anyway
                continue
            entry, ready_at = self._pick(now)
            if entry is None:
                if not self._waiting:
                    break
                # every waiting send waits for its chat: until the first chat may, or a newcomer
                await self._nap(ready_at - now)
                continue
            self._grant(entry, now)

    def _pick(self, now: float) -> tuple[tuple | None, float]:
        """Return the first waiting send (by priority, then arrival) whose chat may get one,
        or None and when the first chat may."""
        ready_at = float("inf")
        for entry in list(self._waiting):
            chat, future = entry[2], entry[3]
            if future.done():  # cancelled
                self._waiting.remove(entry)
                continue
            if chat is None:
                return entry, now
            when = self._chat_ready(chat, now)
            if when <= now:
                return entry, now
            ready_at = min(ready_at, when)
        return None, ready_at

    def _grant(self, entry: tuple, now: float) -> None:
        self._waiting.remove(entry)
        self._learn(now)
        interval = 1.0 / self.rate_for(Priority(entry[0]))
        # a slot a little late keeps the schedule (the loop wakes a bit after the time); one
        # after an idle spell starts it afresh: no burst after a pause
        late = now - self._next
        base = self._next if 0 <= late < interval * self.budget.catch_up else now
        self._next = base + interval
        chat = entry[2]
        if chat is not None and self._chat_limit(chat)[0] > 0:
            self._chat(chat, now).tokens -= 1.0
        self.granted += 1
        entry[3].set_result(None)

    def _learn(self, now: float) -> None:
        """Raise the rate for the time since it was last raised: quickly to a little below the
        last 429's rate, slowly above it."""
        if self._rate >= self.budget.rate or now < self._learned_at:
            return
        seconds, budget = now - self._learned_at, self.budget
        below = min(budget.rate, self._ceiling * (1 - budget.margin))
        if self._rate < below:
            self._rate = min(below, self._rate + budget.rate * budget.recovery * seconds)
        else:
            self._rate = min(budget.rate, self._rate + budget.rate * budget.probe * seconds)
        self._learned_at = now

    async def _nap(self, seconds: float) -> None:
        """Sleep `seconds`, or until a send arrives."""
        arrived = self._arrived
        if arrived is None:
            await self._sleep(seconds)
            return
        arrived.clear()
        napping = asyncio.ensure_future(self._sleep(max(0.0, seconds)))
        woken = asyncio.ensure_future(arrived.wait())
        try:
            await asyncio.wait({napping, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (napping, woken):
                task.cancel()

    # --- chats ---------------------------------------------------------------------------

    def _chat_limit(self, chat: str) -> tuple[float, float]:
        if self._chat_budget is not None:
            return self._chat_budget(chat)
        return self.budget.chat_rate, self.budget.chat_burst

    def _chat(self, chat: str, now: float) -> _Chat:
        state = self._chats.get(chat)
        rate, burst = self._chat_limit(chat)
        if state is None:
            if len(self._chats) >= PRUNE_AT:
                self._prune(now)
            state = self._chats[chat] = _Chat(burst, now)
        elif now > state.at:
            state.tokens = min(burst, state.tokens + (now - state.at) * rate)
            state.at = now
        return state

    def _chat_ready(self, chat: str, now: float) -> float:
        """Return when `chat` may get its next send."""
        rate, _burst = self._chat_limit(chat)
        if rate <= 0:
            return now
        state = self._chat(chat, now)
        if state.tokens >= 1.0:
            return max(now, state.at)
        return max(now, state.at) + (1.0 - state.tokens) / rate

    def _prune(self, now: float) -> None:
        """Forget the chats whose buckets are full again."""
        for chat, state in list(self._chats.items()):
            rate, burst = self._chat_limit(chat)
            if rate <= 0 or state.tokens + (now - state.at) * rate >= burst:
                del self._chats[chat]


@contextlib.contextmanager
def by(deadline: float) -> Iterator[None]:
    """Give the next `turn` in this task until `deadline` (on the pacer's clock): `Late` when
    its slot has not come by then (a reply left to the queue rather than sent after a wait
    so long that the queue may take it over)."""
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


@contextlib.contextmanager
def paid() -> Iterator[None]:
    """Mark the next `turn` in this task as taken already (by the drain, for its row)."""
    token = _PAID.set(True)
    try:
        yield
    finally:
        _PAID.reset(token)
