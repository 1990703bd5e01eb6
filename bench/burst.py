"""Benchmark: the burst of answers after a broadcast, into several `python -m bot run` programs.

A broadcast to 50,000 residents makes thousands of them answer within minutes ("terima kasih",
"ok", questions). This fills a PostgreSQL database with registered residents, starts the fake
Telegram Bot API and the fake WhatsApp Graph API of the tests in this process (127.0.0.1,
each refusing sends beyond its platform's limit over any one second with a 429: a sliding
window, as tests/fake_limits.py), and `--processes` programs
`python -m bot run` on that database, each serving both webhooks. Then it posts `--telegram`
Telegram updates and `--whatsapp` signed WhatsApp webhooks evenly over `--seconds`, each from
another resident, to the programs in turn, and waits until every one is answered (at most
`--deadline` seconds; then everything stops by itself). It prints:

- accepted/s and the webhook's p50/p99 (Meta asks for a median under 250 ms and under 1 % over
  1 s; Telegram sends an update again when its webhook is not answered in time);
- reply p50/p99: from the post to the first message the fake received for that chat;
- unanswered, answered twice (the same message twice in one chat), apologies;
- 429s, and the most messages the fakes received in any one second, against the limit.

    .venv/bin/python bench/burst.py --database-url postgresql+psycopg://root@127.0.0.1:5432/burst \
        [--telegram 20000] [--whatsapp 20000] [--seconds 120] [--processes 2]

With `--queued N`, N announcements to as many other Telegram residents wait in the queue
before the programs start, and the programs drain them while the residents write: the reply's
p99 during a broadcast drain (issue 18, part 4), with the broadcast's own rate beside it.
`--queued 100000 --telegram 600 --whatsapp 600 --seconds 120` is five residents a second on
each platform during the first two minutes of a 100,000-message drain; the run stops once they
are answered, with the rest of the broadcast still queued.

The database's `public` schema is dropped and recreated first: never point it at data that
matters. Each program is set a little below the platform's whole limit (TELEGRAM_RATE,
WHATSAPP_RATE: 97 % of it), and the programs share it through their send rates
(bot/rate_sharing.py): the one holding a channel's lease drains its queue with what the others'
replies leave. `--pacing split` gives each program the limit divided by `--processes` and no
sharing, the safe way without it; `--pacing alone` each program 97 % of the limit and no sharing
(the 429s teach each its share).
"""

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
# run as a script: the project, not bench/, is where the packages are
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import httpx  # noqa: E402
from sqlalchemy import Engine  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.registry import fresh_database, percentile  # noqa: E402
from handlers import hints  # noqa: E402
from handlers.i18n import translations  # noqa: E402
from handlers.positions import FlowName, MenuStep  # noqa: E402
from storage.conversations import Conversation  # noqa: E402
from storage.database import make_engine  # noqa: E402
from storage.residents import ChannelIdentity, Resident  # noqa: E402
from storage.types import utcnow  # noqa: E402
from tests import telegram_updates as tg  # noqa: E402
from tests.fake_telegram import NEW_MESSAGE_METHODS, FakeBotAPI  # noqa: E402
from tests.fake_whatsapp import (  # noqa: E402
    APP_SECRET,
    PHONE_NUMBER_ID,
    TOKEN,
    FakeGraphAPI,
    signed_webhook,
)
from tests.pacing_harness import is_bulk, queue_bulk  # noqa: E402

PROJECT = HERE.parent
SECRET = "burst-webhook-secret"
PEPPER = "burst-bench-pepper-not-a-secret-0123456789"
KELURAHAN = [f"31.75.07.100{number}" for number in range(1, 8)]
# what residents write after an announcement: thanks, an acknowledgement, a question, a word
TEXTS = [
    "terima kasih",
    "ok",
    "makasih min 🙏",
    "kapan sembako dibagi?",
    "siap",
    "menu",
    "apakah saya dapat bansos?",
    "👍",
]
PACINGS = ("shared", "split", "alone")
ANALYSE_EVERY = 10.0  # seconds between two ANALYZE runs during a burst
RATE_SHARE = 0.97  # of a platform's limit, each program's rate: a little below, as in production
TELEGRAM_FIRST_USER = 600_000_000  # below the queued broadcast's chats (tests/pacing_harness)
WHATSAPP_FIRST = 6281300000000
CONNECTIONS = 100  # a platform's connections to one program at once
WEBHOOK_TIMEOUT = 10.0  # seconds: a slower answer counts as not answered in time


