"""A large worksheet is read in pieces, with exactly the cells of a whole read."""

from __future__ import annotations

import io
import re
import threading
import zipfile
from datetime import date

import importer_fixtures as F
from importer_fixtures import read_every_sheet_in_pieces

import importers.readers as readers
import importers.readers.xlsx as xlsx_reader
from importers.inventory import ReadLimits, parse_inventory

SHEET = "xl/worksheets/sheet1.xml"


def _raw_sheets(content: bytes) -> list[tuple]:
    book = readers.read_workbook(content, "inventory.xlsx", ReadLimits())
    return [(s.name, s.rows, s.merges, s.formula_cells, s.is_worksheet) for s in book.sheets]


def _count_pieces(monkeypatch) -> list[int | None]:
    """Record how many pieces each sheet was cut into; None for one then read whole."""
    counts: list[int | None] = []
    cut, read = xlsx_reader._sheet_pieces, xlsx_reader._read_in_pieces

    def counting_cut(chunks, size):
        number = 0
        for number, piece in enumerate(cut(chunks, size), start=1):  # noqa: B007
            yield piece
        counts.append(number)

    def counting_read(*args):
        result = read(*args)
        if result is None:
            counts.append(None)
        return result

    monkeypatch.setattr(xlsx_reader, "_sheet_pieces", counting_cut)
    monkeypatch.setattr(xlsx_reader, "_read_in_pieces", counting_read)
    return counts


def _with_shared_strings(book: bytes) -> bytes:
    """Rewrite openpyxl's inline strings of sheet1 as shared strings, as Excel writes them."""
    source = zipfile.ZipFile(io.BytesIO(book))
    texts: list[str] = []

    def shared(match: re.Match) -> str:
        texts.append(match.group(2))
        return f'<c r="{match.group(1)}" t="s"><v>{len(texts) - 1}</v></c>'

    sheet = re.sub(
        r'<c r="([A-Z]+\d+)" t="inlineStr"><is><t>(.*?)</t></is></c>',
        shared,
        source.read(SHEET).decode(),
    )
    items = "".join(f"<si><t>{text}</t></si>" for text in texts)
    strings = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{len(texts)}" uniqueCount="{len(texts)}">{items}</sst>'
    )
    rels = (
        source.read("xl/_rels/workbook.xml.rels")
        .decode()
        .replace(
            "</Relationships>",
            '<Relationship Id="rIdStrings" Target="sharedStrings.xml" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>',
        )
    )
    types = (
        source.read("[Content_Types].xml")
        .decode()
        .replace(
            "</Types>",
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        )
    )
    replaced = {SHEET: sheet, "xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": types}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, replaced.get(info.filename) or source.read(info))
        target.writestr("xl/sharedStrings.xml", strings)
    return out.getvalue()


def _table() -> list[list]:
    """A table starting at B2 with dates, formulas, blank rows inside and a wider last row."""
    table = [[], [None, "手続名", "担当課", "受付開始", "件数", "合計"]]
    for number in range(1, 25):
        if 10 <= number <= 14:  # blank rows inside the table, across pieces
            table.append([])
            continue
        day = date(2024, 4, number)
        table.append([None, f"手続{number}", "市民課", day, number, f"=E{number + 2}*2"])
    table.append([None, "最後の手続", "市民課", True, 1.5, None, "表の外のメモ"])
    return table


def test_a_sheet_read_in_pieces_gives_the_cells_merges_and_formulas_of_a_whole_read(
    monkeypatch,
):
    notes = [["備考"], ["この表は例です"]]
    content = F.xlsx({"市民部": _table(), "メモ": notes}, {"市民部": ["C3:C9"]})
    whole = _raw_sheets(content)
    read_every_sheet_in_pieces(monkeypatch, most_pieces=7)
    pieces = _count_pieces(monkeypatch)
    assert _raw_sheets(content) == whole
    assert len(pieces) == 2 and min(pieces) >= 2  # both sheets, each in several pieces
    name, rows, merges, formulas, _ = whole[0]
    assert (name, len(rows), len(rows[0])) == ("市民部", 27, 7)
    assert rows[2][:5] == ["", "手続1", "市民課", date(2024, 4, 1), 1.0]
    assert rows[12] == [""] * 7
    assert merges == [(2, 2, 8, 2)]
    assert len(formulas) == 19  # openpyxl writes formulas without a cached value


def test_shared_strings_are_read_in_every_piece(monkeypatch):
    content = _with_shared_strings(F.xlsx({"市民部": _table()}))
    assert b'<c r="B2" t="s">' in zipfile.ZipFile(io.BytesIO(content)).read(SHEET)
    whole = _raw_sheets(content)
    read_every_sheet_in_pieces(monkeypatch)
    pieces = _count_pieces(monkeypatch)
    assert _raw_sheets(content) == whole
    assert pieces[0] >= 2
    assert [row[1] for row in whole[0][1][1:4]] == ["手続名", "手続1", "手続2"]


def test_rows_out_of_order_in_the_xml_are_read_whole_instead(monkeypatch):
    book = F.xlsx({"市民部": [["手続名", "担当課"], ["転入届", "市民課"], ["閲覧", "市民課"]]})
    sheet = F.read_member(book, SHEET)
    rows = re.findall(r"<row .*?</row>", sheet)
    shuffled = sheet.replace("".join(rows), rows[0] + rows[2] + rows[1])
    content = F.replace_member(book, SHEET, shuffled)
    whole = _raw_sheets(content)
    read_every_sheet_in_pieces(monkeypatch)
    pieces = _count_pieces(monkeypatch)
    assert _raw_sheets(content) == whole
    assert pieces == [None]
    assert [row[0] for row in whole[0][1]] == ["手続名", "転入届", "閲覧"]


def test_a_sheet_of_several_megabytes_is_read_in_pieces_by_default(monkeypatch):
    book = F.xlsx({"市民部": [["手続名", "担当課"], ["転入届", "市民課"], ["閲覧", "市民課"]]})
    sheet = F.read_member(book, SHEET)
    first_row_end = sheet.index("</row>") + len("</row>")
    padded = sheet[:first_row_end] + " " * xlsx_reader.PIECES_MIN_BYTES + sheet[first_row_end:]
    content = F.replace_member(book, SHEET, padded)
    pieces = _count_pieces(monkeypatch)
    inventory = parse_inventory(content, "inventory.xlsx")
    assert [(r.row, r.values["name"]) for r in inventory.rows()] == [(2, "転入届"), (3, "閲覧")]
    assert pieces[0] >= 2


def test_a_sheet_is_read_whole_when_no_thread_can_be_started(monkeypatch):
    content = F.xlsx({"市民部": _table()}, {"市民部": ["C3:C9"]})
    whole = _raw_sheets(content)
    read_every_sheet_in_pieces(monkeypatch)
    pieces = _count_pieces(monkeypatch)

    def no_thread(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    assert _raw_sheets(content) == whole
    assert pieces == [None]
