"""The catalogue: procedure list and page, triage, bulk change, missing queue, export."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this area's pages and commands."""
    # Imported when the app is built: a service of this area, imported by another area or a
    # test, must not load its pages.
    from procedures.catalogue.cli import export_inventory_command
    from procedures.catalogue.views import bp

    app.register_blueprint(bp)
    for command in (export_inventory_command,):
        app.cli.add_command(command)
