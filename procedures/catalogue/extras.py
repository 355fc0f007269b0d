"""Columns of an imported sheet that map to no field: kept with each procedure, shown on its page.

Procedure.extra holds the row's non-blank cells of those columns as JSON {header id: text}, in
the order of the sheet; each header's text is written once, in ExtraHeader.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from sqlalchemy import Connection, select
from sqlmodel import Session, col

from procedures.models import ExtraHeader

#: Headers looked up per statement (well under SQLite's limit on bound parameters).
_LOOKUP_BATCH = 500


def header_digest(text: str) -> str:
    """Return the SHA-256 by which a header's text is unique (the text may be too long to index)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def extra_header_ids(connection: Connection, headers: Iterable[str]) -> dict[str, int]:
    """Return the id of each header, recording the ones not seen before."""
    wanted = {header_digest(text): text for text in dict.fromkeys(headers)}
    if not wanted:
        return {}
    found = _ids_by_digest(connection, list(wanted))
    new = [{"digest": key, "text": text} for key, text in wanted.items() if key not in found]
    if new:
        # Loaded when first used (the PostgreSQL dialect is not, on SQLite): keeps the CLI's
        # start-up close to the bare framework.
        from sqlalchemy.dialects import postgresql, sqlite

        # Another import may record the same header at the same moment: keep whichever won.
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        connection.execute(insert(ExtraHeader.__table__).on_conflict_do_nothing(), new)
        found.update(_ids_by_digest(connection, [item["digest"] for item in new]))
    return {text: found[digest] for digest, text in wanted.items()}


def _ids_by_digest(connection: Connection, digests: list[str]) -> dict[str, int]:
    table = ExtraHeader.__table__
    found: dict[str, int] = {}
    for start in range(0, len(digests), _LOOKUP_BATCH):
        query = select(table.c.digest, table.c.id).where(
            table.c.digest.in_(digests[start : start + _LOOKUP_BATCH])
        )
        found.update(connection.execute(query).all())
    return found


def extra_attributes(session: Session, extra: str | None) -> list[tuple[str, str]]:
    """Return (header, text) of a procedure's extra columns, in the order of its sheet."""
    if not extra:
        return []
    try:
        cells = json.loads(extra)
    except ValueError:
        return []
    if not isinstance(cells, dict):
        return []
    ids = [int(key) for key in cells if key.isdigit()]
    texts: dict[int, str] = {}
    if ids:
        columns = (col(ExtraHeader.id), col(ExtraHeader.text))
        query = select(*columns).where(col(ExtraHeader.id).in_(ids))
        texts = dict(session.execute(query).all())
    # A key that names no recorded header is shown as it is rather than dropped.
    return [
        # str(key): JSON keys are strings already; it types the default for dict.get.
        (texts.get(int(key), str(key)) if key.isdigit() else key, str(value))
        for key, value in cells.items()
    ]
