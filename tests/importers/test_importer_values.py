"""Normalising cell values: numbers, yes/no, codes, lists, eras and fiscal years."""

from __future__ import annotations

import datetime as dt

import importer_fixtures as F
import pytest

from importers import text as T
from importers import value_words
from importers import values as V
from importers.inventory import parse_inventory


def _column(header, cells):
    """Import one column next to a name column; return (values, problems) per row."""
    rows = [["手続名", header]] + [[f"手続{i}", cell] for i, cell in enumerate(cells, start=1)]
    inventory = parse_inventory(F.xlsx({"市民部": rows}), "inventory.xlsx")
    return [r.values for r in inventory.rows()], inventory.problems


def _listed(header, cells):
    """Import one column; return the values listed for a decision as (value, rows, reason)."""
    rows = [["手続名", header]] + [[f"手続{i}", cell] for i, cell in enumerate(cells, start=1)]
    inventory = parse_inventory(F.xlsx({"市民部": rows}), "inventory.xlsx")
    return [(u.value, u.rows, u.reason) for u in inventory.unrecognised]


# --- numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "volume", "estimate"),
    [
        ("1,234", 1234, False),
        ("１，２３４件", 1234, False),
        ("約500", 500, True),
        ("500件程度", 500, True),
        ("年間1,000件", 1000, False),
        ("1.2万", 12000, False),
        (1234.0, 1234, False),
        (0, 0, False),
        ("0", 0, False),
        ("-", None, False),
        ("－", None, False),
        ("不明", None, False),
        ("", None, False),
        (None, None, False),
    ],
)
def test_volume_is_read_from_the_ways_people_write_it(cell, volume, estimate):
    values, problems = _column("年間件数", [cell])
    assert values == [{"name": "手続1", "annual_volume": volume, "volume_is_estimate": estimate}]
    assert problems == []


def test_volume_range_is_listed_for_a_decision_and_not_guessed():
    values, problems = _column("年間件数", ["100～200", "100-200", "100～200"])
    assert [v["annual_volume"] for v in values] == [None, None, None]
    assert problems == []  # listed once per value instead of a warning per row
    assert _listed("年間件数", ["100～200", "100-200", "100～200"]) == [
        ("100～200", [2, 4], "volume_range"),
        ("100-200", [3], "volume_range"),
    ]
    assert values[0]["raw_values"] == '{"annual_volume": "100～200"}'


def test_volume_bound_and_text_are_listed_with_their_reason():
    assert _listed("件数", ["1000件以上", "たくさん", "12.5"]) == [
        ("1000件以上", [2], "volume_bound"),
        ("たくさん", [3], "volume_unreadable"),
        ("12.5", [4], "volume_unreadable"),
    ]


def test_unknown_is_none_and_never_zero():
    assert V.volume("不明") == (None, False, None)
    assert V.volume("なし") == (0, False, None)
    assert V.volume(None) == (None, False, None)


# --- yes / no ------------------------------------------------------------------------------

YES = ["○", "〇", "要", "有", "可", "済", "はい", "✓", "Y", "1", "yes", "TRUE", 1, 1.0, True]
NO = ["×", "✕", "不要", "無", "不可", "未", "いいえ", "N", "0", "no", "false", 0, False]


@pytest.mark.parametrize("cell", YES)
def test_yes_words_read_as_true(cell):
    values, problems = _column("押印", [cell])
    assert values[0]["seal_required"] is True
    assert problems == []


@pytest.mark.parametrize("cell", NO)
def test_no_words_read_as_false(cell):
    values, problems = _column("押印", [cell])
    assert values[0]["seal_required"] is False
    assert problems == []


def test_unclear_yes_no_is_unknown_and_listed_for_a_decision():
    values, problems = _column("来庁要否", ["場合により異なる", "△", "-"])
    assert [v["visit_required"] for v in values] == [None, None, None]
    assert problems == []
    assert _listed("来庁要否", ["場合により異なる", "△", "-"]) == [
        ("場合により異なる", [2], "yes_no_unreadable")
    ]


def test_fee_phrase_keeps_its_amount_in_fee_payment_when_that_column_is_absent():
    values, problems = _column("手数料", ["有（200円）", "無", "有", "○ 300円/通"])
    assert values == [
        {"name": "手続1", "fee_required": True, "fee_payment": "200円"},
        # No fee: the payment step does not apply (importers/steps.py).
        {
            "name": "手続2",
            "fee_required": False,
            "fee_payment": "",
            "steps": '{"payment":"not_applicable"}',
        },
        {"name": "手続3", "fee_required": True, "fee_payment": ""},
        {"name": "手続4", "fee_required": True, "fee_payment": "300円/通"},
    ]
    assert problems == []


def test_fee_phrase_fills_an_empty_fee_payment_but_never_overwrites_it():
    rows = [
        ["手続名", "手数料", "納付方法"],
        ["住民票", "有（300円）", None],
        ["戸籍", "有（450円）", "窓口・郵送（定額小為替）"],
    ]
    inventory = parse_inventory(F.xlsx({"a": rows}), "inventory.xlsx")
    assert [r.values["fee_payment"] for r in inventory.rows()] == [
        "300円",
        "窓口・郵送(定額小為替)",
    ]


