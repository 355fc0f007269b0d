"""The summary command."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from procedures.core import db


@click.command("summary")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def summary_command(as_json: bool) -> None:
    """Print the funnel: procedures, visits, feasibility, plan and done per year."""
    from procedures.dashboard.summary import funnel

    with db.session_scope() as session:
        counts = funnel(session)
    if as_json:
        click.echo(json.dumps(counts, ensure_ascii=False))
        return
    for key, value in counts.items():
        click.echo(f"{key}: {value}")
