"""The commands of the demo city: load it, and serve the app to try it (`make run`)."""

from __future__ import annotations

import logging
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from procedures.core import db


def _accounts_file() -> Path:
    """Return where the demo accounts' passwords are kept."""
    return Path(current_app.config["DEMO_ACCOUNTS_FILE"])


@click.command("load-demo")
@with_appcontext
@click.option(
    "--with-accounts",
    is_flag=True,
    help="Also create one account per role in the demo city and keep their passwords "
    "(in instance/demo-accounts.json) for `serve` to show.",
)
def load_demo_command(with_accounts: bool) -> None:
    """Load the demo municipality into an empty database (does nothing when data exists)."""
    from procedures.demo.accounts import create_demo_accounts, is_demo_city, keep_passwords
    from procedures.demo.loader import load_demo

    created = {}
    with db.session_scope() as session:
        outcome = load_demo(session)
        if with_accounts and is_demo_city(session):
            created = create_demo_accounts(session=session)
            if created:
                # Kept before the commit: a password kept for an account that then failed to
                # be made is never shown, as its hash matches no user's.
                keep_passwords(_accounts_file(), created)
    accounts = f" and {len(created)} accounts" if created else ""
    if outcome is None:
        click.echo(f"the database already holds procedures: demo not loaded again{accounts}")
    else:
        click.echo(f"loaded the demo municipality: {outcome.created} procedures{accounts}")


@click.command("serve")
@with_appcontext
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
def serve_command(port: int) -> None:
    """Serve the app on 127.0.0.1 to try it, saying where it is and who may sign in.

    Werkzeug's development server without its banner or a line per request, so the accounts
    stay the last lines on the screen (errors are still printed); production runs gunicorn.
    """
    from werkzeug.serving import make_server

    from procedures.demo.accounts import (
        closing_lines,
        demo_sign_ins,
        first_admin,
        is_demo_city,
        read_kept_passwords,
    )

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Bound before anything is said, so the address works once it is shown; a port in use
    # stops here with werkzeug's own message.
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy
    server = make_server("127.0.0.1", port, app, threaded=True)
    path = _accounts_file()
    with db.session_scope() as session:
        demo = is_demo_city(session)
        sign_ins = demo_sign_ins(session=session, kept=read_kept_passwords(path)) if demo else []
        admin = first_admin(session)
    kept_in = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
    for line in closing_lines(
        url=f"http://127.0.0.1:{port}/", sign_ins=sign_ins, admin=admin, kept_in=str(kept_in)
    ):
        click.echo(line)
    server.serve_forever()
