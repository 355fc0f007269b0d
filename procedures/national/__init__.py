"""The inventory for the national survey (行政手続等の棚卸調査): its 令和7年度 layout and codes."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this area's pages and commands."""
    # Imported when the app is built: a service of this area, imported by another area or a
    # test, must not load its pages.
    from procedures.national.cli import export_national_command
    from procedures.national.views import bp

    app.register_blueprint(bp)
    app.cli.add_command(export_national_command)
