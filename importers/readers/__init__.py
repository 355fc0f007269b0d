"""Bytes and a file name in, sheets of raw cell rows out.

The real format is found from the content (magic bytes), never from the extension. Before
python-calamine expands a workbook, its zip members are inflated with a cap on their real size
and the sheets' extent is checked against a cap on cells, so that a decompression bomb or a
sheet reaching row 1,048,576 is refused instead of filling the memory.

The modules: ``guards`` (the caps on size, inflated size and a worksheet's extent), ``sheets``
(raw sheets, python-calamine), ``xlsx`` (with a large sheet read in pieces), ``xls``, ``ods``
and ``csv`` (encoding and delimiter).
"""

from __future__ import annotations

from pathlib import PurePath

from importers.messages import SEVERITY_WARNING
from importers.readers.csv import read_csv
from importers.readers.guards import Budget, check_declared_size, check_size, inflate, zip_members
from importers.readers.ods import read_ods
from importers.readers.sheets import RawSheet, RawWorkbook, release_free_memory, sheet_rows
from importers.readers.xls import read_xls
from importers.readers.xlsx import read_xlsx
from importers.results import InventoryRefused, Problem, ReadLimits

__all__ = ["RawSheet", "RawWorkbook", "read_workbook", "release_free_memory", "sheet_rows"]


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


_EXTENSIONS = {
    "xlsx": {".xlsx", ".xlsm", ".xltx", ".xltm"},
    "xls": {".xls", ".xlt"},
    "ods": {".ods", ".ots"},
    "csv": {".csv", ".txt", ".tsv"},
}
_FORMAT_LABELS = {
    "xlsx": "Excel (.xlsx)",
    "xls": "Excel 97-2003 (.xls)",
    "ods": "ODS",
    "csv": "CSV",
}


def read_workbook(content: bytes, file_name: str, limits: ReadLimits) -> RawWorkbook:
    """Read every sheet of a spreadsheet or CSV file, or raise InventoryRefused."""
    check_size(content, file_name, limits)
    if content.startswith(_ZIP_MAGICS):
        book = _read_zip(content, file_name, limits)
    elif content.startswith(_OLE_MAGIC):
        book = read_xls(content, file_name, limits)
    else:
        book = _read_text(content, file_name, limits)
    extension = PurePath(file_name).suffix.lower()
    if extension and extension not in _EXTENSIONS[book.file_format]:
        book.problems.insert(
            0,
            Problem(
                SEVERITY_WARNING,
                "format_mismatch",
                {
                    "file_name": file_name,
                    "actual": _FORMAT_LABELS[book.file_format],
                    "extension": book.file_format,
                },
            ),
        )
    return book


def _read_text(content: bytes, file_name: str, limits: ReadLimits) -> RawWorkbook:
    """Read content that is neither a zip nor an OLE2 file as CSV, or refuse it.

    Systems export CSV under an .xls name, so a table of text is read whatever the name; a
    note or a letter saved as text under a spreadsheet's name is refused as what it is, not
    reported as a sheet without a header row.
    """
    book = read_csv(content, file_name, limits)
    claimed = PurePath(file_name).suffix.lower()
    if claimed not in _EXTENSIONS["csv"] and not _looks_tabular(book.sheets[0].rows):
        raise InventoryRefused("not_a_spreadsheet", file_name=file_name)
    return book


def _looks_tabular(rows: list[list[object]]) -> bool:
    """Return True when most lines split into the same number of columns, two or more."""
    widths = [len(row) for row in rows if any(str(cell).strip() for cell in row)]
    if not widths:
        return False
    common = max(set(widths), key=widths.count)
    return common >= 2 and widths.count(common) * 2 >= len(widths)


def _read_zip(content: bytes, file_name: str, limits: ReadLimits) -> RawWorkbook:
    """Tell an .xlsx from an .ods and other zip files, then read it with its reader."""
    infos = zip_members(content, file_name)
    by_name = {info.filename: info for info in infos}
    if "xl/workbook.bin" in by_name:
        raise InventoryRefused("file_xlsb", file_name=file_name)
    if any(info.flag_bits & 0x1 for info in infos):
        raise InventoryRefused("file_encrypted", file_name=file_name)
    if "xl/workbook.xml" in by_name:
        file_format = "xlsx"
    elif "mimetype" in by_name or "content.xml" in by_name:
        mimetype = b""
        if "mimetype" in by_name:
            mimetype = b"".join(inflate(content, by_name["mimetype"], file_name, None)).strip()
        if mimetype and not mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
            raise InventoryRefused(
                "file_not_spreadsheet", file_name=file_name, detected="OpenDocument"
            )
        file_format = "ods"
    elif "word/document.xml" in by_name:
        raise InventoryRefused("file_not_spreadsheet", file_name=file_name, detected="Word")
    elif "ppt/presentation.xml" in by_name:
        raise InventoryRefused("file_not_spreadsheet", file_name=file_name, detected="PowerPoint")
    else:
        raise InventoryRefused("file_not_spreadsheet", file_name=file_name, detected="ZIP")

    check_declared_size(infos, limits)
    budget = Budget(limits.max_uncompressed_bytes)
    if file_format == "xlsx":
        return read_xlsx(content, file_name, limits, infos, budget)
    return read_ods(content, file_name, limits, infos, budget)
