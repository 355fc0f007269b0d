"""The open-data list: public fields only, exact CSV and JSON, nothing internal ever leaks."""

from __future__ import annotations

import json
from datetime import date

import pytest

from procedures.core import clock
from procedures.dashboard.opendata import opendata_json
from procedures.models import Lifecycle, OnlineStatus, PlanPin, Role, Verdict
from procedures.plan.schedule import recompute_plan
from tests.conftest import add_division, add_procedure, add_user, login

#: Strings that only internal fields hold; none may appear in any open-data file.
SECRETS = (
    "内部メモ：課長判断待ち",
    "判定理由：原本確認が必要",
    "来庁理由：本人確認のため",
    "手数料は窓口で現金",
    "戸籍謄本（原本）",
    "JP-SECRET-CODE-1",
    "固定理由：議会答弁のため",
    '"抽出外の列": "秘"',
    "seal_signature",
    "feasible",
)


@pytest.fixture
def office(client, db_session):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    return client


def city(session) -> None:
    """A small city: one procedure full of internal notes, a hostile name, a retired one."""
    citizens = add_division(session, "市民課", "市民自治部")
    children = add_division(session, "子育て給付課", "子ども青少年部")
    secret = add_procedure(
        session,
        citizens,
        "住民票の写しの交付申請",
        code="JP-SECRET-CODE-1",
        legal_basis="住民基本台帳法第12条",
        online_status=OnlineStatus.partial,
        channel="konbini",
        fee_required=True,
        fee_payment="手数料は窓口で現金",
        attachments="戸籍謄本（原本）",
        visit_required=True,
        visit_reason="来庁理由：本人確認のため",
        verdict=Verdict.feasible,
        verdict_reason="判定理由：原本確認が必要",
        blockers=",seal_signature,",
        notes="内部メモ：課長判断待ち",
        extra='{"抽出外の列": "秘"}',
        annual_volume=42000,
    )
    add_procedure(
        session,
        citizens,
        '=HYPERLINK("http://example.com","申請")',
        legal_basis="-1+1",
        online_status=OnlineStatus.not_done,
        channel="@窓口",
        fee_required=False,
    )
    add_procedure(
        session, children, "児童手当の認定請求", online_status=OnlineStatus.done, channel="pittari"
    )
    add_procedure(session, children, "保育施設等の利用申込")
    add_procedure(session, children, "廃止した手当の申請", lifecycle=Lifecycle.retired)
    session.add(
        PlanPin(procedure_id=secret.id, fiscal_year=2023, reason="固定理由：議会答弁のため")
    )
    session.commit()
    recompute_plan(session)
    session.commit()


EXPECTED_CSV_JA = (
    "\ufeff部,課,手続名,根拠法令,オンライン化の状況,申請チャネル,手数料の有無\r\n"
    "市民自治部,市民課,住民票の写しの交付申請,住民基本台帳法第12条,一部実施済,コンビニ交付,有\r\n"
    '市民自治部,市民課,"\'=HYPERLINK(""http://example.com"",""申請"")",\'-1+1,未実施,\'@窓口,無\r\n'
    "子ども青少年部,子育て給付課,児童手当の認定請求,,実施済,ぴったりサービス（マイナポータル）,\r\n"
    "子ども青少年部,子育て給付課,保育施設等の利用申込,,,,\r\n"
)
EXPECTED_CSV_EN = (
    "\ufeffDepartment,Division,Procedure,Legal basis,Online status,Channel,Fee\r\n"
    "市民自治部,市民課,住民票の写しの交付申請,住民基本台帳法第12条,Partly online,"
    "Convenience-store issuance,yes\r\n"
    '市民自治部,市民課,"\'=HYPERLINK(""http://example.com"",""申請"")",\'-1+1,Not online,'
    "'@窓口,no\r\n"
    "子ども青少年部,子育て給付課,児童手当の認定請求,,Online,My Number Portal (Pittari Service),\r\n"
    "子ども青少年部,子育て給付課,保育施設等の利用申込,,,,\r\n"
)
EXPECTED_ROWS = [
    {
        "department": "市民自治部",
        "division": "市民課",
        "name": "住民票の写しの交付申請",
        "legal_basis": "住民基本台帳法第12条",
        "online_status": "partial",
        "channel": "konbini",
        "fee_required": True,
    },
    {
        "department": "市民自治部",
        "division": "市民課",
        "name": '=HYPERLINK("http://example.com","申請")',
        "legal_basis": "-1+1",
        "online_status": "not_done",
        "channel": "@窓口",
        "fee_required": False,
    },
    {
        "department": "子ども青少年部",
        "division": "子育て給付課",
        "name": "児童手当の認定請求",
        "legal_basis": None,
        "online_status": "done",
        "channel": "pittari",
        "fee_required": None,
    },
    {
        "department": "子ども青少年部",
        "division": "子育て給付課",
        "name": "保育施設等の利用申込",
        "legal_basis": None,
        "online_status": None,
        "channel": None,
        "fee_required": None,
    },
]


