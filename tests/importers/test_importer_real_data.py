"""Acceptance: the real public inventories in ../shared/data go through, every row accounted for."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from importers.inventory import parse_inventory

DATA = Path(__file__).parents[2].parent / "shared" / "data"

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"the real inventories are not in {DATA}"),
]


def _parse(name: str):
    return parse_inventory((DATA / name).read_bytes(), name)


def _count(rows, field):
    return Counter(r.values.get(field, "<absent>") for r in rows)


def _accounted(inventory, data_rows: int) -> None:
    errors = {(p.sheet, p.row) for p in inventory.problems if p.severity == "error"}
    assert len(list(inventory.rows())) + len(errors) == data_rows


@pytest.fixture(scope="module")
def national():
    return _parse("jp-national-procedures-r6.xlsx")


@pytest.fixture(scope="module")
def local_xlsx():
    return _parse("jp-national-procedures-r6-local.xlsx")


@pytest.fixture(scope="module")
def local_csv():
    return _parse("jp-national-procedures-r6-local.cp932.csv")


def test_national_inventory_every_row_is_accepted(national):
    assert national.file_format == "xlsx"
    [sheet] = national.sheets
    assert (sheet.name, sheet.header_row, sheet.skipped_reason) == ("手続一覧", 1, None)
    rows = list(national.rows())
    assert len(rows) == 75_071
    _accounted(national, 75_071)
    assert national.problems == []
    # "7 2030年度以降": no definite year, listed once for a person to decide
    assert [(u.field, u.value, u.count, u.reason) for u in national.unrecognised] == [
        ("target_fiscal_year", "7 2030年度以降", 88, "year_open_ended")
    ]
    assert rows[0].row == 2 and rows[-1].row == 75_072


def test_national_inventory_columns_map_as_specified(national):
    fields = {c.header: c.field for c in national.sheets[0].columns}
    assert {h: f for h, f in fields.items() if f} == {
        "手続ID": "code",
        "所管府省庁": "division",
        "手続名": "name",
        "法令名": "legal_basis",
        "手続類型": "kind",
        "手続主体": "applicant",
        "オンライン化の実施状況": "online_status",
        "オンライン化の実施予定及び検討時の懸念点": "blockers",
        "オンライン化実施時期": "target_fiscal_year",
        "申請等における本人確認手法": "identity_check",
        "手数料等の納付有無": "fee_required",
        "手数料等の納付方法": "fee_payment",
        "情報システム(申請)": "channel",
        "総手続件数": "annual_volume",
        "オンライン手続件数": "online_volume",
        "非オンライン手続件数": "offline_volume",
        "申請時に添付させる書類": "attachments",
        "添付書類等の提出方法": "originals_required",
        "手続が行われるイベント(個人)": "life_events",
    }
    assert "department" not in national.sheets[0].rows[0].values


def test_national_inventory_values(national):
    rows = list(national.rows())
    assert rows[0].values == {
        "name": "内閣総理大臣への届出",
        "code": "1",
        "division": "内閣官房",
        "legal_basis": "国家公務員法",
        "kind": "application",
        "applicant": "residents",
        "online_status": "done",
        "blockers": [],
        "target_fiscal_year": None,
        "identity_check": None,
        "fee_payment": "",
        "channel": "電子メール",
        "attachments": "添付書類なし",
        "originals_required": None,
        "life_events": ["就職・転職"],
        "fee_required": False,
        "annual_volume": 1496,
        "online_volume": 1496,
        "offline_volume": 0,
        "volume_is_estimate": False,
        "seal_required": None,
        # Online, no fee, no attachments (importers/steps.py).
        "steps": '{"identification":"online","application":"online",'
        '"attachments":"not_applicable","payment":"not_applicable"}',
        "raw_values": None,  # every value of this row was understood
    }
    assert rows[0].extra["法令番号"] == "昭和二十二年法律第百二十号"
    assert _count(rows, "online_status") == {
        "done": 36_315,
        "not_done": 22_695,
        "other": 13_235,
        "partial": 2_416,
        "excluded": 407,
        None: 3,
    }
    assert _count(rows, "kind") == {
        "application": 36_480,
        "other": 35_395,
        "inspection": 3_194,
        None: 2,
    }
    assert _count(rows, "visit_required") == {"<absent>": 71_877, True: 3_194}
    assert _count(rows, "identity_check") == {
        None: 62_761,
        6: 6_786,
        4: 1_950,
        5: 1_442,
        3: 1_235,
        2: 832,
        1: 65,
    }
    assert _count(rows, "seal_required") == {None: 64_203, False: 8_736, True: 2_132}
    assert _count(rows, "fee_required") == {None: 38_880, False: 32_529, True: 3_662}
    assert _count(rows, "target_fiscal_year") == {
        None: 71_049,
        2024: 86,
        2025: 2_182,
        2026: 1_058,
        2027: 186,
        2028: 39,
        2029: 471,
    }
    assert Counter(b for r in rows for b in r.values["blockers"]) == {
        "cost_benefit": 15_792,
        "other": 11_452,
        "by_nature": 3_966,
        "paper_originals": 1_689,
        "no_system": 1_593,
        "law_change": 1_017,
    }
    assert sum(r.values["annual_volume"] for r in rows) == 4_307_176_937


def test_local_subset_xlsx_and_cp932_csv_give_the_same_rows(local_xlsx, local_csv):
    assert (local_xlsx.file_format, local_csv.file_format) == ("xlsx", "csv")
    xlsx_rows = list(local_xlsx.rows())
    csv_rows = list(local_csv.rows())
    assert len(xlsx_rows) == len(csv_rows) == 9_606
    _accounted(local_xlsx, 9_606)
    _accounted(local_csv, 9_606)
    assert local_xlsx.problems == [] and local_csv.problems == []
    different = [a.values for a, b in zip(xlsx_rows, csv_rows, strict=True) if a.values != b.values]
    assert len(different) <= 5  # 5 cells of the CSV hold "?" for characters CP932 lacks
    assert csv_rows[0].row == 2
    assert _count(xlsx_rows, "kind") == {"application": 9_606}
    assert _count(xlsx_rows, "online_status") == {
        "done": 4_277,
        "not_done": 2_712,
        "other": 2_408,
        "partial": 177,
        "excluded": 32,
    }
    assert _count(csv_rows, "fee_required") == {False: 8_314, True: 1_241, None: 51}


def test_canada_service_inventory_csv():
    inventory = _parse("ca-gc-service-inventory-2019-2020.csv")
    assert inventory.file_format == "csv"
    rows = list(inventory.rows())
    assert len(rows) == 1_231
    assert inventory.problems == []
    _accounted(inventory, 1_231)
    fields = {c.header: c.field for c in inventory.sheets[0].columns if c.field}
    assert fields == {
        "fiscal_yr": "volume_fiscal_year",
        "service_id": "code",
        "service_name_en": "name",
        "department_name_en": "division",
        "client_target_groups": "applicant",
        "service_fee": "fee_required",
        "service_channels": "channel",
        "online_applications": "online_volume",
        "telephone_applications": "offline_volume",
        "in_person_applications": "offline_volume",
        "postal_mail_applications": "offline_volume",
        "other_applications": "offline_volume",
        "e_registration": "online_status",
        "e_authentication": "online_status",
        "e_application": "online_status",
        "e_decision": "online_status",
        "e_issuance": "online_status",
        "e_feedback": "online_status",
        "special_remarks_en": "notes",
    }
    first = rows[0].values
    assert (first["code"], first["name"], first["division"]) == (
        "2104",
        "Women's Program",
        "Women and Gender Equality Canada",
    )
    assert (first["annual_volume"], first["online_status"], first["volume_fiscal_year"]) == (
        40,  # 7 online + 33 other; 0 by telephone, in person and mail
        "partial",
        2019,
    )
    assert (first["online_volume"], first["offline_volume"]) == (7, 33)
    assert _count(rows, "online_status") == {
        "partial": 329,
        "not_done": 351,
        "done": 234,
        None: 317,
    }
    assert sum(1 for r in rows if r.values["annual_volume"] is None) == 44  # all channels ND
    assert rows[-1].row == 3_526  # multi-line quoted fields: the record's first line


def test_canada_titan_extract_reads_services_and_skips_standards():
    inventory = _parse("ca-gc-titan-annual-extract.xlsx")
    assert [(s.name, s.skipped_reason, len(s.rows)) for s in inventory.sheets] == [
        ("Services", None, 1_231),
        ("Standards", "sheet_detail_table", 0),
    ]
    assert [(p.code, p.sheet) for p in inventory.problems] == [("sheet_detail_table", "Standards")]
    rows = list(inventory.rows())
    first = rows[0].values
    assert (first["code"], first["name"], first["division"], first["annual_volume"]) == (
        "2104",
        "Women's Program",
        "Department for Women and Gender Equality",
        40,
    )
    assert _count(rows, "online_status") == {
        "partial": 329,
        "not_done": 351,
        "done": 234,
        None: 317,
    }
    assert sum(1 for r in rows if r.values["annual_volume"] is None) == 44
