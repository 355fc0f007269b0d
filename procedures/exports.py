"""Workbooks out: the yearly conversion list and the inventory; no cell is ever a formula."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import select
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


def _cell_text(field_name: str, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "○" if value else "×"
    vocabularies = {
        "kind": KINDS,
        "online_status": ONLINE_STATUSES,
        "verdict": VERDICTS,
    }
    if field_name in vocabularies:
        return label(vocabularies[field_name], value)
    if field_name == "blockers":
        return "、".join(label(BLOCKERS, code) for code in blockers_from_column(value)) or None
    return neutralise(value)


def inventory_workbook(session: Session, filters: ProcedureFilter | None = None) -> bytes:
    """Write the inventory (or the filtered part of it) as an .xlsx in write-only mode."""
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
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("手続一覧")
    sheet.freeze_panes = "A2"
    sheet.append([header for header, _name in INVENTORY_COLUMNS])
    for row in session.execute(query.execution_options(yield_per=2000)):
        sheet.append([_cell_text(name, value) for name, value in zip(fields, row, strict=True)])
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


def plan_workbook(session: Session, *, fiscal_year: int, city: str) -> bytes:
    """Write the yearly conversion list as a workbook a committee can print as it is."""
    rows = plan_rows(session, fiscal_year)
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
    header_row = 4
    for column, header in enumerate(headers, start=1):
        cell = sheet.cell(row=header_row, column=column, value=header)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    from procedures.vocabulary import tier_label

    for offset, row in enumerate(rows, start=1):
        values = [
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
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    return _save(workbook)
