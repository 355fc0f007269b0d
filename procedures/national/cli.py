"""The national commands: load a reference, export in the national layout."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from procedures.core import db
from procedures.core.cli import user_id_or_exit

#: Why a file gives no reference, as the command says it (importers.national_reference).
REFUSALS = {
    "no_id_column": "no column of the file is a national procedure ID (手続ID)",
    "no_rows": "no row of the file has both a national procedure ID (手続ID) and a name",
}


@click.command("load-national-reference")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "login", help="The user the load is recorded for.")
def load_national_reference_command(path: Path, login: str | None) -> None:
    """Load a national inventory as the reference; exit 1 with the reason when nothing loads."""
    # Loaded when first used: keeps the CLI's start-up close to the bare framework.
    from importers.national_reference import NationalReferenceRefused
    from importers.results import InventoryRefused
    from procedures.national.reference import load_reference

    started = time.perf_counter()
    try:
        with db.session_scope() as session:
            user_id = user_id_or_exit(session, login)
            outcome = load_reference(
                session, content=path.read_bytes(), file_name=path.name, user_id=user_id
            )
    except InventoryRefused as refusal:
        click.echo(f"refused: {refusal.message} Nothing was loaded.", err=True)
        sys.exit(1)
    except NationalReferenceRefused as refusal:
        click.echo(f"refused: {REFUSALS[refusal.reason]}. Nothing was loaded.", err=True)
        sys.exit(1)
    seconds = time.perf_counter() - started
    click.echo(
        f"Loaded {outcome.load.rows:,} national procedures from {path.name} in {seconds:.1f} s"
        f" ({outcome.without_id:,} rows without an ID or a name, {outcome.repeated:,} repeated"
        f" IDs, not loaded). Flagged for review: {outcome.flagged:,}."
    )


@click.command("export-national")
@with_appcontext
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export_national_command(output: Path) -> None:
    """Write the inventory in the national survey's 令和7年度 layout as .xlsx."""
    from procedures.national.export import national_workbook

    with db.session_scope() as session:
        content = national_workbook(session)
    output.write_bytes(content)
    click.echo(f"wrote {output}")
