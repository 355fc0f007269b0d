"""Inputs the fuzzer (bench/fuzz.py) made the importer fail on: each is now refused or imported.

The files in tests/fixtures/fuzz/ are the fuzzer's minimised inputs, kept byte for byte (some
hold a few header words of the inventories in ../shared/data; see the README there).
"""

from __future__ import annotations

import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import select

from importers.inventory import InventoryRefused, ReadLimits, parse_inventory
from procedures.models import Procedure

FIXTURES = Path(__file__).parent / "fixtures" / "fuzz"


def _refusal(name: str) -> InventoryRefused:
    with pytest.raises(InventoryRefused) as caught:
        parse_inventory((FIXTURES / name).read_bytes(), name)
    return caught.value


def test_ods_whose_xml_declares_an_unknown_encoding_is_refused_as_damaged():
    # <?xml version="" encoding="n"?>: ElementTree raised LookupError, not a parse error
    error = _refusal("ods-unknown-xml-encoding.ods")
    assert error.code == "file_corrupt"
    assert error.message == (
        "The file “ods-unknown-xml-encoding.ods” is damaged or incomplete and cannot be read. "
        "Open it in Excel, save it again, and upload the new copy."
    )
    assert error.message_in("ja").startswith("ファイル「ods-unknown-xml-encoding.ods」は")


