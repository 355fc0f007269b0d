"""Finding the header row and mapping its columns to fields."""

from __future__ import annotations

import importer_fixtures as F
import pytest

from importers.headers import HEADER_SYNONYMS, match_header, normalise_header
from importers.inventory import FIELDS, header_signature, parse_inventory


def _sheet(rows, merges=None, name="inventory.xlsx", **kwargs):
    data = F.xlsx({"市民部": rows}, merges={"市民部": merges or []})
    inventory = parse_inventory(data, name, **kwargs)
    return inventory, inventory.sheets[0]


def _mapping(sheet):
    return [(c.header, c.field) for c in sheet.columns]


def test_title_and_date_rows_above_header_are_skipped():
    inventory, sheet = _sheet(
        [
            ["令和5年度 行政手続棚卸調査票"],
            ["作成日：令和5年4月1日", None, "市民部"],
            ["手続名", "担当課", "年間件数"],
            ["転入届", "市民課", 1200],
        ],
        merges=["A1:C1"],
    )
    assert sheet.header_row == 3
    assert _mapping(sheet) == [
        ("手続名", "name"),
        ("担当課", "division"),
        ("年間件数", "annual_volume"),
    ]
    assert [(r.row, r.values["name"]) for r in inventory.rows()] == [(4, "転入届")]


def test_empty_row_between_title_and_header_is_skipped():
    inventory, sheet = _sheet([["手続一覧"], [], [], ["手続名", "担当課"], ["転入届", "市民課"]])
    assert sheet.header_row == 4
    assert [r.row for r in inventory.rows()] == [5]


def test_code_row_above_the_label_row_is_not_taken_for_the_header():
    # the national inventory's style: item numbers over the labels
    inventory, sheet = _sheet(
        [
            ["(1)", "(2)", "(3)", "(4)"],
            ["手続ID", "所管府省庁", "手続名", "総手続件数"],
            ["1", "内閣官房", "内閣総理大臣への届出", 1496.0],
        ]
    )
    assert sheet.header_row == 2
    assert _mapping(sheet) == [
        ("手続ID", "code"),
        ("所管府省庁", "division"),
        ("手続名", "name"),
        ("総手続件数", "annual_volume"),
    ]
    [row] = inventory.rows()
    assert row.values == {
        "name": "内閣総理大臣への届出",
        "code": "1",
        "division": "内閣官房",
        "annual_volume": 1496,
        "volume_is_estimate": False,
    }


def test_group_label_over_two_subcolumns_maps_visit_required_and_reason():
    inventory, sheet = _sheet(
        [
            ["No.", "担当課", "手続名", "来庁", None, "手数料", None],
            [None, None, None, "要否", "理由", "有無", "金額"],
            [1, "市民課", "転入届", "要", "本人確認のため", "無", None],
        ],
        merges=["A1:A2", "B1:B2", "C1:C2", "D1:E1", "F1:G1"],
    )
    assert sheet.header_row == 2
    assert _mapping(sheet) == [
        ("No.", None),
        ("担当課", "division"),
        ("手続名", "name"),
        ("来庁 / 要否", "visit_required"),
        ("来庁 / 理由", "visit_reason"),
        ("手数料 / 有無", "fee_required"),
        ("手数料 / 金額", "fee_payment"),
    ]
    [row] = inventory.rows()
    assert row.values == {
        "name": "転入届",
        "division": "市民課",
        "visit_required": True,
        "visit_reason": "本人確認のため",
        "fee_required": False,
        "fee_payment": "",
        "steps": '{"payment":"not_applicable"}',
    }
    assert row.extra == {"No.": "1"}


def test_group_label_without_merge_information_in_a_csv():
    data = F.csv_bytes(["手続名,来庁,,備考", ",要否,理由,", "転入届,不要,,郵送可"], "cp932")
    inventory = parse_inventory(data, "list.csv")
    sheet = inventory.sheets[0]
    assert sheet.header_row == 2
    assert _mapping(sheet) == [
        ("手続名", "name"),
        ("来庁 / 要否", "visit_required"),
        ("来庁 / 理由", "visit_reason"),
        ("備考", "notes"),
    ]
    assert [r.values for r in inventory.rows()] == [
        {"name": "転入届", "visit_required": False, "visit_reason": "", "notes": "郵送可"}
    ]


def test_title_merged_over_part_of_the_table_is_not_a_group_label():
    _, sheet = _sheet(
        [["棚卸表（市民部）"], ["手続名", "担当課", "件数", "備考"], ["転入届", "市民課", 5, None]],
        merges=["A1:B1"],
    )
    assert sheet.header_row == 2
    assert [c.header for c in sheet.columns] == ["手続名", "担当課", "件数", "備考"]


def test_headers_match_after_nfkc_and_without_spaces_or_line_breaks():
    inventory, sheet = _sheet(
        [["手続\n名", "担当　課", "ｵﾝﾗｲﾝ化の\r\n実施状況"], ["転入届", "市民課", "1 実施済"]]
    )
    assert _mapping(sheet) == [
        ("手続 名", "name"),
        ("担当 課", "division"),
        ("ｵﾝﾗｲﾝ化の 実施状況", "online_status"),
    ]
    assert [r.values["online_status"] for r in inventory.rows()] == ["done"]


def test_english_headers_are_mapped():
    _, sheet = _sheet(
        [
            ["Procedure name", "Department", "Division", "Annual volume", "Notes"],
            ["Move-in notification", "Citizens", "Resident Records", 10, ""],
        ]
    )
    assert [c.field for c in sheet.columns] == [
        "name",
        "department",
        "division",
        "annual_volume",
        "notes",
    ]


