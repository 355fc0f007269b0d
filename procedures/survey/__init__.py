"""The yearly survey: one workbook per division out, the answers back, who answered."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this area's pages and commands."""
    # Imported when the app is built: a service of this area, imported by another area or a
    # test, must not load its pages.
    from procedures.survey.views import bp

    app.register_blueprint(bp)
