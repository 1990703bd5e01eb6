"""A broadcast drained through the real Telegram adapter to the fake Bot API held to a sliding
window (tests/fake_limits.py), while residents write to the bot: what tests/test_outbound_pacing.py
asserts and bench/pacing.py prints.

The bulk (`messages` announcements, one to each of as many residents) is written with bulk
inserts; the real drain (bot/outbound.py) sends it through `TelegramChannel.deliver`, and the
residents' updates come in by the webhook path (`TelegramChannel.feed`), so a reply's time runs
from the moment its update is handed to the bot to the moment the fake server receives the
answer: no getUpdates polling and none of the platform's own time in it.
"""

import asyncio
import statistics
import time
from dataclasses import dataclass, field, replace
from datetime import time as daytime
from datetime import timedelta
from itertools import count

from sqlalchemy import func, select, text

from bot.app import workers_for
from bot.channels.telegram import Settings, TelegramChannel
from bot.outbound import Drainer, Limits, QuietHours
from bot.rate_sharing import RateSharing
from handlers import flows, hints
from handlers.engine import Engine
from handlers.i18n import LANGUAGES, translations
from handlers.steps import EngineConfig
from storage.outbox import Outbound, OutboundKind, OutboundStatus
from storage.residents import ChannelIdentity, Resident
from storage.types import utcnow
from tests import telegram_updates as tg
from tests.fake_telegram import FakeBotAPI

BULK_USER = 700_000_000  # the broadcast's residents: BULK_USER + 1, + 2, ...
WRITER_USER = 800_000_000  # residents who write while it drains
CHUNK = 5_000  # rows a bulk insert
NEVER = daytime(0, 0)  # quiet hours from midnight to midnight: none
_update_ids = count(1)


@dataclass
class Figures:
    """What a run measured."""

    limit: float  # the server's messages a second
    bulk: int = 0  # broadcast messages delivered
    sent: int = 0  # messages accepted while it drained, the broadcast's and the answers
    seconds: float = 0.0  # from the first broadcast call to the last accepted one
    calls: int = 0  # sendMessage calls, accepted or not
    refused: int = 0  # of them answered 429
    unfinished: int = 0  # queued rows neither sent nor failed at the end
    replies: list[float] = field(default_factory=list)  # seconds from update to answer
    # broadcast messages still to go when each resident's answer went out
    bulk_left_at_reply: list[int] = field(default_factory=list)
    # broadcast messages sent between a resident's update and its answer
    bulk_before_reply: list[int] = field(default_factory=list)
    unanswered: int = 0
    apologies: int = 0  # residents told something went wrong on our side

    @property
    def rate(self) -> float:
        """Messages a second accepted while the broadcast drained (answers included: they
        take their share of the same budget)."""
        return (self.sent - 1) / self.seconds if self.seconds > 0 else float("nan")

    @property
    def bulk_rate(self) -> float:
        return (self.bulk - 1) / self.seconds if self.seconds > 0 else float("nan")

    @property
    def share(self) -> float:
        """The achieved rate as a share of the server's limit."""
        return self.rate / self.limit

    @property
    def refused_share(self) -> float:
        return self.refused / self.calls if self.calls else 0.0

    def reply_percentile(self, share: float) -> float:
        """Return a percentile of the replies' times (0.5: the median), in seconds."""
        if not self.replies:
            return float("nan")
        if len(self.replies) == 1:
            return self.replies[0]
        cuts = statistics.quantiles(self.replies, n=100, method="inclusive")
        return cuts[max(0, min(98, round(share * 100) - 1))]


def queue_bulk(database, messages: int) -> None:
    """Write one consented resident, one Telegram chat and one queued announcement each."""
    now = utcnow()
    people = [
        {"id": n, "language": "id", "opted_out": False, "consent_at": now}
        | {"created_at": now, "updated_at": now}
        for n in range(1, messages + 1)
    ]
    identities = [
        {"id": n, "resident_id": n, "channel": "telegram", "external_id": str(BULK_USER + n)}
        | {"created_at": now}
        for n in range(1, messages + 1)
    ]
    rows = [
        {
            "resident_id": n,
            "identity_id": n,
            "channel": "telegram",
            "kind": OutboundKind.ANNOUNCEMENT,
            "text": f"Pengumuman nomor {n}: pembagian sembako Sabtu 08.00 di kantor kelurahan.",
            "not_before": now,
            "status": OutboundStatus.PENDING,
            "attempts": 0,
            "created_at": now,
        }
        for n in range(1, messages + 1)
    ]
    with database.begin() as db:
        for table, values in (
            (Resident.__table__, people),
            (ChannelIdentity.__table__, identities),
            (Outbound.__table__, rows),
        ):
            for start in range(0, len(values), CHUNK):
                db.execute(table.insert(), values[start : start + CHUNK])
        if db.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for table in ("residents", "channel_identities"):
                db.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :last)"),
                    {"last": messages},
                )


def unfinished(database) -> int:
    """Return how many queued messages are neither sent nor failed."""
    table = Outbound.__table__
    with database.connect() as db:
        return db.execute(
            select(func.count()).where(
                table.c.status.in_((OutboundStatus.PENDING, OutboundStatus.SENDING))
            )
        ).scalar_one()


