"""A black-box durability harness: real `python -m bot run` processes, started as an operator
starts them (a temp DATA_DIR, settings in the environment), against the fake Bot API and Graph
API servers (tests/fake_telegram.py, tests/fake_whatsapp.py) running in this process on
127.0.0.1, with faults switched on in the fakes (tests/fake_faults.py) and the processes killed,
frozen and restarted from outside. Nothing of the program is imported to drive it: residents
write through the fakes (getUpdates) or post to the program's webhooks, and what they got is
counted at the fakes. Only to set a scenario up (queued rows, the schema) and to read the
outcome (statuses, doubts, leases) does the harness use the database.

Used by bench/durability.py (all scenarios, printed) and tests/test_durability_process.py.

What is counted, per scenario:

- sent: messages residents wrote (or rows queued, for the queue's scenarios);
- answered: a resident's message followed by at least one bot message to their chat (a queued
  row: its text delivered at least once);
- lost: sent but never answered (never delivered);
- doubled: a resident got more bot messages after their one message than a resident gets in
  calm conditions, or the same text twice (a queued row: its text delivered more than once);
- maybe doubled: queued rows the program itself marks with `outbound.doubts` > 0 (sent again
  after a send of unknown outcome).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine as Database
from sqlalchemy import select, text

from tests import telegram_updates
from tests.fake_faults import Delivered, by_chat
from tests.fake_telegram import FakeBotAPI
from tests.fake_whatsapp import APP_SECRET, PHONE_NUMBER_ID, TOKEN, FakeGraphAPI, signed_webhook

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_SECRET = "durability-secret"
VERIFY_TOKEN = "durability-verify"
PEPPER = "durability-pepper"
FIRST_TELEGRAM_USER = 810_000_000
FIRST_WA_ID = 6281300000000
LEASE_SECONDS = 6  # CLOCK_LEASE_SECONDS: the clock beats every 2 s
KILL_AFTER = 0.5  # seconds between the residents' writing and the SIGKILL
QUIET = LEASE_SECONDS + 4.0  # seconds without a new delivery: the outcome is final (a dead
# process's lease runs out and the next beat takes its rows over within that)
GRACE = 2.0  # seconds waited after everything arrived, for late repeats
STOP_TIMEOUT = 20.0
_chat_ranges = itertools.count(0)  # each group of residents gets new chats


@dataclass
class Tally:
    """The outcome of one scenario."""

    scenario: str
    sent: int | None = None
    answered: int | None = None
    lost: int | None = None
    doubled: int | None = None
    maybe_doubled: int | None = None
    note: str = ""
    seconds: float = 0.0
    taken_over: int | None = None  # frozen-holder: rows first delivered while it was frozen

    def row(self) -> str:
        """One printed line: the figures, '-' where a scenario has none."""
        figures = (self.sent, self.answered, self.lost, self.doubled, self.maybe_doubled)
        cells = "".join(f"{'-' if n is None else n:>9}" for n in figures)
        return f"{self.scenario:<26}{cells}{self.seconds:>7.0f}s  {self.note}"


HEADER = (
    f"{'scenario':<26}{'sent':>9}{'answered':>9}{'lost':>9}{'doubled':>9}{'maybe2x':>9}"
    f"{'time':>8}  note"
)


def free_port() -> int:
    """A port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the database -------------------------------------------------------------------------


def prepare_database(url: str | None, folder: Path, options: Options, env: dict[str, str]) -> str:
    """Migrate and empty the database at `url` (a new SQLite file in `folder` when None);
    return its URL. The schema is the measured program's: migrated by its own
    `python -m bot migrate` when it is another source tree than this one."""
    from storage.database import make_engine, migrate
    from tests.helpers import clear

    url = url or f"sqlite:///{folder / 'durability.db'}"
    database = make_engine(url)
    try:
        if options.program.resolve() == ROOT:
            migrate(database)
        else:
            command = [sys.executable, "-m", "bot", "migrate"]
            done = subprocess.run(
                command,
                cwd=options.program,
                env={**env, "DATABASE_URL": url},
                capture_output=True,
                text=True,
            )
            if done.returncode:
                raise RuntimeError(f"bot migrate failed: {done.stderr[-2000:]}")
        clear(database)
    finally:
        database.dispose()
    return url


