"""The steps of a procedure: where each is done, whether the procedure is complete online, and
the one step that stands between it and complete.

A procedure is **complete online** when its application step is online and every other step
of the list (importers/steps.json) is online or not applicable. A procedure with no step known
to be offline but some step unknown is **not yet confirmed**: it is counted neither as complete
nor as offline. It is **one step from complete** when exactly one step is offline, none is
unknown, and the application is online or is that step itself: putting that step online would
complete it.

Steps are stored as canonical JSON (importers.steps.encode), so each rule is also an SQL
condition on the text: the filters below need no JSON function of either database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    and_,
    bindparam,
    false,
    insert,
    not_,
    or_,
    select,
    update,
)
from sqlmodel import Session, col

from importers.schema import Completeness, StepStatus
from importers.steps import (
    KNOWN_STATUSES,
    STEP_KEYS,
    STEPS,
    Step,
    decode,
    differences,
    encode,
    status_of,
    step_field,
)
from procedures.catalogue.procedures import EditConflict, _latest_changes
from procedures.catalogue.triage import BATCH_SIZE, BulkError
from procedures.models import AuditEvent, Department, Division, Lifecycle, Procedure, utcnow

ONLINE, OFFLINE = StepStatus.online.value, StepStatus.offline.value
NOT_APPLICABLE, UNKNOWN = StepStatus.not_applicable.value, StepStatus.unknown.value
APPLICATION = "application"


def completeness(statuses: Mapping[str, str], keys: tuple[str, ...] = STEP_KEYS) -> Completeness:
    """Return whether a procedure's steps make it complete online (see the module)."""
    found = [status_of(statuses, key) for key in keys]
    if OFFLINE in found or status_of(statuses, APPLICATION) == NOT_APPLICABLE:
        return Completeness.not_complete
    if UNKNOWN in found:
        return Completeness.not_confirmed
    return Completeness.complete


def missing_step(statuses: Mapping[str, str], keys: tuple[str, ...] = STEP_KEYS) -> str | None:
    """Return the one offline step whose going online would complete the procedure, or None."""
    found = {key: status_of(statuses, key) for key in keys}
    offline = [key for key, status in found.items() if status == OFFLINE]
    if len(offline) != 1 or UNKNOWN in found.values():
        return None
    step = offline[0]
    return step if step == APPLICATION or found.get(APPLICATION) == ONLINE else None


# ------------------------------------------------------------------------------------------
# the same rules as SQL conditions on the stored text
# ------------------------------------------------------------------------------------------


def _has(key: str, status: str) -> ColumnElement[bool]:
    """Whether the stored steps name this status for this step (the text is canonical JSON)."""
    return col(Procedure.steps).contains(f'"{key}":"{status}"', autoescape=True)


def _settled(key: str) -> ColumnElement[bool]:
    return or_(_has(key, ONLINE), _has(key, NOT_APPLICABLE))


def complete_condition() -> ColumnElement[bool]:
    """Select the procedures complete online."""
    others = [_settled(key) for key in STEP_KEYS if key != APPLICATION]
    return and_(_has(APPLICATION, ONLINE), *others)


def one_step_condition(step: str | None = None) -> ColumnElement[bool]:
    """Select the procedures one step from complete: that step offline (any step if None)."""
    if step is None:
        return or_(*(one_step_condition(key) for key in STEP_KEYS))
    if step not in STEP_KEYS:
        return false()
    others = [
        _has(key, ONLINE) if key == APPLICATION else _settled(key)
        for key in STEP_KEYS
        if key != step
    ]
    return and_(_has(step, OFFLINE), *others)


def unconfirmed_condition(step: str) -> ColumnElement[bool]:
    """Select the procedures whose given step nobody has confirmed (its status is unknown)."""
    if step not in STEP_KEYS:
        return false()
    named = or_(*(_has(step, status) for status in KNOWN_STATUSES))
    # No steps stored at all is every step unknown; NOT on a NULL text would drop them.
    return or_(col(Procedure.steps).is_(None), not_(named))


#: What a listing of procedures one step from complete shows of each.
@dataclass(frozen=True)
class StepCandidate:
    """A procedure one step from complete, with what putting that step online would move."""

    id: int
    name: str
    division: str
    department: str
    annual_volume: int | None
    missing: str


def one_step_from_complete(
    session: Session, step: str | None = None, *, limit: int | None = None
) -> list[StepCandidate]:
    """List the procedures (not retired) one step from complete, the most applications first."""
    query = (
        select(
            col(Procedure.id),
            col(Procedure.name),
            col(Division.name),
            col(Department.name),
            col(Procedure.annual_volume),
            col(Procedure.steps),
        )
        .join(Division, col(Division.id) == col(Procedure.division_id))
        .join(Department, col(Department.id) == col(Division.department_id))
        .where(col(Procedure.lifecycle) != Lifecycle.retired, one_step_condition(step))
        .order_by(col(Procedure.annual_volume).desc().nulls_last(), col(Procedure.id))
        .limit(limit)
    )
    found = []
    for ident, name, division, department, volume, steps in session.execute(query):
        missing = missing_step(decode(steps))
        assert missing is not None  # the condition is the rule
        found.append(StepCandidate(ident, name, division, department, volume, missing))
    return found


