"""The outbound queue when the platform is away or silent, and when a drain's lease changes
hands under it: an outage pauses the channel and keeps every message's tries, a send without an
answer goes again as a doubt, a frozen lease holder that wakes doubles nothing and sends
nothing more, and what expired or may have arrived twice is counted in a broadcast's report.

The drain's Telegram bot talks to the fake Bot API through a `Gate`, a small HTTP relay on a
real TCP port that the test shuts (connection refused), or makes reset a connection before or
after passing the request on, or swallow it (a black hole). Time is the test's clock; only the
HTTP timeouts are real (half a second)."""

import asyncio
import logging
import socket
import struct
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs

import httpx
import pytest
from sqlalchemy import select
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.channels import whatsapp
from bot.channels.telegram import Settings, TelegramChannel
from bot.outbound import (
    Beat,
    Drainer,
    Limits,
    SendFailed,
    Unavailable,
    Unknown,
)
from handlers.broadcast_reports import report_text
from storage import broadcasts, leases, outbox
from storage.broadcasts import Segment, SegmentKind
from storage.outbox import Outbound, OutboundKind, OutboundStatus
from tests.fake_telegram import FakeBotAPI
from tests.test_outbound import LIMITS, Queue, new_drainer

PASS, RESET, ANSWER_LOST, BLACK_HOLE = "pass", "reset", "answer lost", "black hole"
TIMEOUT = 0.5  # seconds the gated bot waits to connect and for an answer
REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 429: "Too Many Requests"}


class Gate:
    """An HTTP relay between a bot and the fake Bot API. Each sendMessage goes as the next
    behaviour planned for its chat: passed on (PASS), reset before it is passed on (RESET, it
    never arrived), passed on and then reset instead of answered (ANSWER_LOST, it arrived), or
    read and never answered (BLACK_HOLE); `shut` closes the port (connection refused)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.plans: dict[str, deque[str]] = defaultdict(deque)  # chat id → next behaviours
        self.seen: Counter[str] = Counter()  # sendMessage requests that reached the gate
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._client = httpx.AsyncClient()

    @property
    def base_url(self) -> str:
        """Return the URL to give a bot's `base_url`."""
        return f"http://127.0.0.1:{self.port}/bot"

    async def open(self) -> None:
        """Listen (again, on the same port)."""
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def shut(self) -> None:
        """Stop listening and cut every connection: connecting is refused from now on."""
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None
        await asyncio.sleep(0.05)  # the client sees its pooled connections closed

    async def aclose(self) -> None:
        """Shut, and close the relay's own client."""
        await self.shut()
        await self._client.aclose()

    def plan(self, chat_id: int, *behaviours: str) -> None:
        """Make the next sendMessage requests to a chat behave so, one each."""
        self.plans[str(chat_id)].extend(behaviours)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while (request := await read_request(reader)) is not None:
                method, path, headers, body = request
                behaviour = self._behaviour(path, body)
                if behaviour == RESET:
                    return reset(writer)
                if behaviour == BLACK_HOLE:
                    await reader.read()  # until the client gives up and closes
                    return None
                answer = await self._client.request(
                    method,
                    self.upstream + path,
                    content=body,
                    headers={"content-type": headers.get("content-type", "")},
                )
                if behaviour == ANSWER_LOST:
                    return reset(writer)
                reason = REASONS.get(answer.status_code, "Error")
                writer.write(
                    f"HTTP/1.1 {answer.status_code} {reason}\r\n"
                    "Content-Type: application/json\r\n"
                    f"Content-Length: {len(answer.content)}\r\n\r\n".encode()
                    + answer.content
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return None
        finally:
            self._writers.discard(writer)
            writer.close()

    def _behaviour(self, path: str, body: bytes) -> str:
        """Return what to do with one request: the next planned for its chat, else PASS."""
        if not path.endswith("/sendMessage"):
            return PASS
        chat = parse_qs(body.decode()).get("chat_id", [""])[0]
        self.seen[chat] += 1
        planned = self.plans.get(chat)
        return planned.popleft() if planned else PASS


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict, bytes] | None:
    """Read one HTTP/1.1 request (method, path, headers, body); None at the end."""
    line = await reader.readline()
    if not line:
        return None
    method, path, _version = line.decode().split(" ", 2)
    headers = {}
    while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = header.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", 0)))
    return method, path, headers, body


