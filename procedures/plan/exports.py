"""The yearly conversion list as a workbook and as CSV."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlmodel import Session, col

from importers.schema import Completeness
from procedures.catalogue.procedures import blockers_from_column
from procedures.core import clock
from procedures.core.i18n import number
from procedures.core.spreadsheets import (
    neutralise,
    print_on_a4,
    titled_workbook,
    workbook_bytes,
    write_header_row,
)
from procedures.models import Department, Division, Lifecycle, PlanEntry, Procedure
from procedures.plan.completion import Judged
from procedures.plan.reasons import reason_text
from procedures.vocabulary import (
    BLOCKERS,
    CHANNELS,
    COMPLETENESS,
    japanese_fiscal_year,
    label,
)

if TYPE_CHECKING:
    from openpyxl import Workbook


def plan_rows(session: Session, fiscal_year: int) -> list[Any]:
    """Return the plan's procedures of one fiscal year, in plan order."""
    query = (
        select(
            col(PlanEntry.position),
            col(Department.name),
            col(Division.name),
            col(Procedure.code),
            col(Procedure.name),
            col(PlanEntry.tier),
            col(PlanEntry.reason),
            col(Procedure.annual_volume),
            col(Procedure.channel),
            col(Procedure.blockers),
            col(Procedure.id),
            col(PlanEntry.score),
            col(Procedure.steps),
        )
        .join(Procedure, col(Procedure.id) == PlanEntry.procedure_id)
        .join(Division, col(Division.id) == Procedure.division_id)
        .join(Department, col(Department.id) == Division.department_id)
        .where(
            col(PlanEntry.fiscal_year) == fiscal_year,
            col(Procedure.lifecycle) != Lifecycle.retired,
        )
        .order_by(col(PlanEntry.position))
    )
    return list(session.execute(query))


def done_rows(session: Session, fiscal_year: int) -> list[Any]:
    """Return the procedures put online in a fiscal year (not retired), by department and code."""
    query = (
        select(
            col(Department.name),
            col(Division.name),
            col(Procedure.code),
            col(Procedure.name),
            col(Procedure.annual_volume),
            col(Procedure.id),
        )
        .join(Division, col(Division.id) == Procedure.division_id)
        .join(Department, col(Department.id) == Division.department_id)
        .where(
            col(Procedure.done_fiscal_year) == fiscal_year,
            col(Procedure.lifecycle) != Lifecycle.retired,
        )
        .order_by(col(Department.name), col(Division.name), col(Procedure.code), col(Procedure.id))
    )
    return list(session.execute(query))


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
        _("Once converted"),
    ]
    found = plan_rows(session, fiscal_year)
    rows = [
        [
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            tier_label(row[5]),
            reason_text(row[6]),
            row[7],
            label(CHANNELS, row[8]) or None,
            "、".join(label(BLOCKERS, code) for code in blockers_from_column(row[9])),
            label(COMPLETENESS, once),
        ]
        for row, once in zip(found, once_converted(found), strict=True)
    ]
    return headers, rows


def once_converted(rows: list[Any]) -> list[Completeness]:
    """Return where each plan row's steps stand once it is converted (each text judged once)."""
    judged = Judged()
    return [judged[row[12]] for row in rows]


#: The column that says whether a procedure is complete online once converted (0-based).
ONCE_CONVERTED = 10


def completion_counts(rows: list[list[Any]]) -> tuple[int, int]:
    """Return how many rows of the yearly list become complete online, and are not confirmed."""
    said = [values[ONCE_CONVERTED] for values in rows]
    return (
        said.count(label(COMPLETENESS, Completeness.complete)),
        said.count(label(COMPLETENESS, Completeness.not_confirmed)),
    )


#: The column of the reasons in the yearly list (1-based, as openpyxl counts).
REASON_COLUMN = 7


def plan_workbook(session: Session, *, fiscal_year: int, city: str) -> bytes:
    """Write the yearly conversion list as a workbook a committee can print as it is."""
    # Loaded when first used: keeps the CLI's start-up close to the bare framework.
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    headers, rows = plan_table(session, fiscal_year)
    title = _(
        "%(city)s: procedures to put online in %(era)s (FY%(year)d)",
        city=city,
        era=japanese_fiscal_year(fiscal_year),
        year=fiscal_year,
    )
    workbook, sheet = titled_workbook(str(fiscal_year), title)
    complete, not_confirmed = completion_counts(rows)
    sheet["A2"] = _(
        "As of %(date)s; %(count)s procedures (complete online once converted: %(complete)s; "
        "with a step not yet confirmed: %(unknown)s)",
        date=clock.today().isoformat(),
        count=number(len(rows)),
        complete=number(complete),
        unknown=number(not_confirmed),
    )
    header_row = 4
    write_header_row(sheet, header_row, headers)
    for offset, values in enumerate(rows, start=1):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=header_row + offset, column=column, value=neutralise(value))
            if column == 8:
                cell.number_format = "#,##0"
            elif column == REASON_COLUMN:
                # A sentence per line: the committee reads the reasons, not a code.
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = [6, 16, 18, 14, 44, 18, 60, 12, 16, 28, 18]
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    last_row = header_row + max(len(rows), 1)
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1).coordinate
    sheet.auto_filter.ref = f"A{header_row}:{get_column_letter(len(headers))}{last_row}"
    print_on_a4(sheet, header_row=header_row)
    _summary_sheet(workbook, rows, title)
    return workbook_bytes(workbook)


def _summary_sheet(workbook: Workbook, rows: list[list[Any]], title: str) -> None:
    """Add counts and annual applications per department, per tier and once converted."""
    from openpyxl.styles import Font  # loaded when first used, like the workbook

    sheet = workbook.create_sheet(_("Summary"))
    sheet["A1"] = neutralise(title)
    sheet["A1"].font = Font(size=14, bold=True)
    row_number = 3
    groupings = ((_("Department"), 1), (_("Tier"), 5), (_("Once converted"), ONCE_CONVERTED))
    for heading, column in groupings:
        groups: dict[str, list[int]] = {}
        for values in rows:
            totals = groups.setdefault(values[column], [0, 0])
            totals[0] += 1
            totals[1] += values[7] or 0
        write_header_row(
            sheet, row_number, [heading, _("Number of procedures"), _("Annual volume")]
        )
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
    for letter, width in zip("ABC", (24, 12, 16), strict=True):
        sheet.column_dimensions[letter].width = width
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
