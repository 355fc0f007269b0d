"""Every supported format is read, found by content rather than by extension."""

from __future__ import annotations

import importer_fixtures as F
import pytest
from importer_fixtures import xlsx_reading  # noqa: F401 (the fixture below)

from importers.inventory import parse_inventory

#: Every test here runs with xlsx sheets read whole and read in pieces of one row.
pytestmark = pytest.mark.usefixtures("xlsx_reading")

HEADER = ["手続名", "担当課", "年間件数"]
ROWS = [["転入届", "市民課", 1234], ["閲覧", "市民課", "約500"]]


def _values(inventory):
    return [(r.sheet, r.row, r.values) for r in inventory.rows()]


def test_xlsx_is_read():
    inventory = parse_inventory(F.xlsx({"市民部": [HEADER, *ROWS]}), "inventory.xlsx")
    assert inventory.file_format == "xlsx"
    assert inventory.problems == []
    assert _values(inventory) == [
        (
            "市民部",
            2,
            {
                "name": "転入届",
                "division": "市民課",
                "annual_volume": 1234,
                "volume_is_estimate": False,
            },
        ),
        (
            "市民部",
            3,
            {
                "name": "閲覧",
                "division": "市民課",
                "annual_volume": 500,
                "volume_is_estimate": True,
            },
        ),
    ]


def test_xlsm_name_is_read_as_xlsx_without_warning():
    inventory = parse_inventory(F.xlsx({"市民部": [HEADER, *ROWS]}), "inventory.xlsm")
    assert inventory.file_format == "xlsx"
    assert inventory.problems == []
    assert len(list(inventory.rows())) == 2


def test_xls_is_read():
    inventory = parse_inventory(F.xls({"市民部": [HEADER, *ROWS]}), "old.xls")
    assert inventory.file_format == "xls"
    assert _values(inventory) == [
        (
            "市民部",
            2,
            {
                "name": "転入届",
                "division": "市民課",
                "annual_volume": 1234,
                "volume_is_estimate": False,
            },
        ),
        (
            "市民部",
            3,
            {
                "name": "閲覧",
                "division": "市民課",
                "annual_volume": 500,
                "volume_is_estimate": True,
            },
        ),
    ]


def test_xls_division_merged_down_fills_every_row():
    rows = [
        ["担当課", "手続名"],
        ["介護保険課", "要介護認定申請"],
        [None, "被保険者証の再交付申請"],
    ]
    data = F.xls({"福祉部": rows}, merges={"福祉部": [(1, 2, 0, 0)]})
    inventory = parse_inventory(data, "old.xls")
    assert [(r.row, r.values["division"]) for r in inventory.rows()] == [
        (2, "介護保険課"),
        (3, "介護保険課"),
    ]


def test_ods_is_read_with_its_merged_group_label():
    cell, row = F.ods_cell, F.ods_row
    data = F.ods(
        {
            "市民課": [
                row(cell("手続一覧")),
                row(),
                row(
                    cell("手続名"),
                    cell("来庁", columns_spanned=2),
                    "<table:covered-table-cell/>",
                    cell("件数"),
                ),
                row(cell(None), cell("要否"), cell("理由"), cell(None)),
                row(cell("転入届"), cell("要"), cell("本人確認のため"), cell(1234)),
                row(cell(None), repeated=1_048_000),  # LibreOffice's trailing empty rows
            ]
        }
    )
    inventory = parse_inventory(data, "inventory.ods")
    assert inventory.file_format == "ods"
    sheet = inventory.sheets[0]
    assert sheet.header_row == 4
    assert [(c.header, c.field) for c in sheet.columns] == [
        ("手続名", "name"),
        ("来庁 / 要否", "visit_required"),
        ("来庁 / 理由", "visit_reason"),
        ("件数", "annual_volume"),
    ]
    assert _values(inventory) == [
        (
            "市民課",
            5,
            {
                "name": "転入届",
                "visit_required": True,
                "visit_reason": "本人確認のため",
                "annual_volume": 1234,
                "volume_is_estimate": False,
            },
        )
    ]


