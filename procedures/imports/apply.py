"""Applying a compared import: batched inserts, updates, missing flags and their audit."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from itertools import repeat
from operator import is_
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, insert, literal, select, update
from sqlmodel import Session, col

from importers.inventory import (
    ABSENT,
    ParsedRow,
    RowTable,
)
from procedures.catalogue.extras import extra_header_ids
from procedures.catalogue.procedures import (
    DivisionCache,
    name_key,
)
from procedures.core.bulk import (
    ColumnBatch,
    bind_value,
    bulk_insert,
    foreign_keys_checked_after,
    indexes_built_after,
)
from procedures.imports.preview import (
    _LIST_FIELDS,
    IMPORTED_FIELDS,
    ImportChanged,
    ImportOutcome,
    _Plan,
    paused_gc,
    stored_text,
)
from procedures.imports.report import batch_report
from procedures.models import (
    AuditEvent,
    Division,
    ImportBatch,
    Lifecycle,
    Procedure,
    utcnow,
)

BATCH_SIZE = 1000


def plan_size(plan: _Plan) -> int:
    """Return how many procedures a plan writes: the length of its progress bar."""
    return len(plan.new_rows) + len(plan.updates) + len(plan.missing_ids)


def apply_plan(
    session: Session,
    plan: _Plan,
    *,
    batch_id: int | None,
    user_id: int | None,
    progress: Callable[[int], None] | None = None,
) -> str:
    """Write the plan: inserts, updates and missing flags in batches, each change audited.

    `progress` is called with the number of procedures each batch wrote. Returns what
    reverting the import needs, as the JSON kept in ImportBatch.undo (see undo_record).
    """
    tick = progress or (lambda _count: None)
    now = utcnow()
    divisions = DivisionCache(session)
    with paused_gc():
        _insert_new(
            session, plan, divisions, batch_id=batch_id, user_id=user_id, now=now, tick=tick
        )
        _apply_updates(session, plan, batch_id=batch_id, user_id=user_id, now=now)
        tick(len(plan.updates))
        _flag_missing(session, plan, batch_id=batch_id, user_id=user_id, now=now)
        tick(len(plan.missing_ids))
    return json.dumps(undo_record(plan), ensure_ascii=False, separators=(",", ":"))


#: The shape of ImportBatch.undo; a revert refuses a record of another format.
UNDO_FORMAT = 1


def undo_record(plan: _Plan) -> dict[str, Any]:
    """Return what reverting an applied plan needs: the values and versions it left behind.

    Created procedures are not listed (they carry the batch in created_batch_id), so a first
    import's record is empty however many rows it creates. The version after is the one
    compared plus the import's own increment: a save in between makes it higher, and the
    revert then refuses rather than undo that save.
    """
    updated = []
    for procedure_id, _changes, _diffs in plan.updates:
        version, missing_batch_id = plan.versions[procedure_id]
        # Every update clears missing_batch_id (apply_updates), so it goes back too.
        before = {**plan.seen[procedure_id], "missing_batch_id": missing_batch_id}
        updated.append({"id": procedure_id, "version": version + 1, "before": before})
    missing = []
    for ident in plan.missing_ids:
        version, missing_batch_id = plan.versions[ident]
        missing.append({"id": ident, "version": version + 1, "missing_batch_id": missing_batch_id})
    return {"format": UNDO_FORMAT, "updated": updated, "missing": missing}


#: The columns a new procedure's INSERT names, in order.
_INSERT_COLUMNS = (
    *IMPORTED_FIELDS,
    "extra",
    "name_key",
    "division_id",
    "lifecycle",
    "created_batch_id",
    "version",
    "created_at",
    "updated_at",
)


#: What a new procedure holds in a field its sheet leaves blank.
_INSERT_DEFAULTS = {
    "verdict": "undecided",
    "mynaportal_eligible": False,
    "volume_is_estimate": False,
    "blockers": "",
}


_EXTRA_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _insert_new(
    session: Session,
    plan: _Plan,
    divisions: DivisionCache,
    *,
    batch_id: int | None,
    user_id: int | None,
    now: datetime,
    tick: Callable[[int], None],
) -> None:
    connection = session.connection()
    table = Procedure.__table__
    # New divisions first: PostgreSQL's COPY below allows no other statement until it ends.
    # In the order the file names them (a set's order would change from one run to the next).
    division_ids = {
        (division, department): divisions.division_id(division, department or None)
        for division, department in dict.fromkeys((row[1], row[2]) for row in plan.new_rows)
    }
    header_ids = extra_header_ids(connection, _extra_headers_of(plan.new_rows))
    stamp = bind_value(connection, table.c.created_at, now)
    constants = (Lifecycle.active.value, batch_id, 1, stamp, stamp)
    rows = plan.new_rows
    batches = (
        _new_batch(rows[start : start + BATCH_SIZE], division_ids, header_ids, constants)
        for start in range(0, len(rows), BATCH_SIZE)
    )
    audit = AuditEvent.__table__
    with foreign_keys_checked_after(connection, table, [table, audit], len(rows)):
        with indexes_built_after(connection, table, len(rows)):
            bulk_insert(connection, table, _INSERT_COLUMNS, batches, on_batch=tick)
        if plan.new_rows:
            # One INSERT ... SELECT writes every creation's audit entry, found by its batch.
            _audit_creations(connection, batch_id=batch_id, user_id=user_id, now=now)


def _extra_headers_of(rows: list[tuple[ParsedRow, str, str | None]]) -> Iterator[str]:
    """Yield the headers of the extra columns the new rows come with (repeats included)."""
    tables = {}
    for row, _division, _department in rows:
        if row.table is not None:
            tables[id(row.table)] = row.table
        else:
            yield from row.extra
    for table in tables.values():
        yield from table.extra_headers


_NAME_COLUMN = IMPORTED_FIELDS.index("name")


def _new_batch(
    rows: list[tuple[ParsedRow, str, str | None]],
    division_ids: dict[tuple[str, str | None], int],
    header_ids: dict[str, int],
    constants: tuple[Any, ...],
) -> ColumnBatch:
    """Return the INSERT values of new procedures, in the order of _INSERT_COLUMNS.

    Built column by column, each distinct value converted once; the per-row work left is
    zip's. Values go straight to the driver: no ORM object, no SQLAlchemy parameter processing.
    """
    columns: list[Any] = _new_columns([row for row, _division, _department in rows], header_ids)
    columns.append(list(map(name_key, columns[_NAME_COLUMN])))
    columns.append([division_ids[(division, department)] for _row, division, department in rows])
    columns += [[constant] * len(rows) for constant in constants]
    return ColumnBatch(columns, len(rows))


def _new_columns(rows: list[ParsedRow], header_ids: dict[str, int]) -> list[Sequence[Any]]:
    """Return the imported fields and the extra JSON of new procedures, column by column.

    Rows of one sheet are read from the parser's own columns; rows made otherwise (several
    sheets, the demo data) from their dictionaries, which gives the same values more slowly.
    """
    table = rows[0].table if rows else None
    if table is not None and all(row.table is table for row in rows):
        pick = _picker([row.position for row in rows])
        cells = {name: pick(column) for name, column in table.fields.items()}
        absent = [ABSENT] * len(rows)
        columns = [_stored_column(name, cells.get(name, absent)) for name in IMPORTED_FIELDS]
        columns.append(_extra_json(table, pick, header_ids))
        return columns
    values = [row.values for row in rows]
    columns = [
        _stored_column(name, list(map(dict.get, values, repeat(name, len(rows)), repeat(ABSENT))))
        for name in IMPORTED_FIELDS
    ]
    encode = _EXTRA_JSON.encode
    columns.append([_extra_object(row.extra, header_ids, encode) for row in rows])
    return columns


def _picker(take: list[int]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """Return a function taking the cells at positions `take` from a column.

    New rows are written in file order, so in a first import they are one run of positions,
    taken as a slice.
    """
    first = take[0]
    if take == list(range(first, first + len(take))):
        return lambda column: column[first : first + len(take)]
    return lambda column: list(map(column.__getitem__, take))


def _stored_column(name: str, cells: Sequence[Any]) -> Sequence[Any]:
    """Return one field of new procedures as the INSERT stores it (see stored_values)."""
    default = _INSERT_DEFAULTS.get(name)
    if name in _LIST_FIELDS:  # lists cannot be dictionary keys: converted row by row
        convert = _LIST_FIELDS[name]
        empty = convert([])  # most rows list nothing
        return [default if cell is ABSENT else convert(cell) if cell else empty for cell in cells]
    # A field's values are all of one type (its converter's), so True and 1 never meet here.
    stored = dict.fromkeys(cells)
    for cell in stored:
        value = stored_text(cell) if type(cell) is str else cell
        stored[cell] = default if value is None or value is ABSENT else value
    if all(map(is_, stored, stored.values())):  # names, codes, numbers: stored as they are
        return cells
    return list(map(stored.__getitem__, cells))


def _extra_object(
    extra: dict[str, str], header_ids: dict[str, int], encode: Callable[[Any], str]
) -> str | None:
    """Return one row's extra columns as the JSON object _extra_json writes, or None."""
    return encode({str(header_ids[h]): text for h, text in extra.items()}) if extra else None


