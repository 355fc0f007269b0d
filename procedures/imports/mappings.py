"""Column mappings a person chose, kept per division for its next upload."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session, col

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
    merged: dict[str, str | None] = {}
    for (mapping,) in session.execute(query):
        merged.update(json.loads(mapping))
    return merged or None


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
                col(SavedMapping.division_id).is_(None)
                if division_id is None
                else col(SavedMapping.division_id) == division_id,
            )
        ).scalar()
        if existing is None:
            existing = SavedMapping(
                division_id=division_id, header_signature=sheet["signature"], mapping=mapping
            )
        existing.mapping, existing.user_id, existing.updated_at = mapping, user_id, utcnow()
        session.add(existing)
    session.flush()


def batch_mapping(batch: ImportBatch) -> dict[str, str | None] | None:
    """Return the mapping a person chose for this batch on the preview page, if any."""
    return json.loads(batch.mapping) if batch.mapping else None
