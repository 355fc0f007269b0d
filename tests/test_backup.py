"""Backing up the live SQLite database while it is written, and restoring it."""

import sqlite3
import threading
from contextlib import closing

import pytest
from sqlalchemy import text

from tests.conftest import ON_POSTGRES

pytestmark = pytest.mark.skipif(
    ON_POSTGRES, reason="backup/restore copy the embedded SQLite file; PostgreSQL uses pg_dump"
)


def count(path) -> int:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute("SELECT count(*) FROM procedure").fetchone()[0]


def test_backup_during_writes_is_consistent_and_restore_puts_it_back(app, runner, tmp_path):
    runner.invoke(args=["load-demo"])
    engine = app.extensions["engine"]
    stop = threading.Event()

    def keep_writing():
        while not stop.is_set():
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "UPDATE procedure SET notes = coalesce(notes, '') || 'x', "
                        "version = version + 1 WHERE id % 7 = 0"
                    )
                )

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        backup = tmp_path / "backup.sqlite"
        result = runner.invoke(args=["backup", "--output", str(backup)])
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    with closing(sqlite3.connect(backup)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # One consistent state: every procedure touched by the writer moved together.
        versions = connection.execute(
            "SELECT DISTINCT version FROM procedure WHERE id % 7 = 0"
        ).fetchall()
    assert len(versions) == 1
    assert count(backup) == 1942

    with engine.begin() as connection:
        connection.execute(text("DELETE FROM planentry"))
        connection.execute(text("DELETE FROM auditevent"))
        connection.execute(text("DELETE FROM procedure WHERE id > 100"))
    database = engine.url.database
    assert count(database) == 100
    restored = runner.invoke(args=["restore", "--input", str(backup)])
    assert restored.exit_code == 0, restored.output
    assert count(database) == 1942


def test_restore_refuses_a_file_that_is_not_a_database(runner, tmp_path):
    bogus = tmp_path / "bogus.sqlite"
    bogus.write_bytes(b"not a database at all" * 100)
    result = runner.invoke(args=["restore", "--input", str(bogus)])
    assert result.exit_code == 1
    assert "is not a sound SQLite database" in result.output


def test_backup_never_overwrites_an_existing_file(runner, tmp_path):
    existing = tmp_path / "keep.sqlite"
    existing.write_bytes(b"precious")
    result = runner.invoke(args=["backup", "--output", str(existing)])
    assert result.exit_code == 1
    assert existing.read_bytes() == b"precious"


def test_a_large_write_is_copied_from_the_log_into_the_database_file_after_its_commit(
    app, tmp_path
):
    """Checkpoints run on a background thread once a commit leaves a log over 4 MB: the
    database file alone (what a file-level copy takes) then holds the committed rows."""
    import shutil

    from procedures.core.db import CHECKPOINT_WAL_BYTES, wait_for_checkpoints

    engine = app.extensions["engine"]
    path = engine.url.database
    notes = "x" * 1000
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE filler (note TEXT)"))
        connection.execute(
            text("INSERT INTO filler (note) VALUES (:note)"),
            [{"note": notes}] * (CHECKPOINT_WAL_BYTES // 1000 + 500),
        )
    wait_for_checkpoints()
    copy = tmp_path / "file-only.sqlite"
    shutil.copyfile(path, copy)  # without the -wal file
    with closing(sqlite3.connect(copy)) as connection:
        rows = connection.execute("SELECT count(*) FROM filler").fetchone()[0]
    assert rows == CHECKPOINT_WAL_BYTES // 1000 + 500