def is_postgres(url: str | None) -> bool:
    """Tell whether a database URL is PostgreSQL's."""
    return bool(url) and url.startswith("postgresql")


def queue_rows(database: Database, channel: str, count: int, first_id: int) -> set[str]:
    """Queue one reminder to each of `count` new residents on `channel`; return the texts."""
    from storage import outbox, residents
    from storage.outbox import OutboundKind
    from storage.types import utcnow

    now, texts = utcnow(), set()
    with database.begin() as db:
        for n in range(count):
            profile, _identity = residents.create_resident(
                db=db, channel=channel, external_id=str(first_id + n), language="id", now=now
            )
            content = f"Pengingat uji {n}: besok pemeriksaan kesehatan 08.00"
            outbox.enqueue(
                db=db, resident_id=profile.id, kind=OutboundKind.REMINDER, text=content, now=now
            )
            texts.add(content)
    return texts


def outbound_figures(database: Database) -> tuple[Counter[str], int]:
    """The queue's rows by status, and how many carry doubts."""
    with database.connect() as db:
        statuses = Counter(
            dict(db.execute(text("SELECT status, count(*) FROM outbound GROUP BY status")).all())
        )
        doubts = db.execute(text("SELECT count(*) FROM outbound WHERE doubts > 0")).scalar_one()
    return Counter({str(k): v for k, v in statuses.items()}), int(doubts)


def lease_holder(database: Database, name: str) -> str | None:
    """Who holds a lease now (its holder names the process id), if anyone."""
    from storage.leases import Lease
    from storage.types import utcnow

    table = Lease.__table__
    with database.connect() as db:
        return db.execute(
            select(table.c.holder).where(table.c.name == name, table.c.expires_at > utcnow())
        ).scalar_one_or_none()


def terminate_backends(database: Database) -> int:
    """pg_terminate_backend every other connection to this database; return how many."""
    with database.connect() as db:
        ended = db.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
        db.commit()
    return int(ended)


def apology_texts() -> set[str]:
    """hints.error_hint in every language: the "something went wrong" answer."""
    from handlers.hints import error_hint
    from handlers.i18n import LANGUAGES, translations

    return {error_hint(translations(language).gettext) for language in LANGUAGES}


# --- the program --------------------------------------------------------------------------


@dataclass
class Program:
    """One `python -m bot run` process; its log (stderr and stdout) in a file."""

    env: dict[str, str]
    log_path: Path
    cwd: Path = ROOT  # the source tree of the program: this one, or another checkout
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> Program:
        """Start it."""
        log = self.log_path.open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=log,
            )
        finally:
            log.close()
        return self

    @property
    def pid(self) -> int:
        """Its process id."""
        assert self.process is not None
        return self.process.pid

    def log(self) -> str:
        """What it logged so far."""
        return self.log_path.read_text("utf-8", errors="replace")

    async def wait_log(self, needle: str, timeout: float = 30.0) -> None:
        """Wait until its log says `needle`; RuntimeError when it died or took too long."""
        deadline = time.monotonic() + timeout
        while needle not in self.log():
            if self.process is not None and self.process.returncode is not None:
                raise RuntimeError(f"the program stopped: {self.log()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {needle!r} in the log after {timeout}s")
            await asyncio.sleep(0.05)

    def signal(self, signum: int) -> None:
        """Send it a signal (SIGKILL, SIGSTOP, SIGCONT...), if it still runs."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)

    async def kill(self) -> None:
        """SIGKILL it and reap it."""
        self.signal(signal.SIGKILL)
        if self.process is not None:
            await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM it (SIGCONT first, in case it is frozen); SIGKILL after STOP_TIMEOUT."""
        if self.process is None or self.process.returncode is not None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            await self.kill()


