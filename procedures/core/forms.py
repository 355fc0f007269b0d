"""Form helpers shared by every area."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import abort
from flask_wtf import FlaskForm
from wtforms import HiddenField

# New in WTForms 3.3; the types-WTForms stubs (3.2) do not have it yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired


def as_choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """Turn (value, label) pairs into select options."""
    return [SelectChoice(value, str(text)) for value, text in pairs]


class VersionedActionForm(FlaskForm):
    """A button on one procedure; `version` guards against acting on a changed procedure."""

    version = HiddenField(validators=[DataRequired()])


def submitted_version() -> int:
    """Return the procedure version a posted VersionedActionForm carries; abort 400 without one."""
    form = VersionedActionForm()
    if not form.validate_on_submit():
        abort(400)
    assert form.version.data is not None  # DataRequired
    # isdecimal, not isdigit: int() refuses digits such as "²", which would be a 500.
    if not form.version.data.isdecimal():
        abort(400)
    return int(form.version.data)
