"""Files that hold secrets or the inventory are created readable by their owner only (0600)."""

from __future__ import annotations

import os
import stat

import pytest
from flask import Flask
from sqlalchemy import text

from procedures import _load_instance_config
from procedures.core.db import make_engine
from tests.conftest import ON_POSTGRES

on_sqlite_only = pytest.mark.skipif(
    ON_POSTGRES, reason="PostgreSQL keeps its files in its own data directory, not the app's"
)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    """The usual umask (0022) that would create files 0644, whatever the test runner's."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_generated_instance_config_is_0600(tmp_path, monkeypatch, open_umask):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = Flask(__name__, instance_path=str(tmp_path / "instance"), instance_relative_config=True)
    _load_instance_config(app)
    config_file = tmp_path / "instance" / "config.py"
    assert mode(config_file) == 0o600
    assert len(app.config["SECRET_KEY"]) == 64
    # A second start reads the same key and leaves the file as it is.
    again = Flask(__name__, instance_path=str(tmp_path / "instance"), instance_relative_config=True)
    _load_instance_config(again)
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]


@on_sqlite_only
def test_a_new_sqlite_database_and_its_write_ahead_log_are_0600(tmp_path, open_umask):
    path = tmp_path / "procedures.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
            connection.commit()
            # While the connection is open, the log and its index are on disk.
            assert (tmp_path / "procedures.sqlite-wal").exists()
            assert mode(tmp_path / "procedures.sqlite-wal") == 0o600
            assert mode(tmp_path / "procedures.sqlite-shm") == 0o600
        assert mode(path) == 0o600
    finally:
        engine.dispose()


@on_sqlite_only
def test_a_backup_is_0600(runner, tmp_path, open_umask):
    backup = tmp_path / "backup.sqlite"
    result = runner.invoke(args=["backup", "--output", str(backup)])
    assert result.exit_code == 0, result.output
    assert mode(backup) == 0o600