def test_xlsx_whose_workbook_xml_declares_an_unknown_encoding_is_refused_as_damaged():
    import io
    import zipfile

    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["手続名"])
    book.active.append(["転入届"])
    plain = io.BytesIO()
    book.save(plain)
    source = zipfile.ZipFile(io.BytesIO(plain.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/workbook.xml":
                assert not data.startswith(b"<?xml")  # openpyxl writes no declaration
                data = b'<?xml version="1.0" encoding="x-unknown"?>' + data
            target.writestr(info.filename, data)
    with pytest.raises(InventoryRefused) as caught:
        parse_inventory(out.getvalue(), "encoding.xlsx")
    assert caught.value.code == "file_corrupt"


def test_infinite_volume_is_kept_unknown_and_listed_for_a_decision():
    # a cell <v>inf</v> in a volume column: float("inf") made round() raise OverflowError
    parsed = parse_inventory(
        (FIXTURES / "volume-infinite-float.xlsx").read_bytes(), "volume-infinite-float.xlsx"
    )
    rows = list(parsed.rows())
    assert [(row.row, row.values["name"], row.values["annual_volume"]) for row in rows] == [
        (10, "0", None)
    ]
    assert parsed.problems == []
    [entry] = parsed.unrecognised
    assert (entry.reason, entry.rows, entry.column, entry.value) == (
        "volume_unreadable",
        [10],
        "TelephoneApplications",
        "inf",
    )


@pytest.mark.parametrize(
    ("volume", "reason"),
    [
        ("3,000,000,000", "volume_too_large"),
        ("9" * 400, "volume_unreadable"),
        ("99999999999999999999999万", "volume_too_large"),
    ],
    ids=["over-32-bit", "400-digits", "huge-with-man"],
)
def test_volume_beyond_the_database_column_is_kept_unknown_and_the_import_commits(
    app, db_session, volume, reason
):
    # 3,000,000,000 fits SQLite's INTEGER but not PostgreSQL's: the whole import failed there
    from procedures.imports.service import import_file

    content = f'課名,手続名,年間件数\r\n市民課,転入届,"{volume}"\r\n市民課,転出届,12\r\n'.encode()
    with app.app_context():
        outcome = import_file(db_session, content=content, file_name="huge.csv")
        db_session.commit()
    assert (outcome.rows, outcome.created, len(outcome.errors)) == (2, 2, 0)
    assert [(u.reason, u.rows) for u in outcome.unrecognised] == [(reason, [2])]
    stored = db_session.exec(select(Procedure.name, Procedure.annual_volume)).all()
    assert sorted(stored) == [("転入届", None), ("転出届", 12)]


@contextmanager
def _address_space_cap(extra_mb: int) -> Iterator[None]:
    """Cap this process's address space for a moment, so that a regression fails fast."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    status = Path("/proc/self/status").read_text()
    current_kb = int(
        next(line for line in status.splitlines() if line.startswith("VmSize:")).split()[1]
    )
    cap = current_kb * 1024 + extra_mb * 2**20
    resource.setrlimit(
        resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard)
    )
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def test_ods_title_spanning_99999999999_columns_is_read_as_a_title():
    # the merged range was expanded column by column while looking for group labels: a set of
    # 99,999,999,999 column numbers, until the memory ran out
    name = "ods-title-spans-99999999999-columns.ods"
    with _address_space_cap(extra_mb=512):
        parsed = parse_inventory((FIXTURES / name).read_bytes(), name)
    [sheet] = parsed.sheets
    assert sheet.header_row == 2
    assert [(row.row, row.values["name"], row.values["division"]) for row in parsed.rows()] == [
        (3, "転入届", "市民課")
    ]
    assert parsed.problems == []


def test_zip_with_an_unsupported_version_in_its_directory_is_refused_as_damaged():
    # zipfile raised NotImplementedError("zip file version 12.8")
    error = _refusal("zip-unsupported-version.xlsm")
    assert error.code == "file_corrupt"
    assert error.message_in("ja") == (
        "ファイル「zip-unsupported-version.xlsm」は壊れているか途中までしかないため、読み込めません。"
        "Excelで開いて保存し直し、そのファイルをアップロードしてください。"
    )


def test_csv_with_more_rows_than_excel_holds_is_refused_before_reading_them_all():
    # 18 MB of one-cell lines made six million row lists (1 GB, 12 s) before the cap on cells
    assert ReadLimits().max_rows == 1_048_576  # Excel's own row limit
    content = "手続名\n".encode() + b"a\n" * 6
    with pytest.raises(InventoryRefused) as caught:
        parse_inventory(content, "lines.csv", limits=ReadLimits(max_rows=5))
    error = caught.value
    assert error.code == "file_too_many_rows"
    assert error.message == (
        "The CSV file “lines.csv” has more than 5 rows, more than an Excel sheet can hold. "
        "Delete the empty lines at the end of the file or split it into several files, then "
        "upload again."
    )
    assert error.message_in("ja") == (
        "CSVファイル「lines.csv」は5行を超えており、Excelの1シートに収まる行数を超えています。"
        "ファイル末尾の空行を削除するか、複数のファイルに分けてから、もう一度アップロードしてください。"
    )
    exactly = parse_inventory(
        "手続名\n".encode() + b"a\n" * 4, "lines.csv", limits=ReadLimits(max_rows=5)
    )
    assert len(list(exactly.rows())) == 4


def test_a_cell_of_thousands_of_characters_is_not_taken_for_a_header():
    # a 60-million-character cell was compared with every header word (7 s); a text longer
    # than any header is now left unmapped and kept as an extra column
    long_header = "年間件数の説明" * 200  # 1,400 characters, containing 件数
    content = f"手続名,{long_header}\r\n転入届,12\r\n".encode()
    parsed = parse_inventory(content, "long.csv")
    [row] = parsed.rows()
    assert "annual_volume" not in row.values
    assert row.extra == {long_header: "12"}


def test_escaped_nul_and_lone_surrogate_are_stored_on_both_databases(app, db_session):
    # Excel's _x0000_ gave NUL (PostgreSQL: "cannot contain NUL") and _xD800_ a lone surrogate
    # ("surrogates not allowed" on SQLite too): the whole import failed
    from procedures.imports.service import import_file

    content = (
        "課名,手続名,備考\r\n"
        "市民課,転入届_xD800_,窓口_x0000_のみ\r\n"
        "市民課,転出届,_xD842__xDFB7_野家\r\n"
    ).encode()
    with app.app_context():
        outcome = import_file(db_session, content=content, file_name="escapes.csv")
        db_session.commit()
    assert (outcome.rows, outcome.created, outcome.errors) == (2, 2, [])
    stored = db_session.exec(select(Procedure.name, Procedure.notes)).all()
    assert sorted(stored) == [("転入届\ufffd", "窓口のみ"), ("転出届", "𠮷野家")]


def test_nul_written_raw_into_a_csv_after_its_first_64_kb_is_dropped(app, db_session):
    # only the first 64 KB are checked for binary content: a NUL further on reached PostgreSQL
    from procedures.imports.service import import_file

    filler = "".join(f"市民課,手続{n},備考\r\n" for n in range(4000))
    content = ("課名,手続名,備考\r\n" + filler + "市民課,転入届,窓口\x00のみ\r\n").encode()
    assert content.index(b"\x00") > 65536
    with app.app_context():
        outcome = import_file(db_session, content=content, file_name="late-nul.csv")
        db_session.commit()
    assert (outcome.rows, outcome.created, outcome.errors) == (4001, 4001, [])
    notes = db_session.exec(select(Procedure.notes).where(Procedure.name == "転入届")).one()
    assert notes == "窓口のみ"


def test_values_too_long_for_their_column_refuse_the_row_with_a_message(app, db_session):
    # found by bench/fuzz.py --postgres: StringDataRightTruncation failed the whole import
    from procedures.imports.service import import_file

    division, code, channel = "課" * 250, "C" * 150, "電子申請" * 60
    content = (
        "課名,手続名,手続ID,申請方法\r\n"
        f"{division},転入届,A-1,窓口\r\n"
        f"市民課,転出届,{code},窓口\r\n"
        f"市民課,転居届,B-1,{channel}\r\n"
        "市民課,印鑑登録,B-2,窓口\r\n"
    ).encode()
    with app.app_context():
        outcome = import_file(db_session, content=content, file_name="long.csv")
        db_session.commit()
    assert (outcome.rows, outcome.created) == (4, 1)
    tail = "characters long, more than the {} this column may hold; shorten it in the file."
    assert [problem.message for problem in outcome.errors] == [
        f"Row 2: “{'課' * 30}…” is 250 {tail.format(200)}",
        f"Row 3: “{'C' * 30}…” is 150 {tail.format(100)}",
        f"Row 4: “{('電子申請' * 8)[:30]}…” is 240 {tail.format(200)}",
    ]
    assert db_session.exec(select(Procedure.name)).all() == ["印鑑登録"]


def test_xls_whose_last_record_runs_past_the_end_of_its_stream_is_refused_as_damaged():
    # a BIFF record declaring more bytes than the Workbook stream holds: struct.error before
    error = _refusal("xls-record-longer-than-its-stream.xls")
    assert error.code == "file_corrupt"
    assert error.message_in("ja").startswith("ファイル「xls-record-longer-than-its-stream.xls」は")


def test_xls_whose_dimensions_record_claims_two_billion_rows_is_refused_before_reading():
    # python-calamine allocates the grid its DIMENSIONS record declares: 2**31 rows asked it
    # for 171 GB and the process aborted (a Rust allocation failure cannot be caught)
    import struct
    import sys

    sys.path.insert(0, str(Path(__file__).parent / "importers"))
    import importer_fixtures

    content = bytearray(importer_fixtures.xls({"s": [["手続名", "件数"], ["転入届", 1]]}))
    at = content.find(struct.pack("<HH", 0x0200, 14))
    assert at > 0
    struct.pack_into("<I", content, at + 8, 2**31)  # rwMac: one past the last row
    with pytest.raises(InventoryRefused) as caught:
        parse_inventory(bytes(content), "dimensions.xls")
    assert caught.value.code == "file_too_many_cells"


def test_xls_whose_dimensions_start_after_they_end_is_refused_without_killing_the_process():
    # DIMENSIONS said rows 128 to 31: python-calamine took 31 - 128 unsigned and asked for
    # 6.5 TB, which aborts the process; run in a subprocess so that a regression fails here
    # instead of killing the test run
    import subprocess
    import sys

    script = (
        "import sys; from importers.inventory import parse_inventory, InventoryRefused\n"
        "try:\n"
        f"    parse_inventory(open({str(FIXTURES / 'xls-calamine-aborts-allocating-6-tb.xls')!r},"
        " 'rb').read(), 'x.xls')\n"
        "except InventoryRefused as refusal:\n"
        "    print(refusal.code, refusal.message_in('ja'))\n"
        "    sys.exit(0)\n"
        "sys.exit(3)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.startswith("file_corrupt ファイル「x.xls」は")


def test_xls_whose_dimensions_columns_start_after_they_end_is_still_read():
    # python-calamine reads such a sheet as it should: only rows the wrong way round abort
    import struct
    import sys

    sys.path.insert(0, str(Path(__file__).parent / "importers"))
    import importer_fixtures

    content = bytearray(importer_fixtures.xls({"s": [["手続名", "件数"], ["転入届", 1]]}))
    at = content.find(struct.pack("<HH", 0x0200, 14))
    assert at > 0
    struct.pack_into("<H", content, at + 12, 40)  # colMic past colMac (2)
    [row] = parse_inventory(bytes(content), "dimensions.xls").rows()
    assert row.values == {"name": "転入届", "annual_volume": 1, "volume_is_estimate": False}