def test_csv_utf8_with_bom_is_read():
    data = F.csv_bytes(["手続名,担当課", "転入届,市民課"], "utf-8-sig")
    inventory = parse_inventory(data, "list.csv")
    assert inventory.file_format == "csv"
    assert inventory.problems == []
    assert _values(inventory) == [("list", 2, {"name": "転入届", "division": "市民課"})]


def test_csv_utf8_without_bom_is_read():
    data = F.csv_bytes(["手続名,担当課", "転入届,市民課"], "utf-8")
    assert _values(parse_inventory(data, "list.csv")) == [
        ("list", 2, {"name": "転入届", "division": "市民課"})
    ]


def test_csv_cp932_is_detected_without_asking():
    data = F.csv_bytes(
        ["手続名,担当課,件数", "住民票の写しの交付請求,市民課,１，２３４件"], "cp932"
    )
    assert _values(parse_inventory(data, "list.csv")) == [
        (
            "list",
            2,
            {
                "name": "住民票の写しの交付請求",
                "division": "市民課",
                "annual_volume": 1234,
                "volume_is_estimate": False,
            },
        )
    ]


def test_csv_multiline_quoted_field_gives_the_line_where_the_record_starts():
    data = F.csv_bytes(
        [
            "手続名,備考",
            '転入届,"1行目',
            '2行目"',
            "転出届,",
            ",名前のない行",
        ]
    )
    inventory = parse_inventory(data, "list.csv")
    assert [(r.row, r.values) for r in inventory.rows()] == [
        (2, {"name": "転入届", "notes": "1行目\n2行目"}),
        (4, {"name": "転出届", "notes": ""}),
    ]
    assert [(p.code, p.row) for p in inventory.problems] == [("name_missing", 5)]


def test_tab_separated_utf16_text_from_excel_is_read():
    data = "手続名\t担当課\r\n転入届\t市民課\r\n".encode("utf-16")
    assert _values(parse_inventory(data, "list.txt")) == [
        ("list", 2, {"name": "転入届", "division": "市民課"})
    ]


def test_csv_renamed_xlsx_is_read_as_csv_with_a_warning():
    data = F.csv_bytes(["手続名,担当課", "転入届,市民課"], "cp932")
    inventory = parse_inventory(data, "renamed.xlsx")
    assert inventory.file_format == "csv"
    assert _values(inventory) == [("renamed", 2, {"name": "転入届", "division": "市民課"})]
    [problem] = inventory.problems
    assert (problem.severity, problem.code) == ("warning", "format_mismatch")
    assert problem.params == {"file_name": "renamed.xlsx", "actual": "CSV", "extension": "csv"}


def test_xlsx_renamed_csv_is_read_as_xlsx_with_a_warning():
    inventory = parse_inventory(F.xlsx({"市民部": [HEADER, *ROWS]}), "export.csv")
    assert inventory.file_format == "xlsx"
    assert [p.code for p in inventory.problems] == ["format_mismatch"]
    assert len(list(inventory.rows())) == 2


def test_every_sheet_with_an_inventory_is_read_and_the_others_are_reported():
    data = F.xlsx(
        {
            "説明": [["この棚卸表の記入方法"], ["1. 手続ごとに1行で記入してください。"]],
            "市民部": [["手続名", "担当課"], ["転入届", "市民課"]],
            "福祉部": [["手続名", "担当課"], ["要介護認定申請", "介護保険課"]],
            "空": [],
        }
    )
    inventory = parse_inventory(data, "inventory.xlsx")
    assert [(s.name, s.header_row, s.skipped_reason, len(s.rows)) for s in inventory.sheets] == [
        ("説明", None, "sheet_no_header", 0),
        ("市民部", 1, None, 1),
        ("福祉部", 1, None, 1),
        ("空", None, "sheet_empty", 0),
    ]
    assert [(r.sheet, r.values["name"]) for r in inventory.rows()] == [
        ("市民部", "転入届"),
        ("福祉部", "要介護認定申請"),
    ]
    assert [(p.code, p.sheet) for p in inventory.problems] == [
        ("sheet_no_header", "説明"),
        ("sheet_empty", "空"),
    ]


