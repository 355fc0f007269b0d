"""A person's decisions on cell values the vocabulary did not decide, and the values left.

A division writes `要相談` in a fee column or `R8以降` in an online-status column: the word
tables (value_words.json) cannot say what it means, and guessing would make the funnel wrong
without anyone knowing. Such a value is listed once per column (`Unrecognised`) for a person
to decide; a decision is kept as `{field: {value key: decision}}` and applied to every row
holding that value, in this file and in the division's next ones. The words as written are
kept on the procedure whether decided or not (`RAW_VALUES`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any
from unicodedata import normalize

from importers.schema import ANNUAL_VOLUME_MAX, Applicant, Blocker, Kind, OnlineStatus, Verdict
from importers.steps import KNOWN_STATUSES, STEP_KEYS, step_field
from importers.text import cell_text, squeeze

#: The decision that leaves a value unknown (its words are still kept).
UNKNOWN = "unknown"
#: A decision withdrawn by the person: the value is undecided again, even if it was decided
#: for the division's earlier upload (saving a mapping drops it from the saved decisions).
UNDECIDED = ""

#: The row column holding, as JSON {field: words as written}, the values not understood.
RAW_VALUES = "raw_values"

YES_NO_FIELDS = (
    "visit_required",
    "fee_required",
    "seal_required",
    "originals_required",
    "mynaportal_eligible",
)

#: Field -> the decisions a person may choose for it (besides UNKNOWN).
CHOICES: dict[str, tuple[str, ...]] = {
    **{name: ("yes", "no") for name in YES_NO_FIELDS},
    "online_status": tuple(OnlineStatus),
    "verdict": tuple(Verdict),
    "kind": tuple(Kind),
    "applicant": tuple(Applicant),
    "blockers": tuple(Blocker),
    "identity_check": ("1", "2", "3", "4", "5", "6"),
    # A payment method or a waiver the step's words do not decide (importers/steps.py).
    **{step_field(key): tuple(KNOWN_STATUSES) for key in STEP_KEYS},
}

#: Field -> the range of a number a person may type instead (the edit form's range).
NUMBERS: dict[str, tuple[int, int]] = {
    "annual_volume": (0, ANNUAL_VOLUME_MAX),
    "online_volume": (0, ANNUAL_VOLUME_MAX),
    "offline_volume": (0, ANNUAL_VOLUME_MAX),
    "volume_fiscal_year": (1926, 2200),
    "target_fiscal_year": (1926, 2200),
    "done_fiscal_year": (1926, 2200),
}

DECIDABLE = frozenset(CHOICES) | frozenset(NUMBERS)

#: Fields a procedure always holds an answer for: "unknown" is no decision for them, and a
#: value left undecided keeps the procedure's answer (no, for a new procedure).
ALWAYS_ANSWERED = frozenset({"mynaportal_eligible"})

#: How many row numbers a listed value names.
SHOWN_ROWS = 5

ValueMap = dict[str, dict[str, str]]


def value_key(value: Any) -> str:
    """Return the key a decision is kept under: the cell's text, NFKC, lower case, no spaces."""
    return squeeze(value if type(value) is str else cell_text(value))


def is_valid(field_name: str, decision: str) -> bool:
    """Return True when a decision is one the field accepts."""
    if decision == UNKNOWN:
        return field_name in DECIDABLE and field_name not in ALWAYS_ANSWERED
    if field_name in CHOICES:
        return decision in CHOICES[field_name]
    if field_name in NUMBERS and decision.isascii() and decision.isdigit():
        low, high = NUMBERS[field_name]
        return low <= int(decision) <= high
    return False


def typed(field_name: str, decision: str) -> Any:
    """Return the value a decision stores: True/False, a code, a number or None (unknown)."""
    if decision == UNKNOWN:
        return None
    if field_name in YES_NO_FIELDS:
        return decision == "yes"
    if field_name in NUMBERS or field_name == "identity_check":
        return int(decision)
    return decision


