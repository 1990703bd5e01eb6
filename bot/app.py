"""Putting the program together from its settings: database, conversations, channels."""

import logging

from sqlalchemy import Engine as Database

from bot.settings import Settings
from handlers import flows
from handlers.engine import Engine, EngineConfig
from storage.database import make_engine, migrate

log = logging.getLogger(__name__)


def open_database(settings: Settings, *, pool_size: int = 5) -> Database:
    """Connect to the database and bring its schema up to date."""
    database = make_engine(settings.effective_database_url, pool_size=pool_size)
    migrate(database)
    return database


def conversation_engine(settings: Settings, database: Database) -> Engine:
    """Build the conversation engine with every flow."""
    config = EngineConfig(
        time_zone=settings.tz_name,
        idle_timeout=settings.inactivity_timeout,
        default_language=settings.default_language,
    )
    return Engine(database, flows.build(), config)
