"""Bytes and a file name in, sheets of raw cell rows out.

The real format is found from the content (magic bytes), never from the extension. Before
python-calamine expands a workbook, the zip members are inflated here with a cap on their real
size and the sheets' extent is checked against a cap on cells, so that a decompression bomb or a
sheet reaching row 1,048,576 is refused instead of filling the memory.
"""

from __future__ import annotations

import codecs
import csv
import ctypes
import ctypes.util
import io
import re
import struct
import sys
import zipfile
import zlib
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from pathlib import PurePath
from typing import Any
from xml.etree import ElementTree as ET

import python_calamine

try:  # ISA-L inflates about twice as fast as zlib; the same stream either way
    from isal import isal_zlib as _inflating
except ImportError:  # pragma: no cover - a platform without its wheel
    _inflating = zlib

from importers.messages import SEVERITY_WARNING
from importers.results import InventoryRefused, Problem, ReadLimits

__all__ = ["RawSheet", "RawWorkbook", "read_workbook"]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_CHUNK = 4 << 20
#: Compressed bytes given to the inflater at a time. Handing it the whole member made every
#: call copy the rest of the input into `unconsumed_tail` (150 MB of copies for the national
#: file); a slice leaves at most itself there.
_INPUT_SLICE = 256 << 10

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


@dataclass(slots=True)
class RawSheet:
    """The cells of one sheet as python-calamine (or the CSV reader) gives them."""

    name: str
    rows: list[list[Any]]  # row 0 is the first row of the sheet (Excel row 1)
    row_numbers: list[int] | None = None  # CSV: line number of each record; None: index + 1
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # r0, c0, r1, c1
    formula_cells: list[tuple[int, int]] = field(default_factory=list)  # formulas w/o value
    is_worksheet: bool = True

    def row_number(self, index: int) -> int:
        """Return the row number a person sees for the row at ``index``."""
        if self.row_numbers is not None:
            return self.row_numbers[index]
        return index + 1


@dataclass(slots=True)
class RawWorkbook:
    """All sheets of a file with its detected format."""

    file_format: str  # "xlsx" | "xls" | "ods" | "csv"
    sheets: list[RawSheet]
    problems: list[Problem] = field(default_factory=list)


def read_workbook(content: bytes, file_name: str, limits: ReadLimits) -> RawWorkbook:
    """Read every sheet of a spreadsheet or CSV file, or raise InventoryRefused."""
    if not content:
        raise InventoryRefused("file_empty", file_name=file_name)
    if len(content) > limits.max_bytes:
        raise InventoryRefused(
            "file_too_large",
            size_mb=_mb(len(content)),
            limit_mb=_mb(limits.max_bytes),
        )
    if content.startswith(_ZIP_MAGICS):
        book = _read_zip(content, file_name, limits)
    elif content.startswith(_OLE_MAGIC):
        book = _read_ole(content, file_name, limits)
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


def _mb(size: int) -> str:
    value = size / (1024 * 1024)
    if value < 0.1:
        return f"{value:.4f}".rstrip("0").rstrip(".") or "0"
    return f"{value:.1f}".rstrip("0").rstrip(".")


# ------------------------------------------------------------------------------------------
# zip containers: xlsx / xlsm / ods
# ------------------------------------------------------------------------------------------

_MAIN_TAGS = ("}sheet", "sheet")


