"""The fast path of direct replies: a step's replies are rows of the outbound queue, written
with the step (handlers/engine.py) and claimed for the process that ran it; that process sends
them at once, in order, and records them as sent, each send in its turn of the platform's
pacer, before anything the queue sends (bot/pacing.py). The wait for a turn comes after the
step was saved, outside the engine's answer_within: a reply that waits is late, never the
apology. The rows are the truth: a reply not out when the process dies goes out through the
queue once its claim is abandoned, and one the platform cannot take now (an outage, a long
429) is handed to the queue."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy import Engine as Database

from bot import pacing
from bot.outbound import RetryLater, SendFailed, Unknown, Unreachable
from bot.pacing import Late
from handlers.messages import Reply
from storage import outbox
from storage.types import utcnow

log = logging.getLogger(__name__)

# a reply not handed over this long after its step (the process froze, or waited that long
# for its turn: a burst of answers beyond the platform's limit) is left to the queue: a row
# `sending` much longer is taken for abandoned, and the queue would send it as well
FENCE = timedelta(seconds=30)


class FastPath:
    """Send a step's replies at once under this process's claim, and record the outcome."""

    def __init__(self, database: Database, claim: str, clock=utcnow) -> None:
        self.database = database
        self.claim = claim
        self.clock = clock
        self._waiting: list[tuple[Outcome, asyncio.Future]] = []  # outcomes to write next
        self._writer: asyncio.Task | None = None

    async def send(self, replies: list[Reply], send_one: Callable[[Reply], Awaitable[None]]):
        """Send the replies in order with `send_one`, which raises the queue's errors
        (RetryLater, Unreachable, SendFailed and the like); record the queued ones as sent,
        give up one refused for good, and give the rest to the queue when one cannot go now
        (after what the platform asked to wait)."""
        started = time.monotonic()
        deadline = started + FENCE.total_seconds()
        outcome = Outcome()
        for index, reply in enumerate(replies):
            if time.monotonic() > deadline:
                outcome.hand_over(replies[index:], "not sent at once: late")
                break
            try:
                with pacing.by(deadline):
                    await send_one(reply)
            except Late:  # its turn did not come in time: the queue sends it (never sent)
                outcome.hand_over(replies[index:], "not sent at once: late")
                break
            except RetryLater as error:
                outcome.hand_over(replies[index:], str(error), error.seconds)
                break
            except Unknown as error:  # it may have arrived: again, counted as a doubt
                outcome.hand_over(replies[index:], error.reason, doubtful=True)
                break
            except Unreachable as error:
                outcome.give_up(replies[index:], error.reason)
                break
            except SendFailed as error:
                if error.transient:
                    outcome.hand_over(replies[index:], error.reason)
                    break
                outcome.give_up([reply], error.reason)  # refused for good: the rest go on
            except Exception as error:  # an outage, no answer, a bug: the queue goes on
                outcome.hand_over(replies[index:], getattr(error, "reason", type(error).__name__))
                break
            else:
                if reply.queued is not None:
                    outcome.sent.append(reply.queued)
        if outcome:
            try:
                await self._record(outcome)
            except Exception:  # the rows stay claimed; the queue takes them once abandoned
                log.warning("the outcome of direct replies could not be recorded", exc_info=True)

    async def _record(self, outcome: "Outcome") -> None:
        """Write an outcome, together with those of the other chats that wait meanwhile (one
        transaction for all: many residents answered at once cost one commit)."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((outcome, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        await done

    async def _write_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await asyncio.to_thread(self._write, [outcome for outcome, _done in batch])
            except Exception as error:
                for _outcome, done in batch:
                    done.set_exception(error)
            else:
                for _outcome, done in batch:
                    done.set_result(None)

    def _write(self, outcomes: list["Outcome"]) -> None:
        now = self.clock()
        with self.database.begin() as db:
            for outcome in outcomes:
                self._write_one(db, outcome, now)

    def _write_one(self, db: Connection, outcome: "Outcome", now: datetime) -> None:
        claim = self.claim
        for outbound_id in outcome.sent:
            outbox.mark_sent(db=db, outbound_id=outbound_id, now=now, claim=claim)
        for outbound_id, reason in outcome.given_up:
            outbox.mark_failed(db=db, outbound_id=outbound_id, error=reason, claim=claim)
        at = now + timedelta(seconds=outcome.wait)
        for number, outbound_id in enumerate(outcome.left):
            if number == 0 and outcome.doubtful:
                outbox.retry_later(
                    db=db,
                    outbound_id=outbound_id,
                    at=at,
                    error=outcome.reason,
                    doubtful=True,
                    claim=claim,
                )
            else:  # never left: the queue sends it, keeping its tries
                outbox.hand_back(
                    db=db, outbound_id=outbound_id, at=at, error=outcome.reason, claim=claim
                )


@dataclass
class Outcome:
    """What became of a step's queued replies on the fast path."""

    sent: list[int] = field(default_factory=list)
    given_up: list[tuple[int, str]] = field(default_factory=list)
    left: list[int] = field(default_factory=list)  # for the queue
    reason: str = ""
    wait: float = 0.0  # seconds before the queue may send what is left
    doubtful: bool = False  # the first left may have arrived (no answer came)

    def __bool__(self) -> bool:
        return bool(self.sent or self.given_up or self.left)

    def hand_over(
        self, replies: list[Reply], reason: str, wait: float = 0.0, *, doubtful: bool = False
    ) -> None:
        """Leave these replies to the queue (`doubtful`: the first may have arrived)."""
        self.left = queued_ids(replies)
        self.reason, self.wait = reason, wait
        self.doubtful = doubtful and bool(replies) and replies[0].queued is not None

    def give_up(self, replies: list[Reply], reason: str) -> None:
        """Give these replies up, with the reason."""
        self.given_up += [(outbound_id, reason) for outbound_id in queued_ids(replies)]


def queued_ids(replies: list[Reply]) -> list[int]:
    """Return the outbound rows of the replies that have one."""
    return [reply.queued for reply in replies if reply.queued is not None]
