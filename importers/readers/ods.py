"""OpenDocument spreadsheets (.ods): the tables' extent and merged ranges, then calamine."""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree as ET

from importers.readers.guards import Budget, inflate
from importers.readers.sheets import RawWorkbook, calamine_sheets
from importers.results import InventoryRefused, ReadLimits

_ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ODS_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


def read_ods(
    content: bytes,
    file_name: str,
    limits: ReadLimits,
    infos: list[zipfile.ZipInfo],
    budget: Budget,
) -> RawWorkbook:
    """Read an OpenDocument spreadsheet whose zip members were listed and sizes checked.

    Every member is inflated against ``budget``; content.xml gives the tables' extent (checked
    before python-calamine reads them) and their merged ranges.
    """
    ods_merges: dict[str, list[tuple[int, int, int, int]]] = {}
    for info in infos:
        if info.is_dir():
            continue
        chunks = inflate(content, info, file_name, budget)
        if info.filename == "content.xml":
            ods_merges = _scan_ods_content(b"".join(chunks), limits, file_name)
        elif info.filename == "META-INF/manifest.xml":
            if b"encryption-data" in b"".join(chunks):
                raise InventoryRefused("file_encrypted", file_name=file_name)
        else:
            for _ in chunks:
                pass
    sheets = calamine_sheets(content, file_name)
    for sheet in sheets:
        sheet.merges = ods_merges.get(sheet.name, [])
    return RawWorkbook("ods", sheets)


def _scan_ods_content(
    xml: bytes, limits: ReadLimits, file_name: str
) -> dict[str, list[tuple[int, int, int, int]]]:
    """Return the merged ranges of every table and check the tables' extent."""
    merges: dict[str, list[tuple[int, int, int, int]]] = {}
    table_tag = _ODS_TABLE + "table"
    row_tag = _ODS_TABLE + "table-row"
    cell_tags = (_ODS_TABLE + "table-cell", _ODS_TABLE + "covered-table-cell")
    repeat_cols = _ODS_TABLE + "number-columns-repeated"
    repeat_rows = _ODS_TABLE + "number-rows-repeated"
    span_cols = _ODS_TABLE + "number-columns-spanned"
    span_rows = _ODS_TABLE + "number-rows-spanned"
    value_type = _ODS_OFFICE + "value-type"
    name = ""
    row = 0
    col = 0
    row_has_value = False
    last_row = -1
    last_col = -1
    try:
        for event, element in ET.iterparse(io.BytesIO(xml), events=("start", "end")):
            tag = element.tag
            if event == "start":
                if tag == table_tag:
                    name = element.get(_ODS_TABLE + "name", "")
                    merges[name] = []
                    row, last_row, last_col = 0, -1, -1
                elif tag == row_tag:
                    col = 0
                    row_has_value = False
                continue
            if tag in cell_tags:
                repeat = int(element.get(repeat_cols, "1"))
                if element.get(value_type) is not None or len(element):
                    row_has_value = True
                    last_col = max(last_col, col + repeat - 1)
                width = int(element.get(span_cols, "1"))
                height = int(element.get(span_rows, "1"))
                if width > 1 or height > 1:
                    merges[name].append((row, col, row + height - 1, col + width - 1))
                col += repeat
                element.clear()
            elif tag == row_tag:
                repeat = int(element.get(repeat_rows, "1"))
                if row_has_value:
                    last_row = max(last_row, row + repeat - 1)
                    cells = (last_row + 1) * (last_col + 1)
                    if cells > limits.max_cells:
                        raise InventoryRefused(
                            "file_too_many_cells",
                            sheet=name,
                            cells=f"{cells:,}",
                            limit=f"{limits.max_cells:,}",
                        )
                row += repeat
                element.clear()
    except (ET.ParseError, ValueError, LookupError):  # LookupError: unknown XML encoding
        raise InventoryRefused("file_corrupt", file_name=file_name) from None
    return merges
