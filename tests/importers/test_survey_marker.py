"""A returned survey workbook's bytes: the marker in its custom properties, one sheet's rows."""

from __future__ import annotations

import io
import json
import zipfile

import importer_fixtures as F
import openpyxl
import pytest
from openpyxl.packaging.custom import StringProperty

from importers import survey_marker
from importers.results import InventoryRefused, ReadLimits

MARKER, COLUMNS = "Marker", "Columns"


def _marked(marker: str, columns: str = "code,name", rows=None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "調査票"
    for row in rows or [["手続ID", "手続名"], ["1", "転入届"]]:
        sheet.append(row)
    book.create_sheet("記入方法").append(["説明"])
    book.custom_doc_props.append(StringProperty(name=MARKER, value=marker))
    book.custom_doc_props.append(StringProperty(name=COLUMNS, value=columns))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _read(content: bytes, max_bytes: int = 64 * 1024):
    return survey_marker.read_marker(content, marker=MARKER, columns=COLUMNS, max_bytes=max_bytes)


def _rows(content: bytes, sheet: str = "調査票", **limits):
    return survey_marker.sheet_rows(content, sheet, file_name="s.xlsx", limits=ReadLimits(**limits))


def test_the_marker_and_the_columns_are_read_from_the_custom_properties():
    content = _marked(json.dumps({"kind": "survey", "fy": 2026}, ensure_ascii=False))
    assert _read(content) == ({"kind": "survey", "fy": 2026}, ["code", "name"])


@pytest.mark.parametrize(
    "content",
    [
        b"category,name\nchild_care,x\n",  # no zip at all
        F.xlsx({"一覧": [["手続名"], ["転入届"]]}),  # no custom properties
        _marked("not json"),
        _marked('["a JSON list"]'),
        b"PK\x03\x04 damaged",
    ],
    ids=["csv", "unmarked", "not-json", "not-an-object", "damaged"],
)
def test_a_file_without_a_readable_marker_has_none(content):
    assert _read(content) is None


def test_a_custom_properties_part_over_the_cap_is_not_read():
    content = _marked(json.dumps({"kind": "survey", "padding": "x" * 5000}))
    assert _read(content) is not None
    assert _read(content, max_bytes=1024) is None


def test_the_named_sheet_is_read_from_row_1():
    content = _marked("{}", rows=[[None, None], ["手続ID", "手続名"], [1.0, "転入届"]])
    assert _rows(content) == [["", ""], ["手続ID", "手続名"], [1.0, "転入届"]]
    assert _rows(content, "回答") is None


def test_a_sheet_reaching_the_far_corner_is_refused_before_calamine_expands_it():
    book = openpyxl.load_workbook(io.BytesIO(_marked("{}")))
    book["調査票"]["XFD1048576"] = "x"
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(InventoryRefused) as refused:
        _rows(out.getvalue())
    assert refused.value.code == "file_too_many_cells"
    assert refused.value.params["sheet"] == "調査票"


def test_a_workbook_inflating_past_the_cap_is_refused():
    content = _marked("{}", rows=[["x" * 1000] for _ in range(300)])
    assert len(zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")) > 300_000
    with pytest.raises(InventoryRefused) as refused:
        _rows(content, max_uncompressed_bytes=200_000)
    assert refused.value.code == "file_uncompressed_too_large"
