"""Forms of the import pages: upload, mapping, confirm."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    SelectField,
    SubmitField,
)
from wtforms.validators import Optional


class UploadForm(FlaskForm):
    """Upload an inventory file."""

    file = FileField(_l("Inventory file"), validators=[FileRequired()])
    division = SelectField(
        _l("Division"),
        description=_l("For rows that do not name their division."),
        validators=[Optional()],
    )
    submit = SubmitField(_l("Upload and preview"))


class ConfirmForm(FlaskForm):
    """A button that confirms a previewed action."""

    submit = SubmitField(_l("Import these changes"))


class MappingForm(FlaskForm):
    """Change how the file's columns are read; the selects are built by the template."""

    submit = SubmitField(_l("Apply this mapping"))
