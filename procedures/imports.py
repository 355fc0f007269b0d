"""Importing an inventory: compare parsed rows with the database, then apply in one transaction.

The file is parsed by `importers` (bytes to rows, no database). Here the rows meet the
database: identity (the procedure's code, else division + normalised name), the difference
(new / changed / unchanged / missing), and the writes — batched statements, never one ORM
object per row, every change audited with its import batch.
"""

from __future__ import annotations

import gc
import hashlib
import json
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from operator import is_
from typing import Any

from sqlalchemy import Integer, bindparam, insert, literal, select, update
from sqlmodel import Session

from importers.inventory import (
    ABSENT,
    FIELDS,
    InventoryRefused,
    ParsedInventory,
    ParsedRow,
    Problem,
    ReadLimits,
    RowTable,
    parse_inventory,
)
from procedures.bulk import (
    ColumnBatch,
    bind_value,
    bulk_insert,
    foreign_keys_checked_after,
    indexes_built_after,
)
from procedures.catalogue import (
    DivisionCache,
    audit_text,
    blockers_from_column,
    blockers_to_column,
    name_key,
)
from procedures.extras import extra_header_ids
from procedures.models import (
    AuditEvent,
    Division,
    ImportBatch,
    Lifecycle,
    Procedure,
    SavedMapping,
    utcnow,
)

#: Procedure columns an import may set: the importer's fields but the organisation ones.
IMPORTED_FIELDS = tuple(name for name in FIELDS if name not in ("department", "division"))
#: Columns that cannot hold NULL: a blank cell leaves the stored value alone.
NOT_NULL_FIELDS = {"verdict", "mynaportal_eligible", "volume_is_estimate", "name"}
BATCH_SIZE = 1000


@dataclass(slots=True)
class FieldChange:
    """One field of one procedure: old value → new value, as text."""

    field: str
    old: str | None
    new: str | None


@dataclass(slots=True)
class RowChange:
    """A row of the file that changes the database."""

    kind: str  # "new" | "changed" | "missing"
    division: str
    name: str
    code: str | None
    sheet: str | None = None
    row: int | None = None
    procedure_id: int | None = None
    fields: list[FieldChange] = field(default_factory=list)


class ChangeList(Sequence[RowChange]):
    """An import's changes in file order; a new row is described only when it is looked at.

    A first import creates every row: describing 75,000 of them up front, when the preview
    shows 300, cost a third of a second and megabytes for nothing.
    """

    def __init__(self) -> None:
        self._items: list[RowChange | tuple[ParsedRow, str]] = []

    def append(self, change: RowChange) -> None:
        """Add a described change (changed or missing)."""
        self._items.append(change)

    def append_new(self, row: ParsedRow, division: str) -> None:
        """Add a new row, to be described when looked at."""
        self._items.append((row, division))

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [_describe(item) for item in self._items[index]]
        return _describe(self._items[index])


def _describe(item: RowChange | tuple[ParsedRow, str]) -> RowChange:
    return _new_change(*item) if type(item) is tuple else item


@dataclass
class ImportOutcome:
    """What an import did, or would do: the counts, the changes and the problems."""

    file_name: str
    sha256: str
    batch_id: int | None = None
    sheets: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    missing: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    changes: ChangeList = field(default_factory=ChangeList)
    #: Set when the same bytes were already imported: nothing is done again.
    duplicate_of: int | None = None
    #: Set when the whole file is refused: nothing is written.
    refused: InventoryRefused | None = None
    committed: bool = False
    #: A mapping confirmed earlier for these headers was applied.
    mapping_saved: bool = False

    def as_json(self) -> dict[str, Any]:
        """Return the CLI's JSON contract."""

        def problem(item: Problem) -> dict[str, Any]:
            return {
                "sheet": item.sheet,
                "row": item.row,
                "column": item.column,
                "message": item.message,
            }

        return {
            "file": self.file_name,
            "sheets": self.sheets,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "missing": self.missing,
            "errors": [problem(item) for item in self.errors],
            "warnings": [problem(item) for item in self.warnings],
        }


