"""Bulk triage: confirm how many change, apply, audit each one, respect divisions."""

import re

from sqlmodel import select

from procedures.models import AuditEvent, Procedure, Role
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login


def city(db_session):
    shimin = add_division(db_session, "市民課", "市民自治部")
    kodomo = add_division(db_session, "子育て給付課", "子ども青少年部")
    a = add_procedure(db_session, shimin, "住民票の写しの交付申請", code="A-1", annual_volume=42000)
    b = add_procedure(
        db_session, shimin, "転入届", code="A-2", annual_volume=3100, blockers=",seal_signature,"
    )
    c = add_procedure(db_session, kodomo, "児童手当の認定請求", code="B-1", annual_volume=900)
    return shimin, kodomo, a, b, c


def post_bulk(client, url, data):
    token = csrf_token(client, "/procedures")
    return client.post(url, data={"csrf_token": token, **data})


def test_confirmation_says_how_many_change_then_apply_audits_each(client, db_session):
    _shimin, _kodomo, a, b, c = city(db_session)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    data = {"change": "blocker:seal_signature", "scope": "selected", "ids": [a.id, b.id, c.id]}
    page = post_bulk(client, "/procedures/bulk", data).get_data(as_text=True)
    assert "選択した3件のうち2件が変更されます" in page
    assert "阻害要因「押印・署名」を追加する" in page
    assert db_session.exec(select(Procedure.blockers).order_by(Procedure.id)).all() == [
        "",
        ",seal_signature,",
        "",
    ]
    response = post_bulk(client, "/procedures/bulk/apply", data)
    assert response.status_code == 302
    assert "2件の手続を変更しました" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    rows = db_session.exec(select(Procedure.blockers, Procedure.version).order_by(Procedure.id))
    assert rows.all() == [(",seal_signature,", 2), (",seal_signature,", 1), (",seal_signature,", 2)]
    events = db_session.exec(select(AuditEvent).order_by(AuditEvent.procedure_id)).all()
    assert [(e.procedure_id, e.action, e.field, e.old_value, e.new_value) for e in events] == [
        (a.id, "bulk", "blockers", None, "seal_signature"),
        (c.id, "bulk", "blockers", None, "seal_signature"),
    ]


def test_whole_filter_result_gets_not_feasible_with_reason(client, db_session):
    city(db_session)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    data = {"change": "verdict:infeasible", "reason": "原本の提出が必要", "scope": "filter"}
    response = post_bulk(client, "/procedures/bulk/apply?volume=ge1000", data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/procedures?volume=ge1000"
    rows = db_session.exec(
        select(Procedure.name, Procedure.verdict, Procedure.verdict_reason).order_by(Procedure.id)
    ).all()
    assert rows == [
        ("住民票の写しの交付申請", "infeasible", "原本の提出が必要"),
        ("転入届", "infeasible", "原本の提出が必要"),
        ("児童手当の認定請求", "undecided", None),
    ]
    fields = db_session.exec(select(AuditEvent.field).order_by(AuditEvent.id)).all()
    assert sorted(fields) == ["verdict", "verdict", "verdict_reason", "verdict_reason"]


def summary_links(page: str) -> list[tuple[str, str]]:
    """(href, text) of each link of the page's error summary."""
    summary = page.split('class="alert alert-error error-summary"', 1)[1].split("</div>", 1)[0]
    return re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary)


def ticked(page: str) -> list[int]:
    """The procedure ids whose checkbox is ticked."""
    return [
        int(ident)
        for ident in re.findall(r'name="ids" value="(\d+)" form="bulk-form" checked', page)
    ]


