"""When the database fails under the program: a connection the server dropped, a table locked
by another connection, a database that takes no write; and /healthz telling the truth in every
mode of the real program."""

import asyncio
import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine as Database
from sqlalchemy import event, select, text
from sqlalchemy.exc import OperationalError

import bot.database_check
from bot.http import build_app
from bot.outbound import Drainer, Limits, QuietHours
from handlers import flows
from handlers.engine import Engine
from handlers.messages import Incoming
from handlers.steps import EngineConfig
from handlers.workers import Workers, lost_connection
from storage import conversations, outbox, residents
from storage.database import make_engine
from storage.outbox import Outbound, OutboundKind, OutboundStatus
from storage.write_check import WriteCheck
from tests.conftest import TEST_DATABASE_URL, TEST_KEY
from tests.fake_telegram import FakeBotAPI
from tests.helpers import Chat

APOLOGY = "Maaf, ada gangguan di sistem kami"
WELCOME = "Selamat datang di Layanan Warga"
ROOT = Path(__file__).parent.parent
postgresql_only = pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL only")


def engine_on(database: Database, **config) -> Engine:
    """Return a conversation engine on `database` with the tests' NIK key."""
    return Engine(database, flows.build(), EngineConfig(nik_key=TEST_KEY, **config))


def terminate_others(database: Database) -> int:
    """Terminate every other PostgreSQL backend of the test database; return how many."""
    with database.begin() as db:
        return db.execute(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()


@contextlib.contextmanager
def locked(database: Database) -> Iterator[None]:
    """Hold, from another connection, what the residents' updates and the health check write:
    the conversations, residents and write_checks tables on PostgreSQL, the whole file on
    SQLite (its write lock)."""
    with database.connect() as db:
        transaction = db.begin()  # BEGIN IMMEDIATE on SQLite
        if db.dialect.name == "postgresql":
            db.execute(
                text("LOCK TABLE conversations, residents, write_checks IN ACCESS EXCLUSIVE MODE")
            )
        try:
            yield
        finally:
            transaction.rollback()


def read_only(database: Database) -> Database:
    """Make every new connection of `database` refuse writes (a standby, a read-only file)."""

    @event.listens_for(database, "connect")
    def _refuse_writes(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        if database.dialect.name == "sqlite":
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("SET default_transaction_read_only = on")
            dbapi_connection.commit()
        cursor.close()

    return database


async def healthz(database: Database) -> tuple[httpx.Response, float]:
    """Ask the app's /healthz once; return the answer and how long it took."""
    app = build_app(database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        started = time.monotonic()
        answer = await client.get("/healthz")
        return answer, time.monotonic() - started


# --- a connection the server dropped -------------------------------------------------------


@postgresql_only
async def test_a_terminated_connection_of_every_worker_costs_the_residents_nothing(
    database,
) -> None:
    engine = engine_on(database, workers=4)
    chats = [Chat(engine, f"pulih-{number}") for number in range(12)]
    try:
        await busy_every_worker(engine, chats[:4])  # each thread connects and keeps it
        assert terminate_others(database) >= 4  # as a restart or failover would
        await asyncio.gather(*(chat.send("halo") for chat in chats))
        assert all(APOLOGY not in chat.text for chat in chats), [c.text for c in chats]
        for chat in chats:  # and one by one, on whichever worker
            await chat.send("menu")
            assert APOLOGY not in chat.text
    finally:
        engine.close()


async def busy_every_worker(engine: Engine, chats: list[Chat]) -> None:
    """Have each of the engine's worker threads handle one chat's "halo" at the same time."""
    together = threading.Barrier(len(chats), timeout=10)
    work = engine._workers._work

    def meet(db, messages):
        together.wait()  # a thread waits here: the next message goes to another thread
        return work(db, messages)

    engine._workers._work = meet
    sent = []
    for chat in chats:
        sent.append(asyncio.create_task(chat.send("halo")))
        await asyncio.sleep(0.1)
    await asyncio.gather(*sent)
    engine._workers._work = work
    assert all(WELCOME in chat.text for chat in chats)


@postgresql_only
async def test_the_pool_checks_the_connections_it_hands_out(database) -> None:
    """The outbound drain, the clock and the channels take a pooled connection per
    transaction: the pool's pre-ping replaces those the server dropped."""
    with database.begin() as db:
        db.execute(text("SELECT 1"))
    terminate_others(database)
    with database.begin() as db:
        assert db.execute(text("SELECT 1")).scalar_one() == 1


async def test_a_lost_connection_is_replaced_and_the_batch_run_again_once(database) -> None:
    runs = []

    def work(db, items):
        runs.append(db)
        if len(runs) == 1:
            db.invalidate()  # what SQLAlchemy does when the server dropped the connection
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return [f"done {item}" for item in items]

    workers = Workers(database, 1, work)
    try:
        assert await workers.run("a") == "done a"
    finally:
        workers.close()
    assert len(runs) == 2 and runs[0] is not runs[1]


async def test_a_connection_lost_twice_is_the_apology_not_a_loop(database) -> None:
    def work(db, items):
        db.invalidate()
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    workers = Workers(database, 1, work)
    try:
        with pytest.raises(OperationalError):
            await workers.run("a")
    finally:
        workers.close()


def test_a_lock_timeout_is_no_lost_connection() -> None:
    timeout = OperationalError("UPDATE", {}, Exception("canceling statement due to lock timeout"))
    assert not lost_connection(timeout)
    assert lost_connection(OperationalError("SELECT", {}, Exception("the connection is closed")))


# --- a stalled database --------------------------------------------------------------------


async def test_a_locked_table_gets_the_apology_within_seconds(database, database_url) -> None:
    stalled = make_engine(database_url, statement_timeout=1)
    engine = engine_on(stalled, answer_within=timedelta(seconds=8))
    chat = Chat(engine, "tertahan")
    try:
        with locked(database):
            started = time.monotonic()
            await chat.send("halo")
            waited = time.monotonic() - started
            assert APOLOGY in chat.text and waited < 4  # the statement's lock timeout
            answer, took = await healthz(stalled)
            assert answer.status_code == 503 and took < 1.5
            assert answer.json()["database"] in ("locked", "stalled")
        await chat.send("halo")  # the lock is gone: all is well again
        assert WELCOME in chat.text
    finally:
        engine.close()
        stalled.dispose()


async def test_a_database_that_never_answers_gets_the_apology_in_time(
    database, database_url
) -> None:
    """A frozen server answers no statement timeout: the engine's own bound does."""
    slow = make_engine(database_url, statement_timeout=5)  # longer than the resident waits
    engine = engine_on(slow, answer_within=timedelta(seconds=1))
    chat = Chat(engine, "beku")
    try:
        with locked(database):
            started = time.monotonic()
            await chat.send("halo")
            assert APOLOGY in chat.text and time.monotonic() - started < 2
    finally:
        engine.close()  # the worker finishes once the lock is gone
        slow.dispose()


class SlowEngine(Engine):
    """An engine whose database takes 0.2 s an update: a burst beyond what it can do."""

    def process_batch(self, db, messages):
        time.sleep(0.2 * len(messages))
        return super().process_batch(db, messages)


async def burst_of_eight(database, in_hand: int) -> list[Chat]:
    """Eight residents write at once to an engine whose database takes 1.6 s for them all,
    each to be answered within a second; return their chats."""
    config = EngineConfig(nik_key=TEST_KEY, answer_within=timedelta(seconds=1), in_hand=in_hand)
    engine = SlowEngine(database, flows.build(), config)
    chats = [Chat(engine, f"ramai-{number}") for number in range(8)]
    try:
        await asyncio.gather(*(chat.send("halo") for chat in chats))
    finally:
        engine.close()
    return chats


async def test_a_burst_waits_its_turn_and_only_the_database_s_own_time_counts(database) -> None:
    chats = await burst_of_eight(database, in_hand=1)  # taken in hand one at a time
    assert all(WELCOME in chat.text for chat in chats)
    assert not any(APOLOGY in chat.text for chat in chats)


async def test_a_burst_all_in_hand_at_once_runs_out_of_time_together(database) -> None:
    # what the bound is for: in the workers' queue all at once, most wait past their second
    chats = await burst_of_eight(database, in_hand=64)
    assert sum(APOLOGY in chat.text for chat in chats) >= 5


async def test_healthz_answers_503_at_once_while_a_check_is_still_waiting(
    database, database_url
) -> None:
    slow = make_engine(database_url, statement_timeout=3)
    app = build_app(slow)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
            with locked(database):
                first = await client.get("/healthz")
                started = time.monotonic()
                second = await client.get("/healthz")
                assert time.monotonic() - started < 0.5  # no second thread waits
            assert (first.status_code, second.status_code) == (503, 503)
            assert second.json() == {"database": "stalled"}
            for _attempt in range(50):  # the waiting check ends, and a new one writes
                answer = await client.get("/healthz")
                if answer.status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert answer.json() == {"database": "ok"}
    finally:
        slow.dispose()


# --- a database that takes no write --------------------------------------------------------


async def test_healthz_is_200_when_a_write_is_made(database) -> None:
    answer, took = await healthz(database)
    assert (answer.status_code, answer.json()) == (200, {"database": "ok"})
    assert took < 1
    with database.connect() as db:
        assert db.execute(select(WriteCheck.name)).scalars().all() == [
            bot.database_check.process_name()
        ]


async def test_a_read_only_database_is_503(database_url) -> None:
    standby = read_only(make_engine(database_url))
    try:
        answer, _took = await healthz(standby)
    finally:
        standby.dispose()
    assert (answer.status_code, answer.json()) == (503, {"database": "read-only"})


@pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="SQLite only")
async def test_a_full_sqlite_database_is_503(database_url, database) -> None:
    full = make_engine(database_url)

    @event.listens_for(full, "connect")
    def _no_more_pages(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages}")  # not one page more
        cursor.close()

    try:
        answer, _took = await healthz(full)
    finally:
        full.dispose()
    assert (answer.status_code, answer.json()) == (503, {"database": "full"})


@pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="SQLite only")
async def test_a_full_disk_under_sqlite_is_503(database, monkeypatch) -> None:
    real = bot.database_check.shutil.disk_usage

    def nearly_full(path):
        return real(path)._replace(free=4096)

    monkeypatch.setattr(bot.database_check.shutil, "disk_usage", nearly_full)
    answer, _took = await healthz(database)
    assert (answer.status_code, answer.json()) == (503, {"database": "full"})


# --- the outbound queue waits for the database ----------------------------------------------


class Recorder:
    """A sender that keeps what it was given."""

    channel = "console"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def deliver(self, external_id: str, text: str, *_args, **_kwargs) -> None:
        self.sent.append(text)


async def test_the_queue_waits_for_the_database_and_fails_nothing(
    database, clock, monkeypatch
) -> None:
    with database.begin() as db:
        profile, _identity = residents.create_resident(
            db=db, channel="console", external_id="antri", language="id", now=clock()
        )
        queued = outbox.enqueue(
            db=db,
            resident_id=profile.id,
            kind=OutboundKind.REMINDER,
            text="Pengingat",
            now=clock(),
        )
    recorder = Recorder()
    drainer = Drainer(
        recorder, database, Limits(chat_interval=timedelta(0)), QuietHours(), clock=clock
    )
    drainer.permit(clock() + timedelta(days=1))

    def away(**_kwargs):
        raise OperationalError("UPDATE", {}, Exception("server closed the connection"))

    try:
        for broken in ("claim", "mark_sent"):  # while claiming, then while recording
            with monkeypatch.context() as patch:
                patch.setattr(outbox, broken, away)
                with pytest.raises(OperationalError):
                    await drainer.drain_once()
            with database.connect() as db:
                status = db.execute(
                    select(Outbound.status).where(Outbound.id == queued)
                ).scalar_one()
            assert status != OutboundStatus.FAILED
        await drainer.drain_once()  # the database is back: what was in flight goes again
    finally:
        drainer.close()
    with database.connect() as db:
        status = db.execute(select(Outbound.status).where(Outbound.id == queued)).scalar_one()
    assert status == OutboundStatus.SENT and recorder.sent == ["Pengingat", "Pengingat"]


# --- /healthz in every mode of the real program ----------------------------------------------


def free_port() -> int:
    """Return a port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def start(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    """Start `python -m bot ...` with its input a pipe."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def wait_for_health(port: int) -> httpx.Response:
    """Ask /healthz until the program listens."""
    async with httpx.AsyncClient(timeout=5) as http:
        for _attempt in range(300):
            try:
                return await http.get(f"http://127.0.0.1:{port}/healthz")
            except httpx.ConnectError:
                await asyncio.sleep(0.05)
    raise AssertionError("the program never served /healthz")


async def test_healthz_is_served_in_telegram_polling_mode(environment) -> None:
    port = free_port()
    async with FakeBotAPI() as fake:
        env = {
            **environment,
            "TELEGRAM_TOKEN": fake.token,
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "HTTP_PORT": str(port),
        }
        program = await start(env, "run")
        try:
            health = await wait_for_health(port)
            assert (health.status_code, health.json()) == (200, {"database": "ok"})
        finally:
            program.terminate()
            _out, err = await program.communicate()
    assert program.returncode == 0, err.decode()


async def test_healthz_is_served_on_the_console(environment) -> None:
    port = free_port()
    program = await start({**environment, "HTTP_PORT": str(port)}, "run")
    try:
        health = await wait_for_health(port)
        assert (health.status_code, health.json()) == (200, {"database": "ok"})
    finally:
        out, err = await program.communicate(b"halo\n")
    assert program.returncode == 0, err.decode()
    assert WELCOME in out.decode()


def test_a_taken_port_leaves_the_console_working_with_one_warning(environment) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "bot", "run"],
            input="halo\n",
            env={**environment, "HTTP_PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
    assert done.returncode == 0, done.stderr
    assert WELCOME in done.stdout
    assert done.stderr.count("no /healthz: could not listen on") == 1
    assert "Traceback" not in done.stderr


async def test_the_engine_hands_a_lost_connection_to_the_worker_to_retry(
    database, monkeypatch
) -> None:
    """Residents writing at once share one transaction, and one alone has their own: a lost
    connection under either is run again on a new one, and nobody gets the apology."""
    engine = engine_on(database)
    real = conversations.load_for_update
    lost = []

    def load_for_update(*, db, **fields):
        first = not lost or (fields["external_id"] == "sendiri" and len(lost) == 1)
        if first:  # the first try of the first batch, then of the update alone
            lost.append(fields["external_id"])
            db.invalidate()  # what SQLAlchemy does when the server dropped the connection
            raise OperationalError("SELECT", {}, Exception("server closed the connection"))
        return real(db=db, **fields)

    monkeypatch.setattr(conversations, "load_for_update", load_for_update)
    messages = [Incoming("console", f"bersama-{n}", f"m-{n}", text="halo") for n in range(5)]
    try:
        answers = await asyncio.gather(*(engine.handle(message) for message in messages))
        alone = await engine.handle(Incoming("console", "sendiri", "m-9", text="halo"))
    finally:
        engine.close()
    assert len(lost) == 2
    assert all(WELCOME in answer[-1].text for answer in [*answers, alone])


def test_a_taken_port_stops_the_start_when_webhooks_need_it(environment) -> None:
    whatsapp = {
        "WHATSAPP_TOKEN": "token",
        "WHATSAPP_PHONE_NUMBER_ID": "1234",
        "WHATSAPP_APP_SECRET": "secret",
        "WHATSAPP_VERIFY_TOKEN": "verify-me",
        "WHATSAPP_API_BASE_URL": "http://127.0.0.1:9",
    }
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "bot", "run"],
            env={**environment, **whatsapp, "HTTP_PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
    assert done.returncode == 1
    assert f"Could not listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
