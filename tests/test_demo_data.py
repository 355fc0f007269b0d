"""The demo city reproduces Fujisawa's December 2021 inventory figures exactly."""

from __future__ import annotations

import re
import time
import unicodedata
from collections import Counter

import pytest

from importers.headers import FIELDS
from procedures.demo.city import (
    DATA_DIR,
    MYNAPORTAL_LIFE_EVENTS,
    _build_specs,
    city_specs,
    wording,
)
from procedures.demo.generator import PROCEDURE_FIELDS, generate_demo_municipality
from procedures.vocabulary import LIFE_EVENTS

BLOCKERS = {
    "law_change",
    "no_system",
    "paper_originals",
    "fee_payment",
    "seal_signature",
    "identity_in_person",
    "by_nature",
    "cost_benefit",
    "other",
}
KINDS = {
    "application",
    "notification",
    "certificate",
    "inspection",
    "reservation",
    "consultation",
    "other",
}

# The municipal 27 of the national priority list, as the demo city names them.
PRIORITY_NAMES = {
    "子育て給付課": [
        "児童手当の認定請求",
        "児童手当の額改定請求・額改定届",
        "児童手当の氏名・住所等変更届",
        "児童手当の受給事由消滅届",
        "児童手当の未支払請求",
        "児童手当の寄附の申出",
        "児童手当の寄附の変更・撤回の申出",
        "児童手当からの学校給食費等の徴収に係る申出",
        "児童手当からの学校給食費等の徴収に係る変更等の申出",
        "児童手当の現況届",
    ],
    "保育課": [
        "子どものための教育・保育給付の支給認定申請",
        "保育所等の利用申込",
        "保育所等の利用に係る現況届",
    ],
    "子ども家庭課": ["児童扶養手当の現況届（事前送信）"],
    "子ども健康課": ["妊娠の届出（母子健康手帳の交付）"],
    "介護保険課": [
        "要介護（要支援）認定申請",
        "要介護（要支援）更新認定申請",
        "要介護（要支援）状態区分変更認定申請",
        "居宅（介護予防）サービス計画作成依頼届出",
        "介護保険負担割合証の再交付申請",
        "介護保険被保険者証の再交付申請",
        "高額介護（予防）サービス費の支給申請",
        "介護保険負担限度額認定申請",
        "居宅介護（介護予防）福祉用具購入費の支給申請",
        "居宅介護（介護予防）住宅改修費の支給申請",
        "転入者の要介護（要支援）認定申請（認定内容の引継ぎ）",
    ],
    "防災政策課": ["り災証明書の交付申請"],
}


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return generate_demo_municipality()


def funnel(rows: list[dict]) -> dict[str, int]:
    surveyed = [row for row in rows if not row["visit_required"]]
    feasible = [row for row in surveyed if row["verdict"] == "feasible"]
    portal = [row for row in feasible if row["mynaportal_eligible"]]
    volume = [
        row
        for row in feasible
        if not row["mynaportal_eligible"]
        and row["annual_volume"] is not None
        and row["annual_volume"] >= 1000
    ]
    return {
        "total": len(rows),
        "visit": len(rows) - len(surveyed),
        "surveyed": len(surveyed),
        "feasible": len(feasible),
        "portal": len(portal),
        "volume_1000": len(volume),
        "rest": len(feasible) - len(portal) - len(volume),
    }


def test_the_funnel_is_fujisawas(rows):
    assert funnel(rows) == {
        "total": 1942,
        "visit": 158,
        "surveyed": 1784,
        "feasible": 723,
        "portal": 401,
        "volume_1000": 89,
        "rest": 233,
    }


@pytest.mark.parametrize("seed", [0, 1, 42, 99999])
def test_every_seed_gives_the_same_funnel_with_other_procedures(rows, seed):
    other = generate_demo_municipality(seed)
    assert funnel(other) == funnel(rows)
    assert other != rows


def test_the_same_seed_gives_the_same_city():
    assert generate_demo_municipality(2021) == generate_demo_municipality(2021)
    assert generate_demo_municipality() == generate_demo_municipality(2021)


def test_every_dict_has_exactly_the_importer_fields(rows):
    for row in rows:
        assert tuple(row) == PROCEDURE_FIELDS
    assert len(PROCEDURE_FIELDS) == 28
    # The importer's own list, in its order, less what the plan fills in after loading.
    planned = {"target_fiscal_year", "done_fiscal_year"}
    assert [field for field in FIELDS if field not in planned] == list(PROCEDURE_FIELDS)


def test_the_data_files_are_read_once_and_sit_beside_the_code():
    assert city_specs() is city_specs()
    assert wording() is wording()
    assert DATA_DIR.is_dir()
    assert {"city.json", "wording.json"} <= {path.name for path in DATA_DIR.glob("*.json")}
    assert len(city_specs()) > 1942


@pytest.mark.parametrize(
    ("procedure", "error"),
    [
        ({"name": "市章の使用承認申請", "flags": ["sael"]}, "unknown flag"),
        ({"name": "市章の使用承認申請", "volume": 5, "cost": 1}, "bad keys"),
        ({"name": "市章の{使用承認申請,使用承認申請}"}, "listed twice"),
        ({"name": "市章の{@nothing}"}, "unknown group"),
    ],
)
def test_a_mistake_in_the_city_file_is_refused(procedure, error):
    division = {"name": "総務課", "applicant": "both", "life_events": [], "legal_basis": None}
    city = {
        "alternatives": {},
        "departments": [{"name": "総務部", "divisions": [{**division, "procedures": [procedure]}]}],
    }
    with pytest.raises(ValueError, match=error):
        _build_specs(city)