@dataclass
class _Plan:
    """The difference between the file and the database, ready to apply."""

    new_rows: list[tuple[ParsedRow, str, str | None]] = field(default_factory=list)
    updates: list[tuple[int, dict[str, Any], list[FieldChange]]] = field(default_factory=list)
    missing_ids: list[int] = field(default_factory=list)
    #: What each procedure to update held, when compared, in the fields the update changes:
    #: the write checks them, so a person's save in between is never silently overwritten.
    seen: dict[int, dict[str, Any]] = field(default_factory=dict)


class ImportChanged(Exception):
    """Procedures changed between the comparison and the write: nothing may be written."""


@contextmanager
def paused_gc() -> Iterator[None]:
    """Keep the cyclic garbage collector off while an import runs.

    An import holds millions of small objects (every cell of the file) and frees none of
    them until it ends; each collection would walk them all again, for nothing. Measured on
    the national file, that walking was a fifth of the import's time.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            # Not gc.freeze() to spare the young collection that follows (50 ms on the national
            # file): cyclic garbage, such as a refusal's traceback holding the whole file, then
            # waited for a rare full collection, and the fuzzer's capped workers ran out.
            gc.enable()


def sha256_of(content: bytes) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    return hashlib.sha256(content).hexdigest()


def find_committed_batch(session: Session, sha256: str) -> int | None:
    """Return the id of a committed import of the same bytes, if any."""
    return session.execute(
        select(ImportBatch.id).where(
            ImportBatch.sha256 == sha256, ImportBatch.status == "committed"
        )
    ).scalar()


def analyse_file(
    session: Session,
    *,
    content: bytes,
    file_name: str,
    division_name: str | None = None,
    only_division: str | None = None,
    mapping: dict[str, str | None] | None = None,
    limits: ReadLimits | None = None,
    on_parsed: Callable[[int], None] | None = None,
) -> tuple[ImportOutcome, _Plan | None]:
    """Parse a file and compare it with the database, writing nothing.

    Without an explicit mapping, a mapping confirmed earlier for the same division and the
    same headers is applied, so a division's usual sheet needs no mapping step.
    `on_parsed(rows)` is called once the file is read, before the comparison.
    """
    outcome = ImportOutcome(file_name=file_name, sha256=sha256_of(content))
    outcome.duplicate_of = find_committed_batch(session, outcome.sha256)
    limits = limits or ReadLimits()
    with paused_gc():
        return _parse_and_compare(
            session,
            outcome,
            content=content,
            division_name=division_name,
            only_division=only_division,
            mapping=mapping,
            limits=limits,
            on_parsed=on_parsed,
        )


def _parse_and_compare(
    session: Session,
    outcome: ImportOutcome,
    *,
    content: bytes,
    division_name: str | None,
    only_division: str | None,
    mapping: dict[str, str | None] | None,
    limits: ReadLimits,
    on_parsed: Callable[[int], None] | None,
) -> tuple[ImportOutcome, _Plan | None]:
    file_name = outcome.file_name
    try:
        parsed = parse_inventory(content, file_name, mapping=mapping, limits=limits)
        if mapping is None:
            saved = find_saved_mapping(
                session,
                division_name=division_name,
                signatures=[sheet.header_signature for sheet in parsed.sheets],
            )
            if saved:
                parsed = parse_inventory(content, file_name, mapping=saved, limits=limits)
                outcome.mapping_saved = True
    except InventoryRefused as refusal:
        outcome.refused = refusal
        return outcome, None
    _describe_sheets(outcome, parsed)
    if on_parsed is not None:
        on_parsed(outcome.rows)
    plan = compare_rows(
        session, parsed.rows(), outcome, division_name=division_name, only=only_division
    )
    return outcome, plan


def _describe_sheets(outcome: ImportOutcome, parsed: ParsedInventory) -> None:
    for sheet in parsed.sheets:
        outcome.sheets.append(
            {
                "name": sheet.name,
                "header_row": sheet.header_row,
                "signature": sheet.header_signature,
                "rows": len(sheet.rows),
                "skipped": sheet.skipped_reason,
                "columns": [
                    {
                        "index": column.index,
                        "header": column.header,
                        "field": column.field,
                        "samples": column.samples,
                    }
                    for column in sheet.columns
                ],
            }
        )
    outcome.errors = [item for item in parsed.problems if item.severity == "error"]
    outcome.warnings = [item for item in parsed.problems if item.severity != "error"]
    refused_rows = {(item.sheet, item.row) for item in outcome.errors if item.row is not None}
    outcome.rows = sum(len(sheet.rows) for sheet in parsed.sheets) + len(refused_rows)


def _join_events(events: list[str] | None) -> str | None:
    return "; ".join(events) if events else None


#: Fields whose parsed value is a list, stored as text.
_LIST_FIELDS = {"blockers": blockers_to_column, "life_events": _join_events}
_IMPORTED = frozenset(IMPORTED_FIELDS)


def stored_values(values: dict[str, Any]) -> dict[str, Any]:
    """Convert a parsed row's values to column values; blanks in NOT NULL columns are dropped."""
    # Runs once per row of a 75,000-row file: one pass over the row's own keys, no lookups
    # of fields the sheet does not have.
    stored: dict[str, Any] = {}
    for name, value in values.items():
        if name not in _IMPORTED:
            continue
        if type(value) is str:
            value = stored_text(value)
        elif name in _LIST_FIELDS:
            value = _LIST_FIELDS[name](value)
        if value is None and name in NOT_NULL_FIELDS:
            continue
        stored[name] = value
    return stored


