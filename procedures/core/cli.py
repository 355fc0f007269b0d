"""Commands of the installation (schema, backup and restore), and what all commands share."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlmodel import Session, col

from procedures.core import db
from procedures.models import User

#: The option of a command that can print its result as one JSON object instead of text.
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


def json_command(name: str) -> Callable[[Callable[[bool], None]], click.Command]:
    """Declare a command that runs in an app context and takes --json (as `as_json`)."""

    def declare(function: Callable[[bool], None]) -> click.Command:
        return click.command(name)(with_appcontext(json_option(function)))

    return declare


def echo_json_or_lines(result: Any, as_json: bool, lines: Iterable[str]) -> None:
    """Print a command's result as one JSON object (--json), or else as its lines of text."""
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    for line in lines:
        click.echo(line)


def user_id_or_exit(session: Session, login: str | None) -> int | None:
    """Return the id of the user named by --user; exit 1 when there is none of that login."""
    if login is None:
        return None
    user_id = session.execute(select(col(User.id)).where(col(User.login) == login)).scalar()
    if user_id is None:
        click.echo(f"refused: there is no user {login!r}; create it with create-user", err=True)
        sys.exit(1)
    return user_id


def init_app(app: Flask) -> None:
    """Register the installation's commands."""
    for command in (
        init_db_command,
        backup_command,
        restore_command,
    ):
        app.cli.add_command(command)


def upgrade_schema() -> None:
    """Create or upgrade the schema to the newest migration."""
    from alembic import command
    from alembic.config import Config

    root = Path(__file__).resolve().parents[2]
    config = Config()
    config.set_main_option("script_location", str(root / "migrations"))
    config.attributes["engine"] = db.engine()
    command.upgrade(config, "head")


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database schema (safe to run again)."""
    upgrade_schema()
    click.echo("database schema is up to date")


def _sqlite_path() -> Path:
    """Return the SQLite file of the app's database, or stop with what to use instead."""
    engine = db.engine()
    if engine.dialect.name != "sqlite" or not engine.url.database:
        raise click.ClickException(
            "backup and restore work on the embedded SQLite database; for PostgreSQL use "
            "pg_dump --format=custom and pg_restore (see README)"
        )
    return Path(engine.url.database)


@click.command("backup")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
def backup_command(output: Path) -> None:
    """Copy the live SQLite database consistently (SQLite's online backup API)."""
    import sqlite3

    source_path = _sqlite_path()
    if output.exists():
        raise click.ClickException(f"{output} exists; choose a new file name")
    # Only the owner may read the copy (it holds the password hashes), from its first byte.
    db.create_private_file(output)
    with (
        closing(sqlite3.connect(source_path)) as source,
        closing(sqlite3.connect(output)) as target,
    ):
        # The backup API copies page by page and restarts if a writer changes the source,
        # so the copy is one consistent state even while the app keeps writing.
        source.backup(target)
    click.echo(f"backed up {source_path.name} to {output}")


@click.command("restore")
@click.option(
    "--input",
    "input_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
)
@with_appcontext
def restore_command(input_path: Path) -> None:
    """Put a backup back in place of the SQLite database (stop the app first)."""
    import sqlite3

    target_path = _sqlite_path()
    with closing(sqlite3.connect(input_path)) as source:
        try:
            check = source.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as error:
            check = str(error)
        if check != "ok":
            raise click.ClickException(f"{input_path} is not a sound SQLite database: {check}")
        db.engine().dispose()
        with closing(sqlite3.connect(target_path)) as target:
            source.backup(target)
    click.echo(f"restored {target_path.name} from {input_path}")