def test_national_coded_fee_answer():
    values, _ = _column("手数料等の納付有無", ["1 手数料等無し", "2 手数料等有り"])
    assert [v["fee_required"] for v in values] == [False, True]


# --- coded values and lists --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "status"),
    [
        ("1 実施済", "done"),
        ("2 未実施", "not_done"),
        ("3 適用除外", "excluded"),
        ("4 その他", "other"),
        ("5 一部実施済", "partial"),
        ("済", "done"),
        ("一部", "partial"),
        ("5", "partial"),
        ("", None),
    ],
)
def test_online_status_reads_national_codes_and_words(cell, status):
    values, problems = _column("オンライン化の実施状況", [cell])
    assert values[0]["online_status"] == status
    assert problems == []


def test_unknown_coded_value_is_listed_with_the_choices():
    values, _problems = _column("実施状況", ["検討する"])
    assert values[0]["online_status"] is None
    rows = [["手続名", "実施状況"], ["手続1", "検討する"]]
    [entry] = parse_inventory(F.xlsx({"市民部": rows}), "inventory.xlsx").unrecognised
    assert (entry.field, entry.reason) == ("online_status", "value_unknown")
    assert (
        entry.reason_params["choices"] == "1 実施済, 2 未実施, 3 適用除外, 4 その他, 5 一部実施済"
    )


@pytest.mark.parametrize(
    ("cell", "kind"),
    [
        ("1 申請等", "application"),
        ("3 縦覧等", "inspection"),
        ("2-1 申請等に基づく処分通知等", "other"),
        ("届出", "notification"),
        ("証明書交付", "certificate"),
        ("閲覧・縦覧", "inspection"),
        ("予約・申込", "reservation"),
        ("相談", "consultation"),
    ],
)
def test_kind_reads_codes_and_words(cell, kind):
    values, _ = _column("手続類型", [cell])
    assert values[0]["kind"] == kind


def test_inspection_implies_a_visit_when_the_sheet_has_no_visit_column():
    values, _ = _column("手続類型", ["3 縦覧等", "1 申請等"])
    assert values == [
        {"name": "手続1", "kind": "inspection", "visit_required": True},
        {"name": "手続2", "kind": "application"},
    ]


@pytest.mark.parametrize(
    ("cell", "code", "seal"),
    [
        ("1 押印＋印鑑証明", 1, True),
        ("2 押印", 2, True),
        ("3 署名", 3, True),
        ("4 本人確認書類の提示・提出", 4, False),
        ("5 その他", 5, None),
        ("6 本人確認不要", 6, False),
        ("2 押印; 6 本人確認不要", 2, True),
        ("", None, None),
    ],
)
def test_identity_check_code_and_the_seal_it_implies(cell, code, seal):
    values, _ = _column("申請等における本人確認手法", [cell])
    assert values[0]["identity_check"] == code
    assert values[0]["seal_required"] is seal


def test_several_values_joined_by_semicolons_or_commas_become_a_list():
    values, _ = _column("ライフイベント", ["妊娠・出産; 子育て", "介護、引越し", "", "死亡・相続"])
    assert [v["life_events"] for v in values] == [
        ["妊娠・出産", "子育て"],
        ["介護", "引越し"],
        [],
        ["死亡・相続"],
    ]


def test_life_event_none_of_the_above_is_dropped():
    values, _ = _column(
        "手続が行われるイベント(個人)", ["その他(個人も法人にもあてはまらない)", "税金; 引越し"]
    )
    assert [v["life_events"] for v in values] == [[], ["税金", "引越し"]]


@pytest.mark.parametrize(
    ("cell", "blockers"),
    [
        ("0 オンライン化実施予定", []),
        ("1 制度改正が必要であり、制度改正のための時間確保が困難", ["law_change"]),
        (
            "1 制度改正が必要であり、制度改正のための時間確保が困難; "
            "2 制度改正が必要であり、制度改正の業務上の優先順位が高くない",
            ["law_change"],
        ),
        ("3 電子化に必要なシステムが省庁内に備わっていない", ["no_system"]),
        (
            "4 一部の必要書類の原本が紙であり、電子化してもオンライン処理が完結しない; "
            "6 オンライン化の費用対効果が小さい又は不明",
            ["paper_originals", "cost_benefit"],
        ),
        ("5 性質上、電子化すべきでない", ["by_nature"]),
        ("7 上記に該当しない", ["other"]),
        ("手数料の決済、添付書類の原本性", ["fee_payment", "paper_originals"]),
        ("押印が必要、対面での本人確認", ["seal_signature", "identity_in_person"]),
        ("", []),
    ],
)
def test_blockers_read_national_codes_and_words(cell, blockers):
    values, problems = _column("懸念点", [cell])
    assert values[0]["blockers"] == blockers
    assert problems == []


