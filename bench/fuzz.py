"""Fuzz the importer with mutated real inventories for a bounded time; write the figures.

Seeds are small files made at run time from ../shared/data (the first rows of the Japanese and
Canadian inventories, saved as .xlsx, .xlsm, .ods, .xls and CSV in UTF-8, UTF-8 with BOM and
CP932). Each round takes a seed and mutates it: bytes (bit flips, truncation, chunks copied or
deleted, splices), zip members (a member of the workbook inflated, mutated and zipped again:
huge dimension references, shared-string indexes out of range, deep nesting, entity bombs,
bad encodings) or structure (cells rewritten with formulas, dates, errors, huge numbers, NUL,
lone surrogates, 100,000-character strings, merged ranges).

Every input goes through ``parse_inventory`` the way an upload does, in a worker process with
a memory cap (RLIMIT_AS) and a time limit per input, so that a hang or a memory blow-up is
counted, not suffered; one input in ``--app-every`` goes instead through the application,
by turns the command line's ``import_now`` (a survey workbook recognised, then
``import_file``: analyse, then the writes) and the upload page's ``preview_upload``, rolled
back, against a scratch SQLite database, or a fresh schema of a PostgreSQL database with
``--postgres`` (or $BENCH_POSTGRES_URL). The hostile corpus (a cell at the sheet's far corner,
survey markers with wrong fields: tests/importers/test_hostile_workbooks.py) goes through
every path first, and its files are mutated too.
Outcomes: imported, refused (an importer message code), exception, accounting (rows not
accounted for), timeout, memory, died (the worker was killed by a signal). Every input that
is not imported or refused is a bug: it is minimised and saved under ``--crashes``.

Writes the "fuzz" section of docs/BENCHMARKS.md. Never asserts.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import datetime as dt
import io
import multiprocessing
import os
import random
import re
import signal
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from report import machine_line, replace_section

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from importers.headers import column_letter  # noqa: E402 - after the path is set
from tests.importers.importer_fixtures import ods, ods_cell, ods_row  # noqa: E402
from tests.importers.test_hostile_workbooks import hostile_workbooks  # noqa: E402

SEED_ROWS = 30
OK_CLASSES = ("imported", "refused")
#: The division the scratch database holds first (id 1): survey markers of the corpus name it.
SURVEY_DIVISION = 1
#: The ways into the application: the command line's and the upload page's.
APP_ENTRIES = ("cli", "web")
BUG_CLASSES = ("exception", "accounting", "timeout", "memory", "died")


# ------------------------------------------------------------------------------------------
# seeds
# ------------------------------------------------------------------------------------------


def _sheet_rows(path: Path, sheet: str | None, count: int) -> list[list[Any]]:
    """Return the first ``count`` rows of a sheet read with python-calamine."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    name = sheet or book.sheet_names[0]
    return book.get_sheet_by_name(name).to_python(nrows=count)


def _csv_records(path: Path, encoding: str, count: int) -> list[list[str]]:
    text = path.read_bytes().decode(encoding, errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    return [record for _, record in zip(range(count), reader, strict=False)]


def _csv(rows: list[list[Any]], encoding: str, delimiter: str = ",") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode(encoding, errors="replace")


def _xlsx(sheets: dict[str, list[list[Any]]], macro: bool = False) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name[:31])
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    if macro:  # what Excel writes for .xlsm: the macro-enabled main content type
        data = _replace_member(
            data,
            "[Content_Types].xml",
            lambda xml: xml.replace(
                b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml"
            ),
        )
    return data


def _xls(sheets: dict[str, list[list[Any]]]) -> bytes:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    for name, rows in sheets.items():
        sheet = book.add_sheet(name[:31])
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, dt.datetime | dt.date | dt.time):
                    value = str(value)
                if isinstance(value, str):
                    value = value[:32767]
                sheet.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _ods(sheets: dict[str, list[list[Any]]]) -> bytes:
    def cell(value: Any) -> str:
        if value == "":
            value = None
        elif isinstance(value, bool):
            value = str(value)
        return ods_cell(value)

    return ods({name: [ods_row(*map(cell, row)) for row in rows] for name, rows in sheets.items()})


def make_seeds() -> dict[str, bytes]:
    """Return small real inventories (file name -> bytes) made from ../shared/data."""
    national = _sheet_rows(SHARED / "jp-national-procedures-r6.xlsx", "手続一覧", SEED_ROWS + 1)
    local = _sheet_rows(SHARED / "jp-national-procedures-r6-local.xlsx", None, SEED_ROWS + 1)
    services = _sheet_rows(SHARED / "ca-gc-titan-annual-extract.xlsx", "Services", SEED_ROWS + 1)
    standards = _sheet_rows(SHARED / "ca-gc-titan-annual-extract.xlsx", "Standards", SEED_ROWS + 1)
    canada_csv = _csv_records(
        SHARED / "ca-gc-service-inventory-2019-2020.csv", "utf-8-sig", SEED_ROWS + 1
    )
    cp932 = _csv_records(
        SHARED / "jp-national-procedures-r6-local.cp932.csv", "cp932", SEED_ROWS + 1
    )
    # a title row and an empty row above the table, as divisions keep their sheets
    titled = [["令和6年度 手続棚卸調査票"], [], *local]
    return {
        "national.xlsx": _xlsx({"手続一覧": national}),
        "national.xlsm": _xlsx({"手続一覧": national}, macro=True),
        "local-titled.xlsx": _xlsx({"市民部": titled, "メモ": [["備考"], ["なし"]]}),
        "national.ods": _ods({"手続一覧": national}),
        "local.xls": _xls({"手続一覧": local}),
        "national-utf8.csv": _csv(national, "utf-8"),
        "national-bom.csv": _csv(national, "utf-8-sig"),
        "local-cp932.csv": _csv(cp932, "cp932"),
        "local.tsv": _csv(local, "utf-8", delimiter="\t"),
        "canada-bom.csv": _csv(canada_csv, "utf-8-sig"),
        "canada-titan.xlsx": _xlsx({"Services": services, "Standards": standards}),
    }


