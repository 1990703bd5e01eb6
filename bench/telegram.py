"""Benchmark: updates a second answered through the Telegram adapter, beside a bare bot.

Both run the real python-telegram-bot against the fake Bot API server of the tests
(tests/fake_telegram.py, over HTTP on 127.0.0.1), in the same run, with the same rate limiter
opened wide so that only the code is measured. The bare bot only echoes; the adapter runs every
update through the conversation engine on SQLite (state saved each step). Then 10,000
residents write once each, and the memory of the process is printed before and after.
Goal (issue 3): the adapter answers at least 60 % of the bare bot's rate.

    .venv/bin/python bench/telegram.py [--residents 100] [--steps 10] [--memory 10000]
"""

import argparse
import asyncio
import gc
import logging
import sys
import tempfile
import time
from pathlib import Path

# run as a script, this file's folder comes first on the path, and its name hides the library
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from telegram import Update  # noqa: E402
from telegram.ext import Application, ContextTypes, TypeHandler  # noqa: E402

from bot.app import workers_for  # noqa: E402
from bot.channels.telegram import CONNECTIONS, Settings, TelegramChannel  # noqa: E402
from handlers import flows  # noqa: E402
from handlers.engine import Engine  # noqa: E402
from handlers.steps import EngineConfig  # noqa: E402
from storage.database import make_engine, migrate, sqlite_url  # noqa: E402
from storage.demo import seed_base  # noqa: E402
from tests import telegram_updates as tg  # noqa: E402
from tests.fake_telegram import FakeBotAPI  # noqa: E402

WIDE_OPEN = 1_000_000  # requests a second: the limiter is there, but never waits
SCRIPT = ["halo", "1", "1", "Siti Aminah", "3", "5", "Lewati", "menu", "bantuan", "7", "6"]


def rss_mib() -> float:
    """Return the resident memory of this process in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def pump(fake: FakeBotAPI, updates: list[dict]) -> float:
    """Push the updates and return the seconds until each got its message."""
    fake.record = False  # count only: recorded calls would weigh on the memory figures
    before = fake.counts["sendMessage"]
    started = time.perf_counter()
    for update in updates:
        fake.push_update(update)
    await fake.wait_for(lambda f: f.counts["sendMessage"] - before >= len(updates), timeout=900)
    return time.perf_counter() - started


def conversation(residents: int, steps: int, first_user: int) -> list[dict]:
    """Return updates of many residents, each walking the script, interleaved."""
    return [
        tg.text(SCRIPT[step % len(SCRIPT)], user_id=first_user + resident)
        for step in range(steps)
        for resident in range(residents)
    ]


async def bare_rate(residents: int, steps: int) -> float:
    """Return updates a second of a bot that only echoes."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(update.message.text)

    async with FakeBotAPI() as fake:
        app = (
            Application.builder()
            .token(fake.token)
            .base_url(fake.base_url)
            .concurrent_updates(256)
            .connection_pool_size(CONNECTIONS)
            .pool_timeout(30)
            .build()
        )
        app.add_handler(TypeHandler(Update, echo))
        await app.initialize()
        await app.updater.start_polling()
        await app.start()
        seconds = await pump(fake, conversation(residents, steps, 50_000))
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    return residents * steps / seconds


async def adapter_rate(residents: int, steps: int, memory: int) -> tuple[float, float, float]:
    """Return updates a second through the adapter, and memory before and after many residents."""
    with tempfile.TemporaryDirectory() as folder:
        database = make_engine(sqlite_url(Path(folder)))
        migrate(database)
        with database.begin() as db:
            seed_base(db=db)
        engine = Engine(database, flows.build(), EngineConfig(workers=workers_for(database)))
        async with FakeBotAPI() as fake:
            settings = Settings(
                token=fake.token, base_url=fake.base_url, rate=WIDE_OPEN, chat_burst=WIDE_OPEN
            )
            channel = TelegramChannel(settings, engine, database)
            await channel.start()
            await pump(fake, conversation(20, 3, 900_000))  # warm up
            seconds = await pump(fake, conversation(residents, steps, 100_000))
            gc.collect()
            before = rss_mib()
            await pump(fake, conversation(memory, 1, 1_000_000))
            gc.collect()
            after = rss_mib()
            await channel.stop()
        engine.close()
        database.dispose()
    return residents * steps / seconds, before, after


async def main() -> None:
    logging.basicConfig(level=logging.CRITICAL)  # PTB's retries of a dropped poll are noise
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--memory", type=int, default=10_000)
    args = parser.parse_args()
    bare = await bare_rate(args.residents, args.steps)
    ours, before, after = await adapter_rate(args.residents, args.steps, args.memory)
    print(f"bare echo bot          {bare:8.0f} updates/s")
    print(f"Telegram adapter       {ours:8.0f} updates/s   ({ours / bare:.0%} of bare; goal 60%)")
    grown = after - before
    print(
        f"process memory (RSS)   {before:8.1f} MiB before, {after:.1f} MiB after "
        f"{args.memory:,} more residents wrote once each: {grown * 1024 / args.memory:.1f} KiB "
        "a resident (the fake server keeps nothing while this is measured)"
    )


if __name__ == "__main__":
    asyncio.run(main())