def test_csv_has_japanese_headers_public_fields_only_and_neutralised_cells(office, db_session):
    city(db_session)
    response = office.get("/open-data.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="procedures-open-data.csv"'
    )
    assert response.data.decode("utf-8") == EXPECTED_CSV_JA


def test_csv_in_english_on_request(office, db_session):
    city(db_session)
    response = office.get("/open-data.csv?lang=en")
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="procedures-open-data-en.csv"'
    )
    assert response.data.decode("utf-8") == EXPECTED_CSV_EN


def test_json_has_documented_english_keys_and_plain_values(office, db_session):
    city(db_session)
    response = office.get("/open-data.json")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    document = json.loads(response.data)
    assert list(document) == ["municipality", "date", "fields", "procedures"]
    assert document["municipality"] == "藤沢市（デモ）"
    # The open-data date is the Japanese calendar day, whatever the server's zone.
    assert document["date"] == clock.today().isoformat()
    assert list(document["fields"]) == list(EXPECTED_ROWS[0])
    assert document["procedures"] == EXPECTED_ROWS


def test_json_file_exactly(app, db_session):
    city(db_session)
    content = opendata_json(db_session, city="藤沢市", today=date(2026, 4, 1))
    assert json.loads(content) == {
        "municipality": "藤沢市",
        "date": "2026-04-01",
        "fields": {
            "department": "Department (部) that runs the procedure",
            "division": "Division (課) that runs the procedure",
            "name": "Name of the procedure",
            "legal_basis": "Law or by-law the procedure rests on",
            "online_status": "done, partial, not_done, excluded, other (national codes 1, 5, 2, "
            "3, 4); null: unknown",
            "channel": "How it can be applied for online, when it can: pittari (My Number "
            "Portal, Pittari Service), city_eapp (the city's e-application service), konbini "
            "(convenience-store issuance), private (a private service), or the division's own "
            "words; null: unknown",
            "fee_required": "Whether a fee is charged; null: unknown",
        },
        "procedures": EXPECTED_ROWS,
    }


def test_no_internal_note_reason_or_judgement_leaks_into_any_format(office, db_session):
    city(db_session)
    files = [
        office.get("/open-data.csv").data.decode("utf-8"),
        office.get("/open-data.csv?lang=en").data.decode("utf-8"),
        office.get("/open-data.json").data.decode("utf-8"),
    ]
    for content in files:
        for secret in SECRETS:
            assert secret not in content
        assert "廃止した手当の申請" not in content


def test_an_empty_city_gives_the_header_only(office):
    assert office.get("/open-data.csv").data.decode("utf-8") == (
        "\ufeff部,課,手続名,根拠法令,オンライン化の状況,申請チャネル,手数料の有無\r\n"
    )
    assert json.loads(office.get("/open-data.json").data)["procedures"] == []


@pytest.mark.parametrize("role", [Role.viewer, Role.division])
def test_every_signed_in_role_downloads_the_same_open_data(client, db_session, role):
    city(db_session)
    add_user(db_session, "someone", role, division="市民課" if role == Role.division else None)
    login(client, "someone")
    assert client.get("/open-data.csv").data.decode("utf-8") == EXPECTED_CSV_JA


def test_the_dashboard_links_to_every_open_data_format(office):
    html = office.get("/dashboard").get_data(as_text=True)
    for url in ("/open-data.csv", "/open-data.csv?lang=en", "/open-data.json"):
        assert f'href="{url}"' in html