@dataclass
class Run:
    """One scenario's setting: its folder, database, environment and processes."""

    folder: Path
    database_url: str
    env: dict[str, str] = field(default_factory=dict)
    programs: list[Program] = field(default_factory=list)
    program_dir: Path = ROOT
    _database: Database | None = None

    @property
    def database(self) -> Database:
        """An engine on the scenario's database, for setting up and reading outcomes."""
        if self._database is None:
            from storage.database import make_engine

            self._database = make_engine(self.database_url)
        return self._database

    def program(self, **settings: str) -> Program:
        """A program (not started yet) with the run's environment and these settings."""
        log = self.folder / f"program-{len(self.programs) + 1}.log"
        program = Program({**self.env, **settings}, log, self.program_dir)
        self.programs.append(program)
        return program

    async def close(self) -> None:
        """Stop every program still running; drop the engine."""
        for program in self.programs:
            await program.stop()
        if self._database is not None:
            self._database.dispose()


def base_environment(folder: Path, database_url: str) -> dict[str, str]:
    """The settings every scenario starts from: small timings so that a scenario is short."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "WHATSAPP_", "DATABASE_URL", "NIK_PEPPER", "HTTP_"))
    }
    env.update(
        DATA_DIR=str(folder / "data"),
        DATABASE_URL=database_url,
        NIK_PEPPER=PEPPER,
        LOG_LEVEL="INFO",
        CLOCK_LEASE_SECONDS=str(LEASE_SECONDS),
        OUTBOUND_BACKOFF_SECONDS="1",
        OUTBOUND_BACKOFF_CAP_SECONDS="4",
        OUTBOUND_MAX_ATTEMPTS="5",
        TELEGRAM_RATE="100",
        QUIET_HOURS_START="00:00",  # equal: no quiet hours, whatever the hour of the run
        QUIET_HOURS_END="00:00",
        HTTP_PORT=str(free_port()),
    )
    return env


@contextlib.asynccontextmanager
async def run_in(options: Options, *, sqlite: bool = False):
    """A Run in a new temp folder (under `options.keep` and left there, when given), on the
    options' database or (`sqlite`, or none given) a new SQLite file."""
    keep = options.keep
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="durability-", dir=keep) as name:
        folder = Path(name)
        env = base_environment(folder, "")
        url = prepare_database(None if sqlite else options.database_url, folder, options, env)
        env["DATABASE_URL"] = url
        run = Run(folder, url, env, program_dir=options.program)
        try:
            yield run
        finally:
            await run.close()
            if keep is not None:  # TemporaryDirectory removes it: copy the logs out first
                for log in folder.glob("*.log"):
                    log.rename(keep / f"{folder.name}-{log.name}")


# --- residents writing --------------------------------------------------------------------


