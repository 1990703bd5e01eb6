"""Share each platform's limit between the processes that send to it.

Each process answers its own residents through its channel's pacer, and the one holding a
channel's lease drains the queue through it too. Twice a second `RateSharing` writes how
fast this process sent to each platform lately and reads how fast the others did
(storage/send_rates.py); each pacer then leaves the others that much, and some room, before
it spaces reminders and bulk (bot/pacing.py), so that a broadcast drained in one process takes
what the replies of all of them leave, not the whole limit on top of them. Replies leave the
others what they send too, up to their fair share: in a burst of answers every process
answers at its share of the limit, and an idle one leaves the busy one the whole.

The room is for the replies' ups and downs: residents write when they write, and a reply that
comes on top of a second's full bulk is answered 429 and waits a second or more. Over a second
the replies of a process sending `r` a second on average vary by about the square root of `r`
(they come like a Poisson stream), so each other process is left `r + 2·sqrt(r) + 2`: at 30
a second and nobody writing, a broadcast still goes at 27 a second; with another process
answering 4 a second, at 19, and the two together at 23 while the replies go at once.
"""

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import Engine as Database

from bot import metrics
from bot.pacing import Pacer
from storage import send_rates
from storage.types import utcnow

log = logging.getLogger(__name__)

EVERY = 0.5  # seconds between two writes: a rise in a process's replies is seen within one
FRESH = 3  # a process that has not written for this many intervals has stopped
SPAN = 2.0  # seconds a process's rate is measured over: one busy second is not a trend
ROOM = 2.0  # sends a second left to another process beyond its rate and its ups and downs


def room_for(rates: Iterable[float]) -> float:
    """Return what to leave the other processes sending at `rates`: each its rate, twice its
    ups and downs over a second (the square root of a Poisson stream's rate) and two more."""
    return sum(rate + 2 * math.sqrt(rate) + ROOM for rate in rates)


def rate_since(counted: deque, now: float, granted: int, seconds: float) -> float:
    """Return the rate of the sends granted since the latest count at least `seconds` old (or
    the oldest one there is)."""
    since, before = counted[0]
    for at, count in counted:
        if at > now - seconds:
            break
        since, before = at, count
    return (granted - before) / max(now - since, 1e-3)


def replies_room(rates: list[float], pacer: Pacer) -> float:
    """Return what this process's replies leave the other processes sending at `rates`: what
    they send, but no more than their fair share of the rate (all busy answering a burst,
    each process answers its share: half the limit with two)."""
    fair = pacer.budget.rate * len(rates) / (len(rates) + 1)
    return min(sum(rates), fair)


class RateSharing:
    """Write this process's send rate per platform twice a second, and tell each pacer the
    others'."""

    def __init__(
        self,
        database: Database,
        pacers: dict[str, Pacer],
        *,
        holder: str,
        every: float = EVERY,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.pacers = pacers  # by channel
        self.holder = holder
        self.every = every
        self.clock = clock
        self.now = now
        # each pacer's (time, sends granted so far), over the last SPAN seconds
        self._counted = {
            channel: deque([(clock(), pacer.granted)]) for channel, pacer in pacers.items()
        }

    def rates(self) -> dict[str, float]:
        """Return the rate each pacer granted sends at: over the last second or over the last
        SPAN seconds, whichever is higher (told at once when residents start writing, and
        forgotten slowly when they stop)."""
        rates = {}
        now = self.clock()
        for channel, pacer in self.pacers.items():
            counted = self._counted[channel]
            counted.append((now, pacer.granted))
            while len(counted) > 2 and counted[1][0] <= now - SPAN:
                counted.popleft()
            rates[channel] = max(
                rate_since(counted, now, pacer.granted, 1.0),
                rate_since(counted, now, pacer.granted, SPAN),
            )
        return rates

    def share(self) -> dict[str, float]:
        """Write this process's rates, tell each pacer what to leave the others; return that
        by channel."""
        rates, now = self.rates(), self.now()
        fresh = timedelta(seconds=self.every * FRESH)
        left = {}
        with self.database.begin() as db:
            for channel, rate in rates.items():
                others = send_rates.share(
                    db=db, channel=channel, holder=self.holder, rate=rate, now=now, fresh=fresh
                )
                left[channel] = (room_for(others), replies_room(others, self.pacers[channel]))
        for channel, (room, replies) in left.items():
            self.pacers[channel].leave(room, replies)
            metrics.shared(channel, rates[channel], room)
        return {channel: room for channel, (room, _replies) in left.items()}

    async def run(self) -> None:
        """Share once every `every` seconds until cancelled; a database that does not answer
        leaves the last figures for a few intervals, then the whole rate to this process's
        replies again (the pacers still learn from 429s)."""
        missed = 0
        while True:
            await asyncio.sleep(self.every)
            try:
                await asyncio.to_thread(self.share)
                missed = 0
            except Exception:
                missed += 1
                if missed == FRESH:
                    log.warning("could not share the send rates", exc_info=True)
                    for pacer in self.pacers.values():
                        pacer.leave(0.0)

    def forget(self) -> None:
        """Remove this process's rows at the end, so the others take the whole limit at once."""
        with self.database.begin() as db:
            send_rates.forget(db=db, holder=self.holder)
