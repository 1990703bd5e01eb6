"""Putting the program together from its settings: database, conversations, channels."""

import logging
import os
import secrets
import socket
import threading
from functools import cache

from sqlalchemy import Engine as Database

from bot.settings import Settings, pepper
from handlers import flows
from handlers.engine import Engine
from handlers.steps import EngineConfig
from handlers.understanding.reading import reader
from storage.database import make_engine, migrate

log = logging.getLogger(__name__)


@cache
def process_name() -> str:
    """Name this process for the leases and its claims: host, process id and a random part."""
    return f"{socket.gethostname()[:50]}:{os.getpid()}:{secrets.token_hex(4)}"


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
        nik_key=pepper(settings),
        status_checks_per_day=settings.status_checks_per_day,
        status_checks_per_hour_all=settings.status_checks_per_hour_all,
        status_checks_per_day_all=settings.status_checks_per_day_all,
        # on the chat platforms a step's replies are rows of the outbound queue
        queued_replies=frozenset(settings.channels),
        reply_claim=f"reply:{process_name()}",
    )
    # learn the phrasings beside the start, not at the first resident's sentence
    threading.Thread(target=reader, name="understanding", daemon=True).start()
    return Engine(database, flows.build(), config)