def telegram_settings(fake: FakeBotAPI) -> dict[str, str]:
    """The settings that point the program at the fake Bot API."""
    return {"TELEGRAM_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url}


def telegram_webhook_settings(fake: FakeBotAPI, port: str) -> dict[str, str]:
    """Telegram by webhook: the URL the program gives setWebhook, and the secret."""
    return {
        **telegram_settings(fake),
        "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


def whatsapp_settings(fake: FakeGraphAPI) -> dict[str, str]:
    """The settings that point the program at the fake Graph API."""
    return {
        "WHATSAPP_TOKEN": TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_API_BASE_URL": fake.base_url,
    }


async def redeliver(
    http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], until: float
) -> int:
    """POST a webhook delivery until it is answered 200, as Telegram and Meta deliver again
    what was refused or not answered; return the number of tries (0: given up at `until`)."""
    for attempt in itertools.count(1):
        try:
            answer = await http.post(url, content=body, headers=headers)
            if answer.status_code == 200:
                return attempt
        except httpx.HTTPError:
            pass
        if time.monotonic() >= until:
            return 0
        await asyncio.sleep(0.5)
    return 0


@dataclass
class Writers:
    """Residents writing one message each on one channel; when each wrote, by chat."""

    write: Callable[[str], Awaitable[None]]  # one resident writes "halo" to the bot
    deliveries: Callable[[], list[Delivered]]  # what the fake got from the bot
    chats: Callable[[int], list[str]]  # the chats of n residents
    written: dict[str, float] = field(default_factory=dict)
    posts: list[asyncio.Task] = field(default_factory=list)

    async def all_write(self, chats: list[str]) -> None:
        """These residents write at once."""
        await asyncio.gather(*(self.write(chat) for chat in chats))

    def answers(self, chat: str) -> list[Delivered]:
        """The bot's messages to a chat since its resident wrote."""
        since = self.written[chat]
        return [d for d in by_chat(self.deliveries()).get(chat, []) if d.at >= since]

    def unanswered(self, chats: list[str]) -> list[str]:
        """Chats whose message has no bot message after it yet."""
        chats_now = by_chat(self.deliveries())
        return [
            chat
            for chat in chats
            if not any(d.at >= self.written[chat] for d in chats_now.get(chat, []))
        ]

    async def cancel_posts(self) -> str:
        """Stop redelivering webhooks; say how many had to be posted again."""
        for task in self.posts:
            task.cancel()
        tries = await asyncio.gather(*self.posts, return_exceptions=True)
        again = sum(isinstance(n, int) and n > 1 for n in tries)
        pending = sum(not isinstance(n, int) or n == 0 for n in tries)
        return f"{again} webhook deliveries posted again, {pending} never taken"


def telegram_polling_writers(fake: FakeBotAPI) -> Writers:
    """Residents writing to the bot through the fake's getUpdates."""

    async def write(chat: str) -> None:
        writers.written[chat] = time.monotonic()
        fake.push_update(telegram_updates.text("halo", user_id=int(chat)))

    writers = Writers(write, fake.deliveries, _telegram_chats)
    return writers


def telegram_webhook_writers(fake: FakeBotAPI, http: httpx.AsyncClient, port: str) -> Writers:
    """Residents writing to the bot as Telegram's webhook posts their updates."""
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
    }
    update_ids = itertools.count(5_000_000)

    async def write(chat: str) -> None:
        update = telegram_updates.text("halo", user_id=int(chat))
        update["update_id"] = next(update_ids)
        body = json.dumps(update).encode()
        writers.written[chat] = time.monotonic()
        until = time.monotonic() + 90
        writers.posts.append(asyncio.create_task(redeliver(http, url, body, headers, until)))

    writers = Writers(write, fake.deliveries, _telegram_chats)
    return writers


def whatsapp_writers(fake: FakeGraphAPI, http: httpx.AsyncClient, port: str) -> Writers:
    """Residents writing to the bot as Meta's webhook posts their messages (signed)."""
    url = f"http://127.0.0.1:{port}/whatsapp/webhook"

    async def write(chat: str) -> None:
        body, headers = signed_webhook("text", wa_id=chat, text="halo")
        writers.written[chat] = time.monotonic()
        until = time.monotonic() + 90
        writers.posts.append(asyncio.create_task(redeliver(http, url, body, headers, until)))

    writers = Writers(write, fake.deliveries, _whatsapp_chats)
    return writers


def _telegram_chats(count: int) -> list[str]:
    """`count` new Telegram private chats (chat id = user id)."""
    start = FIRST_TELEGRAM_USER + next(_chat_ranges) * 100_000
    return [str(start + n) for n in range(count)]


def _whatsapp_chats(count: int) -> list[str]:
    """`count` new WhatsApp numbers."""
    start = FIRST_WA_ID + next(_chat_ranges) * 100_000
    return [str(start + n) for n in range(count)]


# --- waiting and counting -----------------------------------------------------------------


async def settle(
    done: Callable[[], bool],
    progress: Callable[[], int],
    *,
    limit: float = 90.0,
    quiet: float = QUIET,
) -> None:
    """Wait until `done()` (then GRACE more, for late repeats), or until `progress()` stood
    still for `quiet` seconds, or `limit` seconds."""
    deadline = time.monotonic() + limit
    last, last_change = progress(), time.monotonic()
    while time.monotonic() < deadline:
        if done():
            await asyncio.sleep(GRACE)
            return
        await asyncio.sleep(0.1)
        now_progress = progress()
        if now_progress != last:
            last, last_change = now_progress, time.monotonic()
        elif time.monotonic() - last_change >= quiet:
            return


