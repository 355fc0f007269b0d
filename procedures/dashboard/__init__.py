"""Figures for the office and the public: funnel, charts, summary command, open data."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this area's pages and commands."""
    # Imported when the app is built: a service of this area, imported by another area or a
    # test, must not load its pages.
    from procedures.dashboard.cli import summary_command
    from procedures.dashboard.views import bp

    app.register_blueprint(bp)
    for command in (summary_command,):
        app.cli.add_command(command)