@dataclass
class Sent:
    """One webhook posted: to which chat, with what, when, and how it was answered."""

    platform: str
    chat: str
    text: str
    at: float = 0.0
    status: int = 0
    seconds: float = 0.0


@dataclass
class Figures:
    """What one burst measured."""

    posted: int = 0
    accepted: int = 0
    accept_seconds: float = 0.0
    webhook: list[float] = field(default_factory=list)
    refused: Counter = field(default_factory=Counter)  # status (0: no answer in time) -> count
    reply: dict[str, list[float]] = field(default_factory=dict)  # platform -> seconds
    unanswered: int = 0
    doubled: int = 0
    apologies: int = 0
    rate_limited: dict[str, int] = field(default_factory=dict)
    busiest_second: dict[str, int] = field(default_factory=dict)
    drained_seconds: float = 0.0
    bulk: int = 0  # queued broadcast messages accepted while the residents were answered
    bulk_seconds: float = 0.0  # from the first webhook to the last resident's answer


def free_port() -> int:
    """Return a port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def populate(database: Engine, telegram: int, whatsapp: int) -> None:
    """Add a registered, consented resident for every chat that will write."""
    now = utcnow()
    chats = [("telegram", str(TELEGRAM_FIRST_USER + n)) for n in range(telegram)] + [
        ("whatsapp", str(WHATSAPP_FIRST + n)) for n in range(whatsapp)
    ]
    for start in range(0, len(chats), 10_000):
        chunk = chats[start : start + 10_000]
        rows = [
            {
                "name": f"Warga {start + n}",
                "language": "id" if n % 5 else "en",
                "kelurahan_code": KELURAHAN[n % len(KELURAHAN)],
                "rw": 1 + n % 12,
                "consent_at": now,
                "consent_version": "1",
                "opted_out": False,
                "phone_verified": False,
                "registry_programs": "",
                "created_at": now,
                "updated_at": now,
            }
            for n in range(len(chunk))
        ]
        with database.begin() as db:
            ids = (
                db.execute(
                    Resident.__table__.insert().returning(
                        Resident.__table__.c.id, sort_by_parameter_order=True
                    ),
                    rows,
                )
                .scalars()
                .all()
            )
            db.execute(  # each at the main menu, where an announcement finds them
                Conversation.__table__.insert(),
                [
                    {"resident_id": resident_id, "flow": FlowName.MENU, "step": MenuStep.MAIN,
                     "data": {}, "updated_at": now}
                    for resident_id in ids
                ],
            )  # fmt: skip
            db.execute(
                ChannelIdentity.__table__.insert(),
                [
                    {
                        "resident_id": resident_id,
                        "channel": channel,
                        "external_id": external_id,
                        "created_at": now,
                        "last_inbound_at": now,
                    }
                    for resident_id, (channel, external_id) in zip(ids, chunk, strict=True)
                ],
            )


def program_environment(
    url: str, folder: Path, port: int, share: float, sharing: bool, **fakes
) -> dict:
    """The environment of one program: the database, both channels on the fakes, its port,
    `share` of each platform's limit as its rate, and whether it shares the limit."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "WHATSAPP_", "DATABASE_URL", "NIK_PEPPER"))
    }
    env.update(
        DATA_DIR=str(folder / f"data-{port}"),
        DATABASE_URL=url,
        NIK_PEPPER=PEPPER,
        HTTP_PORT=str(port),
        LOG_LEVEL="WARNING",
        TELEGRAM_TOKEN=fakes["telegram"].token,
        TELEGRAM_API_BASE_URL=fakes["telegram"].base_url,
        TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_RATE=str(fakes["telegram_rate"] * share),
        WHATSAPP_TOKEN=TOKEN,
        WHATSAPP_PHONE_NUMBER_ID=PHONE_NUMBER_ID,
        WHATSAPP_APP_SECRET=APP_SECRET,
        WHATSAPP_VERIFY_TOKEN="burst-verify",
        WHATSAPP_API_BASE_URL=fakes["whatsapp"].base_url,
        WHATSAPP_RATE=str(fakes["whatsapp_rate"] * share),
        SHARE_SEND_RATES=str(sharing).lower(),
    )
    return env