def test_chart_sheet_is_skipped():
    import io

    import openpyxl
    from openpyxl.chart import BarChart, Reference

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "一覧"
    sheet.append(["手続名", "担当課"])
    sheet.append(["転入届", "市民課"])
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=1, min_row=1, max_row=2))
    book.create_chartsheet("グラフ").add_chart(chart)
    out = io.BytesIO()
    book.save(out)
    inventory = parse_inventory(out.getvalue(), "with-chart.xlsx")
    assert [(s.name, s.skipped_reason) for s in inventory.sheets] == [
        ("一覧", None),
        ("グラフ", "sheet_not_worksheet"),
    ]


def test_utf8_csv_with_a_damaged_byte_is_read_as_utf8_with_a_warning():
    data = F.csv_bytes(["手続名,担当課", "転入届,市民課", "転出届,市民課"], "utf-8")
    damaged = data.replace("転出".encode(), b"\xff" + "出".encode())
    inventory = parse_inventory(damaged, "list.csv")
    assert [r.values["name"] for r in inventory.rows()] == ["転入届", "\ufffd出届"]
    assert [(p.code, p.params) for p in inventory.problems] == [
        ("csv_characters_replaced", {"count": 1})
    ]


def test_a_list_of_names_only_is_an_inventory():
    inventory = parse_inventory(F.xlsx({"一覧": [["手続名"], ["転入届"], ["転出届"]]}), "a.xlsx")
    assert [r.values for r in inventory.rows()] == [{"name": "転入届"}, {"name": "転出届"}]


def _calamine_both_ways(content: bytes) -> list[tuple[list, list]]:
    """Return, per sheet, our rows and python-calamine's own to_python rows."""
    import io

    import python_calamine

    from importers.readers import sheet_rows

    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
    pairs = []
    for name in book.sheet_names:
        sheet = book.get_sheet_by_name(name)
        pairs.append((sheet_rows(sheet), sheet.to_python(skip_empty_area=False)))
    return pairs


def test_sheet_read_row_by_row_keeps_the_blank_rows_and_columns_before_the_table():
    content = F.xlsx(
        {
            "offset": [[], [], [None, None, "手続名", "担当課"], [None, None, "閲覧", 1.0]],
            "from_a1": [["手続名", True], ["閲覧", 1]],
            "empty": [],
        }
    )
    pairs = _calamine_both_ways(content)
    assert [ours for ours, _ in pairs] == [
        [["", "", "", ""], ["", "", "", ""], ["", "", "手続名", "担当課"], ["", "", "閲覧", 1.0]],
        [["手続名", True], ["閲覧", 1.0]],
        [],
    ]
    assert all(ours == theirs for ours, theirs in pairs)
    # True and 1.0 are equal keys: sharing repeated texts must not turn one into the other.
    assert [type(v) for v in pairs[1][0][0] + pairs[1][0][1]] == [str, bool, str, float]


def test_ods_sheet_read_row_by_row_matches_the_whole_sheet_read():
    content = F.ods(
        {
            "表": [
                F.ods_row(F.ods_cell(None), F.ods_cell(None)),
                F.ods_row(F.ods_cell(None), F.ods_cell("手続名"), F.ods_cell("件数")),
                F.ods_row(F.ods_cell(None), F.ods_cell("閲覧"), F.ods_cell(3)),
            ]
        }
    )
    ((ours, theirs),) = _calamine_both_ways(content)
    assert ours == theirs == [["", "", ""], ["", "手続名", "件数"], ["", "閲覧", 3.0]]


def test_xlsx_sheet_inflating_to_several_whole_chunks_is_read_to_its_last_row():
    # 12 MB of blank space between two rows compresses to a few KB: one slice of input gives
    # three full chunks of output, and the rows after them must still be read.
    book = F.xlsx({"市民部": [HEADER, *ROWS]})
    sheet = F.read_member(book, "xl/worksheets/sheet1.xml")
    first_row_end = sheet.index("</row>") + len("</row>")
    padded = sheet[:first_row_end] + " " * (12 << 20) + sheet[first_row_end:]
    inventory = parse_inventory(
        F.replace_member(book, "xl/worksheets/sheet1.xml", padded), "inventory.xlsx"
    )
    assert [(r.row, r.values["name"]) for r in inventory.rows()] == [(2, "転入届"), (3, "閲覧")]