async def warm_up(writers: Writers) -> int:
    """One resident writes in calm conditions; return how many messages answer them (what a
    resident's one message gets: more than this after a fault is a repeat)."""
    [chat] = writers.chats(1)
    await writers.write(chat)
    deadline = time.monotonic() + 60
    while not writers.answers(chat):
        if time.monotonic() > deadline:
            raise RuntimeError("the program answers nobody, even in calm conditions")
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    return len(writers.answers(chat))


def count_answers(scenario: str, writers: Writers, chats: list[str], calm: int) -> Tally:
    """sent, answered, lost and doubled of residents' messages."""
    answered = doubled = 0
    for chat in chats:
        answers = writers.answers(chat)
        texts = [d.text for d in answers]
        answered += bool(answers)
        doubled += len(answers) > calm or len(set(texts)) < len(texts)
    return Tally(scenario, len(chats), answered, len(chats) - answered, doubled)


def count_rows(scenario: str, deliveries: list[Delivered], texts: set[str]) -> Tally:
    """sent, answered (delivered), lost and doubled of queued rows, by their unique texts."""
    counts = Counter(d.text for d in deliveries if d.text in texts)
    delivered = sum(1 for t in texts if counts[t])
    doubled = sum(1 for t in texts if counts[t] > 1)
    return Tally(scenario, len(texts), delivered, len(texts) - delivered, doubled)


def with_doubts(tally: Tally, database: Database, note: str = "") -> Tally:
    """Add the outbound rows marked with doubts (replies too, once they go through the
    queue), and the rows by status, to a tally and its note."""
    statuses, tally.maybe_doubled = outbound_figures(database)
    rows = ", ".join(f"{name} {n}" for name, n in sorted(statuses.items()))
    tally.note = "; ".join(part for part in (note, rows and f"rows: {rows}") if part)
    return tally


# --- scenarios ----------------------------------------------------------------------------


@dataclass
class Options:
    """What the bench or a test asks for."""

    residents: int = 300
    database_url: str | None = None  # None: a new SQLite file per scenario
    keep: Path | None = None  # keep the programs' logs here
    kill_after: float = KILL_AFTER  # seconds from the residents' writing to the SIGKILL
    program: Path = ROOT  # the source tree whose `python -m bot run` is measured


async def crash_telegram_polling(options: Options) -> Tally:
    """Residents write at once (getUpdates), SIGKILL 0.5 s later, restart: each answered?"""
    async with FakeBotAPI() as fake, run_in(options) as run:
        writers = telegram_polling_writers(fake)
        first = await run.program(**telegram_settings(fake)).start()
        await first.wait_log("Telegram channel started")
        calm = await warm_up(writers)
        chats = writers.chats(options.residents)
        await writers.all_write(chats)
        await asyncio.sleep(options.kill_after)
        await first.kill()
        restarted = await run.program(**telegram_settings(fake)).start()
        await restarted.wait_log("Telegram channel started", timeout=60)  # measured once up
        await settle(lambda: not writers.unanswered(chats), lambda: len(fake.deliveries()))
        tally = count_answers("crash-telegram-polling", writers, chats, calm)
        return with_doubts(tally, run.database)


async def crash_telegram_webhook(options: Options) -> Tally:
    """Telegram posts updates to the webhook (redelivering what is not answered 200), SIGKILL
    0.5 s later, restart: each answered?"""
    async with (
        FakeBotAPI() as fake,
        run_in(options) as run,
        httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=40)) as http,
    ):
        port = run.env["HTTP_PORT"]
        settings = telegram_webhook_settings(fake, port)
        writers = telegram_webhook_writers(fake, http, port)
        first = await run.program(**settings).start()
        await first.wait_log("Telegram channel started")
        calm = await warm_up(writers)
        chats = writers.chats(options.residents)
        await writers.all_write(chats)
        await asyncio.sleep(options.kill_after)
        await first.kill()
        restarted = await run.program(**settings).start()
        await restarted.wait_log("Telegram channel started", timeout=60)  # measured once up
        await settle(lambda: not writers.unanswered(chats), lambda: len(fake.deliveries()))
        note = await writers.cancel_posts()
        tally = count_answers("crash-telegram-webhook", writers, chats, calm)
        return with_doubts(tally, run.database, note)


