"""Problem messages from the importer and the import domain, in the user's language."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext

from importers.messages import MESSAGES


def problem_text(problem: Any) -> str:
    """Render an importer problem or refusal (code + params) in the current language."""
    template = MESSAGES.get(problem.code)
    if template is None:
        return problem.message
    params = {key: "" if value is None else value for key, value in problem.params.items()}
    try:
        return gettext(template).format(**params)
    except (KeyError, IndexError, ValueError):
        return problem.message
