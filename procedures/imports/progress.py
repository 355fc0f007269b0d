"""Progress of long imports, readable by every worker while the import's transaction is open.

An import writes all its rows in one transaction, so its progress cannot live in that
transaction (nobody would see it before the end) nor, on SQLite, in the same database file
(its single writer is busy with the import). Progress therefore has its own small table on
its own engine: a sibling SQLite file next to an SQLite database, or the same PostgreSQL
database through a separate connection. Each update is its own short transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url

from procedures.core.db import make_engine
from procedures.models import utcnow

metadata = MetaData()
progress_table = Table(
    "import_progress",
    metadata,
    Column("batch_id", Integer, primary_key=True),
    #: running / done / failed
    Column("state", String(20), nullable=False),
    #: read / compare / write / done
    Column("phase", String(20), nullable=False),
    Column("done", Integer, nullable=False, default=0),
    Column("total", Integer, nullable=False, default=0),
    #: a message code when the import failed
    Column("error", String(40)),
    Column("updated_at", DateTime, nullable=False),
)

#: A running import that reported nothing for this long is taken as interrupted.
STALE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class Progress:
    """Where one import is: its state, phase and counts."""

    batch_id: int
    state: str
    phase: str
    done: int
    total: int
    error: str | None
    updated_at: datetime

    @property
    def stale(self) -> bool:
        """Whether a running import stopped reporting (its worker was stopped)."""
        return self.state == "running" and utcnow().replace(tzinfo=None) - self.updated_at > (
            STALE_AFTER
        )

    def as_json(self) -> dict:
        """Return what the progress page polls for."""
        return {
            "state": "interrupted" if self.stale else self.state,
            "phase": self.phase,
            "done": self.done,
            "total": self.total,
            "error": self.error,
        }


def progress_url(database_url: str) -> str:
    """Return where progress is kept for a database: a sibling file for SQLite, else the same."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return database_url
    if not url.database or url.database == ":memory:":
        return "sqlite://"
    path = Path(url.database)
    return str(url.set(database=str(path.with_name(path.stem + ".progress.sqlite"))))


def _engine() -> Engine:
    # Made on first use: most requests never need it.
    engine = current_app.extensions.get("progress_engine")
    if engine is None:
        url = current_app.config.get("PROGRESS_DATABASE_URL") or progress_url(
            current_app.config["DATABASE_URL"]
        )
        engine = make_engine(url)
        metadata.create_all(engine, checkfirst=True)
        current_app.extensions["progress_engine"] = engine
    return engine


def start(batch_id: int, total: int) -> None:
    """Record that an import of `total` rows has started."""
    with _engine().begin() as connection:
        connection.execute(delete(progress_table).where(progress_table.c.batch_id == batch_id))
        connection.execute(
            insert(progress_table).values(
                batch_id=batch_id,
                state="running",
                phase="read",
                done=0,
                total=total,
                updated_at=_now(),
            )
        )


def report(batch_id: int, phase: str, done: int, total: int) -> None:
    """Record how far a running import is."""
    _set(batch_id, phase=phase, done=done, total=total)


def finish(batch_id: int) -> None:
    """Record that an import was committed."""
    _set(batch_id, state="done", phase="done")


def fail(batch_id: int, error: str) -> None:
    """Record that an import failed and wrote nothing."""
    _set(batch_id, state="failed", error=error)


def read(batch_id: int) -> Progress | None:
    """Return an import's progress, or None when none was recorded."""
    with _engine().connect() as connection:
        row = connection.execute(
            select(progress_table).where(progress_table.c.batch_id == batch_id)
        ).first()
    return Progress(**row._mapping) if row else None


def _set(batch_id: int, **values: Any) -> None:
    with _engine().begin() as connection:
        connection.execute(
            update(progress_table)
            .where(progress_table.c.batch_id == batch_id)
            .values(**values, updated_at=_now())
        )


def _now() -> datetime:
    # Naive UTC: the column is a plain DateTime on both databases.
    return utcnow().replace(tzinfo=None)
