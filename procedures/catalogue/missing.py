"""The review queue of procedures an import flagged missing: confirm retired, or keep.

Functions flush, never commit.
"""

from __future__ import annotations

import enum
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlmodel import Session, col

from procedures.models import AuditEvent, Division, ImportBatch, Lifecycle, Procedure, utcnow


class Decision(enum.StrEnum):
    """What a person decides about a procedure missing from the last import."""

    retire = "retire"
    keep = "keep"


#: The lifecycle each decision leads to, and the audit action it is recorded under.
OUTCOMES = {
    Decision.retire: (Lifecycle.retired, "retire"),
    Decision.keep: (Lifecycle.active, "edit"),
}


class NotMissing(Exception):
    """The procedure is no longer missing, or changed since the page was shown; nothing written."""


def missing_queue(
    session: Session, *, division_id: int | None = None, limit: int = 500
) -> tuple[list[Any], int]:
    """Return missing procedures with the import that flagged them, and their count."""
    conditions = [col(Procedure.lifecycle) == Lifecycle.missing]
    if division_id is not None:
        conditions.append(col(Procedure.division_id) == division_id)
    total = session.execute(
        select(func.count()).select_from(Procedure).where(*conditions)
    ).scalar_one()
    rows = session.execute(
        select(
            col(Procedure.id),
            col(Procedure.code),
            col(Procedure.name),
            col(Procedure.version),
            col(Procedure.division_id),
            col(Procedure.annual_volume),
            col(Division.name).label("division"),
            col(ImportBatch.id).label("batch_id"),
            col(ImportBatch.file_name),
            col(ImportBatch.created_at).label("flagged_at"),
        )
        .join(Division, col(Division.id) == Procedure.division_id)
        .outerjoin(ImportBatch, col(ImportBatch.id) == Procedure.missing_batch_id)
        .where(*conditions)
        .order_by(col(ImportBatch.id), col(Division.name), col(Procedure.id))
        .limit(limit)
    ).all()
    return list(rows), total


def resolve_missing(
    session: Session,
    *,
    procedure_id: int,
    decision: Decision,
    expected_version: int,
    user_id: int | None,
) -> Procedure:
    """Retire a missing procedure or keep it (active again); audit the change.

    Raises LookupError for an unknown procedure and NotMissing when it is not missing any more
    or someone changed it since expected_version.
    """
    procedure = session.get(Procedure, procedure_id)
    if procedure is None:
        raise LookupError(procedure_id)
    lifecycle, action = OUTCOMES[Decision(decision)]
    now = utcnow()
    values: dict[str, Any] = {
        "lifecycle": lifecycle.value,
        "version": Procedure.version + 1,
        "updated_at": now,
    }
    if lifecycle == Lifecycle.active:
        values["missing_batch_id"] = None
    # An UPDATE's result is a CursorResult (with rowcount); Session.execute is typed as Result.
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Procedure)
            .where(
                col(Procedure.id) == procedure_id,
                col(Procedure.lifecycle) == Lifecycle.missing,
                col(Procedure.version) == expected_version,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise NotMissing(procedure_id)
    session.add(
        AuditEvent(
            procedure_id=procedure_id,
            user_id=user_id,
            action=action,
            field="lifecycle",
            old_value=Lifecycle.missing.value,
            new_value=lifecycle.value,
            at=now,
        )
    )
    session.flush()
    session.refresh(procedure)
    return procedure
