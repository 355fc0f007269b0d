"""Forms of the national reference: loading a file, linking a procedure."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token."""


class NationalLoadForm(FlaskForm):
    """Load a national inventory file as the reference."""

    file = FileField(_l("National inventory file"), validators=[FileRequired()])
    submit = SubmitField(_l("Load as the reference"))


class LinkForm(FlaskForm):
    """Link a procedure to a national 手続ID, or reject one suggested."""

    national_id = StringField(
        _l("National procedure ID"), validators=[DataRequired(), Length(max=100)]
    )
