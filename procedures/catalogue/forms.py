"""Forms of the catalogue: triage, edit and bulk change."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from importers.schema import ANNUAL_VOLUME_MAX
from importers.steps import KNOWN_STATUSES, STEPS
from importers.steps import decode as decode_steps
from procedures.core.forms import SelectChoice, as_choices
from procedures.core.params import integer_text
from procedures.vocabulary import (
    BLOCKERS,
    ONLINE_STATUSES,
    STEP_LABELS,
    STEP_STATUSES,
    VERDICTS,
)


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


#: A version that is not a number: the page was tampered with or is from another time.
STALE_FORM = _l("This form is out of date. Reload the page and enter your changes again.")


def _tri_state_choices() -> list[SelectChoice]:
    return as_choices([("", _l("Unknown")), ("yes", _l("Yes")), ("no", _l("No"))])


class TriageForm(FlaskForm):
    """The fields triage touches; `version` guards against overwriting someone else's save."""

    version = HiddenField(validators=[integer_text(message=STALE_FORM)])
    visit_required = SelectField(_l("Visit required"))
    visit_reason = StringField(_l("Why a visit is required"), validators=[Optional()])
    channel = StringField(_l("Channel"), validators=[Optional(), Length(max=200)])
    verdict = SelectField(_l("Feasibility verdict"))
    verdict_reason = TextAreaField(_l("Reason for the verdict"), validators=[Optional()])
    blockers = MultiCheckboxField(_l("Blockers"))
    target_fiscal_year = IntegerField(
        _l("Target fiscal year"), validators=[Optional(), NumberRange(min=2000, max=2100)]
    )
    notes = TextAreaField(_l("Notes"), validators=[Optional()])
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.visit_required.choices = _tri_state_choices()
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
            "visit_required": tri_state.get(self.visit_required.data or ""),
            "visit_reason": self.visit_reason.data,
            "channel": self.channel.data,
            "verdict": self.verdict.data,
            "verdict_reason": self.verdict_reason.data,
            "blockers": self.blockers.data or [],
            "target_fiscal_year": self.target_fiscal_year.data,
            "notes": self.notes.data,
        }

    def fill_from(self, procedure) -> None:
        """Show a procedure's current values in the fields that need translating."""
        self.version.data = str(procedure.version)
        self.visit_required.data = {None: "", True: "yes", False: "no"}[procedure.visit_required]
        self.blockers.data = [code for code in (procedure.blockers or "").split(",") if code]


class ProcedureForm(TriageForm):
    """Every field a person may edit on the full edit page."""

    name = StringField(_l("Procedure name"), validators=[DataRequired(), Length(max=500)])
    legal_basis = StringField(_l("Legal basis"), validators=[Optional(), Length(max=500)])
    annual_volume = IntegerField(
        _l("Annual volume"),
        validators=[Optional(), NumberRange(min=0, max=ANNUAL_VOLUME_MAX)],
        description=_l("Leave empty when unknown; unknown is not zero."),
    )
    mynaportal_eligible = BooleanField(_l("On the national My Number Portal list"))
    online_status = SelectField(_l("Online status"))
    done_fiscal_year = IntegerField(
        _l("Fiscal year put online"), validators=[Optional(), NumberRange(min=2000, max=2100)]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.online_status.choices = as_choices([("", _l("Unknown")), *ONLINE_STATUSES.items()])

    def changes(self) -> dict:
        """Return the submitted values as procedure fields."""
        return {
            **super().changes(),
            "name": self.name.data,
            "legal_basis": self.legal_basis.data,
            "annual_volume": self.annual_volume.data,
            "mynaportal_eligible": bool(self.mynaportal_eligible.data),
            "online_status": self.online_status.data or None,
            "done_fiscal_year": self.done_fiscal_year.data,
        }

    def fill_from(self, procedure) -> None:
        """Show a procedure's current values in the fields that need translating."""
        super().fill_from(procedure)
        self.online_status.data = procedure.online_status or ""


class ConfirmBulkForm(FlaskForm):
    """Carries the CSRF token of the bulk-change forms; the fields are read from the request."""


class StepsForm(FlaskForm):
    """Where each step of a procedure is done: one choice per step of the list (steps.json).

    A field per step is added below from the list, so that a step a city adds is editable
    without code; `version` guards against overwriting someone else's save, as in triage.
    """

    version = HiddenField(validators=[integer_text(message=STALE_FORM)])
    submit = SubmitField(_l("Save the steps"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = as_choices(
            [("", STEP_STATUSES["unknown"])]
            + [(code, STEP_STATUSES[code]) for code in KNOWN_STATUSES]
        )
        for step, field in zip(STEPS, self.step_fields(), strict=True):
            field.choices = choices
            field.label.text = str(STEP_LABELS[step.key])  # in the language of this request

    def step_fields(self) -> list[SelectField]:
        """Return the step fields, in the list's order."""
        return [self[f"step_{step.key}"] for step in STEPS]

    def statuses(self) -> dict[str, str | None]:
        """Return the chosen status of each step, None for not confirmed."""
        return {step.key: self[f"step_{step.key}"].data or None for step in STEPS}

    def fill_from(self, procedure) -> None:
        """Show a procedure's version and the status of each of its steps."""
        self.version.data = str(procedure.version)
        known = decode_steps(procedure.steps)
        for step in STEPS:
            self[f"step_{step.key}"].data = known.get(step.key, "")


for _step in STEPS:
    setattr(
        StepsForm,
        f"step_{_step.key}",
        SelectField(_step.en, validators=[Optional()]),
    )