async def crash_whatsapp(options: Options) -> Tally:
    """Meta posts signed messages to the webhook (redelivering non-200), SIGKILL 0.5 s later,
    restart: each answered?"""
    async with (
        FakeGraphAPI() as fake,
        run_in(options) as run,
        httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=40)) as http,
    ):
        port = run.env["HTTP_PORT"]
        writers = whatsapp_writers(fake, http, port)
        first = await run.program(**whatsapp_settings(fake)).start()
        await first.wait_log("WhatsApp channel started")
        calm = await warm_up(writers)
        chats = writers.chats(options.residents)
        await writers.all_write(chats)
        await asyncio.sleep(options.kill_after)
        await first.kill()
        restarted = await run.program(**whatsapp_settings(fake)).start()
        await restarted.wait_log("WhatsApp channel started", timeout=60)  # measured once up
        await settle(lambda: not writers.unanswered(chats), lambda: len(fake.deliveries()))
        note = await writers.cancel_posts()
        tally = count_answers("crash-whatsapp", writers, chats, calm)
        return with_doubts(tally, run.database, note)


async def _queue_scenario(
    options: Options,
    scenario: str,
    fault: Callable[[FakeBotAPI, set[str]], Awaitable[str]],
    *,
    before: Callable[[FakeBotAPI], None] | None = None,
) -> Tally:
    """Queue a row to each resident (Telegram) while the program runs (after `before` was
    done to the fake, if given), apply `fault` to the fake (it returns a note), then count
    the rows delivered, lost and doubled."""
    async with FakeBotAPI() as fake, run_in(options) as run:
        program = await run.program(**telegram_settings(fake)).start()
        await program.wait_log("Telegram channel started")
        if before is not None:
            before(fake)
        texts = queue_rows(run.database, "telegram", options.residents, FIRST_TELEGRAM_USER)
        note = await fault(fake, texts)

        def delivered() -> int:
            return len({d.text for d in fake.deliveries() if d.text in texts})

        await settle(lambda: delivered() == len(texts), lambda: len(fake.deliveries()))
        tally = count_rows(scenario, fake.deliveries(), texts)
        tally.note = note
        return with_doubts(tally, run.database, tally.note)


def _delivered_share(fake: FakeBotAPI, texts: set[str]) -> float:
    """The share of the rows' texts delivered so far."""
    return len({d.text for d in fake.deliveries() if d.text in texts}) / max(1, len(texts))


async def _until_share(fake: FakeBotAPI, texts: set[str], share: float, limit: float = 30) -> None:
    """Wait until `share` of the rows were delivered (or `limit` seconds)."""
    deadline = time.monotonic() + limit
    while _delivered_share(fake, texts) < share and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


OUTAGE_SECONDS = 16  # longer than the backoff schedule: 1 + 2 + 4 + 4 s over 5 tries


async def outage(options: Options) -> Tally:
    """The Bot API refuses connections for longer than the whole backoff schedule while the
    queue holds rows; then it is back."""

    async def wait_and_heal(fake: FakeBotAPI, texts: set[str]) -> str:
        await asyncio.sleep(OUTAGE_SECONDS)
        fake.faults.heal()
        return f"refused {OUTAGE_SECONDS} s (backoff 1 s doubling to 4 s, 5 tries)"

    def refuse(fake: FakeBotAPI) -> None:
        fake.faults.refuse()

    return await _queue_scenario(options, "outage", wait_and_heal, before=refuse)


async def resets_before_read(options: Options) -> Tally:
    """One sendMessage in 10 is reset after the fake read it, unhandled (did not arrive)."""

    async def resets(fake: FakeBotAPI, texts: set[str]) -> str:
        fake.faults.reset_before_read(paths=("sendMessage",), one_in=10)
        await _until_share(fake, texts, 0.9)
        return "1 sendMessage in 10 reset unhandled"

    return await _queue_scenario(options, "resets-before-read", resets)


async def resets_after_record(options: Options) -> Tally:
    """One sendMessage in 10 is handled (it arrived), then its connection reset unanswered."""

    async def resets(fake: FakeBotAPI, texts: set[str]) -> str:
        fake.faults.reset_after_record(paths=("sendMessage",), one_in=10)
        await _until_share(fake, texts, 0.9)
        return "1 sendMessage in 10 arrived, then reset unanswered"

    return await _queue_scenario(options, "resets-after-record", resets)


