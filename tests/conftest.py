"""Fixtures: a fresh database per test (SQLite file, or a PostgreSQL schema), users, login."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
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


@pytest.fixture
def database_url(tmp_path) -> Iterator[str]:
    """Yield a URL of an empty database that exists only for this test."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'test.sqlite'}"
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(BASE_DATABASE_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in BASE_DATABASE_URL else "?"
    yield f"{BASE_DATABASE_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def app(database_url):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "UPLOAD_MAX_BYTES": 2 * 1024 * 1024,
            "MAX_CONTENT_LENGTH": 3 * 1024 * 1024,
        }
    )
    with app.app_context():
        upgrade_schema()
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
    create_user(session=session, login=login, password=PASSWORD, role=role, division_name=division)
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
