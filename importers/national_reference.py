"""The national inventory read as a reference: one row per national 手続ID, the fields compared.

No Flask, no database. ``read_national_reference`` is the one way in: it reads the file with
the inventory importer (its readers, header words and value words), so that every layout the
importer learns (the 令和7年度 one too) is read here as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from importers.inventory import parse_inventory

#: The fields of an entry, in the order a reference row keeps them.
REFERENCE_FIELDS = (
    "national_id",
    "name",
    "legal_basis",
    "ministry",
    "online_status",
    "blockers",
    "identity_check",
    "annual_volume",
    "online_volume",
    "offline_volume",
)


class NationalReferenceRefused(Exception):
    """The file holds no national procedure with its 手続ID; nothing can be loaded from it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        #: "no_id_column" (no column read as 手続ID) or "no_rows" (the column is empty).
        self.reason = reason


@dataclass
class NationalReference:
    """What a national inventory gives as a reference."""

    #: One tuple per 手続ID, in REFERENCE_FIELDS order; a repeated ID keeps its first row.
    rows: list[tuple]
    #: Rows without a 手続ID, and rows whose 手続ID came earlier: not loaded.
    without_id: int
    repeated: int


def read_national_reference(content: bytes, file_name: str) -> NationalReference:
    """Read a national inventory file into reference rows.

    Raises importers.results.InventoryRefused when the file cannot be read as an inventory,
    NationalReferenceRefused when it has no 手続ID to link to.
    """
    parsed = parse_inventory(content, file_name)
    if not any(column.field == "code" for sheet in parsed.sheets for column in sheet.columns):
        raise NationalReferenceRefused("no_id_column")
    rows: list[tuple] = []
    seen: set[str] = set()
    without_id = repeated = 0
    for row in parsed.rows():
        national_id = row.get("code") or ""
        name = row.get("name") or ""
        if not national_id or not name:
            without_id += 1
            continue
        if national_id in seen:
            repeated += 1
            continue
        seen.add(national_id)
        status = row.get("online_status")
        rows.append(
            (
                national_id,
                name,
                row.get("legal_basis") or None,
                row.get("division") or None,
                str(status) if status else None,
                "; ".join(sorted(row.get("blockers") or [])),
                row.get("identity_check"),
                row.get("annual_volume"),
                row.get("online_volume"),
                row.get("offline_volume"),
            )
        )
    if not rows:
        raise NationalReferenceRefused("no_rows")
    return NationalReference(rows, without_id, repeated)
