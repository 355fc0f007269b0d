"""Command-line interface (`flask --app wsgi ...`): a stable contract for scripts."""

from __future__ import annotations

import json
import sys
from contextlib import closing
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from procedures import db
from procedures.models import Role, User


def init_app(app: Flask) -> None:
    """Register the commands."""
    for command in (
        init_db_command,
        create_user_command,
        ensure_admin_command,
        load_demo_command,
        import_inventory_command,
        summary_command,
        plan_command,
        export_plan_command,
        export_inventory_command,
        backup_command,
        restore_command,
    ):
        app.cli.add_command(command)


def upgrade_schema() -> None:
    """Create or upgrade the schema to the newest migration."""
    from alembic import command
    from alembic.config import Config

    root = Path(__file__).resolve().parent.parent
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


@click.command("create-user")
@with_appcontext
@click.argument("login")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--division", "division_name", help="The division a division user belongs to.")
def create_user_command(login: str, role: str, division_name: str | None) -> None:
    """Create a user; the password is read from standard input."""
    from procedures.users import UserError, create_user

    password = sys.stdin.readline().rstrip("\r\n")
    try:
        with db.session_scope() as session:
            create_user(
                session=session,
                login=login,
                password=password,
                role=Role(role),
                division_name=division_name,
            )
    except UserError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"created user {login} ({role})")


@click.command("ensure-admin")
@with_appcontext
@click.option("--login", default="admin", show_default=True)
def ensure_admin_command(login: str) -> None:
    """Create the first admin with a random password, printed once; do nothing if one exists."""
    from procedures.users import create_user, generate_password

    with db.session_scope() as session:
        if session.execute(select(User.id).where(User.role == Role.admin)).first():
            click.echo("an admin user exists already; its password is not shown again")
            return
        password = generate_password()
        create_user(session=session, login=login, password=password, role=Role.admin)
    click.echo(f"created admin user {login!r} with password: {password}")
    click.echo("Write it down now: it is not shown again.")


@click.command("load-demo")
@with_appcontext
def load_demo_command() -> None:
    """Load the demo municipality into an empty database (does nothing when data exists)."""
    from procedures.demo import load_demo

    with db.session_scope() as session:
        outcome = load_demo(session)
    if outcome is None:
        click.echo("the database already holds procedures: demo not loaded again")
    else:
        click.echo(f"loaded the demo municipality: {outcome.created} procedures")


@click.command("import-inventory")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--division", "division_name", help="Division for rows that do not name one.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--user", "login", help="The user the audit log names for this import.")
def import_inventory_command(
    path: Path, division_name: str | None, dry_run: bool, as_json: bool, login: str | None
) -> None:
    """Import an inventory file; exit 1 with the reason when the file is refused."""
    from procedures.imports import ImportChanged, import_file

    content = path.read_bytes()
    # A progress bar only for a person at a terminal: never in JSON output or in a pipe.
    bar = TerminalProgress() if not as_json and sys.stderr.isatty() else None
    if bar:
        click.echo(f"reading {path.name} …", err=True)
    try:
        with db.session_scope() as session:
            user_id = _user_id_or_exit(session, login)
            returned = _recognise_survey(session, content)
            if returned:
                division_name = returned.division_name
            outcome = import_file(
                session,
                content=content,
                file_name=path.name,
                division_name=division_name,
                dry_run=dry_run,
                user_id=user_id,
                progress=bar.update if bar else None,
                # A survey workbook is read with its own columns, without a mapping step.
                mapping=returned.mapping if returned else None,
            )
            if returned and outcome.committed:
                _record_survey_answer(session, outcome.batch_id, user_id)
    except ImportChanged:
        # Raised inside the transaction: session_scope has rolled everything back.
        click.echo(
            "refused: procedures were saved by someone while this file was being imported; "
            "nothing was written. Run the import again.",
            err=True,
        )
        sys.exit(1)
    if bar:
        bar.close()
    if outcome.refused is not None:
        click.echo(f"refused: {outcome.refused.message}", err=True)
        sys.exit(1)
    if outcome.duplicate_of is not None:
        click.echo(
            f"refused: this file was already imported (batch {outcome.duplicate_of}); "
            "nothing changed",
            err=True,
        )
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(outcome.as_json(), ensure_ascii=False))
        return
    verb = "would import" if dry_run else "imported"
    click.echo(
        f"{verb} {path.name}: {outcome.rows} rows, {outcome.created} new, "
        f"{outcome.updated} changed, {outcome.unchanged} unchanged, "
        f"{outcome.missing} missing, {len(outcome.errors)} errors, "
        f"{len(outcome.warnings)} warnings"
    )
    for problem in outcome.errors[:50]:
        click.echo(f"  error: {problem.sheet} row {problem.row}: {problem.message}", err=True)


