"""Blueprints: one per area of the app."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Register every blueprint of the app."""
    from procedures.views import admin, auth, catalogue, dashboard, imports, plan, priority, survey

    for module in (auth, catalogue, imports, plan, priority, dashboard, survey, admin):
        app.register_blueprint(module.bp)
