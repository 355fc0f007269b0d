"""Reviewing the flags a newer national load raised: the queue, the side-by-side, "reviewed"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from procedures.models import (
    AuditEvent,
    Division,
    MatchStatus,
    NationalEntry,
    NationalLink,
    NationalLoad,
    Procedure,
    utcnow,
)
from procedures.national.reference import COMPARED, REMOVED

#: The rows of the side-by-side: entry field -> the procedure's field of the same meaning.
SIDE_BY_SIDE = (
    ("name", "name"),
    ("legal_basis", "legal_basis"),
    ("online_status", "online_status"),
    ("blockers", "blockers"),
    ("identity_check", "identity_check"),
    ("annual_volume", "annual_volume"),
    ("online_volume", "online_volume"),
    ("offline_volume", "offline_volume"),
)


class ReviewStateError(Exception):
    """The procedure has nothing to review (someone reviewed it meanwhile); nothing was written."""


_FLAGGED = (
    col(NationalLink.status) == MatchStatus.confirmed,
    col(NationalLink.changes).is_not(None),
)


def remaining(session: Session) -> int:
    """Return how many procedures wait for a review."""
    return session.execute(
        select(func.count()).select_from(NationalLink).where(*_FLAGGED)
    ).scalar_one()


@dataclass(frozen=True)
class QueueRow:
    """One flagged procedure in the queue."""

    procedure_id: int
    name: str
    division: str
    national_id: str
    changes: list[str]
    flagged_at: datetime | None


def queue(session: Session) -> list[QueueRow]:
    """Return the flagged procedures, by division and name."""
    rows = session.execute(
        select(
            col(Procedure.id),
            col(Procedure.name),
            col(Division.name),
            col(NationalLink.national_id),
            col(NationalLink.changes),
            col(NationalLoad.loaded_at),
        )
        .join(Procedure, col(Procedure.id) == NationalLink.procedure_id)
        .join(Division, col(Division.id) == Procedure.division_id)
        .outerjoin(NationalLoad, col(NationalLoad.id) == NationalLink.flagged_load_id)
        .where(*_FLAGGED)
        .order_by(col(Division.name), col(Procedure.name), col(Procedure.id))
    ).all()
    return [
        QueueRow(row[0], row[1], row[2], row[3], (row[4] or "").split(","), row[5]) for row in rows
    ]


@dataclass
class Review:
    """What the review page shows for one procedure."""

    procedure: Procedure
    link: NationalLink
    old: NationalEntry | None
    new: NationalEntry | None
    old_load: NationalLoad | None
    new_load: NationalLoad | None

    @property
    def removed(self) -> bool:
        """True when the linked 手続ID is not in the newer load."""
        return self.link.changes == REMOVED

    @property
    def changed(self) -> set[str]:
        """The entry fields that changed (none when the entry is gone: the page says so once)."""
        if self.removed:
            return set()
        return set((self.link.changes or "").split(",")) & set(COMPARED)

    def rows(self) -> list[tuple[str, Any, Any, Any, bool]]:
        """Return (field, old national, new national, the city's own, changed) per field."""
        return [
            (
                entry_field,
                getattr(self.old, entry_field, None),
                getattr(self.new, entry_field, None),
                getattr(self.procedure, city_field),
                entry_field in self.changed,
            )
            for entry_field, city_field in SIDE_BY_SIDE
        ]


def review(session: Session, procedure_id: int) -> Review | None:
    """Return the procedure's link with its old and new entries, or None when it has no link."""
    procedure = session.get(Procedure, procedure_id)
    link = session.execute(
        select(NationalLink).where(
            col(NationalLink.procedure_id) == procedure_id,
            col(NationalLink.status) == MatchStatus.confirmed,
        )
    ).scalar_one_or_none()
    if procedure is None or link is None:
        return None
    new_load_id = link.flagged_load_id or link.load_id
    return Review(
        procedure=procedure,
        link=link,
        old=_entry(session, link.load_id, link.national_id),
        new=_entry(session, new_load_id, link.national_id) if link.changes != REMOVED else None,
        old_load=session.get(NationalLoad, link.load_id) if link.load_id else None,
        new_load=session.get(NationalLoad, new_load_id) if new_load_id else None,
    )


def _entry(session: Session, load_id: int | None, national_id: str) -> NationalEntry | None:
    return session.execute(
        select(NationalEntry).where(
            col(NationalEntry.load_id) == load_id, col(NationalEntry.national_id) == national_id
        )
    ).scalar_one_or_none()


def mark_reviewed(session: Session, *, procedure_id: int, user_id: int | None) -> str:
    """Clear the procedure's flag, audited; return what had changed.

    A link whose entry disappeared is removed with its flag: there is nothing left to link to.
    Raises ReviewStateError when the procedure has no flag.
    """
    link = session.execute(
        select(NationalLink).where(col(NationalLink.procedure_id) == procedure_id, *_FLAGGED)
    ).scalar_one_or_none()
    if link is None or link.changes is None:
        raise ReviewStateError(procedure_id)
    changes = link.changes
    session.add(
        AuditEvent(
            procedure_id=procedure_id,
            user_id=user_id,
            action="national_review",
            field="national_changes",
            old_value=changes,
        )
    )
    if changes == REMOVED:
        session.delete(link)
    else:
        link.load_id = link.flagged_load_id
        link.changes = link.flagged_load_id = None
        link.user_id = user_id
        link.at = utcnow()
    session.flush()
    return changes
