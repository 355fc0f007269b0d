"""The preview of an import as it is kept on its batch and shown, without parsing the file again.

A preview page is visited many times (reloads, a colleague's second look, the back button);
parsing a large file again on each visit cost seconds and hundreds of megabytes. The preview
is computed when the file is uploaded (or its mapping changed) and kept here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from importers.decisions import Unrecognised
from importers.results import Problem
from procedures.imports.preview import FieldChange, ImportOutcome, RowChange
from procedures.models import ImportBatch

#: How many problems and changes the preview page lists (all are counted).
SHOWN_PROBLEMS = 200
SHOWN_CHANGES = 300


@dataclass
class StoredPreview:
    """What the preview page shows: the counts, the first problems and changes, the columns."""

    rows: int
    created: int
    updated: int
    unchanged: int
    missing: int
    error_count: int
    problems: list[Problem] = field(default_factory=list)
    changes: list[RowChange] = field(default_factory=list)
    change_count: int = 0
    mapping_saved: bool = False
    sheets: list[dict[str, Any]] = field(default_factory=list)
    #: The problems grouped by kind and column, each with its count and first rows.
    groups: list[ProblemGroup] = field(default_factory=list)
    unrecognised: list[Unrecognised] = field(default_factory=list)
    absent: int = 0
    nothing_importable: bool = False

    @property
    def undecided(self) -> int:
        """Return how many listed values no decision covers."""
        return sum(1 for entry in self.unrecognised if entry.decision is None)


@dataclass
class ProblemGroup:
    """Problems of one kind in one column: shown once, with their count and first rows."""

    severity: str
    code: str
    sheet: str | None
    column: str | None
    count: int
    rows: list[int]
    #: The first problem: its message says what to do (without its row number).
    example: Problem
    #: The header of the column read as the division, when changing its mapping may be the fix.
    division_column: str | None = None


def preview_report(outcome: ImportOutcome) -> dict[str, Any]:
    """Return the part of an outcome the preview page shows, as JSON-ready data."""
    problems = (outcome.errors + outcome.warnings)[:SHOWN_PROBLEMS]
    return {
        "groups": [asdict(group) for group in problem_groups(outcome)],
        "unrecognised": [asdict(entry) for entry in outcome.unrecognised],
        "absent": outcome.absent,
        "nothing_importable": outcome.nothing_importable,
        "rows": outcome.rows,
        "created": outcome.created,
        "updated": outcome.updated,
        "unchanged": outcome.unchanged,
        "missing": outcome.missing,
        "error_count": len(outcome.errors),
        "problems": [asdict(problem) for problem in problems],
        "changes": [asdict(change) for change in outcome.changes[:SHOWN_CHANGES]],
        "change_count": len(outcome.changes),
        "mapping_saved": outcome.mapping_saved,
        # Compact ({id: version}): a re-import of a large inventory changes thousands.
        "versions": {
            "changed": outcome.changed_versions,
            "absent": outcome.absent_versions,
        },
    }


def batch_report(outcome: ImportOutcome) -> str:
    """Return the report column of a new batch: its sheets and its preview."""
    report = {"sheets": outcome.sheets, "preview": preview_report(outcome)}
    # default=str: a message parameter is shown as text whatever its type.
    return json.dumps(report, ensure_ascii=False, default=str)


def stored_preview(batch: ImportBatch) -> StoredPreview | None:
    """Return the preview kept on a batch, or None when it holds none (an older batch)."""
    report = json.loads(batch.report or "{}")
    kept = report.get("preview")
    if kept is None:
        return None
    return StoredPreview(
        **{name: kept[name] for name in _COUNTS},
        groups=[_group_from_json(group) for group in kept.get("groups", [])],
        unrecognised=[Unrecognised(**entry) for entry in kept.get("unrecognised", [])],
        absent=kept.get("absent", 0),
        nothing_importable=kept.get("nothing_importable", False),
        problems=[Problem(**problem) for problem in kept["problems"]],
        changes=[_change_from_json(change) for change in kept["changes"]],
        change_count=kept["change_count"],
        mapping_saved=kept["mapping_saved"],
        sheets=report.get("sheets", []),
    )


def absent_count(batch: ImportBatch) -> int | None:
    """Return how many procedures of its divisions the batch's file lacked, as last previewed.

    None when the batch keeps no preview (an older batch).
    """
    kept = json.loads(batch.report or "{}").get("preview")
    return None if kept is None or "absent" not in kept else int(kept["absent"])


def kept_versions(batch: ImportBatch, *, absent: bool = True) -> dict[int, int] | None:
    """Return {procedure id: version} as the batch's preview compared them, or None.

    The procedures it changes, and (with `absent`) those of its divisions absent from the
    file. None when the preview kept no versions (previewed before they were kept).
    """
    kept = json.loads(batch.report or "{}").get("preview") or {}
    versions = kept.get("versions")
    if not isinstance(versions, dict):
        return None
    parts = [versions.get("changed", {}), versions.get("absent", {}) if absent else {}]
    return {int(ident): int(version) for part in parts for ident, version in part.items()}


#: How many of the procedures saved since a preview its refusal names; the rest are counted.
NAMED_STALE = 10


def with_stale(report: str | None, ids: list[int]) -> str:
    """Return a batch's report noting that its commit was refused: saved since its preview.

    The first NAMED_STALE ids are kept, and how many there were; a new preview drops it.
    """
    kept = json.loads(report or "{}")
    kept["stale"] = {"ids": sorted(ids)[:NAMED_STALE], "count": len(ids)}
    return json.dumps(kept, ensure_ascii=False)


def stale_record(batch: ImportBatch) -> tuple[list[int], int] | None:
    """Return (first ids, count) of a refused commit's procedures saved since the preview.

    None when the batch's commit was not refused for that (or it was previewed again since).
    """
    stale = json.loads(batch.report or "{}").get("stale")
    if not isinstance(stale, dict):
        return None
    return [int(ident) for ident in stale.get("ids", [])], int(stale.get("count", 0))


_COUNTS = ("rows", "created", "updated", "unchanged", "missing", "error_count")


def _change_from_json(data: dict[str, Any]) -> RowChange:
    fields = [FieldChange(**item) for item in data.pop("fields")]
    return RowChange(**data, fields=fields)


def _group_from_json(data: dict[str, Any]) -> ProblemGroup:
    return ProblemGroup(**{**data, "example": Problem(**data["example"])})


#: Refusals that a column wrongly read as the division causes on every row.
_DIVISION_CODES = ("other_division", "no_division", "duplicate_row")

#: How many row numbers a group lists.
GROUP_ROWS = 10


#: Warnings about several rows at once (procedures.imports.safeguards), with the field whose
#: column they are about: their count and rows are parameters, not one problem per row.
_WARNING_FIELDS = {
    "volume_implausible": "annual_volume",
    "code_in_other_division": "code",
    "name_in_other_division": "name",
}


def problem_groups(outcome: ImportOutcome) -> list[ProblemGroup]:
    """Group an outcome's problems by severity, kind, sheet and column, errors first."""
    groups: dict[tuple[Any, ...], ProblemGroup] = {}
    for problem in outcome.errors + outcome.warnings:
        key = (problem.severity, problem.code, problem.sheet, problem.column)
        group = groups.get(key)
        if group is None:
            group = groups[key] = ProblemGroup(
                problem.severity, problem.code, problem.sheet, problem.column, 0, [], problem
            )
        if problem.row is None and _counts_rows(problem):
            _fill_from_params(group, problem, outcome.sheets)
            continue
        group.count += 1
        if problem.row is not None and len(group.rows) < GROUP_ROWS:
            group.rows.append(problem.row)
    division_columns = {
        sheet["name"]: column["header"]
        for sheet in outcome.sheets
        for column in sheet["columns"]
        if column["field"] == "division"
    }
    for group in groups.values():
        if group.code in _DIVISION_CODES:
            group.division_column = division_columns.get(group.sheet or "")
    return sorted(groups.values(), key=lambda group: group.severity != "error")


def _counts_rows(problem: Problem) -> bool:
    """Return True for a warning about several rows: its count and rows are parameters."""
    return isinstance(problem.params.get("count"), int) and "row_numbers" in problem.params


def _fill_from_params(group: ProblemGroup, problem: Problem, sheets: list[dict]) -> None:
    """Give a warning about several rows its count, rows, and the column (and sheet) it is about."""
    group.count += problem.params["count"]
    numbers = [int(number) for number in problem.params["row_numbers"]]
    group.rows.extend(numbers[: GROUP_ROWS - len(group.rows)])
    field_name = _WARNING_FIELDS.get(problem.code)
    where = {
        (sheet["name"], column["header"])
        for sheet in sheets
        for column in sheet.get("columns", [])
        if field_name and column.get("field") == field_name
    }
    if len({header for _sheet, header in where}) == 1:
        group.column = next(iter(where))[1]
    if len(where) == 1:
        group.sheet = next(iter(where))[0]
