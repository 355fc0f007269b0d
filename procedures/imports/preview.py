"""The import preview: parse a file and compare its rows with the inventory, writing nothing."""

from __future__ import annotations

import gc
import hashlib
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, overload

from sqlalchemy import select
from sqlmodel import Session, col

from importers import steps as step_rules
from importers.decisions import RAW_VALUES, Unrecognised, ValueMap, merged
from importers.inventory import (
    FIELDS,
    InventoryRefused,
    ParsedInventory,
    ParsedRow,
    Problem,
    ReadLimits,
    parse_inventory,
)
from importers.schema import StepStatus
from procedures.catalogue.procedures import (
    audit_text,
    blockers_from_column,
    blockers_to_column,
    name_key,
)
from procedures.imports import safeguards
from procedures.imports.mappings import find_saved_mapping, find_saved_values
from procedures.models import (
    Division,
    ImportBatch,
    Lifecycle,
    Procedure,
)

#: Procedure columns an import may set: the importer's fields but the organisation ones, the
#: words of the values it did not understand, and the steps its columns tell.
IMPORTED_FIELDS = (
    *(name for name in FIELDS if name not in ("department", "division")),
    RAW_VALUES,
    step_rules.STEPS_FIELD,
)

#: An import's scope: the whole inventory of its divisions (absent procedures become
#: missing), or only the procedures in the file (nothing is marked missing).
WHOLE, ONLY_THESE = "whole", "only_these"
SCOPES = (WHOLE, ONLY_THESE)


#: Columns that cannot hold NULL: a blank cell leaves the stored value alone.
NOT_NULL_FIELDS = {"verdict", "mynaportal_eligible", "volume_is_estimate", "name"}


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

    @overload
    def __getitem__(self, index: int) -> RowChange: ...

    @overload
    def __getitem__(self, index: slice) -> list[RowChange]: ...

    def __getitem__(self, index: int | slice) -> RowChange | list[RowChange]:
        if isinstance(index, slice):
            return [_describe(item) for item in self._items[index]]
        return _describe(self._items[index])


def _describe(item: RowChange | tuple[ParsedRow, str]) -> RowChange:
    return _row_change(*item) if isinstance(item, tuple) else item


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
    #: Values the vocabulary did not decide, once per column and value, decided or not.
    unrecognised: list[Unrecognised] = field(default_factory=list)
    #: Procedures of the file's divisions absent from it (marked missing unless the scope is
    #: ONLY_THESE).
    absent: int = 0
    scope: str = WHOLE
    #: The version of each procedure the import changes, and of each absent one, when they
    #: were compared: kept with the preview, so that its commit refuses when one of them was
    #: saved since (procedures.imports.service.commit_batch).
    changed_versions: dict[int, int] = field(default_factory=dict)
    absent_versions: dict[int, int] = field(default_factory=dict)

    @property
    def undecided(self) -> list[Unrecognised]:
        """Return the listed values no decision covers."""
        return [entry for entry in self.unrecognised if entry.decision is None]

    @property
    def nothing_importable(self) -> bool:
        """Return True when rows were read but every one of them was refused."""
        accepted = self.created + self.updated + self.unchanged
        return accepted == 0 and bool(self.errors) and self.refused is None

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
            "absent": self.absent,
            "scope": self.scope,
            "errors": [problem(item) for item in self.errors],
            "warnings": [problem(item) for item in self.warnings],
            "unrecognised": [entry.as_json() for entry in self.undecided],
            "decided": [entry.as_json() for entry in self.unrecognised if entry.decision],
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
    #: Each procedure to update or flag missing: (version, missing_batch_id) when compared,
    #: what reverting the import needs besides `seen` (procedures.imports.revert).
    versions: dict[int, tuple[int, int | None]] = field(default_factory=dict)


class ImportChanged(Exception):
    """Procedures changed between the comparison and the write: nothing may be written."""