def _extra_json(
    table: RowTable, pick: Callable[[Sequence[Any]], Sequence[Any]], header_ids: dict[str, int]
) -> list[str | None]:
    """Return the extra columns of the picked rows as JSON objects {header id: text}.

    Each distinct cell becomes its `"id":"text"` piece once; a row's object is its non-blank
    pieces joined, all in C. Blank cells are left out, as ParsedRow.extra does. The result is
    what json.dumps writes (a test compares the two paths).
    """
    headers = table.extra_headers
    if not headers:
        return [None] * len(pick(table.fields["name"]))
    encode = _EXTRA_JSON.encode
    pieces = []
    for header, column in zip(headers, table.extra_columns, strict=True):
        cells = pick(column)
        key = f'"{header_ids[header]}":'
        piece = {cell: key + encode(cell) if cell else "" for cell in set(cells)}
        pieces.append(list(map(piece.__getitem__, cells)))
    bodies = map(",".join, map(filter, repeat(None), zip(*pieces, strict=True)))
    return [f"{{{body}}}" if body else None for body in bodies]


def _audit_creations(
    connection: Connection, *, batch_id: int | None, user_id: int | None, now: datetime
) -> None:
    procedure, audit = Procedure.__table__, AuditEvent.__table__
    created = select(
        procedure.c.id,
        literal(batch_id, Integer).label("batch_id"),
        literal(user_id, Integer).label("user_id"),
        literal("create").label("action"),
        procedure.c.name,
        literal(now, audit.c.at.type).label("at"),
    ).where(
        procedure.c.created_batch_id == batch_id,
        procedure.c.created_at == literal(now, procedure.c.created_at.type),
    )
    connection.execute(
        insert(audit).from_select(
            ["procedure_id", "batch_id", "user_id", "action", "new_value", "at"], created
        )
    )


