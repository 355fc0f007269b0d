"""Forms of the national priority list and its matches."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length

from procedures.core.forms import as_choices


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token."""


class PriorityItemForm(FlaskForm):
    """Add a procedure to the national priority list."""

    category = SelectField(_l("Category"))
    name = StringField(_l("Procedure name"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Add to the list"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from procedures.priority.national_list import CATEGORIES

        self.category.choices = as_choices(CATEGORIES.items())


class PriorityRenameForm(FlaskForm):
    """Rename a procedure of the national priority list."""

    name = StringField(_l("Procedure name"), validators=[DataRequired(), Length(max=500)])


class PriorityUploadForm(FlaskForm):
    """Load a new revision of the national priority list from CSV."""

    # Its columns are shown above the form, as code.
    file = FileField(_l("CSV file"), validators=[FileRequired()])
    revision = StringField(
        _l("Revision label"),
        validators=[DataRequired(), Length(max=200)],
        # No description: templates/_macros.html `field` rebinds `_` when a field has one.
    )
    submit = SubmitField(_l("Replace the active list"))
