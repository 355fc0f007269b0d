"""The command that loads the demo city."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from procedures.core import db


@click.command("load-demo")
@with_appcontext
def load_demo_command() -> None:
    """Load the demo municipality into an empty database (does nothing when data exists)."""
    from procedures.demo.loader import load_demo

    with db.session_scope() as session:
        outcome = load_demo(session)
    if outcome is None:
        click.echo("the database already holds procedures: demo not loaded again")
    else:
        click.echo(f"loaded the demo municipality: {outcome.created} procedures")
