"""Form helpers shared by every area."""

from __future__ import annotations

from wtforms.fields.choices import SelectChoice


def as_choices(pairs) -> list[SelectChoice]:
    """Turn (value, label) pairs into select options."""
    return [SelectChoice(value, str(text)) for value, text in pairs]
