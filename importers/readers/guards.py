"""The checks made before python-calamine expands a workbook: size, inflated size, extent.

A zip member is inflated here with a cap on the real size of all members together (a
decompression bomb may declare far smaller sizes than it inflates to), and a worksheet's cells
are checked against its <dimension> and the cap on cells, since calamine allocates the grid
that the dimension asks for before it reads a cell.
"""

from __future__ import annotations

import io
import re
import struct
import types
import zipfile
import zlib
from collections.abc import Iterator
from functools import lru_cache
from typing import cast
from xml.etree import ElementTree as ET

from importers.results import InventoryRefused, ReadLimits

fast_zlib: types.ModuleType
try:  # ISA-L inflates about twice as fast as zlib; the same stream either way
    from isal import isal_zlib as fast_zlib
except ImportError:  # pragma: no cover - a platform without its wheel
    fast_zlib = zlib


_CHUNK = 4 << 20
#: Compressed bytes given to the inflater at a time. Handing it the whole member made every
#: call copy the rest of the input into `unconsumed_tail` (150 MB of copies for the national
#: file); a slice leaves at most itself there.
_INPUT_SLICE = 256 << 10


def check_size(content: bytes, file_name: str, limits: ReadLimits) -> None:
    """Refuse an empty file, or one larger than ``max_bytes``."""
    if not content:
        raise InventoryRefused("file_empty", file_name=file_name)
    if len(content) > limits.max_bytes:
        raise InventoryRefused(
            "file_too_large",
            size_mb=megabytes(len(content)),
            limit_mb=megabytes(limits.max_bytes),
        )


def megabytes(size: int) -> str:
    """Return a size in megabytes as a message shows it (0.0123, 4.5, 20)."""
    value = size / (1024 * 1024)
    if value < 0.1:
        return f"{value:.4f}".rstrip("0").rstrip(".") or "0"
    return f"{value:.1f}".rstrip("0").rstrip(".")