# ------------------------------------------------------------------------------------------
# mutators
# ------------------------------------------------------------------------------------------


def _replace_member(data: bytes, member: str, change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == member:
                content = change(content)
            target.writestr(info, content, compress_type=info.compress_type)
    return out.getvalue()


def _bit_flip(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(buf))
        buf[i] ^= 1 << rng.randrange(8)
    return bytes(buf)


def _interesting_bytes(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(buf))
        value = rng.choice([0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE, 0x0A, 0x22, 0x2C])
        width = rng.choice([1, 2, 4])
        buf[i : i + width] = bytes([value]) * width
    return bytes(buf)


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(1, len(data))]


def _duplicate_chunk(rng: random.Random, data: bytes) -> bytes:
    a = rng.randrange(len(data))
    b = min(len(data), a + rng.choice([1, 8, 64, 512, 4096]))
    at = rng.randrange(len(data))
    return data[:at] + data[a:b] * rng.choice([1, 2, 16]) + data[at:]


def _delete_chunk(rng: random.Random, data: bytes) -> bytes:
    a = rng.randrange(len(data))
    b = min(len(data), a + rng.choice([1, 8, 64, 512, 4096]))
    return data[:a] + data[b:]


def _byte_mutation(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return b"\x00"
    mutate = rng.choice([_bit_flip, _interesting_bytes, _truncate, _duplicate_chunk, _delete_chunk])
    return mutate(rng, data)


_XML_CELL = re.compile(rb'<c r="[A-Z]+\d+"')
_SST_VALUE = re.compile(rb'(t="s"[^>]*>\s*<v>)(\d+)(</v>)')


def _xml_mutation(rng: random.Random, xml: bytes) -> bytes:
    """Mutate the XML of a workbook member the way broken or hostile files do."""
    choice = rng.randrange(14)
    if choice == 0:  # huge dimension
        ref = rng.choice([b"A1:XFD1048576", b"A1:ZZZ9999999", b"A1:AL999999", b"XFD1048576"])
        return re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="' + ref + b'"', xml, count=1)
    if choice == 1:  # a cell reference far away
        matches = list(_XML_CELL.finditer(xml))
        if matches:
            m = rng.choice(matches)
            ref = rng.choice([b"XFD1048576", b"A1048576", b"AAAA1", b"A0", b"B99999999", b"a1"])
            return xml[: m.start()] + b'<c r="' + ref + b'"' + xml[m.end() :]
    if choice == 2:  # shared string index out of range
        matches = list(_SST_VALUE.finditer(xml))
        if matches:
            m = rng.choice(matches)
            value = rng.choice([b"999999", b"-1", b"4294967296", b"1e3", b"x", b""])
            return xml[: m.start(2)] + value + xml[m.end(2) :]
        return xml.replace(b"<v>", b"<v>99999999999999999999", 1)
    if choice == 3:  # deep nesting
        depth = rng.choice([1000, 100_000])
        at = xml.find(b"<sheetData>")
        at = at + len(b"<sheetData>") if at >= 0 else rng.randrange(len(xml) + 1)
        return xml[:at] + b"<x>" * depth + b"</x>" * depth + xml[at:]
    if choice == 4:  # entity expansion (billion laughs)
        entities = b'<!ENTITY a "aaaaaaaaaa">' + b"".join(
            b'<!ENTITY %c "%s">' % (98 + i, (b"&%c;" % (97 + i)) * 10) for i in range(8)
        )
        body = re.sub(rb"^<\?xml[^>]*\?>", b"", xml)
        body = body.replace(b"</t>", b"&i;</t>", 1) if b"</t>" in body else body + b"&i;"
        return b'<?xml version="1.0"?><!DOCTYPE x [' + entities + b"]>" + body
    if choice == 5:  # declared encoding that is not the real one
        enc = rng.choice([b"UTF-16", b"x-unknown", b"Shift_JIS", b"ISO-8859-1", b"UTF-32"])
        return re.sub(rb'encoding="[^"]*"', b'encoding="' + enc + b'"', xml, count=1)
    if choice == 6:  # invalid UTF-8 inside a text node
        at = xml.find(b"</t>")
        if at >= 0:
            return (
                xml[:at] + rng.choice([b"\xff\xfe", b"\xed\xa0\x80", b"\xc3", b"\x00"]) + xml[at:]
            )
    if choice == 7:  # a character reference that XML forbids (NUL, lone surrogate)
        at = xml.find(b"</t>")
        if at >= 0:
            return xml[:at] + rng.choice([b"&#0;", b"&#xD800;", b"&#x1;", b"&#1114112;"]) + xml[at:]
    if choice == 8:  # merged ranges, sane or not
        ref = rng.choice([b"A2:A30", b"A1:XFD1048576", b"B3:A1", b"A1:A1", b"C5:C1000000"])
        merge = b'<mergeCells count="1"><mergeCell ref="' + ref + b'"/></mergeCells>'
        at = xml.find(b"</sheetData>")
        if at >= 0:
            at += len(b"</sheetData>")
            return xml[:at] + merge + xml[at:]
    if choice == 9:  # ODS repeat counts
        attr = rng.choice(
            [b"table:number-columns-repeated", b"table:number-rows-repeated",
             b"table:number-columns-spanned", b"table:number-rows-spanned"]
        )  # fmt: skip
        value = rng.choice([b"1048576", b"99999999999", b"-1", b"0", b"x", b"16384"])
        return xml.replace(
            b"<table:table-cell ", b"<table:table-cell " + attr + b'="' + value + b'" ', 1
        ).replace(
            b"<table:table-row>",
            b"<table:table-row " + attr.replace(b"columns", b"rows") + b'="' + value + b'">',
            1,
        )
    if choice == 10:  # row numbers out of order or absurd
        value = rng.choice([b"0", b"-5", b"1048577", b"99999999999", b"x", b"3"])
        return re.sub(rb'<row r="\d+"', b'<row r="' + value + b'"', xml, count=rng.randint(1, 3))
    if choice == 11:  # a cell type that does not match its value
        kind = rng.choice([b"e", b"b", b"d", b"n", b"s", b"str", b"inlineStr", b"zz"])
        return re.sub(
            rb'<c r="([A-Z]+\d+)"', rb'<c r="\1" t="' + kind + b'"', xml, count=rng.randint(1, 20)
        )
    if choice == 12:  # a date style with a huge number
        return re.sub(
            rb"<v>[^<]*</v>",
            b"<v>"
            + rng.choice([b"1e308", b"-1e308", b"NaN", b"inf", b"2958466", b"-693594"])
            + b"</v>",
            xml,
            count=rng.randint(1, 10),
        )
    return _byte_mutation(rng, xml)


def _zip_mutation(rng: random.Random, data: bytes) -> bytes:
    try:
        source = zipfile.ZipFile(io.BytesIO(data))
        infos = source.infolist()
        members = {info.filename: source.read(info) for info in infos}
    except Exception:
        return _byte_mutation(rng, data)
    xml_names = [n for n in members if n.endswith((".xml", ".rels"))]
    choice = rng.randrange(10)
    if choice < 7 and xml_names:  # mutate one member's XML
        preferred = [n for n in xml_names if "sheet" in n or "content" in n or "sharedStrings" in n]
        name = rng.choice(preferred if preferred and rng.random() < 0.7 else xml_names)
        members[name] = _xml_mutation(rng, members[name])
    elif choice == 7:  # drop a member
        del members[rng.choice(list(members))]
    elif choice == 8:  # a member mutated at byte level
        name = rng.choice(list(members))
        members[name] = _byte_mutation(rng, members[name])
    else:  # a large compressible member (towards the uncompressed cap)
        name = rng.choice(xml_names or list(members))
        members[name] = members[name] + b" " * rng.choice([10**6, 10**6, 10**7, 257 * 2**20])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in members.items():
            target.writestr(name, content)
    return out.getvalue()


def _odd_value(rng: random.Random) -> Any:
    return rng.choice(
        [
            "=1/0",
            "=SUM(A1:A3)",
            '=HYPERLINK("http://x","y")',
            dt.datetime(1900, 1, 1),
            dt.datetime(9999, 12, 31, 23, 59, 59),
            dt.date(2024, 4, 1),
            dt.time(12, 30),
            dt.timedelta(days=-3),
            10**30,
            -(10**18),
            1e308,
            -0.0,
            float("nan"),
            float("inf"),
            True,
            "#DIV/0!",
            "#N/A",
            "a\x00b",
            "\ud800",
            "x" * 100_000,
            "１，２３４件",
            "約500",
            "100～200",
            "令和元年度",
            "R99",
            "H31",
            "合計",
            "※ 注",
            "",
            " ",
            "\u3000",
            "-",
            "有（200円）",
            "1 実施済",
            "0; 1; 7; 99",
            "\r\n\r\n",
            "'=SUM(1)",
            "\u202e\u200b",
            "𠮷野家",
            "R" + "9" * 400,
            "令和" + "9" * 30 + "年度",
            "9" * 400,
            "1e400",
            "H0",
            "令和4～6年度",
            2**63,
            dt.datetime(1, 1, 1),
            "=" + "(" * 5000,
            "手続名",
            "_x0000_",
            "窓口_xD800_",
            "_xD842__xDFB7_野家",
            "C" * 150,  # longer than the code column (VARCHAR(100))
            "課" * 250,  # longer than a division name (VARCHAR(200))
        ]
    )


# one header per field the importer knows, so that odd values reach every converter
FIELD_HEADERS = [
    "手続ID", "所管部", "所管課", "根拠法令", "手続類型", "手続主体", "ライフイベント",
    "年間件数", "件数の年度", "来庁の要否", "来庁理由", "手数料", "納付方法", "添付書類",
    "原本の要否", "押印", "本人確認手法", "マイナポータル", "オンライン化の実施状況",
    "申請方法", "オンライン化の可否", "判定理由", "懸念点", "目標年度", "実施年度", "備考",
    "処理件数（令和4年度）", "電子申請", "電子決定",
]  # fmt: skip


def _field_rows(rng: random.Random) -> list[list[Any]]:
    """A sheet with a name column and a random choice of field columns, cells odd or plain."""
    headers = ["手続名", *rng.sample(FIELD_HEADERS, rng.randint(1, 12))]
    rng.shuffle(headers)
    plain = ["○", "×", "要", "不要", "1 実施済", "2 未実施", "R4", "令和5年度", "1,234", "市民課"]
    rows: list[list[Any]] = [headers]
    for number in range(rng.randint(1, 20)):
        row = [rng.choice(plain) if rng.random() < 0.5 else _odd_value(rng) for _ in headers]
        row[headers.index("手続名")] = f"手続{number}" if rng.random() < 0.8 else _odd_value(rng)
        rows.append(row)
    return rows


def _structure_mutation(rng: random.Random, rows: list[list[Any]], fmt: str) -> bytes:
    """Rewrite some cells with odd values and save the rows again in a format."""
    rows = [list(row) for row in (rows if rng.random() < 0.5 else _field_rows(rng))]
    for _ in range(rng.randint(1, 12)):
        r = rng.randrange(len(rows))
        if not rows[r]:
            rows[r] = [None]
        c = rng.randrange(len(rows[r]) + 2)
        while len(rows[r]) <= c:
            rows[r].append(None)
        rows[r][c] = _odd_value(rng)
    if rng.random() < 0.2:  # odd shapes: ragged rows, a very wide row, a header repeated
        rows.insert(rng.randrange(len(rows)), [rows[0][0] if rows[0] else "手続名"] * 3)
        rows.append([None] * rng.choice([100, 16000]) + ["x"])
    if fmt == "csv":
        encoding = rng.choice(["utf-8", "utf-8-sig", "cp932", "utf-16"])
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator=rng.choice(["\r\n", "\n", "\r"]))
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
        return out.getvalue().encode(
            encoding, errors="surrogatepass" if "utf" in encoding else "replace"
        )
    if fmt == "xls":
        cleaned = [[_xls_safe(v) for v in row[:256]] for row in rows[:65536]]
        return _xls({"手続一覧": cleaned})
    if fmt == "ods":
        return _ods({"手続一覧": [[_xml_safe(v) for v in row] for row in rows]})
    return _raw_xlsx(rows, rng)


