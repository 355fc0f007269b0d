"""The national side: the survey's 令和7年度 layout and codes, and the national inventory as a
reference (loads, links of city procedures, change reviews)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this area's pages and commands."""
    # Imported when the app is built: a service of this area, imported by another area or a
    # test, must not load its pages.
    from procedures.national import export_views  # noqa: F401  (adds its pages to bp)
    from procedures.national.cli import export_national_command, load_national_reference_command
    from procedures.national.views import bp, reviews_remaining

    app.register_blueprint(bp)
    app.cli.add_command(export_national_command)
    app.cli.add_command(load_national_reference_command)
    app.context_processor(lambda: {"national_reviews_remaining": reviews_remaining})
