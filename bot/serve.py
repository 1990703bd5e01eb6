"""Running the program: the chat channels, the HTTP server and the clock, until stopped."""

import asyncio
import logging
import secrets
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine as Database
from telegram.error import TelegramError

from bot import broadcasting, complaint_digest, metrics, reminding
from bot.app import process_name
from bot.channels import console, telegram, whatsapp
from bot.channels.media import Media
from bot.channels.whatsapp_payloads import TemplatesProblem, load_templates
from bot.housekeeping import sweep
from bot.http import HttpServer, build_app
from bot.outbound import Beat, Drainer, Limits, QuietHours, Sender
from bot.rate_sharing import RateSharing
from bot.settings import Settings
from handlers.engine import Engine
from storage.types import utcnow

log = logging.getLogger(__name__)


class StartupError(Exception):
    """A channel could not start; the message says why, for the operator."""


def start_clock(
    settings: Settings,
    database: Database,
    beat: Beat | None = None,
    executors: dict[str, ThreadPoolExecutor] | None = None,
) -> AsyncIOScheduler:
    """Start the scheduler with its periodic jobs: housekeeping every 10 minutes and, given a
    beat, the clock's beat every third of its lease term."""
    # jobs run in the scheduler's own threads, off the event loop; shutdown waits for them.
    # The beat has a thread of its own, so that a long housekeeping round never lets the
    # leases run out.
    executors = executors or clock_executors()
    scheduler = AsyncIOScheduler(timezone=settings.tz_name, executors=executors)
    if beat is not None:
        scheduler.add_job(
            beat,
            "interval",
            seconds=beat.interval.total_seconds(),
            next_run_time=datetime.now(UTC),
            id="beat",
            executor="clock",
            coalesce=True,
            max_instances=1,
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


def clock_executors() -> dict[str, ThreadPoolExecutor]:
    """Return the scheduler's thread pools: one for housekeeping, one for the beat."""
    return {"default": ThreadPoolExecutor(1), "clock": ThreadPoolExecutor(1)}


async def stop_clock(
    scheduler: AsyncIOScheduler, executors: dict[str, ThreadPoolExecutor]
) -> None:
    """Stop the scheduler and wait, off the event loop, for a job still running to end (the
    loop goes on answering residents meanwhile)."""
    scheduler.shutdown(wait=False)
    for executor in executors.values():
        await asyncio.to_thread(executor.shutdown, True)


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


def quiet_hours(settings: Settings) -> QuietHours:
    """Return the quiet hours from the settings."""
    return QuietHours(settings.quiet_hours_start, settings.quiet_hours_end, settings.tz_name)


def drain_limits(settings: Settings, channel: str) -> Limits:
    """Return how a channel's queue is drained: its rates, and the retry rules of all."""
    common = {
        "in_flight": settings.outbound_in_flight,
        "max_attempts": settings.outbound_max_attempts,
        "max_doubts": settings.outbound_max_doubts,
        "backoff": timedelta(seconds=settings.outbound_backoff_seconds),
        "backoff_cap": timedelta(seconds=settings.outbound_backoff_cap_seconds),
    }
    if channel == telegram.CHANNEL:
        chat_interval = timedelta(seconds=1 / settings.telegram_chat_rate)
        return Limits(rate=settings.telegram_rate, chat_interval=chat_interval, **common)
    if channel == whatsapp.CHANNEL:
        # WhatsApp lets one resident get a burst, then about one message every 6 seconds
        # (131056 beyond that); a second apart keeps a few queued messages well inside it
        return Limits(rate=settings.whatsapp_rate, chat_interval=timedelta(seconds=1), **common)
    return Limits(rate=100, chat_interval=timedelta(0), **common)  # the console: no platform


def tick_reminders(settings: Settings, database: Database, now: datetime) -> int:
    """Queue the reminders that fell due, the broadcasts' copies and progress reports and the
    daily digest of overdue complaints; return how many messages."""
    queued = reminding.tick(
        database, now=now, time_zone=settings.tz_name, follow_up_after=settings.follow_up_after
    )
    # recurring broadcasts, and how those going out are doing (told to their senders)
    queued += broadcasting.tick(database, now=now, time_zone=settings.tz_name)
    # once a day, from 07.00: the complaints past their response time, to staff
    return queued + complaint_digest.digest(database, now, settings.tz_name)


@asynccontextmanager
async def running_clock(
    settings: Settings, database: Database, senders: list[Sender]
) -> AsyncIterator[Beat]:
    """Run the scheduler, the clock's beat and a drain for each sender; at the end stop the
    drains (sends in flight are recorded) and give the leases up."""
    drainers = [
        Drainer(
            metrics.MeteredSender(sender),  # counts each send's outcome for /metrics
            database,
            drain_limits(settings, sender.channel),
            quiet_hours(settings),
            term=settings.clock_lease,
        )
        for sender in senders
    ]
    holder = process_name()
    beat = Beat(
        database,
        drainers,
        tick=lambda now: tick_reminders(settings, database, now),
        holder=holder,
        term=settings.clock_lease,
    )
    tasks = [asyncio.create_task(drainer.run()) for drainer in drainers]
    # the platforms' limits, shared with the other processes on this database
    pacers = {s.channel: s.pacer for s in senders if getattr(s, "pacer", None) is not None}
    shared = pacers and settings.share_send_rates
    sharing = RateSharing(database, pacers, holder=holder) if shared else None
    if sharing is not None:
        tasks.append(asyncio.create_task(sharing.run()))
    executors = clock_executors()
    scheduler = start_clock(settings, database, beat, executors)
    try:
        yield beat
    finally:
        await stop_clock(scheduler, executors)  # no beat any more: nothing permits a drain again
        for drainer in drainers:
            drainer.stop()
        if sharing is not None:
            tasks[-1].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await asyncio.to_thread(beat.release)
            if sharing is not None:
                await asyncio.to_thread(sharing.forget)
        except Exception:  # they run out by themselves
            log.warning("could not give the clock's leases up", exc_info=True)
        for drainer in drainers:
            drainer.close()


async def serve_console(
    settings: Settings, database: Database, engine: Engine, resident: str, *, health: bool = False
):
    """Chat on the console, with the clock running, until the input ends; with `health`, serve
    /healthz too (where the port is free: the chat goes on without it)."""
    metrics.count_updates(engine)
    async with AsyncExitStack() as running:
        if health:
            app = build_app(database, metrics_allow=settings.metrics_allow)
            server = HttpServer(app, settings.http_host, settings.http_port)
            if await start_http(server, settings, required=False):
                running.push_async_callback(server.stop)
        await running.enter_async_context(
            running_clock(settings, database, [console.ConsoleSender()])
        )
        await console.chat(engine, resident=resident)


async def start_http(server: HttpServer, settings: Settings, *, required: bool) -> bool:
    """Start the HTTP server and return whether it listens. Webhooks need it (`required`): a
    port that is taken stops the start; /healthz alone is left out with one warning."""
    try:
        await server.start()
    except OSError as error:
        where = f"{settings.http_host}:{settings.http_port}"
        if required:
            raise StartupError(f"Could not listen on {where}: {error.strerror}") from error
        log.warning("no /healthz: could not listen on %s (%s)", where, error.strerror)
        return False
    log.info("HTTP server on %s:%d", settings.http_host, server.port)
    return True


def telegram_settings(settings: Settings) -> telegram.Settings:
    """Return the Telegram channel's settings; a webhook without a secret gets a fresh one."""
    secret = settings.telegram_webhook_secret
    webhook_secret = secret.get_secret_value() if secret else None
    if settings.telegram_webhook_url and not webhook_secret:
        webhook_secret = secrets.token_urlsafe(32)  # registered with setWebhook at start
    return telegram.Settings(
        token=settings.telegram_token.get_secret_value(),
        base_url=settings.telegram_api_base_url,
        base_file_url=settings.telegram_api_file_url,
        webhook_url=settings.telegram_webhook_url,
        webhook_secret=webhook_secret,
        default_language=settings.default_language,
        rate=settings.telegram_rate,  # one budget for the replies and the queue (bot/pacing.py)
        chat_rate=settings.telegram_chat_rate,
    )


def whatsapp_settings(settings: Settings) -> whatsapp.Settings:
    """Return the WhatsApp channel's settings; without the app secret or the verify token the
    webhook could not be checked, so it does not start."""
    missing = [
        name
        for name, value in (
            ("WHATSAPP_APP_SECRET", settings.whatsapp_app_secret),
            ("WHATSAPP_VERIFY_TOKEN", settings.whatsapp_verify_token),
        )
        if value is None
    ]
    if missing:
        raise StartupError(f"WhatsApp needs {' and '.join(missing)} as well; see the README.")
    try:
        templates = load_templates(settings.whatsapp_templates_file)
    except TemplatesProblem as problem:
        raise StartupError(f"WHATSAPP_TEMPLATES_FILE: {problem}") from None
    if not templates:
        log.warning(
            "no WhatsApp templates configured: messages outside the 24-hour window are held"
        )
    return whatsapp.Settings(
        token=settings.whatsapp_token.get_secret_value(),
        phone_number_id=settings.whatsapp_phone_number_id,
        app_secret=settings.whatsapp_app_secret.get_secret_value(),
        verify_token=settings.whatsapp_verify_token.get_secret_value(),
        base_url=settings.whatsapp_api_base_url or whatsapp.DEFAULT_BASE_URL,
        api_version=settings.whatsapp_api_version,
        rate=settings.whatsapp_rate,
        templates=templates,
        default_language=settings.default_language,
    )


def share_photos(*channels) -> Media:
    """Let each running channel show staff the photos residents sent on the others."""
    media = Media()
    for channel in channels:
        if channel is not None:
            media.register(channel.channel, channel.download)
            channel.media = media
    return media


async def serve_channels(
    settings: Settings, database: Database, engine: Engine, stop: asyncio.Event | None = None
) -> None:
    """Serve every configured chat platform until SIGINT/SIGTERM (or `stop` is set)."""
    tg = wa = None
    if "telegram" in settings.channels:
        tg = telegram.TelegramChannel(
            telegram_settings(settings), engine, database, reply_claim=engine.config.reply_claim
        )
    if "whatsapp" in settings.channels:
        wa = whatsapp.WhatsAppChannel(
            whatsapp_settings(settings), engine, database, reply_claim=engine.config.reply_claim
        )
    share_photos(tg, wa)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    # /healthz in every mode; the webhooks, when there are any, cannot do without the server
    webhooks = wa is not None or bool(tg is not None and tg.settings.webhook_url)
    metrics.count_updates(engine)
    app = build_app(database, telegram=tg, whatsapp=wa, metrics_allow=settings.metrics_allow)
    server = HttpServer(app, settings.http_host, settings.http_port)
    try:
        async with AsyncExitStack() as running:
            # stopped in reverse: the clock and the drains first (they send through the
            # channels), then the webhooks (no new updates), then the channels (those in hand)
            senders = []
            if wa is not None:
                await wa.start()
                running.push_async_callback(wa.stop)
                senders.append(wa)
            if tg is not None:
                running.push_async_callback(tg.stop)
            if await start_http(server, settings, required=webhooks):
                running.push_async_callback(server.stop)
            if tg is not None:
                try:
                    await tg.start()
                except TelegramError as error:
                    raise StartupError(f"Could not start Telegram: {error}") from error
                senders.append(tg)
            await running.enter_async_context(running_clock(settings, database, senders))
            await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
