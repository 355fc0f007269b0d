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
from procedures.core.templating import APPLICANTS, IDENTITY_CHECKS
from procedures.vocabulary import (
    BLOCKERS,
    KINDS,
    LIFE_EVENTS,
    ONLINE_STATUSES,
    STEP_LABELS,
    STEP_STATUSES,
    VERDICTS,
)


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class KeptSelectField(SelectField):
    """A select that keeps the procedure's value when the page did not send it.

    Checked against its choices only when sent; `changes()` leaves an unsent field out.
    """

    def pre_validate(self, form) -> None:
        """Check the sent value is one of the choices; nothing sent is nothing to check."""
        if self.raw_data:
            super().pre_validate(form)


#: A fiscal year is the Western year of its April (docs/DOMAIN.md), within the app's range.
FISCAL_YEAR = NumberRange(
    min=2000, max=2100, message=_l("Enter a fiscal year between 2000 and 2100.")
)

#: A version that is not a number: the page was tampered with or is from another time.
STALE_FORM = _l("This form is out of date. Reload the page and enter your changes again.")


def _tri_state_choices() -> list[SelectChoice]:
    return as_choices([("", _l("Unknown")), ("yes", _l("Yes")), ("no", _l("No"))])


def _or_unknown(pairs) -> list[SelectChoice]:
    """A select's options: "Unknown" (stored as nothing), then the codes with their labels."""
    return as_choices([("", _l("Unknown")), *pairs])


#: A yes / no / unknown column and the select's value for each.
_TRI_STATE = {None: "", True: "yes", False: "no"}
_FROM_TRI_STATE = {"": None, "yes": True, "no": False}
#: Fields drawn as checkboxes: a cleared one sends nothing, so its absence is an answer.
_CHECKBOXES = (BooleanField, SelectMultipleField)


