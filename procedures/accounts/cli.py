"""Commands that create users."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlmodel import col

from procedures.core import db
from procedures.models import Role, User

#: Said after a generated password: no command shows it again.
WRITE_IT_DOWN = "Write it down now: it is not shown again."


@click.command("create-user")
@with_appcontext
@click.argument("login")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--division", "division_name", help="The division a division user belongs to.")
@click.option(
    "--generate-password",
    is_flag=True,
    help="Make a random password and print it once, instead of reading one from standard input.",
)
def create_user_command(
    login: str, role: str, division_name: str | None, generate_password: bool
) -> None:
    """Create a user; the password is read from standard input, or generated and printed once."""
    # The flag takes the name `generate_password`: the module's functions are named through it.
    from procedures.accounts import users

    if generate_password:
        password = users.generate_password()
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        with db.session_scope() as session:
            users.create_user(
                session=session,
                login=login,
                password=password,
                role=Role(role),
                division_name=division_name,
            )
    except users.UserError as error:
        raise click.ClickException(str(error)) from error
    if generate_password:
        click.echo(f"created user {login} ({role}) with password: {password}")
        click.echo(WRITE_IT_DOWN)
    else:
        click.echo(f"created user {login} ({role})")


@click.command("ensure-admin")
@with_appcontext
@click.option("--login", default="admin", show_default=True)
@click.option("--quiet", is_flag=True, help="Say nothing when an admin exists (for `make run`).")
def ensure_admin_command(login: str, quiet: bool) -> None:
    """Create the first admin with a random password, printed once; do nothing if one exists."""
    from procedures.accounts.users import create_user, generate_password

    with db.session_scope() as session:
        if session.execute(select(col(User.id)).where(col(User.role) == Role.admin)).first():
            if not quiet:
                click.echo("an admin user exists already; its password is not shown again")
            return
        password = generate_password()
        create_user(session=session, login=login, password=password, role=Role.admin)
    click.echo(f"created admin user {login!r} with password: {password}")
    click.echo(WRITE_IT_DOWN)