async def start_program(env: dict) -> asyncio.subprocess.Process:
    """Start `python -m bot run` and wait until its health check answers."""
    program = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=PROJECT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=open(Path(env["DATA_DIR"] + ".log"), "wb"),  # noqa: SIM115 (the program's)
    )
    async with httpx.AsyncClient(timeout=2) as http:
        for _attempt in range(600):
            if program.returncode is not None:
                raise RuntimeError(f"the program stopped at start; see {env['DATA_DIR']}.log")
            try:
                if (await http.get(f"http://127.0.0.1:{env['HTTP_PORT']}/healthz")).is_success:
                    return program
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the program did not answer its health check in 60 s")


async def stop_program(program: asyncio.subprocess.Process) -> None:
    """Ask the program to stop, as an operator does (SIGTERM), and kill it if it hangs."""
    if program.returncode is None:
        program.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(program.wait(), 30)
        except TimeoutError:
            program.kill()
            await program.wait()


def request_for(sent: Sent, port: int) -> tuple[int, str, bytes, dict[str, str]]:
    """The port, path, body and headers the platform would post for this message."""
    if sent.platform == "telegram":
        update = tg.text(sent.text, user_id=int(sent.chat))
        update["update_id"] = int(sent.chat) - TELEGRAM_FIRST_USER + 1
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
        return port, "/telegram/webhook", json.dumps(update).encode(), headers
    body, headers = signed_webhook("text", wa_id=sent.chat, text=sent.text)
    return port, "/whatsapp/webhook", body, headers


