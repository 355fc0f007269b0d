"""Bulk triage: one change applied to a selection or a whole filter result, audited per procedure.

A change reads the targets' current values as tuples in one query, computes the new values,
and writes them with one UPDATE and one INSERT of audit entries per batch; the version
counter moves on so that anyone editing one of them meanwhile is told, not overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, bindparam, insert, null, select, update
from sqlmodel import Session, col

from importers.schema import StepStatus
from importers.steps import STEP_KEYS
from procedures.catalogue.procedures import (
    ProcedureFilter,
    audit_text,
    blockers_from_column,
    blockers_to_column,
)
from procedures.core.params import parse_int
from procedures.models import AuditEvent, Department, Division, Procedure, Verdict, utcnow
from procedures.vocabulary import BLOCKERS

BATCH_SIZE = 1000
#: The kinds of bulk change and the procedure column each one writes.
BULK_FIELDS = {
    "verdict": "verdict",
    "blocker": "blockers",
    "target": "target_fiscal_year",
    "division": "division_id",
}


class BulkError(ValueError):
    """The bulk change cannot be made as asked; `code` names the reason for the message."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class BulkChange:
    """One change for many procedures, e.g. verdict → infeasible with a reason."""

    kind: str
    value: Any
    reason: str = ""

    @classmethod
    def parse(cls, text: str, reason: str = "") -> BulkChange:
        """Read a change written as "kind:value" (verdict:feasible, blocker:fee_payment …)."""
        kind, _, value = text.partition(":")
        reason = reason.strip()
        if kind == "verdict" and value in Verdict.__members__:
            if value == Verdict.infeasible and not reason:
                raise BulkError("reason_required")
            return cls(kind, value, reason)
        if kind == "blocker" and value in BLOCKERS:
            return cls(kind, value)
        if kind == "target" and value == "":
            return cls(kind, None)
        year = parse_int(value, minimum=2000, maximum=2100)
        if kind == "target" and year is not None:
            return cls(kind, year)
        if kind == "step":
            step, _, status = value.partition(":")
            if step in STEP_KEYS and status in StepStatus.__members__:
                return cls(kind, (step, status))
        division_id = parse_int(value)
        if kind == "division" and division_id is not None:
            return cls(kind, division_id)
        raise BulkError("unknown_change")

    def new_value(self, current: Any) -> Any:
        """Return the column's value after the change."""
        if self.kind == "blocker":
            return blockers_to_column([*blockers_from_column(current), self.value])
        return self.value


#: The field of the bulk form each refusal belongs to: the message is shown next to it.
BULK_ERROR_FIELDS = {
    "unknown_change": "change",
    "reason_required": "reason",
    "nothing_selected": "ids",
}


def bulk_problems(
    text: str, reason: str, *, selected_only: bool, ids: list[int]
) -> tuple[BulkChange | None, dict[str, str]]:
    """Read a bulk change and its selection; return the change and every refusal, by field.

    All refusals at once: a clerk who chose nothing and ticked nothing is told both.
    """
    problems: dict[str, str] = {}
    change = None
    try:
        change = BulkChange.parse(text, reason)
    except BulkError as error:
        problems[BULK_ERROR_FIELDS[error.code]] = error.code
    if selected_only and not ids:
        problems["ids"] = "nothing_selected"
    return change, problems


def target_query(
    *, filters: ProcedureFilter | None, ids: list[int], only_division: int | None
) -> Select[int | None]:
    """Select the targeted procedures' ids: the listed ones, or all that match the filter."""
    query = (
        select(col(Procedure.id))
        .join(Division, col(Division.id) == Procedure.division_id)
        .join(Department, col(Department.id) == Division.department_id)
    )
    query = (
        query.where(*filters.conditions())
        if filters is not None
        else query.where(col(Procedure.id).in_(ids))
    )
    if only_division is not None:
        query = query.where(col(Procedure.division_id) == only_division)
    return query


def _current_values(
    session: Session, change: BulkChange, targets: Select[int | None]
) -> list[Row[int | None, Any, str | None, int]]:
    column = getattr(Procedure, BULK_FIELDS[change.kind])
    reason = col(Procedure.verdict_reason) if change.kind == "verdict" else null()
    query = select(col(Procedure.id), column, reason, col(Procedure.version)).where(
        col(Procedure.id).in_(targets.scalar_subquery())
    )
    return list(session.execute(query))


def plan_bulk(session: Session, change: BulkChange, targets: Select[int | None]) -> list[tuple]:
    """Return (id, old, new, old reason, version read) for every procedure the change alters."""
    if change.kind == "step":
        # Imported here: the steps module builds on this one (BulkError, BATCH_SIZE).
        from procedures.catalogue.steps import plan_step_changes

        step, status = change.value
        return list(plan_step_changes(session, targets, step=step, status=status))
    if change.kind == "division" and session.get(Division, change.value) is None:
        raise BulkError("unknown_change")
    changes = []
    for ident, old, old_reason, version in _current_values(session, change, targets):
        new = change.new_value(old)
        if new != old:
            changes.append((ident, old, new, old_reason, version))
    return changes


def apply_bulk(
    session: Session, change: BulkChange, targets: Select[int | None], *, user_id: int | None
) -> int:
    """Apply the change to the targets; return how many procedures changed."""
    if change.kind == "step":
        from procedures.catalogue.steps import set_step_for

        step, status = change.value
        return set_step_for(session, targets, step=step, status=status, user_id=user_id)
    changes = plan_bulk(session, change, targets)
    column = BULK_FIELDS[change.kind]
    now = utcnow()
    table = Procedure.__table__
    values = {column: bindparam("new"), "version": table.c.version + 1, "updated_at": now}
    if change.kind == "verdict" and change.reason:
        values["verdict_reason"] = change.reason
    # Only the version that was read is updated: a procedure someone saved since then would
    # otherwise lose their change and be audited with a stale old value.
    statement = (
        update(table)
        .where(table.c.id == bindparam("ident"), table.c.version == bindparam("seen"))
        .values(values)
    )
    names = _division_names(session) if change.kind == "division" else {}
    connection = session.connection()
    for start in range(0, len(changes), BATCH_SIZE):
        chunk = changes[start : start + BATCH_SIZE]
        params = [{"ident": item[0], "new": item[2], "seen": item[4]} for item in chunk]
        if connection.execute(statement, params).rowcount != len(chunk):
            # Refused whole, never half-applied: the caller's rollback undoes earlier chunks.
            raise BulkError("changed_meanwhile")
        events = [
            _event(
                ident,
                "division" if change.kind == "division" else column,
                _audit_value(change, old, names),
                _audit_value(change, new, names),
            )
            for ident, old, new, _reason, _version in chunk
        ]
        if change.kind == "verdict" and change.reason:
            events += [
                _event(ident, "verdict_reason", old_reason, change.reason)
                for ident, _old, _new, old_reason, _version in chunk
                if old_reason != change.reason
            ]
        for event in events:
            event.update(user_id=user_id, at=now)
        connection.execute(insert(AuditEvent.__table__), events)
    return len(changes)


def _event(ident: int, field: str, old: str | None, new: str | None) -> dict[str, Any]:
    return {
        "procedure_id": ident,
        "action": "bulk",
        "field": field,
        "old_value": old,
        "new_value": new,
    }


def _division_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(col(Division.id), col(Division.name))).all())


def _audit_value(change: BulkChange, value: Any, names: dict[int, str]) -> str | None:
    if change.kind == "blocker":
        return audit_text(blockers_from_column(value))
    if change.kind == "division":
        return names.get(value)
    return audit_text(value)
