"""The steps of a procedure, and where an inventory says each step is done.

A procedure is applied for in steps (registration, identification, application, attachments,
payment, decision, issuance, feedback); each is online, offline, not applicable or unknown.
The list of steps and the words and codes read here are data (``steps.json``): a city may add
or rename steps without touching code or the database.

A procedure keeps its steps as one JSON object, in the order of the list, naming only the
steps whose status is known (``{"application":"online","payment":"offline"}``): a step it does
not name is unknown. An import sets the steps its file tells and leaves the others as they
are; a step the file cannot tell never erases what a person confirmed.

The rules for the Japanese national columns (docs/DOMAIN.md):

- application: オンライン化の実施状況 (1 実施済 and 5 一部実施済 online, 2 未実施 offline,
  3 適用除外 not applicable, 4 その他 unknown);
- identification: a procedure whose application is online identifies online; otherwise
  本人確認手法 describes the paper route: 6 本人確認不要 is not applicable, 1–3 (seal or
  signature) offline, 4–5 unknown; a local sheet's seal column, when it says a seal is needed,
  offline;
- payment: no fee is not applicable; among the payment methods any 2-x (or an online word) is
  online, only 1-x (or offline words) offline;
- attachments: 添付書類なし, or every attachment waived (撤廃・省略済), is not applicable;
  提出方法 0–1 (electronic allowed) online and 2–3 (paper) offline; a local sheet's
  originals column, when it says an original is needed, offline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any

from importers.schema import StepStatus
from importers.text import CACHE_SIZE, nfkc, split_code, split_values, squeeze

STEPS_FILE = Path(__file__).with_name("steps.json")

#: The procedure column (and parsed row field) holding the steps as stored.
STEPS_FIELD = "steps"
#: The field name under which a value read for a step is listed for a person's decision.
STEP_FIELD_PREFIX = "step:"

Issue = tuple[str, dict[str, Any]] | None


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a procedure, with its label in each language."""

    key: str
    ja: str
    en: str

    def label(self, language: str) -> str:
        """Return the step's label in a language ("ja" or "en")."""
        return self.ja if language == "ja" else self.en


def load_steps(path: Path = STEPS_FILE) -> dict[str, Any]:
    """Load the step list and its words; refuse a list that repeats a key or misses a status."""
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    keys = [item["key"] for item in data["steps"]]
    if len(set(keys)) != len(keys) or not all(key.isidentifier() for key in keys):
        raise ValueError(f"{path.name}: step keys must be unique identifiers: {keys}")
    if "application" not in keys:  # complete online is defined by the application step
        raise ValueError(f"{path.name}: the list must keep the step 'application'")
    if set(data["statuses"]) != set(StepStatus):
        raise ValueError(f"{path.name}: the statuses must be exactly {sorted(StepStatus)}")
    for table in ("step_columns",):
        unknown = set(data[table].values()) - set(keys)
        if unknown:
            raise ValueError(f"{path.name}: {table} names steps not in the list: {unknown}")
    return data


_DATA = load_steps()
#: The steps, in the order an applicant meets them.
STEPS: tuple[Step, ...] = tuple(Step(i["key"], i["ja"], i["en"]) for i in _DATA["steps"])
STEP_KEYS: tuple[str, ...] = tuple(step.key for step in STEPS)
#: Status -> {"ja": label, "en": label}.
STATUS_LABELS: dict[str, dict[str, str]] = _DATA["statuses"]
#: The statuses a person may choose for a step (unknown is choosing nothing).
KNOWN_STATUSES: tuple[str, ...] = tuple(s.value for s in StepStatus if s != StepStatus.unknown)
_ORDER = {key: position for position, key in enumerate(STEP_KEYS)}


def step_field(key: str) -> str:
    """Return the field name of a step, as the audit log and a value decision name it."""
    return f"{STEP_FIELD_PREFIX}{key}"


# ------------------------------------------------------------------------------------------
# a procedure's steps as stored: {"step": "status"}, known statuses only, in the list's order
# ------------------------------------------------------------------------------------------


