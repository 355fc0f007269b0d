"""Forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from procedures.vocabulary import BLOCKERS, ONLINE_STATUSES, ROLES, VERDICTS


def as_choices(pairs) -> list[SelectChoice]:
    """Turn (value, label) pairs into select options."""
    return [SelectChoice(value, str(text)) for value, text in pairs]


class LoginForm(FlaskForm):
    """Sign in with login and password."""

    login = StringField(_l("Login"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    submit = SubmitField(_l("Sign in"))


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _tri_state_choices() -> list[SelectChoice]:
    return as_choices([("", _l("Unknown")), ("yes", _l("Yes")), ("no", _l("No"))])


class ProcedureForm(FlaskForm):
    """Edit the fields a person judges; `version` guards against overwriting someone else."""

    version = HiddenField()
    name = StringField(_l("Procedure name"), validators=[DataRequired(), Length(max=500)])
    legal_basis = StringField(_l("Legal basis"), validators=[Optional(), Length(max=500)])
    annual_volume = IntegerField(
        _l("Annual volume"),
        validators=[Optional(), NumberRange(min=0, max=100_000_000)],
        description=_l("Leave empty when unknown; unknown is not zero."),
    )
    visit_required = SelectField(_l("Visit required"))
    visit_reason = StringField(_l("Why a visit is required"), validators=[Optional()])
    mynaportal_eligible = BooleanField(_l("On the national My Number Portal list"))
    online_status = SelectField(_l("Online status"))
    channel = StringField(_l("Channel"), validators=[Optional(), Length(max=200)])
    verdict = SelectField(_l("Feasibility verdict"))
    verdict_reason = TextAreaField(_l("Reason for the verdict"), validators=[Optional()])
    blockers = MultiCheckboxField(_l("Blockers"))
    target_fiscal_year = IntegerField(
        _l("Target fiscal year"), validators=[Optional(), NumberRange(min=2000, max=2100)]
    )
    done_fiscal_year = IntegerField(
        _l("Fiscal year put online"), validators=[Optional(), NumberRange(min=2000, max=2100)]
    )
    notes = TextAreaField(_l("Notes"), validators=[Optional()])
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.visit_required.choices = _tri_state_choices()
        self.online_status.choices = as_choices([("", _l("Unknown")), *ONLINE_STATUSES.items()])
        self.verdict.choices = as_choices(VERDICTS.items())
        self.blockers.choices = as_choices(BLOCKERS.items())

    def validate(self, extra_validators=None) -> bool:
        """Validate the fields, then require a reason for a procedure judged not feasible."""
        valid = super().validate(extra_validators)
        if self.verdict.data == "infeasible" and not (self.verdict_reason.data or "").strip():
            self.verdict_reason.errors = [
                *self.verdict_reason.errors,
                _l("Give the reason why it cannot go online."),
            ]
            return False
        return valid

    def changes(self) -> dict:
        """Return the submitted values as procedure fields."""
        tri_state = {"": None, "yes": True, "no": False}
        return {
            "name": self.name.data,
            "legal_basis": self.legal_basis.data,
            "annual_volume": self.annual_volume.data,
            "visit_required": tri_state[self.visit_required.data or ""],
            "visit_reason": self.visit_reason.data,
            "mynaportal_eligible": bool(self.mynaportal_eligible.data),
            "online_status": self.online_status.data or None,
            "channel": self.channel.data,
            "verdict": self.verdict.data,
            "verdict_reason": self.verdict_reason.data,
            "blockers": self.blockers.data or [],
            "target_fiscal_year": self.target_fiscal_year.data,
            "done_fiscal_year": self.done_fiscal_year.data,
            "notes": self.notes.data,
        }


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


class RecomputeForm(FlaskForm):
    """Recompute the plan."""

    submit = SubmitField(_l("Recompute the plan"))


class UserForm(FlaskForm):
    """Create a user."""

    login = StringField(_l("Login"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8)])
    role = SelectField(_l("Role"))
    division = SelectField(_l("Division"), validators=[Optional()])
    submit = SubmitField(_l("Create user"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = as_choices(ROLES.items())
