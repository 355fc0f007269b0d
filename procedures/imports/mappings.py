"""Column mappings a person chose, kept per division for its next upload."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, select
from sqlmodel import Session, col

from importers.decisions import UNDECIDED, ValueMap, kept, merged
from procedures.models import (
    Division,
    ImportBatch,
    SavedMapping,
    utcnow,
)

if TYPE_CHECKING:  # the outcome is only passed through; importing it would be circular
    from procedures.imports.preview import ImportOutcome


def _division_id(session: Session, division_name: str | None) -> int | None:
    if not division_name:
        return None
    query = select(col(Division.id)).where(col(Division.name) == division_name)
    return session.execute(query).scalar()


def find_saved_mapping(
    session: Session, *, division_name: str | None, signatures: list[str]
) -> dict[str, str | None] | None:
    """Return the confirmed mappings of these header signatures for the division, merged."""
    division_id = _division_id(session, division_name)
    query = select(col(SavedMapping.mapping)).where(
        col(SavedMapping.header_signature).in_(signatures)
    )
    if division_id is None:
        query = query.where(col(SavedMapping.division_id).is_(None))
    else:
        query = query.where(col(SavedMapping.division_id) == division_id)
    combined: dict[str, str | None] = {}
    for (mapping,) in session.execute(query):
        combined.update(json.loads(mapping))
    return combined or None


def find_saved_values(
    session: Session, *, division_name: str | None, signatures: list[str]
) -> ValueMap:
    """Return the value decisions saved with these header signatures for the division, merged."""
    query = select(col(SavedMapping.value_map)).where(
        col(SavedMapping.header_signature).in_(signatures),
        col(SavedMapping.value_map).is_not(None),
        _of_division(_division_id(session, division_name)),
    )
    return merged(*(json.loads(text) for (text,) in session.execute(query)))


def _of_division(division_id: int | None) -> ColumnElement[bool]:
    """The condition selecting a division's saved mappings (NULL: files naming their own)."""
    if division_id is None:
        return col(SavedMapping.division_id).is_(None)
    return col(SavedMapping.division_id) == division_id


def _decisions_of(outcome: ImportOutcome, sheet_name: str) -> ValueMap:
    """Return the decisions on one sheet's values, as a value map; UNDECIDED where none.

    A value left undecided was either never decided or had its earlier decision withdrawn
    (an earlier one is applied otherwise): either way no decision is to be kept for it.
    """
    decisions: ValueMap = {}
    for entry in outcome.unrecognised:
        if entry.sheet == sheet_name:
            decision = UNDECIDED if entry.decision is None else entry.decision
            decisions.setdefault(entry.field, {})[entry.key] = decision
    return decisions


def save_mappings(
    session: Session, *, outcome: ImportOutcome, division_name: str | None, user_id: int | None
) -> None:
    """Remember each imported sheet's confirmed mapping for its division and headers."""
    division_id = _division_id(session, division_name)
    for sheet in outcome.sheets:
        if sheet["skipped"] or not sheet.get("signature"):
            continue
        mapping = json.dumps(
            {column["header"]: column["field"] for column in sheet["columns"]}, ensure_ascii=False
        )
        existing = session.execute(
            select(SavedMapping).where(
                col(SavedMapping.header_signature) == sheet["signature"],
                _of_division(division_id),
            )
        ).scalar()
        if existing is None:
            existing = SavedMapping(
                division_id=division_id, header_signature=sheet["signature"], mapping=mapping
            )
        existing.mapping, existing.user_id, existing.updated_at = mapping, user_id, utcnow()
        decisions = _decisions_of(outcome, sheet["name"])
        if decisions:  # kept with the older ones: a value absent this time may come back
            earlier = json.loads(existing.value_map) if existing.value_map else {}
            value_map = kept(merged(earlier, decisions))
            existing.value_map = json.dumps(value_map, ensure_ascii=False) if value_map else None
        session.add(existing)
    session.flush()


def batch_mapping(batch: ImportBatch) -> dict[str, str | None] | None:
    """Return the mapping a person chose for this batch on the preview page, if any."""
    return json.loads(batch.mapping) if batch.mapping else None


def batch_values(batch: ImportBatch) -> ValueMap:
    """Return the value decisions a person made on this batch's preview page."""
    return json.loads(batch.value_map) if batch.value_map else {}