def stored_text(text: str) -> str | None:
    """Return a text cell as stored: trimmed, the export's defusing quote undone, blank as None."""
    text = text.strip()
    if text[:1] == "'":
        text = unquote_formula(text)
    return text or None


def unquote_formula(text: str) -> str:
    """Undo the export's neutralising quote ("'=SUM(1)" → "=SUM(1)") so exports round-trip."""
    if text.startswith("'") and text[1:2] in ("=", "+", "-", "@"):
        return text[1:]
    return text


def _comparable(name: str, value: Any) -> str | None:
    if name == "blockers":
        return audit_text(blockers_from_column(value))
    if isinstance(value, str):
        # The importer reads text through NFKC: （） and () are the same text, not a change.
        return audit_text(unicodedata.normalize("NFKC", value))
    return audit_text(value)


def _load_existing(session: Session, division_ids: list[int]) -> list[dict[str, Any]]:
    if not division_ids:
        return []
    columns = [getattr(Procedure, name) for name in IMPORTED_FIELDS]
    query = select(
        Procedure.id,
        Procedure.division_id,
        Procedure.name_key,
        Procedure.lifecycle,
        *columns,
    ).where(Procedure.division_id.in_(division_ids))
    return [dict(row._mapping) for row in session.execute(query)]


def compare_rows(
    session: Session,
    rows: Iterable[ParsedRow],
    outcome: ImportOutcome,
    *,
    division_name: str | None = None,
    only: str | None = None,
) -> _Plan:
    """Sort rows into new, changed, unchanged and missing against the database."""
    divisions = dict(session.execute(select(Division.name, Division.id)).all())
    rows_by_division: dict[str, list[ParsedRow]] = defaultdict(list)
    rows_in_file = list(rows)
    fitting = _tables_that_fit(rows_in_file)
    for row in rows_in_file:
        row_division = row.get("division") or division_name
        if not row_division:
            outcome.errors.append(_row_problem(row, "no_division", {}))
            continue
        fits = id(row.table) in fitting and len(row_division) <= LENGTH_LIMITS["division"]
        too_long = None if fits else _too_long(row, row_division)
        if too_long:
            outcome.errors.append(_row_problem(row, "value_too_long", too_long))
            continue
        if only and row_division != only:
            outcome.errors.append(
                _row_problem(row, "other_division", {"division": row_division, "own": only})
            )
            continue
        rows_by_division[row_division].append(row)

    known_ids = [divisions[name] for name in rows_by_division if name in divisions]
    existing = _load_existing(session, known_ids)
    by_code = {(item["division_id"], item["code"]): item for item in existing if item["code"]}
    by_name = {(item["division_id"], item["name_key"]): item for item in existing}
    by_id = {item["id"]: item for item in existing}
    seen: set[int] = set()
    seen_keys: set[tuple] = set()
    plan = _Plan()
    for division, rows in rows_by_division.items():
        division_id = divisions.get(division)
        for row in rows:
            key = (division, row.get("code") or _name_key_of(row))
            if key in seen_keys:
                outcome.errors.append(_row_problem(row, "duplicate_row", {"name": key[1]}))
                continue
            seen_keys.add(key)
            match = _by_system_id(row, division_id, by_id) or _match(
                row, division_id, by_code, by_name
            )
            if match is None or match["id"] in seen:
                plan.new_rows.append((row, division, row.get("department")))
                outcome.changes.append_new(row, division)
                continue
            seen.add(match["id"])
            _compare_row(row, match, division, plan, outcome)
    division_names = {ident: name for name, ident in divisions.items()}
    # A returned survey lists every procedure its division had when it was made (its rows
    # cannot be deleted): one absent from it was added since, not dropped by the division.
    from_survey = any(_system_id(rows[0]) is not None for rows in rows_by_division.values())
    for item in existing:
        if item["id"] not in seen and item["lifecycle"] == Lifecycle.active and not from_survey:
            plan.missing_ids.append(item["id"])
            outcome.changes.append(
                RowChange(
                    kind="missing",
                    division=division_names.get(item["division_id"], ""),
                    name=item["name"],
                    code=item["code"],
                    procedure_id=item["id"],
                )
            )
    # New procedures are numbered in the order of the file, not grouped by division.
    file_order = {id(row): order for order, row in enumerate(rows_in_file)}
    plan.new_rows.sort(key=lambda item: file_order[id(item[0])])
    outcome.created = len(plan.new_rows)
    outcome.updated = len(plan.updates)
    outcome.missing = len(plan.missing_ids)
    return plan


