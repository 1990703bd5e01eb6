"""Nothing a resident writes is lost: each delivery is stored before the platform is told it
arrived, handled from the store, and a reply is a row of the outbound queue, written with its
step and sent at once, or by the queue when it cannot go at once. Against the fake Bot API and
Graph API on 127.0.0.1, with the real channels."""

import asyncio
import socket
import subprocess
import sys
from datetime import timedelta

import httpx
from sqlalchemy import event, select

from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import WhatsAppChannel
from bot.inbox import Inbox
from bot.outbound import Beat, Drainer, Limits
from handlers import flows
from handlers.engine import Engine
from handlers.messages import Incoming, Kind, Option, Place, Reply, Request
from handlers.reply_data import incoming_data, incoming_of, reply_data, reply_of
from handlers.steps import EngineConfig
from storage import inbox
from storage.inbox import InboxEntry
from storage.outbox import Outbound, OutboundKind, OutboundStatus
from tests import telegram_updates as tg
from tests.conftest import TEST_KEY
from tests.fake_telegram import FakeBotAPI
from tests.fake_whatsapp import FakeGraphAPI
from tests.test_telegram import SITI, start_channel
from tests.test_whatsapp import SITI as WA_SITI
from tests.test_whatsapp import channel_settings, signed_webhook

LIMITS = Limits(rate=1000, chat_interval=timedelta(0), backoff=timedelta(seconds=1))


def replies_of(database, kind: str = OutboundKind.REPLY) -> list[Outbound]:
    """Return the outbound rows of a kind, oldest first."""
    with database.connect() as db:
        rows = db.execute(select(Outbound).where(Outbound.kind == kind).order_by(Outbound.id))
        return [Outbound.model_validate(row._asdict()) for row in rows]


def stored(database) -> list[InboxEntry]:
    """Return the deliveries waiting in the inbox."""
    with database.connect() as db:
        return [InboxEntry.model_validate(row._asdict()) for row in db.execute(select(InboxEntry))]


