"""The national-layout export command."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from procedures.core import db


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