def reset(writer: asyncio.StreamWriter) -> None:
    """Close a connection with a TCP reset (no answer, no orderly end)."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class Watch:
    """A sender that passes each message on to the channel, counting the sends and the most
    under way at once."""

    def __init__(self, channel: TelegramChannel) -> None:
        self.inner = channel
        self.channel = channel.channel
        self.calls = 0
        self.under_way = 0
        self.most_at_once = 0

    async def deliver(self, *args, **kwargs) -> str | None:
        """Send through the channel, counting."""
        self.calls += 1
        self.under_way += 1
        self.most_at_once = max(self.most_at_once, self.under_way)
        try:
            return await self.inner.deliver(*args, **kwargs)
        finally:
            self.under_way -= 1


@dataclass
class Gated:
    """A drain whose Telegram sends pass the gate, the watch on them, and the queue."""

    queue: Queue
    gate: Gate
    watch: Watch


@pytest.fixture
async def gated(engine, database, clock) -> AsyncIterator[Gated]:
    """A Telegram channel on the fake server whose queue's sends pass a gate."""
    async with FakeBotAPI() as fake:
        channel = TelegramChannel(
            Settings(token=fake.token, base_url=fake.base_url), engine, database
        )
        await channel.start()
        gate = Gate(fake.base_url.removesuffix("/bot"))
        await gate.open()
        await channel.outbound_bot.shutdown()
        channel.outbound_bot = Bot(
            fake.token,
            base_url=gate.base_url,
            request=HTTPXRequest(
                connection_pool_size=8,
                connect_timeout=TIMEOUT,
                read_timeout=TIMEOUT,
                write_timeout=TIMEOUT,
                pool_timeout=TIMEOUT,
            ),
        )
        await channel.outbound_bot.initialize()
        watch = Watch(channel)
        drainer = new_drainer(watch, database, clock)
        try:
            yield Gated(Queue(fake, channel, drainer, database, clock), gate, watch)
        finally:
            drainer.close()
            await channel.stop()
            await gate.aclose()


def rows(database, ids: list[int]) -> list[Outbound]:
    """Read queued messages back, in the order of `ids`."""
    table = Outbound.__table__
    with database.connect() as db:
        found = db.execute(select(table).where(table.c.id.in_(ids))).all()
    by_id = {row.id: Outbound.model_validate(row._asdict()) for row in found}
    return [by_id[i] for i in ids]


def outage_logs(caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str]]:
    """Return the drain's log lines of outages beginning and ending."""
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.outbound"]
    return [x for x in lines if "cannot be reached" in x], [x for x in lines if "again" in x]