async def settled(database, check, timeout: float = 5.0) -> None:
    """Wait until `check(database)` holds (the fast path records after it sent)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check(database):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the database never settled")
        await asyncio.sleep(0.02)


# -- the store -----------------------------------------------------------------------------------


def test_a_delivery_is_stored_once_and_forgotten_when_handled(database, clock) -> None:
    with database.begin() as db:
        first = inbox.store(db=db, channel="telegram", entries=[("7", {"a": 1})], now=clock())
        again = inbox.store(
            db=db, channel="telegram", entries=[("7", {"a": 1}), ("8", {"b": 2})], now=clock()
        )
        other = inbox.store(db=db, channel="whatsapp", entries=[("7", {"c": 3})], now=clock())
    assert [entry.key for entry in first] == ["7"]
    assert [entry.key for entry in again] == ["8"]  # 7 is in hand already
    assert [entry.payload for entry in other] == [{"c": 3}]  # keys are per channel
    with database.begin() as db:
        inbox.forget(db=db, ids=[first[0].id])
    assert sorted((e.channel, e.key) for e in stored(database)) == [
        ("telegram", "8"),
        ("whatsapp", "7"),
    ]


async def test_deliveries_that_come_in_together_are_stored_in_one_transaction(
    database, clock
) -> None:
    commits = []

    def count(connection) -> None:
        commits.append(connection)

    event.listen(database, "commit", count)
    try:
        keeper = Inbox(database, "whatsapp", handle=lambda entry: None, clock=clock)
        keys = [[(f"wamid.{n}", {"n": n})] for n in range(50)] + [[("wamid.7", {"again": 1})]]
        kept = await asyncio.gather(*(keeper.keep(entries) for entries in keys))
    finally:
        event.remove(database, "commit", count)
    assert [len(entries) for entries in kept] == [1] * 50 + [0]  # wamid.7 was in hand already
    assert kept[7][0].payload == {"n": 7}
    assert len(commits) <= 2  # the first alone, the 50 others together: not one each
    assert sorted(entry.key for entry in stored(database)) == sorted(
        f"wamid.{n}" for n in range(50)
    )
    with database.begin() as db:  # the same key twice in one call is kept once
        twice = inbox.store(
            db=db, channel="telegram", entries=[("9", {"a": 1}), ("9", {"b": 2})], now=clock()
        )
    assert [(entry.key, entry.payload) for entry in twice] == [("9", {"a": 1})]


def test_what_is_left_is_taken_again_a_few_times_then_dropped(database, clock) -> None:
    with database.begin() as db:
        inbox.store(db=db, channel="telegram", entries=[("1", {})], now=clock())
    minute = timedelta(minutes=1)
    with database.begin() as db:
        assert inbox.left_over(db=db, channel="telegram", now=clock(), older_than=minute) == []
    for _try in range(inbox.GIVE_UP_AFTER):
        clock.advance(minutes=2)
        with database.begin() as db:
            taken = inbox.left_over(db=db, channel="telegram", now=clock(), older_than=minute)
        assert [entry.key for entry in taken] == ["1"]
    clock.advance(minutes=2)
    with database.begin() as db:  # it failed every time: dropped, not taken for ever
        assert inbox.left_over(db=db, channel="telegram", now=clock(), older_than=minute) == []
    assert stored(database) == []


def test_what_waits_its_turn_in_this_process_is_neither_taken_again_nor_tried(
    database, clock
) -> None:
    with database.begin() as db:
        mine, orphan = inbox.store(
            db=db, channel="telegram", entries=[("1", {}), ("2", {})], now=clock()
        )
    clock.advance(minutes=2)  # a burst: both are older than a minute, only one is in hand
    takes = []
    for _sweep in range(inbox.GIVE_UP_AFTER + 2):
        with database.begin() as db:
            taken = inbox.left_over(
                db=db,
                channel="telegram",
                now=clock(),
                older_than=timedelta(0),
                in_hand={mine.id},
            )
        takes.append([entry.id for entry in taken])
    # the orphan is taken at each sweep until it was tried too often; the one in hand never
    assert takes == [[orphan.id]] * inbox.GIVE_UP_AFTER + [[], []]
    # and was never counted as a try: still stored, handled when its turn comes
    assert [entry.key for entry in stored(database)] == ["1"]


def test_replies_and_messages_keep_everything_as_data() -> None:
    reply = Reply(
        "Pilih",
        (Option("a", "Satu", short="1"), Option("b", "Dua")),
        request=Request.LOCATION,
        request_label="Kirim lokasi",
        image=b"\x89PNG...",
        place=Place(-6.2, 106.9, "RPTRA", "Jl. X"),
        photo="telegram:abc",
    )
    again = reply_of(reply_data(reply))
    assert again == reply
    assert [option.short for option in again.options] == ["1", ""]
    message = Incoming("whatsapp", "62812", "wamid.1", kind=Kind.LOCATION, latitude=-6.2)
    assert incoming_of(incoming_data(message), 5) == Incoming(
        "whatsapp", "62812", "wamid.1", kind=Kind.LOCATION, latitude=-6.2, inbox_id=5
    )


# -- Telegram ------------------------------------------------------------------------------------


async def test_a_polled_update_is_confirmed_only_once_stored(engine, database) -> None:
    async with FakeBotAPI() as fake:
        channel = await start_channel(fake, engine, database)
        keep = channel.inbox.keep
        refused = []

        async def failing_once(entries):
            if not refused:
                refused.append(entries)
                raise OSError("database or disk is full")
            return await keep(entries)

        channel.inbox.keep = failing_once
        try:
            fake.push_update(tg.text("halo", user_id=SITI))
            await fake.wait_for(lambda f: any("Selamat datang" in t for t in f.sent_texts()), 10)
            assert refused  # the first fetch could not be stored, and Telegram gave it again
            offsets = [call.params.get("offset") for call in fake.calls("getUpdates")]
            assert offsets[0] is None and offsets[1] is None  # not confirmed while unstored
        finally:
            await channel.stop()
        assert len([t for t in fake.sent_texts() if "Selamat datang" in t]) == 1
        assert stored(database) == []


async def test_an_update_left_by_a_dead_process_is_answered_at_the_start(engine, database, clock):
    update = tg.text("halo", user_id=SITI)
    update["update_id"] = 77
    with database.begin() as db:  # stored and confirmed, then the process was killed
        inbox.store(db=db, channel="telegram", entries=[("77", update)], now=clock())
    async with FakeBotAPI() as fake:
        channel = await start_channel(fake, engine, database)
        try:
            await fake.wait_for(lambda f: any("Selamat datang" in t for t in f.sent_texts()))
            await settled(database, lambda d: stored(d) == [])
        finally:
            await channel.stop()
        assert len(fake.sent_texts()) == 1


async def test_a_reply_is_a_row_recorded_as_sent(engine, database) -> None:
    async with FakeBotAPI() as fake:
        channel = await start_channel(fake, engine, database)
        try:
            fake.push_update(tg.text("halo", user_id=SITI))
            await fake.wait_for(lambda f: any("Selamat datang" in t for t in f.sent_texts()))
            await settled(database, lambda d: replies_of(d)[0].status == OutboundStatus.SENT)
        finally:
            await channel.stop()
    [row] = replies_of(database)
    assert "Selamat datang" in row.text and row.priority == 0 and row.claim == "reply:local"
    assert row.reply["options"]  # the language buttons went with it, as data


async def test_a_reply_that_cannot_go_now_goes_through_the_queue_in_order(
    engine, database, clock
) -> None:
    async with FakeBotAPI() as fake:
        channel: TelegramChannel = await start_channel(fake, engine, database)
        try:
            # Telegram is overloaded for the first answer: the queue takes it over
            fake.fail_next(
                "sendMessage",
                error_code=429,
                description="Too Many Requests",
                retry_after=1,
                times=4,
            )
            fake.push_update(tg.text("halo", user_id=SITI))
            await settled(database, lambda d: [r.status for r in replies_of(d)] == ["pending"])
            [left] = replies_of(database)
            assert left.not_before > clock() - timedelta(seconds=1)
            # the resident taps a language before the queue sent it: the earlier answer first
            fake.push_update(tg.callback("lang:id", user_id=SITI))
            await fake.wait_for(lambda f: any("setuju" in t for t in f.sent_texts()), 10)
            await settled(
                database, lambda d: {r.status for r in replies_of(d)} == {OutboundStatus.SENT}
            )
        finally:
            await channel.stop()
        texts = fake.sent_texts()
        assert "Selamat datang" in texts[0] and "setuju" in texts[1]
        assert len(texts) == 2


async def test_the_queue_sends_a_left_reply_the_way_replies_are_sent(engine, database, clock):
    async with FakeBotAPI() as fake:
        channel: TelegramChannel = await start_channel(fake, engine, database, clock=clock)
        drainer = Drainer(channel, database, LIMITS, clock=clock)
        drainer.permit(clock() + timedelta(minutes=1))
        try:
            fake.fail_next("sendMessage", error_code=502, description="Bad Gateway", times=3)
            fake.push_update(tg.text("halo", user_id=SITI))
            await settled(database, lambda d: [r.status for r in replies_of(d)] == ["pending"])
            assert await drainer.drain_once() == 1
        finally:
            await channel.stop()
            drainer.close()
        [row] = replies_of(database)
        assert row.status == OutboundStatus.SENT
        [sent] = [c for c in fake.calls("sendMessage") if not c.failed]
        buttons = sent.params["reply_markup"]["inline_keyboard"]
        assert [b[0]["callback_data"] for b in buttons] == ["lang:id", "lang:en"]


# -- WhatsApp ------------------------------------------------------------------------------------


async def test_a_whatsapp_delivery_not_stored_is_answered_503_and_handled_when_sent_again(
    engine, database, clock
) -> None:
    async with FakeGraphAPI() as fake:
        channel = WhatsAppChannel(channel_settings(fake), engine, database, clock=clock)
        await channel.start()
        keep = channel.inbox.keep

        async def full(entries):
            raise OSError("database or disk is full")

        try:
            body, headers = signed_webhook("text", text="halo", message_id="wamid.KEEP-1")
            channel.inbox.keep = full
            assert await channel.receive(body, headers["X-Hub-Signature-256"]) == 503
            channel.inbox.keep = keep
            assert await channel.receive(body, headers["X-Hub-Signature-256"]) == 200
            assert await channel.receive(body, headers["X-Hub-Signature-256"]) == 200
            await fake.wait_for_sent(1)
            await settled(database, lambda d: stored(d) == [])
            await asyncio.sleep(0.2)
        finally:
            await channel.stop()
        assert len(fake.sent_texts(WA_SITI)) == 1


# -- a crash between the step and its replies -------------------------------------------------


def gone_process() -> str:
    """Return the name a process of this machine had, which has ended since."""
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return f"{socket.gethostname()[:50]}:{ended.stdout.strip()}:dead"


async def test_replies_of_a_step_whose_process_died_go_out_once_through_the_queue(
    database, clock
) -> None:
    claim = f"reply:{gone_process()}"
    config = EngineConfig(
        nik_key=TEST_KEY, queued_replies=frozenset({"telegram"}), reply_claim=claim
    )
    engine = Engine(database, flows.build(), config, clock=clock)
    try:  # the step committed its replies, and the process was killed before it sent them
        replies = await engine.handle(Incoming("telegram", str(SITI), "m1", text="halo"))
    finally:
        engine.close()
    assert [reply.queued for reply in replies] == [row.id for row in replies_of(database)]
    assert {row.status for row in replies_of(database)} == {OutboundStatus.SENDING}
    async with FakeBotAPI() as fake:
        engine = Engine(database, flows.build(), config, clock=clock)
        channel = await start_channel(fake, engine, database, clock=clock)
        drainer = Drainer(channel, database, LIMITS, clock=clock)
        beat = Beat(database, [drainer], tick=lambda now: 0, holder="next", clock=clock)
        try:
            beat()  # the next process takes the drain: the dead one cannot wake, so at once
            assert await drainer.drain_once() == 1
            assert await drainer.drain_once() == 0
        finally:
            await channel.stop()
            drainer.close()
            engine.close()
        assert len([t for t in fake.sent_texts() if "Selamat datang" in t]) == 1
    [row] = replies_of(database)
    assert row.status == OutboundStatus.SENT and row.doubts == 1  # it may have gone once already


async def test_a_whatsapp_reply_without_a_connection_is_tried_again_then_left_to_the_queue(
    engine, database, clock
) -> None:
    async with FakeGraphAPI() as fake:
        channel = WhatsAppChannel(channel_settings(fake), engine, database, clock=clock)
        await channel.start()
        post = channel._client.post
        failures = {"left": 1}

        async def unreachable_at_times(*args, **kwargs):
            if failures["left"] > 0:
                failures["left"] -= 1
                raise httpx.ConnectError("connection refused")
            return await post(*args, **kwargs)

        channel._client.post = unreachable_at_times
        drainer = Drainer(channel, database, LIMITS, clock=clock)
        drainer.permit(clock() + timedelta(minutes=1))
        try:
            body, headers = signed_webhook("text", text="halo", message_id="wamid.NET-1")
            assert await channel.receive(body, headers["X-Hub-Signature-256"]) == 200
            await fake.wait_for_sent(1)  # a refused connection is tried again at once
            await settled(database, lambda d: replies_of(d)[0].status == OutboundStatus.SENT)
            failures["left"] = 99  # now WhatsApp cannot be reached at all for a while
            body, headers = signed_webhook("text", text="bantuan", message_id="wamid.NET-2")
            assert await channel.receive(body, headers["X-Hub-Signature-256"]) == 200
            await settled(
                database, lambda d: [r.status for r in replies_of(d)] == ["sent", "pending"], 15
            )
            failures["left"] = 0  # back: the queue sends the answer it was left
            assert await drainer.drain_once() == 1
        finally:
            await channel.stop()
            drainer.close()
        assert [r.status for r in replies_of(database)] == ["sent", "sent"]
        assert len(fake.sent_texts(WA_SITI)) == 2