BLACK_HOLE_SECONDS = 12  # longer than python-telegram-bot's 5 s read timeout


async def blackhole(options: Options) -> Tally:
    """A quarter of the way through the queue, the Bot API reads requests and never answers
    for BLACK_HOLE_SECONDS."""

    async def hole(fake: FakeBotAPI, texts: set[str]) -> str:
        await _until_share(fake, texts, 0.25)
        fake.faults.black_hole(BLACK_HOLE_SECONDS)
        await asyncio.sleep(BLACK_HOLE_SECONDS)
        return f"black hole {BLACK_HOLE_SECONDS} s at a quarter of the queue"

    return await _queue_scenario(options, "blackhole", hole)


PG_WRITERS = 8


async def pg_terminate(options: Options) -> Tally:
    """PostgreSQL ends every connection of the program (as at a restart); then residents write
    one after another: how many get the apology?"""
    if not is_postgres(options.database_url):
        return Tally("pg-terminate", note="skipped: PostgreSQL only (--database-url)")
    apologies = apology_texts()
    async with FakeBotAPI() as fake, run_in(options) as run:
        writers = telegram_polling_writers(fake)
        program = await run.program(**telegram_settings(fake)).start()
        await program.wait_log("Telegram channel started")
        calm = await warm_up(writers)
        ended = terminate_backends(run.database)
        chats = writers.chats(PG_WRITERS)
        for chat in chats:
            await writers.write(chat)
            deadline = time.monotonic() + 10
            while writers.unanswered([chat]) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        await asyncio.sleep(GRACE)
        tally = count_answers("pg-terminate", writers, chats, calm)
        sorry = sum(any(d.text in apologies for d in writers.answers(chat)) for chat in chats)
        note = f"apologies: {sorry} of {len(chats)} (after {ended} connections ended)"
        return with_doubts(tally, run.database, note)


