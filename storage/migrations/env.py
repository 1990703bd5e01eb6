"""Alembic environment: runs on the engine the program hands over, or on sqlalchemy.url."""

from alembic import context
from sqlalchemy import create_engine

from storage.schema import metadata

config = context.config


def run() -> None:
    """Run the migrations online, in batch mode on SQLite (it cannot ALTER most things)."""
    engine = config.attributes.get("engine")
    if engine is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run()
