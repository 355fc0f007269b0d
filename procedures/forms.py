"""Forms (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    FloatField,
    Form,
    FormField,
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
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from procedures.vocabulary import (
    BLOCKERS,
    LIFE_EVENTS,
    ONLINE_STATUSES,
    ROLES,
    TIER_CONDITIONS,
    VERDICTS,
)


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


class TriageForm(FlaskForm):
    """The fields triage touches; `version` guards against overwriting someone else's save."""

    version = HiddenField()
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
        validators=[Optional(), NumberRange(min=0, max=100_000_000)],
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


class ConfirmBulkForm(FlaskForm):
    """Carries the CSRF token of the bulk-change forms; the fields are read from the request."""


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


class PinForm(FlaskForm):
    """Pin a procedure to a fiscal year, or exclude it from the plan, with a reason."""

    target = SelectField(_l("Place in the plan"))
    reason = TextAreaField(
        _l("Reason"),
        validators=[
            DataRequired(
                _l("Write the reason; it is shown with the plan to explain the decision.")
            ),
            Length(max=2000),
        ],
    )
    submit = SubmitField(_l("Save the decision"))

    def __init__(self, *args, years: list[int] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.target.choices = as_choices(
            [
                *((str(year), _l("Pin to FY%(year)d", year=year)) for year in years),
                ("exclude", _l("Exclude from the plan")),
            ]
        )

    def fiscal_year(self) -> int | None:
        """Return the chosen fiscal year, or None for exclusion."""
        return None if self.target.data == "exclude" else int(self.target.data)


class UnpinForm(FlaskForm):
    """Give a pinned or excluded procedure back to the ranking."""

    submit = SubmitField(_l("Remove the pin"))


class SavePlanForm(FlaskForm):
    """Keep the current plan as a dated version."""

    label = StringField(
        _l("Name of this version"),
        validators=[Optional(), Length(max=200)],
        description=_l("For example: the draft for the committee of June."),
    )
    submit = SubmitField(_l("Save this plan as a version"))


NUMBER_MESSAGE = _l("Enter a whole number.")


class YearRowForm(Form):
    """One planning year and its capacity (a row of the policy form)."""

    fiscal_year = IntegerField(
        _l("Fiscal year"),
        validators=[
            Optional(),
            NumberRange(2000, 2100, _l("Enter a fiscal year between 2000 and 2100.")),
        ],
    )
    capacity = IntegerField(
        _l("Capacity"),
        validators=[
            Optional(),
            NumberRange(0, 1_000_000, _l("Enter a capacity of 0 or more procedures.")),
        ],
    )


class TierRowForm(Form):
    """One tier of the policy: its condition, in the order of the rows."""

    kind = SelectField(_l("Condition"), validators=[Optional()])
    min_volume = IntegerField(
        _l("N (applications a year)"),
        validators=[Optional(), NumberRange(0, 100_000_000, _l("Enter 0 or more."))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = as_choices([("", _l("(not used)")), *TIER_CONDITIONS.items()])


WEIGHT_VALIDATORS = [
    InputRequired(_l("Enter a number (0 ignores this factor).")),
    NumberRange(-10, 10, _l("Enter a weight between -10 and 10.")),
]


class BlockerWeightsForm(Form):
    """One weight per blocker; fields are added from the blocker vocabulary below."""


for _code, _label in BLOCKERS.items():
    setattr(BlockerWeightsForm, _code, FloatField(_label, validators=WEIGHT_VALIDATORS))


class LifeEventWeightsForm(Form):
    """One weight per life event (fields event_0 … in LIFE_EVENTS order)."""


for _index, _event in enumerate(LIFE_EVENTS):
    # Optional: a blank life-event weight means the event does not count (0).
    setattr(
        LifeEventWeightsForm,
        f"event_{_index}",
        FloatField(_event, validators=[Optional(), *WEIGHT_VALIDATORS[1:]]),
    )


class PolicyForm(FlaskForm):
    """The ranking policy: planning years, ordered tiers and weights; try it or save it."""

    years = FieldList(FormField(YearRowForm))
    tiers = FieldList(FormField(TierRowForm))
    volume_weight = FloatField(
        _l("Volume (points per tenfold applications)"), validators=WEIGHT_VALIDATORS
    )
    mynaportal_weight = FloatField(_l("On the My Number Portal list"), validators=WEIGHT_VALIDATORS)
    blockers = FormField(BlockerWeightsForm)
    life_events = FormField(LifeEventWeightsForm)
    try_plan = SubmitField(_l("Try it (nothing is saved)"))
    save = SubmitField(_l("Save as a new policy version and recompute"))

    @classmethod
    def data_from_policy(cls, policy: dict) -> dict:
        """Return form data for a policy, with one empty row to add a year and a tier."""
        tiers = []
        for tier in policy["tiers"]:
            condition = tier["condition"]
            if condition.get("mynaportal_eligible"):
                tiers.append({"kind": "mynaportal", "min_volume": None})
            elif "min_volume" in condition:
                tiers.append({"kind": "min_volume", "min_volume": condition["min_volume"]})
            else:
                tiers.append({"kind": "all", "min_volume": None})
        return {
            "years": [*policy["years"], {"fiscal_year": None, "capacity": None}],
            "tiers": [*tiers, {"kind": "", "min_volume": None}],
            "volume_weight": policy["weights"]["volume"],
            "mynaportal_weight": policy["weights"].get("mynaportal", 0.0),
            "blockers": policy["weights"]["blockers"],
            "life_events": {
                f"event_{index}": policy["weights"].get("life_events", {}).get(event, 0.0)
                for index, event in enumerate(LIFE_EVENTS)
            },
        }

    def validate(self, extra_validators=None) -> bool:
        """Validate each field, then the policy as a whole; every message says what to do."""
        valid = super().validate(extra_validators)
        self.policy_errors: list = []
        seen_years: set[int] = set()
        used_years = 0
        for row in self.years:
            year, capacity = row.form.fiscal_year, row.form.capacity
            if year.errors or capacity.errors:
                continue
            if year.data is None and capacity.data is None:
                continue
            if year.data is None or capacity.data is None:
                (year if year.data is None else capacity).errors.append(
                    _l("Enter both the fiscal year and its capacity, or leave both empty.")
                )
                valid = False
            elif year.data in seen_years:
                year.errors.append(
                    _l("FY%(year)d appears twice; give each year once.", year=year.data)
                )
                valid = False
            else:
                seen_years.add(year.data)
                used_years += 1
        if used_years == 0:
            self.policy_errors.append(_l("Enter at least one planning year with its capacity."))
            valid = False
        seen_tiers: set[tuple] = set()
        used_tiers = 0
        after_all = False
        for row in self.tiers:
            kind, volume = row.form.kind, row.form.min_volume
            if not kind.data:
                continue
            key = (kind.data, volume.data if kind.data == "min_volume" else None)
            if kind.data == "min_volume" and volume.data is None and not volume.errors:
                volume.errors.append(_l("Enter the annual volume this tier starts at."))
                valid = False
            elif after_all:
                kind.errors.append(
                    _l("No procedure reaches a tier after “Everything else”; move that tier last.")
                )
                valid = False
            elif key in seen_tiers:
                kind.errors.append(_l("This tier repeats an earlier one; remove it."))
                valid = False
            seen_tiers.add(key)
            after_all = after_all or kind.data == "all"
            used_tiers += 1
        if used_tiers == 0:
            self.policy_errors.append(
                _l("Give at least one tier; the last one is usually “Everything else”.")
            )
            valid = False
        return valid

    def policy(self) -> dict:
        """Return the submitted policy (call after validate)."""
        conditions = {
            "mynaportal": lambda row: {"mynaportal_eligible": True},
            "min_volume": lambda row: {"min_volume": row.min_volume.data},
            "all": lambda row: {},
        }
        return {
            "years": [
                {"fiscal_year": row.form.fiscal_year.data, "capacity": row.form.capacity.data}
                for row in self.years
                if row.form.fiscal_year.data is not None and row.form.capacity.data is not None
            ],
            "tiers": [
                {"condition": conditions[row.form.kind.data](row.form)}
                for row in self.tiers
                if row.form.kind.data
            ],
            "weights": {
                "volume": self.volume_weight.data,
                "mynaportal": self.mynaportal_weight.data,
                "blockers": {code: self.blockers[code].data for code in BLOCKERS},
                "life_events": {
                    event: self.life_events[f"event_{index}"].data or 0.0
                    for index, event in enumerate(LIFE_EVENTS)
                },
            },
        }


class VersionedActionForm(FlaskForm):
    """A button on one procedure; `version` guards against acting on a changed procedure."""

    version = HiddenField(validators=[DataRequired()])


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token."""


class PriorityItemForm(FlaskForm):
    """Add a procedure to the national priority list."""

    category = SelectField(_l("Category"))
    name = StringField(_l("Procedure name"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Add to the list"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from procedures.priority import CATEGORIES

        self.category.choices = as_choices(CATEGORIES.items())


class PriorityRenameForm(FlaskForm):
    """Rename a procedure of the national priority list."""

    name = StringField(_l("Procedure name"), validators=[DataRequired(), Length(max=500)])


class PriorityUploadForm(FlaskForm):
    """Load a new revision of the national priority list from CSV."""

    file = FileField(_l("CSV file (columns category,name)"), validators=[FileRequired()])
    revision = StringField(
        _l("Revision label"),
        validators=[DataRequired(), Length(max=200)],
        # No description: templates/_macros.html `field` rebinds `_` when a field has one.
    )
    submit = SubmitField(_l("Replace the active list"))
