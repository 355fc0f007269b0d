"""Reading the data rows: merged cells, the end of the table, refused rows."""

from __future__ import annotations

import importer_fixtures as F
import pytest
from importer_fixtures import xlsx_reading  # noqa: F401 (the fixture below)

from importers.inventory import parse_inventory

#: Every test here runs with xlsx sheets read whole and read in pieces of one row.
pytestmark = pytest.mark.usefixtures("xlsx_reading")


def _read(rows, merges=None, sheet="市民部"):
    data = F.xlsx({sheet: rows}, merges={sheet: merges or []})
    return parse_inventory(data, "inventory.xlsx")


def _names(inventory):
    return [(r.row, r.values["name"]) for r in inventory.rows()]


def test_division_merged_vertically_fills_every_row_it_covers():
    inventory = _read(
        [
            ["担当課", "手続名"],
            ["市民課", "転入届"],
            [None, "転出届"],
            [None, "転居届"],
            ["保険年金課", "国民健康保険の加入届"],
        ],
        merges=["A2:A4"],
    )
    assert [(r.row, r.values["division"]) for r in inventory.rows()] == [
        (2, "市民課"),
        (3, "市民課"),
        (4, "市民課"),
        (5, "保険年金課"),
    ]


def test_blank_division_and_department_under_a_filled_one_continue_it():
    inventory = _read(
        [
            ["部", "課", "手続名"],
            ["市民部", "市民課", "転入届"],
            [None, None, "転出届"],
            [None, "保険年金課", "国民健康保険の加入届"],
            ["福祉部", "介護保険課", "要介護認定申請"],
            [None, None, "被保険者証の再交付申請"],
        ]
    )
    assert [(r.values["department"], r.values["division"]) for r in inventory.rows()] == [
        ("市民部", "市民課"),
        ("市民部", "市民課"),
        ("市民部", "保険年金課"),
        ("福祉部", "介護保険課"),
        ("福祉部", "介護保険課"),
    ]


def test_section_row_with_only_a_division_sets_it_for_the_rows_below():
    inventory = _read(
        [
            ["担当課", "手続名", "件数"],
            ["市民課", None, None],
            [None, "転入届", 10],
            ["保険年金課", None, None],
            [None, "国民健康保険の加入届", 20],
        ]
    )
    assert [(r.row, r.values["division"]) for r in inventory.rows()] == [
        (3, "市民課"),
        (5, "保険年金課"),
    ]
    assert inventory.problems == []


def test_total_row_and_note_lines_under_the_data_are_skipped():
    inventory = _read(
        [
            ["手続名", "担当課", "件数"],
            ["転入届", "市民課", 100],
            ["転出届", "市民課", 50],
            ["合計", None, 150],
            [],
            ["※件数は令和4年度の実績です。"],
            ["＊ 不明な件数は空欄"],
        ]
    )
    assert _names(inventory) == [(2, "転入届"), (3, "転出届")]
    assert inventory.problems == []


def test_total_written_in_another_column_ends_the_table_too():
    inventory = _read(
        [["No.", "手続名", "件数"], [1, "転入届", 100], ["計", None, 100], [None, "（注）集計"]]
    )
    assert _names(inventory) == [(2, "転入届")]
    assert inventory.problems == []


def test_total_row_with_a_number_in_front_or_a_unit_is_still_a_total():
    inventory = _read(
        [["No.", "手続名", "件数"], [1, "転入届", 100], [2, "合計（件）", 100], [3, "計", 100]]
    )
    assert _names(inventory) == [(2, "転入届")]
    assert inventory.problems == []


def test_volume_estimate_column_chosen_by_the_caller_is_read_as_yes_no():
    data = F.xlsx(
        {"a": [["手続名", "件数", "推計"], ["転入届", 100, "○"], ["転出届", "約50", None]]}
    )
    inventory = parse_inventory(data, "a.xlsx", mapping={"推計": "volume_is_estimate"})
    assert [
        (r.values["annual_volume"], r.values["volume_is_estimate"]) for r in inventory.rows()
    ] == [
        (100, True),
        (50, True),
    ]


def test_rows_after_the_total_row_are_reported_not_read():
    inventory = _read(
        [["手続名", "件数"], ["転入届", 100], ["合計", 100], ["凡例", None], ["転出届", 50]]
    )
    assert _names(inventory) == [(2, "転入届")]
    [problem] = inventory.problems
    assert (problem.severity, problem.code, problem.row) == ("warning", "rows_after_total", 3)
    assert problem.params == {"sheet": "市民部", "row": 3}


def test_subtotal_rows_between_blocks_are_skipped_and_reading_goes_on():
    inventory = _read(
        [
            ["課", "手続名", "件数"],
            ["市民課", "転入届", 100],
            ["小計", None, 100],
            ["保険年金課", "国民健康保険の加入届", 20],
            [None, "小計", 20],
        ]
    )
    assert _names(inventory) == [(2, "転入届"), (4, "国民健康保険の加入届")]


def test_blank_rows_inside_the_data_are_skipped():
    inventory = _read(
        [["手続名", "担当課"], ["転入届", "市民課"], [], [None, None], ["転出届", None]]
    )
    assert _names(inventory) == [(2, "転入届"), (5, "転出届")]
    assert [r.values["division"] for r in inventory.rows()] == ["市民課", "市民課"]


