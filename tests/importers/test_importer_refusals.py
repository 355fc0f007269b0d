"""Files that cannot be imported are refused as a whole, with a clear code."""

from __future__ import annotations

import io
import random
import struct
import zipfile

import importer_fixtures as F
import pytest
from importer_fixtures import xlsx_reading  # noqa: F401 (the fixture below)

from importers.inventory import InventoryRefused, ReadLimits, parse_inventory

#: Every test here runs with xlsx sheets read whole and read in pieces of one row.
pytestmark = pytest.mark.usefixtures("xlsx_reading")

GOOD = [["手続名", "担当課"], ["転入届", "市民課"]]


def _refused(data: bytes, name: str, **kwargs) -> InventoryRefused:
    with pytest.raises(InventoryRefused) as caught:
        parse_inventory(data, name, **kwargs)
    return caught.value


def test_empty_file_is_refused():
    error = _refused(b"", "empty.xlsx")
    assert error.code == "file_empty"
    assert error.params == {"file_name": "empty.xlsx"}
    assert error.message == (
        "The file “empty.xlsx” is empty. Choose the inventory file again and upload it."
    )
    assert error.message_in("ja") == (
        "ファイル「empty.xlsx」は空です。棚卸表のファイルを選び直して、もう一度アップロードしてください。"
    )


def test_file_over_max_bytes_is_refused():
    error = _refused(F.xlsx({"a": GOOD}), "big.xlsx", limits=ReadLimits(max_bytes=1000))
    assert error.code == "file_too_large"
    assert error.params["limit_mb"] == "0.001"


