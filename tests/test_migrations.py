"""The migrations build exactly the schema the models describe, and can be undone."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.database import downgrade_all, make_engine, migrate
from storage.schema import metadata
from tests.helpers import clear


def test_migrations_match_the_models(database) -> None:
    with database.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_downgrade_and_upgrade_again(database_url: str) -> None:
    database = make_engine(database_url)
    try:
        downgrade_all(database)
        assert set(inspect(database).get_table_names()) <= {"alembic_version"}
        migrate(database)
        migrate(database)  # a second start changes nothing
        assert {"residents", "conversations", "processed_messages"} <= set(
            inspect(database).get_table_names()
        )
        clear(database)  # leave it seeded for the next test
    finally:
        database.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(database) -> None:
    if database.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with database.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