def _apply_updates(
    session: Session, plan: _Plan, *, batch_id: int | None, user_id: int | None, now: datetime
) -> None:
    table = Procedure.__table__
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for procedure_id, changes, _diffs in plan.updates:
        seen = {f"_seen_{name}": value for name, value in plan.seen[procedure_id].items()}
        version = plan.versions[procedure_id][0]
        groups[tuple(sorted(changes))].append(
            {"_id": procedure_id, "_version": version, **seen, **changes}
        )
    connection = session.connection()
    updated = 0
    for fields, params in groups.items():
        # Only where the procedure is still as the comparison saw it (its version, and the
        # fields' values): a person who saved it since refuses the whole import.
        statement = (
            update(table)
            .where(
                table.c.id == bindparam("_id"),
                table.c.version == bindparam("_version"),
                *[
                    table.c[name].is_not_distinct_from(bindparam(f"_seen_{name}"))
                    for name in fields
                ],
            )
            .values(
                {
                    **{name: bindparam(name) for name in fields},
                    "version": table.c.version + 1,
                    "updated_at": now,
                    "missing_batch_id": None,
                }
            )
        )
        for start in range(0, len(params), BATCH_SIZE):
            updated += connection.execute(statement, params[start : start + BATCH_SIZE]).rowcount
    if updated != len(plan.updates):
        raise ImportChanged()
    events = [
        {
            "procedure_id": procedure_id,
            "action": "import",
            "field": diff.field,
            "old_value": diff.old,
            "new_value": diff.new,
        }
        for procedure_id, _changes, diffs in plan.updates
        for diff in diffs
    ]
    _audit(connection, events, batch_id=batch_id, user_id=user_id, now=now)


