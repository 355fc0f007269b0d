"""Form helpers shared by every area, and the answer to a versioned action that came too late."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import abort, flash, redirect
from flask_babel import LazyString
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField

# New in WTForms 3.3; the types-WTForms stubs (3.2) do not have it yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired

from procedures.core import db
from procedures.core.params import BadParameter, parse_int
from procedures.models import Procedure


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
    # Digits only, within an integer column's range: "²" or 10**30 would otherwise be a 500.
    version = parse_int(form.version.data, minimum=0)
    if version is None:
        raise BadParameter("version")
    return version


def refuse_stale_action(procedure: Procedure, message: LazyString, back_to: str) -> Response:
    """Undo an action on a procedure that changed since the page was shown; say so, go back.

    `message` names the procedure as %(name)s: the name is read after the rollback, as the
    procedure now stands.
    """
    db.session().rollback()
    flash(message % {"name": procedure.name}, "error")
    return redirect(back_to)
