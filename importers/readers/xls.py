"""Excel 97-2003 (.xls) in OLE2 compound files, and password-protected OOXML in them.

The BIFF records are scanned for the sheets' extent (and encryption) before python-calamine
reads the workbook: it allocates what a DIMENSIONS record asks for.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Callable

from importers.readers.sheets import RawWorkbook, calamine_sheets
from importers.results import InventoryRefused, ReadLimits

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
        parts: list[bytes] = []
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


def read_xls(content: bytes, file_name: str, limits: ReadLimits) -> RawWorkbook:
    """Read an .xls; refuse an encrypted file and OLE2 files that are not workbooks."""
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
    return RawWorkbook("xls", calamine_sheets(content, file_name))