async def drain_while_residents_write(
    database,
    *,
    messages: int,
    limit: float,
    window: float = 1.0,
    rate: float | None = None,
    writers: int = 20,
    write_every: float = 0.5,
    in_flight: int = 8,
    timeout: float = 600.0,
    seconds: float | None = None,
    apart: bool = False,
) -> Figures:
    """Queue a broadcast and drain it against a server that lets `limit` a second through
    over any `window`, the pacer set to `rate` (the limit unless given); meanwhile `writers`
    residents write once each, `write_every` seconds apart. With `seconds`, measure that long
    from the first broadcast message and stop with the rest still queued (a broadcast of
    100,000 takes an hour at the limit; its claims cost what they cost from the first minute).
    With `apart`, the residents write to a second program on the same database, as with two
    processes behind a webhook: it answers them through a pacer of its own, and the two share
    the limit through their send rates (bot/rate_sharing.py, every quarter of a second).
    Return the figures."""
    queue_bulk(database, messages)
    config = EngineConfig(
        workers=workers_for(database),
        queued_replies=frozenset({"telegram"}),  # replies are rows of the queue, as in the program
        reply_claim="reply:pacing",
    )
    engine = Engine(database, flows.build(), config)
    figures = Figures(limit)
    async with FakeBotAPI() as fake:
        fake.limit_window(limit, window)
        settings = Settings(token=fake.token, base_url=fake.base_url, rate=rate or limit)
        channel = TelegramChannel(settings, engine, database, reply_claim="reply:pacing")
        await channel.start()
        drainer = Drainer(channel, database, Limits(in_flight=in_flight), QuietHours(NEVER, NEVER))
        drainer.permit(utcnow() + timedelta(days=1))
        draining = asyncio.create_task(drainer.run(poll=timedelta(seconds=0.2)))
        answering, other = channel, None
        if apart:
            other_engine = Engine(database, flows.build(), replace(config, reply_claim="reply:b"))
            other = TelegramChannel(settings, other_engine, database, reply_claim="reply:b")
            await other.start()
            answering = other
            sharing = [
                RateSharing(database, {"telegram": program.pacer}, holder=holder, every=0.25)
                for program, holder in ((channel, "a"), (other, "b"))
            ]
            shared = [asyncio.create_task(program.run()) for program in sharing]
        written: dict[int, tuple[float, int]] = {}  # chat → (when, broadcast sent by then)
        try:
            deadline = time.monotonic() + timeout
            await fake.wait_for(lambda f: bulk_sent(f) >= min(messages, 2 * limit), 60)
            began = time.monotonic()
            for number in range(writers):
                if bulk_sent(fake) >= messages - limit:  # only while the broadcast drains
                    break
                if seconds is not None and time.monotonic() - began >= seconds:
                    break
                chat = WRITER_USER + number
                update = tg.text("halo", user_id=chat) | {"update_id": next(_update_ids)}
                written[chat] = (time.monotonic(), bulk_sent(fake))
                await answering.feed(update)
                await asyncio.sleep(write_every)
            while (
                seconds is None
                and await asyncio.to_thread(unfinished, database)
                and time.monotonic() < deadline
            ):
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.5 if seconds is None else 2.0)  # the last answers' records
        finally:
            drainer.stop()
            await draining
            drainer.close()
            await channel.stop()
            engine.close()
            if other is not None:
                for task in shared:
                    task.cancel()
                await other.stop()
                other.engine.close()
        figures.unfinished = await asyncio.to_thread(unfinished, database)
    measure(fake, figures, written, messages)
    return figures


def chat_of(call) -> int:
    return int(call.params.get("chat_id", 0))


def is_bulk(call) -> bool:
    return BULK_USER < chat_of(call) <= BULK_USER + 10_000_000


def bulk_sent(fake: FakeBotAPI) -> int:
    """Return how many broadcast messages the server accepted so far."""
    return sum(1 for c in fake.calls("sendMessage") if not c.failed and is_bulk(c))


def measure(fake: FakeBotAPI, figures: Figures, written: dict, messages: int) -> None:
    """Read the figures off the calls the server received."""
    calls = fake.calls("sendMessage")
    figures.calls = len(calls)
    figures.refused = sum(1 for c in calls if c.failed)
    accepted = [c for c in calls if not c.failed and is_bulk(c)]
    figures.bulk = len({chat_of(c) for c in accepted})
    bulk_calls = [c for c in calls if is_bulk(c)]
    if accepted:
        start, end = bulk_calls[0].at, accepted[-1].at
        figures.seconds = end - start
        figures.sent = sum(1 for c in calls if not c.failed and start <= c.at <= end)
    sent_so_far = 0
    answered: dict[int, int] = {}
    for call in calls:
        if call.failed:
            continue
        if is_bulk(call):
            sent_so_far += 1
        elif chat_of(call) in written and chat_of(call) not in answered:
            chat = chat_of(call)
            at, before = written[chat]
            answered[chat] = sent_so_far
            figures.replies.append(call.at - at)
            figures.bulk_before_reply.append(sent_so_far - before)
            figures.bulk_left_at_reply.append(messages - sent_so_far)
    figures.unanswered = len(written) - len(answered)
    sorry = {hints.error_hint(translations(language).gettext) for language in LANGUAGES}
    to_writers = [c for c in calls if not c.failed and chat_of(c) in written]
    figures.apologies = sum(1 for c in to_writers if c.params.get("text") in sorry)