def _flag_missing(
    session: Session, plan: _Plan, *, batch_id: int | None, user_id: int | None, now: datetime
) -> None:
    table = Procedure.__table__
    connection = session.connection()
    # Only procedures still active, at the version compared: one saved or retired by a person
    # meanwhile refuses the import.
    statement = (
        update(table)
        .where(
            table.c.id == bindparam("_id"),
            table.c.version == bindparam("_version"),
            table.c.lifecycle == Lifecycle.active.value,
        )
        .values(
            lifecycle=Lifecycle.missing.value,
            missing_batch_id=batch_id,
            version=table.c.version + 1,
            updated_at=now,
        )
    )
    flagged = 0
    for start in range(0, len(plan.missing_ids), BATCH_SIZE):
        chunk = plan.missing_ids[start : start + BATCH_SIZE]
        params = [{"_id": ident, "_version": plan.versions[ident][0]} for ident in chunk]
        flagged += connection.execute(statement, params).rowcount
    if flagged != len(plan.missing_ids):
        raise ImportChanged()
    events = [
        {
            "procedure_id": ident,
            "action": "import",
            "field": "lifecycle",
            "old_value": Lifecycle.active.value,
            "new_value": Lifecycle.missing.value,
        }
        for ident in plan.missing_ids
    ]
    _audit(connection, events, batch_id=batch_id, user_id=user_id, now=now)


_AUDIT_COLUMNS = (
    "procedure_id",
    "batch_id",
    "user_id",
    "action",
    "field",
    "old_value",
    "new_value",
    "at",
)


def _audit(
    connection: Connection,
    events: list[dict[str, Any]],
    *,
    batch_id: int | None,
    user_id: int | None,
    now: datetime,
) -> None:
    """Insert audit events in batches (see procedures.bulk.bulk_insert)."""
    table = AuditEvent.__table__
    stamp = bind_value(connection, table.c.at, now)
    batches = (
        [
            (
                event["procedure_id"],
                batch_id,
                user_id,
                event["action"],
                event["field"],
                event["old_value"],
                event["new_value"],
                stamp,
            )
            for event in events[start : start + BATCH_SIZE]
        ]
        for start in range(0, len(events), BATCH_SIZE)
    )
    bulk_insert(connection, table, _AUDIT_COLUMNS, batches)


def store_batch(
    session: Session,
    *,
    content: bytes,
    outcome: ImportOutcome,
    user_id: int | None,
    division_name: str | None,
    status: str,
) -> ImportBatch:
    """Keep the file and its outcome as an import batch."""
    division_id = None
    if division_name:
        division_id = session.execute(
            select(col(Division.id)).where(col(Division.name) == division_name)
        ).scalar()
    batch = ImportBatch(
        file_name=outcome.file_name[:500],
        sha256=outcome.sha256,
        content=content,
        division_id=division_id,
        user_id=user_id,
        status=status,
        rows=outcome.rows,
        created=outcome.created,
        updated=outcome.updated,
        unchanged=outcome.unchanged,
        missing=outcome.missing,
        errors=len(outcome.errors),
        report=batch_report(outcome),
    )
    session.add(batch)
    session.flush()
    return batch
