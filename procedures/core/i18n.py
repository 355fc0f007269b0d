"""Languages: Japanese by default, English complete; the choice lives in the session."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, has_request_context, request, session
from flask_babel import Babel

LANGUAGES = ("ja", "en")
TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"


def number(value: int) -> str:
    """Format a count with thousands separators (65,470), as every page and message shows it."""
    return f"{value:,}"


def select_locale() -> str:
    """Pick the UI language: the user's choice, else Japanese."""
    if not has_request_context():
        return "ja"
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return "ja"


#: Parameters of importer messages that count something: shown with thousands separators.
#: Row numbers and values as written stay as they are (row 12345 of a sheet, the year 2022).
_COUNTED = frozenset({"count", "duplicates", "rows", "length", "limit"})


def _readable(params: dict[str, Any]) -> dict[str, Any]:
    """Return a problem's parameters with its counts written with thousands separators."""
    return {
        name: number(value)
        if name in _COUNTED and isinstance(value, int) and not isinstance(value, bool)
        else value
        for name, value in params.items()
    }


def problem_text(problem: Any) -> str:
    """Render an importer problem or refusal in the page's language.

    The importer keeps its own English and Japanese texts (importers/messages.py and
    importers/messages_ja.json) so that the CLI and the web say the same thing.
    """
    from importers.messages import template

    # The form (singular or plural) is chosen by the number; the text shows it separated.
    text = template(problem.code, select_locale(), problem.params.get("count"))
    return text.format(**_readable(problem.params))


#: How a row-level message starts, in English and in Japanese (importers/messages.py).
_ROW_PREFIXES = ("Row {row}: ", "{row}行目：")


def problem_text_without_row(problem: Any) -> str:
    """Render an importer problem for a group of rows: its message without the row numbers.

    A row's message loses its "Row N:" start; a warning about several rows (a count and row
    numbers in its parameters) is said in its grouped form, the table showing both.
    """
    # The importer's texts, loaded when first used.
    from importers.messages import grouped_template, template

    locale, count = select_locale(), problem.params.get("count")
    text = grouped_template(problem.code, locale, count)
    if text is None:
        text = template(problem.code, locale, count)
        for prefix in _ROW_PREFIXES:
            text = text.removeprefix(prefix)
    return text.format(**_readable(problem.params))


def compile_catalogs() -> list[Path]:
    """Compile every messages.po into messages.mo when the .mo is missing or older."""
    written = []
    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        # Write beside and rename: several test workers or app processes may compile at once.
        partial_path = mo_path.with_suffix(f".mo.{os.getpid()}")
        with partial_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        os.replace(partial_path, mo_path)
        written.append(mo_path)
    return written


def init_app(app: Flask) -> None:
    """Attach Flask-Babel; compile catalogs that are out of date so a fresh clone shows Japanese."""
    compile_catalogs()
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def _language_context() -> dict:
        return {"current_lang": select_locale(), "request_path": request.full_path}
