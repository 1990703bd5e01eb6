"""The pacer end to end, over real HTTP: a broadcast drained through the Telegram adapter to
the fake Bot API held to a sliding window (tests/fake_limits.py), on the test's database, while
residents write (tests/pacing_harness.py). Real time: each run lasts a few seconds."""

import asyncio
import io
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import replying
from bot.app import workers_for
from bot.channels.console import ConsoleSender
from bot.channels.telegram import Settings, TelegramChannel
from bot.outbound import Drainer, Limits, QuietHours
from handlers import flows, hints
from handlers.engine import Engine
from handlers.i18n import LANGUAGES, translations
from handlers.steps import EngineConfig
from storage import outbox, residents
from storage.outbox import Outbound, OutboundKind, OutboundStatus
from storage.types import utcnow
from tests import telegram_updates as tg
from tests.fake_telegram import FakeBotAPI
from tests.pacing_harness import NEVER, drain_while_residents_write

LIMIT = 40.0  # messages a second over any second, as the server counts
SITI = 1001
RATE = LIMIT * 0.97  # the pacer set a little below the platform's limit, as TELEGRAM_RATE is


def replying_engine(database, **config) -> Engine:
    """The engine with Telegram's replies as rows of the queue, as in the program."""
    config = EngineConfig(
        workers=workers_for(database),
        queued_replies=frozenset({"telegram"}),
        reply_claim="reply:pacing",
        **config,
    )
    return Engine(database, flows.build(), config)


async def started_channel(database, engine: Engine, fake: FakeBotAPI) -> TelegramChannel:
    """The Telegram adapter on the fake Bot API, started, sending replies by its fast path."""
    settings = Settings(token=fake.token, base_url=fake.base_url)
    channel = TelegramChannel(settings, engine, database, reply_claim="reply:pacing")
    await channel.start()
    return channel


async def test_a_drain_reaches_the_limit_with_hardly_a_429(database) -> None:
    figures = await drain_while_residents_write(
        database, messages=240, limit=LIMIT, rate=RATE, writers=0
    )
    assert figures.bulk == 240 and figures.unfinished == 0
    assert figures.share >= 0.90, f"{figures.rate:.1f}/s against {LIMIT:g}/s"
    assert figures.refused_share < 0.01, f"{figures.refused} of {figures.calls} answered 429"


async def test_a_pacer_set_above_the_limit_learns_it(database) -> None:
    figures = await drain_while_residents_write(
        database, messages=240, limit=LIMIT, rate=LIMIT * 2, writers=0
    )
    assert figures.bulk == 240 and figures.unfinished == 0
    # each 429 lowers the rate once: a handful, not one after every pause
    assert 1 <= figures.refused <= 20, f"{figures.refused} of {figures.calls} answered 429"
    assert figures.share >= 0.5, f"{figures.rate:.1f}/s against {LIMIT:g}/s"


async def test_an_answer_written_while_bulk_drains_goes_before_the_rest_of_it(database) -> None:
    figures = await drain_while_residents_write(
        database, messages=200, limit=LIMIT, rate=RATE, writers=3, write_every=0.5
    )
    assert figures.unanswered == 0 and figures.apologies == 0
    assert len(figures.replies) == 3
    # the answer takes the next free slot: at most the sends already in flight go first
    assert max(figures.bulk_before_reply) <= 9, figures.bulk_before_reply
    assert min(figures.bulk_left_at_reply) > 40, figures.bulk_left_at_reply
    assert figures.refused_share < 0.01


async def test_an_answer_waiting_for_the_pacer_is_sent_and_no_apology(database) -> None:
    # the step is saved well within answer_within; the wait for the platform comes after it
    engine = replying_engine(database, answer_within=timedelta(seconds=2))
    async with FakeBotAPI() as fake:
        channel = await started_channel(database, engine, fake)
        try:
            channel.pacer.slow_down(4.0)  # Telegram asked every send to wait, longer than that
            started = time.monotonic()
            await channel.feed(tg.text("halo", user_id=SITI) | {"update_id": 1})
            await fake.wait_for(lambda f: bool(f.sent_texts(SITI)), 15)
            waited = time.monotonic() - started
        finally:
            await channel.stop()
            engine.close()
    assert waited >= 3.5  # it waited for the pause, past answer_within
    [answer] = fake.sent_texts(SITI)
    assert "Selamat datang" in answer
    sorry = {hints.error_hint(translations(language).gettext) for language in LANGUAGES}
    assert answer not in sorry
    table = Outbound.__table__
    with database.connect() as db:
        [status] = db.execute(select(table.c.status).where(table.c.kind == "reply")).scalars()
    assert status == OutboundStatus.SENT  # recorded by the fast path, not left to the queue


