"""Blueprints: one per area of the app."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Register every blueprint of the app."""
    from procedures.views import admin, auth, catalogue, imports, plan, priority

    for module in (auth, catalogue, imports, plan, priority, admin):
        app.register_blueprint(module.bp)
