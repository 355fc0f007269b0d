"""Problem messages from the importer and the import domain, in the user's language."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale


def problem_text(problem: Any) -> str:
    """Render an importer problem or refusal in the current UI language.

    The importer keeps its own English and Japanese texts (importers/messages*.py|json) so
    the CLI and the web say the same thing.
    """
    locale = get_locale()
    return problem.message_in(locale.language if locale else "ja")
