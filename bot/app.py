"""Putting the program together from its settings: database, conversations, channels."""

import logging
from datetime import timedelta

from sqlalchemy import Engine as Database

from bot.settings import Settings
from handlers import flows
from handlers.engine import Engine
from handlers.steps import EngineConfig
from storage import conversations
from storage.database import make_engine, migrate
from storage.types import utcnow

log = logging.getLogger(__name__)

# Telegram redelivers for a day at most, WhatsApp's webhook retries for up to 7 days
KEEP_MESSAGE_IDS = timedelta(days=14)


def workers_for(database: Database) -> int:
    """Return how many threads run updates: SQLite writes one at a time, PostgreSQL does not."""
    return 1 if database.dialect.name == "sqlite" else 4


def open_database(settings: Settings) -> Database:
    """Connect to the database and bring its schema up to date."""
    database = make_engine(settings.effective_database_url)
    migrate(database)
    return database


def housekeeping(database: Database) -> None:
    """Forget handled message ids too old to be redelivered."""
    with database.begin() as db:
        removed = conversations.prune_processed(db=db, older_than=utcnow() - KEEP_MESSAGE_IDS)
    if removed:
        log.info("forgot %d old message ids", removed)


def conversation_engine(settings: Settings, database: Database) -> Engine:
    """Build the conversation engine with every flow."""
    config = EngineConfig(
        time_zone=settings.tz_name,
        idle_timeout=settings.inactivity_timeout,
        default_language=settings.default_language,
        workers=workers_for(database),
    )
    return Engine(database, flows.build(), config)
