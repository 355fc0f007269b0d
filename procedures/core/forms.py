"""Form helpers shared by every area."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# New in WTForms 3.3; the types-WTForms stubs (3.2) do not have it yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]


def as_choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """Turn (value, label) pairs into select options."""
    return [SelectChoice(value, str(text)) for value, text in pairs]
