"""Writing spreadsheets safely: formula neutralising, A4 print setup, header rows."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

#: Characters that make Excel (or LibreOffice) treat a cell as a formula or command.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Prefix text that Excel would evaluate with an apostrophe-like quote so it stays text."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def workbook_bytes(workbook: Workbook) -> bytes:
    """Return the workbook saved as .xlsx bytes."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


#: The fill colour of header rows.
HEADER_COLOUR = "DCE7F7"


def write_header_row(sheet: Worksheet, row: int, headers: list[str]) -> None:
    """Write a bold, filled header row with the given headers from column A."""
    # Loaded when first used: keeps the CLI's start-up close to the bare framework.
    from openpyxl.styles import Alignment, Font, PatternFill

    fill = PatternFill("solid", fgColor=HEADER_COLOUR)
    for column, header in enumerate(headers, start=1):
        cell = sheet.cell(row=row, column=column, value=header)
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")


def print_on_a4(sheet: Worksheet, *, header_row: int | None = None, landscape: bool = True) -> None:
    """Print a sheet on A4, one page wide, with its header row repeated on every page."""
    if header_row is not None:
        sheet.print_title_rows = f"{header_row}:{header_row}"
    if landscape:
        sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    page_setup = sheet.sheet_properties.pageSetUpPr
    assert page_setup is not None  # WorksheetProperties always makes one
    page_setup.fitToPage = True


def titled_workbook(sheet_name: str, title: str) -> tuple[Workbook, Worksheet]:
    """Start a workbook whose first sheet is named `sheet_name` and carries `title` in A1."""
    # Loaded when first used: keeps the CLI's start-up close to the bare framework.
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.worksheet import Worksheet

    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)  # a new workbook's one sheet
    sheet.title = sheet_name
    sheet["A1"] = neutralise(title)
    sheet["A1"].font = Font(size=14, bold=True)
    return workbook, sheet