def decode(text: str | None) -> dict[str, str]:
    """Return the known statuses of a stored steps column: {step: status}."""
    return dict(_decoded(text)) if text else {}


@lru_cache(maxsize=CACHE_SIZE)
def _decoded(text: str) -> tuple[tuple[str, str], ...]:
    try:
        found = json.loads(text)
    except ValueError:
        return ()
    if not isinstance(found, dict):
        return ()
    return tuple((str(key), str(value)) for key, value in found.items() if value in KNOWN_STATUSES)


def encode(statuses: Mapping[str, str | None]) -> str | None:
    """Return the stored form of statuses: known ones only, the list's steps first, or None."""
    known = [(key, str(value)) for key, value in statuses.items() if value in KNOWN_STATUSES]
    if not known:
        return None
    known.sort(key=lambda item: (_ORDER.get(item[0], len(_ORDER)), item[0]))
    return json.dumps(dict(known), ensure_ascii=False, separators=(",", ":"))


def status_of(statuses: Mapping[str, str], key: str) -> str:
    """Return one step's status, unknown when the procedure names none."""
    return statuses.get(key, StepStatus.unknown.value)


def merged(stored: str | None, read: str | None) -> str | None:
    """Return the stored steps with the statuses an import read put over them."""
    if not read:
        return stored
    if not stored:
        return read
    return encode({**decode(stored), **decode(read)})


def differences(old: str | None, new: str | None) -> list[tuple[str, str, str]]:
    """Return (step, old status, new status) for each step whose status differs, list order."""
    before, after = decode(old), decode(new)
    keys = sorted(set(before) | set(after), key=lambda k: (_ORDER.get(k, len(_ORDER)), k))
    return [
        (key, status_of(before, key), status_of(after, key))
        for key in keys
        if status_of(before, key) != status_of(after, key)
    ]


# ------------------------------------------------------------------------------------------
# reading an inventory's columns
# ------------------------------------------------------------------------------------------

_STEP_COLUMNS = {squeeze(header): key for header, key in _DATA["step_columns"].items()}
_STEP_COLUMN_VALUES: dict[str, str] = _DATA["step_column_values"]
_APPLICATION: dict[str, str] = _DATA["application_by_online_status"]
_IDENTIFICATION = {int(c): s for c, s in _DATA["identification_by_identity_check"].items()}
_PAYMENT_CODES: dict[str, str] = _DATA["payment_codes"]
_PAYMENT_ONLINE = tuple(squeeze(word) for word in _DATA["payment_words"]["online"])
_PAYMENT_OFFLINE = tuple(squeeze(word) for word in _DATA["payment_words"]["offline"])
_NONE_WORDS = frozenset(squeeze(word) for word in _DATA["attachments_none"])
_WAIVED_HEADERS = frozenset(squeeze(header) for header in _DATA["waived_headers"])
_WAIVED_CODES: dict[str, bool] = _DATA["waived_codes"]
_WAIVED_LABELS = {squeeze(label): value for label, value in _DATA["waived_labels"].items()}
_SUBMISSION_HEADERS = frozenset(squeeze(header) for header in _DATA["submission_headers"])
PAYMENT_CHOICES: str = _DATA["payment_code_choices"]
WAIVED_CHOICES: str = _DATA["waived_choices"]
_ONLINE = StepStatus.online.value
_OFFLINE = StepStatus.offline.value
_NOT_APPLICABLE = StepStatus.not_applicable.value


def step_of_column(header: str) -> str | None:
    """Return the step whose status a column holds (e_application …), or None."""
    return _STEP_COLUMNS.get(squeeze(header))


def is_waived_column(header: str) -> bool:
    """Whether a column says which attachments were waived (撤廃/省略状況)."""
    return squeeze(header) in _WAIVED_HEADERS


def is_submission_column(header: str) -> bool:
    """Whether a column says how attachments are sent (提出方法: electronic or paper)."""
    return squeeze(header) in _SUBMISSION_HEADERS