class ValueMapError(ValueError):
    """A value map names a field or a decision that does not exist; `problems` lists them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def checked_value_map(data: Any) -> ValueMap:
    """Return a value map read from JSON, keyed by value key; raise ValueMapError if invalid.

    The raw values may be written as the division wrote them (`対応可`, `ＲＥ７予定`): they are
    keyed as the importer compares them. A number decision may be a JSON number.
    """
    if not isinstance(data, dict):
        raise ValueMapError(['the map must be an object {"field": {"value": "decision"}}'])
    problems: list[str] = []
    result: ValueMap = {}
    for name, decisions in data.items():
        if name not in DECIDABLE:
            problems.append(f"{name!r} is not a field whose values can be decided")
            continue
        if not isinstance(decisions, dict):
            problems.append(f'{name!r}: expected an object {{"value": "decision"}}')
            continue
        for raw, decision in decisions.items():
            # NFKC: full-width digits and letters typed with the Japanese input method on.
            text = normalize("NFKC", str(decision)).strip().lower().replace(",", "")
            text = text if decision is not None else UNKNOWN
            if not is_valid(name, text):
                unknown = () if name in ALWAYS_ANSWERED else (UNKNOWN,)
                allowed = ", ".join((*CHOICES.get(name, ("a number",)), *unknown))
                problems.append(f"{name!r}: {decision!r} for {raw!r} is not one of {allowed}")
                continue
            result.setdefault(name, {})[value_key(raw)] = text
    if problems:
        raise ValueMapError(problems)
    return result


def merged(*maps: ValueMap | None) -> ValueMap:
    """Return the maps merged, later ones winning value by value (UNDECIDED too)."""
    result: ValueMap = {}
    for value_map in maps:
        for name, decisions in (value_map or {}).items():
            result.setdefault(name, {}).update(decisions)
    return result


def kept(value_map: ValueMap) -> ValueMap:
    """Return the map without its withdrawn (UNDECIDED) decisions: what is worth saving."""
    result: ValueMap = {}
    for name, decisions in value_map.items():
        chosen = {key: decision for key, decision in decisions.items() if decision != UNDECIDED}
        if chosen:
            result[name] = chosen
    return result


@dataclass(slots=True)
class Unrecognised:
    """One distinct value of one column that the vocabulary did not decide."""

    sheet: str
    column: str
    field: str
    value: str  # as first written in the column
    key: str  # value_key(value): what a decision is kept under
    count: int = 0
    rows: list[int] = dataclass_field(default_factory=list)  # the first SHOWN_ROWS row numbers
    decision: str | None = None  # the decision applied, if any
    earlier: bool = False  # the decision was saved from an earlier import of the division
    reason: str = ""  # the message code saying why it was not understood (importers.messages)
    reason_params: dict[str, Any] = dataclass_field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """Return the command line's report of this value."""
        return {
            "sheet": self.sheet,
            "column": self.column,
            "field": self.field,
            "value": self.value,
            "count": self.count,
            "rows": self.rows,
            "decision": self.decision,
            "decided_earlier": self.earlier,
            "reason": self.reason,
        }


class RawWords:
    """The words as written of the values not understood, row by row, for one sheet."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.by_position: dict[int, dict[str, str]] = {}

    def keep(self, position: int, field_name: str, text: str) -> None:
        """Keep one row's words for one field (several columns of a field are joined)."""
        row = self.by_position.setdefault(position, {})
        row[field_name] = f"{row[field_name]} / {text}" if field_name in row else text

    def column(self) -> list[str | None]:
        """Return each row's words as compact JSON, or None when it has none."""
        column: list[str | None] = [None] * self.count
        for position, words in self.by_position.items():
            column[position] = json.dumps(words, ensure_ascii=False, sort_keys=True)
        return column


def words_of(raw_values: str | None) -> dict[str, str]:
    """Return a procedure's kept words {field: text} from its raw_values column."""
    if not raw_values:
        return {}
    try:
        words = json.loads(raw_values)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in words.items()} if isinstance(words, dict) else {}
