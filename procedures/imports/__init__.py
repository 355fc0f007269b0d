"""Imports: upload, mapping, preview, commit (in the request or beside it), history."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this area's pages and commands."""
    # Imported when the app is built: a service of this area, imported by another area or a
    # test, must not load its pages.
    from procedures.imports import revert_views  # noqa: F401  (adds its route to bp)
    from procedures.imports.cli import import_inventory_command, revert_import_command
    from procedures.imports.views import bp

    app.register_blueprint(bp)
    for command in (import_inventory_command, revert_import_command):
        app.cli.add_command(command)