def test_codes_are_unique_and_name_their_department_and_division(rows):
    codes = [row["code"] for row in rows]
    assert len(set(codes)) == len(codes)
    division_numbers: dict[str, str] = {}
    for row in rows:
        match = re.fullmatch(r"FJ-(\d{2})-(\d{3})-(\d{4})", row["code"])
        assert match, row["code"]
        assert division_numbers.setdefault(row["division"], match[2]) == match[2]
    assert len(set(division_numbers.values())) == len(division_numbers)


def test_names_are_unique_within_a_division_even_after_normalising(rows):
    keys = [
        (row["division"], "".join(unicodedata.normalize("NFKC", row["name"]).split()))
        for row in rows
    ]
    assert len(set(keys)) == len(keys) == 1942


def test_a_division_belongs_to_one_department_and_the_city_is_mid_sized(rows):
    departments_of: dict[str, set[str]] = {}
    for row in rows:
        departments_of.setdefault(row["division"], set()).add(row["department"])
    assert all(len(departments) == 1 for departments in departments_of.values())
    assert 60 <= len(departments_of) <= 80
    assert 12 <= len({row["department"] for row in rows}) <= 16


def test_procedures_sit_in_the_division_that_handles_them(rows):
    where = {row["name"]: row["division"] for row in rows}
    assert where["住民票の写しの交付請求"] == "市民窓口センター"
    assert where["戸籍全部事項証明書（謄本）の交付請求"] == "市民窓口センター"
    assert where["児童手当の認定請求"] == "子育て給付課"
    assert where["要介護（要支援）認定申請"] == "介護保険課"
    assert where["建築確認申請"] == "建築指導課"
    assert where["り災証明書の交付申請"] == "防災政策課"


def test_viewing_the_resident_register_needs_a_visit(rows):
    [row] = [row for row in rows if row["name"] == "住民基本台帳の一部の写しの閲覧申請"]
    assert row["division"] == "市民窓口センター"
    assert row["visit_required"] is True
    assert row["kind"] == "inspection"


def test_a_visit_by_nature_is_infeasible_and_says_why(rows):
    for row in rows:
        if row["visit_required"]:
            assert row["verdict"] == "infeasible"
            assert row["blockers"] == ["by_nature"]
            assert row["verdict_reason"].startswith("性質上")
            assert row["visit_reason"]
            assert row["mynaportal_eligible"] is False
        else:
            assert row["visit_reason"] is None
            assert "by_nature" not in row["blockers"]


def test_every_infeasible_procedure_has_a_japanese_reason_and_blockers(rows):
    infeasible = [row for row in rows if row["verdict"] == "infeasible"]
    assert len(infeasible) == 1784 - 723 - 60 + 158
    for row in infeasible:
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", row["verdict_reason"])
        assert 1 <= len(row["blockers"]) <= 3
        assert set(row["blockers"]) <= BLOCKERS
    assert sum(row["verdict"] == "undecided" for row in rows) == 60


def test_feasible_procedures_have_no_blockers_and_are_still_to_be_converted(rows):
    for row in rows:
        if row["verdict"] == "feasible":
            assert row["blockers"] == []
            assert row["online_status"] == "not_done"


def test_nothing_is_online_yet_and_only_a_few_infeasible_ones_are_partly(rows):
    statuses = Counter(row["online_status"] for row in rows)
    assert set(statuses) == {"not_done", "partial"}
    assert statuses["partial"] == 20
    for row in rows:
        if row["online_status"] == "partial":
            assert row["verdict"] == "infeasible"
            assert row["channel"] in {"city_eapp", "konbini"}
        else:
            assert row["channel"] is None


def test_portal_procedures_are_child_care_nursing_care_or_disaster(rows):
    portal = [row for row in rows if row["mynaportal_eligible"]]
    for row in portal:
        assert set(row["life_events"]) & MYNAPORTAL_LIFE_EVENTS, row["name"]
    assert sum(row["verdict"] == "infeasible" for row in portal) == 10
    assert len(portal) == 411


def test_the_national_priority_procedures_are_on_the_fy2022_list(rows):
    by_key = {(row["division"], row["name"]): row for row in rows}
    names = [(division, name) for division, group in PRIORITY_NAMES.items() for name in group]
    assert len(names) == 27
    for key in names:
        row = by_key[key]
        assert row["verdict"] == "feasible", key
        assert row["mynaportal_eligible"] is True, key


def test_volumes_are_skewed_and_some_are_unknown(rows):
    volumes = [row["annual_volume"] for row in rows]
    unknown = sum(volume is None for volume in volumes)
    assert 0.05 * 1942 <= unknown <= 0.11 * 1942
    assert sum(volume is not None and volume < 100 for volume in volumes) > 1942 / 2
    assert 10 <= sum(volume is not None and volume >= 10_000 for volume in volumes) <= 80
    assert all(volume is None or volume > 0 for volume in volumes)
    for row in rows:
        assert row["volume_fiscal_year"] == 2020
        if row["annual_volume"] is None:
            assert row["volume_is_estimate"] is False


def test_values_use_the_shared_vocabulary(rows):
    for row in rows:
        assert row["kind"] in KINDS
        assert row["applicant"] in {"residents", "businesses", "both"}
        assert set(row["life_events"]) <= set(LIFE_EVENTS)
        assert row["verdict"] in {"feasible", "infeasible", "undecided"}
        assert row["identity_check"] in {None, 1, 2, 3, 4, 5, 6}
        assert (row["fee_payment"] is not None) == (row["fee_required"] is True)
        assert row["code"] and row["name"] and row["department"] and row["division"]
    kinds = Counter(row["kind"] for row in rows)
    assert all(kinds[kind] > 0 for kind in KINDS)


def test_generating_the_city_is_fast():
    start = time.perf_counter()
    generate_demo_municipality(7)
    assert time.perf_counter() - start < 0.5