class _Budget:
    """Counts inflated bytes against the cap on the real uncompressed size."""

    __slots__ = ("left", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def take(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise InventoryRefused("file_uncompressed_too_large", limit_mb=_mb(self.limit))


def _inflate(content: bytes, info: zipfile.ZipInfo, file_name: str, budget: _Budget | None):
    """Yield the inflated bytes of a zip member in chunks, counting them against the budget."""
    corrupt = InventoryRefused("file_corrupt", file_name=file_name)
    offset = info.header_offset
    header = content[offset : offset + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise corrupt
    name_len, extra_len = struct.unpack_from("<HH", header, 26)
    start = offset + 30 + name_len + extra_len
    end = start + info.compress_size
    if end > len(content):
        raise corrupt
    data = memoryview(content)[start:end]
    if info.compress_type == zipfile.ZIP_STORED:
        for pos in range(0, len(data), _CHUNK):
            chunk = bytes(data[pos : pos + _CHUNK])
            if budget is not None:
                budget.take(len(chunk))
            yield chunk
        return
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise corrupt
    inflater = _inflating.decompressobj(-15)
    try:
        for pos in range(0, len(data), _INPUT_SLICE):
            pending: bytes | memoryview = data[pos : pos + _INPUT_SLICE]
            while not inflater.eof:
                chunk = inflater.decompress(pending, _CHUNK)  # at most _CHUNK out per call
                pending = inflater.unconsumed_tail
                if chunk:
                    if budget is not None:
                        budget.take(len(chunk))
                    yield chunk
                if not pending and len(chunk) < _CHUNK:  # a full chunk may have more behind
                    break
            if inflater.eof:
                break
    except (zlib.error, _inflating.error):
        raise corrupt from None
    if not inflater.eof:
        raise corrupt


def _read_zip(content: bytes, file_name: str, limits: ReadLimits) -> RawWorkbook:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            infos = archive.infolist()
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,  # "zip file version 12.8": a damaged central directory
    ):
        raise InventoryRefused("file_corrupt", file_name=file_name) from None
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
            mimetype = b"".join(_inflate(content, by_name["mimetype"], file_name, None)).strip()
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

    if sum(info.file_size for info in infos) > limits.max_uncompressed_bytes:
        raise InventoryRefused(
            "file_uncompressed_too_large", limit_mb=_mb(limits.max_uncompressed_bytes)
        )
    budget = _Budget(limits.max_uncompressed_bytes)
    formulas: dict[str, list[tuple[int, int]]] = {}
    read_already: dict[str, RawSheet] = {}
    ods_merges: dict[str, list[tuple[int, int, int, int]]] = {}
    if file_format == "xlsx":
        support = _support_members(content, infos, file_name, budget)
        sheet_paths = _xlsx_sheet_paths(support, file_name)
        for info in infos:
            if not _is_worksheet(info):
                continue
            chunks = _inflate(content, info, file_name, budget)
            sheet = sheet_paths.get(info.filename, info.filename)
            in_pieces = None
            tried_pieces = _worth_pieces(info, support)
            if tried_pieces:
                with _calamine_errors(file_name):
                    in_pieces = _read_in_pieces(
                        chunks, sheet, info.filename, support, limits, info.file_size
                    )
            if in_pieces is not None:
                read_already[sheet], cells = in_pieces
            else:  # scanned (again) here, then read whole by calamine
                if tried_pieces:
                    chunks = _inflate(content, info, file_name, None)  # counted once already
                cells = _scan_worksheet(chunks, sheet, limits)
            if cells is None:  # unusual layout: check it exactly
                exact = _inflate(content, info, file_name, None)
                cells = _scan_worksheet_exactly(exact, sheet, limits, file_name)
            if cells:
                formulas[sheet] = cells
    else:
        for info in infos:
            if info.is_dir():
                continue
            chunks = _inflate(content, info, file_name, budget)
            if info.filename == "content.xml":
                ods_merges = _scan_ods_content(b"".join(chunks), limits, file_name)
            elif info.filename == "META-INF/manifest.xml":
                if b"encryption-data" in b"".join(chunks):
                    raise InventoryRefused("file_encrypted", file_name=file_name)
            else:
                for _ in chunks:
                    pass
    sheets = _calamine_sheets(content, file_name, read_already)
    for sheet in sheets:
        sheet.formula_cells = formulas.get(sheet.name, [])
        if file_format == "ods":
            sheet.merges = ods_merges.get(sheet.name, [])
    return RawWorkbook(file_format, sheets)


def _is_worksheet(info: zipfile.ZipInfo) -> bool:
    return info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")


def _support_members(
    content: bytes, infos: list[zipfile.ZipInfo], file_name: str, budget: _Budget
) -> dict[str, bytes]:
    """Inflate every member but the worksheets; return those a piece's workbook needs.

    Kept: the XML parts (workbook, relations, styles, shared strings) and every worksheet's
    path, mapped to an empty sheet; pictures and other binary parts are only counted.
    """
    kept: dict[str, bytes] = {}
    for info in infos:
        if info.is_dir():
            continue
        if _is_worksheet(info):
            kept[info.filename] = _EMPTY_WORKSHEET
            continue
        chunks = _inflate(content, info, file_name, budget)
        if info.filename.endswith(_SUPPORT_SUFFIXES) or info.filename == "[Content_Types].xml":
            kept[info.filename] = b"".join(chunks)
        else:
            for _ in chunks:
                pass
    return kept


def _worth_pieces(info: zipfile.ZipInfo, support: dict[str, bytes]) -> bool:
    """Whether a worksheet is read in pieces: a large one, with little else to copy for each.

    Each piece's workbook repeats the support members and calamine reads their shared strings
    again, so they must stay small beside the sheet: PIECES_SUPPORT_SHARE times smaller.
    """
    repeated = sum(map(len, support.values()))
    return info.file_size >= PIECES_MIN_BYTES and repeated * PIECES_SUPPORT_SHARE <= info.file_size


def _xlsx_sheet_paths(support: dict[str, bytes], file_name: str) -> dict[str, str]:
    """Map each worksheet's path in the zip to the sheet's name (from _support_members)."""
    rels_xml = support.get("xl/_rels/workbook.xml.rels")
    try:
        workbook = ET.fromstring(support["xl/workbook.xml"])
        rels = ET.fromstring(rels_xml) if rels_xml is not None else None
    except (ET.ParseError, LookupError):  # LookupError: an XML declaration's unknown encoding
        raise InventoryRefused("file_corrupt", file_name=file_name) from None
    targets: dict[str, str] = {}
    if rels is not None:
        for rel in rels:
            target = rel.get("Target", "")
            if target.startswith("/"):
                path = target.lstrip("/")
            else:
                parts: list[str] = ["xl"]
                for part in target.split("/"):
                    if part == "..":
                        if parts:
                            parts.pop()
                    elif part and part != ".":
                        parts.append(part)
                path = "/".join(parts)
            targets[rel.get("Id", "")] = path
    paths: dict[str, str] = {}
    for element in workbook.iter():
        if not element.tag.endswith(_MAIN_TAGS):
            continue
        rel_id = next((v for k, v in element.attrib.items() if k.endswith("}id")), None)
        name = element.get("name")
        if rel_id in targets and name is not None:
            paths[targets[rel_id]] = name
    return paths


def _le_number(limit: int) -> bytes:
    """Return a regex matching the decimal numbers 1..limit written without leading zeros."""
    digits = str(limit)
    size = len(digits)
    alternatives = []
    if size > 1:
        alternatives.append(b"[1-9]\\d{0,%d}" % (size - 2) if size > 2 else b"[1-9]")
    for i, char in enumerate(digits):
        low = 1 if i == 0 else 0
        if int(char) > low:
            tail = b"\\d{%d}" % (size - i - 1) if size - i - 1 else b""
            alternatives.append(digits[:i].encode() + b"[%d-%d]" % (low, int(char) - 1) + tail)
    alternatives.append(digits.encode())
    return b"(?:" + b"|".join(alternatives) + b")"


def _le_letters(limit: str) -> bytes:
    """Return a regex matching the column letters A..limit."""
    size = len(limit)
    alternatives = []
    if size > 1:
        alternatives.append(b"[A-Z]{1,%d}" % (size - 1))
    for i, char in enumerate(limit):
        if char > "A":
            tail = b"[A-Z]{%d}" % (size - i - 1) if size - i - 1 else b""
            alternatives.append(
                limit[:i].encode() + b"[A-" + chr(ord(char) - 1).encode() + b"]" + tail
            )
    alternatives.append(limit.encode())
    return b"(?:" + b"|".join(alternatives) + b")"


@lru_cache(maxsize=4096)
def _column_index(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - 64)
    return index - 1


_DIMENSION = re.compile(rb'<dimension\s+ref="([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?"')
_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*:)?worksheet[\s>]")
_CELL_REF = re.compile(rb'<c r="([A-Z]+)(\d+)"')
_CACHED_VALUE = re.compile(rb"<v(?:\s[^>]*)?>[^<]")


def _extent_pattern(head: bytes, limits: ReadLimits) -> re.Pattern[bytes] | None:
    """Return the pattern finding cells outside the <dimension> in ``head``, and formulas.

    None when the head does not follow the usual layout (no dimension, prefixed XML) or the
    dimension itself holds more cells than ``max_cells``: the sheet is then checked exactly.
    """
    root = _ROOT.search(head)
    dimension = _DIMENSION.search(head)
    if root is None or root.group(1) or dimension is None:
        return None
    last_col = (dimension.group(3) or dimension.group(1)).decode()
    last_row = int(dimension.group(4) or dimension.group(2))
    if (_column_index(last_col) + 1) * last_row > limits.max_cells:
        return None
    # Any row number with as many digits as the last row is cheaper to match than "at most
    # the last row", and bounds the grid well enough when that stays under the cap (75,072
    # rows x 38 columns: 99,999 x 38 = 3.8 million cells).
    digits = len(str(last_row))
    rows_pattern = (
        b"\\d{1,%d}" % digits
        if (10**digits - 1) * (_column_index(last_col) + 1) <= limits.max_cells
        else _le_number(last_row)
    )
    return re.compile(
        b'<(?:c(?![^\\s/>])(?! r="' + _le_letters(last_col) + rows_pattern + b'")|f[\\s/>])'
    )


def _scan_worksheet(
    chunks: Iterator[bytes], sheet: str, limits: ReadLimits
) -> list[tuple[int, int]] | None:
    """Check a worksheet's extent against its <dimension> and collect formulas without value.

    Every cell must carry an ``r`` reference inside the dimension; then the grid python-calamine
    builds is no larger than the dimension, which is checked against ``max_cells``. Returns None
    when the sheet does not follow that layout (no dimension, references outside it, cells
    without reference, prefixed XML): the caller then checks the sheet exactly.
    """
    carry = b""
    pattern: re.Pattern[bytes] | None = None
    formulas: list[tuple[int, int]] = []
    unusual = False
    for chunk in chunks:
        if unusual:
            continue  # keep inflating: the budget still counts the real size
        if pattern is None:
            chunk = carry + chunk
            carry = b""
            head = chunk[:65536]
            if b"<sheetData" not in head and len(chunk) < 65536:
                carry = chunk  # too little to see the start of the data yet
                continue
            pattern = _extent_pattern(head, limits)
            if pattern is None:
                unusual = True
                continue
        # Cells never straddle the scanned ranges: each range ends after a "</c>"; the few
        # bytes from the last "</c>" of a chunk to the first of the next are scanned together.
        first = chunk.find(b"</c>")
        if first < 0:
            # a bytearray grows in place: adding bytes to bytes copied a 240 MB cell 60 times
            if type(carry) is not bytearray:
                carry = bytearray(carry)
            carry += chunk
            continue
        first += 4
        last = chunk.rfind(b"</c>") + 4
        joined = carry + chunk[:first]
        carry = chunk[last:]
        if not _scan_piece(joined, 0, len(joined), pattern, formulas) or not _scan_piece(
            chunk, first, last, pattern, formulas
        ):
            unusual = True
    if unusual or pattern is None:  # pattern None: an empty or truncated worksheet part
        return None
    if carry and not _scan_piece(carry, 0, len(carry), pattern, formulas):
        return None
    return formulas


def _scan_piece(
    data: bytes, start: int, end: int, pattern: re.Pattern[bytes], formulas: list[tuple[int, int]]
) -> bool:
    """Scan data[start:end] of sheet XML; False when a cell lies outside the dimension."""
    position = start
    while True:
        match = pattern.search(data, position, end)
        if match is None:
            return True
        at = match.start()
        if data[at + 1] != 0x66:  # not "<f": a cell outside the expected layout
            return False
        cell = data.rfind(b"<c ", start, at)
        close = data.find(b"</c>", at, end)
        if close < 0:
            close = end
        ref = _CELL_REF.match(data, cell) if cell >= 0 else None
        if ref is not None:
            segment = data[at:close]
            if b"<v" not in segment:
                empty = True
            elif _CACHED_VALUE.search(segment):
                empty = False
            else:  # an empty <v/>: a formula that returned "" writes t="str"
                empty = b't="str"' not in data[cell:at]
            if empty:
                formulas.append((int(ref.group(2)) - 1, _column_index(ref.group(1).decode())))
        position = close


def _scan_worksheet_exactly(
    chunks: Iterator[bytes], sheet: str, limits: ReadLimits, file_name: str
) -> list[tuple[int, int]]:
    """Parse a worksheet's XML to find the real extent of its cells (slow, rare path)."""
    parser = ET.XMLPullParser(events=("start", "end"))
    row = -1
    col = -1
    last_row = -1
    last_col = -1
    formulas: list[tuple[int, int]] = []
    try:
        for chunk in chunks:
            parser.feed(chunk)
            for event, element in parser.read_events():
                tag = element.tag.rpartition("}")[2]
                if event == "start":
                    if tag == "row":
                        number = element.get("r")
                        row = int(number) - 1 if number and number.isdigit() else row + 1
                        col = -1
                    continue
                if tag == "c":
                    ref = element.get("r")
                    if ref:
                        match = re.fullmatch(r"([A-Z]{1,3})(\d{1,7})", ref)
                        if match is None:
                            raise InventoryRefused("file_corrupt", file_name=file_name)
                        cell_row = int(match.group(2)) - 1
                        col = _column_index(match.group(1))
                    else:
                        cell_row = row
                        col += 1
                    has_value = False
                    has_formula = False
                    for child in element:
                        child_tag = child.tag.rpartition("}")[2]
                        if child_tag == "v" and child.text or child_tag == "is":
                            has_value = True
                        elif child_tag == "f":
                            has_formula = True
                    if has_formula and not has_value and element.get("t") != "str":
                        formulas.append((cell_row, col))
                    if has_value:
                        last_row = max(last_row, cell_row)
                        last_col = max(last_col, col)
                        if (last_row + 1) * (last_col + 1) > limits.max_cells:
                            raise InventoryRefused(
                                "file_too_many_cells",
                                sheet=sheet,
                                cells=f"{(last_row + 1) * (last_col + 1):,}",
                                limit=f"{limits.max_cells:,}",
                            )
                    element.clear()
                elif tag == "row":
                    element.clear()
    except (ET.ParseError, LookupError):  # LookupError: an XML declaration's unknown encoding
        raise InventoryRefused("file_corrupt", file_name=file_name) from None
    return formulas


_ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ODS_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


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


def _load_libc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to give back this way
        return None


_MALLOC_TRIM = _load_libc_trim()


def release_free_memory() -> None:
    """Give memory the process has freed back to the system (glibc keeps it otherwise).

    Called once a request or job that read a whole file is done with it: after the national
    file a worker drops from 242 MB to 191 MB. Mid-import it gave back only what calamine
    had freed, 13 MB once the rows shared their texts, for 50 ms of the import.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def sheet_rows(sheet: python_calamine.CalamineSheet) -> list[list[Any]]:
    """Return a sheet's rows from Excel's row 1 and column A, each repeated text one object.

    The same cells as ``to_python(skip_empty_area=False)``, in a third of the memory: an
    inventory repeats the same few texts (ministry names, ○, coded answers) down thousands
    of rows, and python-calamine makes a new string for every cell. Sharing them keeps the
    national file's rows at 55 MB instead of 180 MB while calamine still holds the sheet.
    """
    start = sheet.start
    if start is None:
        return []
    # iter_rows starts at row 1 but at the first used column: put the columns before it back.
    lead = [""] * start[1]
    shared = _SharedTexts().__getitem__
    if lead:
        return [lead + list(map(shared, row)) for row in sheet.iter_rows()]
    return [list(map(shared, row)) for row in sheet.iter_rows()]


class _SharedTexts(dict):
    """Maps a text to the first equal text seen; anything else to itself, unshared.

    Only text is kept: 1, 1.0 and True are equal dictionary keys and must stay what they are.
    A repeated text is found by the dictionary lookup alone (in C); this method runs for the
    first of each text and for every other kind of cell.
    """

    def __missing__(self, value: Any) -> Any:
        if value.__class__ is str:
            self[value] = value
        return value


def _calamine_sheets(
    content: bytes, file_name: str, read_already: dict[str, RawSheet] | None = None
) -> list[RawSheet]:
    """Read every sheet with python-calamine, except those in ``read_already`` (by name)."""
    sheets: list[RawSheet] = []
    with _calamine_errors(file_name):
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
        for meta in workbook.sheets_metadata:
            if meta.typ != python_calamine.SheetTypeEnum.WorkSheet:
                sheets.append(RawSheet(meta.name, [], is_worksheet=False))
                continue
            if read_already and meta.name in read_already:
                sheets.append(read_already[meta.name])
                continue
            sheet = workbook.get_sheet_by_name(meta.name)
            sheets.append(RawSheet(meta.name, sheet_rows(sheet), merges=_merges_of(sheet)))
        workbook.close()
    return sheets


def _merges_of(sheet: python_calamine.CalamineSheet) -> list[tuple[int, int, int, int]]:
    return [(start[0], start[1], end[0], end[1]) for start, end in sheet.merged_cell_ranges or []]


@contextmanager
def _calamine_errors(file_name: str) -> Iterator[None]:
    """Turn what python-calamine raises on a damaged or protected file into a refusal."""
    try:
        yield
    except python_calamine.PasswordError:
        raise InventoryRefused("file_encrypted", file_name=file_name) from None
    except InventoryRefused:
        raise
    except BaseException as error:  # calamine's Rust panics arrive as BaseException
        if isinstance(error, KeyboardInterrupt | SystemExit | GeneratorExit | MemoryError):
            raise
        raise InventoryRefused("file_corrupt", file_name=file_name) from None


# ------------------------------------------------------------------------------------------
# a large worksheet in pieces: calamine parses one while the next is scanned
# ------------------------------------------------------------------------------------------

#: A worksheet at least this large (its XML inflated) is read in pieces (see _read_in_pieces):
#: the local inventory's 18 MB sheet then reads in 0.23 s instead of 0.33 s.
PIECES_MIN_BYTES = 8 << 20
#: At least this much worksheet XML per piece (otherwise an eighth of the sheet).
PIECE_BYTES = 1 << 20
#: Calamine gives each piece's rows from the sheet's first row, those before it empty: with
#: more pieces, the rows made and dropped would outgrow what the overlap saves.
MOST_PIECES = 8
#: Members the pieces' workbooks share with the file: workbook, relations, styles, strings.
_SUPPORT_SUFFIXES = (".xml", ".rels")
#: ... and only when they are this many times smaller than the sheet (see _worth_pieces).
PIECES_SUPPORT_SHARE = 64
_SHEET_DATA = re.compile(rb"<sheetData(?:\s[^>]*)?>")
_DATA_END = b"</sheetData></worksheet>"
_EMPTY_WORKSHEET = (
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<sheetData/></worksheet>"
)


def _read_in_pieces(
    chunks: Iterator[bytes],
    name: str,
    path: str,
    support: dict[str, bytes],
    limits: ReadLimits,
    sheet_size: int,
) -> tuple[RawSheet, list[tuple[int, int]]] | None:
    """Read a large worksheet's cells and its formulas without value, in pieces of rows.

    Each piece is scanned as _scan_worksheet scans a whole sheet, then given to python-calamine
    as a workbook of its own (the file's styles and strings, this sheet cut down to the piece)
    in a worker thread, which calamine runs without the GIL: the next piece is inflated and
    scanned, and the one before turned into rows, meanwhile. A piece reaches calamine only once
    scanned, so the extent check still comes first. The national file reads in 1.5 s instead
    of 2.1 s. Returns None, having inflated the rest of the sheet, when the sheet does not
    follow the usual layout or its rows are out of order: the caller then reads it whole.
    """
    rows: list[list[Any]] = []
    formulas: list[tuple[int, int]] = []
    shared = _SharedTexts().__getitem__
    others = [(member, data) for member, data in support.items() if member != path]
    last_sheet: python_calamine.CalamineSheet | None = None
    usual = True
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="calamine") as worker:
        try:
            worker.submit(int).result()
        except RuntimeError:  # no thread to be had (a capped address space): read it whole
            usual = False
        parsing: deque[Future] = deque()
        head = b""
        pattern: re.Pattern[bytes] | None = None
        for piece, is_last in _sheet_pieces(chunks, sheet_size) if usual else ():
            if pattern is None:
                start = _SHEET_DATA.search(piece, 0, 65536)
                pattern = _extent_pattern(piece[:65536], limits)
                if start is None or pattern is None:
                    usual = False
                    break
                head = piece[: start.end()]
                parts = [piece]
            else:
                parts = [head, piece]
            if not _scan_piece(piece, 0, len(piece), pattern, formulas):
                usual = False
                break
            if not is_last:
                parts.append(_DATA_END)
            book = python_calamine.CalamineWorkbook.from_filelike(
                io.BytesIO(_stored_zip([*others, (path, parts)]))
            )
            parsing.append(worker.submit(_parsed_sheet, book, name))
            if len(parsing) > 1 and not _add_piece_rows(parsing.popleft().result(), rows, shared):
                usual = False
                break
        while usual and parsing:
            last_sheet = parsing.popleft().result()
            usual = _add_piece_rows(last_sheet, rows, shared)
    if not usual:
        for _ in chunks:  # the budget still counts the real size
            pass
        return None
    _even_widths(rows)
    merges = _merges_of(last_sheet) if last_sheet is not None else []
    return RawSheet(name, rows, merges=merges), formulas


def _parsed_sheet(book: python_calamine.CalamineWorkbook, name: str):
    """Parse one sheet of a piece's workbook, then let the workbook's copy of the file go."""
    sheet = book.get_sheet_by_name(name)
    book.close()
    return sheet


def _sheet_pieces(chunks: Iterator[bytes], sheet_size: int) -> Iterator[tuple[bytes, bool]]:
    """Cut worksheet XML into at most MOST_PIECES pieces, each ending after a "</row>".

    A piece holds at least PIECE_BYTES, or an even share of ``sheet_size`` (the size the zip
    declares). Yields (piece, is_last); the last one holds the rest, the end of the data
    included.
    """
    piece_bytes = max(PIECE_BYTES, sheet_size // MOST_PIECES + 1)
    pending: list[bytes] = []
    size = 0
    cuts = 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size < piece_bytes or cuts == MOST_PIECES - 1:
            continue
        data = b"".join(pending)
        start = 0
        while len(data) - start >= piece_bytes and cuts < MOST_PIECES - 1:
            cut = data.find(b"</row>", start + piece_bytes - len(b"</row>"))
            if cut < 0:
                break
            cut += len(b"</row>")
            yield data[start:cut], False
            start = cut
            cuts += 1
        pending = [data[start:]]
        size = len(pending[0])
    yield b"".join(pending), True


def _add_piece_rows(
    sheet: python_calamine.CalamineSheet, rows: list[list[Any]], shared: Callable[[Any], Any]
) -> bool:
    """Append a piece's rows to ``rows``; False when it holds a row before the last one read.

    Every piece's cells keep their references, so calamine gives each piece's rows from the
    sheet's first row: the rows before ``len(rows)`` are the pieces before (empty here).
    """
    start = sheet.start
    if start is None:
        return True
    if start[0] < len(rows):  # rows out of order in the XML: read the sheet whole instead
        return False
    lead = [""] * start[1]
    cells = islice(sheet.iter_rows(), len(rows), None)
    if lead:
        rows.extend([*lead, *map(shared, row)] for row in cells)
    else:
        rows.extend(list(map(shared, row)) for row in cells)
    return True


def _even_widths(rows: list[list[Any]]) -> None:
    """Pad rows to the widest, as one calamine range of the whole sheet gives them."""
    if not rows:
        return
    width = max(map(len, rows))
    if min(map(len, rows)) < width:
        rows[:] = [row + [""] * (width - len(row)) if len(row) < width else row for row in rows]


def _stored_zip(members: list[tuple[str, bytes | list[bytes]]]) -> bytes:
    """Return a zip archive holding the members uncompressed (each as bytes or its parts).

    Not zipfile's writer: that wants each member joined into one bytes and copies it into
    its buffer again; written here, a piece is copied once (the national read 1.42 s, 1.51 s
    with zipfile).
    """
    out: list[bytes] = []
    directory: list[bytes] = []
    offset = 0
    for member, data in members:
        parts = [data] if isinstance(data, bytes) else data
        encoded = member.encode()
        crc = 0
        for part in parts:
            crc = _inflating.crc32(part, crc)
        size = sum(map(len, parts))
        sizes = (crc, size, size, len(encoded))
        local = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0x800, 0, 0, 0, *sizes, 0)
        central = struct.pack(
            "<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0x800, 0, 0, 0, *sizes, 0, 0, 0, 0, 0, offset
        )
        out += [local, encoded, *parts]
        directory += [central, encoded]
        offset += len(local) + len(encoded) + size
    listing = b"".join(directory)
    end = struct.pack(
        "<4s4H2IH", b"PK\x05\x06", 0, 0, len(members), len(members), len(listing), offset, 0
    )
    return b"".join([*out, listing, end])


# ------------------------------------------------------------------------------------------
# OLE2 / compound files: .xls, and password-protected OOXML
# ------------------------------------------------------------------------------------------

_END_OF_CHAIN = 0xFFFFFFFE
_FREE = 0xFFFFFFFF


class _CompoundFile:
    """A minimal reader of the Compound File Binary format (enough to find streams)."""

    def __init__(self, data: bytes, file_name: str) -> None:
        self.data = data
        self.corrupt = InventoryRefused("file_corrupt", file_name=file_name)
        if len(data) < 512:
            raise self.corrupt
        shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
        if shift not in (9, 12) or mini_shift != 6:
            raise self.corrupt
        self.sector_size = 1 << shift
        (
            fat_count,
            first_directory,
            _,
            self.mini_cutoff,
            first_mini_fat,
            mini_fat_count,
            first_difat,
            difat_count,
        ) = struct.unpack_from("<8I", data, 0x2C)
        sector_ids = list(struct.unpack_from("<109I", data, 0x4C))
        sector = first_difat
        for _ in range(difat_count):
            if sector >= _END_OF_CHAIN - 4:
                break
            ids = struct.unpack(f"<{self.sector_size // 4}I", self._sector(sector))
            sector_ids.extend(ids[:-1])
            sector = ids[-1]
        fat_sectors = [s for s in sector_ids if s < _END_OF_CHAIN - 4][:fat_count]
        self.fat = self._table(b"".join(self._sector(s) for s in fat_sectors))
        directory = self._chain(first_directory, self.fat, self.sector_size, self._sector)
        self.entries: dict[str, tuple[int, int, int]] = {}
        root_start = root_size = 0
        for offset in range(0, len(directory) - 127, 128):
            name_size = struct.unpack_from("<H", directory, offset + 64)[0]
            kind = directory[offset + 66]
            if kind not in (1, 2, 5) or not 2 <= name_size <= 64:
                continue
            name = directory[offset : offset + name_size - 2].decode("utf-16-le", "replace")
            start, size = struct.unpack_from("<IQ", directory, offset + 116)
            if self.sector_size == 512:
                size &= 0xFFFFFFFF
            if kind == 5:
                root_start, root_size = start, size
            self.entries.setdefault(name, (kind, start, size))
        self.mini_fat = array("I")
        self.mini_stream = b""
        if mini_fat_count and first_mini_fat < _END_OF_CHAIN - 4:
            self.mini_fat = self._table(
                self._chain(first_mini_fat, self.fat, self.sector_size, self._sector)
            )
            self.mini_stream = self._chain(root_start, self.fat, self.sector_size, self._sector)[
                :root_size
            ]

    def _table(self, raw: bytes) -> array:
        table = array("I")
        table.frombytes(raw[: len(raw) // 4 * 4])
        if sys.byteorder == "big":
            table.byteswap()
        return table

    def _sector(self, number: int) -> bytes:
        offset = (number + 1) * self.sector_size
        if offset >= len(self.data):
            raise self.corrupt
        return self.data[offset : offset + self.sector_size]

    def _mini_sector(self, number: int) -> bytes:
        offset = number * 64
        if offset >= len(self.mini_stream):
            raise self.corrupt
        return self.mini_stream[offset : offset + 64]

    def _chain(self, start: int, table: array, size: int, read: Callable[[int], bytes]) -> bytes:
        parts = []
        sector = start
        for _ in range(len(table) + 1):
            if sector == _END_OF_CHAIN:
                return b"".join(parts)
            if sector >= len(table):
                raise self.corrupt
            parts.append(read(sector))
            sector = table[sector]
        raise self.corrupt  # a loop in the chain

    def names(self) -> set[str]:
        """Return the names of all storages and streams."""
        return set(self.entries)

    def read(self, name: str) -> bytes:
        """Return the content of a stream."""
        _kind, start, size = self.entries[name]
        if size < self.mini_cutoff:
            data = self._chain(start, self.mini_fat, 64, self._mini_sector)
        else:
            data = self._chain(start, self.fat, self.sector_size, self._sector)
        if len(data) < size:
            raise self.corrupt
        return data[:size]


_BIFF_CELLS = frozenset({0x0203, 0x027E, 0x00FD, 0x0204, 0x0205, 0x0006, 0x00D6, 0x0003, 0x0004})


def _scan_biff(stream: bytes, file_name: str, limits: ReadLimits) -> None:
    """Refuse encrypted .xls files and sheets whose cells span more than max_cells."""
    unpack = struct.Struct("<HH").unpack_from
    size = len(stream)
    position = 0
    names: dict[int, str] = {}
    sheet = ""
    last_row = last_col = -1

    def check() -> None:
        cells = (last_row + 1) * (last_col + 1)
        if last_row >= 0 and cells > limits.max_cells:
            raise InventoryRefused(
                "file_too_many_cells",
                sheet=sheet,
                cells=f"{cells:,}",
                limit=f"{limits.max_cells:,}",
            )

    while position + 4 <= size:
        record, length = unpack(stream, position)
        body = position + 4
        if body + length > size:  # a record running past the end of the stream
            raise InventoryRefused("file_corrupt", file_name=file_name)
        if record in _BIFF_CELLS and length >= 4:
            row, col = unpack(stream, body)
            if row > last_row:
                last_row = row
            if col > last_col:
                last_col = col
        elif record == 0x00BD and length >= 6:  # MULRK: row, first col, ..., last col
            row = unpack(stream, body)[0]
            col = struct.unpack_from("<H", stream, body + length - 2)[0]
            last_row = max(last_row, row)
            last_col = max(last_col, col)
        elif record == 0x0200 and length >= 10:  # DIMENSIONS: python-calamine allocates by it
            if length >= 14:  # BIFF8: 32-bit rows
                first_row, rows, _first_col, cols = struct.unpack_from("<IIHH", stream, body)
            else:  # BIFF5/7: 16-bit rows
                first_row, rows, _first_col, cols = struct.unpack_from("<4H", stream, body)
            if first_row > rows:
                # python-calamine takes rows - first_row unsigned: 31 - 128 asked it for 6.5 TB
                # (columns the other way round it reads as it should)
                raise InventoryRefused("file_corrupt", file_name=file_name)
            last_row = max(last_row, rows - 1)
            last_col = max(last_col, cols - 1)
        elif record in (0x0809, 0x0409, 0x0209, 0x0009):  # BOF: a new substream
            check()
            sheet = names.get(position, sheet)
            last_row = last_col = -1
        elif record == 0x0085 and length >= 8:  # BOUNDSHEET: where each sheet starts
            offset = struct.unpack_from("<I", stream, body)[0]
            count, flags = stream[body + 6], stream[body + 7]
            raw = stream[body + 8 : body + length]
            names[offset] = (
                raw[: count * 2].decode("utf-16-le", "replace")
                if flags & 1
                else raw[:count].decode("latin-1")
            )
        elif record == 0x002F:  # FILEPASS: the workbook is encrypted
            raise InventoryRefused("file_encrypted", file_name=file_name)
        position = body + length
    check()


def _read_ole(content: bytes, file_name: str, limits: ReadLimits) -> RawWorkbook:
    compound = _CompoundFile(content, file_name)
    names = compound.names()
    if "EncryptionInfo" in names or "EncryptedPackage" in names:
        raise InventoryRefused("file_encrypted", file_name=file_name)
    stream_name = "Workbook" if "Workbook" in names else "Book" if "Book" in names else None
    if stream_name is None:
        detected = (
            "Word"
            if "WordDocument" in names
            else "PowerPoint"
            if "PowerPoint Document" in names
            else "OLE2"
        )
        raise InventoryRefused("file_not_spreadsheet", file_name=file_name, detected=detected)
    _scan_biff(compound.read(stream_name), file_name, limits)
    return RawWorkbook("xls", _calamine_sheets(content, file_name))


# ------------------------------------------------------------------------------------------
# text: CSV / TSV
# ------------------------------------------------------------------------------------------

_BINARY_SIGNATURES = (
    (b"%PDF", "PDF"),
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf", "7-Zip"),
    (b"Rar!", "RAR"),
)
_CONTROL = frozenset(range(0x20)) - {0x09, 0x0A, 0x0D, 0x0C}


def _decode(content: bytes, file_name: str) -> tuple[str, int]:
    """Decode CSV bytes as UTF-8 (with or without BOM), UTF-16 (BOM) or CP932."""
    if content.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp932"]
    for encoding in candidates:
        try:
            return content.decode(encoding), 0
        except UnicodeDecodeError:
            continue
    # Neither decodes cleanly. A UTF-8 file with a few damaged bytes would still decode as
    # CP932 mojibake more often than not, so prefer UTF-8 when nearly all of it is UTF-8.
    utf8 = content.decode(candidates[0], errors="replace")
    damaged = utf8.count("\ufffd")
    if damaged <= max(3, len(utf8) // 10000):
        return utf8, damaged
    text = content.decode(candidates[-1], errors="replace")
    replaced = text.count("\ufffd")
    if replaced > max(20, len(text) // 200):
        raise InventoryRefused("csv_encoding_unknown", file_name=file_name)
    return text, replaced


def _read_text(content: bytes, file_name: str, limits: ReadLimits) -> RawWorkbook:
    for signature, detected in _BINARY_SIGNATURES:
        if content.startswith(signature):
            raise InventoryRefused("file_not_spreadsheet", file_name=file_name, detected=detected)
    head = content[:65536]
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not utf16 and (b"\x00" in head or sum(b in _CONTROL for b in head) > len(head) // 100):
        raise InventoryRefused("file_binary", file_name=file_name)
    text, replaced = _decode(content, file_name)
    start = text[:4096].lstrip("\ufeff \t\r\n").lower()
    if start.startswith(("<!doctype html", "<html", "<table", "<meta", "mime-version:")) or (
        start.startswith("<") and "<html" in start
    ):
        raise InventoryRefused("file_html", file_name=file_name)
    if start.startswith("<?xml"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in start:
            raise InventoryRefused("file_xml_spreadsheet", file_name=file_name)
        raise InventoryRefused("file_not_spreadsheet", file_name=file_name, detected="XML")
    sample = text[:65536]
    if sum(1 for ch in sample if ord(ch) < 0x20 and ch not in "\t\r\n\f") > len(sample) // 100:
        raise InventoryRefused("file_binary", file_name=file_name)

    delimiter = _delimiter(sample, file_name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[Any]] = []
    numbers: list[int] = []
    width = 0
    try:
        while True:
            line = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            rows.append(record)
            numbers.append(line)
            if len(record) > width:
                width = len(record)
            if len(rows) * width > limits.max_cells:
                raise InventoryRefused(
                    "file_too_many_cells",
                    sheet=PurePath(file_name).stem,
                    cells=f"{len(rows) * width:,}+",
                    limit=f"{limits.max_cells:,}",
                )
            if len(rows) > limits.max_rows:
                raise InventoryRefused(
                    "file_too_many_rows", file_name=file_name, limit=f"{limits.max_rows:,}"
                )
    except csv.Error:
        raise InventoryRefused("file_corrupt", file_name=file_name) from None
    problems = []
    if replaced:
        problems.append(Problem(SEVERITY_WARNING, "csv_characters_replaced", {"count": replaced}))
    sheet = RawSheet(PurePath(file_name).stem or file_name, rows, row_numbers=numbers)
    return RawWorkbook("csv", [sheet], problems)


def _delimiter(sample: str, file_name: str) -> str:
    if file_name.lower().endswith(".tsv"):
        return "\t"
    lines = [line for line in sample.splitlines()[:30] if line.strip()]
    tabs = sum(line.count("\t") for line in lines)
    commas = sum(line.count(",") for line in lines)
    semicolons = sum(line.count(";") for line in lines)
    if tabs > commas and tabs >= semicolons:
        return "\t"
    if semicolons > commas * 2:
        return ";"
    return ","