class Poster:
    """One kept-alive HTTP/1.1 connection to a program, posting one webhook at a time, as a
    platform's delivery worker does (httpx's pool costs more CPU than the programs at this
    rate, and would measure itself)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        """Post and return the status (0: no answer in time, or the connection failed). A
        kept connection the program closed meanwhile (its keep-alive ran out) is opened
        again once, as an HTTP client does."""
        for attempt in (1, 2):
            kept = self._streams is not None
            try:
                exchange = self._exchange(path, body, headers)
                return await asyncio.wait_for(exchange, WEBHOOK_TIMEOUT)
            except (OSError, IndexError, asyncio.IncompleteReadError):
                await self.close()
                if not kept or attempt == 2:
                    return 0
            except (TimeoutError, ValueError):
                await self.close()
                return 0
        return 0

    async def _exchange(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        if self._streams is None:
            self._streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self._streams
        lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        length, closing = 0, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                closing = True
        await reader.readexactly(length)
        if closing:
            await self.close()
        return status

    async def close(self) -> None:
        if self._streams is not None:
            _reader, writer = self._streams
            self._streams = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def deliver(queue: asyncio.Queue, poster: Poster) -> None:
    """Post what the queue gives until it gives None."""
    while (item := await queue.get()) is not None:
        sent, (path, body, headers) = item
        sent.status = await poster.post(path, body, headers)
        sent.seconds = time.monotonic() - sent.at
    await poster.close()


async def pour(messages: list[Sent], ports: list[int], seconds: float) -> float:
    """Post the messages evenly over `seconds`, to the programs in turn, each through at most
    CONNECTIONS connections at once (a message waiting for one counts in its time); return
    how long it took until the last one was answered."""
    requests = [
        request_for(sent, ports[number % len(ports)]) for number, sent in enumerate(messages)
    ]
    queues = {port: asyncio.Queue() for port in ports}
    workers = [
        asyncio.create_task(deliver(queues[port], Poster(port)))
        for port in ports
        for _connection in range(CONNECTIONS)
    ]
    started = time.monotonic()
    interval = seconds / max(1, len(messages))
    for number, (sent, (port, *request)) in enumerate(zip(messages, requests, strict=True)):
        due = started + number * interval
        if (wait := due - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        sent.at = time.monotonic()
        queues[port].put_nowait((sent, request))
    for queue in queues.values():
        for _connection in range(CONNECTIONS):
            queue.put_nowait(None)
    await asyncio.gather(*workers)
    return time.monotonic() - started


def replies(fakes: dict) -> dict[tuple[str, str], list[tuple[float, str]]]:
    """Every message the fakes accepted, by (platform, chat), with when and its text."""
    got: dict[tuple[str, str], list[tuple[float, str]]] = {}
    for call in fakes["telegram"].requests:
        if call.method in NEW_MESSAGE_METHODS and not call.failed:
            chat = str(call.params.get("chat_id"))
            text = str(call.params.get("text") or call.params.get("caption") or "")
            got.setdefault(("telegram", chat), []).append((call.at, text))
    for message in fakes["whatsapp"].sent:
        got.setdefault(("whatsapp", message.to), []).append((message.at, message.text))
    return got


async def answered(
    fakes: dict, messages: list[Sent], deadline: float, quiet: float, only: bool = False
) -> None:
    """Wait until every chat got a message and nothing more came for `quiet` seconds (to
    these chats `only`, or at all)."""
    chats = {(sent.platform, sent.chat) for sent in messages}
    last, last_count = time.monotonic(), -1
    while time.monotonic() < deadline:
        got = replies(fakes)
        count = sum(len(values) for chat, values in got.items() if not only or chat in chats)
        if count != last_count:
            last, last_count = time.monotonic(), count
        elif chats <= got.keys() and time.monotonic() - last >= quiet:
            return
        await asyncio.sleep(0.5)


def measure(fakes: dict, messages: list[Sent], started: float) -> Figures:
    """Read the figures of the burst off the posts and what the fakes received."""
    figures = Figures(posted=len(messages))
    apology = {hints.error_hint(translations(language).gettext) for language in ("id", "en")}
    got = replies(fakes)
    last_answer = started
    for sent in messages:
        if sent.status == 200 and sent.seconds <= WEBHOOK_TIMEOUT:
            figures.accepted += 1
        else:
            figures.refused[sent.status] += 1
        figures.webhook.append(sent.seconds)
        received = got.get((sent.platform, sent.chat), [])
        if not received:
            figures.unanswered += 1
            continue
        figures.reply.setdefault(sent.platform, []).append(received[0][0] - sent.at)
        last_answer = max(last_answer, received[0][0])
        texts = [text for _at, text in received]
        if len(set(texts)) < len(texts):  # the same message twice: a step answered again
            figures.doubled += 1
        figures.apologies += sum(text in apology for _at, text in received)
    ends = [sent.at + sent.seconds for sent in messages]
    figures.accept_seconds = max(ends) - min(sent.at for sent in messages)
    every = [(platform, at) for (platform, _chat), values in got.items() for at, _ in values]
    figures.drained_seconds = max((at for _p, at in every), default=started) - started
    bulk = [call.at for call in fakes["telegram"].requests if bulk_accepted(call)]
    figures.bulk_seconds = last_answer - started
    figures.bulk = sum(started <= at <= last_answer for at in bulk)
    for platform in ("telegram", "whatsapp"):
        seconds = Counter(int(at - started) for p, at in every if p == platform and at >= started)
        figures.busiest_second[platform] = max(seconds.values(), default=0)
        figures.rate_limited[platform] = fakes[platform].rate_limited
    return figures


def bulk_accepted(call) -> bool:
    """Whether a Bot API call is a queued broadcast message the fake accepted."""
    return call.method in NEW_MESSAGE_METHODS and not call.failed and is_bulk(call)


async def burst(
    url: str, *, telegram: int, whatsapp: int, seconds: float, processes: int, deadline: float,
    telegram_rate: float = 30, whatsapp_rate: float = 80, queued: int = 0,
    pacing: str = "shared",
) -> Figures:  # fmt: skip
    """Run one burst and return its figures; every program is stopped before it returns."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        database = fresh_database(url, folder)
        if queued:
            queue_bulk(database, queued)  # its residents take the first ids
        populate(database, telegram, whatsapp)
        database.dispose()
        async with FakeBotAPI() as bot_api, FakeGraphAPI() as graph_api:
            bot_api.limit_window(telegram_rate)
            graph_api.limit_window(whatsapp_rate)
            fakes = {
                "telegram": bot_api,
                "whatsapp": graph_api,
                "telegram_rate": telegram_rate,
                "whatsapp_rate": whatsapp_rate,
            }
            ports = [free_port() for _ in range(processes)]
            programs = []
            analysing = None
            try:
                for port in ports:
                    share = 1 / processes if pacing == "split" else RATE_SHARE
                    sharing = pacing == "shared"
                    env = program_environment(url, folder, port, share, sharing, **fakes)
                    programs.append(await start_program(env))
                residents = [
                    Sent("telegram", str(TELEGRAM_FIRST_USER + n), TEXTS[n % 8])
                    for n in range(telegram)
                ] + [
                    Sent("whatsapp", str(WHATSAPP_FIRST + n), TEXTS[(n + 3) % 8])
                    for n in range(whatsapp)
                ]
                residents.sort(key=lambda sent: int(sent.chat) % 7919)  # the platforms mixed
                started = time.monotonic()
                analysing = asyncio.create_task(analyse_now_and_then(url))
                await pour(residents, ports, seconds)
                # a broadcast still draining never falls quiet: then wait for the residents only
                quiet = 2.0 if queued else 5.0
                await answered(fakes, residents, started + deadline, quiet, only=bool(queued))
                return measure(fakes, residents, started)
            finally:
                if analysing is not None:
                    analysing.cancel()
                await asyncio.gather(*(stop_program(program) for program in programs))


