"""The inventory export command."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from procedures.core import db


@click.command("export-inventory")
@with_appcontext
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export_inventory_command(output: Path) -> None:
    """Write the whole inventory as .xlsx."""
    from procedures.catalogue.exports import inventory_workbook

    with db.session_scope() as session:
        content = inventory_workbook(session)
    output.write_bytes(content)
    click.echo(f"wrote {output}")
