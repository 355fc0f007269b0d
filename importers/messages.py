"""Every problem message of the importer, keyed by a stable code.

The English templates are wrapped in ``N_`` so that Babel can extract them; the Japanese
translations live in ``messages_ja.json`` (English template -> Japanese template).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any


def N_(s: str) -> str:  # noqa: N802 - the conventional name Babel looks for
    """Mark a string for translation without translating it."""
    return s


MESSAGES: dict[str, str] = {
    # --- the whole file is refused -------------------------------------------------------
    "file_empty": N_(
        "The file “{file_name}” is empty. Choose the inventory file again and upload it."
    ),
    "file_too_large": N_(
        "The file is {size_mb} MB; the limit is {limit_mb} MB. Split the inventory into smaller "
        "files or delete sheets that are not needed, then upload again."
    ),
    "file_corrupt": N_(
        "The file “{file_name}” is damaged or incomplete and cannot be read. Open it in Excel, "
        "save it again, and upload the new copy."
    ),
    "file_encrypted": N_(
        "The workbook “{file_name}” is protected with a password. Remove the password in Excel "
        "(File > Info > Protect Workbook > Encrypt with Password), save, and upload again."
    ),
    "file_not_spreadsheet": N_(
        "The file “{file_name}” is not a spreadsheet (it looks like a {detected} file). Upload an "
        "Excel (.xlsx, .xls), OpenDocument (.ods) or CSV file."
    ),
    "not_a_spreadsheet": N_(
        "The file “{file_name}” is not a spreadsheet: its content is neither an Excel, "
        "OpenDocument nor CSV file, whatever its name says. Open the inventory in Excel, save it "
        "as an Excel workbook (.xlsx) or as CSV (.csv), and upload that file."
    ),
    "file_xlsb": N_(
        "Binary Excel workbooks (.xlsb) cannot be read. Open “{file_name}” in Excel, save it as "
        "an Excel workbook (.xlsx), and upload that file."
    ),
    "file_html": N_(
        "The file “{file_name}” is a web page (HTML) with a spreadsheet file name, as some "
        "systems export it. Open it in Excel, save it as an Excel workbook (.xlsx), and upload "
        "that file."
    ),
    "file_xml_spreadsheet": N_(
        "The file “{file_name}” is an XML spreadsheet (Excel 2003 XML). Open it in Excel, save it "
        "as an Excel workbook (.xlsx), and upload that file."
    ),
    "file_binary": N_(
        "The file “{file_name}” does not contain readable spreadsheet data. Check that you chose "
        "the right file, and upload an .xlsx, .xls, .ods or .csv file."
    ),
    "file_too_many_cells": N_(
        "Sheet “{sheet}” spans {cells} cells; the limit is {limit}. Delete the unused rows and "
        "columns at the end of the sheet, save, and upload again."
    ),
    "file_too_many_rows": N_(
        "The CSV file “{file_name}” has more than {limit} rows, more than an Excel sheet can "
        "hold. Delete the empty lines at the end of the file or split it into several files, "
        "then upload again."
    ),
    "file_uncompressed_too_large": N_(
        "The workbook expands to more than {limit_mb} MB when opened, far more than an inventory "
        "needs. Delete unused sheets, pictures and formatting, save, and upload again."
    ),
    "csv_encoding_unknown": N_(
        "The character encoding of the CSV file “{file_name}” could not be recognised. In Excel, "
        "save it as “CSV UTF-8 (comma delimited)” and upload again."
    ),
    "no_inventory_sheet": N_(
        "No sheet in “{file_name}” has a recognisable header row (a row with a procedure-name "
        "column such as 手続名). Check the header row, or choose the columns yourself in the "
        "column mapping."
    ),
    "no_procedures": N_(
        "The header row was found, but no procedures are listed under it in “{file_name}”. Enter "
        "the procedures below the header and upload again."
    ),
    # --- a sheet is skipped ---------------------------------------------------------------
    "sheet_empty": N_(
        "Sheet “{sheet}” is empty and was skipped. If it should hold procedures, fill it in and "
        "upload again."
    ),
    "sheet_no_header": N_(
        "Sheet “{sheet}” has no header row with a procedure-name column (such as 手続名), so it "
        "was skipped. If it holds procedures, add that header or choose the columns in the "
        "column mapping."
    ),
    "sheet_no_rows": N_(
        "Sheet “{sheet}” has a header on row {row} but no procedures under it, so it was "
        "skipped. If it should be imported, enter the procedures below the header."
    ),
    "sheet_detail_table": N_(
        "Sheet “{sheet}” lists the same procedure on many rows (the code in column “{column}” "
        "repeats on {duplicates} of {rows} rows), so it looks like a detail table, not an "
        "inventory, and was skipped. If it is an inventory, give each procedure a single row."
    ),
    "sheet_not_worksheet": N_(
        "Sheet “{sheet}” is a chart or macro sheet, not a table, and was skipped. No action is "
        "needed."
    ),
    # --- warnings about the whole file or a sheet --------------------------------------------
    "format_mismatch": N_(
        "The file is named “{file_name}” but contains {actual} data; it was read as {actual}. "
        "Rename it with the extension .{extension} to avoid confusion."
    ),
    "csv_characters_replaced": N_(
        "{count} characters of the CSV file could not be decoded and were replaced with “\ufffd”. "
        "Save the file as “CSV UTF-8 (comma delimited)” and upload again to keep them."
    ),
    "formula_without_value": N_(
        "Sheet “{sheet}”, column “{column}”: formulas without a saved result were read as empty "
        "(cells: {count}). Open the file in Excel, let it recalculate, save, and upload again."
    ),
    "rows_after_total": N_(
        "Sheet “{sheet}”: the rows below the total on row {row} were not read. If they are "
        "procedures, move them above the total row and upload again."
    ),
    # --- a row is refused ---------------------------------------------------------------
    "name_missing": N_(
        "Row {row}: the procedure name is empty, so the row was not imported. Enter the name in "
        "column “{column}”."
    ),
    # --- a row is kept, one value is not --------------------------------------------------
    "volume_range": N_("Row {row}: the volume “{value}” is a range; enter one number."),
    "volume_bound": N_(
        "Row {row}: the volume “{value}” is a limit, not a count; enter the number of cases per "
        "year."
    ),
    "volume_unreadable": N_(
        "Row {row}: the volume “{value}” is not a number; enter a whole number such as 1,234, or "
        "leave the cell blank if it is unknown."
    ),
    "volume_too_large": N_(
        "Row {row}: the volume “{value}” is more than {limit} a year, which is most likely a "
        "typing error; check the figure and enter the number of cases per year."
    ),
    "year_range": N_(
        "Row {row}: “{value}” in column “{column}” spans several years; enter one fiscal year."
    ),
    "year_open_ended": N_(
        "Row {row}: “{value}” in column “{column}” has no definite year; enter one fiscal year, "
        "such as 令和8年度."
    ),
    "year_unreadable": N_(
        "Row {row}: “{value}” in column “{column}” is not a fiscal year; write it like 令和6年度, "
        "R6 or 2024."
    ),
    "yes_no_unreadable": N_(
        "Row {row}: “{value}” in column “{column}” is not a yes/no answer; write ○ or ×, 要 or "
        "不要, 有 or 無."
    ),
    "value_unknown": N_(
        "Row {row}: “{value}” in column “{column}” is not one of the expected values; use one of: "
        "{choices}."
    ),
    "blocker_unknown": N_(
        "Row {row}: the blocker “{value}” in column “{column}” is not in the list and was "
        "recorded as “other”; if another reason fits, use one of: {choices}."
    ),
    "duplicate_procedure": N_(
        "Row {row}: the procedure “{name}” with code “{code}” is already listed on row "
        "{first_row}; if it is listed twice, delete one of the rows."
    ),
    "no_division": N_(
        "Row {row}: no division is given for this procedure; add a division column to the "
        "sheet, or choose the division when you upload the file."
    ),
    "other_division": N_(
        "Row {row}: this procedure belongs to “{division}”, but you can import only for "
        "“{own}”; remove the row or ask the DX office to import it."
    ),
    "duplicate_row": N_(
        "Row {row}: “{name}” appears more than once in this file for the same division; "
        "keep one row and delete the others."
    ),
    # --- the whole file, checked against the inventory: warnings with counts ----------------
    "volume_implausible": N_(
        "{count} procedures have a yearly volume far above the others in this file (more than "
        "{times} times the median of {median}, and at least {at_least}): rows {rows}. Check that "
        "they are not typing errors; correct them in the file, or import if they are right."
    ),
    "code_in_other_division": N_(
        "{count} new procedures have a code already used in another division (rows {rows}; for "
        "example “{code}” in “{other}”). If they are the same procedures, correct the division in "
        "the file or the column read as the division; if not, import them as new."
    ),
    "name_in_other_division": N_(
        "{count} new procedures have the name of a procedure of another division (rows {rows}; "
        "for example “{name}” in “{other}”). If they are the same procedures, correct the "
        "division in the file or the column read as the division; if not, import them as new."
    ),
    "value_too_long": N_(
        "Row {row}: “{value}” is {length} characters long, more than the {limit} this column "
        "may hold; shorten it in the file."
    ),
}

#: Warnings about several rows as the preview's problems table shows them: the count and the
#: row numbers are in cells of their own there, so the text does not repeat them.
GROUPED: dict[str, str] = {
    "volume_implausible": N_(
        "The yearly volumes are far above the others in this file (more than {times} times the "
        "median of {median}, and at least {at_least}). Check that they are not typing errors; "
        "correct them in the file, or import if they are right."
    ),
    "code_in_other_division": N_(
        "These new procedures have a code already used in another division (for example "
        "“{code}” in “{other}”). If they are the same procedures, correct the division in the "
        "file or the column read as the division; if not, import them as new."
    ),
    "name_in_other_division": N_(
        "These new procedures have the name of a procedure of another division (for example "
        "“{name}” in “{other}”). If they are the same procedures, correct the division in the "
        "file or the column read as the division; if not, import them as new."
    ),
}

#: The English of the messages with a count for a count of 1, keyed by the form for other
#: counts (in MESSAGES or GROUPED). Japanese has one form for every count; messages_ja.json
#: may still word the singular differently (keyed by its English).
ONE: dict[str, str] = {
    MESSAGES["csv_characters_replaced"]: N_(
        "{count} character of the CSV file could not be decoded and was replaced with “\ufffd”. "
        "Save the file as “CSV UTF-8 (comma delimited)” and upload again to keep it."
    ),
    MESSAGES["volume_implausible"]: N_(
        "{count} procedure has a yearly volume far above the others in this file (more than "
        "{times} times the median of {median}, and at least {at_least}): row {rows}. Check that "
        "it is not a typing error; correct it in the file, or import it if it is right."
    ),
    MESSAGES["code_in_other_division"]: N_(
        "{count} new procedure has a code already used in another division (row {rows}; "
        "“{code}” in “{other}”). If it is the same procedure, correct the division in the file "
        "or the column read as the division; if not, import it as new."
    ),
    MESSAGES["name_in_other_division"]: N_(
        "{count} new procedure has the name of a procedure of another division (row {rows}; "
        "“{name}” in “{other}”). If it is the same procedure, correct the division in the file "
        "or the column read as the division; if not, import it as new."
    ),
    GROUPED["volume_implausible"]: N_(
        "The yearly volume is far above the others in this file (more than {times} times the "
        "median of {median}, and at least {at_least}). Check that it is not a typing error; "
        "correct it in the file, or import it if it is right."
    ),
    GROUPED["code_in_other_division"]: N_(
        "This new procedure has a code already used in another division (“{code}” in "
        "“{other}”). If it is the same procedure, correct the division in the file or the "
        "column read as the division; if not, import it as new."
    ),
    GROUPED["name_in_other_division"]: N_(
        "This new procedure has the name of a procedure of another division (“{name}” in "
        "“{other}”). If it is the same procedure, correct the division in the file or the "
        "column read as the division; if not, import it as new."
    ),
}

SEVERITY_ERROR = "error"
SEVERITY_WARNING = "warning"


@cache
def _japanese() -> dict[str, str]:
    path = Path(__file__).with_name("messages_ja.json")
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def _in_locale(english: str, count: Any, locale: str) -> str:
    """Return a template (the form for other counts) in a locale, in the form for `count`."""
    chosen = ONE.get(english, english) if count == 1 else english
    if locale.startswith("ja"):
        japanese = _japanese()
        return japanese.get(chosen) or japanese.get(english, chosen)
    return chosen


def template(code: str, locale: str = "en", count: Any = None) -> str:
    """Return the template of a message code in English or Japanese ("ja").

    `count`, when given, picks the singular or plural form of a message that has both.
    """
    return _in_locale(MESSAGES[code], count, locale)


def grouped_template(code: str, locale: str = "en", count: Any = None) -> str | None:
    """Return the text of a warning about several rows for a table that lists their rows."""
    english = GROUPED.get(code)
    return None if english is None else _in_locale(english, count, locale)


def render(code: str, params: dict[str, Any], locale: str = "en") -> str:
    """Fill the template of a message code with its parameters (in the form for its count)."""
    return template(code, locale, params.get("count")).format(**params)