def test_truncated_xlsx_is_refused_as_corrupt():
    data = F.xlsx({"市民部": GOOD * 50})
    error = _refused(data[: len(data) // 2], "cut.xlsx")
    assert error.code == "file_corrupt"
    assert error.params == {"file_name": "cut.xlsx"}


def test_xlsx_with_a_damaged_sheet_stream_is_refused_as_corrupt():
    data = bytearray(F.xlsx({"市民部": GOOD * 50}))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.getinfo("xl/worksheets/sheet1.xml")
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length
    data[start : start + info.compress_size] = b"\xff" * info.compress_size
    assert _refused(bytes(data), "damaged.xlsx").code == "file_corrupt"


def test_truncated_xls_is_refused_as_corrupt():
    data = F.xls({"市民部": GOOD * 200})
    assert _refused(data[: len(data) // 2], "cut.xls").code == "file_corrupt"


def test_password_protected_xlsx_is_refused():
    pytest.importorskip("msoffcrypto", reason="the dev package msoffcrypto-tool encrypts")
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = io.BytesIO(F.xlsx({"市民部": GOOD}))
    encrypted = io.BytesIO()
    OOXMLFile(plain).encrypt("secret", encrypted)
    data = encrypted.getvalue()
    assert data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")  # OLE2, like an .xls
    error = _refused(data, "secret.xlsx")
    assert error.code == "file_encrypted"
    assert error.params == {"file_name": "secret.xlsx"}


def test_password_protected_xls_is_refused():
    data = F.xls({"市民部": GOOD})
    write_access = b"\x5c\x00\x70\x00"  # the WRITEACCESS record xlwt writes near the start
    assert data.count(write_access) == 1
    encrypted = data.replace(write_access, b"\x2f\x00\x70\x00")  # now a FILEPASS record
    assert _refused(encrypted, "secret.xls").code == "file_encrypted"


def test_binary_garbage_is_refused():
    data = random.Random(7).randbytes(5000)
    assert _refused(data, "inventory.xlsx").code == "not_a_spreadsheet"


def test_pdf_is_refused_as_not_a_spreadsheet():
    error = _refused(b"%PDF-1.7\n" + b"x" * 200, "inventory.xlsx")
    assert (error.code, error.params["detected"]) == ("file_not_spreadsheet", "PDF")


def test_word_document_is_refused_as_not_a_spreadsheet():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    error = _refused(out.getvalue(), "inventory.xlsx")
    assert (error.code, error.params["detected"]) == ("file_not_spreadsheet", "Word")


def test_html_table_named_xls_is_refused_with_advice():
    data = "<html><body><table><tr><td>手続名</td></tr></table></body></html>".encode()
    assert _refused(data, "export.xls").code == "file_html"


def test_xlsb_is_refused_with_advice():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.bin", b"\x00" * 10)
    assert _refused(out.getvalue(), "book.xlsb").code == "file_xlsb"


def test_workbook_without_a_recognisable_header_is_refused():
    data = F.xlsx({"Sheet1": [["a", "b"], [1, 2]], "Sheet2": [["メモ"]]})
    error = _refused(data, "notes.xlsx")
    assert error.code == "no_inventory_sheet"
    assert error.params == {"file_name": "notes.xlsx"}


def test_header_without_any_procedure_is_refused():
    data = F.xlsx({"市民部": [["手続名", "担当課"], [None, None], ["※記入例は削除しました"]]})
    assert _refused(data, "template.xlsx").code == "no_procedures"


def test_csv_in_an_unknown_encoding_is_refused():
    data = "手続名,担当課\n".encode("cp932") + b"\x81\x20\x82," * 400  # a lead byte, no trail
    error = _refused(data, "list.csv")
    assert error.code == "csv_encoding_unknown"


def _bomb_sheet(padding: int) -> str:
    """A valid sheet with a huge comment of spaces in it: it deflates about 1000 to 1."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet '
        'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<dimension ref="A1:A2"/><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>手続名</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>転入届</t></is></c></row>'
        f"</sheetData><!--{' ' * padding}--></worksheet>"
    )


def test_decompression_bomb_is_refused_before_it_is_expanded():
    sheet = _bomb_sheet(50_000_000)
    data = F.replace_member(F.xlsx({"市民部": GOOD}), "xl/worksheets/sheet1.xml", sheet)
    assert len(data) < 100_000
    error = _refused(data, "bomb.xlsx", limits=ReadLimits(max_uncompressed_bytes=1_000_000))
    assert error.code == "file_uncompressed_too_large"
    assert error.params == {"limit_mb": "1"}


def _lie_about_size(data: bytes, member: str, size: int) -> bytes:
    """Write a smaller uncompressed size into the zip headers of a member."""
    patched = bytearray(data)
    name = member.encode()
    position = 0
    while True:
        position = patched.find(name, position)
        if position < 0:
            return bytes(patched)
        if patched[position - 30 : position - 26] == b"PK\x03\x04":
            struct.pack_into("<I", patched, position - 30 + 22, size)
        elif patched[position - 46 : position - 42] == b"PK\x01\x02":
            struct.pack_into("<I", patched, position - 46 + 24, size)
        position += len(name)


def test_zip_that_lies_about_its_uncompressed_size_is_still_capped():
    sheet = _bomb_sheet(5_000_000)
    data = F.replace_member(F.xlsx({"市民部": GOOD}), "xl/worksheets/sheet1.xml", sheet)
    lying = _lie_about_size(data, "xl/worksheets/sheet1.xml", 1000)
    assert zipfile.ZipFile(io.BytesIO(lying)).getinfo("xl/worksheets/sheet1.xml").file_size == 1000
    error = _refused(lying, "bomb.xlsx", limits=ReadLimits(max_uncompressed_bytes=1_000_000))
    assert error.code == "file_uncompressed_too_large"


def test_sheet_with_a_far_away_cell_is_refused_before_calamine_expands_it():
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet '
        'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<dimension ref="A1:B2"/><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>手続名</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>転入届</t></is></c>'
        '<c r="Z5000" t="inlineStr"><is><t>x</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    data = F.replace_member(F.xlsx({"市民部": GOOD}), "xl/worksheets/sheet1.xml", sheet)
    error = _refused(data, "sparse.xlsx", limits=ReadLimits(max_cells=10_000))
    assert error.code == "file_too_many_cells"
    assert error.params == {"sheet": "市民部", "cells": "130,000", "limit": "10,000"}


def test_formatting_down_to_the_last_row_is_not_a_refusal():
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet '
        'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<dimension ref="A1:Z1048576"/><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>手続名</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>転入届</t></is></c></row>'
        '<row r="1048576"><c r="Z1048576" s="1"/></row>'
        "</sheetData></worksheet>"
    )
    data = F.replace_member(F.xlsx({"市民部": GOOD}), "xl/worksheets/sheet1.xml", sheet)
    inventory = parse_inventory(data, "formatted.xlsx", limits=ReadLimits(max_cells=10_000))
    assert [r.values["name"] for r in inventory.rows()] == ["転入届"]


def test_csv_with_too_many_cells_is_refused():
    data = F.csv_bytes(["手続名,担当課,件数"] + ["転入届,市民課,1"] * 10)
    error = _refused(data, "list.csv", limits=ReadLimits(max_cells=20))
    assert error.code == "file_too_many_cells"


def test_xls_with_too_many_cells_is_refused():
    rows = [["手続名", "担当課"], ["転入届", "市民課"]]
    xlwt = pytest.importorskip("xlwt", reason="the dev package xlwt writes the .xls fixtures")

    book = xlwt.Workbook()
    sheet = book.add_sheet("市民部")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    sheet.write(60000, 10, "far away")
    out = io.BytesIO()
    book.save(out)
    error = _refused(out.getvalue(), "far.xls", limits=ReadLimits(max_cells=100_000))
    assert error.code == "file_too_many_cells"
    assert error.params["sheet"] == "市民部"


def test_ods_with_a_value_repeated_down_many_rows_is_refused():
    cell, row = F.ods_cell, F.ods_row
    data = F.ods({"市民課": [row(cell("手続名")), row(cell("転入届"), repeated=50_000)]})
    error = _refused(data, "repeat.ods", limits=ReadLimits(max_cells=10_000))
    assert error.code == "file_too_many_cells"
    assert error.params["sheet"] == "市民課"