def _recognise_survey(session, content: bytes):
    """Recognise a returned survey workbook: its division, and its columns read as generated."""
    from procedures import survey

    try:
        returned = survey.recognise(session, content, city=current_app.config["CITY_NAME"])
    except survey.SurveyRefused as refusal:
        click.echo(f"refused: {refusal}", err=True)
        sys.exit(1)
    return returned


def _user_id_or_exit(session, login: str | None) -> int | None:
    """Return the id of the user named by --user; exit 1 when there is none of that login."""
    if login is None:
        return None
    user_id = session.execute(select(User.id).where(User.login == login)).scalar()
    if user_id is None:
        click.echo(f"refused: there is no user {login!r}; create it with create-user", err=True)
        sys.exit(1)
    return user_id


def _record_survey_answer(session, batch_id: int | None, user_id: int | None) -> None:
    """Mark the survey's division answered by the committed import."""
    from procedures import survey
    from procedures.models import ImportBatch

    batch = session.get(ImportBatch, batch_id)
    if batch is not None:
        survey.record_answer(session, batch=batch, user_id=user_id)


class TerminalProgress:
    """A click progress bar on stderr, created once the number of rows to write is known."""

    def __init__(self) -> None:
        self.bar = None
        self.shown = 0

    def update(self, written: int, total: int) -> None:
        """Advance the bar to `written` of `total` procedures."""
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="writing", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(written - self.shown)
        self.shown = written

    def close(self) -> None:
        """Finish the bar's line."""
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@click.command("summary")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def summary_command(as_json: bool) -> None:
    """Print the funnel: procedures, visits, feasibility, plan and done per year."""
    from procedures.summary import funnel

    with db.session_scope() as session:
        counts = funnel(session)
    if as_json:
        click.echo(json.dumps(counts, ensure_ascii=False))
        return
    for key, value in counts.items():
        click.echo(f"{key}: {value}")


@click.command("plan")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def plan_command(as_json: bool) -> None:
    """Recompute the yearly plan and print it: fiscal year → ordered procedures with score."""
    from procedures.exports import plan_rows
    from procedures.ranking import recompute_plan

    with db.session_scope() as session:
        entries = recompute_plan(session)
        years = sorted({entry.fiscal_year for entry in entries})
        plan = {
            str(year): [
                {
                    "position": row[0],
                    "code": row[3],
                    "name": row[4],
                    "tier": row[5],
                    "score": row[11],
                    "procedure_id": row[10],
                }
                for row in plan_rows(session, year)
            ]
            for year in years
        }
    if as_json:
        click.echo(json.dumps(plan, ensure_ascii=False))
        return
    for year, rows in plan.items():
        click.echo(f"FY{year}: {len(rows)} procedures")
        for row in rows:
            click.echo(
                f"  {row['position']:>4}  {row['score']:>6.2f}  {row['code'] or '':<16} "
                f"{row['name']}"
            )


@click.command("export-plan")
@with_appcontext
@click.option("--fiscal-year", type=int, required=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export_plan_command(fiscal_year: int, output: Path) -> None:
    """Write the yearly conversion list of one fiscal year as .xlsx."""
    from procedures.exports import plan_workbook

    with db.session_scope() as session:
        content = plan_workbook(
            session, fiscal_year=fiscal_year, city=current_app.config["CITY_NAME"]
        )
    output.write_bytes(content)
    click.echo(f"wrote {output}")


@click.command("export-inventory")
@with_appcontext
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export_inventory_command(output: Path) -> None:
    """Write the whole inventory as .xlsx."""
    from procedures.exports import inventory_workbook

    with db.session_scope() as session:
        content = inventory_workbook(session)
    output.write_bytes(content)
    click.echo(f"wrote {output}")


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
