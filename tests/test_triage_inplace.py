"""Judging a procedure in place: JSON answers for the page's script, conflicts refused."""

from sqlmodel import select

from procedures.models import AuditEvent, Role
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login

JSON = {"Accept": "application/json"}


def triage_data(token, version, **changes):
    data = {
        "csrf_token": token,
        "version": str(version),
        "verdict": "undecided",
        "visit_required": "",
    }
    data.update(changes)
    return data


def test_in_place_save_answers_json_with_the_new_section(client, db_session):
    division = add_division(db_session, "市民課")
    procedure = add_procedure(db_session, division, "住民票の写しの交付申請")
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    token = csrf_token(client, f"/procedures/{procedure.id}")
    response = client.post(
        f"/procedures/{procedure.id}/triage",
        data=triage_data(
            token,
            1,
            verdict="infeasible",
            verdict_reason="原本が必要",
            blockers=["paper_originals"],
        ),
        headers=JSON,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["ok"], body["version"], body["message"]) == (
        True,
        2,
        "保存しました（3項目を変更）。",
    )
    assert 'id="judgement"' in body["html"]
    assert "原本が必要" in body["html"]
    assert "原本が紙" in body["html"]
    fields = db_session.exec(select(AuditEvent.field).order_by(AuditEvent.field)).all()
    assert fields == ["blockers", "verdict", "verdict_reason"]


def test_in_place_errors_name_the_field(client, db_session):
    division = add_division(db_session, "市民課")
    procedure = add_procedure(db_session, division, "転入届")
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    token = csrf_token(client, f"/procedures/{procedure.id}")
    response = client.post(
        f"/procedures/{procedure.id}/triage",
        data=triage_data(token, 1, verdict="infeasible"),
        headers=JSON,
    )
    assert response.status_code == 400
    assert response.get_json()["errors"] == {
        "verdict_reason": ["オンライン化できない理由を入力してください。"]
    }


def test_in_place_save_on_a_stale_version_is_refused_with_their_change(client, db_session):
    division = add_division(db_session, "市民課")
    procedure = add_procedure(db_session, division, "転入届")
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    token = csrf_token(client, f"/procedures/{procedure.id}")
    first = triage_data(token, 1, channel="ぴったりサービス")
    assert (
        client.post(f"/procedures/{procedure.id}/triage", data=first, headers=JSON).status_code
        == 200
    )
    stale = triage_data(token, 1, channel="汎用電子申請")
    response = client.post(f"/procedures/{procedure.id}/triage", data=stale, headers=JSON)
    assert response.status_code == 409
    body = response.get_json()
    assert body["theirs"] == ["申請チャネル: — → ぴったりサービス"]
    db_session.refresh(procedure)
    assert procedure.channel == "ぴったりサービス"


def test_division_user_cannot_triage_another_divisions_procedure(client, db_session):
    add_division(db_session, "市民課")
    other = add_division(db_session, "子育て給付課")
    procedure = add_procedure(db_session, other, "児童手当の認定請求")
    add_user(db_session, "shimin", Role.division, division="市民課")
    login(client, "shimin")
    token = csrf_token(client, f"/procedures/{procedure.id}")
    response = client.post(
        f"/procedures/{procedure.id}/triage",
        data=triage_data(token, 1, verdict="feasible"),
        headers=JSON,
    )
    assert response.status_code == 403
    db_session.refresh(procedure)
    assert (procedure.verdict, procedure.version) == ("undecided", 1)
    assert "data-inplace" not in client.get(f"/procedures/{procedure.id}").get_data(as_text=True)
