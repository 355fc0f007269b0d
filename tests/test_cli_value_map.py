"""`flask import-inventory`: values not understood, --value-map, exit codes and scope (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func
from sqlmodel import select

from procedures.models import ImportBatch, Lifecycle, OnlineStatus, Procedure

HEADER = [
    "課名",
    "手続名",
    "年間件数",
    "来庁の要否",
    "マイナポータル",
    "手数料",
    "押印",
    "オンライン化状況",
]

#: Rows 2–5 of the fixture. Row 2 and row 5 hold only words the vocabulary knows; rows 3 and 4
#: hold words it does not (checked against importers/value_words.json: 検討中 would be read as
#: 未実施 and 場合による as a neutral blank, so they are not used here).
WORDS_NOT_UNDERSTOOD = [
    ["市民課", "転入届", 500, "要", "対象", "無料", "不要", "実施済"],
    ["市民課", "転出届", 400, "窓口で確認", "要検討", "要相談", "署名で可", "調整中"],
    ["市民課", "住民票の写しの交付申請", 100, "窓口で確認", "対象外", "要相談", "要", "R8以降"],
    ["市民課", "印鑑登録", 50, "不要", "対象", "有料", "要", "一部実施済"],
]

#: A decision for every value above the vocabulary did not understand.
DECISIONS = {
    "visit_required": {"窓口で確認": "yes"},
    "mynaportal_eligible": {"要検討": "yes"},
    "fee_required": {"要相談": "yes"},
    "seal_required": {"署名で可": "no"},
    "online_status": {"調整中": "partial", "R8以降": "not_done"},
}


def workbook(path: Path, rows: list[list], header: list[str] = HEADER) -> Path:
    """Write a one-sheet inventory workbook and return its path."""
    book = Workbook()
    sheet = book.active
    sheet.title = "手続一覧"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def value_map(path: Path, decisions: object) -> Path:
    """Write a --value-map file and return its path."""
    path.write_text(json.dumps(decisions, ensure_ascii=False), encoding="utf-8")
    return path


def summary(runner) -> dict:
    result = runner.invoke(args=["summary", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def by_name(db_session) -> dict[str, Procedure]:
    return {item.name: item for item in db_session.exec(select(Procedure)).all()}


def batches(db_session) -> int:
    return db_session.exec(select(func.count()).select_from(ImportBatch)).one()


def test_words_not_understood_are_listed_and_stored_unknown(runner, db_session, tmp_path):
    """Undecided values are listed once per column with count and rows, stored as unknown."""
    path = workbook(tmp_path / "words_not_understood.xlsx", WORDS_NOT_UNDERSTOOD)
    result = runner.invoke(args=["import-inventory", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    listed = [
        (item["field"], item["value"], item["count"], item["rows"])
        for item in report["unrecognised"]
    ]
    assert listed == [
        ("visit_required", "窓口で確認", 2, [3, 4]),
        ("mynaportal_eligible", "要検討", 1, [3]),
        ("fee_required", "要相談", 2, [3, 4]),
        ("seal_required", "署名で可", 1, [3]),
        ("online_status", "調整中", 1, [3]),
        ("online_status", "R8以降", 1, [4]),
    ]
    assert report["decided"] == []
    stored = by_name(db_session)
    moving_out = stored["転出届"]
    assert (
        moving_out.visit_required,
        moving_out.fee_required,
        moving_out.seal_required,
        moving_out.online_status,
        # The column is NOT NULL: an undecided value leaves it at its default, not eligible.
        moving_out.mynaportal_eligible,
    ) == (None, None, None, None, False)
    assert json.loads(moving_out.raw_values) == {
        "visit_required": "窓口で確認",
        "mynaportal_eligible": "要検討",
        "fee_required": "要相談",
        "seal_required": "署名で可",
        "online_status": "調整中",
    }
    certificate = stored["住民票の写しの交付申請"]
    assert (certificate.visit_required, certificate.fee_required, certificate.online_status) == (
        None,
        None,
        None,
    )
    assert certificate.seal_required is True
    assert json.loads(certificate.raw_values) == {
        "visit_required": "窓口で確認",
        "fee_required": "要相談",
        "online_status": "R8以降",
    }
    assert stored["転入届"].raw_values is None
    assert stored["印鑑登録"].raw_values is None


def test_human_output_names_each_undecided_value_by_its_column_sheet_and_rows(
    runner, db_session, tmp_path
):
    """Without --json: one line per undecided value, as the sheet writes it, with a value map."""
    path = workbook(tmp_path / "words_not_understood.xlsx", WORDS_NOT_UNDERSTOOD)
    result = runner.invoke(args=["import-inventory", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "imported words_not_understood.xlsx: 4 rows, 4 new, 0 changed, 0 unchanged, "
        "0 missing, 0 errors, 0 warnings\n"
    )
    choices = "done|not_done|excluded|other|partial|unknown"
    sheet = "of sheet 手続一覧"
    assert result.stderr.splitlines() == [
        "  undecided: 来庁の要否 (visit_required) '窓口で確認' in 2 rows (3, 4) of sheet 手続一覧: "
        "stored as unknown; decide it with --value-map "
        '{"visit_required": {"窓口で確認": "yes|no|unknown"}}',
        f"  undecided: マイナポータル (mynaportal_eligible) '要検討' in 1 row (3) {sheet}: "
        "the procedure's answer is kept (no for a new one); decide it with --value-map "
        '{"mynaportal_eligible": {"要検討": "yes|no"}}',
        "  undecided: 手数料 (fee_required) '要相談' in 2 rows (3, 4) of sheet 手続一覧: "
        "stored as unknown; decide it with --value-map "
        '{"fee_required": {"要相談": "yes|no|unknown"}}',
        "  undecided: 押印 (seal_required) '署名で可' in 1 row (3) of sheet 手続一覧: "
        "stored as unknown; decide it with --value-map "
        '{"seal_required": {"署名で可": "yes|no|unknown"}}',
        f"  undecided: オンライン化状況 (online_status) '調整中' in 1 row (3) {sheet}: "
        "stored as unknown; decide it with --value-map "
        f'{{"online_status": {{"調整中": "{choices}"}}}}',
        f"  undecided: オンライン化状況 (online_status) 'R8以降' in 1 row (4) {sheet}: "
        "stored as unknown; decide it with --value-map "
        f'{{"online_status": {{"R8以降": "{choices}"}}}}',
    ]


def test_the_printed_value_map_decides_what_it_names(runner, db_session, tmp_path):
    """The value map a line prints, its choice filled in, is accepted and applied."""
    path = workbook(tmp_path / "words_not_understood.xlsx", WORDS_NOT_UNDERSTOOD)
    dry = runner.invoke(args=["import-inventory", str(path), "--dry-run"])
    line = next(text for text in dry.stderr.splitlines() if "(visit_required)" in text)
    printed = json.loads(line.split("--value-map ", 1)[1])
    printed["visit_required"]["窓口で確認"] = "yes"
    decisions = value_map(tmp_path / "decisions.json", printed)
    result = runner.invoke(args=["import-inventory", str(path), "--value-map", str(decisions)])
    assert result.exit_code == 0, result.output
    assert "(visit_required)" not in result.stderr
    assert by_name(db_session)["転出届"].visit_required is True


def test_value_map_decides_every_value(runner, db_session, tmp_path):
    """--value-map leaves nothing undecided; stored fields and the summary follow the decisions."""
    path = workbook(tmp_path / "words_not_understood.xlsx", WORDS_NOT_UNDERSTOOD)
    decisions = value_map(tmp_path / "decisions.json", DECISIONS)
    result = runner.invoke(
        args=["import-inventory", str(path), "--value-map", str(decisions), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["unrecognised"] == []
    assert [(item["field"], item["value"], item["decision"]) for item in report["decided"]] == [
        ("visit_required", "窓口で確認", "yes"),
        ("mynaportal_eligible", "要検討", "yes"),
        ("fee_required", "要相談", "yes"),
        ("seal_required", "署名で可", "no"),
        ("online_status", "調整中", "partial"),
        ("online_status", "R8以降", "not_done"),
    ]
    stored = by_name(db_session)
    moving_out = stored["転出届"]
    assert (
        moving_out.visit_required,
        moving_out.mynaportal_eligible,
        moving_out.fee_required,
        moving_out.seal_required,
        moving_out.online_status,
    ) == (True, True, True, False, OnlineStatus.partial)
    certificate = stored["住民票の写しの交付申請"]
    assert (certificate.visit_required, certificate.fee_required, certificate.online_status) == (
        True,
        True,
        OnlineStatus.not_done,
    )
    # The words as written are kept even once decided.
    assert json.loads(certificate.raw_values)["online_status"] == "R8以降"
    counts = summary(runner)
    assert {
        name: counts[name]
        for name in (
            "procedures",
            "in_person_required",
            "mynaportal_eligible",
            "fee_required",
            "seal_required",
            "online",
            "partly_online",
            "with_words_not_understood",
        )
    } == {
        "procedures": 4,
        # 要 (row 2), 窓口で確認 → yes (rows 3, 4); 不要 (row 5)
        "in_person_required": 3,
        # 対象 (rows 2, 5), 要検討 → yes (row 3); 対象外 (row 4)
        "mynaportal_eligible": 3,
        # 要相談 → yes (rows 3, 4), 有料 (row 5); 無料 (row 2)
        "fee_required": 3,
        # 要 (rows 4, 5); 不要 (row 2), 署名で可 → no (row 3)
        "seal_required": 2,
        # 実施済 (row 2) only
        "online": 1,
        # 調整中 → partial (row 3), 一部実施済 (row 5)
        "partly_online": 2,
        # rows 3 and 4 keep their words
        "with_words_not_understood": 2,
    }


def test_value_map_saved_with_a_byte_order_mark_is_read(runner, db_session, tmp_path):
    """A value map saved as UTF-8 with a BOM (Windows Notepad) is applied, not refused."""
    path = workbook(tmp_path / "words_not_understood.xlsx", WORDS_NOT_UNDERSTOOD)
    decisions = tmp_path / "decisions_notepad.json"
    decisions.write_text(json.dumps(DECISIONS, ensure_ascii=False), encoding="utf-8-sig")
    result = runner.invoke(
        args=["import-inventory", str(path), "--value-map", str(decisions), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["unrecognised"] == []
    assert by_name(db_session)["転出届"].online_status == OnlineStatus.partial


@pytest.mark.parametrize(
    ("content", "refusal"),
    [
        pytest.param(
            '{"visit_required": {"窓口で確認": "yes"',
            "refused: --value-map decisions.json is not valid JSON (line 1, column 35)",
            id="not_json",
        ),
        pytest.param(
            '{\n  "visit_required": {\n    "窓口で確認": yes\n  }\n}\n',
            "refused: --value-map decisions.json is not valid JSON (line 3, column 14)",
            id="not_json_on_line_3",
        ),
        pytest.param(
            json.dumps({"来庁の要否": {"窓口で確認": "yes"}}, ensure_ascii=False),
            "refused: --value-map decisions.json: "
            "'来庁の要否' is not a field whose values can be decided",
            id="unknown_field",
        ),
        pytest.param(
            json.dumps({"online_status": {"調整中": "yes"}}, ensure_ascii=False),
            "refused: --value-map decisions.json: "
            "'online_status': 'yes' for '調整中' is not one of done, not_done, excluded, other, "
            "partial, unknown",
            id="decision_not_allowed",
        ),
    ],
)
def test_malformed_value_map_is_refused_and_writes_nothing(
    runner, db_session, tmp_path, content, refusal
):
    """A value map that is not JSON or names a wrong field or decision exits 1, writing nothing."""
    path = workbook(tmp_path / "words_not_understood.xlsx", WORDS_NOT_UNDERSTOOD)
    decisions = tmp_path / "decisions.json"
    decisions.write_text(content, encoding="utf-8")
    result = runner.invoke(args=["import-inventory", str(path), "--value-map", str(decisions)])
    assert result.exit_code == 1
    assert result.stderr == refusal + "\n"
    assert result.stdout == ""
    assert db_session.exec(select(func.count()).select_from(Procedure)).one() == 0
    assert batches(db_session) == 0


def test_every_row_refused_exits_1_and_writes_nothing(runner, db_session, tmp_path):
    """A file whose every row is refused exits 1, says nothing was imported, marks none missing."""
    first = workbook(tmp_path / "whole.xlsx", WORDS_NOT_UNDERSTOOD[:2])
    assert runner.invoke(args=["import-inventory", str(first)]).exit_code == 0
    nameless = tmp_path / "names_left_blank.csv"
    nameless.write_text("課名,手続名,年間件数\n市民課,,10\n市民課,,20\n", encoding="utf-8")
    result = runner.invoke(args=["import-inventory", str(nameless)])
    assert result.exit_code == 1
    assert result.stdout.startswith("nothing imported from names_left_blank.csv: 2 rows, 0 new")
    assert result.stderr.endswith("refused: every row was refused; nothing could be imported\n")
    assert [item.lifecycle for item in db_session.exec(select(Procedure)).all()] == [
        Lifecycle.active,
        Lifecycle.active,
    ]
    assert batches(db_session) == 1


@pytest.mark.parametrize(
    ("header", "rows", "reason"),
    [
        pytest.param(
            ["メモ", "日付"],
            [["来週までに提出", "2024-04-01"]],
            "has a recognisable header row",
            id="no_procedure_header",
        ),
        pytest.param(HEADER, [], "no procedures are listed under it", id="header_without_rows"),
    ],
)
def test_file_without_procedures_exits_1(runner, db_session, tmp_path, header, rows, reason):
    """A file with no sheet of procedures exits 1 with the reason, writing nothing."""
    path = workbook(tmp_path / "no_procedures.xlsx", rows, header)
    result = runner.invoke(args=["import-inventory", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("refused: ")
    assert reason in result.stderr
    assert batches(db_session) == 0


#: The whole inventory: three procedures of 市民課 and one of 税務課.
WHOLE = [
    ["市民課", "転入届", 500],
    ["市民課", "転出届", 400],
    ["市民課", "印鑑登録", 50],
    ["税務課", "市県民税の申告", 3000],
]


@pytest.mark.parametrize(
    ("flags", "missing", "scope"),
    [
        pytest.param(["--only-these"], set(), "only_these", id="only_these"),
        pytest.param([], {"転出届", "印鑑登録"}, "whole", id="whole"),
    ],
)
def test_partial_file_marks_missing_only_without_only_these(
    runner, db_session, tmp_path, flags, missing, scope
):
    """A partial file marks its divisions' absent procedures missing unless --only-these."""
    whole = workbook(tmp_path / "whole.xlsx", [[*row, "要"] for row in WHOLE], HEADER[:4])
    assert runner.invoke(args=["import-inventory", str(whole)]).exit_code == 0
    partial = workbook(tmp_path / "one_procedure.xlsx", [["市民課", "転入届", 650]], HEADER[:3])
    result = runner.invoke(args=["import-inventory", str(partial), "--json", *flags])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["updated"], report["absent"], report["missing"], report["scope"]) == (
        1,
        2,
        len(missing),
        scope,
    )
    lifecycles = {item.name: item.lifecycle for item in db_session.exec(select(Procedure)).all()}
    assert {name for name, state in lifecycles.items() if state == Lifecycle.missing} == missing
    assert len(lifecycles) == 4


def test_summary_counts_fee_and_seal_required(runner, tmp_path):
    """summary --json counts the procedures whose fee or seal is required, not no or unknown."""
    path = workbook(
        tmp_path / "fees_and_seals.xlsx",
        [
            ["市民課", "転入届", 500, "要", "", "無料", "不要", ""],
            ["市民課", "住民票の写しの交付申請", 100, "要", "", "300円", "不要", ""],
            ["市民課", "印鑑登録", 50, "要", "", "有料", "要", ""],
            ["市民課", "転出届", 400, "要", "", "", "", ""],
            ["税務課", "納税証明書の交付申請", 80, "要", "", "有料", "押印必要", ""],
        ],
    )
    assert runner.invoke(args=["import-inventory", str(path)]).exit_code == 0
    counts = summary(runner)
    assert (counts["procedures"], counts["fee_required"], counts["seal_required"]) == (5, 3, 2)
