"""Putting the program together from its settings: database, conversations, channels."""

import logging
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine as Database

from bot.channels import console
from bot.housekeeping import sweep
from bot.settings import Settings
from handlers import flows
from handlers.engine import Engine
from handlers.steps import EngineConfig
from storage.database import make_engine, migrate
from storage.types import utcnow

log = logging.getLogger(__name__)


def workers_for(database: Database) -> int:
    """Return how many threads run updates: SQLite writes one at a time, PostgreSQL does not."""
    return 1 if database.dialect.name == "sqlite" else 4


def open_database(settings: Settings) -> Database:
    """Connect to the database and bring its schema up to date."""
    database = make_engine(settings.effective_database_url)
    migrate(database)
    return database


def conversation_engine(settings: Settings, database: Database) -> Engine:
    """Build the conversation engine with every flow."""
    config = EngineConfig(
        time_zone=settings.tz_name,
        idle_timeout=settings.inactivity_timeout,
        default_language=settings.default_language,
        workers=workers_for(database),
        retention=settings.retention,
    )
    return Engine(database, flows.build(), config)


async def serve_console(settings: Settings, database: Database, engine: Engine, resident: str):
    """Chat on the console, with housekeeping on the clock, until the input ends."""
    # jobs run in the scheduler's own thread, off the event loop; shutdown waits for them
    scheduler = AsyncIOScheduler(
        timezone=settings.tz_name, executors={"default": ThreadPoolExecutor(1)}
    )
    scheduler.add_job(
        housekeeping, "interval", minutes=10, next_run_time=datetime.now(UTC),
        args=[settings, database], id="housekeeping", coalesce=True, max_instances=1,
    )  # fmt: skip
    scheduler.start()
    try:
        await console.chat(engine, resident=resident)
    finally:
        scheduler.shutdown(wait=True)


def housekeeping(settings: Settings, database: Database) -> None:
    """Run one round of clean-up; a failure is logged and tried again next round."""
    try:
        sweep(database, now=utcnow(), idle_timeout=settings.inactivity_timeout,
              retention=settings.retention)  # fmt: skip
    except Exception:
        log.exception("housekeeping failed")
