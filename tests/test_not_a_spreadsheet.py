"""A file whose content is no spreadsheet is refused as such, whatever its name says."""

from __future__ import annotations

import io
import random

import openpyxl
import pytest

from importers.inventory import InventoryRefused, parse_inventory
from importers.messages import render
from importers.readers import read_workbook
from importers.results import ReadLimits

NOTE = "来週の打合せについて\n会議室は3階です。\nよろしくお願いします。\n".encode()


def _refused(data: bytes, name: str) -> InventoryRefused:
    with pytest.raises(InventoryRefused) as caught:
        parse_inventory(data, name)
    return caught.value


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xls(rows: list[list[object]]) -> bytes:
    xlwt = pytest.importorskip("xlwt", reason="the dev package xlwt writes the .xls fixture")
    book = xlwt.Workbook()
    sheet = book.add_sheet("一覧")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("name", ["棚卸表.xlsx", "棚卸表.xls", "棚卸表.ods", "棚卸表.xlsm"])
def test_text_note_renamed_as_a_workbook_is_not_a_spreadsheet(name):
    error = _refused(NOTE, name)
    assert (error.code, error.params) == ("not_a_spreadsheet", {"file_name": name})


def test_not_a_spreadsheet_tells_to_save_from_excel_in_both_languages():
    params = {"file_name": "棚卸表.xlsx"}
    assert render("not_a_spreadsheet", params) == (
        "The file “棚卸表.xlsx” is not a spreadsheet: its content is neither an Excel, "
        "OpenDocument nor CSV file, whatever its name says. Open the inventory in Excel, save it "
        "as an Excel workbook (.xlsx) or as CSV (.csv), and upload that file."
    )
    assert render("not_a_spreadsheet", params, "ja") == (
        "ファイル「棚卸表.xlsx」は表計算のファイルではありません（名前にかかわらず、中身がExcel、"
        "OpenDocument、CSVのいずれでもありません）。棚卸表をExcelで開き、Excelブック（.xlsx）"
        "またはCSV（.csv）として保存して、そのファイルをアップロードしてください。"
    )


def test_binary_garbage_named_csv_is_not_a_spreadsheet():
    garbage = b"\x00\x01\x02binary" + random.Random(16).randbytes(2000)
    error = _refused(garbage, "棚卸表.csv")
    assert (error.code, error.params) == ("not_a_spreadsheet", {"file_name": "棚卸表.csv"})


def test_text_note_named_csv_is_still_read_as_csv():
    book = read_workbook(NOTE, "memo.csv", ReadLimits())
    assert (book.file_format, book.sheets[0].rows[0]) == ("csv", ["来週の打合せについて"])


def test_csv_table_exported_under_an_xls_name_is_read_as_csv():
    data = "手続名,担当課\n転入届,市民課\n転出届,市民課\n".encode("cp932")
    book = read_workbook(data, "export.xls", ReadLimits())
    assert book.file_format == "csv"
    assert book.sheets[0].rows == [["手続名", "担当課"], ["転入届", "市民課"], ["転出届", "市民課"]]
    assert [p.code for p in book.problems] == ["format_mismatch"]


def test_real_xlsx_named_xls_is_read_by_its_content():
    data = _xlsx([["手続名", "担当課"], ["転入届", "市民課"]])
    book = read_workbook(data, "inventory.xls", ReadLimits())
    assert book.file_format == "xlsx"
    assert book.sheets[0].rows == [["手続名", "担当課"], ["転入届", "市民課"]]
    assert [(p.code, p.params["actual"]) for p in book.problems] == [
        ("format_mismatch", "Excel (.xlsx)")
    ]


def test_real_xls_named_xlsx_is_read_by_its_content():
    data = _xls([["手続名", "担当課"], ["転入届", "市民課"]])
    book = read_workbook(data, "inventory.xlsx", ReadLimits())
    assert book.file_format == "xls"
    assert book.sheets[0].rows == [["手続名", "担当課"], ["転入届", "市民課"]]
    assert [(p.code, p.params["actual"]) for p in book.problems] == [
        ("format_mismatch", "Excel 97-2003 (.xls)")
    ]
