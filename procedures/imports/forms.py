"""Forms of the import pages: upload, mapping, confirm, revert."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    RadioField,
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


class CommitForm(ConfirmForm):
    """Import a previewed file; asks what it is when procedures are absent from it."""

    # Choices are set by the page: their labels say how many procedures each choice touches.
    scope = RadioField(_l("What is this file?"), validators=[Optional()], choices=[])


class ValuesForm(FlaskForm):
    """Decide the values the tool did not understand; the fields are built by the template."""

    submit = SubmitField(_l("Apply these decisions"))


class RevertForm(FlaskForm):
    """The button that reverts a committed import."""

    submit = SubmitField(_l("Revert this import"))


class RefreshForm(FlaskForm):
    """Compare a previewed file again with the procedures as they are now."""

    submit = SubmitField(_l("Preview again"))


class MappingForm(FlaskForm):
    """Change how the file's columns are read; the selects are built by the template."""

    submit = SubmitField(_l("Apply this mapping"))
