"""Fixtures: a fresh database per test (SQLite file, or a PostgreSQL schema), users, login.

The real migrations run once per session; each test gets a copy of the schema they built.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, nullcontext
from pathlib import Path

import psycopg
import pytest
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import event
from sqlmodel import Session

from procedures import create_app
from procedures.accounts.users import create_user
from procedures.catalogue.procedures import DivisionCache, name_key
from procedures.core.cli import upgrade_schema
from procedures.core.db import make_engine, wait_for_checkpoints
from procedures.imports.jobs import wait_for_imports
from procedures.models import Procedure, Role

BASE_DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = BASE_DATABASE_URL.startswith("postgres")
PASSWORD = "correct horse battery"


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL' if ON_POSTGRES else 'SQLite'}"


def pytest_sessionstart(session) -> None:
    if os.environ.get("REQUIRE_POSTGRES") and not ON_POSTGRES:
        raise pytest.UsageError("REQUIRE_POSTGRES is set but DATABASE_URL is not PostgreSQL")


#: Argon2id with the least work argon2-cffi accepts: the suite signs in hundreds of times and
#: production's hash (64 MiB, the default) takes 0.3 s here. Read by procedures.accounts.users.
CHEAP_PASSWORD_HASH = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}

#: Test modules that test the migrations themselves: their `app` runs the real migrations.
#: Every other `app` gets a copy of the schema those migrations built once for the session.
REAL_MIGRATIONS = frozenset({"test_migrations"})


def _app_config(database_url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "UPLOAD_MAX_BYTES": 2 * 1024 * 1024,
        "MAX_CONTENT_LENGTH": 3 * 1024 * 1024,
        "PASSWORD_HASH_PARAMETERS": CHEAP_PASSWORD_HASH,
    }


class _SharedTemplateCode(BytecodeCache):
    """Compiled Jinja templates shared by every test's app.

    Each test builds a new app, whose new Jinja environment would compile every template it
    renders again (a quarter of the CPU time of the page tests). A template's code is kept
    with the checksum of its source, so an edited template is compiled again.
    """

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


_TEMPLATE_CODE = _SharedTemplateCode()


def _create_app(database_url: str, overrides: dict | None = None):
    app = create_app(_app_config(database_url) | (overrides or {}))
    app.jinja_env.bytecode_cache = _TEMPLATE_CODE
    return app


def _migrate(database_url: str, before_cursor_execute=None) -> None:
    """Run the real migrations on a database, as the `app` fixture once did for every test."""
    app = _create_app(database_url)
    engine = app.extensions["engine"]
    if before_cursor_execute is not None:
        event.listen(engine, "before_cursor_execute", before_cursor_execute)
    with app.app_context():
        upgrade_schema()
    wait_for_checkpoints()
    engine.dispose()


def _schema_url(schema: str) -> str:
    separator = "&" if "?" in BASE_DATABASE_URL else "?"
    return f"{BASE_DATABASE_URL}{separator}options=-csearch_path%3D{schema}"


class _SqliteTemplate:
    """A database file migrated once per session; each test gets a copy of it."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "template.sqlite"
        _migrate(f"sqlite:///{self.path}")
        with closing(sqlite3.connect(self.path)) as connection:
            # Everything into the file itself, so that the file alone is the whole database.
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert not Path(f"{self.path}-wal").exists(), "the template kept a write-ahead log"

    def fill(self, database_url: str) -> None:
        shutil.copyfile(self.path, database_url.removeprefix("sqlite:///"))


class _PostgresSchemas:
    """Schemas of the test database, one per test: empty, or holding the migrated schema.

    The real migrations run once into a template schema while every statement they send is
    recorded with its parameters inlined (CREATE, ALTER, DROP, and the INSERTs and UPDATEs of
    their seed rows and of alembic_version; their SELECTs change nothing); a migrated schema is
    that script replayed in one round-trip. Its DDL still keeps the server busy for about a
    quarter of a second, so the next migrated schema is built on a background thread while a
    test runs and handed over by renaming it to the name in the test's URL.
    """

    def __init__(self) -> None:
        self.admin = make_engine(BASE_DATABASE_URL)
        template = self.create()
        statements: list[str] = []

        def record(_connection, cursor, statement, parameters, _context, executemany) -> None:
            if statement.lstrip().split(None, 1)[0].upper() in ("SELECT", "SHOW"):
                return
            inline = psycopg.ClientCursor(cursor.connection)
            for each in parameters if executemany else [parameters]:
                statements.append(inline.mogrify(statement, each))

        _migrate(_schema_url(template), before_cursor_execute=record)
        self.drop(template)
        self.script = ";\n".join(statements)
        # Unqualified names only: replayed under another search_path, it builds there.
        assert template not in self.script, "a migration named its schema"
        self.builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-schema")
        self.next_migrated = self.builder.submit(self._build_migrated)

    def create(self) -> str:
        """Create an empty schema and return its name."""
        schema = f"test_{uuid.uuid4().hex[:12]}"
        with self.admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        return schema

    def _build_migrated(self) -> str:
        schema = f"ready_{uuid.uuid4().hex[:12]}"
        connection = self.admin.raw_connection()
        try:
            # No parameters: psycopg sends the statements as one simple query, one round-trip.
            connection.cursor().execute(
                f'CREATE SCHEMA "{schema}"; SET LOCAL search_path TO "{schema}";\n{self.script}'
            )
            connection.commit()
        finally:
            connection.close()
        return schema

    def fill(self, schema: str) -> None:
        """Replace the empty schema by a migrated one, and start building the next."""
        ready = self.next_migrated.result()
        self.next_migrated = self.builder.submit(self._build_migrated)
        with self.admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}"')
            connection.exec_driver_sql(f'ALTER SCHEMA "{ready}" RENAME TO "{schema}"')

    def drop(self, schema: str) -> None:
        with self.admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')

    def close(self) -> None:
        self.builder.shutdown(wait=True)
        self.drop(self.next_migrated.result())
        self.admin.dispose()


