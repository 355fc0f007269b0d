"""The whole inventory as a workbook."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Boolean, Integer, select
from sqlmodel import Session, col

from procedures.catalogue.procedures import ProcedureFilter, blockers_from_column
from procedures.core.spreadsheets import FORMULA_PREFIXES, neutralise, workbook_bytes
from procedures.models import Department, Division, Procedure
from procedures.vocabulary import (
    BLOCKERS,
    CHANNELS,
    KINDS,
    ONLINE_STATUSES,
    VERDICTS,
)

#: The inventory's columns: header (Japanese, as the importer recognises it) and field.
INVENTORY_COLUMNS = (
    ("手続コード", "code"),
    ("部", "department"),
    ("課", "division"),
    ("手続名", "name"),
    ("根拠法令", "legal_basis"),
    ("手続種別", "kind"),
    ("年間件数", "annual_volume"),
    ("来庁の要否", "visit_required"),
    ("来庁が必要な理由", "visit_reason"),
    ("手数料の有無", "fee_required"),
    ("押印・署名の要否", "seal_required"),
    ("マイナポータル対象", "mynaportal_eligible"),
    ("オンライン化の状況", "online_status"),
    ("申請チャネル", "channel"),
    ("オンライン化の可否", "verdict"),
    ("判断理由", "verdict_reason"),
    ("阻害要因", "blockers"),
    ("目標年度", "target_fiscal_year"),
    ("実施年度", "done_fiscal_year"),
    ("備考", "notes"),
)


def _label_cell(vocabulary: dict[str, Any]) -> Callable[[Any], Any]:
    # Translate each label once per export: a lazy string costs a locale lookup every time it
    # is turned into text, which was a third of the export's time over 75,000 rows.
    labels = {code: str(text) for code, text in vocabulary.items()}

    def cell(value: Any) -> Any:
        if value is None:
            return None
        if value == "":
            return ""
        return labels[value] if value in labels else neutralise(value)

    return cell


def _blockers_cell() -> Callable[[Any], Any]:
    labels = {code: str(text) for code, text in BLOCKERS.items()}
    # Few distinct combinations of blockers exist, so each column value is rendered once.
    seen: dict[str, Any] = {}

    def cell(value: Any) -> Any:
        if value is None:
            return None
        if value not in seen:
            seen[value] = (
                "、".join(
                    labels[code] if code in labels else neutralise(code)
                    for code in blockers_from_column(value)
                )
                or None
            )
        return seen[value]

    return cell


def inventory_rows(session: Session, filters: ProcedureFilter | None = None) -> Iterator[list]:
    """Yield the inventory's cell values row by row, in sheet order, without the header."""
    fields = [name for _header, name in INVENTORY_COLUMNS]
    # The model attributes as they are at run time (InstrumentedAttribute, with a .type); the
    # type checker knows them only by their Python values.
    columns: list[Any] = [
        Department.name
        if name == "department"
        else Division.name
        if name == "division"
        else getattr(Procedure, name)
        for name in fields
    ]
    conditions = (filters or ProcedureFilter()).conditions()
    query = (
        select(*columns)
        .join(Division, col(Division.id) == Procedure.division_id)
        .join(Department, col(Department.id) == Division.department_id)
        .where(*conditions)
        .order_by(col(Department.id), col(Division.id), col(Procedure.code), col(Procedure.id))
    )
    # The cells are made column by column without a function call per plain cell: 75,000 rows
    # of 20 cells make the per-cell overhead the bulk of the export's own time.
    labelled = {
        "kind": _label_cell(KINDS),
        "online_status": _label_cell(ONLINE_STATUSES),
        "verdict": _label_cell(VERDICTS),
        # The importer reads a channel's label back as its code (importers/value_words.json).
        "channel": _label_cell(CHANNELS),
        "blockers": _blockers_cell(),
    }
    converted = [(index, labelled[name]) for index, name in enumerate(fields) if name in labelled]
    flags = [
        index
        for index, column in enumerate(columns)
        if fields[index] not in labelled and isinstance(column.type, Boolean)
    ]
    # Every other column that is not a number may hold text a user typed or imported.
    texts = [
        index
        for index, column in enumerate(columns)
        if fields[index] not in labelled and not isinstance(column.type, Boolean | Integer)
    ]
    marks = {True: "○", False: "×"}
    # neutralise() inlined: every prefix is one character, so a set lookup on the first one.
    first_characters = frozenset(FORMULA_PREFIXES)
    # Core rows straight from the connection: the ORM's row processing adds nothing here.
    result = session.connection().execute(query.execution_options(yield_per=2000))
    for row in result:
        values = list(row)
        for index in texts:
            value = values[index]
            if value.__class__ is str and value and value[0] in first_characters:
                values[index] = "'" + value
        for index in flags:
            values[index] = marks.get(values[index])
        for index, make in converted:
            values[index] = make(values[index])
        yield values


def inventory_workbook(session: Session, filters: ProcedureFilter | None = None) -> bytes:
    """Write the inventory (or the filtered part of it) as an .xlsx in write-only mode."""
    # Loaded when first used: keeps the CLI's start-up close to the bare framework.
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("手続一覧")
    sheet.freeze_panes = "A2"
    sheet.append([header for header, _name in INVENTORY_COLUMNS])
    for values in inventory_rows(session, filters):
        sheet.append(values)
    return workbook_bytes(workbook)
