"""Loading the national inventory as a reference, and flagging the links whose entry changed.

A load stores one entry per 手続ID, in bulk. Each confirmed link remembers the load whose entry
a person last saw (``NationalLink.load_id``). A newer load compares, in SQL, that entry with
the new one: a link whose entry changed (a compared field) or disappeared is flagged for
review; the others move on to the new load silently. Entries are kept for the current load
and for the loads a link still points at (the previous load while its flags wait for review);
the others are deleted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, and_, bindparam, delete, or_, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from importers.national_reference import REFERENCE_FIELDS, read_national_reference
from procedures.core.bulk import bulk_insert
from procedures.models import MatchStatus, NationalEntry, NationalLink, NationalLoad
from procedures.priority.national_list import normalise

#: The fields whose change flags a link, in the order a review shows them.
COMPARED = (
    "name",
    "legal_basis",
    "online_status",
    "blockers",
    "annual_volume",
    "online_volume",
    "offline_volume",
)
#: What a flag says when the linked 手続ID is not in the newer load.
REMOVED = "removed"
#: Entries written per batch.
BATCH_ROWS = 5_000

_COLUMNS = ("load_id", *REFERENCE_FIELDS[:2], "name_key", *REFERENCE_FIELDS[2:])


@dataclass
class LoadOutcome:
    """What a load stored and what it flagged."""

    load: NationalLoad
    without_id: int
    repeated: int
    flagged: int


def current_load(session: Session) -> NationalLoad | None:
    """Return the newest load, or None before the first."""
    return session.execute(
        select(NationalLoad).order_by(col(NationalLoad.id).desc()).limit(1)
    ).scalar_one_or_none()


def load_reference(
    session: Session, *, content: bytes, file_name: str, user_id: int | None
) -> LoadOutcome:
    """Store a national inventory as the current reference and flag the links it changed.

    Raises InventoryRefused or NationalReferenceRefused before anything is written.
    """
    reference = read_national_reference(content, file_name)
    load = NationalLoad(
        file_name=file_name[:500],
        sha256=hashlib.sha256(content).hexdigest(),
        user_id=user_id,
        rows=len(reference.rows),
    )
    session.add(load)
    session.flush()
    assert load.id is not None  # flushed
    bulk_insert(
        session.connection(),
        NationalEntry.__table__,  # type: ignore[attr-defined]
        _COLUMNS,
        _batches(load.id, reference.rows),
    )
    load.flagged = flag_changes(session, load_id=load.id)
    _drop_unused_entries(session, load_id=load.id)
    session.flush()
    return LoadOutcome(load, reference.without_id, reference.repeated, load.flagged)


def _batches(load_id: int, rows: list[tuple]) -> Iterator[list[tuple]]:
    """Yield the entries' value tuples, with the load and the name's matching key."""
    for start in range(0, len(rows), BATCH_ROWS):
        yield [
            (load_id, row[0], row[1], normalise(row[1]), *row[2:])
            for row in rows[start : start + BATCH_ROWS]
        ]


def flag_changes(session: Session, *, load_id: int) -> int:
    """Flag each confirmed link whose entry differs in the load or is gone; return how many.

    Links whose entry is unchanged move on to the load, and a flag that no longer holds (the
    entry changed back) is cleared.
    """
    old = aliased(NationalEntry)
    new = aliased(NationalEntry)
    distinct = [
        col(getattr(old, name)).is_distinct_from(getattr(new, name)).label(name)
        for name in COMPARED
    ]
    gone = col(new.id).is_(None)
    differing = session.execute(
        select(col(NationalLink.id).label("link_id"), gone.label(REMOVED), *distinct)
        .join(
            old,
            and_(
                col(old.load_id) == NationalLink.load_id,
                col(old.national_id) == NationalLink.national_id,
            ),
        )
        .outerjoin(
            new,
            and_(col(new.load_id) == load_id, col(new.national_id) == NationalLink.national_id),
        )
        .where(
            col(NationalLink.status) == MatchStatus.confirmed,
            col(NationalLink.load_id) != load_id,
            or_(gone, *(column for column in distinct)),
        )
    ).all()
    table = NationalLink.__table__  # type: ignore[attr-defined]
    if differing:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("link_id"))
            .values(changes=bindparam("what"), flagged_load_id=load_id),
            [{"link_id": row.link_id, "what": _what_changed(row)} for row in differing],
        )
    session.execute(
        update(table)
        .where(
            table.c.status == MatchStatus.confirmed.value,
            table.c.load_id != load_id,
            or_(table.c.flagged_load_id.is_(None), table.c.flagged_load_id != load_id),
        )
        .values(load_id=load_id, changes=None, flagged_load_id=None)
    )
    return len(differing)


def _what_changed(row: Row[Any]) -> str:
    """Say which compared fields differ, as stored in NationalLink.changes."""
    if getattr(row, REMOVED):
        return REMOVED
    return ",".join(name for name in COMPARED if getattr(row, name))


def _drop_unused_entries(session: Session, *, load_id: int) -> None:
    """Delete the entries of earlier loads that no link points at (one statement per load)."""
    older = session.execute(
        select(col(NationalEntry.load_id)).where(col(NationalEntry.load_id) != load_id).distinct()
    ).scalars()
    for old_id in list(older):
        kept = select(col(NationalLink.national_id)).where(col(NationalLink.load_id) == old_id)
        session.execute(
            delete(NationalEntry).where(
                col(NationalEntry.load_id) == old_id, col(NationalEntry.national_id).not_in(kept)
            )
        )
