"""The demo city: a generated municipality modelled on Fujisawa's survey, its accounts, commands."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this area's pages and commands."""
    # Imported when the app is built: a service of this area, imported by another area or a
    # test, must not load its pages.
    from procedures.demo.cli import load_demo_command, serve_command

    for command in (load_demo_command, serve_command):
        app.cli.add_command(command)