async def healthz_full_disk(options: Options) -> Tally:
    """SQLite cannot write (the process's file size limit set to 0 with prlimit: every write
    fails, EFBIG, as on a full disk): does /healthz say so? Always on a new SQLite file."""
    async with (
        FakeGraphAPI() as fake,
        run_in(options, sqlite=True) as run,
        httpx.AsyncClient(timeout=5) as http,
    ):
        port = run.env["HTTP_PORT"]
        writers = whatsapp_writers(fake, http, port)
        program = await run.program(**whatsapp_settings(fake)).start()
        await program.wait_log("WhatsApp channel started")
        await warm_up(writers)
        healthz = f"http://127.0.0.1:{port}/healthz"
        before = (await http.get(healthz)).status_code
        soft, hard = resource.prlimit(program.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(program.pid, resource.RLIMIT_FSIZE, (0, hard))  # soft: it can go back
        try:
            await asyncio.sleep(0.5)
            during = (await http.get(healthz)).status_code
            [chat] = writers.chats(1)
            await writers.write(chat)  # does the disk really refuse? a resident writes
            await asyncio.sleep(3)
            answers = [d.text for d in writers.answers(chat)]
        finally:
            resource.prlimit(program.pid, resource.RLIMIT_FSIZE, (soft, hard))
            await writers.cancel_posts()
        got = (
            "nothing"
            if not answers
            else "the apology"
            if answers[0] in apology_texts()
            else "an answer"
        )
        note = (
            f"/healthz {before} before, {during} while no write succeeds "
            f"(a resident writing then got {got})"
        )
        return Tally("healthz-full-disk", note=note)


async def healthz_in_polling_mode(options: Options) -> Tally:
    """Telegram by long polling, HTTP_PORT set: is /healthz served?"""
    async with FakeBotAPI() as fake, run_in(options) as run:
        program = await run.program(**telegram_settings(fake)).start()
        await program.wait_log("Telegram channel started")
        await warm_up(telegram_polling_writers(fake))
        url = f"http://127.0.0.1:{run.env['HTTP_PORT']}/healthz"
        async with httpx.AsyncClient(timeout=5) as http:
            try:
                note = f"/healthz answers {(await http.get(url)).status_code}"
            except httpx.ConnectError:
                note = "/healthz not served (connection refused)"
        return Tally("healthz-in-polling-mode", note=note)


FREEZE_SECONDS = 10  # longer than CLOCK_LEASE_SECONDS


async def frozen_holder(options: Options) -> Tally:
    """Two processes on PostgreSQL; the one draining the queue is frozen (SIGSTOP) for longer
    than its lease, the other takes over, the frozen one wakes (SIGCONT): doubles?"""
    if not is_postgres(options.database_url):
        return Tally("frozen-holder", note="skipped: PostgreSQL only (--database-url)")
    async with FakeBotAPI() as fake, run_in(options) as run:
        settings = {**telegram_settings(fake), "TELEGRAM_RATE": "30"}
        first = await run.program(**settings).start()
        await first.wait_log("Telegram channel started")
        second = await run.program(**settings).start()
        await second.wait_log("Telegram channel started")
        texts = queue_rows(run.database, "telegram", options.residents, FIRST_TELEGRAM_USER)
        await _until_share(fake, texts, 0.1)
        holder = lease_holder(run.database, "outbound:telegram") or ""
        frozen = next((p for p in (first, second) if f":{p.pid}:" in holder), first)
        frozen.signal(signal.SIGSTOP)
        stopped = time.monotonic()
        await asyncio.sleep(FREEZE_SECONDS)
        frozen.signal(signal.SIGCONT)
        woke = time.monotonic()

        def all_done() -> bool:
            # every row delivered, and none left to go again (a doubt waits two terms)
            delivered = {d.text for d in fake.deliveries() if d.text in texts}
            statuses, _doubts = outbound_figures(run.database)
            return len(delivered) == len(texts) and not statuses["pending"] + statuses["sending"]

        await settle(all_done, lambda: len(fake.deliveries()), quiet=QUIET + 2 * LEASE_SECONDS)
        tally = count_rows("frozen-holder", fake.deliveries(), texts)
        firsts, during, after = repeats_around(fake.deliveries(), texts, stopped, woke)
        tally.taken_over = firsts
        tally.note = (
            f"holder frozen {FREEZE_SECONDS} s (lease {LEASE_SECONDS} s"
            f"{'' if holder else ', holder not found: froze the first'}); the other sent "
            f"{firsts} while it was frozen; repeats sent while it was frozen {during}, after "
            f"it woke {after}"
        )
        return with_doubts(tally, run.database, tally.note)


def repeats_around(
    deliveries: list[Delivered], texts: set[str], stopped: float, woke: float
) -> tuple[int, int, int]:
    """How many rows were first delivered while the holder was frozen (from `stopped` to
    `woke`: the other process took the queue over), and repeated deliveries: how many came
    while it was frozen (the other sending again what the frozen one had in flight), and how
    many after it woke (the woken one sending what the other had sent, or the other way)."""
    seen: set[str] = set()
    firsts = during = after = 0
    for delivery in deliveries:
        if delivery.text not in texts:
            continue
        frozen = stopped <= delivery.at < woke
        if delivery.text in seen:
            during += frozen
            after += delivery.at >= woke
        else:
            firsts += frozen
        seen.add(delivery.text)
    return firsts, during, after


SCENARIOS: dict[str, Callable[[Options], Awaitable[Tally]]] = {
    "crash-telegram-polling": crash_telegram_polling,
    "crash-telegram-webhook": crash_telegram_webhook,
    "crash-whatsapp": crash_whatsapp,
    "outage": outage,
    "resets-before-read": resets_before_read,
    "resets-after-record": resets_after_record,
    "blackhole": blackhole,
    "pg-terminate": pg_terminate,
    "healthz-full-disk": healthz_full_disk,
    "healthz-in-polling-mode": healthz_in_polling_mode,
    "frozen-holder": frozen_holder,
}


async def run_scenario(name: str, options: Options) -> Tally:
    """Run one scenario and time it."""
    started = time.monotonic()
    tally = await SCENARIOS[name](options)
    tally.seconds = time.monotonic() - started
    return tally