def zip_members(content: bytes, file_name: str) -> list[zipfile.ZipInfo]:
    """Return the members listed in a zip's central directory; refuse a damaged one."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return archive.infolist()
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,  # "zip file version 12.8": a damaged central directory
    ):
        raise InventoryRefused("file_corrupt", file_name=file_name) from None


def check_declared_size(infos: list[zipfile.ZipInfo], limits: ReadLimits) -> None:
    """Refuse a zip whose members declare more than ``max_uncompressed_bytes`` in all."""
    if sum(info.file_size for info in infos) > limits.max_uncompressed_bytes:
        raise InventoryRefused(
            "file_uncompressed_too_large", limit_mb=megabytes(limits.max_uncompressed_bytes)
        )


class Budget:
    """Counts inflated bytes against the cap on the real uncompressed size."""

    __slots__ = ("left", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def take(self, size: int) -> None:
        """Count ``size`` more inflated bytes; refuse the file once past the cap."""
        self.left -= size
        if self.left < 0:
            raise InventoryRefused("file_uncompressed_too_large", limit_mb=megabytes(self.limit))


def inflate(
    content: bytes, info: zipfile.ZipInfo, file_name: str, budget: Budget | None
) -> Iterator[bytes]:
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
    inflater = fast_zlib.decompressobj(-15)
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
    except (zlib.error, fast_zlib.error):
        raise corrupt from None
    if not inflater.eof:
        raise corrupt


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
def column_index(letters: str) -> int:
    """Return the 0-based index of a column from its letters (A -> 0, XFD -> 16383)."""
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - 64)
    return index - 1


_DIMENSION = re.compile(rb'<dimension\s+ref="([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?"')
_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*:)?worksheet[\s>]")
_CELL_REF = re.compile(rb'<c r="([A-Z]+)(\d+)"')
_CACHED_VALUE = re.compile(rb"<v(?:\s[^>]*)?>[^<]")
#: What follows "<f" in a formula element (not "<fx:c", a prefixed cell).
_FORMULA_NEXT = frozenset(b" \t\r\n/>")
#: A cell element with a namespace prefix (<x:c>): a cell to calamine too, which matches local
#: names. Searched for apart from the extent pattern, from its ":" (rare in a sheet's XML, and
#: cheap to find), because an alternative starting at every "<" made the scan 60% slower.
_PREFIXED_CELL = re.compile(rb":c[\s/>]")


def extent_pattern(head: bytes, limits: ReadLimits) -> re.Pattern[bytes] | None:
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
    if (column_index(last_col) + 1) * last_row > limits.max_cells:
        return None
    # Any row number with as many digits as the last row is cheaper to match than "at most
    # the last row", and bounds the grid well enough when that stays under the cap (75,072
    # rows x 38 columns: 99,999 x 38 = 3.8 million cells).
    digits = len(str(last_row))
    rows_pattern = (
        b"\\d{1,%d}" % digits
        if (10**digits - 1) * (column_index(last_col) + 1) <= limits.max_cells
        else _le_number(last_row)
    )
    return re.compile(
        b'<(?:c(?![^\\s/>])(?! r="' + _le_letters(last_col) + rows_pattern + b'")|f[\\s/>])'
    )


def scan_worksheet(
    chunks: Iterator[bytes], sheet: str, limits: ReadLimits
) -> list[tuple[int, int]] | None:
    """Check a worksheet's extent against its <dimension> and collect formulas without value.

    Every cell must carry an ``r`` reference inside the dimension; then the grid python-calamine
    builds is no larger than the dimension, which is checked against ``max_cells``. Returns None
    when the sheet does not follow that layout (no dimension, references outside it, cells
    without reference, prefixed XML): the caller then checks the sheet exactly.
    """
    carry: bytes | bytearray = b""
    pattern: re.Pattern[bytes] | None = None
    formulas: list[tuple[int, int]] = []
    unusual = False
    for chunk in chunks:
        if unusual:
            continue  # keep inflating: the budget still counts the real size
        if pattern is None:
            assert isinstance(carry, bytes)  # a bytearray only once the pattern is known
            chunk = carry + chunk
            carry = b""
            head = chunk[:65536]
            if b"<sheetData" not in head and len(chunk) < 65536:
                carry = chunk  # too little to see the start of the data yet
                continue
            pattern = extent_pattern(head, limits)
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
        if not scan_piece(joined, 0, len(joined), pattern, formulas) or not scan_piece(
            chunk, first, last, pattern, formulas
        ):
            unusual = True
    if unusual or pattern is None:  # pattern None: an empty or truncated worksheet part
        return None
    if carry and not scan_piece(carry, 0, len(carry), pattern, formulas):
        return None
    return formulas


def scan_piece(
    data: bytes | bytearray,
    start: int,
    end: int,
    pattern: re.Pattern[bytes],
    formulas: list[tuple[int, int]],
) -> bool:
    """Scan data[start:end] of sheet XML; False when a cell lies outside the dimension."""
    if _PREFIXED_CELL.search(data, start, end) is not None:
        return False  # a prefixed cell, or those characters in a text: checked exactly
    position = start
    while True:
        match = pattern.search(data, position, end)
        if match is None:
            return True
        at = match.start()
        if data[at + 1] != 0x66 or data[at + 2] not in _FORMULA_NEXT:
            return False  # not "<f": a cell outside the expected layout (or a prefixed one)
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
                formulas.append((int(ref.group(2)) - 1, column_index(ref.group(1).decode())))
        position = close


def scan_worksheet_exactly(
    chunks: Iterator[bytes], sheet: str, limits: ReadLimits, file_name: str
) -> list[tuple[int, int]]:
    """Parse a worksheet's XML to find the real extent of its cells (slow, rare path)."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    row = -1
    col = -1
    last_row = -1
    last_col = -1
    formulas: list[tuple[int, int]] = []
    try:
        for chunk in chunks:
            parser.feed(chunk)
            # Only "start" and "end" were asked for: each event carries an element.
            events = cast(Iterator[tuple[str, ET.Element]], parser.read_events())
            for event, element in events:
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
                        col = column_index(match.group(1))
                    else:
                        cell_row = row
                        col += 1
                    has_value = False
                    has_formula = False
                    # An empty <v/> or <is/> is a cell to calamine too (an empty text for
                    # t="str" or t="d"): it occupies the grid although it holds no value.
                    occupies = False
                    for child in element:
                        child_tag = child.tag.rpartition("}")[2]
                        if child_tag in ("v", "is"):
                            occupies = True
                        if child_tag == "v" and child.text or child_tag == "is":
                            has_value = True
                        elif child_tag == "f":
                            has_formula = True
                    if has_formula and not has_value and element.get("t") != "str":
                        formulas.append((cell_row, col))
                    if occupies:
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