def test_any_header_containing_件数_maps_to_annual_volume():
    inventory, sheet = _sheet([["手続名", "申請の件数（年）"], ["転入届", "3,000"]])
    assert _mapping(sheet) == [("手続名", "name"), ("申請の件数（年）", "annual_volume")]
    assert [r.values["annual_volume"] for r in inventory.rows()] == [3000]


def test_fiscal_year_in_the_volume_header_becomes_volume_fiscal_year():
    inventory, sheet = _sheet(
        [["手続名", "件数（令和3年度）", "件数（令和4年度）"], ["転入届", 900, 1000]]
    )
    assert [c.field for c in sheet.columns] == ["name", None, "annual_volume"]
    [row] = inventory.rows()
    assert row.values == {
        "name": "転入届",
        "annual_volume": 1000,
        "volume_is_estimate": False,
        "volume_fiscal_year": 2022,
    }
    assert row.extra == {"件数（令和3年度）": "900"}


def test_total_volume_wins_over_volumes_by_channel_which_are_kept_as_online_and_not():
    inventory, sheet = _sheet(
        [["手続名", "オンライン手続件数", "総手続件数", "非オンライン手続件数"], ["届出", 1, 5, 4]]
    )
    assert [c.field for c in sheet.columns] == [
        "name",
        "online_volume",
        "annual_volume",
        "offline_volume",
    ]
    [row] = inventory.rows()
    assert (row.values["annual_volume"], row.values["online_volume"]) == (5, 1)
    assert row.values["offline_volume"] == 4


def test_volumes_by_channel_are_summed_when_there_is_no_total():
    data = F.csv_bytes(
        [
            "service_name_en,online_applications,telephone_applications,in_person_applications",
            "Passport,10,ND,5",
            "Visa,ND,ND,ND",
            "Licence,3,0,0",
        ]
    )
    inventory = parse_inventory(data, "services.csv")
    assert [(r.values["name"], r.values["annual_volume"]) for r in inventory.rows()] == [
        ("Passport", 15),
        ("Visa", None),
        ("Licence", 3),
    ]


def test_columns_it_cannot_map_are_kept_as_extra():
    inventory, sheet = _sheet(
        [["手続名", "担当者", "", "処理期間"], ["転入届", "山田", "メモ", None]]
    )
    assert _mapping(sheet) == [
        ("手続名", "name"),
        ("担当者", None),
        ("[C]", None),
        ("処理期間", None),
    ]
    [row] = inventory.rows()
    assert row.extra == {"担当者": "山田", "[C]": "メモ"}


def test_duplicate_headers_get_their_column_letter():
    inventory, sheet = _sheet([["手続名", "備考", "備考"], ["転入届", "a", "b"]])
    assert _mapping(sheet) == [("手続名", "name"), ("備考", "notes"), ("備考 [C]", None)]
    assert [r.extra for r in inventory.rows()] == [{"備考 [C]": "b"}]


def test_mapping_overrides_detection():
    rows = [["事務の名前", "担当者", "備考"], ["転入届", "市民課", "メモ"]]
    mapping = {"事務の名前": "name", "担当者": "division", "備考": None}
    inventory, sheet = _sheet(rows, mapping=mapping)
    assert _mapping(sheet) == [("事務の名前", "name"), ("担当者", "division"), ("備考", None)]
    [row] = inventory.rows()
    assert row.values == {"name": "転入届", "division": "市民課"}
    assert row.extra == {"備考": "メモ"}


def test_mapping_with_an_unknown_field_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown field"):
        _sheet([["手続名"], ["転入届"]], mapping={"手続名": "title"})


def test_mapping_can_name_a_column_without_header_by_its_letter():
    rows = [["手続名", None], ["転入届", "市民課"]]
    inventory, sheet = _sheet(rows, mapping={"[B]": "division"})
    assert _mapping(sheet) == [("手続名", "name"), ("[B]", "division")]
    assert [r.values for r in inventory.rows()] == [{"name": "転入届", "division": "市民課"}]


def test_french_columns_of_a_bilingual_file_are_kept_as_extra():
    _, sheet = _sheet(
        [
            ["Service Name (English)", "Service Name (French)", "Department Name (French)"],
            ["Passport", "Passeport", "Ministère"],
        ]
    )
    assert [c.field for c in sheet.columns] == ["name", None, None]


def test_samples_are_up_to_three_non_empty_values():
    _, sheet = _sheet([["手続名", "件数"], ["a", None], ["b", 1.0], ["c", 2], ["d", 3], ["e", 4]])
    assert sheet.columns[0].samples == ["a", "b", "c"]
    assert sheet.columns[1].samples == ["1", "2", "3"]


def test_header_signature_is_stable_and_ignores_spacing():
    assert header_signature(["手続名", "担当課"]) == header_signature(["手続 名", "担当　課", ""])
    assert header_signature(["手続名", "担当課"]) != header_signature(["担当課", "手続名"])
    assert len(header_signature(["手続名"])) == 16
    _, sheet = _sheet([["手続名", "担当課"], ["転入届", "市民課"]])
    assert sheet.header_signature == header_signature(["手続名", "担当課"])


def test_synonym_table_is_data_naming_only_known_fields():
    assert set(HEADER_SYNONYMS) <= set(FIELDS)
    assert match_header(normalise_header("所管府省庁")) == ("division", "whole", True)
    assert match_header(normalise_header("実施府省庁")) == (None, "whole", False)
    assert match_header(normalise_header("手続が行われるイベント(法人)"))[0] is None


def test_fields_are_the_canonical_names_in_display_order():
    assert FIELDS[:4] == ("code", "name", "department", "division")
    assert len(FIELDS) == len(set(FIELDS)) == 30
    assert FIELDS[-1] == "notes"
