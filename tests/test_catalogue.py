"""The procedure list, the edit form, roles per division, and edit conflicts."""

from sqlmodel import select

from procedures.models import AuditEvent, Role
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login


def edit_form(procedure, **changes):
    data = {
        "version": str(procedure.version),
        "name": procedure.name,
        "verdict": procedure.verdict,
        "visit_required": "",
        "online_status": "",
    }
    data.update(changes)
    return data


def setup_city(db_session):
    shimin = add_division(db_session, "市民課", "市民自治部")
    kodomo = add_division(db_session, "子育て給付課", "子ども青少年部")
    own = add_procedure(
        db_session, shimin, "住民票の写しの交付申請", code="A-1", annual_volume=42000
    )
    other = add_procedure(db_session, kodomo, "児童手当の認定請求", code="B-1", annual_volume=None)
    return own, other


def test_list_filters_by_division_and_counts(client, db_session):
    own, other = setup_city(db_session)
    add_user(db_session, "reader", Role.viewer)
    login(client, "reader")
    page = client.get(f"/procedures?division={other.division_id}").get_data(as_text=True)
    assert "児童手当の認定請求" in page
    assert "住民票の写しの交付申請" not in page
    assert '<strong class="num">1</strong>' in page


def test_list_search_finds_part_of_a_japanese_name(client, db_session):
    setup_city(db_session)
    add_user(db_session, "reader", Role.viewer)
    login(client, "reader")
    page = client.get("/procedures?q=児童手当").get_data(as_text=True)
    assert "児童手当の認定請求" in page
    assert "住民票の写し" not in page


def test_unknown_volume_is_shown_as_unknown_not_zero(client, db_session):
    _own, other = setup_city(db_session)
    add_user(db_session, "reader", Role.viewer)
    login(client, "reader")
    page = client.get(f"/procedures/{other.id}").get_data(as_text=True)
    assert '<dd class="num">—' in page


def test_dx_office_sets_not_feasible_with_reason_and_blocker(client, db_session):
    own, _other = setup_city(db_session)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    token = csrf_token(client, f"/procedures/{own.id}/edit")
    response = client.post(
        f"/procedures/{own.id}/edit",
        data=edit_form(
            own,
            csrf_token=token,
            verdict="infeasible",
            verdict_reason="原本の提出が必要",
            blockers=["paper_originals"],
        ),
    )
    assert response.status_code == 302
    db_session.refresh(own)
    assert (own.verdict, own.verdict_reason, own.blockers, own.version) == (
        "infeasible",
        "原本の提出が必要",
        ",paper_originals,",
        2,
    )
    events = db_session.exec(
        select(AuditEvent).where(AuditEvent.procedure_id == own.id).order_by(AuditEvent.field)
    ).all()
    assert [(e.field, e.old_value, e.new_value, e.action) for e in events] == [
        ("blockers", None, "paper_originals", "edit"),
        ("verdict", "undecided", "infeasible", "edit"),
        ("verdict_reason", None, "原本の提出が必要", "edit"),
    ]
    detail = client.get(f"/procedures/{own.id}").get_data(as_text=True)
    assert "原本の提出が必要" in detail
    assert "office" in detail


def test_not_feasible_without_a_reason_is_refused(client, db_session):
    own, _other = setup_city(db_session)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    token = csrf_token(client, f"/procedures/{own.id}/edit")
    response = client.post(
        f"/procedures/{own.id}/edit", data=edit_form(own, csrf_token=token, verdict="infeasible")
    )
    assert response.status_code == 400
    assert "オンライン化できない理由を入力してください" in response.get_data(as_text=True)
    db_session.refresh(own)
    assert own.verdict == "undecided"


def test_division_user_cannot_edit_another_divisions_procedure(client, db_session):
    own, other = setup_city(db_session)
    add_user(db_session, "shimin", Role.division, division="市民課")
    login(client, "shimin")
    assert client.get(f"/procedures/{other.id}/edit").status_code == 403
    token = csrf_token(client, f"/procedures/{own.id}/edit")
    response = client.post(
        f"/procedures/{other.id}/edit",
        data=edit_form(other, csrf_token=token, verdict="feasible", name="書き換え"),
    )
    assert response.status_code == 403
    db_session.refresh(other)
    assert (other.name, other.verdict, other.version) == ("児童手当の認定請求", "undecided", 1)
    assert "他の課の手続のため閲覧のみです" in client.get(f"/procedures/{other.id}").get_data(
        as_text=True
    )


def test_division_user_edits_its_own_procedure(client, db_session):
    own, _other = setup_city(db_session)
    add_user(db_session, "shimin", Role.division, division="市民課")
    login(client, "shimin")
    token = csrf_token(client, f"/procedures/{own.id}/edit")
    response = client.post(
        f"/procedures/{own.id}/edit", data=edit_form(own, csrf_token=token, annual_volume="43000")
    )
    assert response.status_code == 302
    db_session.refresh(own)
    assert own.annual_volume == 43000


def test_viewer_cannot_edit(client, db_session):
    own, _other = setup_city(db_session)
    add_user(db_session, "reader", Role.viewer)
    login(client, "reader")
    assert client.get(f"/procedures/{own.id}/edit").status_code == 403


def test_second_save_on_a_stale_version_is_refused_and_shows_the_other_change(app, db_session):
    own, _other = setup_city(db_session)
    add_user(db_session, "alice", Role.dx_office)
    add_user(db_session, "bob", Role.dx_office)
    alice, bob = app.test_client(), app.test_client()
    login(alice, "alice")
    login(bob, "bob")
    alice_token = csrf_token(alice, f"/procedures/{own.id}/edit")
    bob_token = csrf_token(bob, f"/procedures/{own.id}/edit")
    first = alice.post(
        f"/procedures/{own.id}/edit",
        data=edit_form(own, csrf_token=alice_token, channel="ぴったりサービス"),
    )
    assert first.status_code == 302
    second = bob.post(
        f"/procedures/{own.id}/edit",
        data=edit_form(own, csrf_token=bob_token, channel="汎用電子申請"),
    )
    assert second.status_code == 409
    page = second.get_data(as_text=True)
    assert "他の人がこの手続を保存しました" in page
    assert "ぴったりサービス" in page
    db_session.refresh(own)
    assert (own.channel, own.version) == ("ぴったりサービス", 2)
