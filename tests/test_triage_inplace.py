"""Judging a procedure in place: JSON answers for the page's script, conflicts refused."""

import re

import pytest
from sqlmodel import select

from procedures.models import AuditEvent, Role
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login
from tests.test_browser import browser_page, live_server, sign_in  # noqa: F401

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


def test_in_place_save_sends_the_history_with_the_new_entries(client, db_session):
    division = add_division(db_session, "市民課")
    procedure = add_procedure(db_session, division, "転入届")
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    token = csrf_token(client, f"/procedures/{procedure.id}")
    body = client.post(
        f"/procedures/{procedure.id}/triage",
        data=triage_data(token, 1, notes="窓口で本人確認"),
        headers=JSON,
    ).get_json()
    history = body["history"]
    assert history.lstrip().startswith("<section>") and "<h2>変更履歴</h2>" in history
    rows = re.findall(r"<tr>\s*<td[^>]*>.*?</tr>", history, re.S)
    assert len(rows) == 1
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", rows[0])
    assert cells[1:] == ["office", "編集", "備考", "—", "窓口で本人確認"]


def test_in_place_errors_come_with_a_summary_linking_to_the_field(client, db_session):
    division = add_division(db_session, "市民課")
    procedure = add_procedure(db_session, division, "転入届")
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    token = csrf_token(client, f"/procedures/{procedure.id}")
    body = client.post(
        f"/procedures/{procedure.id}/triage",
        data=triage_data(token, 1, verdict="infeasible"),
        headers=JSON,
    ).get_json()
    assert "入力内容に問題があります" in body["summary"]
    assert re.findall(r'<a href="#([^"]+)">', body["summary"]) == ["verdict_reason"]


def test_without_the_script_a_refused_judgement_comes_back_as_typed(client, db_session):
    division = add_division(db_session, "市民課")
    procedure = add_procedure(db_session, division, "転入届", channel="窓口")
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    token = csrf_token(client, f"/procedures/{procedure.id}")
    data = triage_data(
        token, 1, verdict="infeasible", channel="ぴったりサービス", blockers=["law_change"]
    )
    response = client.post(f"/procedures/{procedure.id}/triage", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    summary = page.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert re.findall(r'<a href="#([^"]+)">', summary) == ["verdict_reason"]
    assert '<p class="field-error" id="verdict_reason-error">' in page
    assert re.search(
        r'<option selected value="infeasible">|<option value="infeasible" selected', page
    )
    assert re.search(r'<input[^>]*id="channel"[^>]*value="ぴったりサービス"', page)
    assert re.search(r'<input checked[^>]*value="law_change"|value="law_change"[^>]*checked', page)
    db_session.refresh(procedure)
    assert (procedure.verdict, procedure.channel, procedure.version) == ("undecided", "窓口", 1)


@pytest.mark.browser
def test_the_history_gains_the_new_row_without_a_reload(live_server, browser_page, db_session):
    page = browser_page
    shimin = add_division(db_session, "市民課")
    procedure = add_procedure(db_session, shimin, "転入届", code="A-2")
    add_user(db_session, "office", Role.dx_office)
    sign_in(page, live_server, "office")
    page.goto(f"{live_server}/procedures/{procedure.id}")
    history = page.locator("#history tbody tr")
    assert history.all_inner_texts() == ["変更の記録はまだありません。"]
    page.evaluate("window.notReloaded = true")
    form = page.locator("form[data-inplace]")
    form.get_by_label("オンライン化の可否").select_option("infeasible")
    form.get_by_role("button", name="保存する").click()
    # Refused in place: the summary first, its link leading to the field.
    summary = form.locator(".error-summary")
    summary.wait_for()
    assert summary.locator("a").get_attribute("href") == "#verdict_reason"
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert (
        page.locator("#verdict_reason").get_attribute("aria-describedby") == "verdict_reason-error"
    )
    form.get_by_label("判断理由").fill("原本の提出が必要")
    form.get_by_role("button", name="保存する").click()
    form.locator(".inplace-status.alert-success").wait_for()
    assert form.locator(".error-summary").count() == 0
    assert page.locator("#verdict_reason").get_attribute("aria-describedby") is None
    assert page.evaluate("window.notReloaded") is True
    rows = history.all_inner_texts()
    assert len(rows) == 2
    assert all("office" in row and "編集" in row for row in rows)
    assert any("判断理由" in row and "原本の提出が必要" in row for row in rows)