#: The survey workbook's column of the procedure's own id (procedures.survey), as written in
#: Japanese or in English.
SYSTEM_ID_HEADERS = ("システムID", "System ID")


def _system_id(row: ParsedRow) -> int | None:
    for header in SYSTEM_ID_HEADERS:
        value = row.extra_get(header).strip()
        if value.isdigit():
            return int(value)
    return None


def _by_system_id(row: ParsedRow, division_id: int | None, by_id: dict) -> dict | None:
    """Find a returned survey row's procedure by its id, even if renamed since the survey."""
    if not by_id:  # nothing in the database to find (a first import)
        return None
    ident = _system_id(row)
    candidate = by_id.get(ident) if ident is not None else None
    if candidate is not None and candidate["division_id"] == division_id:
        return candidate
    return None


def _name_of(row: ParsedRow) -> str:
    """The row's name as stored: without the quote an export puts before "=…" to defuse it."""
    return unquote_formula(row.get("name").strip())


def _name_key_of(row: ParsedRow) -> str:
    return name_key(_name_of(row))


def _match(row: ParsedRow, division_id: int | None, by_code: dict, by_name: dict) -> dict | None:
    if division_id is None:
        return None
    code = row.get("code")
    if code and (division_id, code) in by_code:
        return by_code[(division_id, code)]
    candidate = by_name.get((division_id, _name_key_of(row)))
    # A name match only counts when the codes do not contradict each other.
    if candidate and (not code or not candidate["code"] or candidate["code"] == code):
        return candidate
    return None


_FIELD_POSITION = {name: position for position, name in enumerate(IMPORTED_FIELDS)}


def _field_position(item: tuple[str, Any]) -> int:
    return _FIELD_POSITION[item[0]]


def _compare_row(
    row: ParsedRow, match: dict, division: str, plan: _Plan, outcome: ImportOutcome
) -> None:
    values = stored_values(row.values)
    if _system_id(row) is not None:
        # A survey row: its code and name are context the division could not change; the
        # DX office may have renamed or recoded the procedure since, and that stands.
        values.pop("name", None)
        values.pop("code", None)
    if values.get("annual_volume") == match["annual_volume"] and not values.get(
        "volume_is_estimate", True
    ):
        # The same number written without 約 keeps the note that it is an estimate: exports
        # write plain numbers, and re-importing one must not change anything.
        del values["volume_is_estimate"]
    diffs = [
        FieldChange(name, _comparable(name, match[name]), _comparable(name, value))
        for name, value in sorted(values.items(), key=_field_position)
        if _comparable(name, match[name]) != _comparable(name, value)
    ]
    changes = {diff.field: values[diff.field] for diff in diffs}
    if match["lifecycle"] == Lifecycle.missing:
        changes["lifecycle"] = Lifecycle.active.value
        diffs.append(FieldChange("lifecycle", Lifecycle.missing.value, Lifecycle.active.value))
    if not diffs:
        outcome.unchanged += 1
        return
    if "name" in changes:
        changes["name_key"] = name_key(changes["name"])
    plan.updates.append((match["id"], changes, diffs))
    plan.seen[match["id"]] = {name: match[name] for name in changes}
    outcome.changes.append(
        RowChange(
            kind="changed",
            division=division,
            name=_name_of(row),
            code=row.get("code"),
            sheet=row.sheet,
            row=row.row,
            procedure_id=match["id"],
            fields=diffs,
        )
    )


