"""The database engine and one session per request: domain code flushes, the edge commits."""

from __future__ import annotations

import atexit
import gc
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session


def make_engine(url: str) -> Engine:
    """Create an engine for a SQLAlchemy URL; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _ENGINES.add(engine)
        event.listen(engine, "connect", _sqlite_pragmas)
        path = engine.url.database
        if path and path != ":memory:" and not path.startswith("file:"):
            create_private_file(path)
            checkpointer = _CHECKPOINTERS.setdefault(os.path.abspath(path), _Checkpointer(path))
            event.listen(engine, "checkin", checkpointer.checked_in)
        return engine
    engine = create_engine(url, pool_pre_ping=True)
    _ENGINES.add(engine)
    return engine


#: The engines this process made and still holds, closed at its exit (see _at_exit).
_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def _at_exit() -> None:
    """Close every engine's pooled connections, then spare the interpreter its last collections.

    Python's shutdown runs full garbage collections over every object the libraries loaded
    (110,000 after an import) only to free memory the system takes back at once: 0.2 s of the
    national import's 4.6 s as a command. Frozen, they are skipped. The connections are closed
    first, not left to those collections: SQLite then removes the write-ahead log as usual.
    Runs after the non-daemon checkpoint threads have been joined (threading's own exit hook).
    """
    for engine in list(_ENGINES):
        engine.dispose()
    gc.freeze()


atexit.register(_at_exit)


def create_private_file(path: str | os.PathLike[str]) -> None:
    """Create an empty file only its owner may read (0600) unless it exists.

    SQLite would create a missing database file with the umask's mode (0644: every local user
    could read the inventory and the password hashes); an empty file is a valid empty database,
    and SQLite gives its -wal, -shm and -journal files the database file's own mode.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except (FileExistsError, FileNotFoundError):
        return  # there already, or no such folder: SQLite reports that one itself
    os.close(descriptor)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    # 8 KB pages for a new database (an existing one keeps its own): a procedure row with its
    # extra columns is 1-2 KB, and the national import writes 10 % faster than with 4 KB.
    cursor.execute("PRAGMA page_size=8192")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 16 MB of page cache (default 2 MB): an import updates every index of 75,000 rows, and
    # with the default cache it keeps evicting and re-reading index pages.
    cursor.execute("PRAGMA cache_size=-16384")
    # No checkpoint inside a commit: _Checkpointer does it after, on a background thread.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


#: Once the write-ahead log is this large (SQLite's own threshold, 1,000 pages), it is copied
#: back into the database file.
CHECKPOINT_WAL_BYTES = 4 * 1024 * 1024


class _Checkpointer:
    """Copies a SQLite database's write-ahead log back into its file on a background thread.

    SQLite would do it inside the commit that crosses the threshold: an import of the national
    inventory then waits a further 0.25 s for 95 MB to be copied, and an unlucky clerk's save
    waits for someone else's import. Here the commit returns first; the copy follows.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def checked_in(
        self, _dbapi_connection: DBAPIConnection | None, _record: ConnectionPoolEntry
    ) -> None:
        """Start a checkpoint when a connection returns to the pool with a large log."""
        try:
            size = os.stat(self.path + "-wal").st_size
        except OSError:
            return
        if size < CHECKPOINT_WAL_BYTES:
            return
        with self.lock:
            if self.thread is not None and self.thread.is_alive():
                return
            # Not a daemon: a command's process finishes the copy before it exits.
            thread = threading.Thread(target=self._run, name="sqlite-checkpoint")
            try:
                thread.start()
            except (RuntimeError, MemoryError):
                return  # no thread to be had (a capped address space): the next check-in tries
            self.thread = thread

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self.path, timeout=30)
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                connection.close()
        except sqlite3.Error:
            pass  # the log stays valid and is read as before; the next check-in tries again

    def wait(self) -> None:
        """Wait for a running checkpoint to end."""
        thread = self.thread
        if thread is not None:
            thread.join()


_CHECKPOINTERS: dict[str, _Checkpointer] = {}


def wait_for_checkpoints() -> None:
    """Wait for every background checkpoint of this process (tests, before removing files)."""
    for checkpointer in list(_CHECKPOINTERS.values()):
        checkpointer.wait()


def init_app(app: Flask) -> None:
    """Create the engine for the app and close each request's session at its end."""
    app.extensions["engine"] = make_engine(app.config["DATABASE_URL"])
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    """Return the current app's engine."""
    return current_app.extensions["engine"]


def session() -> Session:
    """Return this request's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = Session(engine(), expire_on_commit=False)
    return g.db_session


def commit() -> None:
    """Commit this request's work: called once, by the view or command at the edge."""
    if "db_session" in g:
        g.db_session.commit()


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        # Anything not committed explicitly is rolled back: a failed request leaves no trace.
        db_session.rollback()
        db_session.close()


@contextmanager
def session_scope() -> Iterator[Session]:
    """Yield a session for a CLI command: commit on success, roll back on any error."""
    with Session(engine(), expire_on_commit=False) as db_session:
        try:
            yield db_session
            db_session.commit()
        except BaseException:
            db_session.rollback()
            raise
