"""The national 令和7年度 layout as data, and reading a file in it (importers/national.py)."""

from __future__ import annotations

import json

import pytest

from importers.inventory import parse_inventory
from importers.national import LAYOUT_FILE, load_layout, split_detail
from tests.importers.importer_fixtures import xlsx

LAYOUT = load_layout()


def r7_row(**cells: object) -> list[object]:
    """A row of the R7 layout with the given cells by column name, blank elsewhere."""
    return [cells.get(name, "") for name in LAYOUT.names]


def test_the_layout_has_the_46_columns_and_names_its_source():
    assert len(LAYOUT.names) == 46
    assert LAYOUT.names[0] == "手続ID"
    assert LAYOUT.source.startswith(
        "Digital Agency, 行政手続等の棚卸調査 (令和7年度) column layout"
    )


def test_every_city_value_maps_to_exactly_one_code_of_its_column():
    blockers = LAYOUT.column("オンライン化の実施予定及び検討時の懸念点")
    mapped = LAYOUT.city_codes["blockers"]
    assert {"law_change", "fee_payment", "by_nature"} <= set(mapped)
    assert all(code in blockers.codes for code in mapped.values())
    assert "5 一部実施済" not in LAYOUT.column("オンライン化の実施状況").codes


def test_a_mapping_to_a_code_outside_the_list_is_refused(tmp_path):
    data = json.loads(LAYOUT_FILE.read_text(encoding="utf-8"))
    data["city_codes"]["online_status"]["partial"] = "5 一部実施済"
    bad = tmp_path / "national_r7.json"
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError, match="5 一部実施済"):
        load_layout(bad)


def test_a_clerks_own_bracketed_note_stays_free_text():
    known = LAYOUT.known_headers()
    free, segments = split_detail(
        "【注意】窓口で確認\n【オンライン化の実施状況】5 一部実施済", known
    )
    assert free == "【注意】窓口で確認"
    assert segments == [("オンライン化の実施状況", "5 一部実施済")]


def test_an_r7_file_with_a_second_header_row_of_notes_reads_only_the_procedures():
    notes = r7_row(
        手続ID="手続を一意に識別するID", 手続名="手続の名称", 手続類型="手続の類型",
        手続主体="手続を行う主体", オンライン化の実施状況="手続のオンライン実施状況",
        申請等における本人確認手法="本人確認手法", 総手続件数="年間の全手続件数",
    )  # fmt: skip
    procedure = r7_row(
        手続ID="4711", 所管府省庁="総務省", 手続名="転入届", 手続類型="1 申請等",
        オンライン化の実施状況="4 その他",
        オンライン化の実施状況に関する補足="窓口予約のみ\n【オンライン化の実施状況】5 一部実施済",
        総手続件数=1200,
    )  # fmt: skip
    content = xlsx({"手続一覧": [LAYOUT.names, notes, procedure]})
    sheet = parse_inventory(content, "r7.xlsx").sheets[0]
    assert [(row.get("code"), row.get("name")) for row in sheet.rows] == [("4711", "転入届")]
    row = sheet.rows[0]
    assert row.get("online_status") == "partial"
    assert row.extra["オンライン化の実施状況に関する補足"] == "窓口予約のみ"


def test_a_city_field_in_a_detail_becomes_its_own_column():
    procedure = r7_row(
        手続ID="L000001", 所管府省庁="市民課", 手続名="転入届",
        手続類型="1 申請等", オンライン化の実施状況="1 実施済",
        **{"手続(類型、主体、受け手等)に関する補足": "【部】市民自治部\n【手続類型】届出"},
    )  # fmt: skip
    sheet = parse_inventory(xlsx({"手続一覧": [LAYOUT.names, procedure]}), "r7.xlsx").sheets[0]
    row = sheet.rows[0]
    assert (row.get("department"), row.get("division"), row.get("kind")) == (
        "市民自治部",
        "市民課",
        "notification",
    )