class TriageForm(FlaskForm):
    """The fields triage touches; `version` guards against overwriting someone else's save."""

    version = HiddenField(validators=[integer_text(message=STALE_FORM)])
    visit_required = KeptSelectField(_l("Visit required"))
    visit_reason = StringField(_l("Why a visit is required"), validators=[Optional()])
    channel = StringField(_l("Channel"), validators=[Optional(), Length(max=200)])
    verdict = KeptSelectField(_l("Feasibility verdict"))
    verdict_reason = TextAreaField(_l("Reason for the verdict"), validators=[Optional()])
    blockers = MultiCheckboxField(_l("Blockers"))
    target_fiscal_year = IntegerField(
        _l("Target fiscal year"), validators=[Optional(), FISCAL_YEAR]
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
        """Return the submitted values as procedure fields.

        A field the page did not send keeps its value: a page opened before the field was
        added to the form must not empty it. Checkboxes send nothing when cleared, so they
        always count.
        """
        values = self._values()
        return {
            name: value
            for name, value in values.items()
            if self[name].raw_data or isinstance(self[name], _CHECKBOXES)
        }

    def _values(self) -> dict:
        """Every field of the form as the procedure stores it."""
        return {
            "visit_required": _FROM_TRI_STATE.get(self.visit_required.data or ""),
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
        self.visit_required.data = _TRI_STATE[procedure.visit_required]
        self.blockers.data = [code for code in (procedure.blockers or "").split(",") if code]


def life_events_of(text: str | None) -> list[str]:
    """Split a procedure's life events ("妊娠・出産; 子育て") into a list."""
    return [event.strip() for event in (text or "").split(";") if event.strip()]


class ProcedureForm(TriageForm):
    """Every field a person may edit on the full edit page.

    Left out: the department (it follows the division), the words not understood by an
    import (`raw_values`: what the division wrote, kept as evidence) and the state
    (`lifecycle`: retired or kept on the missing queue, each audited there).
    """

    name = StringField(
        _l("Procedure name"),
        validators=[DataRequired(_l("Enter the procedure's name.")), Length(max=500)],
    )
    code = StringField(
        _l("Code"),
        validators=[Optional(), Length(max=100)],
        description=_l(
            "An import finds this procedure by its code: change it only when the division's "
            "file uses the new code."
        ),
    )
    division_id = KeptSelectField(
        _l("Division"),
        coerce=int,
        description=_l("Moving a procedure gives it to that division: it edits it from then on."),
    )
    legal_basis = StringField(_l("Legal basis"), validators=[Optional(), Length(max=500)])
    kind = KeptSelectField(_l("Kind"))
    applicant = KeptSelectField(_l("Who applies"))
    life_events = MultiCheckboxField(_l("Life events"))
    annual_volume = IntegerField(
        _l("Annual volume"),
        validators=[
            Optional(),
            NumberRange(
                min=0,
                max=ANNUAL_VOLUME_MAX,
                message=_l(
                    "Enter the applications of a year as a number from 0 to %(maximum)s.",
                    maximum=f"{ANNUAL_VOLUME_MAX:,}",
                ),
            ),
        ],
        description=_l("Leave empty when unknown; unknown is not zero."),
    )
    volume_is_estimate = BooleanField(_l("Volume is an estimate"))
    volume_fiscal_year = IntegerField(
        _l("Fiscal year of the volume"),
        validators=[Optional(), FISCAL_YEAR],
        description=_l("The fiscal year the count belongs to, e.g. 2023 for 令和5年度."),
    )
    fee_required = KeptSelectField(_l("Fee"))
    fee_payment = StringField(_l("How the fee is paid"), validators=[Optional(), Length(max=500)])
    attachments = TextAreaField(_l("Attachments"), validators=[Optional()])
    originals_required = KeptSelectField(_l("Originals required"))
    seal_required = KeptSelectField(_l("Seal or signature"))
    identity_check = KeptSelectField(_l("Identity check"))
    mynaportal_eligible = BooleanField(_l("On the national My Number Portal list"))
    online_status = KeptSelectField(_l("Online status"))
    done_fiscal_year = IntegerField(
        _l("Fiscal year put online"), validators=[Optional(), FISCAL_YEAR]
    )

    def __init__(self, *args, divisions: dict[str, list[tuple[int, str]]] | None = None, **kwargs):
        """`divisions`: {department: [(id, division)]} to move the procedure to, or None when
        the user may not move it (the field is then left out)."""
        super().__init__(*args, **kwargs)
        self.online_status.choices = _or_unknown(ONLINE_STATUSES.items())
        self.kind.choices = _or_unknown(KINDS.items())
        self.applicant.choices = _or_unknown(APPLICANTS.items())
        self.identity_check.choices = _or_unknown(
            (str(code), text) for code, text in IDENTITY_CHECKS.items()
        )
        for name in ("fee_required", "originals_required", "seal_required"):
            self[name].choices = _tri_state_choices()
        procedure = kwargs.get("obj")
        # An imported life event outside the vocabulary stays a choice, ticked: not lost.
        own = life_events_of(procedure.life_events if procedure is not None else None)
        events = [*LIFE_EVENTS, *(event for event in own if event not in LIFE_EVENTS)]
        self.life_events.choices = as_choices((event, event) for event in events)
        if divisions is None:
            del self.division_id
        else:
            self.division_id.choices = {
                department: as_choices(items) for department, items in divisions.items()
            }

    def _values(self) -> dict:
        """Every field of the form as the procedure stores it."""
        values = {
            **super()._values(),
            "name": self.name.data,
            "code": self.code.data,
            "legal_basis": self.legal_basis.data,
            "kind": self.kind.data or None,
            "applicant": self.applicant.data or None,
            "life_events": "; ".join(self.life_events.data or []) or None,
            "annual_volume": self.annual_volume.data,
            "volume_is_estimate": bool(self.volume_is_estimate.data),
            "volume_fiscal_year": self.volume_fiscal_year.data,
            "fee_payment": self.fee_payment.data,
            "attachments": self.attachments.data,
            "identity_check": int(self.identity_check.data) if self.identity_check.data else None,
            "mynaportal_eligible": bool(self.mynaportal_eligible.data),
            "online_status": self.online_status.data or None,
            "done_fiscal_year": self.done_fiscal_year.data,
        }
        for name in ("fee_required", "originals_required", "seal_required"):
            values[name] = _FROM_TRI_STATE.get(self[name].data or "")
        if "division_id" in self:
            values["division_id"] = self.division_id.data
        return values

    def fill_from(self, procedure) -> None:
        """Show a procedure's current values in the fields that need translating."""
        super().fill_from(procedure)
        self.online_status.data = procedure.online_status or ""
        self.kind.data = procedure.kind or ""
        self.applicant.data = procedure.applicant or ""
        self.identity_check.data = str(procedure.identity_check or "")
        self.life_events.data = life_events_of(procedure.life_events)
        for name in ("fee_required", "originals_required", "seal_required"):
            self[name].data = _TRI_STATE[getattr(procedure, name)]


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
