"""Reverting a committed import: what it changed goes back, what it created goes, in one go.

An import keeps what reverting it needs in ImportBatch.undo (apply.undo_record): for each
procedure it updated, the values it held before in the fields the import changed, and for
each one it marked missing, its missing_batch_id; for both, the version the import left. The
procedures it created carry the batch in created_batch_id.

A revert never overwrites a later change: when a procedure the import touched has been saved
since (its version moved on), or one it created has been edited, pinned, matched to the
national list by a person or kept in a saved plan, the revert is refused as a whole and names
them. The divisions and departments an import created are left: other imports, users and
surveys may name them by then, and an empty division changes no figure.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, or_, select, update
from sqlmodel import Session, col

from importers import steps as step_rules
from procedures.catalogue.procedures import audit_text, blockers_from_column
from procedures.imports.apply import BATCH_SIZE, UNDO_FORMAT, _audit
from procedures.imports.preview import step_audit
from procedures.models import (
    AuditEvent,
    ImportBatch,
    Lifecycle,
    MatchStatus,
    NationalLink,
    PlanEntry,
    PlanPin,
    PriorityMatch,
    Procedure,
    SavedPlanEntry,
    utcnow,
)

#: Why a revert is refused; the view and the command line word each one.
NOT_COMMITTED = "not_committed"
ALREADY_REVERTED = "already_reverted"
NO_RECORD = "no_record"
CHANGED_SINCE = "changed_since"

_REASONS = {
    NOT_COMMITTED: "only a committed import can be reverted",
    ALREADY_REVERTED: "this import was already reverted",
    NO_RECORD: "this import was made before reverts were recorded",
    CHANGED_SINCE: "procedures were changed after this import",
}

#: Columns the undo record restores without an audit line of their own (the import wrote
#: none for them either: name_key follows name, missing_batch_id follows lifecycle).
_UNAUDITED = frozenset({"name_key", "missing_batch_id"})


class RevertRefused(Exception):
    """The import cannot be reverted; `procedures` lists (id, name) of those changed since."""

    def __init__(self, reason: str, procedures: Iterable[tuple[int, str]] = ()) -> None:
        self.reason = reason
        self.procedures = sorted(procedures)
        super().__init__(reason)

    def __str__(self) -> str:
        text = _REASONS[self.reason]
        if self.procedures:
            text += ": " + ", ".join(f"{name} (#{ident})" for ident, name in self.procedures[:10])
        if len(self.procedures) > 10:
            text += f" and {len(self.procedures) - 10} more"
        return f"{text}; nothing was changed"


@dataclass
class RevertOutcome:
    """What a revert did, counted in procedures."""

    batch_id: int
    restored: int = 0  # updated by the import: their fields went back
    reactivated: int = 0  # marked missing by the import: active again
    deleted: int = 0  # created by the import: deleted


def revert_import(session: Session, *, batch_id: int, user_id: int | None) -> RevertOutcome:
    """Undo a committed import in the caller's transaction (the caller commits or rolls back).

    Raises LookupError for an unknown batch and RevertRefused when it cannot be reverted;
    after a refusal raised midway the caller must roll back (nothing is left half-done then).
    """
    # Locked (on PostgreSQL): a second revert of the same batch waits, then finds it reverted.
    batch = session.get(ImportBatch, batch_id, with_for_update=True, populate_existing=True)
    if batch is None:
        raise LookupError(batch_id)
    undo = _undo_of(batch)
    connection = session.connection()
    current = _current_rows(connection, undo)
    created = _lock_created(connection, batch_id)
    touched = _touched_since(undo, current) + _created_touched(connection, batch_id)
    if touched:
        raise RevertRefused(CHANGED_SINCE, touched)
    now = utcnow()
    outcome = RevertOutcome(batch_id=batch_id, deleted=created)
    outcome.restored = _restore_updates(connection, undo["updated"], now)
    outcome.reactivated = _restore_missing(connection, undo["missing"], now)
    events = [*_update_events(undo["updated"], current), *_missing_events(undo["missing"])]
    _audit(connection, events, batch_id=batch_id, user_id=user_id, now=now)
    _delete_created(connection, batch_id)
    batch.status, batch.reverted_at, batch.reverted_by = "reverted", now, user_id
    session.add(batch)
    session.flush()
    return outcome


def _undo_of(batch: ImportBatch) -> dict[str, Any]:
    """Return the batch's undo record, or refuse when the batch cannot be reverted."""
    if batch.status == "reverted":
        raise RevertRefused(ALREADY_REVERTED)
    if batch.status != "committed":
        raise RevertRefused(NOT_COMMITTED)
    undo = json.loads(batch.undo) if batch.undo else None
    if not isinstance(undo, dict) or undo.get("format") != UNDO_FORMAT:
        raise RevertRefused(NO_RECORD)
    return undo


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), BATCH_SIZE):
        yield items[start : start + BATCH_SIZE]