def _new_change(row: ParsedRow, division: str) -> RowChange:
    return RowChange(
        kind="new",
        division=division,
        name=_name_of(row),
        code=row.get("code"),
        sheet=row.sheet,
        row=row.row,
    )


#: Columns with a length limit (on PostgreSQL a longer value would fail the whole import).
LENGTH_LIMITS = {"division": 200, "department": 200, "code": 100, "channel": 200}


def _too_long(row: ParsedRow, division: str) -> dict[str, Any] | None:
    """Describe the first value of the row too long for its column, if any."""
    for name, limit in LENGTH_LIMITS.items():
        value = division if name == "division" else row.get(name)
        if isinstance(value, str) and len(value) > limit:
            shown = value[:30] + "…"
            return {"value": shown, "length": len(value), "limit": limit}
    return None


def _tables_that_fit(rows: list[ParsedRow]) -> set[int]:
    """Return the ids of the parser's tables none of whose values is too long for its column.

    Their rows need no check one by one (a division taken from the form is still checked).
    """
    tables = {id(row.table): row.table for row in rows if row.table is not None}
    fitting = set()
    for ident, table in tables.items():
        longest = {
            name: max((len(v) for v in table.fields.get(name, ()) if type(v) is str), default=0)
            for name in LENGTH_LIMITS
        }
        if all(longest[name] <= limit for name, limit in LENGTH_LIMITS.items()):
            fitting.add(ident)
    return fitting


def _row_problem(row: ParsedRow, code: str, params: dict[str, Any]) -> Problem:
    return Problem(
        severity="error",
        code=code,
        params={"row": row.row, **params},
        sheet=row.sheet,
        row=row.row,
        column=None,
    )


def _division_id(session: Session, division_name: str | None) -> int | None:
    if not division_name:
        return None
    return session.execute(select(Division.id).where(Division.name == division_name)).scalar()


