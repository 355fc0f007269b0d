"""Accounts: signing in and out, the interface language, users and their roles."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this area's pages and commands."""
    # Imported when the app is built: a service of this area, imported by another area or a
    # test, must not load its pages.
    from procedures.accounts.admin_views import bp as admin_views_bp
    from procedures.accounts.cli import create_user_command, ensure_admin_command
    from procedures.accounts.views import bp as views_bp

    app.register_blueprint(views_bp)
    app.register_blueprint(admin_views_bp)
    for command in (
        create_user_command,
        ensure_admin_command,
    ):
        app.cli.add_command(command)