def _current_rows(connection: Connection, undo: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Read, and lock until the transaction ends, what the import's procedures hold now.

    Only the columns the revert writes back are read. Locked (on PostgreSQL) so that nobody
    saves one of them between this check and the write.
    """
    table = Procedure.__table__
    restored = {name for item in undo["updated"] for name in item["before"]}
    columns = [table.c[name] for name in sorted(restored - {"name"})]
    ids = [item["id"] for item in (*undo["updated"], *undo["missing"])]
    rows: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        query = (
            select(table.c.id, table.c.name, table.c.version, *columns)
            .where(table.c.id.in_(chunk))
            .with_for_update()
        )
        rows.update((row.id, dict(row._mapping)) for row in connection.execute(query))
    return rows


def _lock_created(connection: Connection, batch_id: int) -> int:
    """Lock the procedures the import created until the transaction ends; return how many."""
    table = Procedure.__table__
    query = select(table.c.id).where(table.c.created_batch_id == batch_id).with_for_update()
    return len(connection.execute(query).all())


def _touched_since(
    undo: dict[str, Any], current: dict[int, dict[str, Any]]
) -> list[tuple[int, str]]:
    """Return (id, name) of the procedures the import updated or flagged saved since."""
    touched = []
    for item in (*undo["updated"], *undo["missing"]):
        row = current.get(item["id"])
        if row is None:  # gone: deleted by the revert of an earlier import
            touched.append((item["id"], f"#{item['id']}"))
        elif row["version"] != item["version"]:
            touched.append((item["id"], row["name"]))
    return touched


def _created_touched(connection: Connection, batch_id: int) -> list[tuple[int, str]]:
    """Return (id, name) of the procedures the import created that a person has used since.

    Edited (its version moved on), pinned in the plan, matched to the national list by a
    person, linked to a national 手続ID (or a suggestion rejected), or kept in a saved plan:
    deleting it would lose that work.
    """
    table = Procedure.__table__
    decided = (MatchStatus.confirmed.value, MatchStatus.rejected.value)
    pins = select(col(PlanPin.procedure_id))
    matches = select(col(PriorityMatch.procedure_id)).where(col(PriorityMatch.status).in_(decided))
    saved = select(col(SavedPlanEntry.procedure_id))
    links = select(col(NationalLink.procedure_id))
    query = (
        select(table.c.id, table.c.name)
        .where(
            table.c.created_batch_id == batch_id,
            or_(
                table.c.version != 1,
                table.c.id.in_(pins),
                table.c.id.in_(matches),
                table.c.id.in_(saved),
                table.c.id.in_(links),
            ),
        )
        .order_by(table.c.id)
    )
    return [(row.id, row.name) for row in connection.execute(query)]


def _restore_updates(connection: Connection, updated: list[dict[str, Any]], now: datetime) -> int:
    """Write back the values updated procedures held before: one UPDATE per 1,000 of them."""
    table = Procedure.__table__
    # One statement per set of fields, as the import wrote them (apply._apply_updates).
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for item in updated:
        before = item["before"]
        groups[tuple(sorted(before))].append(
            {"_id": item["id"], "_version": item["version"], **before}
        )
    written = 0
    for fields, params in groups.items():
        # Guarded by the version checked above as well: a refusal, never a lost save.
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"), table.c.version == bindparam("_version"))
            .values(
                {
                    **{name: bindparam(name) for name in fields},
                    "version": table.c.version + 1,
                    "updated_at": now,
                }
            )
        )
        for chunk in _chunks(params):
            written += connection.execute(statement, chunk).rowcount
    if written != len(updated):  # only if the rows were not locked (SQLite): still refused
        raise RevertRefused(CHANGED_SINCE)
    return written


def _restore_missing(connection: Connection, missing: list[dict[str, Any]], now: datetime) -> int:
    """Make the procedures the import marked missing active again, as they were before it."""
    table = Procedure.__table__
    statement = (
        update(table)
        .where(
            table.c.id == bindparam("_id"),
            table.c.version == bindparam("_version"),
            table.c.lifecycle == Lifecycle.missing.value,
        )
        .values(
            lifecycle=Lifecycle.active.value,
            missing_batch_id=bindparam("missing_batch_id"),
            version=table.c.version + 1,
            updated_at=now,
        )
    )
    params = [
        {
            "_id": item["id"],
            "_version": item["version"],
            "missing_batch_id": item["missing_batch_id"],
        }
        for item in missing
    ]
    written = sum(connection.execute(statement, chunk).rowcount for chunk in _chunks(params))
    if written != len(missing):  # as in _restore_updates
        raise RevertRefused(CHANGED_SINCE)
    return written


def _audit_value(name: str, value: Any) -> str | None:
    """Render a column's value as the audit log shows it (blockers as the edit page lists them)."""
    return audit_text(blockers_from_column(value) if name == "blockers" else value)


def _update_events(
    updated: list[dict[str, Any]], current: dict[int, dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """Yield an audit event per field a revert writes back: from the import's value to before."""
    for item in updated:
        now_holds = current[item["id"]]
        for name, value in item["before"].items():
            if name in _UNAUDITED:
                continue
            if name == step_rules.STEPS_FIELD:  # one line per step, as the import wrote them
                yield from _step_events(item["id"], now_holds[name], value)
                continue
            yield {
                "procedure_id": item["id"],
                "action": "revert",
                "field": name,
                "old_value": _audit_value(name, now_holds[name]),
                "new_value": _audit_value(name, value),
            }


def _step_events(ident: int, now_holds: str | None, before: str | None) -> Iterator[dict]:
    for key, old, new in step_rules.differences(now_holds, before):
        yield {
            "procedure_id": ident,
            "action": "revert",
            "field": step_rules.step_field(key),
            "old_value": step_audit(old),
            "new_value": step_audit(new),
        }


def _missing_events(missing: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in missing:
        yield {
            "procedure_id": item["id"],
            "action": "revert",
            "field": "lifecycle",
            "old_value": Lifecycle.missing.value,
            "new_value": Lifecycle.active.value,
        }


def _delete_created(connection: Connection, batch_id: int) -> None:
    """Delete the procedures the import created, with what refers to them: four statements.

    Their audit entries go with them (an entry names an existing procedure); the batch itself,
    marked reverted, keeps the record that they were created and removed. Pins, decided
    matches and saved-plan entries refused the revert (_created_touched), so none is left.
    """
    table = Procedure.__table__
    created = select(table.c.id).where(table.c.created_batch_id == batch_id)
    connection.execute(delete(AuditEvent).where(col(AuditEvent.procedure_id).in_(created)))
    connection.execute(delete(PlanEntry).where(col(PlanEntry.procedure_id).in_(created)))
    connection.execute(delete(PriorityMatch).where(col(PriorityMatch.procedure_id).in_(created)))
    connection.execute(delete(table).where(table.c.created_batch_id == batch_id))
