"""The yearly conversion plan: ranking rule, policy, pins, saved versions, yearly lists."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this area's pages and commands."""
    # Imported when the app is built: a service of this area, imported by another area or a
    # test, must not load its pages.
    from procedures.plan.cli import export_plan_command, plan_command
    from procedures.plan.views import bp

    app.register_blueprint(bp)
    for command in (
        plan_command,
        export_plan_command,
    ):
        app.cli.add_command(command)
