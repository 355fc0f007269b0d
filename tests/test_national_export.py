"""The inventory in the national survey's 令和7年度 layout, and back again without loss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from sqlmodel import Session, select

from importers.national import load_layout
from procedures.models import Department, Division, Procedure
from tests.conftest import add_division, add_procedure

LAYOUT = load_layout()
#: Fields compared after the round trip.
COMPARED = (
    "code", "kind", "online_status", "blockers", "target_fiscal_year", "done_fiscal_year",
    "identity_check", "seal_required", "fee_required", "fee_payment", "attachments",
    "life_events", "verdict", "verdict_reason", "mynaportal_eligible", "visit_required",
    "notes", "steps", "annual_volume", "volume_fiscal_year", "raw_values",
)  # fmt: skip


def city_with_quirks(session: Session) -> dict[str, int]:
    """Three procedures whose values the national codes cannot hold as they are."""
    resident = add_division(session, "市民課", "市民自治部")
    records = add_division(session, "戸籍課", "市民自治部")
    partial = add_procedure(
        session, resident, "転入届", kind="notification", online_status="partial",
        blockers=",cost_benefit,fee_payment,law_change,", target_fiscal_year=2031,
        identity_check=2, seal_required=True, fee_required=True,
        fee_payment="窓口; クレジットカード", attachments="住民票の写し", verdict="feasible",
        verdict_reason="ぴったりサービスで受付可能", mynaportal_eligible=True,
        steps='{"registration":"offline","application":"online"}', annual_volume=4200,
    )  # fmt: skip
    coded = add_procedure(
        session, records, "戸籍証明書の交付", code="C-2", kind="certificate",
        online_status="done", identity_check=4, seal_required=False, fee_required=False,
        life_events="子育て; 被災", done_fiscal_year=2022, notes="=HYPERLINK(1)",
        visit_required=True, annual_volume=1200, volume_fiscal_year=2024,
    )  # fmt: skip
    planned = add_procedure(
        session, records, "戸籍の閲覧申請", kind="inspection", online_status="not_done",
        target_fiscal_year=2025, visit_required=True,
    )  # fmt: skip
    # Words nobody decided yet: the fields stay unknown and the words are kept.
    add_procedure(
        session, records, "犬の登録", code="D-1", fee_required=None,
        raw_values=json.dumps({"visit_required": "窓口で確認", "fee_required": "要相談"}),
    )  # fmt: skip
    return {"partial": partial.id, "coded": coded.id, "planned": planned.id}  # type: ignore[dict-item]


def export(runner, tmp_path: Path) -> tuple[Path, list[list]]:
    path = tmp_path / "national.xlsx"
    result = runner.invoke(args=["export-national", "--output", str(path)])
    assert result.exit_code == 0, result.output
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("手続一覧").to_python()
    return path, rows


def by_name(rows: list[list]) -> dict[str, dict[str, object]]:
    header = rows[0]
    return {row[2]: dict(zip(header, row, strict=True)) for row in rows[1:]}


def test_the_export_has_the_46_columns_in_order_and_only_listed_codes(runner, db_session, tmp_path):
    city_with_quirks(db_session)
    _path, rows = export(runner, tmp_path)
    assert rows[0] == LAYOUT.names
    assert len(rows[0]) == 46
    for row in rows[1:]:
        for column, cell in zip(LAYOUT.columns, row, strict=True):
            if column.codes and cell != "":
                parts = cell.split("; ") if column.multi_value else [cell]
                assert set(parts) <= set(column.codes), (column.name, cell)


def test_a_value_without_its_own_code_goes_to_the_matching_detail_column(
    runner, db_session, tmp_path
):
    ids = city_with_quirks(db_session)
    _path, rows = export(runner, tmp_path)
    cells = by_name(rows)
    partial = cells["転入届"]
    assert partial["手続ID"] == f"L{ids['partial']:06d}"
    assert partial["オンライン化の実施状況"] == "4 その他"
    # Three blockers: the first in the preference order of national_r7.json is written.
    assert partial["オンライン化の実施予定及び検討時の懸念点"] == (
        "1 制度改正が必要であり、制度改正のための時間確保が困難"
    )
    assert partial["オンライン化実施時期"] == "7 2030年度以降"
    assert partial["オンライン化の実施状況に関する補足"].splitlines()[:3] == [
        "【オンライン化の実施状況】5 一部実施済",
        "【オンライン化の実施予定及び検討時の懸念点】6; 手数料の決済; 1",
        "【オンライン化実施時期】2031年度",
    ]
    assert partial["手数料等の納付方法"] == "1-1 行政機関の窓口; 2-3 クレジットカード払い"
    assert partial["手数料等に関する補足"] == "【手数料等の納付方法】窓口; クレジットカード"
    coded = cells["戸籍証明書の交付"]
    assert coded["手続ID"] == "C-2"
    assert coded["手続類型"] == "1 申請等"
    assert coded["手続が行われるイベント(個人)"] == "出生・こども; その他イベント(個人)"
    assert cells["戸籍の閲覧申請"]["オンライン化の実施予定及び検討時の懸念点"] == (
        "0 オンライン化実施予定"
    )


def _procedures(session: Session) -> dict[str, dict[str, object]]:
    query = (
        select(Procedure, Division.name, Department.name)
        .join(Division, Division.id == Procedure.division_id)
        .join(Department, Department.id == Division.department_id)
    )
    found = {}
    for procedure, division, department in session.exec(query):
        values = {name: getattr(procedure, name) for name in COMPARED}
        values["raw_values"] = json.loads(procedure.raw_values or "null")
        values["division"], values["department"] = division, department
        found[procedure.name] = values
    return found


def test_importing_the_export_into_an_empty_database_gives_the_same_procedures(
    app, runner, db_session, empty_app, tmp_path
):
    ids = city_with_quirks(db_session)
    path, _rows = export(runner, tmp_path)
    before = _procedures(db_session)
    for name, key in (("転入届", "partial"), ("戸籍の閲覧申請", "planned")):
        before[name]["code"] = f"L{ids[key]:06d}"  # procedures of the city's own
    result = empty_app.test_cli_runner().invoke(args=["import-inventory", str(path), "--json"])
    assert result.exit_code == 0, result.output
    with Session(empty_app.extensions["engine"]) as session:
        after = _procedures(session)
    for name in before:
        assert after[name] == before[name], name
    summary = [
        json.loads(r.invoke(args=["summary", "--json"]).output)
        for r in (runner, empty_app.test_cli_runner())
    ]
    assert summary[0] == summary[1]


def city_with_odd_columns(session: Session) -> None:
    """Procedures whose imported columns hold what the national lists do not."""
    from procedures.catalogue.extras import extra_header_ids

    ids = extra_header_ids(session.connection(), ["事務区分", "手続の受け手"])
    division = add_division(session, "市民課")
    odd = {
        "転入届": {ids["事務区分"]: "自治事務？"},
        "転出届": {ids["事務区分"]: "自治事務？", ids["手続の受け手"]: "3 地方等; 5 国民等"},
        "住民票の写しの交付申請": {ids["事務区分"]: "1 自治事務"},
    }
    for name, extra in odd.items():
        add_procedure(
            session, division, name, extra=json.dumps({str(k): v for k, v in extra.items()})
        )


@pytest.mark.parametrize(
    ("language", "heading", "count", "reason"),
    [
        ("ja", "国の棚卸調査用の出力", "確認が必要な値：3件。", "国のコード一覧にない値です。"),
        ("en", "National survey export", "Values to check: 3.", "Not a code of the national list"),
    ],
)
def test_the_check_lists_each_value_that_is_not_a_code_grouped_with_a_link(
    client, db_session, language, heading, count, reason
):
    from procedures.models import Role
    from tests.conftest import add_user, login

    city_with_odd_columns(db_session)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    client.get(f"/lang/{language}")
    page = client.get("/national/export").get_data(as_text=True)
    assert f'<h1 class="page-title">{heading}</h1>' in page
    assert count in page
    assert reason in page
    assert '<h3>事務区分 <span class="muted">(2)</span></h3>' in page
    assert '<h3>手続の受け手 <span class="muted">(1)</span></h3>' in page
    moved = db_session.exec(select(Procedure).where(Procedure.name == "転出届")).one()
    assert f'href="/procedures/{moved.id}"' in page


def test_a_value_that_is_not_a_code_is_left_out_of_its_cell_and_kept_in_the_detail(
    runner, db_session, tmp_path
):
    city_with_odd_columns(db_session)
    _path, rows = export(runner, tmp_path)
    moved = by_name(rows)["転出届"]
    assert moved["事務区分"] == ""
    assert moved["手続の受け手"] == "3 地方等"
    assert moved["手続(類型、主体、受け手等)に関する補足"] == (
        "【部】市民自治部\n【事務区分】自治事務？\n【手続の受け手】3 地方等; 5 国民等"
    )