# ------------------------------------------------------------------------------------------
# one procedure: its row of steps, and a person's change of them
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepRow:
    """A procedure's steps as its page shows them."""

    steps: list[tuple[Step, str]]
    completeness: Completeness
    missing: str | None

    @property
    def offline(self) -> list[Step]:
        """Return the steps known to be offline."""
        return [step for step, status in self.steps if status == OFFLINE]

    @property
    def unknown(self) -> list[Step]:
        """Return the steps not yet known."""
        return [step for step, status in self.steps if status == UNKNOWN]


def step_row(stored: str | None) -> StepRow:
    """Return a procedure's steps, in the list's order, and where it stands."""
    statuses = decode(stored)
    return StepRow(
        [(step, status_of(statuses, step.key)) for step in STEPS],
        completeness(statuses),
        missing_step(statuses),
    )


class UnknownStep(ValueError):
    """A change names a step not in the list or a status that does not exist."""


def set_steps(
    session: Session,
    *,
    procedure_id: int,
    statuses: Mapping[str, str | None],
    expected_version: int,
    user_id: int | None,
) -> list[str]:
    """Set steps of a procedure (None or "unknown" unsets one); audit each step that moves.

    Returns the keys of the steps that changed. Raises EditConflict when the procedure was
    saved since expected_version, and UnknownStep for a step or status that does not exist.
    """
    for key, status in statuses.items():
        if key not in STEP_KEYS or status not in (*KNOWN_STATUSES, UNKNOWN, None):
            raise UnknownStep(f"{key}: {status}")
    procedure = session.get(Procedure, procedure_id)
    if procedure is None:
        raise LookupError(procedure_id)
    new = encode({**decode(procedure.steps), **{k: v or UNKNOWN for k, v in statuses.items()}})
    moved = differences(procedure.steps, new)
    if not moved:
        if procedure.version != expected_version:
            raise EditConflict(procedure, _latest_changes(session, procedure_id))
        return []
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Procedure)
            .where(col(Procedure.id) == procedure_id, col(Procedure.version) == expected_version)
            .values(steps=new, version=Procedure.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        session.refresh(procedure)
        raise EditConflict(procedure, _latest_changes(session, procedure_id))
    now = utcnow()
    session.add_all(
        AuditEvent(
            procedure_id=procedure_id,
            user_id=user_id,
            action="edit",
            field=step_field(key),
            old_value=None if old == UNKNOWN else old,
            new_value=None if status == UNKNOWN else status,
            at=now,
        )
        for key, old, status in moved
    )
    session.flush()
    session.refresh(procedure)
    return [key for key, _old, _new in moved]


def plan_step_changes(
    session: Session, targets: Select[Any], *, step: str, status: str | None
) -> list[tuple[int, str | None, str | None, int]]:
    """Return (id, steps, new steps, version read) of every targeted procedure the change moves."""
    if step not in STEP_KEYS or status not in (*KNOWN_STATUSES, UNKNOWN, None):
        raise UnknownStep(f"{step}: {status}")
    query = select(col(Procedure.id), col(Procedure.steps), col(Procedure.version)).where(
        col(Procedure.id).in_(targets.scalar_subquery())
    )
    after: dict[str | None, str | None] = {}
    changes = []
    for ident, stored, version in session.execute(query):
        if stored not in after:
            after[stored] = encode({**decode(stored), step: status or UNKNOWN})
        if after[stored] != stored:
            changes.append((ident, stored, after[stored], version))
    return changes


def set_step_for(
    session: Session,
    targets: Select[Any],
    *,
    step: str,
    status: str | None,
    user_id: int | None,
) -> int:
    """Set one step of every targeted procedure (a bulk change); return how many changed.

    `targets` selects procedure ids (procedures.catalogue.triage.target_query). Written with
    one UPDATE per batch, only where the version read is still there: a procedure someone saved
    meanwhile refuses the whole change (BulkError "changed_meanwhile"), as a bulk triage does.
    """
    changes = plan_step_changes(session, targets, step=step, status=status)
    table, now = Procedure.__table__, utcnow()
    statement = (
        update(table)
        .where(table.c.id == bindparam("ident"), table.c.version == bindparam("seen"))
        .values(steps=bindparam("new"), version=table.c.version + 1, updated_at=now)
    )
    connection = session.connection()
    for start in range(0, len(changes), BATCH_SIZE):
        chunk = changes[start : start + BATCH_SIZE]
        params = [{"ident": i, "new": new, "seen": v} for i, _old, new, v in chunk]
        if connection.execute(statement, params).rowcount != len(chunk):
            raise BulkError("changed_meanwhile")
        connection.execute(
            insert(AuditEvent.__table__),
            [
                {
                    "procedure_id": ident,
                    "user_id": user_id,
                    "action": "bulk",
                    "field": step_field(step),
                    "old_value": decode(old).get(step),
                    "new_value": decode(new).get(step),
                    "at": now,
                }
                for ident, old, new, _version in chunk
            ],
        )
    return len(changes)
