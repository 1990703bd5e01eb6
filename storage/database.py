"""The database engine: SQLite by default, PostgreSQL by URL; schema upgrades with Alembic."""

import logging
import math
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect, select
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_CACHE_KIB = 65_536
SQLITE_BUSY_TIMEOUT_MS = 15_000  # with no statement timeout (migrations)
CONNECT_TIMEOUT_SECONDS = 5.0  # DATABASE_CONNECT_TIMEOUT_SECONDS
STATEMENT_TIMEOUT_SECONDS = 10.0  # DATABASE_STATEMENT_TIMEOUT_SECONDS
# an idle connection to a vanished server is noticed after 30 s + 3 × 10 s of silence
KEEPALIVE = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def sqlite_url(data_dir: Path, name: str = "layanan-warga.db") -> str:
    """Return the URL of the embedded SQLite file under the data directory."""
    return f"sqlite:///{(data_dir / name).as_posix()}"


def make_engine(
    url: str,
    *,
    pool_size: int = 5,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    statement_timeout: float | None = STATEMENT_TIMEOUT_SECONDS,
) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout, foreign keys and immediate writes.

    No statement waits longer than `statement_timeout` seconds for the database (PostgreSQL:
    its statement and lock timeouts; SQLite: the busy timeout); None lifts the bound (for
    migrations). PostgreSQL connects within `connect_timeout` seconds, and a server that stops
    answering on the network is given up after both timeouts (TCP keepalives and
    tcp_user_timeout)."""
    parsed = make_url(url)
    # statement parameters hold names and phone numbers: keep them out of errors and logs
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url,
            connect_args=postgresql_timeouts(connect_timeout, statement_timeout),
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            hide_parameters=True,
        )

    busy_timeout_ms = (
        SQLITE_BUSY_TIMEOUT_MS if statement_timeout is None else int(statement_timeout * 1000)
    )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        pool_size=pool_size,
        max_overflow=0,
        hide_parameters=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # let SQLAlchemy, not the sqlite3 module, decide when a transaction begins
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")  # erased personal data is overwritten
        # 64 MiB of page cache (the default is 2 MiB): the registry's NIK index stays in memory
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # take the write lock at BEGIN: a deferred transaction that reads and then writes
        # fails at once with SQLITE_BUSY under WAL instead of waiting its turn
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def postgresql_timeouts(connect_timeout: float, statement_timeout: float | None) -> dict:
    """Return psycopg's connection arguments that bound every wait for PostgreSQL."""
    arguments: dict = {"connect_timeout": max(2, math.ceil(connect_timeout)), **KEEPALIVE}
    if statement_timeout is not None:
        bound_ms = int(statement_timeout * 1000)
        arguments["options"] = f"-c statement_timeout={bound_ms} -c lock_timeout={bound_ms}"
        # data sent and not acknowledged this long: the server or the network is gone
        arguments["tcp_user_timeout"] = int((connect_timeout + statement_timeout) * 1000)
    return arguments


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic configuration that works on the given engine."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest migration."""
    command.upgrade(alembic_config(engine), "head")
    log.info("database schema is up to date")


def is_empty(engine: Engine) -> bool:
    """Tell whether the database holds no kelurahan yet (nothing seeded or imported)."""
    from storage.places import Kelurahan

    if not inspect(engine).has_table(Kelurahan.__tablename__):
        return True
    with engine.connect() as db:
        return db.execute(select(Kelurahan.code).limit(1)).first() is None


def ping(engine: Engine) -> bool:
    """Tell whether the database answers."""
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return True
    except Exception:  # any failure means "not reachable" to the caller
        log.warning("database did not answer", exc_info=True)
        return False


def downgrade_all(engine: Engine) -> None:
    """Remove every table the migrations made (for resetting a demo or test database)."""
    command.downgrade(alembic_config(engine), "base")
