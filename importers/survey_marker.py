"""A returned survey workbook's bytes: its custom-properties marker and the rows of one sheet.

The marker is read from ``docProps/custom.xml`` with the member's real inflated size capped,
and the sheet through ``read_workbook``, so the same guards apply as to any inventory (file
size, inflated size, each sheet's dimension and cells checked before python-calamine expands
it). What the marker means is decided by the caller (``procedures.survey.returns``).
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from importers.readers import read_workbook
from importers.readers.guards import Budget, inflate, zip_members
from importers.results import InventoryRefused, ReadLimits

_CUSTOM_PROPERTIES = "docProps/custom.xml"
_CUSTOM_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}"


def custom_properties(content: bytes, *, max_bytes: int) -> dict[str, str] | None:
    """Return an .xlsx's custom document properties (name -> text); None if it has none.

    None too when the file is no zip, the part is damaged, or it is larger than ``max_bytes``
    (declared or once inflated): such a part is not one this application wrote.
    """
    try:
        infos = zip_members(content, "")
        info = next((i for i in infos if i.filename == _CUSTOM_PROPERTIES), None)
        if info is None or info.file_size > max_bytes or info.flag_bits & 0x1:  # 0x1: encrypted
            return None
        xml = b"".join(inflate(content, info, "", Budget(max_bytes)))
        root = ET.fromstring(xml)
    except (InventoryRefused, ET.ParseError, LookupError, ValueError):
        # LookupError: an XML declaration naming an unknown encoding
        return None
    values: dict[str, str] = {}
    for prop in root.iter(f"{_CUSTOM_NS}property"):
        values[prop.get("name", "")] = "".join(child.text or "" for child in prop)
    return values


def read_marker(
    content: bytes, *, marker: str, columns: str, max_bytes: int
) -> tuple[dict[str, Any], list[str]] | None:
    """Return the JSON object in property ``marker`` and the comma-separated list in ``columns``.

    None when either property is missing, the marker is not a JSON object, or the workbook has
    no readable custom properties.
    """
    values = custom_properties(content, max_bytes=max_bytes)
    if values is None or marker not in values or columns not in values:
        return None
    try:
        found = json.loads(values[marker])
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    return found, values[columns].split(",")


def sheet_rows(
    content: bytes, sheet: str, *, file_name: str, limits: ReadLimits
) -> list[list[Any]] | None:
    """Return the rows of the worksheet named ``sheet`` from Excel's row 1; None if none is.

    Raises InventoryRefused as ``read_workbook`` does for a file it will not expand.
    """
    for raw in read_workbook(content, file_name, limits).sheets:
        if raw.name == sheet and raw.is_worksheet:
            return raw.rows
    return None
