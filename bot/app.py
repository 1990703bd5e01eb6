"""Putting the program together from its settings: database, conversations, channels."""

import logging
import os
import secrets
import socket
import threading
from datetime import timedelta
from functools import cache

from sqlalchemy import Engine as Database

from bot.settings import Settings, pepper
from handlers import flows
from handlers.engine import Engine
from handlers.steps import EngineConfig
from handlers.understanding.reading import reader
from storage.database import make_engine, migrate

log = logging.getLogger(__name__)

ANSWER_MARGIN_SECONDS = 2.0  # beyond a connect and a statement timeout: the apology


@cache
def process_name() -> str:
    """Name this process for the leases and its claims: host, process id and a random part."""
    return f"{socket.gethostname()[:50]}:{os.getpid()}:{secrets.token_hex(4)}"


def workers_for(database: Database) -> int:
    """Return how many threads run updates: SQLite writes one at a time, PostgreSQL does not."""
    return 1 if database.dialect.name == "sqlite" else 4


def open_database(settings: Settings) -> Database:
    """Connect to the database and bring its schema up to date; every statement of the
    engine returned waits DATABASE_STATEMENT_TIMEOUT_SECONDS at most."""
    url = settings.effective_database_url
    connect_timeout = settings.database_connect_timeout_seconds
    # an upgrade may rewrite a large table: no statement timeout for it
    migrating = make_engine(url, connect_timeout=connect_timeout, statement_timeout=None)
    try:
        migrate(migrating)
    finally:
        migrating.dispose()
    return make_engine(
        url,
        connect_timeout=connect_timeout,
        statement_timeout=settings.database_statement_timeout_seconds,
    )


def answer_within(settings: Settings) -> timedelta:
    """Return how long a resident waits for the database at most before the apology: a
    connection, a statement, and a margin (a frozen server answers no timeout of its own)."""
    seconds = (
        settings.database_connect_timeout_seconds
        + settings.database_statement_timeout_seconds
        + ANSWER_MARGIN_SECONDS
    )
    return timedelta(seconds=seconds)


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
        answer_within=answer_within(settings),
    )
    # learn the phrasings beside the start, not at the first resident's sentence
    threading.Thread(target=reader, name="understanding", daemon=True).start()
    return Engine(database, flows.build(), config)
