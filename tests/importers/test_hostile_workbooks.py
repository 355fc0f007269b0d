"""Hostile workbooks: a cell at the sheet's far corner, a survey marker with wrong fields.

python-calamine builds the whole grid up to a sheet's last cell before it gives one row: a
cell at XFD1048576 asks for 17,179,869,184 cells (512 GiB), and the process aborts. The
guards (importers/readers/guards.py) must count every cell calamine counts. Two did not
count: an empty text (``<c t="str"><f>""</f><v></v></c>``, what a formula returning "" is
saved as) and a cell element with a namespace prefix (``<x:c>``, which calamine reads by its
local name). The files are written by hand, as openpyxl writes neither.

The builders are shared with tests/test_hostile_uploads.py (web, command line, a running
server) and bench/fuzz.py (its corpus of hostile inputs).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest

from importers.readers import read_workbook
from importers.results import InventoryRefused, ReadLimits

ROOT = Path(__file__).resolve().parents[2]

#: The survey sheet's name in a Japanese survey workbook, and the row of its headers.
SHEET = "調査票"
HEADER_ROW = 5
FAR_CORNER = "XFD1048576"
#: What a sheet reaching the far corner spans, as the refusal writes it.
FAR_CORNER_CELLS = "17,179,869,184"
#: The survey's columns as its workbook lists them (procedures.survey.layout.COLUMNS).
SURVEY_COLUMNS = (
    "code,,,,name,,,visit_required,visit_reason,annual_volume,volume_fiscal_year,blockers,notes"
)

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
_VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def survey_marker(division: Any, **changes: Any) -> dict[str, Any]:
    """Return the marker a survey workbook of ``division`` carries, with ``changes``."""
    marker = {
        "kind": "procedures-dx-survey",
        "v": 1,
        "fy": 2026,
        "division": division,
        "sheet": SHEET,
        "row": HEADER_ROW,
    }
    return {**marker, **changes}


def sheet_xml(rows: str, dimension: str | None = "A1") -> bytes:
    """Return a worksheet part holding ``rows`` (XML), with a <dimension> unless None."""
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{_MAIN}">'
        f"{declared}<sheetData>{rows}</sheetData></worksheet>"
    ).encode()


def text_row(number: int, *texts: str) -> str:
    """Return a <row> of inline texts from column A."""
    cells = "".join(
        f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'
        for i, text in enumerate(texts)
    )
    return f'<row r="{number}">{cells}</row>'


def workbook(
    sheet: bytes, marker: dict[str, Any] | None = None, columns: str = SURVEY_COLUMNS
) -> bytes:
    """Return an .xlsx of one sheet named SHEET; with ``marker``, marked as a survey."""
    properties = ""
    if marker is not None:
        values = [
            ("ProceduresDXSurvey", json.dumps(marker)),
            ("ProceduresDXSurveyColumns", columns),
        ]
        properties = "".join(
            f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{pid}" '
            f"name={quoteattr(name)}><vt:lpwstr>{escape(value)}</vt:lpwstr></property>"
            for pid, (name, value) in enumerate(values, 2)
        )
    members = {
        "[Content_Types].xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_TYPES}">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_SHEET_TYPE}.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            f'ContentType="{_SHEET_TYPE}.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            f'<Relationship Id="rId2" Type="{_REL}/custom-properties" '
            'Target="docProps/custom.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            f'<sheets><sheet name="{SHEET}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>"
        ),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        if marker is not None:
            archive.writestr(
                "docProps/custom.xml",
                f'<?xml version="1.0" encoding="UTF-8"?><Properties xmlns="{_CUSTOM}" '
                f'xmlns:vt="{_VT}">{properties}</Properties>',
            )
    return out.getvalue()


_TITLE = text_row(1, "令和8年度 手続棚卸調査票")
#: The far-corner cells calamine expands to the whole grid, each as a hostile file writes it.
_FAR_CELL = f'<row r="1048576"><c r="{FAR_CORNER}" t="inlineStr"><is><t>x</t></is></c></row>'
_FAR_EMPTY_TEXT = f'<row r="1048576"><c r="{FAR_CORNER}" t="str"><f>""</f><v></v></c></row>'
_FAR_PREFIXED = f'<row r="1048576"><x:c xmlns:x="{_MAIN}" r="{FAR_CORNER}"><x:v>1</x:v></x:c></row>'

#: What each hostile file is refused as: the importer's refusal of a sheet too large, the
#: survey's refusal of a damaged marker, or of a sheet without the survey's header row.
TOO_MANY_CELLS, MARKER_DAMAGED, SHEET_CHANGED = "too_many_cells", "marker_damaged", "sheet_changed"


def hostile_workbooks(division: int) -> dict[str, tuple[bytes, str]]:
    """Return {file name: (bytes, what it is refused as)}; survey markers name ``division``."""
    marker = survey_marker(division)
    full = f"A1:{FAR_CORNER}"
    return {
        # the file: marked, one cell at the far corner (the dimension says so too)
        "survey-far-corner-cell.xlsx": (
            workbook(sheet_xml(_TITLE + _FAR_CELL, full), marker),
            TOO_MANY_CELLS,
        ),
        # a formula returning "" at the far corner: calamine keeps the empty text
        "survey-far-corner-empty-formula-text.xlsx": (
            workbook(sheet_xml(_TITLE + _FAR_EMPTY_TEXT, full), marker),
            TOO_MANY_CELLS,
        ),
        # a cell element with a prefix, outside a small dimension
        "survey-far-corner-prefixed-cell.xlsx": (
            workbook(sheet_xml(_TITLE + _FAR_PREFIXED, "A1"), marker),
            TOO_MANY_CELLS,
        ),
        # only the <dimension> reaches the far corner: calamine reads the one title row, which
        # is no survey sheet (the header row the marker names was read past the rows before)
        "survey-far-corner-in-dimension-only.xlsx": (
            workbook(sheet_xml(_TITLE, full), marker),
            SHEET_CHANGED,
        ),
        "survey-marker-row-not-a-number.xlsx": (
            workbook(sheet_xml(_TITLE), survey_marker(division, row="五")),
            MARKER_DAMAGED,
        ),
        "survey-marker-row-past-the-sheet.xlsx": (
            workbook(sheet_xml(_TITLE), survey_marker(division, row=1_048_576)),
            SHEET_CHANGED,
        ),
        "survey-marker-row-past-excel.xlsx": (
            workbook(sheet_xml(_TITLE), survey_marker(division, row=10**30)),
            MARKER_DAMAGED,
        ),
        "survey-marker-year-not-a-number.xlsx": (
            workbook(sheet_xml(_TITLE), survey_marker(division, fy="2026")),
            MARKER_DAMAGED,
        ),
        "survey-marker-division-too-large.xlsx": (
            workbook(sheet_xml(_TITLE), survey_marker(2**64)),
            MARKER_DAMAGED,
        ),
        "survey-marker-unknown-field.xlsx": (
            workbook(sheet_xml(_TITLE), marker, columns="code,name,password"),
            MARKER_DAMAGED,
        ),
        # the same far corners without a marker: the importer's own path
        "far-corner-empty-formula-text.xlsx": (
            workbook(sheet_xml(_TITLE + _FAR_EMPTY_TEXT, full)),
            TOO_MANY_CELLS,
        ),
        "far-corner-prefixed-cell.xlsx": (
            workbook(sheet_xml(_TITLE + _FAR_PREFIXED, "A1")),
            TOO_MANY_CELLS,
        ),
    }


def far_corner_refusal() -> InventoryRefused:
    """The refusal of a sheet reaching the far corner, with the default cap on cells."""
    return InventoryRefused(
        "file_too_many_cells",
        sheet=SHEET,
        cells=FAR_CORNER_CELLS,
        limit=f"{ReadLimits().max_cells:,}",
    )


def test_every_far_corner_is_refused_before_calamine_expands_it(tmp_path):
    # In a child process: a regression aborts that process, not the test run.
    names = []
    for name, (content, refused_as) in hostile_workbooks(1).items():
        if refused_as == TOO_MANY_CELLS:
            (tmp_path / name).write_bytes(content)
            names.append(name)
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from importers.readers import read_workbook\n"
        "from importers.results import InventoryRefused, ReadLimits\n"
        "found = {}\n"
        "for path in sorted(Path(sys.argv[1]).iterdir()):\n"
        "    try:\n"
        "        read_workbook(path.read_bytes(), path.name, ReadLimits())\n"
        "        found[path.name] = 'read'\n"
        "    except InventoryRefused as refusal:\n"
        "        found[path.name] = [refusal.code, refusal.params]\n"
        "print(json.dumps(found))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-800:]
    expected = ["file_too_many_cells", far_corner_refusal().params]
    assert json.loads(result.stdout) == dict.fromkeys(sorted(names), expected)


def _read(rows: str, dimension: str | None = "A1", max_cells: int = 6_000_000):
    book = read_workbook(
        workbook(sheet_xml(rows, dimension)), "s.xlsx", ReadLimits(max_cells=max_cells)
    )
    return book.sheets[0].rows


@pytest.mark.parametrize(
    "cell",
    [
        '<c r="C3" t="str"><f>""</f><v></v></c>',
        '<c r="C3" t="str"><v/></c>',
        '<c r="C3" t="d"><v></v></c>',
        '<c r="C3" t="inlineStr"><is/></c>',
        f'<x:c xmlns:x="{_MAIN}" r="C3"><x:v>1</x:v></x:c>',
        f'<fx:c xmlns:fx="{_MAIN}" r="C3"><fx:v>1</fx:v></fx:c>',
        '<y:c xmlns:y="urn:elsewhere" r="C3"><y:v>1</y:v></y:c>',
    ],
    ids=["empty-formula-text", "empty-text", "empty-date", "empty-inline", "x", "fx", "other-ns"],
)
@pytest.mark.parametrize("dimension", ["A1", "A1:C3", None])
def test_a_cell_calamine_counts_is_counted_against_the_cap(cell, dimension):
    rows = f'<row r="1"><c r="A1"><v>1</v></c></row><row r="3">{cell}</row>'
    with pytest.raises(InventoryRefused) as refused:
        _read(rows, dimension, max_cells=8)
    assert refused.value.code == "file_too_many_cells"
    assert refused.value.params["cells"] == "9"
    assert len(_read(rows, dimension, max_cells=9)) == 3  # at the cap, read


@pytest.mark.parametrize(
    "cell",
    [f'<c r="{FAR_CORNER}" s="1"/>', f'<c r="{FAR_CORNER}"><f>1+1</f></c>'],
    ids=["styled-only", "formula-without-value"],
)
def test_a_far_corner_cell_without_value_is_no_cell_and_the_sheet_is_read(cell):
    # calamine drops such cells: a sheet formatted down to the last row stays importable
    rows = _read(text_row(1, "手続名") + f'<row r="1048576">{cell}</row>', f"A1:{FAR_CORNER}")
    assert rows == [["手続名"]]


def test_a_formula_cell_is_not_taken_for_a_prefixed_cell():
    rows = text_row(1, "手続名", "件数") + '<row r="2"><c r="B2"><f>1+1</f><v>2</v></c></row>'
    assert _read(rows, "A1:B2") == [["手続名", "件数"], ["", 2.0]]