def test_unknown_blocker_is_recorded_as_other_and_listed():
    values, problems = _column("阻害要因", ["担当者が忙しい"])
    assert values[0]["blockers"] == ["other"]
    assert problems == []
    assert _listed("阻害要因", ["担当者が忙しい"]) == [("担当者が忙しい", [2], "blocker_unknown")]


@pytest.mark.parametrize(
    ("cell", "applicant"),
    [
        ("5 国民等", "residents"),
        ("6 民間事業者等", "businesses"),
        ("7 国民等、民間事業者等", "both"),
        ("1 国", None),
        ("住民", "residents"),
        ("住民・事業者", "both"),
        ("事業者", "businesses"),
    ],
)
def test_applicant(cell, applicant):
    values, problems = _column("申請者", [cell])
    assert values[0]["applicant"] == applicant
    assert problems == []


@pytest.mark.parametrize(
    ("cell", "verdict"),
    [("可能", "feasible"), ("不可", "infeasible"), ("検討中", "undecided"), ("", None)],
)
def test_verdict(cell, verdict):
    values, _ = _column("オンライン化の可否", [cell])
    assert values[0]["verdict"] == verdict


def test_mynaportal_and_originals():
    rows = [
        ["手続名", "マイナポータル対象", "原本要否", "添付書類等の提出方法"],
        ["児童手当の現況届", "対象", "要", None],
        ["転入届", "対象外", "不要", None],
    ]
    inventory = parse_inventory(F.xlsx({"a": rows}), "inventory.xlsx")
    assert [
        (r.values["mynaportal_eligible"], r.values["originals_required"]) for r in inventory.rows()
    ] == [(True, True), (False, False)]
    assert inventory.sheets[0].columns[3].field is None  # originals already mapped


def test_online_steps_combine_into_one_status():
    data = F.csv_bytes(
        [
            "service_name_en,e_application,e_decision,e_issuance",
            "All online,Y,Y,Y",
            "Some online,Y,N,NA",
            "None online,N,N,NA",
            "Not applicable,NA,NA,NA",
            "No data,ND,ND,ND",
        ]
    )
    inventory = parse_inventory(data, "services.csv")
    assert [r.values["online_status"] for r in inventory.rows()] == [
        "done",
        "partial",
        "not_done",
        None,
        None,
    ]


# --- eras and fiscal years ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "year"),
    [
        ("令和4年度", 2022),
        ("R4", 2022),
        ("R4年度", 2022),
        ("令和４年度", 2022),
        ("Ｒ５", 2023),
        ("令和元年", 2019),
        ("令和元年度", 2019),
        ("H31", 2019),
        ("平成30年度", 2018),
        ("昭和64年", 1989),
        ("2022年度", 2022),
        ("2022", 2022),
        ("２０２２年度", 2022),
        (2024.0, 2024),
        (2024, 2024),
        ("FY2023", 2023),
        ("2019-2020", 2019),
        ("2 2025年度", 2025),
        ("令和5年度中", 2023),
        ("令和6年2月", 2023),
        (dt.datetime(2024, 3, 31), 2023),
        (dt.datetime(2024, 4, 1), 2024),
        ("未定", None),
        ("", None),
    ],
)
def test_eras_and_fiscal_years_become_the_western_year_of_april(cell, year):
    values, problems = _column("目標年度", [cell])
    assert values[0]["target_fiscal_year"] == year
    assert problems == []


def test_open_ended_or_spanning_years_are_listed():
    cells = ["7 2030年度以降", "R5～R6", "来年"]
    values, _problems = _column("オンライン化実施時期", cells)
    assert [v["target_fiscal_year"] for v in values] == [None, None, None]
    assert [reason for _v, _r, reason in _listed("オンライン化実施時期", cells)] == [
        "year_open_ended",
        "year_range",
        "year_unreadable",
    ]


# --- pure normalisers ------------------------------------------------------------------------


def test_string_normalisers_are_cached():
    assert T.clean_line.cache_info is not None
    T.split_values("1 実施済; 2 未実施")
    before = T.split_values.cache_info().hits
    T.split_values("1 実施済; 2 未実施")
    assert T.split_values.cache_info().hits == before + 1


def test_codes_from_excel_floats_become_text_without_point_zero():
    assert V.code(1234.0) == ("1234", None)
    assert V.code(" A-01 ") == ("A-01", None)


def test_split_values_keeps_commas_inside_national_labels():
    assert T.split_values("4 一部の必要書類の原本が紙であり、電子化しても完結しない; 7 その他") == (
        "4 一部の必要書類の原本が紙であり、電子化しても完結しない",
        "7 その他",
    )
    assert T.split_values("Email<>Fax<>Provinces, Territories") == (
        "Email",
        "Fax",
        "Provinces, Territories",
    )


def test_a_word_table_meaning_a_code_the_schema_lacks_is_refused_when_loaded():
    words = value_words.load_value_words()
    words["online_status"]["labels"]["近日公開"] = "coming_soon"
    with pytest.raises(ValueError, match="online_status.labels: not codes: \\['coming_soon'\\]"):
        value_words.check_meanings(words)