@pytest.fixture(scope="session")
def _postgres_schemas() -> Iterator[_PostgresSchemas]:
    schemas = _PostgresSchemas()
    yield schemas
    schemas.close()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> _SqliteTemplate:
    return _SqliteTemplate(tmp_path_factory.mktemp("template"))


@pytest.fixture
def _postgres_schema(request) -> Iterator[str]:
    schemas = request.getfixturevalue("_postgres_schemas")
    schema = schemas.create()
    yield schema
    schemas.drop(schema)


@pytest.fixture
def database_url(request, tmp_path) -> str:
    """Return a URL of an empty database that exists only for this test."""
    if not ON_POSTGRES:
        return f"sqlite:///{tmp_path / 'test.sqlite'}"
    return _schema_url(request.getfixturevalue("_postgres_schema"))


@pytest.fixture
def app_config() -> dict:
    """Settings a test module adds to the test app's (override this fixture in the module)."""
    return {}


@pytest.fixture
def app(request, database_url, app_config):
    if request.path.stem in REAL_MIGRATIONS:
        app = _create_app(database_url, app_config)
        with app.app_context():
            upgrade_schema()
    else:
        # The schema the real migrations built once this session, copied.
        if ON_POSTGRES:
            request.getfixturevalue("_postgres_schemas").fill(
                request.getfixturevalue("_postgres_schema")
            )
        else:
            request.getfixturevalue("_sqlite_template").fill(database_url)
        app = _create_app(database_url, app_config)
    yield app
    wait_for_imports(app)
    wait_for_checkpoints()
    for name in ("engine", "progress_engine"):
        if app.extensions.get(name) is not None:
            app.extensions[name].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db_session(app) -> Iterator[Session]:
    """A session on the test database; commit explicitly to make data visible to requests."""
    with Session(app.extensions["engine"], expire_on_commit=False) as session:
        session.info["app"] = app  # for add_user: the app's password hashing
        yield session


def add_division(session: Session, name: str, department: str = "市民自治部") -> int:
    """Create a division (and its department) and return its id."""
    division_id = DivisionCache(session).division_id(name, department)
    session.commit()
    return division_id


def add_procedure(session: Session, division_id: int, name: str, **fields) -> Procedure:
    """Create one procedure with the given fields."""
    procedure = Procedure(division_id=division_id, name=name, name_key=name_key(name), **fields)
    session.add(procedure)
    session.commit()
    return procedure


def add_user(session: Session, login: str, role: Role, division: str | None = None) -> None:
    """Create a user whose password is PASSWORD."""
    app = session.info.get("app")
    # In the app's context the password is hashed with its (cheap) parameters.
    with app.app_context() if app is not None else nullcontext():
        create_user(
            session=session, login=login, password=PASSWORD, role=role, division_name=division
        )
    session.commit()


TOKEN = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


def csrf_token(client, url: str) -> str:
    """Open a page the way a browser would and return the CSRF token of its form."""
    response = client.get(url)
    match = TOKEN.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {url} (status {response.status_code})"
    return match.group(1) or match.group(2)


def login(client, user: str, password: str = PASSWORD):
    """Sign in through the login form."""
    token = csrf_token(client, "/login")
    return client.post("/login", data={"login": user, "password": password, "csrf_token": token})


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _chromium_or_skip() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail("REQUIRE_BROWSER is set but Chromium is not installed")
        pytest.skip("Debian's Chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="session")
def shared_chromium():
    """One headless Chromium for the whole session: starting it costs a second or more."""
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def empty_app(request, tmp_path):
    """A second app on a database of its own, migrated and empty (a round trip's other end)."""
    if ON_POSTGRES:
        schemas = request.getfixturevalue("_postgres_schemas")
        schema = schemas.create()
        schemas.fill(schema)
        url = _schema_url(schema)
    else:
        url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
        request.getfixturevalue("_sqlite_template").fill(url)
    second = _create_app(url)
    yield second
    wait_for_imports(second)
    second.extensions["engine"].dispose()
    if ON_POSTGRES:
        schemas.drop(schema)