class PreviewStale(ImportChanged):
    """Procedures the import changes were saved after its preview: nothing may be written.

    `ids` lists them (empty when the preview kept no versions to compare: an older batch).
    """

    def __init__(self, ids: list[int]) -> None:
        self.ids = sorted(ids)
        super().__init__(f"{len(self.ids)} procedures saved since the preview")


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
        select(col(ImportBatch.id)).where(
            col(ImportBatch.sha256) == sha256, col(ImportBatch.status) == "committed"
        )
    ).scalar()


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How a file is read and which procedures it is compared with."""

    #: The division of the rows that name none; its saved mappings apply.
    division_name: str | None = None
    #: A division user's import: rows of any other division are refused.
    only_division: str | None = None
    #: Header → field; None applies the mapping saved for the same headers, if any.
    mapping: dict[str, str | None] | None = None
    limits: ReadLimits | None = None
    #: A person's decisions on values the vocabulary did not decide, over the saved ones.
    value_map: ValueMap | None = None
    #: WHOLE or ONLY_THESE (see SCOPES).
    scope: str = WHOLE


def analyse_file(
    session: Session,
    *,
    content: bytes,
    file_name: str,
    options: ReadOptions | None = None,
    on_parsed: Callable[[int], None] | None = None,
) -> tuple[ImportOutcome, _Plan | None]:
    """Parse a file and compare it with the database, writing nothing.

    Without an explicit mapping, a mapping confirmed earlier for the same division and the
    same headers is applied, so a division's usual sheet needs no mapping step.
    `on_parsed(rows)` is called once the file is read, before the comparison.
    """
    outcome = ImportOutcome(file_name=file_name, sha256=sha256_of(content))
    outcome.duplicate_of = find_committed_batch(session, outcome.sha256)
    with paused_gc():
        return _parse_and_compare(session, outcome, content, options or ReadOptions(), on_parsed)


def _parse_and_compare(
    session: Session,
    outcome: ImportOutcome,
    content: bytes,
    options: ReadOptions,
    on_parsed: Callable[[int], None] | None,
) -> tuple[ImportOutcome, _Plan | None]:
    try:
        parsed = _parse_with_saved(session, outcome, content, options)
    except InventoryRefused as refusal:
        outcome.refused = refusal
        return outcome, None
    _describe_sheets(outcome, parsed)
    if on_parsed is not None:
        on_parsed(outcome.rows)
    plan = compare_rows(
        session,
        parsed.rows(),
        outcome,
        division_name=options.division_name,
        only=options.only_division,
        scope=options.scope,
    )
    outcome.warnings += safeguards.implausible_volumes(list(parsed.rows()))
    outcome.warnings += safeguards.elsewhere(session, plan.new_rows)
    return outcome, plan


def _parse_with_saved(
    session: Session, outcome: ImportOutcome, content: bytes, options: ReadOptions
) -> ParsedInventory:
    """Parse the file with the mapping and value decisions saved for its division.

    The file is read once, and again only when a saved mapping or a saved decision for one
    of its values applies (saved items are found by the sheets' header signatures).
    """
    file_name, limits = outcome.file_name, options.limits or ReadLimits()
    given = options.value_map or {}
    parsed = parse_inventory(
        content, file_name, mapping=options.mapping, limits=limits, value_map=given
    )
    signatures = [sheet.header_signature for sheet in parsed.sheets]
    division = options.division_name
    saved = None
    if options.mapping is None:
        saved = find_saved_mapping(session, division_name=division, signatures=signatures)
    saved_values = find_saved_values(session, division_name=division, signatures=signatures)
    applies = any(entry.key in saved_values.get(entry.field, {}) for entry in parsed.unrecognised)
    if saved or applies:
        values = merged(saved_values, given)
        mapping = saved or options.mapping
        parsed = parse_inventory(
            content, file_name, mapping=mapping, limits=limits, value_map=values
        )
        outcome.mapping_saved = bool(saved)
    for entry in parsed.unrecognised:
        entry.earlier = entry.decision is not None and entry.key not in given.get(entry.field, {})
    outcome.unrecognised = parsed.unrecognised
    outcome.scope = options.scope
    return parsed


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
    # A row whose values were all understood clears the words kept from an earlier file.
    stored.setdefault(RAW_VALUES, None)
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
        col(Procedure.id),
        col(Procedure.division_id),
        col(Procedure.name_key),
        col(Procedure.lifecycle),
        col(Procedure.version),
        col(Procedure.missing_batch_id),
        *columns,
    ).where(col(Procedure.division_id).in_(division_ids))
    return [dict(row._mapping) for row in session.execute(query)]


def compare_rows(
    session: Session,
    rows: Iterable[ParsedRow],
    outcome: ImportOutcome,
    *,
    division_name: str | None = None,
    only: str | None = None,
    scope: str = WHOLE,
) -> _Plan:
    """Sort rows into new, changed, unchanged and missing against the database.

    Procedures of the file's divisions that it does not list are counted as absent; they are
    marked missing only when the file is the whole inventory (scope WHOLE).
    """
    divisions = dict(session.execute(select(col(Division.name), col(Division.id))).all())
    rows_by_division: dict[str, list[ParsedRow]] = defaultdict(list)
    rows_in_file = list(map(_with_steps, rows))
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
            outcome.absent += 1
            # Kept whatever the scope: the scope may still be chosen when the import is confirmed.
            outcome.absent_versions[item["id"]] = item["version"]
            if scope == ONLY_THESE:
                continue
            plan.missing_ids.append(item["id"])
            plan.versions[item["id"]] = item["version"], item["missing_batch_id"]
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


def _with_steps(row: ParsedRow) -> ParsedRow:
    """Give a row made without a sheet (the demo city's) the steps its fields tell.

    A sheet's rows got theirs from its columns when read (importers.steps).
    """
    if row.table is not None or step_rules.STEPS_FIELD in row.values:
        return row
    steps = step_rules.from_values(row.values)
    if steps is None:
        return row
    return ParsedRow(row.sheet, row.row, {**row.values, step_rules.STEPS_FIELD: steps}, row.extra)


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
    read_steps = values.pop(step_rules.STEPS_FIELD, None)
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
    _compare_steps(match, read_steps, changes, diffs)
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
    plan.versions[match["id"]] = match["version"], match["missing_batch_id"]
    outcome.changed_versions[match["id"]] = match["version"]
    outcome.changes.append(
        _row_change(row, division, "changed", procedure_id=match["id"], fields=diffs)
    )


def _compare_steps(
    match: dict, read: str | None, changes: dict[str, Any], diffs: list[FieldChange]
) -> None:
    """Add the steps the file tells over the stored ones: one change of each step that moves.

    A step the file cannot tell keeps what the procedure holds (importers.steps).
    """
    stored = match[step_rules.STEPS_FIELD]
    new = step_rules.merged(stored, read)
    moved = step_rules.differences(stored, new)
    if not moved:
        return
    changes[step_rules.STEPS_FIELD] = new
    diffs += [
        FieldChange(step_rules.step_field(key), step_audit(old), step_audit(status))
        for key, old, status in moved
    ]


def step_audit(status: str) -> str | None:
    """Return a step's status as the audit log writes it: None for unknown, as other fields."""
    return None if status == StepStatus.unknown else status


def _row_change(row: ParsedRow, division: str, kind: str = "new", **details: Any) -> RowChange:
    return RowChange(
        kind=kind,
        division=division,
        name=_name_of(row),
        code=row.get("code"),
        sheet=row.sheet,
        row=row.row,
        **details,
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
