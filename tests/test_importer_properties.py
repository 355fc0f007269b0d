"""Properties of the importer over generated CSV and .xlsx content (Hypothesis, bounded).

Whatever the cells hold, parse_inventory returns rows or raises InventoryRefused, never another
exception; and every data row is accounted for: imported, or refused with an error.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importers.inventory import InventoryRefused, parse_inventory

# few examples and no deadline: the suite stays fast and a slow shared machine is no failure
BOUNDED = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# numbers a damaged or hand-edited workbook holds: infinite, NaN, beyond the database column
ODD_NUMBER = st.sampled_from([math.inf, -math.inf, math.nan, 1e308, -0.0, 3e9, 2**31, 10**30])
ANY_TEXT = st.text(max_size=40)  # any code point but lone surrogates: controls, RTL, emoji …
CELL = st.one_of(
    st.none(),
    ANY_TEXT,
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    ODD_NUMBER,
    st.booleans(),
    st.sampled_from(["合計", "※ 注記", "小計", "-", "約500", "100～200", "R4", "有（200円）"]),
)
# text an office clerk types, encodable in CP932: nothing in it can be taken for a header
CLERK = st.text(alphabet="あいうカキク市民税窓口0123456789０１２abcXYZ （）()・-、/", max_size=12)
HEADER = ["手続名", "所管課", "年間件数", "備考"]


def _csv(rows: list[list[object]], encoding: str) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return out.getvalue().encode(encoding, errors="replace")


def _xlsx(rows: list[list[object]]) -> bytes:
    """Write the sheet XML by hand: openpyxl would blank inf and NaN, which Excel files can hold."""
    cells = []
    for r, row in enumerate(rows, 1):
        xml = []
        for c, value in enumerate(row):
            ref = f"{chr(65 + c)}{r}"
            if value is None:
                continue
            if isinstance(value, bool):
                xml.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | float):
                xml.append(f'<c r="{ref}"><v>{value!r}</v></c>')
            else:  # characters XML forbids are written as they come: refused as damaged
                text = escape(str(value))
                xml.append(
                    f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
                )
        cells.append(f'<row r="{r}">{"".join(xml)}</row>')
    sheet = f'<worksheet xmlns="{_MAIN}"><sheetData>{"".join(cells)}</sheetData></worksheet>'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _TYPES)
        archive.writestr("_rels/.rels", _rels("officeDocument", "xl/workbook.xml"))
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            '<sheet name="手続一覧" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr("xl/_rels/workbook.xml.rels", _rels("worksheet", "worksheets/sheet1.xml"))
        archive.writestr("xl/worksheets/sheet1.xml", sheet.encode("utf-8"))
    return out.getvalue()


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
    '+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
    '"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml'
    '.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)


def _rels(kind: str, target: str) -> str:
    return (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/{kind}" Target="{target}"/></Relationships>'
    )


def _accounted(parsed) -> tuple[set, set]:
    accepted = {(row.sheet, row.row) for row in parsed.rows()}
    refused = {(p.sheet, p.row) for p in parsed.problems if p.severity == "error"}
    for problem in parsed.problems:  # every message renders in both languages
        assert problem.message_in("ja") and problem.message_in("en")
    return accepted, refused


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
@BOUNDED
@given(
    body=st.lists(st.lists(CELL, max_size=6), max_size=12),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp932", "utf-16"]),
)
def test_any_cells_are_imported_or_refused_with_a_message(file_format, body, encoding):
    rows = [HEADER, *body]
    content = _csv(rows, encoding) if file_format == "csv" else _xlsx(rows)
    try:
        parsed = parse_inventory(content, f"generated.{file_format}")
    except InventoryRefused as refusal:
        assert refusal.message_in("ja") and refusal.message_in("en")
        return
    accepted, refused = _accounted(parsed)
    assert not accepted & refused  # no row both imported and refused


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
@BOUNDED
@given(
    body=st.lists(
        st.tuples(
            st.one_of(st.none(), CLERK),  # the name after "手続"; None: no name
            CLERK,
            st.one_of(
                st.integers(min_value=0, max_value=10**12),
                st.floats(allow_nan=True, allow_infinity=True),
                ODD_NUMBER,
                CLERK,
            ),
            CLERK,
        ),
        min_size=1,
        max_size=15,
    ),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp932"]),
)
def test_rows_are_imported_plus_refused(file_format, body, encoding):
    rows = [HEADER] + [
        [None if name is None else f"手続{name}", division, volume, note]
        for name, division, volume, note in body
    ]
    content = _csv(rows, encoding) if file_format == "csv" else _xlsx(rows)
    parsed = parse_inventory(content, f"generated.{file_format}")
    accepted, refused = _accounted(parsed)
    named = [number for number, row in enumerate(body, 2) if row[0] is not None]
    # a row without a name but with a volume or a note is a procedure whose name is missing;
    # one with only a division is a section heading over the rows below it
    unnamed = [
        number
        for number, row in enumerate(body, 2)
        if row[0] is None and (_shows(row[2]) or _shows(row[3]))
    ]
    sheet = next(iter(parsed.sheets)).name
    assert accepted == {(sheet, number) for number in named}
    assert refused == {(sheet, number) for number in unnamed}
    assert len(accepted) + len(refused) == len(named) + len(unnamed)


def _shows(value: object) -> bool:
    """Whether a cell is non-blank once written."""
    if isinstance(value, str):
        return bool(value.strip(" \u3000"))
    return True
