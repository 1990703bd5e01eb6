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
        # DATABASE_STATEMENT_TIMEOUT_SECONDS, 10 by default, is the busy timeout
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_complaint_photos_kept_before_0011_get_their_platform(database_url: str) -> None:
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import select

    from storage.complaints import Complaint
    from storage.database import alembic_config

    database = make_engine(database_url)
    complaints = Complaint.__table__
    now = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    try:
        clear(database)
        command.downgrade(alembic_config(database), "0010")
        photos = {"ADU-2026-000001": "1234567890", "ADU-2026-000002": "AgACAgUAAxkB-9",
                  "ADU-2026-000003": None}  # fmt: skip
        with database.begin() as db:
            for ref, photo in photos.items():
                db.execute(
                    complaints.insert().values(
                        ref=ref,
                        kind="ADU",
                        text="-",
                        photo_file_id=photo,
                        anonymous=False,
                        status="baru",
                        due_at=now,
                        created_at=now,
                    )
                )
        migrate(database)
        with database.connect() as db:
            found = dict(db.execute(select(complaints.c.ref, complaints.c.photo_file_id)).all())
        assert found == {
            "ADU-2026-000001": "whatsapp:1234567890",
            "ADU-2026-000002": "telegram:AgACAgUAAxkB-9",
            "ADU-2026-000003": None,
        }
        command.downgrade(alembic_config(database), "0010")
        with database.connect() as db:
            back = dict(db.execute(select(complaints.c.ref, complaints.c.photo_file_id)).all())
        assert back == photos
        migrate(database)
    finally:
        clear(database)  # leave it seeded for the next test
        database.dispose()


def test_programs_copied_by_checks_before_0013_are_forgotten(database_url: str) -> None:
    """Before 0013 any hit copied the programs to whoever checked: they could be anyone's."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import select, update

    from storage.database import alembic_config
    from storage.residents import Resident, create_resident

    database = make_engine(database_url)
    residents = Resident.__table__
    now = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    try:
        clear(database)
        command.downgrade(alembic_config(database), "0011")
        with database.begin() as db:
            create_resident(
                db=db, channel="console", external_id="warga-1", language="id", now=now
            )
            db.execute(update(residents).values(registry_programs="PKH;BPNT"))
        migrate(database)
        with database.connect() as db:
            assert db.execute(select(residents.c.registry_programs)).scalars().all() == [""]
    finally:
        clear(database)  # leave it seeded for the next test
        database.dispose()


def test_0015_adds_and_drops_the_unrecognised_messages(database_url: str) -> None:
    from alembic import command

    from storage.database import alembic_config

    database = make_engine(database_url)
    try:
        clear(database)
        command.downgrade(alembic_config(database), "0014")
        assert "unrecognised_messages" not in inspect(database).get_table_names()
        migrate(database)
        columns = {c["name"] for c in inspect(database).get_columns("unrecognised_messages")}
        assert columns == {"id", "text", "key", "language", "where", "created_at"}
        clear(database)
    finally:
        database.dispose()
