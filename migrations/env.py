"""Alembic environment: migrations run on SQLModel.metadata with the app's engine."""

from alembic import context
from sqlmodel import SQLModel

import procedures.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from procedures.core.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    """Run migrations with the engine the app handed over, or one from the config URL."""
    engine = config.attributes.get("engine") or make_engine(
        config.get_main_option("sqlalchemy.url")
    )
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things: batch mode copies the table instead.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations()
