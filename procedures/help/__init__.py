"""Help: a page per area for a clerk new to the tool, and the glossary every page explains from."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the help pages, and the glossary helpers every template may call."""
    # Imported when the app is built: a service of this area, imported by another area or a
    # test, must not load its pages.
    from procedures.help.glossary import load_glossary
    from procedures.help.views import bp, glossary_helpers

    load_glossary()  # an incomplete glossary stops the app here, not on a page
    app.register_blueprint(bp)
    for name, helper in glossary_helpers().items():
        app.add_template_global(helper, name)
