"""Workbooks out: the yearly conversion list and the inventory; no cell is ever a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import Boolean, Integer, select
from sqlmodel import Session

from procedures.catalogue import ProcedureFilter, blockers_from_column
from procedures.models import Department, Division, Lifecycle, PlanEntry, Procedure
from procedures.vocabulary import (
    BLOCKERS,
    KINDS,
    ONLINE_STATUSES,
    VERDICTS,
    explain_reason,
    japanese_fiscal_year,
    label,
)

#: Characters that make Excel (or LibreOffice) treat a cell as a formula or command.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Prefix text that Excel would evaluate with an apostrophe-like quote so it stays text."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


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
    columns = [
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
        .join(Division, Division.id == Procedure.division_id)
        .join(Department, Department.id == Division.department_id)
        .where(*conditions)
        .order_by(Department.id, Division.id, Procedure.code, Procedure.id)
    )
    # The cells are made column by column without a function call per plain cell: 75,000 rows
    # of 20 cells make the per-cell overhead the bulk of the export's own time.
    labelled = {
        "kind": _label_cell(KINDS),
        "online_status": _label_cell(ONLINE_STATUSES),
        "verdict": _label_cell(VERDICTS),
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
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("手続一覧")
    sheet.freeze_panes = "A2"
    sheet.append([header for header, _name in INVENTORY_COLUMNS])
    for values in inventory_rows(session, filters):
        sheet.append(values)
    return _save(workbook)


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def plan_rows(session: Session, fiscal_year: int) -> list[Any]:
    """Return the plan's procedures of one fiscal year, in plan order."""
    query = (
        select(
            PlanEntry.position,
            Department.name,
            Division.name,
            Procedure.code,
            Procedure.name,
            PlanEntry.tier,
            PlanEntry.reason,
            Procedure.annual_volume,
            Procedure.channel,
            Procedure.blockers,
            Procedure.id,
            PlanEntry.score,
        )
        .join(Procedure, Procedure.id == PlanEntry.procedure_id)
        .join(Division, Division.id == Procedure.division_id)
        .join(Department, Department.id == Division.department_id)
        .where(PlanEntry.fiscal_year == fiscal_year, Procedure.lifecycle != Lifecycle.retired)
        .order_by(PlanEntry.position)
    )
    return list(session.execute(query))


HEADER_FILL = PatternFill("solid", fgColor="DCE7F7")


def plan_table(session: Session, fiscal_year: int) -> tuple[list[str], list[list[Any]]]:
    """Return the yearly list's headers and rows, in the reader's language (plain values)."""
    from procedures.vocabulary import tier_label

    headers = [
        _("No."),
        _("Department"),
        _("Division"),
        _("Code"),
        _("Procedure"),
        _("Tier"),
        _("Reason for its place"),
        _("Annual volume"),
        _("Channel"),
        _("Blockers to remove"),
    ]
    rows = [
        [
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            tier_label(row[5]),
            explain_reason(row[6]),
            row[7],
            row[8],
            "、".join(label(BLOCKERS, code) for code in blockers_from_column(row[9])),
        ]
        for row in plan_rows(session, fiscal_year)
    ]
    return headers, rows


def plan_workbook(session: Session, *, fiscal_year: int, city: str) -> bytes:
    """Write the yearly conversion list as a workbook a committee can print as it is."""
    headers, rows = plan_table(session, fiscal_year)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = str(fiscal_year)
    title = _(
        "%(city)s: procedures to put online in %(era)s (FY%(year)d)",
        city=city,
        era=japanese_fiscal_year(fiscal_year),
        year=fiscal_year,
    )
    sheet["A1"] = neutralise(title)
    sheet["A1"].font = Font(size=14, bold=True)
    sheet["A2"] = _(
        "As of %(date)s; %(count)d procedures", date=date.today().isoformat(), count=len(rows)
    )
    header_row = 4
    _write_header(sheet, header_row, headers)
    for offset, values in enumerate(rows, start=1):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=header_row + offset, column=column, value=neutralise(value))
            if column == 8:
                cell.number_format = "#,##0"
    widths = [6, 16, 18, 14, 44, 18, 40, 12, 16, 28]
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    last_row = header_row + max(len(rows), 1)
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    sheet.auto_filter.ref = f"A{header_row}:{get_column_letter(len(headers))}{last_row}"
    print_on_a4(sheet, header_row=header_row)
    _summary_sheet(workbook, rows, title)
    return _save(workbook)


def _write_header(sheet, row: int, headers: list[str]) -> None:
    for column, header in enumerate(headers, start=1):
        cell = sheet.cell(row=row, column=column, value=header)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")


def print_on_a4(sheet, *, header_row: int | None = None, landscape: bool = True) -> None:
    """Print a sheet on A4, one page wide, with its header row repeated on every page."""
    if header_row is not None:
        sheet.print_title_rows = f"{header_row}:{header_row}"
    if landscape:
        sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def _summary_sheet(workbook: Workbook, rows: list[list[Any]], title: str) -> None:
    """Add counts and annual applications per department and per tier."""
    sheet = workbook.create_sheet(_("Summary"))
    sheet["A1"] = neutralise(title)
    sheet["A1"].font = Font(size=14, bold=True)
    row_number = 3
    for heading, column in ((_("Department"), 1), (_("Tier"), 5)):
        groups: dict[str, list[int]] = {}
        for values in rows:
            totals = groups.setdefault(values[column], [0, 0])
            totals[0] += 1
            totals[1] += values[7] or 0
        _write_header(sheet, row_number, [heading, _("Number of procedures"), _("Annual volume")])
        for name, (count, volume) in sorted(groups.items(), key=lambda item: -item[1][0]):
            row_number += 1
            sheet.cell(row=row_number, column=1, value=neutralise(name))
            sheet.cell(row=row_number, column=2, value=count).number_format = "#,##0"
            sheet.cell(row=row_number, column=3, value=volume).number_format = "#,##0"
        row_number += 1
        sheet.cell(row=row_number, column=1, value=_("Total")).font = Font(bold=True)
        sheet.cell(row=row_number, column=2, value=sum(g[0] for g in groups.values()))
        sheet.cell(row=row_number, column=3, value=sum(g[1] for g in groups.values()))
        sheet.cell(row=row_number, column=3).number_format = "#,##0"
        row_number += 3
    for column, width in zip("ABC", (24, 12, 16), strict=True):
        sheet.column_dimensions[column].width = width
    print_on_a4(sheet, header_row=3)


#: CSV encodings offered: Excel opens UTF-8 with a BOM correctly; CP932 for older systems.
CSV_ENCODINGS = {"utf-8": "utf-8-sig", "cp932": "cp932"}


def plan_csv(session: Session, *, fiscal_year: int, encoding: str) -> bytes:
    """Write the yearly list as CSV; characters CP932 cannot hold become "?"."""
    headers, rows = plan_table(session, fiscal_year)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows([[neutralise(value) for value in values] for values in rows])
    return buffer.getvalue().encode(CSV_ENCODINGS[encoding], errors="replace")