async def test_an_outage_longer_than_the_whole_backoff_fails_nothing(
    gated: Gated, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.outbound")
    queue, gate, watch, clock = gated.queue, gated.gate, gated.watch, gated.queue.clock
    texts = [f"Sembako besok jam 8, RW {n}" for n in range(20)]
    ids = [queue.put(queue.resident(6000 + n), text) for n, text in enumerate(texts)]
    await gate.shut()  # the Bot API refuses connections for 20 minutes
    start = clock()
    assert await queue.drainer.drain_once() == 20
    assert queue.drainer.in_outage()
    assert watch.calls <= LIMITS.in_flight  # those under way when it began; the rest wait
    first_round = watch.calls
    while clock() < start + timedelta(minutes=20):  # the old schedule gave up after 7.5 min
        clock.advance(seconds=5)
        before, watch.most_at_once = watch.calls, 0
        await queue.drainer.drain_once()
        assert watch.calls - before <= 1 and watch.most_at_once <= 1  # one probe at a time
    probes = watch.calls - first_round
    assert 10 <= probes <= 30  # 1, 2, 4 … then 60 s apart
    waiting = rows(queue.database, ids)
    assert {(r.status, r.attempts, r.doubts) for r in waiting} == {(OutboundStatus.PENDING, 0, 0)}
    await gate.open()  # it is back
    clock.advance(seconds=60)
    for _round in range(10):
        await queue.drainer.drain_once()
        clock.advance(seconds=1)
    assert Counter(queue.fake.sent_texts()) == Counter(texts)  # each once
    done = rows(queue.database, ids)
    assert {(r.status, r.attempts, r.doubts) for r in done} == {(OutboundStatus.SENT, 1, 0)}
    assert not queue.drainer.in_outage()
    began, ended = outage_logs(caplog)
    assert len(began) == 1 and len(ended) == 1  # once when it starts, once when it ends
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Sembako" not in logged and "6001" not in logged  # no content, no residents


async def test_a_send_without_an_answer_goes_again_as_a_doubt(gated: Gated) -> None:
    queue, gate = gated.queue, gated.gate
    plans = {
        7001: [RESET],  # reset before the request was passed on: it never arrived
        7002: [ANSWER_LOST],  # arrived, and the answer was lost
        7003: [BLACK_HOLE],  # read, never answered: a read timeout
        7004: [],
        7005: [ANSWER_LOST] * 10,  # never an answer: given up after max_doubts more
    }
    ids = {}
    for chat, behaviours in plans.items():
        gate.plan(chat, *behaviours)
        ids[chat] = queue.put(queue.resident(chat), f"Pengingat untuk {chat}")
    for _round in range(120):
        await queue.drainer.drain_once()
        queue.clock.advance(seconds=5)
    found = dict(zip(ids, rows(queue.database, list(ids.values())), strict=True))
    delivered = Counter(queue.fake.sent_texts())
    assert {chat: delivered[f"Pengingat untuk {chat}"] for chat in plans} == {
        7001: 1,  # nothing lost
        7002: 2,  # arrived twice: the lesser harm
        7003: 1,
        7004: 1,
        7005: 1 + LIMITS.max_doubts,  # bounded
    }
    for chat in (7001, 7002, 7003):
        row = found[chat]
        assert (row.status, row.attempts, row.doubts) == (OutboundStatus.SENT, 1, 1)
        assert "no answer, it may have arrived" in row.last_error  # what happened before
    assert (found[7004].status, found[7004].doubts) == (OutboundStatus.SENT, 0)
    given_up = found[7005]
    assert (given_up.status, given_up.doubts) == (OutboundStatus.FAILED, LIMITS.max_doubts)
    assert "may have arrived" in given_up.last_error
    assert gate.seen["7005"] == 1 + LIMITS.max_doubts


class Frozen:
    """A sender whose sends hang until the test thaws it, as in a process stopped (SIGSTOP)
    in the middle of its sends; what it sent goes to a list shared with the other sender."""

    channel = "telegram"

    def __init__(self, delivered: list[str], *, frozen: bool) -> None:
        self.delivered = delivered
        self.started = 0
        self.thawed = asyncio.Event()
        if not frozen:
            self.thawed.set()

    async def deliver(self, external_id: str, text: str, options=None, **_context) -> None:
        """Hang while frozen, then send."""
        self.started += 1
        await self.thawed.wait()
        self.delivered.append(text)


async def wait_until(condition, timeout: float = 5.0) -> None:
    """Let the loop run until `condition()` holds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_frozen_holder_that_wakes_doubles_nothing_and_sends_nothing_more(
    database, clock
) -> None:
    delivered: list[str] = []
    sender_a, sender_b = Frozen(delivered, frozen=True), Frozen(delivered, frozen=False)
    limits = Limits(rate=1000, chat_interval=timedelta(0), in_flight=2)
    drain_a = Drainer(sender_a, database, limits, clock=clock)
    drain_b = Drainer(sender_b, database, limits, clock=clock)
    term = timedelta(seconds=90)
    beat_a = Beat(database, [drain_a], tick=lambda now: 0, holder="a", term=term, clock=clock)
    beat_b = Beat(database, [drain_b], tick=lambda now: 0, holder="b", term=term, clock=clock)
    queue = Queue(None, None, None, database, clock)
    texts = [f"Sembako besok jam 8 ({n})" for n in range(3)]
    ids = [queue.put(queue.resident(8000 + n), text) for n, text in enumerate(texts)]
    try:
        beat_a()
        beat_b()
        in_hand = asyncio.create_task(drain_a.drain_once())  # two in flight, one waiting
        await wait_until(lambda: sender_a.started == 2)
        clock.advance(seconds=91)  # a is frozen: no beat, its lease runs out
        beat_b()
        assert drain_b.permitted(clock())
        assert await drain_b.drain_once() == 0  # a's rows: put back, for two terms more
        assert {row.doubts for row in rows(database, ids)} == {1}  # they may have arrived
        news = queue.put(queue.resident(8100), "Pengumuman baru")
        assert await drain_b.drain_once() == 1  # b drains the rest meanwhile
        sender_a.thawed.set()  # a wakes and records what it had in flight
        assert await in_hand == 3
        assert sender_a.started == 2  # the one waiting for a slot was not handed over
        assert {row.doubts for row in rows(database, ids)} == {0}  # a's records settle them
        # the one a never handed over can go at once: nothing of it is on its way
        assert await drain_b.drain_once() == 1
        assert Counter(delivered) == Counter([*texts, "Pengumuman baru"])
        # a's clock says it still may (a permit it believes in): the token's check stops it
        drain_a.permit(clock() + timedelta(days=1), holder="a", token=1)
        later = queue.put(queue.resident(8200), "Pengingat lagi")
        assert await drain_a.drain_once() == 0
        assert sender_a.started == 2 and not drain_a.permitted(clock())
        clock.advance(seconds=200)
        beat_b()
        for _round in range(3):
            await drain_b.drain_once()
    finally:
        drain_a.close()
        drain_b.close()
    assert Counter(delivered) == Counter([*texts, "Pengumuman baru", "Pengingat lagi"])
    settled = rows(database, [*ids, news, later])
    assert {(row.status, row.doubts) for row in settled} == {(OutboundStatus.SENT, 0)}


class Scripted:
    """A sender that answers each chat as scripted: a list of exceptions to raise, in turn,
    before it sends (a chat scripted with one exception for ever raises it every time)."""

    channel = "telegram"

    def __init__(self, script: dict[str, list[Exception]], always: dict[str, Exception]):
        self.script = script
        self.always = always
        self.sent: list[str] = []

    async def deliver(self, external_id: str, text: str, options=None, **_context) -> None:
        """Raise what is scripted for the chat, or send."""
        if external_id in self.always:
            raise self.always[external_id]
        if self.script.get(external_id):
            raise self.script[external_id].pop(0)
        self.sent.append(external_id)


async def test_the_report_counts_expired_and_maybe_doubled(database, clock) -> None:
    queue = Queue(None, None, None, database, clock)
    chats = {name: 9000 + n for n, name in enumerate(("fine", "doubted", "refused", "away"))}
    for chat in chats.values():
        queue.resident(chat)
    sender = Scripted(
        {str(chats["doubted"]): [Unknown("no answer, it may have arrived (ReadTimeout)")]},
        {
            str(chats["refused"]): SendFailed("Bad Request: message is too long", transient=False),
            str(chats["away"]): Unavailable("no connection (ConnectError)"),
        },
    )
    drainer = new_drainer(sender, database, clock)
    with database.begin() as db:
        broadcast_id, count, _skipped = broadcasts.queue(
            db=db,
            segment=Segment(SegmentKind.EVERYONE),
            text="Pasar murah Sabtu di Kantor Kelurahan",
            created_by="budi",
            now=clock(),
        )
    assert count == 4
    try:
        await drainer.drain_once()  # fine sent, doubted no answer, refused failed, away: out
        clock.advance(seconds=31)
        await drainer.drain_once()  # the probe: "away" (waiting longest), still out
        clock.advance(seconds=31)
        await drainer.drain_once()  # the probe: "doubted", sent again, the outage over
        clock.advance(days=8)  # "away" could never go: past the announcement's useful life
        drainer.permit(clock() + timedelta(days=1))
        await drainer.drain_once()
    finally:
        drainer.close()
    assert sorted(sender.sent) == sorted([str(chats["fine"]), str(chats["doubted"])])
    with database.connect() as db:
        found = broadcasts.report(db=db, broadcast_id=broadcast_id)
    assert (found.sent, found.maybe_doubled, found.failed, found.expired, found.waiting) == (
        2,
        1,
        1,
        1,
        0,
    )
    assert found.finished
    shown = report_text(found, "id")
    assert "• terkirim: 2" in shown
    assert "• di antaranya, dikirim ulang karena tidak ada jawaban" in shown
    assert "• kedaluwarsa, sudah tidak berlaku saat bisa dikirim: 1" in shown
    english = report_text(found, "en")
    assert "• of those, sent again after no answer (may have arrived twice): 1" in english
    assert "• expired, no longer current when it could go: 1" in english
    assert "• skipped, said “berhenti”: 0" in english  # expired is not opted out


def test_kinds_have_a_useful_life(database, clock) -> None:
    queue = Queue(None, None, None, database, clock)
    siti = queue.resident(9100)
    lives = {}
    for kind in OutboundKind:
        outbound_id = queue.put(siti, f"{kind}", kind)
        row = rows(database, [outbound_id])[0]
        lives[kind] = row.expires_at - clock() if row.expires_at else None
    assert lives == {
        OutboundKind.ANNOUNCEMENT: timedelta(days=7),
        OutboundKind.SURVEY: timedelta(days=7),
        OutboundKind.FEEDBACK: timedelta(days=3),
        OutboundKind.PROMOTION: None,  # the resident's own affairs: true however late
        OutboundKind.STATUS: None,
        OutboundKind.CALLED_OFF: None,
        OutboundKind.REMINDER: None,  # a reminder carries its event's start
        OutboundKind.REPLY: timedelta(hours=24),
    }


def test_whatsapp_errors_become_what_the_queue_does() -> None:
    for never_left in (
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow"),
        httpx.PoolTimeout("full"),
    ):
        assert isinstance(whatsapp.network_error(never_left), Unavailable)
    for no_answer in (
        httpx.ReadTimeout("silent"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ):
        found = whatsapp.network_error(no_answer)
        assert isinstance(found, Unknown) and "may have arrived" in found.reason
    server = whatsapp.queue_error(whatsapp.GraphError(503, None, "Service Unavailable"))
    assert isinstance(server, SendFailed) and server.transient and server.server_error
    busy = whatsapp.queue_error(whatsapp.GraphError(400, 131056, "pair rate limit"))
    assert isinstance(busy, SendFailed) and busy.transient and not busy.server_error
    bad = whatsapp.queue_error(whatsapp.GraphError(400, 100, "Invalid parameter"))
    assert isinstance(bad, SendFailed) and not bad.transient


def test_a_lease_given_up_and_taken_again_gets_a_greater_token(database, clock) -> None:
    term = timedelta(seconds=90)
    with database.begin() as db:
        first = leases.hold(db=db, name="outbound:telegram", holder="a", now=clock(), term=term)
        assert (
            leases.hold(db=db, name="outbound:telegram", holder="b", now=clock(), term=term)
            is None
        )
        leases.release(db=db, name="outbound:telegram", holder="a")
        second = leases.hold(db=db, name="outbound:telegram", holder="b", now=clock(), term=term)
        assert second is not None and second > first  # never the old claim's name again
        assert not leases.holds(
            db=db, name="outbound:telegram", holder="a", token=first, now=clock()
        )
        assert leases.holds(db=db, name="outbound:telegram", holder="b", token=second, now=clock())


async def test_rows_of_a_replys_fast_path_follow_the_abandoned_rule(database, clock) -> None:
    delivered: list[str] = []
    drainer = new_drainer(Frozen(delivered, frozen=False), database, clock)
    queue = Queue(None, None, drainer, database, clock)
    woke = queue.put(queue.resident(9201), "Jawaban untuk Siti")
    died = queue.put(queue.resident(9202), "Jawaban untuk Budi")
    with database.begin() as db:  # two processes' fast paths took one each, then stopped
        for outbound_id, process in ((woke, "reply:p1"), (died, "reply:p2")):
            table = Outbound.__table__
            db.execute(
                table.update()
                .where(table.c.id == outbound_id)
                .values(status=OutboundStatus.SENDING, sending_at=clock(), claim=process)
            )
    try:
        assert await drainer.drain_once() == 0  # theirs for a term
        clock.advance(seconds=90)
        assert await drainer.drain_once() == 0  # abandoned: back, for two terms more
        clock.advance(seconds=90)
        assert await drainer.drain_once() == 0
        with database.begin() as db:  # p1 wakes and records what it sent
            assert outbox.mark_sent(db=db, outbound_id=woke, now=clock(), claim="reply:p1")
        clock.advance(seconds=90)
        assert await drainer.drain_once() == 1
        with database.begin() as db:  # too late for p2: the drain claimed and sent it
            assert not outbox.mark_sent(db=db, outbound_id=died, now=clock(), claim="reply:p2")
    finally:
        drainer.close()
    assert delivered == ["Jawaban untuk Budi"]
    assert [(row.status, row.doubts) for row in rows(database, [woke, died])] == [
        (OutboundStatus.SENT, 0),
        (OutboundStatus.SENT, 1),
    ]
