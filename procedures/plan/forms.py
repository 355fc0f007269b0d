"""Forms of the plan: recompute, pins, saved versions and the policy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    FloatField,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from importers.schema import ANNUAL_VOLUME_MAX
from procedures.core.forms import as_choices
from procedures.vocabulary import (
    BLOCKERS,
    LIFE_EVENTS,
    TIER_CONDITIONS,
)


class RecomputeForm(FlaskForm):
    """Recompute the plan."""

    submit = SubmitField(_l("Recompute the plan"))


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

    def __init__(self, *args, years: Sequence[int] = (), **kwargs):
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


def _add_error(field: Field, message: Any) -> None:
    """Add a message to a field's errors, a list once the form has validated."""
    assert isinstance(field.errors, list)
    field.errors.append(message)


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
        validators=[Optional(), NumberRange(0, ANNUAL_VOLUME_MAX, _l("Enter 0 or more."))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = as_choices([("", _l("(not used)")), *TIER_CONDITIONS.items()])


def _finite(_form: Form, field: Field) -> None:
    """Refuse "nan", which NumberRange lets through (it compares false with every bound)."""
    if field.data is not None and not math.isfinite(field.data):
        raise ValidationError(_l("Enter a weight between -10 and 10."))


WEIGHT_VALIDATORS = [
    InputRequired(_l("Enter a number (0 ignores this factor).")),
    NumberRange(-10, 10, _l("Enter a weight between -10 and 10.")),
    _finite,
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
    moved_online = BooleanField(
        _l("Rank by the applications a conversion would move online"),
        description=_l(
            "The volume counts the applications a year not made online yet: as recorded, else "
            "all applications less those made online, else all of them."
        ),
    )
    one_step_weight = FloatField(
        _l("One step from complete online"),
        # Optional: blank gives no points, as a policy saved before this weight existed.
        validators=[Optional(), *WEIGHT_VALIDATORS[1:]],
        description=_l(
            "Points for a procedure whose every step but one is online or not applicable."
        ),
    )
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
            "moved_online": policy["weights"].get("volume_basis") == "moved_online",
            "one_step_weight": policy["weights"].get("one_step", 0.0),
        }

    def validate(self, extra_validators=None) -> bool:
        """Validate each field, then the policy as a whole; every message says what to do."""
        valid = super().validate(extra_validators)
        #: Refusals of the policy as a whole: (the field to fix it in, the message).
        self.policy_errors: list[tuple[str, Any]] = []
        seen_years: set[int] = set()
        used_years = 0
        for row in self.years:
            year, capacity = row.form.fiscal_year, row.form.capacity
            if year.errors or capacity.errors:
                continue
            if year.data is None and capacity.data is None:
                continue
            if year.data is None or capacity.data is None:
                _add_error(
                    year if year.data is None else capacity,
                    _l("Enter both the fiscal year and its capacity, or leave both empty."),
                )
                valid = False
            elif year.data in seen_years:
                _add_error(
                    year, _l("FY%(year)d appears twice; give each year once.", year=year.data)
                )
                valid = False
            else:
                seen_years.add(year.data)
                used_years += 1
        if used_years == 0:
            self.policy_errors.append(
                ("years-0-fiscal_year", _l("Enter at least one planning year with its capacity."))
            )
            valid = False
        seen_tiers: set[tuple] = set()
        used_tiers = 0
        after_all = False
        for tier_row in self.tiers:
            kind, volume = tier_row.form.kind, tier_row.form.min_volume
            if not kind.data:
                continue
            key = (kind.data, volume.data if kind.data == "min_volume" else None)
            if kind.data == "min_volume" and volume.data is None and not volume.errors:
                _add_error(volume, _l("Enter the annual volume this tier starts at."))
                valid = False
            elif after_all:
                _add_error(
                    kind,
                    _l("No procedure reaches a tier after “Everything else”; move that tier last."),
                )
                valid = False
            elif key in seen_tiers:
                _add_error(kind, _l("This tier repeats an earlier one; remove it."))
                valid = False
            seen_tiers.add(key)
            after_all = after_all or kind.data == "all"
            used_tiers += 1
        if used_tiers == 0:
            self.policy_errors.append(
                (
                    "tiers-0-kind",
                    _l("Give at least one tier; the last one is usually “Everything else”."),
                )
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
                "volume_basis": "moved_online" if self.moved_online.data else "annual",
                "one_step": self.one_step_weight.data or 0.0,
            },
        }
