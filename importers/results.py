"""Data types shared by the importer modules: problems, limits and parse results."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from importers.decisions import Unrecognised
from importers.messages import MESSAGES, render


@dataclass(slots=True)
class Problem:
    """One thing wrong with the file: an error refuses a row, a warning keeps it."""

    severity: str  # "error" | "warning"
    code: str  # key into importers.messages.MESSAGES
    params: dict[str, Any]
    sheet: str | None = None
    row: int | None = None  # Excel row number (1-based); CSV: line number of the record
    column: str | None = None  # column header text as shown in ColumnMapping.header

    @property
    def message(self) -> str:
        """Return the English message."""
        return render(self.code, self.params)

    def message_in(self, locale: str) -> str:
        """Return the message in the given locale ("en" or "ja")."""
        return render(self.code, self.params, locale)


class InventoryRefused(Exception):
    """The whole file is refused; nothing can be imported from it."""

    def __init__(self, code: str, **params: Any) -> None:
        if code not in MESSAGES:
            raise KeyError(code)
        self.code = code
        self.params = params
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """Return the English message."""
        return render(self.code, self.params)

    def message_in(self, locale: str) -> str:
        """Return the message in the given locale ("en" or "ja")."""
        return render(self.code, self.params, locale)


@dataclass(frozen=True)
class ReadLimits:
    """Caps applied before a workbook is expanded in memory."""

    max_bytes: int = 20 * 1024 * 1024
    # Zip-based formats: the sum of the members' real (inflated) sizes. The 10 MB national
    # inventory (75,071 rows x 38 columns) inflates to 117 MB.
    max_uncompressed_bytes: int = 256 * 1024 * 1024
    # Cells of the grid a sheet expands to (last row x last column). National inventory:
    # 75,072 x 38 = 2.85 million.
    max_cells: int = 6_000_000
    # CSV records: Excel's own row limit. Without it, 18 MB of one-cell lines made six million
    # row lists (1 GB, 12 s) before the cap on cells refused the file.
    max_rows: int = 1_048_576


@dataclass(slots=True)
class ColumnMapping:
    """How one column of a sheet was understood."""

    index: int  # 0-based column index
    header: str  # header text as shown ("group / sub" for two-row headers)
    field: str | None  # canonical field name, or None = kept as extra
    samples: list[str] = dataclasses.field(default_factory=list)  # up to 3 non-empty values as text


#: In a RowTable column: the sheet says nothing of this field for this row (not even blank).
ABSENT: Any = type("Absent", (), {"__repr__": lambda _self: "ABSENT"})()


@dataclass(slots=True)
class RowTable:
    """The accepted rows of one sheet column by column, as the parser built them.

    Writing tens of thousands of new procedures reads these columns instead of taking every
    row's dictionaries apart again. A row's position is its index in every column.
    """

    fields: dict[str, list[Any]]  # canonical field -> value of each row (or ABSENT)
    extra_headers: list[str]  # unmapped columns' headers (unique)
    extra_columns: list[list[str]]  # their cell texts, "" when blank
    extra_index: dict[str, int] = dataclasses.field(init=False)  # header -> its column

    def __post_init__(self) -> None:
        self.extra_index = {header: i for i, header in enumerate(self.extra_headers)}


class ParsedRow:
    """One accepted procedure.

    Rows made by the parser keep their values in their sheet's RowTable; the dictionaries
    `values` and `extra` are only built when asked for (the preview of a changed row, a
    test). Writing 75,000 new procedures reads the table and never builds them; `get` and
    `extra_get` read one value without building anything.
    """

    __slots__ = ("sheet", "row", "table", "position", "_values", "_extra")

    def __init__(
        self,
        sheet: str,
        row: int,  # Excel row number (CSV: line number of the record)
        values: dict[str, Any] | None = None,  # canonical field -> normalised value
        extra: dict[str, str] | None = None,  # unmapped columns: header -> text (non-empty)
        table: RowTable | None = None,  # the same values by column (rows made by the parser)
        position: int = -1,  # this row's index in the table's columns
    ) -> None:
        self.sheet = sheet
        self.row = row
        self.table = table
        self.position = position
        self._values = values if values is not None or table is not None else {}
        self._extra = extra if extra is not None or table is not None else {}

    @property
    def values(self) -> dict[str, Any]:
        """Return canonical field -> normalised value, for the fields the sheet has."""
        if self._values is None:
            assert self.table is not None  # a row without a table has its own values
            at = self.position
            self._values = {
                name: column[at]
                for name, column in self.table.fields.items()
                if column[at] is not ABSENT
            }
        return self._values

    @property
    def extra(self) -> dict[str, str]:
        """Return unmapped column header -> cell text, for the non-blank cells."""
        if self._extra is None:
            at = self.position
            table = self.table
            assert table is not None  # a row without a table has its own extra cells
            self._extra = {
                header: column[at]
                for header, column in zip(table.extra_headers, table.extra_columns, strict=True)
                if column[at]
            }
        return self._extra

    def get(self, name: str, default: Any = None) -> Any:
        """Return one field's value, or default when the sheet has no such column."""
        if self._values is not None:
            return self._values.get(name, default)
        assert self.table is not None  # a row without a table has its own values
        column = self.table.fields.get(name)
        if column is None or column[self.position] is ABSENT:
            return default
        return column[self.position]

    def extra_get(self, header: str, default: str = "") -> str:
        """Return one unmapped column's text ("" when blank), or default without the column."""
        if self._extra is not None:
            return self._extra.get(header, default)
        assert self.table is not None  # a row without a table has its own extra cells
        column = self.table.extra_index.get(header)
        if column is None:
            return default
        return self.table.extra_columns[column][self.position] or default

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParsedRow):
            return NotImplemented
        return (self.sheet, self.row, self.values, self.extra) == (
            other.sheet,
            other.row,
            other.values,
            other.extra,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaces

    def __repr__(self) -> str:
        return f"ParsedRow({self.sheet!r}, {self.row!r}, {self.values!r}, {self.extra!r})"


@dataclass(slots=True)
class SheetResult:
    """What was read from one sheet."""

    name: str
    header_row: int | None  # Excel row number of the (last) header row; None if skipped
    columns: list[ColumnMapping]
    rows: list[ParsedRow]
    skipped_reason: str | None = None  # a message code when the sheet holds no inventory
    header_signature: str = ""  # stable hash of the normalised header texts
    #: Values the vocabulary did not decide, once per column and value (decided or not).
    unrecognised: list[Unrecognised] = dataclasses.field(default_factory=list)


@dataclass(slots=True)
class ParsedInventory:
    """Everything read from one uploaded file."""

    file_name: str
    file_format: str  # "xlsx" | "xls" | "ods" | "csv"
    sheets: list[SheetResult]
    problems: list[Problem]

    def rows(self) -> Iterator[ParsedRow]:
        """Yield all accepted rows of all sheets, in file order."""
        for sheet in self.sheets:
            yield from sheet.rows

    @property
    def unrecognised(self) -> list[Unrecognised]:
        """Return the values not decided by the vocabulary, of every sheet, in file order."""
        return [entry for sheet in self.sheets for entry in sheet.unrecognised]