def _xls_safe(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return float(value)
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8", "replace")
    if isinstance(value, dt.timedelta):
        return str(value)
    return value


def _xml_safe(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8", "replace")
    return value


def _raw_cell(ref: str, value: Any) -> str:
    """One worksheet cell written as raw XML, so that anything can be put in it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if isinstance(value, dt.datetime | dt.date | dt.time | dt.timedelta):
        if isinstance(value, dt.date):
            return f'<c r="{ref}" t="d"><v>{value.isoformat()}</v></c>'
        return f'<c r="{ref}" s="1"><v>0.5</v></c>'
    text = str(value)
    if text.startswith("#") and text.endswith(("!", "A")):
        return f'<c r="{ref}" t="e"><v>{escape(text)}</v></c>'
    if text.startswith("="):
        return f'<c r="{ref}"><f>{escape(text[1:])}</f></c>'  # no cached value
    # invalid XML characters are written as they come: the reader must refuse them clearly
    body = escape(text).encode("utf-8", "surrogatepass").decode("utf-8", "surrogateescape")
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{body}</t></is></c>'


def _raw_xlsx(rows: list[list[Any]], rng: random.Random) -> bytes:
    cells = []
    last_col = 0
    for r, row in enumerate(rows):
        parts = [_raw_cell(f"{column_letter(c)}{r + 1}", v) for c, v in enumerate(row)]
        last_col = max(last_col, len(row))
        cells.append(f'<row r="{r + 1}">{"".join(parts)}</row>')
    merges = ""
    if rng.random() < 0.4:
        ranges = []
        for _ in range(rng.randint(1, 4)):
            r0 = rng.randrange(1, len(rows) + 1)
            c0 = rng.randrange(max(1, last_col))
            last = column_letter(c0 + rng.randrange(3))
            ranges.append(f"{column_letter(c0)}{r0}:{last}{r0 + rng.randrange(40)}")
        merges = (
            f'<mergeCells count="{len(ranges)}">'
            + "".join(f'<mergeCell ref="{x}"/>' for x in ranges)
            + "</mergeCells>"
        )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="A1:{column_letter(max(0, last_col - 1))}{len(rows)}"/>'
        f"<sheetData>{''.join(cells)}</sheetData>{merges}</worksheet>"
    )
    return _package_xlsx(sheet.encode("utf-8", "surrogateescape"))


def _package_xlsx(sheet_xml: bytes) -> bytes:
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    members = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
            f'{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">'
            '<sheets><sheet name="手続一覧" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
            f'{rel}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="'
            f'{rel}/styles" Target="styles.xml"/></Relationships>'
        ),
        "xl/styles.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{main}">'
            '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="21" applyNumberFormat="1"/>'
            "</cellXfs></styleSheet>"
        ),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return out.getvalue()


def _amplify(rng: random.Random) -> tuple[str, bytes]:
    """A small or compressible input that expands a lot: many rows, a wide row, a huge cell."""
    kind = rng.randrange(3)
    if kind == 0:  # 18 MB of one-cell lines, under the 20 MB upload limit
        return "lines.csv", "手続名\n".encode() + b"a\n" * rng.choice([100_000, 9_000_000])
    if kind == 1:  # one row of millions of empty cells
        return "wide.csv", "手続名".encode() + b"," * rng.choice([100_000, 18_000_000]) + b"\na\n"
    size = rng.choice([10**6, 100 * 10**6])  # one cell of up to 100 million characters
    sheet = (
        (
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<dimension ref="A1:A2"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>手続名'
            '</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>'
        ).encode()
        + b"a" * size
        + b"</t></is></c></row></sheetData></worksheet>"
    )
    return "huge-cell.xlsx", _package_xlsx(sheet)


class Mutator:
    """Make one fuzz input from the seeds."""

    def __init__(
        self,
        seeds: dict[str, bytes],
        seed_rows: dict[str, list[list[Any]]],
        hostile: dict[str, bytes] | None = None,
    ) -> None:
        self.seeds = seeds
        self.seed_rows = seed_rows
        self.hostile = hostile or {}

    def __call__(self, rng: random.Random) -> tuple[str, str, bytes]:
        """Return (mutator name, file name, bytes)."""
        name = rng.choice(list(self.seeds))
        data = self.seeds[name]
        if self.hostile and rng.random() < 0.05:  # a hostile file, mutated as a seed is
            name = rng.choice(list(self.hostile))
            data = self.hostile[name]
        roll = rng.random()
        if roll < 0.01:
            kind = "amplify"
            name, data = _amplify(rng)
        elif roll < 0.3:
            kind = "structure"
            fmt = rng.choice(["xlsx", "xlsx", "csv", "csv", "xls", "ods"])
            rows = self.seed_rows[rng.choice(list(self.seed_rows))]
            data = _structure_mutation(rng, rows, fmt)
            name = f"structure.{fmt}"
        elif roll < 0.65 and data.startswith(b"PK"):
            kind = "zip"
            data = _zip_mutation(rng, data)
        elif roll > 0.95:
            kind = "splice"
            other = self.seeds[rng.choice(list(self.seeds))]
            data = data[: rng.randrange(len(data))] + other[rng.randrange(len(other)) :]
        else:
            kind = "bytes"
            for _ in range(rng.choice([1, 1, 2, 4])):
                data = _byte_mutation(rng, data)
        if rng.random() < 0.05:  # a file whose name lies about its format
            name = rng.choice(["renamed.xlsx", "renamed.csv", "renamed.xls", "noext", ".ods"])
        return kind, name, data


# ------------------------------------------------------------------------------------------
# the worker: one input in, one outcome out
# ------------------------------------------------------------------------------------------


def classify(
    data: bytes, file_name: str, session_factory=None, entry: str = "cli"
) -> tuple[str, str]:
    """Run one input through the importer (or the application's ``entry``); return the outcome."""
    from importers.inventory import InventoryRefused, parse_inventory

    try:
        if session_factory is not None:
            return _classify_app(data, file_name, session_factory, entry)
        parsed = parse_inventory(data, file_name)
    except InventoryRefused as refusal:
        try:
            refusal.message_in("ja")
            refusal.message_in("en")
        except Exception:
            return "exception", _signature()
        return "refused", refusal.code
    except MemoryError:
        return "memory", "MemoryError " + _signature()
    except RecursionError:
        return "exception", _signature()
    except BaseException:  # noqa: BLE001 - every other exception is the bug being looked for
        return "exception", _signature()
    return _check_parsed(parsed)


def _check_parsed(parsed) -> tuple[str, str]:
    """Every problem renders in both languages; refused rows are not also accepted."""
    try:
        for problem in parsed.problems:
            problem.message_in("ja")
            problem.message_in("en")
    except Exception:
        return "exception", _signature()
    accepted = {(row.sheet, row.row) for row in parsed.rows()}
    refused = {(p.sheet, p.row) for p in parsed.problems if p.severity == "error" and p.row}
    if accepted & refused:
        return "accounting", "a row both accepted and refused"
    return "imported", f"{len(accepted)} rows"


def _classify_app(data: bytes, file_name: str, session_factory, entry: str) -> tuple[str, str]:
    from flask import current_app

    from importers.results import ReadLimits
    from procedures.imports.service import Upload, import_now, preview_upload
    from procedures.survey.returns import SurveyRefused

    city = current_app.config["CITY_NAME"]
    with session_factory() as session:
        # rolled back so every input meets the same database (and so the same bytes are never
        # "already imported"); both ways in recognise a survey workbook first
        try:
            if entry == "web":  # the upload page: recognise, analyse, keep as a batch
                upload = Upload(data, file_name, "市民課", limits=ReadLimits())
                outcome = preview_upload(session, upload, city=city).outcome
            else:  # the command line: recognise, analyse, write
                outcome = import_now(session, Upload(data, file_name, "市民課"), city=city)
        except SurveyRefused as refusal:
            session.rollback()
            return "refused", f"survey: {str(refusal)[:40]}"
        session.rollback()
    if outcome.refused is not None:
        outcome.refused.message_in("ja")
        return "refused", outcome.refused.code
    for problem in outcome.errors + outcome.warnings:
        problem.message_in("ja")
        problem.message_in("en")
    rows_with_errors = {(p.sheet, p.row) for p in outcome.errors if p.row is not None}
    accounted = outcome.created + outcome.updated + outcome.unchanged + len(rows_with_errors)
    if outcome.rows != accounted:
        return "accounting", f"rows {outcome.rows} != accounted {accounted}"
    return "imported", f"{outcome.rows} rows"


_NOT_OURS = ("/bench/", "/.venv/", "/site-packages/")


def _signature() -> str:
    """Exception type and the innermost frame in the project: one distinct bug."""
    kind, error, tb = sys.exc_info()
    frames = traceback.extract_tb(tb)
    ours = [
        f
        for f in frames
        if f.filename.startswith(str(ROOT)) and not any(d in f.filename for d in _NOT_OURS)
    ]
    where = ours[-1] if ours else (frames[-1] if frames else None)
    if where is None:
        return f"{kind.__name__}: {str(error)[:120]}"
    path = where.filename
    shown = Path(path).relative_to(ROOT) if path.startswith(str(ROOT)) else Path(path).name
    place = f"{shown}:{where.lineno} {where.name}"
    return f"{kind.__name__} at {place}: {str(error)[:120]}"


def _worker(conn, memory_mb: int, mode: str, stderr_path: str) -> None:
    import resource

    fd = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 2)
    factory = None
    if mode == "app":
        factory = _scratch_app()
    cap = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        file_name, data, entry = message
        conn.send(classify(data, file_name, factory, entry))


def _scratch_app():
    from procedures import create_app
    from procedures.core import db
    from procedures.core.cli import upgrade_schema

    url = os.environ.get("FUZZ_DATABASE_URL") or (
        f"sqlite:///{tempfile.mkdtemp(prefix='fuzz-db-')}/fuzz.sqlite"
    )
    app = create_app({"TESTING": True, "SECRET_KEY": "fuzz", "DATABASE_URL": url})
    context = app.app_context()
    context.push()
    upgrade_schema()
    from sqlmodel import Session

    from procedures.catalogue.procedures import DivisionCache

    with Session(db.engine()) as session:  # the division the corpus's survey markers name
        assert DivisionCache(session).division_id("市民課", "市民自治部") == SURVEY_DIVISION
        session.commit()
    return lambda: Session(db.engine(), expire_on_commit=False)


class Runner:
    """A worker process that is replaced when it hangs or dies."""

    def __init__(self, memory_mb: int, timeout: float, mode: str) -> None:
        self.memory_mb = memory_mb
        self.timeout = timeout
        self.mode = mode
        self.context = multiprocessing.get_context("fork")
        self.stderr_path = tempfile.mktemp(prefix=f"fuzz-{mode}-", suffix=".log")
        self.process = None
        self.conn = None

    def _start(self) -> None:
        parent, child = self.context.Pipe()
        self.process = self.context.Process(
            target=_worker, args=(child, self.memory_mb, self.mode, self.stderr_path), daemon=True
        )
        self.process.start()
        child.close()
        self.conn = parent

    def run(self, file_name: str, data: bytes, entry: str = "cli") -> tuple[str, str]:
        """Return the outcome of one input (``entry``: the way into the application)."""
        if self.process is None or not self.process.is_alive():
            self._start()
        try:
            self.conn.send((file_name, data, entry))
            if self.conn.poll(self.timeout + (30 if self.mode == "app" else 0)):
                return self.conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            pass
        alive = self.process.is_alive()
        if alive:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.join()
        code = self.process.exitcode
        self.process = None
        if alive:
            return "timeout", f"over {self.timeout:g} s"
        log = Path(self.stderr_path).read_text(errors="replace")[-2000:]
        if "memory allocation" in log or "MemoryError" in log or "out of memory" in log:
            return "memory", f"worker died (exit {code}) on an allocation"
        return "died", f"worker died (exit {code}): {log.strip().splitlines()[-1:] or ''}"

    def close(self) -> None:
        """Stop the worker."""
        if self.process is not None and self.process.is_alive():
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.process.join(5)
            if self.process.is_alive():
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.join()
        Path(self.stderr_path).unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------
# minimising a crashing input
# ------------------------------------------------------------------------------------------


def minimise(
    runner: Runner,
    file_name: str,
    data: bytes,
    outcome: tuple[str, str],
    budget: float,
    entry: str = "cli",
):
    """Shrink an input while it keeps the same outcome (ddmin on bytes, or on zip members)."""
    deadline = time.monotonic() + budget

    def same(candidate: bytes) -> bool:
        if time.monotonic() > deadline:
            return False
        result = runner.run(file_name, candidate, entry)
        return result[0] == outcome[0] and _bug_key(result) == _bug_key(outcome)

    members = None
    if data.startswith(b"PK"):
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            members = {info.filename: archive.read(info) for info in archive.infolist()}
        except Exception:
            members = None
    if members is not None:
        for name in list(members):  # drop members that are not needed
            trial = {k: v for k, v in members.items() if k != name}
            if same(_zip(trial)):
                members = trial
        for name in sorted(members, key=lambda n: -len(members[n])):
            members[name] = _ddmin(
                members[name], lambda part, n=name: same(_zip({**members, n: part})), deadline
            )
        return _zip(members)
    return _ddmin(data, same, deadline)


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def _ddmin(data: bytes, same, deadline: float) -> bytes:
    chunk = max(1, len(data) // 2)
    while chunk >= 1 and time.monotonic() < deadline:
        position = 0
        shrunk = False
        while position < len(data) and time.monotonic() < deadline:
            candidate = data[:position] + data[position + chunk :]
            if candidate and same(candidate):
                data = candidate
                shrunk = True
            else:
                position += chunk
        if not shrunk:
            chunk //= 2
    return data


def _bug_key(outcome: tuple[str, str]) -> str:
    kind, detail = outcome
    if kind == "exception":
        return detail.split(":")[0] + ":" + detail.split(":")[1] if ":" in detail else detail
    return kind


# ------------------------------------------------------------------------------------------
# the run
# ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180, help="time budget for mutating")
    parser.add_argument("--timeout", type=float, default=10, help="time limit per input (s)")
    parser.add_argument("--memory-mb", type=int, default=1024, help="address-space cap per worker")
    parser.add_argument("--app-every", type=int, default=25, help="one input in N via import_file")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    parser.add_argument(
        "--crashes", type=Path, default=Path(tempfile.gettempdir()) / "fuzz-crashes"
    )
    parser.add_argument("--no-report", action="store_true", help="do not write docs/BENCHMARKS.md")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL"),
        help="run the import_file inputs on a fresh schema of this PostgreSQL database "
        "(default: $BENCH_POSTGRES_URL; without it, a scratch SQLite database)",
    )
    args = parser.parse_args()
    if not SHARED.exists():
        sys.exit(f"{SHARED} is missing: the fuzz seeds are made from ../shared/data")
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)

    seeds = make_seeds()
    seed_rows = {
        "national": _sheet_rows(SHARED / "jp-national-procedures-r6.xlsx", "手続一覧", SEED_ROWS),
        "canada": _sheet_rows(SHARED / "ca-gc-titan-annual-extract.xlsx", "Services", SEED_ROWS),
    }
    hostile = {name: data for name, (data, _as) in hostile_workbooks(SURVEY_DIVISION).items()}
    mutate = Mutator(seeds, seed_rows, hostile)
    parse_runner = Runner(args.memory_mb, args.timeout, "parse")
    database = contextlib.ExitStack()  # a scratch PostgreSQL schema, dropped at the end
    if args.postgres:
        from run import scratch_postgres

        os.environ["FUZZ_DATABASE_URL"] = database.enter_context(
            scratch_postgres(args.postgres, "fuzz")
        )
    app_runner = Runner(args.memory_mb, args.timeout, "app")

    # the seeds themselves must import: a seed refused would make the mutations meaningless
    seed_outcomes = {name: parse_runner.run(name, data) for name, data in seeds.items()}
    for name, outcome in seed_outcomes.items():
        print(f"seed {name}: {len(seeds[name]):,} bytes -> {outcome[0]} ({outcome[1]})")

    # bare baseline, same run: the unmutated seeds parsed in this process, no worker round trip
    from importers.inventory import parse_inventory

    bare_started = time.perf_counter()
    bare_inputs = 0
    for _ in range(3):
        for name, data in seeds.items():
            parse_inventory(data, name)
            bare_inputs += 1
    bare_rate = bare_inputs / (time.perf_counter() - bare_started)

    counts: collections.Counter[str] = collections.Counter()
    by_path: collections.Counter[tuple[str, str]] = collections.Counter()
    refusals: collections.Counter[str] = collections.Counter()
    bugs: dict[str, dict[str, Any]] = {}

    # the hostile corpus, unmutated, through every path: each must be refused
    hostile_outcomes: collections.Counter[tuple[str, str]] = collections.Counter()
    for name, data in hostile.items():
        for path, runner, entry in (
            ("parse_inventory", parse_runner, "cli"),
            *((f"app {each}", app_runner, each) for each in APP_ENTRIES),
        ):
            outcome = runner.run(name, data, entry)
            hostile_outcomes[(path, outcome[0])] += 1
            print(f"hostile {name} via {path}: {outcome[0]} ({outcome[1]})", flush=True)
            if outcome[0] in BUG_CLASSES:
                key = f"{outcome[0]}: {_bug_key(outcome)}"
                bugs.setdefault(key, {"outcome": outcome, "file_name": name, "data": data,
                                      "mutator": "hostile corpus", "runner": runner,
                                      "entry": entry, "count": 0})  # fmt: skip
                bugs[key]["count"] += 1
    kinds: collections.Counter[str] = collections.Counter()
    total = 0
    started = time.monotonic()
    args.crashes.mkdir(parents=True, exist_ok=True)
    try:
        while time.monotonic() - started < args.seconds:
            kind, file_name, data = mutate(rng)
            total += 1
            via_app = args.app_every and total % args.app_every == 0
            runner = app_runner if via_app else parse_runner
            # the application by turns through the command line's and the upload page's way
            entry = APP_ENTRIES[(total // args.app_every) % 2] if via_app else "cli"
            outcome = runner.run(file_name, data, entry)
            counts[outcome[0]] += 1
            kinds[kind] += 1
            by_path[(f"app {entry}" if via_app else "parse_inventory", outcome[0])] += 1
            if outcome[0] == "refused":
                refusals[outcome[1]] += 1
            if outcome[0] in BUG_CLASSES:
                key = f"{outcome[0]}: {_bug_key(outcome)}"
                if key not in bugs:
                    bugs[key] = {"outcome": outcome, "file_name": file_name, "data": data,
                                 "mutator": kind, "runner": runner, "entry": entry,
                                 "count": 0}  # fmt: skip
                    print(f"[{total}] new bug {key} ({file_name}, {len(data):,} bytes)", flush=True)
                bugs[key]["count"] += 1
            if total % 500 == 0:
                elapsed = time.monotonic() - started
                print(f"{total} inputs, {elapsed:.0f} s, {dict(counts)}", flush=True)
        elapsed = time.monotonic() - started
        for index, (key, bug) in enumerate(bugs.items(), 1):
            small = minimise(
                bug["runner"], bug["file_name"], bug["data"], bug["outcome"], 60, bug["entry"]
            )
            suffix = Path(bug["file_name"]).suffix or ".bin"
            path = args.crashes / f"bug{index}-{bug['outcome'][0]}{suffix}"
            path.write_bytes(small)
            bug["saved"] = path
            bug["size"] = len(small)
            print(f"bug {key}: {bug['count']} inputs, minimised to {len(small):,} bytes: {path}")
    finally:
        parse_runner.close()
        app_runner.close()
        database.close()

    lines = section(args, seed, seeds, seed_outcomes, total, elapsed, counts, by_path, refusals,
                    bugs, kinds, bare_rate, (len(hostile), hostile_outcomes))  # fmt: skip
    print("\n".join(lines))
    if not args.no_report:
        replace_section("fuzz", lines)


# What earlier runs found: each input is a regression test in tests/test_fuzz_regressions.py.
FOUND = [
    ("`volume-infinite-float.xlsx`", "OverflowError: a volume cell `<v>inf</v>` (values.volume)"),
    ("`ods-unknown-xml-encoding.ods`", "LookupError: an XML declaration's unknown encoding"),
    ("`ods-title-spans-99999999999-columns.ods`", "MemoryError in header detection (merges)"),
    ("`zip-unsupported-version.xlsm`", "NotImplementedError from zipfile (zip file version 12.8)"),
    ("a cell `_x0000_` / `_xD800_` or a raw NUL (import_file)",
     "NUL refused by PostgreSQL, a lone surrogate by both databases"),
    ("a volume of 3,000,000,000 (import_file, --postgres)",
     "PostgreSQL INTEGER out of range"),
    ("an 18 MB CSV of one-cell lines (amplify)",
     "1 GB and 12 s before the cap on cells refused it; now refused at Excel's 1,048,576 rows"),
    ("a survey workbook with an empty formula text (`<v></v>`) or a prefixed cell (`<x:c>`) at "
     "XFD1048576 (hostile corpus)",
     "python-calamine asked for 512 GiB and aborted the worker; both now count against the cap"),
    ("a 224 KB .xlsx with two cells of 120 million characters (amplify)",
     "18 s: every header word searched in the cells, a quadratic buffer; now about 10 s, linear"),
]  # fmt: skip


def section(args, seed, seeds, seed_outcomes, total, elapsed, counts, by_path, refusals, bugs,
            kinds, bare_rate, hostile=(0, collections.Counter())) -> list[str]:  # fmt: skip
    """Return the Markdown lines of the fuzz section."""
    command = (
        "make bench-fuzz" if args.seconds == 180 else f"bench/fuzz.py --seconds {args.seconds:g}"
    )
    lines = [
        "## Fuzzing the importer (mutated real inventories)",
        "",
        machine_line(command),
        "",
        f"Time budget {args.seconds:g} s of mutation (random seed {seed}); each input in a worker "
        f"process capped at {args.memory_mb} MB of address space and {args.timeout:g} s; one input "
        f"in {args.app_every} through the application, by turns the command line's "
        "`import_now` (survey recognised, analyse, write) and the upload page's `preview_upload`, "
        f"rolled back, on a scratch {'PostgreSQL' if args.postgres else 'SQLite'} database; the "
        "others through `parse_inventory`.",
        "",
        f"Hostile corpus ({hostile[0]} files of tests/importers/test_hostile_workbooks.py: cells "
        "at the sheet's far corner, survey markers with wrong fields), unmutated, through every "
        "path: "
        + "; ".join(
            f"{path} {outcome} {count}" for (path, outcome), count in sorted(hostile[1].items())
        )
        + "; mutated as the seeds are one input in twenty.",
        "",
        f"Seeds ({len(seeds)}, the first {SEED_ROWS} rows of each inventory in ../shared/data, "
        "made at run time): "
        + ", ".join(f"`{name}` ({seed_outcomes[name][0]})" for name in seeds)
        + ".",
        "",
        f"Mutations: {', '.join(f'{k} {v:,}' for k, v in kinds.most_common())}.",
        "",
        "| inputs | seconds | inputs/s | imported | refused | exception | accounting | timeout "
        "| memory | died | distinct bugs |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {total:,} | {elapsed:.0f} | {total / elapsed:.1f} | {counts['imported']:,} | "
        f"{counts['refused']:,} | {counts['exception']:,} | {counts['accounting']:,} | "
        f"{counts['timeout']:,} | {counts['memory']:,} | {counts['died']:,} | {len(bugs)} |",
        "",
        f"Bare baseline in the same run: the {len(seeds)} seeds, unmutated, parsed in one process "
        f"without workers: {bare_rate:.1f} inputs/s; fuzzing ran at "
        f"{total / elapsed / bare_rate:.2f}× that (the cost of mutating, of the round trip to the "
        "worker process and of the rarer import_file path).",
        "",
        "By entry point: "
        + "; ".join(
            f"{path} {outcome} {count:,}" for (path, outcome), count in sorted(by_path.items())
        )
        + ".",
        "",
        "Refusals by message code: "
        + ", ".join(f"`{code}` {count:,}" for code, count in refusals.most_common())
        + ".",
        "",
    ]
    lines.append("Found by earlier runs and fixed (tests/test_fuzz_regressions.py):")
    lines.append("")
    lines += [f"- {what}: {failure}" for what, failure in FOUND]
    lines += [
        "- a code over 100 characters, or a channel or division name over 200 (import_file, "
        "--postgres): the VARCHAR column failed the whole import; now that row is refused "
        "with `value_too_long`",
        "",
    ]
    if bugs:
        lines.append("Bugs found in this run (minimised inputs kept for tests/fixtures/fuzz/):")
        lines.append("")
        for key, bug in bugs.items():
            lines.append(
                f"- {key} — {bug['count']:,} inputs, first from a {bug['mutator']} mutation; "
                f"minimised to {bug.get('size', len(bug['data'])):,} bytes"
            )
    else:
        lines.append(
            "No bug in this run: every input was imported or refused with a message code. "
            "Inputs that failed in earlier runs are regression tests in "
            "tests/test_fuzz_regressions.py."
        )
    return lines


if __name__ == "__main__":
    main()
