"""The import-inventory and revert-import commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import with_appcontext

from procedures.core import db
from procedures.core.cli import user_id_or_exit

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

    from importers.decisions import Unrecognised, ValueMap
    from procedures.imports.preview import ImportOutcome


@click.command("import-inventory")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--division", "division_name", help="Division for rows that do not name one.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--user", "login", help="The user the audit log names for this import.")
@click.option(
    "--value-map",
    "value_map_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='Decisions on values not understood: {"field": {"value": "yes|no|unknown|…"}}.',
)
@click.option(
    "--only-these",
    is_flag=True,
    help="The file updates only the procedures in it: mark none of the others missing.",
)
def import_inventory_command(
    path: Path,
    division_name: str | None,
    dry_run: bool,
    as_json: bool,
    login: str | None,
    value_map_path: Path | None,
    only_these: bool,
) -> None:
    """Import an inventory file; exit 1 with the reason when nothing could be imported."""
    # Loaded when first used (the import pipeline loads the importers package): keeps the
    # CLI's start-up close to the bare framework.
    from procedures.imports.preview import ImportChanged
    from procedures.imports.service import Upload, import_now
    from procedures.survey.returns import SurveyRefused

    value_map = _value_map_or_exit(value_map_path)
    content = path.read_bytes()
    # A progress bar only for a person at a terminal: never in JSON output or in a pipe.
    bar = TerminalProgress() if not as_json and sys.stderr.isatty() else None
    if bar:
        click.echo(f"reading {path.name} …", err=True)
    try:
        with db.session_scope() as session:
            user_id = user_id_or_exit(session, login)
            outcome = import_now(
                session,
                Upload(
                    content,
                    path.name,
                    division_name,
                    user_id,
                    value_map=value_map,
                    scope="only_these" if only_these else "whole",
                ),
                city=current_app.config["CITY_NAME"],
                dry_run=dry_run,
                progress=bar.update if bar else None,
            )
    except SurveyRefused as refusal:
        click.echo(f"refused: {refusal}", err=True)
        sys.exit(1)
    except ImportChanged:
        # Raised inside the transaction: session_scope has rolled everything back. The rule
        # is the web's: a procedure saved after the comparison (here the preview) refuses it.
        click.echo(
            "refused: procedures this file changes were saved by someone after it was "
            "compared with the inventory; nothing was written. Run the import again.",
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
    else:
        _print_summary(path, outcome, dry_run)
    if outcome.nothing_importable:
        click.echo("refused: every row was refused; nothing could be imported", err=True)
        sys.exit(1)


def _counted(count: int, singular: str, plural: str) -> str:
    """Return '1 row' or '2 rows' (thousands separated)."""
    return f"{count:,} {singular if count == 1 else plural}"


def _print_summary(path: Path, outcome: ImportOutcome, dry_run: bool) -> None:
    """Print what the import did in one line, then its errors and undecided values."""
    verb = "would import" if dry_run else "imported"
    if outcome.nothing_importable:
        verb = "nothing imported from"
    click.echo(
        f"{verb} {path.name}: {_counted(outcome.rows, 'row', 'rows')}, {outcome.created:,} new, "
        f"{outcome.updated:,} changed, {outcome.unchanged:,} unchanged, "
        f"{outcome.missing:,} missing, {_counted(len(outcome.errors), 'error', 'errors')}, "
        f"{_counted(len(outcome.warnings), 'warning', 'warnings')}"
    )
    for problem in outcome.errors[:50]:
        click.echo(f"  error: {problem.sheet} row {problem.row}: {problem.message}", err=True)
    if outcome.absent and outcome.scope == "whole":
        absent = _counted(outcome.absent, "procedure", "procedures")
        were = "was" if outcome.absent == 1 else "were"
        click.echo(
            f"  {absent} absent from the file {were} marked missing "
            "(the file was taken as the whole inventory; --only-these marks none)",
            err=True,
        )
    for entry in outcome.undecided[:50]:
        click.echo(f"  {_undecided_line(entry)}", err=True)


def _undecided_line(entry: Unrecognised) -> str:
    """Say where a value not understood is, as the file writes it, and how to decide it."""
    from importers.decisions import CHOICES, UNKNOWN, is_valid

    choices = list(CHOICES.get(entry.field, ("<number>",)))
    if is_valid(entry.field, UNKNOWN):
        choices.append(UNKNOWN)
    example = json.dumps({entry.field: {entry.value: "|".join(choices)}}, ensure_ascii=False)
    rows = ", ".join(str(row) for row in entry.rows)
    if entry.count > len(entry.rows):
        rows += " …"
    stored = (
        "stored as unknown"
        if is_valid(entry.field, UNKNOWN)
        else "the procedure's answer is kept (no for a new one)"
    )
    return (
        f"undecided: {entry.column} ({entry.field}) {entry.value!r} in "
        f"{_counted(entry.count, 'row', 'rows')} ({rows}) of sheet {entry.sheet}: {stored}; "
        f"decide it with --value-map {example}"
    )


def _value_map_or_exit(path: Path | None) -> ValueMap | None:
    """Read --value-map's JSON file; exit 1 saying what is wrong with it."""
    if path is None:
        return None
    from importers.decisions import ValueMapError, checked_value_map

    try:
        # utf-8-sig: Windows Notepad may start a UTF-8 file with a byte order mark.
        return checked_value_map(json.loads(path.read_text(encoding="utf-8-sig")))
    except json.JSONDecodeError as error:
        reason = f" is not valid JSON (line {error.lineno}, column {error.colno})"
    except UnicodeDecodeError as error:
        reason = f" is not UTF-8 text (byte {error.start + 1}); save it as UTF-8"
    except ValueMapError as error:
        reason = ": " + "; ".join(error.problems)
    click.echo(f"refused: --value-map {path.name}{reason}", err=True)
    sys.exit(1)


class TerminalProgress:
    """A click progress bar on stderr, created once the number of rows to write is known."""

    def __init__(self) -> None:
        self.bar: ProgressBar[int] | None = None
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


@click.command("revert-import")
@with_appcontext
@click.argument("batch_id", type=int)
@click.option("--user", "login", help="The user the audit log names for this revert.")
def revert_import_command(batch_id: int, login: str | None) -> None:
    """Revert a committed import; exit 1 with the reason when it is refused."""
    from procedures.imports.revert import RevertRefused, revert_import

    try:
        with db.session_scope() as session:
            user_id = user_id_or_exit(session, login)
            outcome = revert_import(session, batch_id=batch_id, user_id=user_id)
    except LookupError:
        click.echo(f"refused: there is no import {batch_id}", err=True)
        sys.exit(1)
    except RevertRefused as refusal:
        # Raised inside the transaction: session_scope has rolled everything back.
        click.echo(f"refused: {refusal}", err=True)
        sys.exit(1)
    click.echo(
        f"reverted import {batch_id}: {outcome.restored} procedures restored, "
        f"{outcome.reactivated} active again, {outcome.deleted} created ones deleted"
    )