def test_not_feasible_without_reason_comes_back_with_the_ticks_and_the_change(client, db_session):
    _shimin, _kodomo, a, b, c = city(db_session)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    data = {"change": "verdict:infeasible", "scope": "selected", "ids": [a.id, b.id]}
    response = post_bulk(client, "/procedures/bulk?volume=ge1000&sort=name", data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "入力内容に問題があります" in page
    message = "オンライン化できない理由を入力してください。"
    assert summary_links(page) == [("bulk-reason", f"理由：{message}")]
    # The message stands next to its field, which names it.
    assert f'<p class="field-error" id="bulk-reason-error">{message}</p>' in page
    assert re.search(
        r'id="bulk-reason"[^>]*aria-invalid="true" aria-describedby="bulk-reason-error"', page
    )
    # Sorted by name, as the clerk's list was: 住民票… before 転入届.
    assert ticked(page) == [a.id, b.id]
    assert '<option value="verdict:infeasible" selected>' in page
    # The list is the one the clerk was on (児童手当 is outside it), and the next try keeps it.
    assert 'action="/procedures/bulk?volume=ge1000&amp;sort=name"' in page
    assert c.name not in page
    assert set(db_session.exec(select(Procedure.verdict)).all()) == {"undecided"}


def test_no_change_and_no_tick_are_both_said_and_the_reason_is_kept(client, db_session):
    city(db_session)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    data = {"change": "", "reason": "窓口での本人確認が必要", "scope": "selected"}
    response = post_bulk(client, "/procedures/bulk", data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert summary_links(page) == [
        ("bulk-change", "一括変更：変更内容を一覧から選んでください。"),
        ("bulk-scope-selected", "適用する範囲：先に手続を選択するか、一覧全体に適用してください。"),
    ]
    assert 'id="bulk-reason" name="reason" maxlength="500" value="窓口での本人確認が必要"' in page
    assert re.search(r'<fieldset class="form-field" aria-describedby="bulk-ids-error">', page)
    assert 'id="bulk-scope-selected" name="scope" value="selected" checked' in page


def test_the_whole_list_scope_is_kept_after_a_refusal(client, db_session):
    city(db_session)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    data = {"change": "verdict:infeasible", "scope": "filter"}
    page = post_bulk(client, "/procedures/bulk/apply", data).get_data(as_text=True)
    assert 'id="bulk-scope-filter" name="scope" value="filter" checked' in page
    assert set(db_session.exec(select(Procedure.verdict)).all()) == {"undecided"}


def test_a_refused_change_on_page_two_comes_back_on_page_two(app, client, db_session):
    app.config["PAGE_SIZE"] = 2
    _shimin, _kodomo, _a, _b, c = city(db_session)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    second = client.get("/procedures?page=2").get_data(as_text=True)
    assert 'action="/procedures/bulk?page=2"' in second
    data = {"change": "verdict:infeasible", "scope": "selected", "ids": [c.id]}
    page = post_bulk(client, "/procedures/bulk?page=2", data).get_data(as_text=True)
    assert ticked(page) == [c.id]
    assert "児童手当の認定請求" in page


def test_division_user_cannot_bulk_change_another_divisions_procedure(client, db_session):
    _shimin, _kodomo, a, _b, c = city(db_session)
    add_user(db_session, "shimin", Role.division, division="市民課")
    login(client, "shimin")
    data = {"change": "target:2024", "scope": "selected", "ids": [a.id, c.id]}
    assert post_bulk(client, "/procedures/bulk/apply", data).status_code == 403
    assert db_session.exec(select(Procedure.target_fiscal_year)).all() == [None, None, None]


def test_division_user_filter_scope_changes_only_its_own_division(client, db_session):
    city(db_session)
    add_user(db_session, "shimin", Role.division, division="市民課")
    login(client, "shimin")
    response = post_bulk(
        client, "/procedures/bulk/apply", {"change": "target:2024", "scope": "filter"}
    )
    assert response.status_code == 302
    rows = db_session.exec(select(Procedure.target_fiscal_year).order_by(Procedure.id)).all()
    assert rows == [2024, 2024, None]


def test_division_user_cannot_move_procedures_to_another_division(client, db_session):
    _shimin, kodomo, a, _b, _c = city(db_session)
    add_user(db_session, "shimin", Role.division, division="市民課")
    login(client, "shimin")
    data = {"change": f"division:{kodomo}", "scope": "selected", "ids": [a.id]}
    assert post_bulk(client, "/procedures/bulk/apply", data).status_code == 403


def test_viewer_cannot_bulk_change(client, db_session):
    _shimin, _kodomo, a, _b, _c = city(db_session)
    add_user(db_session, "reader", Role.viewer)
    login(client, "reader")
    data = {"change": "target:2024", "scope": "selected", "ids": [a.id]}
    assert post_bulk(client, "/procedures/bulk", data).status_code == 403
    assert post_bulk(client, "/procedures/bulk/apply", data).status_code == 403


def test_dx_office_assigns_procedures_to_a_division(client, db_session):
    _shimin, kodomo, a, _b, _c = city(db_session)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    data = {"change": f"division:{kodomo}", "scope": "selected", "ids": [a.id]}
    post_bulk(client, "/procedures/bulk/apply", data)
    db_session.refresh(a)
    assert a.division_id == kodomo
    event = db_session.exec(select(AuditEvent)).one()
    assert (event.field, event.old_value, event.new_value) == ("division", "市民課", "子育て給付課")