def test_short_real_name_is_not_taken_for_a_note_line():
    inventory = _read(
        [
            ["手続名", "担当課", "件数"],
            ["転入届", None, None],
            ["閲覧", None, None],
            ["注", None, None],
            ["計量", "産業振興課", 3],
            ["※印鑑登録証明書", "市民課", 9000],
        ]
    )
    assert _names(inventory) == [
        (2, "転入届"),
        (3, "閲覧"),
        (4, "注"),
        (5, "計量"),
        (6, "※印鑑登録証明書"),
    ]


def test_row_without_a_name_is_refused_with_an_error_and_counted():
    inventory = _read(
        [
            ["手続名", "担当課", "件数"],
            ["転入届", "市民課", 10],
            [None, "市民課", 20],
            ["転出届", None, "不明"],
        ]
    )
    assert _names(inventory) == [(2, "転入届"), (4, "転出届")]
    errors = [p for p in inventory.problems if p.severity == "error"]
    assert [(p.code, p.row, p.column, p.sheet) for p in errors] == [
        ("name_missing", 3, "手続名", "市民部")
    ]
    assert errors[0].message == (
        "Row 3: the procedure name is empty, so the row was not imported. "
        "Enter the name in column “手続名”."
    )
    assert errors[0].message_in("ja") == (
        "3行目：手続名が空欄のため、この行は取り込んでいません。「手続名」列に手続名を入力してください。"
    )


def test_every_data_row_is_either_accepted_or_has_an_error():
    rows = [["手続名", "件数"]] + [[f"手続{i}" if i % 7 else None, i] for i in range(1, 50)]
    inventory = _read(rows)
    errors = {p.row for p in inventory.problems if p.severity == "error"}
    accepted = {r.row for r in inventory.rows()}
    assert len(accepted) + len(errors) == 49
    assert accepted | errors == set(range(2, 51))


def test_template_rows_with_only_a_serial_number_are_not_data():
    inventory = _read([["No.", "手続名", "担当課"], [1, "転入届", "市民課"], [2, None, None], [3]])
    assert _names(inventory) == [(2, "転入届")]
    assert inventory.problems == []


def test_names_are_trimmed_and_inner_breaks_and_fullwidth_spaces_folded():
    inventory = _read(
        [["手続名"], ["　住民票の写しの\n交付請求　"], ["印鑑登録\r\n\r\n証明書　　交付"]]
    )
    assert [r.values["name"] for r in inventory.rows()] == [
        "住民票の写しの 交付請求",
        "印鑑登録 証明書 交付",
    ]


def test_sheet_listing_the_same_procedure_on_many_rows_is_skipped_as_a_detail_table():
    standards = [["Service ID", "Service Name (English)", "Standard ID", "Target"]]
    for service in range(5):
        for standard in range(4):
            standards.append([2000 + service, f"Service {service}", 100 * service + standard, 80])
    data = F.xlsx(
        {
            "Services": [["Service ID", "Service Name (English)"], [2000, "Service 0"]],
            "Standards": standards,
        }
    )
    inventory = parse_inventory(data, "extract.xlsx")
    assert [(s.name, s.skipped_reason, len(s.rows)) for s in inventory.sheets] == [
        ("Services", None, 1),
        ("Standards", "sheet_detail_table", 0),
    ]
    [problem] = inventory.problems
    assert problem.code == "sheet_detail_table"
    assert problem.params == {
        "sheet": "Standards",
        "column": "Service ID",
        "duplicates": 15,
        "rows": 20,
    }


def test_a_procedure_listed_twice_is_kept_with_a_warning():
    inventory = _read(
        [["手続ID", "手続名"], ["A-1", "転入届"], ["A-2", "転出届"], ["A-1", "転入届"]]
    )
    assert _names(inventory) == [(2, "転入届"), (3, "転出届"), (4, "転入届")]
    [problem] = inventory.problems
    assert (problem.code, problem.row, problem.column) == ("duplicate_procedure", 4, "手続ID")
    assert problem.params == {"row": 4, "first_row": 2, "code": "A-1", "name": "転入届"}


def test_formulas_without_cached_values_give_one_warning_per_column():
    inventory = _read(
        [
            ["手続名", "件数", "手数料"],
            ["転入届", "=1+1", '="無"'],
            ["転出届", "=2+2", "無"],
            ["合計", "=SUM(B2:B3)", None],
        ]
    )
    assert [(r.values["annual_volume"], r.values["fee_required"]) for r in inventory.rows()] == [
        (None, None),
        (None, False),
    ]
    assert [(p.code, p.column, p.params["count"]) for p in inventory.problems] == [
        ("formula_without_value", "件数", 2),
        ("formula_without_value", "手数料", 1),
    ]


def test_only_fields_whose_column_exists_are_in_values():
    inventory = _read([["手続名", "担当課"], ["転入届", None]])
    [row] = inventory.rows()
    assert row.values == {"name": "転入届", "division": ""}
    assert "annual_volume" not in row.values
    assert "volume_is_estimate" not in row.values


def test_refused_rows_are_problems_and_unread_values_are_listed_in_row_order():
    inventory = _read([["手続名", "件数"], ["転入届", "100～200"], [None, 5], ["転出届", "多数"]])
    assert [(p.row, p.severity, p.code) for p in inventory.problems] == [
        (3, "error", "name_missing"),
    ]
    assert [(u.rows, u.reason) for u in inventory.unrecognised] == [
        ([2], "volume_range"),
        ([4], "volume_unreadable"),
    ]
