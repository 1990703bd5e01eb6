"""Running the program: the chat channels, the HTTP server and the clock, until stopped."""

import asyncio
import logging
import secrets
import signal
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine as Database
from telegram.error import TelegramError

from bot.channels import console, telegram
from bot.housekeeping import sweep
from bot.http import HttpServer, build_app
from bot.settings import Settings
from handlers.engine import Engine
from storage.types import utcnow

log = logging.getLogger(__name__)


class StartupError(Exception):
    """A channel could not start; the message says why, for the operator."""


def start_clock(settings: Settings, database: Database) -> AsyncIOScheduler:
    """Start the scheduler with its periodic jobs (housekeeping every 10 minutes)."""
    # jobs run in the scheduler's own thread, off the event loop; shutdown waits for them
    scheduler = AsyncIOScheduler(
        timezone=settings.tz_name, executors={"default": ThreadPoolExecutor(1)}
    )
    scheduler.add_job(
        housekeeping,
        "interval",
        minutes=10,
        next_run_time=datetime.now(UTC),
        args=[settings, database],
        id="housekeeping",
        coalesce=True,
        max_instances=1,
    )
    scheduler.start()
    return scheduler


def housekeeping(settings: Settings, database: Database) -> None:
    """Run one round of clean-up; a failure is logged and tried again next round."""
    try:
        sweep(
            database,
            now=utcnow(),
            idle_timeout=settings.inactivity_timeout,
            retention=settings.retention,
            time_zone=settings.tz_name,
        )
    except Exception:
        log.exception("housekeeping failed")


async def serve_console(settings: Settings, database: Database, engine: Engine, resident: str):
    """Chat on the console, with the clock running, until the input ends."""
    scheduler = start_clock(settings, database)
    try:
        await console.chat(engine, resident=resident)
    finally:
        scheduler.shutdown(wait=True)


def telegram_settings(settings: Settings) -> telegram.Settings:
    """Return the Telegram channel's settings; a webhook without a secret gets a fresh one."""
    secret = settings.telegram_webhook_secret
    webhook_secret = secret.get_secret_value() if secret else None
    if settings.telegram_webhook_url and not webhook_secret:
        webhook_secret = secrets.token_urlsafe(32)  # registered with setWebhook at start
    return telegram.Settings(
        token=settings.telegram_token.get_secret_value(),
        base_url=settings.telegram_api_base_url,
        webhook_url=settings.telegram_webhook_url,
        webhook_secret=webhook_secret,
        default_language=settings.default_language,
    )


async def serve_channels(
    settings: Settings, database: Database, engine: Engine, stop: asyncio.Event | None = None
) -> None:
    """Serve every configured chat platform until SIGINT/SIGTERM (or `stop` is set)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    scheduler = start_clock(settings, database)
    channel = telegram.TelegramChannel(telegram_settings(settings), engine, database)
    server = None
    if channel.settings.webhook_url:  # webhooks need our HTTP server; polling does not
        app = build_app(database, telegram=channel)
        server = HttpServer(app, settings.http_host, settings.http_port)
    try:
        if server is not None:
            await server.start()
            log.info("HTTP server on %s:%d", settings.http_host, server.port)
        try:
            await channel.start()
        except TelegramError as error:
            raise StartupError(f"Could not start Telegram: {error}") from error
        await stop.wait()
    finally:
        if server is not None:  # first stop taking webhook updates, then finish those in hand
            await server.stop()
        await channel.stop()
        scheduler.shutdown(wait=True)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