def find_saved_mapping(
    session: Session, *, division_name: str | None, signatures: list[str]
) -> dict[str, str | None] | None:
    """Return the confirmed mappings of these header signatures for the division, merged."""
    division_id = _division_id(session, division_name)
    query = select(SavedMapping.mapping).where(SavedMapping.header_signature.in_(signatures))
    if division_id is None:
        query = query.where(SavedMapping.division_id.is_(None))
    else:
        query = query.where(SavedMapping.division_id == division_id)
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
                SavedMapping.header_signature == sheet["signature"],
                SavedMapping.division_id.is_(None)
                if division_id is None
                else SavedMapping.division_id == division_id,
            )
        ).scalar()
        if existing is None:
            existing = SavedMapping(
                division_id=division_id, header_signature=sheet["signature"], mapping=mapping
            )
        existing.mapping, existing.user_id, existing.updated_at = mapping, user_id, utcnow()
        session.add(existing)
    session.flush()


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
) -> None:
    """Write the plan: inserts, updates and missing flags in batches, each change audited.

    `progress` is called with the number of procedures each batch wrote.
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


def _insert_new(session, plan, divisions, *, batch_id, user_id, now, tick) -> None:
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


def _new_columns(rows: list[ParsedRow], header_ids: dict[str, int]) -> list[list[Any]]:
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


def _audit_creations(connection, *, batch_id, user_id, now) -> None:
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


def _apply_updates(session, plan, *, batch_id, user_id, now) -> None:
    table = Procedure.__table__
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for procedure_id, changes, _diffs in plan.updates:
        seen = {f"_seen_{name}": value for name, value in plan.seen[procedure_id].items()}
        groups[tuple(sorted(changes))].append({"_id": procedure_id, **seen, **changes})
    connection = session.connection()
    updated = 0
    for fields, params in groups.items():
        # Only where the fields still hold what the comparison saw: a person who saved one of
        # them since refuses the whole import (a save of other fields does not).
        statement = (
            update(table)
            .where(
                table.c.id == bindparam("_id"),
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


def _flag_missing(session, plan, *, batch_id, user_id, now) -> None:
    table = Procedure.__table__
    connection = session.connection()
    # Only procedures still active: one retired by a person meanwhile refuses the import.
    statement = (
        update(table)
        .where(table.c.id == bindparam("_id"), table.c.lifecycle == Lifecycle.active.value)
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
        flagged += connection.execute(statement, [{"_id": ident} for ident in chunk]).rowcount
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


def _audit(connection, events: list[dict[str, Any]], *, batch_id, user_id, now) -> None:
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
            select(Division.id).where(Division.name == division_name)
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
        report=json.dumps({"sheets": outcome.sheets}, ensure_ascii=False),
    )
    session.add(batch)
    session.flush()
    return batch


def import_file(
    session: Session,
    *,
    content: bytes,
    file_name: str,
    division_name: str | None = None,
    only_division: str | None = None,
    user_id: int | None = None,
    dry_run: bool = False,
    limits: ReadLimits | None = None,
    progress: Callable[[int, int], None] | None = None,
    mapping: dict[str, str | None] | None = None,
) -> ImportOutcome:
    """Import a file in the caller's transaction; with dry_run, only report what would change.

    `progress(written, total)` is called as batches of procedures are written.
    """
    outcome, plan = analyse_file(
        session,
        content=content,
        file_name=file_name,
        division_name=division_name,
        only_division=only_division,
        mapping=mapping,
        limits=limits,
    )
    if plan is None or outcome.duplicate_of is not None or dry_run:
        return outcome
    batch = store_batch(
        session,
        content=content,
        outcome=outcome,
        user_id=user_id,
        division_name=division_name,
        status="committed",
    )
    total, written = plan_size(plan), 0

    def advance(count: int) -> None:
        nonlocal written
        written += count
        if progress is not None:
            progress(written, total)

    apply_plan(session, plan, batch_id=batch.id, user_id=user_id, progress=advance)
    outcome.batch_id = batch.id
    outcome.committed = True
    return outcome


#: Batch states from which a commit may start ("running": started by the progress page's job).
COMMITTABLE = ("previewed", "running")


def commit_batch(
    session: Session,
    *,
    batch_id: int,
    user_id: int | None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportOutcome:
    """Apply a previewed batch: parse its stored file again and write the difference.

    `progress(phase, done, total)` follows the phases read → compare → write.
    """
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.status not in COMMITTABLE:
        raise LookupError(batch_id)
    report = progress or (lambda _phase, _done, _total: None)
    report("read", 0, batch.rows)
    division_name = None
    if batch.division_id:
        division_name = session.get(Division, batch.division_id).name
    only = division_name if batch.user_id and _is_division_user(session, batch.user_id) else None
    outcome, plan = analyse_file(
        session,
        content=batch.content,
        file_name=batch.file_name,
        division_name=division_name,
        only_division=only,
        mapping=batch_mapping(batch),
        on_parsed=lambda rows: report("compare", rows, rows),
    )
    if plan is None or outcome.duplicate_of is not None:
        return outcome
    total, written = plan_size(plan), 0
    report("write", 0, total)

    def advance(count: int) -> None:
        nonlocal written
        written += count
        report("write", written, total)

    apply_plan(session, plan, batch_id=batch.id, user_id=user_id, progress=advance)
    save_mappings(session, outcome=outcome, division_name=division_name, user_id=user_id)
    batch.status = "committed"
    batch.created, batch.updated = outcome.created, outcome.updated
    batch.unchanged, batch.missing = outcome.unchanged, outcome.missing
    batch.errors = len(outcome.errors)
    session.add(batch)
    session.flush()
    outcome.batch_id = batch.id
    outcome.committed = True
    return outcome


def batch_mapping(batch: ImportBatch) -> dict[str, str | None] | None:
    """Return the mapping a person chose for this batch on the preview page, if any."""
    return json.loads(batch.mapping) if batch.mapping else None


def _is_division_user(session: Session, user_id: int) -> bool:
    from procedures.models import Role, User

    user = session.get(User, user_id)
    return user is not None and user.role == Role.division