def step_column_status(online_status: str | None) -> str | None:
    """Return a step's status from its own column, read as an online status (Y, N, NA …)."""
    return _STEP_COLUMN_VALUES.get(online_status) if online_status else None


@lru_cache(maxsize=CACHE_SIZE)
def _payment_text(text: str) -> tuple[str | None, Issue]:
    found: set[str] = set()
    unreadable: list[str] = []
    for item in split_values(text):
        code, label = split_code(item)
        if code is not None and "-" in code:
            status = _PAYMENT_CODES.get(code.split("-", 1)[0])
            if status is None:
                unreadable.append(item)
            else:
                found.add(status)
            continue
        key = squeeze(label)
        if any(word in key for word in _PAYMENT_ONLINE):
            found.add(_ONLINE)
        elif any(word in key for word in _PAYMENT_OFFLINE):
            found.add(_OFFLINE)
    if unreadable:
        return None, ("value_unknown", {"choices": PAYMENT_CHOICES})
    if _ONLINE in found:
        return _ONLINE, None
    return (_OFFLINE if found else None), None


def payment_methods(value: Any) -> tuple[str | None, Issue]:
    """Read payment methods: any online method (2-x, クレジットカード …) online, else offline.

    A text naming no method (an amount, a note) tells nothing; a national code outside the
    list is a question for a person.
    """
    if type(value) is not str or not value.strip():
        return None, None
    return _payment_text(value)


@lru_cache(maxsize=CACHE_SIZE)
def says_none(text: str) -> bool:
    """Whether an attachments cell says there are none (添付書類なし, なし, 不要)."""
    items = split_values(text)
    return bool(items) and all(squeeze(split_code(item)[1]) in _NONE_WORDS for item in items)


@lru_cache(maxsize=CACHE_SIZE)
def _waived_text(text: str) -> tuple[str | None, Issue]:
    answers = []
    for item in split_values(text):
        code, label = split_code(item)
        answer = _WAIVED_LABELS.get(squeeze(label)) if label else None
        if answer is None and code is not None:
            answer = _WAIVED_CODES.get(code)
        if answer is None:
            return None, ("value_unknown", {"choices": WAIVED_CHOICES})
        answers.append(answer)
    return (_NOT_APPLICABLE if answers and all(answers) else None), None


def waived(value: Any) -> tuple[str | None, Issue]:
    """Read 撤廃/省略状況: attachments not applicable when every one was waived (1 only).

    Any other answer (some kept, planned, not possible) leaves the attachments to the other
    columns.
    """
    if value is None or (type(value) is str and not value.strip()):
        return None, None
    return _waived_text(value if type(value) is str else nfkc(str(value)))


# ------------------------------------------------------------------------------------------
# the rules: what the fields of one row say about its steps
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Facts:
    """What one row says that bears on its steps; None is "the row does not say"."""

    online_status: str | None = None
    identity_check: int | None = None
    seal_required: bool | None = None
    fee_required: bool | None = None
    payment: str | None = None  # payment_methods' status
    attachments_none: bool = False
    originals_required: bool | None = None
    #: The originals answer came from 提出方法 (False: electronic allowed), not 原本の要否.
    originals_from_submission: bool = False
    #: The attachments' status read from 撤廃/省略状況 (not applicable when all were waived).
    waived: str | None = None
    #: Steps read from their own columns: ((step, status or None), ...).
    columns: tuple[tuple[str, str | None], ...] = ()


def derive(facts: Facts) -> dict[str, str]:
    """Return the statuses the facts tell, known ones only (see the module's rules)."""
    found: dict[str, str] = {}
    # A step with a column of its own is read from it alone, even where the cell is blank.
    own = {key for key, _status in facts.columns}
    for key, status in facts.columns:
        if status is not None:
            found[key] = status
    if "application" not in own and facts.online_status in _APPLICATION:
        found["application"] = _APPLICATION[facts.online_status]
    if "identification" not in own:
        identification = _identification(found.get("application"), facts)
        if identification is not None:
            found["identification"] = identification
    if "payment" not in own:
        if facts.fee_required is False:
            found["payment"] = _NOT_APPLICABLE
        elif facts.payment is not None:
            found["payment"] = facts.payment
    if "attachments" not in own:
        attachments = _attachments(facts)
        if attachments is not None:
            found["attachments"] = attachments
    return found