async def analyse_now_and_then(url: str) -> None:
    """Run ANALYZE every ANALYSE_EVERY seconds, as autovacuum does on a production server (the
    project machine's PostgreSQL runs without it): plans made while processed_messages was
    empty would otherwise scan it whole at every step once it holds thousands of rows."""
    database = make_engine(url)
    try:
        while True:
            await asyncio.sleep(ANALYSE_EVERY)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(analyse, database)
    finally:
        database.dispose()


def analyse(database: Engine) -> None:
    with database.connect() as db:
        db.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def spread(seconds: list[float]) -> str:
    """p50 and p99 of durations, in milliseconds."""
    ordered = sorted(seconds) or [float("nan")]
    return (
        f"p50 {percentile(ordered, 0.5) * 1000:7.0f} ms   "
        f"p99 {percentile(ordered, 0.99) * 1000:7.0f} ms"
    )


def report(figures: Figures, seconds: float, limits: dict[str, float]) -> None:
    """Print the figures."""
    print(f"posted {figures.posted:,} webhooks in {seconds:.0f} s; accepted (200 within "
          f"{WEBHOOK_TIMEOUT:.0f} s) {figures.accepted:,} at "
          f"{figures.accepted / figures.accept_seconds:,.0f}/s; refused or late "
          f"{dict(figures.refused) or 0}")  # fmt: skip
    slow = sum(seconds > 1 for seconds in figures.webhook) / len(figures.webhook)
    print(f"webhook answer     {spread(figures.webhook)}   over 1 s: {slow:.1%}")
    for platform, values in figures.reply.items():
        print(f"reply {platform:9}    {spread(values)}   ({len(values):,} answered)")
    print(f"unanswered {figures.unanswered:,}; answered twice {figures.doubled:,}; "
          f"apologies {figures.apologies:,}")  # fmt: skip
    for platform, limit in limits.items():
        print(f"{platform:9} 429s {figures.rate_limited[platform]:,}; busiest second "
              f"{figures.busiest_second[platform]} messages (limit {limit:.0f}/s)")  # fmt: skip
    if figures.bulk:
        rate = figures.bulk / figures.bulk_seconds
        print(f"queued broadcast meanwhile: {figures.bulk:,} messages in "
              f"{figures.bulk_seconds:.0f} s = {rate:.1f}/s, "
              f"{rate / limits['telegram']:.0%} of Telegram's limit (the residents' answers "
              "take the rest)")  # fmt: skip
    else:
        print(f"last message out {figures.drained_seconds:.0f} s after the first webhook")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database to wipe")
    parser.add_argument("--telegram", type=int, default=20_000)
    parser.add_argument("--whatsapp", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--telegram-limit", type=float, default=30)
    parser.add_argument("--whatsapp-limit", type=float, default=80)
    parser.add_argument("--deadline", type=float, default=1800, help="seconds at most")
    parser.add_argument("--queued", type=int, default=0, help="a broadcast waiting to drain")
    parser.add_argument(
        "--pacing",
        choices=PACINGS,
        default="shared",
        help="shared: each at the limit, sharing it; split: limit / processes; alone: no sharing",
    )
    args = parser.parse_args()
    print(f"{args.telegram:,} Telegram updates and {args.whatsapp:,} WhatsApp webhooks in "
          f"{args.seconds:.0f} s into {args.processes} programs on "
          f"{make_url(args.database_url).render_as_string()}, {args.pacing} pacing")  # fmt: skip
    figures = asyncio.run(
        burst(
            args.database_url,
            telegram=args.telegram,
            whatsapp=args.whatsapp,
            seconds=args.seconds,
            processes=args.processes,
            deadline=args.deadline,
            telegram_rate=args.telegram_limit,
            whatsapp_rate=args.whatsapp_limit,
            queued=args.queued,
            pacing=args.pacing,
        )
    )
    limits = {"telegram": args.telegram_limit, "whatsapp": args.whatsapp_limit}
    report(figures, args.seconds, limits)


if __name__ == "__main__":
    main()
