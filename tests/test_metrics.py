"""/metrics over real HTTP on 127.0.0.1: a conversation step and the queue's sends change the
counters, the queue's depth and the oldest message's age are the rows in the database, the
leases this process holds are told, and the text is Prometheus's exposition format."""

import asyncio
import ipaddress
import signal
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.app import process_name
from bot.channels.telegram import Settings, TelegramChannel
from bot.http import HttpServer, build_app
from bot.outbound import CLOCK_LEASE, Drainer, Limits, QuietHours
from storage import leases, outbox, residents
from storage.outbox import OutboundKind, OutboundStatus
from tests.fake_telegram import FakeBotAPI
from tests.helpers import Chat

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Read the exposition text with prometheus-client's own parser: sample name and sorted
    labels → value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """Return one sample's value, 0 when the series is not there (yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


class Scraper:
    """The program's HTTP server on a free port of 127.0.0.1, and a client that scrapes it."""

    def __init__(self, server: HttpServer, client: httpx.AsyncClient) -> None:
        self.server = server
        self.client = client

    async def scrape(self) -> Samples:
        answer = await self.client.get(f"http://127.0.0.1:{self.server.port}/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
        return parse(answer.text)


@pytest.fixture
async def scraper(database, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Scraper]:
    monkeypatch.setattr(metrics, "CACHE_SECONDS", 0.0)  # every scrape reads the database
    server = HttpServer(build_app(database), "127.0.0.1", 0)
    await server.start()
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            yield Scraper(server, client)
    finally:
        await server.stop()


def telegram_resident(database, clock, user_id: int) -> int:
    """Create a consenting resident on Telegram; return their id."""
    with database.begin() as db:
        profile, _identity = residents.create_resident(
            db=db, channel="telegram", external_id=str(user_id), language="id", now=clock()
        )
        residents.update_profile(db=db, profile=profile, now=clock(), consent_at=clock())
    return profile.id


def queue(database, clock, resident_id: int, kind=OutboundKind.REMINDER, **fields) -> int:
    with database.begin() as db:
        return outbox.enqueue(
            db=db, resident_id=resident_id, kind=kind, text="Pengingat", now=clock(), **fields
        )


async def test_a_conversation_step_counts_an_update_and_its_replies(
    scraper: Scraper, engine
) -> None:
    metrics.count_updates(engine)
    metrics.count_updates(engine)  # counted once however often it is asked
    before = await scraper.scrape()
    chat = Chat(engine, "warga-metrics", channel="console")
    replies = await chat.send("halo")
    assert replies
    after = await scraper.scrape()
    updates = "layanan_updates_handled_total"
    assert (
        value(after, updates, channel="console") == value(before, updates, channel="console") + 1
    )
    replied = value(after, "layanan_replies_total", channel="console")
    assert replied == value(before, "layanan_replies_total", channel="console") + len(replies)
    timed = "layanan_update_seconds_count"
    assert value(after, timed, channel="console") == value(before, timed, channel="console") + 1


async def test_queued_sends_count_by_outcome_and_a_429_pauses(
    scraper: Scraper, engine, database, clock
) -> None:
    async with FakeBotAPI() as fake:
        channel = TelegramChannel(
            Settings(token=fake.token, base_url=fake.base_url), engine, database
        )
        await channel.start()
        drainer = Drainer(
            metrics.MeteredSender(channel),
            database,
            Limits(rate=1000, chat_interval=timedelta(0)),
            QuietHours(),
            clock=clock,
        )
        drainer.permit(clock() + timedelta(days=1))
        try:
            before = await scraper.scrape()
            siti = telegram_resident(database, clock, 1001)
            queue(database, clock, siti)
            assert await drainer.drain_once() == 1
            assert fake.sent_texts(1001) == ["Pengingat"]
            fake.fail_next(
                "sendMessage", error_code=429, description="Too Many Requests", retry_after=3
            )
            queue(database, clock, siti)
            assert await drainer.drain_once() == 1
            after = await scraper.scrape()
        finally:
            drainer.close()
            await channel.stop()
    sends = "layanan_outbound_sends_total"
    for outcome, more in (("sent", 1), ("rate_limited", 1), ("failed", 0)):
        was = value(before, sends, channel="telegram", outcome=outcome)
        assert value(after, sends, channel="telegram", outcome=outcome) == was + more, outcome
    limited = "layanan_outbound_rate_limited_total"
    assert (
        value(after, limited, channel="telegram") == value(before, limited, channel="telegram") + 1
    )
    pauses = "layanan_outbound_pauses_total"
    labels = {"channel": "telegram", "reason": "rate_limited"}
    assert value(after, pauses, **labels) == value(before, pauses, **labels) + 1
    # the one handed back waits in the queue
    queued = value(after, "layanan_outbound_queued", channel="telegram", kind="reminder",
                   status="pending")  # fmt: skip
    assert queued == 1


async def test_queue_depth_and_the_oldest_age_are_the_rows_in_the_database(
    scraper: Scraper, database, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_now = metrics.utcnow()
    ids = [telegram_resident(database, clock, 2000 + number) for number in range(4)]
    due_since = real_now - timedelta(minutes=10)
    # three reminders due for 10, 5 and 0 minutes, one for tomorrow, one being sent
    for minutes in (10, 5, 0):
        queue(database, clock, ids[0], not_before=real_now - timedelta(minutes=minutes))
    queue(database, clock, ids[1], not_before=real_now + timedelta(days=1))
    queue(database, clock, ids[2], kind=OutboundKind.ANNOUNCEMENT, not_before=due_since)
    with database.begin() as db:
        claimed = outbox.claim(
            db=db, channel="telegram", now=real_now, quiet=True, limit=1, claim="test"
        )
    assert [row.kind for row in claimed] == ["reminder"]  # quiet: the announcement waits
    # and one done with: not counted
    sent = queue(database, clock, ids[3], not_before=due_since)
    table = outbox.Outbound.__table__
    with database.begin() as db:
        db.execute(table.update().where(table.c.id == sent).values(status=OutboundStatus.SENT))
    samples = await scraper.scrape()
    queued = "layanan_outbound_queued"
    assert value(samples, queued, channel="telegram", kind="reminder", status="pending") == 3
    assert value(samples, queued, channel="telegram", kind="reminder", status="sending") == 1
    assert value(samples, queued, channel="telegram", kind="announcement", status="pending") == 1
    assert (queued, (("channel", "telegram"), ("kind", "reminder"), ("status", "sent"))) not in (
        samples
    )
    assert value(samples, "layanan_outbound_due", channel="telegram", kind="reminder") == 2
    age = "layanan_outbound_oldest_pending_age_seconds"
    # the oldest due reminder (10 min) is the one being sent: the oldest still pending is 5 min
    assert 300 <= value(samples, age, channel="telegram", kind="reminder") < 360
    assert 600 <= value(samples, age, channel="telegram", kind="announcement") < 660
    assert value(samples, "layanan_metrics_database_up") == 1
    # the rows change, the next scrape says so (the cache is off in these tests)
    with database.begin() as db:
        outbox.mark_sent(db=db, outbound_id=claimed[0].id, now=real_now)
        db.execute(
            table.update()
            .where(table.c.status == OutboundStatus.PENDING)
            .values(status=OutboundStatus.CANCELLED)
        )
    samples = await scraper.scrape()
    assert value(samples, queued, channel="telegram", kind="reminder", status="pending") == 0
    assert value(samples, queued, channel="telegram", kind="reminder", status="sending") == 0


async def test_a_cached_scrape_reads_the_database_once(database, clock) -> None:
    collector = metrics.DatabaseCollector(database, cache_seconds=60)
    first = collector.snapshot()
    queue(database, clock, telegram_resident(database, clock, 3001))
    assert collector.snapshot() is first  # within the cache: the same answer
    assert metrics.DatabaseCollector(database, cache_seconds=0).snapshot().queue != first.queue


async def test_the_leases_this_process_holds(scraper: Scraper, database) -> None:
    now = metrics.utcnow()
    with database.begin() as db:
        leases.hold(
            db=db, name=CLOCK_LEASE, holder=process_name(), now=now, term=timedelta(minutes=5)
        )
        leases.hold(
            db=db, name="outbound:telegram", holder="elsewhere:1:x", now=now, term=timedelta(1)
        )
    samples = await scraper.scrape()
    assert value(samples, "layanan_lease_held", lease="clock") == 1
    assert value(samples, "layanan_lease_held", lease="outbound:telegram") == 0
    with database.begin() as db:
        leases.release(db=db, name=CLOCK_LEASE, holder=process_name())
    samples = await scraper.scrape()
    assert value(samples, "layanan_lease_held", lease="clock") == 0


async def test_a_client_outside_the_allowed_networks_is_refused(database) -> None:
    elsewhere = [ipaddress.ip_network("10.0.0.0/8")]
    for allow, status in ((elsewhere, 403), ([], 404), (metrics.LOOPBACK, 200)):
        server = HttpServer(build_app(database, metrics_allow=allow), "127.0.0.1", 0)
        await server.start()
        try:
            async with httpx.AsyncClient() as client:
                answer = await client.get(f"http://127.0.0.1:{server.port}/metrics")
        finally:
            await server.stop()
        assert answer.status_code == status, allow


@pytest.mark.parametrize(
    ("host", "allowed"),
    [("127.0.0.1", True), ("10.1.2.3", False), ("::1", True), ("::ffff:127.0.0.1", True),
     ("192.168.1.5", False), ("not an address", False), (None, False)],
)  # fmt: skip
def test_allowed_addresses(host: str | None, allowed: bool) -> None:
    assert metrics.allowed(host, metrics.LOOPBACK) is allowed


def test_a_database_that_does_not_answer_is_said_not_failed() -> None:
    from sqlalchemy import create_engine

    broken = create_engine("sqlite:////nonexistent/folder/db.sqlite")
    samples = parse(metrics.exposition(metrics.registry_for(broken)).decode())
    assert value(samples, "layanan_metrics_database_up") == 0


async def test_the_running_program_counts_what_it_does(environment, database) -> None:
    """`python -m bot run` with WhatsApp, as an operator starts it: its /metrics counts the
    update of a signed webhook, the answer, a queued reminder sent, and shows the leases it
    took (so the wiring in bot/serve.py is the one tested)."""
    from sqlalchemy import select

    from storage.residents import ChannelIdentity
    from tests.fake_whatsapp import (
        APP_SECRET,
        PHONE_NUMBER_ID,
        TOKEN,
        WA_ID,
        FakeGraphAPI,
        signed_webhook,
    )
    from tests.test_outbound_process import start
    from tests.test_whatsapp_process import free_port

    port = free_port()
    async with FakeGraphAPI() as fake:
        env = {
            **environment,
            "WHATSAPP_TOKEN": TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_VERIFY_TOKEN": "verify-me",
            "WHATSAPP_API_BASE_URL": fake.base_url,
            "HTTP_PORT": str(port),
            "CLOCK_LEASE_SECONDS": "3",
        }
        base = f"http://127.0.0.1:{port}"
        program = await start(env)
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                for _attempt in range(200):  # until the server listens
                    try:
                        await http.get(f"{base}/healthz")
                        break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.05)
                body, headers = signed_webhook("text", text="halo")
                answer = await http.post(f"{base}/whatsapp/webhook", content=body, headers=headers)
                assert answer.status_code == 200
                await fake.wait_for(
                    lambda f: any("Selamat datang" in text for text in f.sent_texts(WA_ID))
                )
                with database.begin() as db:
                    resident_id = db.execute(select(ChannelIdentity.resident_id)).scalar_one()
                    outbox.enqueue(
                        db=db,
                        resident_id=resident_id,
                        kind=OutboundKind.REMINDER,
                        text="Pengingat: pemeriksaan kesehatan besok 08.00",
                        now=metrics.utcnow(),
                    )
                await fake.wait_for(
                    lambda f: any("Pengingat" in text for text in f.sent_texts(WA_ID)),
                    timeout=15,
                )
                samples: Samples = {}
                for _attempt in range(100):  # the cache: at most 5 s old
                    scraped = await http.get(f"{base}/metrics")
                    assert scraped.status_code == 200
                    samples = parse(scraped.text)
                    queued = "layanan_outbound_queued"
                    if not any(key[0] == queued for key in samples):
                        break
                    await asyncio.sleep(0.1)
        finally:
            program.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(program.communicate(), timeout=30)
    assert program.returncode == 0, err.decode()
    assert value(samples, "layanan_updates_handled_total", channel="whatsapp") == 1
    assert value(samples, "layanan_replies_total", channel="whatsapp") >= 1
    assert value(samples, "layanan_outbound_sends_total", channel="whatsapp", outcome="sent") == 1
    assert value(samples, "layanan_lease_held", lease="clock") == 1
    assert value(samples, "layanan_lease_held", lease="outbound:whatsapp") == 1
    assert value(samples, "process_resident_memory_bytes") > 0