def _identification(application: str | None, facts: Facts) -> str | None:
    if application == _ONLINE:
        return _ONLINE
    if facts.identity_check is not None:
        return _IDENTIFICATION.get(facts.identity_check)
    return _OFFLINE if facts.seal_required else None


def _attachments(facts: Facts) -> str | None:
    if facts.attachments_none:
        return _NOT_APPLICABLE
    if facts.waived is not None:
        return facts.waived
    if facts.originals_required is None:
        return None
    if facts.originals_required:
        return _OFFLINE
    # Copies allowed (原本の要否: 不要) does not say they can be sent online; 提出方法 does.
    return _ONLINE if facts.originals_from_submission else None


def derived_text(facts: Facts) -> str | None:
    """Return the stored form of what the facts tell."""
    return encode(derive(facts))


def from_values(values: Mapping[str, Any]) -> str | None:
    """Return the stored steps a row's normalised fields tell (a row made without a sheet).

    The same rules as a sheet's columns; without a sheet there are no step columns, no
    撤廃/省略状況, and an originals answer is read as 原本の要否.
    """
    payment = values.get("fee_payment")
    attachments = values.get("attachments")
    facts = Facts(
        online_status=values.get("online_status"),
        identity_check=values.get("identity_check"),
        seal_required=values.get("seal_required"),
        fee_required=values.get("fee_required"),
        payment=payment_methods(payment)[0] if payment else None,
        attachments_none=bool(attachments) and says_none(attachments),
        originals_required=values.get("originals_required"),
    )
    return derived_text(facts)


class _Memo(dict[tuple[Any, ...], Any]):
    """Each distinct combination of a row's facts is derived once."""

    def __init__(self, step_keys: tuple[str, ...], from_submission: bool, nothing: Any) -> None:
        super().__init__()
        self.step_keys = step_keys
        self.from_submission = from_submission
        self.nothing = nothing

    def __missing__(self, key: tuple[Any, ...]) -> str | None:
        status, identity, seal, fee, payment, none, originals, waived_status, *columns = key
        facts = Facts(
            status,
            identity,
            seal,
            fee,
            payment,
            bool(none),
            originals,
            self.from_submission,
            waived_status,
            tuple(zip(self.step_keys, map(step_column_status, columns), strict=True)),
        )
        text = derived_text(facts)
        found = self.nothing if text is None else text
        self[key] = found
        return found


#: The fields of a row the rules read, in the order of a memo key.
FACT_FIELDS = (
    "online_status",
    "identity_check",
    "seal_required",
    "fee_required",
    "payment",
    "attachments_none",
    "originals_required",
    "waived",
)


def steps_column(
    count: int,
    facts: Mapping[str, list[Any]],
    step_columns: Mapping[str, list[Any]],
    *,
    from_submission: bool = False,
    nothing: Any = None,
) -> list[Any] | None:
    """Return each row's stored steps from the sheet's columns, or None when none tells any.

    A row that tells no step holds `nothing`.

    `facts` holds the columns named in FACT_FIELDS that the sheet has (payment as
    payment_methods' statuses, attachments_none as says_none's answers, waived as waived's);
    `step_columns` maps a step to its own column's online statuses.
    """
    if not step_columns and not any(name in facts for name in FACT_FIELDS):
        return None
    keys = tuple(step_columns)
    inputs: list[Iterable[Any]] = [facts.get(name, repeat(None, count)) for name in FACT_FIELDS]
    inputs += [step_columns[key] for key in keys]
    memo = _Memo(keys, from_submission, nothing)
    return list(map(memo.__getitem__, zip(*inputs, strict=False)))
