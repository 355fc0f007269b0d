"""Excel .xlsx / .xlsm: every worksheet's extent checked, then read by python-calamine.

A large worksheet is read in pieces of rows: python-calamine parses one piece on a worker
thread while the next is inflated and scanned (see _read_in_pieces).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from typing import Any
from xml.etree import ElementTree as ET

import python_calamine

from importers.readers.guards import (
    Budget,
    extent_pattern,
    fast_zlib,
    inflate,
    scan_piece,
    scan_worksheet,
    scan_worksheet_exactly,
)
from importers.readers.sheets import (
    RawSheet,
    RawWorkbook,
    SharedTexts,
    calamine_errors,
    calamine_sheets,
    merges_of,
)
from importers.results import InventoryRefused, ReadLimits

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


_MAIN_TAGS = ("}sheet", "sheet")


def read_xlsx(
    content: bytes,
    file_name: str,
    limits: ReadLimits,
    infos: list[zipfile.ZipInfo],
    budget: Budget,
) -> RawWorkbook:
    """Read an .xlsx whose zip members were listed and their declared sizes checked.

    Every member is inflated against ``budget``; each worksheet's extent is checked (and its
    formulas without value found) before python-calamine reads it, a large one in pieces.
    """
    formulas: dict[str, list[tuple[int, int]]] = {}
    read_already: dict[str, RawSheet] = {}
    support = _support_members(content, infos, file_name, budget)
    sheet_paths = _xlsx_sheet_paths(support, file_name)
    for info in infos:
        if not _is_worksheet(info):
            continue
        chunks = inflate(content, info, file_name, budget)
        sheet = sheet_paths.get(info.filename, info.filename)
        in_pieces = None
        cells: list[tuple[int, int]] | None
        tried_pieces = _worth_pieces(info, support)
        if tried_pieces:
            with calamine_errors(file_name):
                in_pieces = _read_in_pieces(
                    chunks, sheet, info.filename, support, limits, info.file_size
                )
        if in_pieces is not None:
            read_already[sheet], cells = in_pieces
        else:  # scanned (again) here, then read whole by calamine
            if tried_pieces:
                chunks = inflate(content, info, file_name, None)  # counted once already
            cells = scan_worksheet(chunks, sheet, limits)
        if cells is None:  # unusual layout: check it exactly
            exact = inflate(content, info, file_name, None)
            cells = scan_worksheet_exactly(exact, sheet, limits, file_name)
        if cells:
            formulas[sheet] = cells
    sheets = calamine_sheets(content, file_name, read_already)
    for raw_sheet in sheets:
        raw_sheet.formula_cells = formulas.get(raw_sheet.name, [])
    return RawWorkbook("xlsx", sheets)


def _is_worksheet(info: zipfile.ZipInfo) -> bool:
    return info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")


def _support_members(
    content: bytes, infos: list[zipfile.ZipInfo], file_name: str, budget: Budget
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
        chunks = inflate(content, info, file_name, budget)
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


# ------------------------------------------------------------------------------------------
# a large worksheet in pieces: calamine parses one while the next is scanned
# ------------------------------------------------------------------------------------------


def _read_in_pieces(
    chunks: Iterator[bytes],
    name: str,
    path: str,
    support: dict[str, bytes],
    limits: ReadLimits,
    sheet_size: int,
) -> tuple[RawSheet, list[tuple[int, int]]] | None:
    """Read a large worksheet's cells and its formulas without value, in pieces of rows.

    Each piece is scanned as scan_worksheet scans a whole sheet, then given to python-calamine
    as a workbook of its own (the file's styles and strings, this sheet cut down to the piece)
    in a worker thread, which calamine runs without the GIL: the next piece is inflated and
    scanned, and the one before turned into rows, meanwhile. A piece reaches calamine only once
    scanned, so the extent check still comes first. The national file reads in 1.5 s instead
    of 2.1 s. Returns None, having inflated the rest of the sheet, when the sheet does not
    follow the usual layout or its rows are out of order: the caller then reads it whole.
    """
    rows: list[list[Any]] = []
    formulas: list[tuple[int, int]] = []
    shared = SharedTexts().__getitem__
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
                pattern = extent_pattern(piece[:65536], limits)
                if start is None or pattern is None:
                    usual = False
                    break
                head = piece[: start.end()]
                parts = [piece]
            else:
                parts = [head, piece]
            if not scan_piece(piece, 0, len(piece), pattern, formulas):
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
    merges = merges_of(last_sheet) if last_sheet is not None else []
    return RawSheet(name, rows, merges=merges), formulas


def _parsed_sheet(
    book: python_calamine.CalamineWorkbook, name: str
) -> python_calamine.CalamineSheet:
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
            crc = fast_zlib.crc32(part, crc)
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