async def test_an_answer_whose_turn_does_not_come_in_time_goes_by_the_queue_once(
    database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a burst beyond the platform's limit: a reply that would wait longer than the fence is
    # left to the queue unsent, rather than sent after the queue took it for abandoned
    monkeypatch.setattr(replying, "FENCE", timedelta(seconds=1))
    engine = replying_engine(database)
    table = Outbound.__table__
    async with FakeBotAPI() as fake:
        channel = await started_channel(database, engine, fake)
        try:
            channel.pacer.slow_down(3.0)  # every send waits three seconds: past the fence
            started = time.monotonic()
            await channel.feed(tg.text("halo", user_id=SITI) | {"update_id": 1})

            def handed_over() -> bool:
                with database.connect() as db:
                    rows = db.execute(select(table).where(table.c.kind == "reply")).all()
                return bool(rows) and rows[0].status == OutboundStatus.PENDING

            while not handed_over():
                assert time.monotonic() - started < 10
                await asyncio.sleep(0.05)
            assert time.monotonic() - started < 2.5  # at the fence, not after the pause
            assert fake.sent_texts(SITI) == []
            with database.connect() as db:
                [row] = db.execute(select(table).where(table.c.kind == "reply")).all()
            assert row.doubts == 0  # it never left: no doubt, no try counted
            assert row.last_error == "not sent at once: late"
            # the queue sends it once the pause is over, and only the queue
            drainer = Drainer(channel, database, Limits(), QuietHours(NEVER, NEVER))
            drainer.permit(utcnow() + timedelta(minutes=1))
            while not fake.sent_texts(SITI):
                assert time.monotonic() - started < 15
                await drainer.drain_once()
                await asyncio.sleep(0.1)
            drainer.close()
            await asyncio.sleep(0.3)
        finally:
            await channel.stop()
            engine.close()
    [answer] = fake.sent_texts(SITI)
    assert "Selamat datang" in answer
    with database.connect() as db:
        [status] = db.execute(select(table.c.status).where(table.c.kind == "reply")).scalars()
    assert status == OutboundStatus.SENT


async def test_a_stop_does_not_wait_for_a_paused_pacer(database) -> None:
    with database.begin() as db:
        profile, _identity = residents.create_resident(
            db=db, channel="console", external_id="siti", language="id", now=utcnow()
        )
        queued = outbox.enqueue(
            db=db, resident_id=profile.id, kind=OutboundKind.REMINDER, text="Besok", now=utcnow()
        )
    printed = io.StringIO()
    drainer = Drainer(ConsoleSender(printed), database, Limits(), QuietHours(NEVER, NEVER))
    drainer.permit(utcnow() + timedelta(minutes=1))
    drainer.pacer.slow_down(60.0)  # told to wait a minute
    draining = asyncio.create_task(drainer.drain_once())
    await asyncio.sleep(0.3)
    started = time.monotonic()
    drainer.stop()
    assert await asyncio.wait_for(draining, 5) == 1
    drainer.close()
    assert time.monotonic() - started < 2
    assert printed.getvalue() == ""  # not sent, and back in the queue
    table = Outbound.__table__
    with database.connect() as db:
        [status] = db.execute(select(table.c.status).where(table.c.id == queued)).scalars()
    assert status == OutboundStatus.PENDING


async def test_two_programs_share_the_limit_and_answers_go_first(database) -> None:
    # one drains a broadcast, the other answers residents writing four times a second: the
    # broadcast takes what the answers leave, and the two together stay within the limit
    figures = await drain_while_residents_write(
        database, messages=400, limit=LIMIT, rate=RATE, writers=24, write_every=0.25, apart=True
    )
    assert figures.unanswered == 0 and figures.apologies == 0
    assert figures.refused_share < 0.01, f"{figures.refused} of {figures.calls} answered 429"
    # the broadcast leaves the answers their rate and room for their ups and downs
    assert figures.share >= 0.8, f"{figures.rate:.1f}/s against {LIMIT:g}/s"
    assert figures.reply_percentile(0.99) < 0.3, sorted(figures.replies)[-3:]
