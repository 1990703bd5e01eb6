"""Fixtures: a migrated database (SQLite file, or PostgreSQL from TEST_DATABASE_URL),
a fake clock and a conversation engine."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine as Database
from sqlalchemy import text

from handlers import flows
from handlers.engine import Engine
from handlers.steps import EngineConfig
from storage.database import make_engine, migrate
from tests.helpers import Chat, Clock, clear

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_KEY = b"test-pepper"  # NIK_PEPPER of the tests, the same in-process and in subprocesses


def fresh_database_url(folder: Path) -> str:
    """Return the URL of an empty database: a new SQLite file, or TEST_DATABASE_URL wiped."""
    if not TEST_DATABASE_URL:
        return f"sqlite:///{folder / 'test.db'}"
    database = make_engine(TEST_DATABASE_URL)
    with database.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    database.dispose()
    return TEST_DATABASE_URL


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate one database for the whole session."""
    url = fresh_database_url(tmp_path_factory.mktemp("db"))
    database = make_engine(url)
    migrate(database)
    database.dispose()
    return url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """Give each test the migrated database, emptied and seeded with the demo places."""
    database = make_engine(database_url)
    clear(database)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> Clock:
    """A clock that moves only when the test says so."""
    return Clock()


@pytest.fixture
def engine(database: Database, clock: Clock) -> Iterator[Engine]:
    """The conversation engine with every flow, on the test database and clock."""
    # on the chat platforms replies are rows of the outbound queue, as in the program
    config = EngineConfig(nik_key=TEST_KEY, queued_replies=frozenset({"telegram", "whatsapp"}))
    engine = Engine(database, flows.build(), config, clock=clock)
    yield engine
    engine.close()


@pytest.fixture
def chat(engine: Engine) -> Chat:
    """One resident talking to the engine."""
    return Chat(engine)


@pytest.fixture
def environment(tmp_path: Path, database) -> dict[str, str]:
    """Run the program on the test database (emptied and seeded by the `database` fixture)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "WHATSAPP_", "DATABASE_URL", "NIK_PEPPER"))
    }
    env["DATA_DIR"] = str(tmp_path / "data")
    env["DATABASE_URL"] = TEST_DATABASE_URL or str(database.url)
    env["NIK_PEPPER"] = TEST_KEY.decode()
    env["HTTP_PORT"] = "0"  # any free port: programs started by tests at once never collide
    return env


@pytest.fixture
def operator(environment: dict[str, str], database) -> dict[str, str]:
    """Run staff commands as the shipped whole-kecamatan administrator (STAFF_LOGIN=admin)."""
    from storage import staff
    from storage.types import utcnow

    with database.begin() as db:
        staff.load(db=db, now=utcnow())
    return {**environment, "STAFF_LOGIN": "admin"}
