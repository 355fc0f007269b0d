"""The procedure list, the edit form, roles per division, and edit conflicts."""

import re

from sqlmodel import select

from procedures.models import AuditEvent, Procedure, Role
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


def names_on(client, url: str) -> list[str]:
    page = client.get(url).get_data(as_text=True)
    return re.findall(r'<td><a href="/procedures/\d+">([^<]+)</a>', page)


def filter_city(db_session):
    shimin = add_division(db_session, "市民課", "市民自治部")
    kosodate = add_division(db_session, "子育て給付課", "子ども青少年部")
    add_procedure(
        db_session,
        shimin,
        "住民票の写しの交付申請",
        code="A-1",
        annual_volume=42000,
        online_status="partial",
        blockers=",seal_signature,",
    )
    add_procedure(
        db_session,
        shimin,
        "住民基本台帳の一部の写しの閲覧申請",
        code="A-2",
        annual_volume=120,
        visit_required=True,
        online_status="not_done",
    )
    add_procedure(
        db_session,
        kosodate,
        "児童手当の認定請求",
        code="B-1",
        annual_volume=None,
        life_events="妊娠・出産; 子育て",
        target_fiscal_year=2022,
        mynaportal_eligible=True,
    )
    add_procedure(
        db_session,
        kosodate,
        "児童手当の現況届",
        code="B-2",
        annual_volume=900,
        life_events="子育て",
        blockers=",paper_originals,seal_signature,",
    )
    add_user(db_session, "reader", Role.viewer)


def test_filters_combine_and_live_in_the_url(client, db_session):
    filter_city(db_session)
    login(client, "reader")
    assert names_on(client, "/procedures?q=閲覧") == ["住民基本台帳の一部の写しの閲覧申請"]
    assert names_on(client, "/procedures?blocker=seal_signature&life_event=子育て") == [
        "児童手当の現況届"
    ]
    assert names_on(client, "/procedures?volume=ge1000") == ["住民票の写しの交付申請"]
    assert names_on(client, "/procedures?volume=unknown") == ["児童手当の認定請求"]
    assert names_on(client, "/procedures?volume=100_999&visit=unknown") == ["児童手当の現況届"]
    assert names_on(client, "/procedures?online=partial") == ["住民票の写しの交付申請"]
    assert names_on(client, "/procedures?target=2022&mynaportal=yes") == ["児童手当の認定請求"]
    assert names_on(client, "/procedures?changed_since=2999-01-01") == []
    page = client.get("/procedures?blocker=seal_signature").get_data(as_text=True)
    assert '<strong class="num">2</strong>' in page
    assert "/exports/inventory.xlsx?blocker=seal_signature" in page


def test_search_treats_percent_and_underscore_as_text(client, db_session):
    filter_city(db_session)
    login(client, "reader")
    assert names_on(client, "/procedures?q=%25") == []
    assert names_on(client, "/procedures?q=_") == []


def test_sorting_by_volume_puts_unknown_last_both_ways(client, db_session):
    filter_city(db_session)
    login(client, "reader")
    assert names_on(client, "/procedures?sort=volume") == [
        "住民基本台帳の一部の写しの閲覧申請",
        "児童手当の現況届",
        "住民票の写しの交付申請",
        "児童手当の認定請求",
    ]
    assert names_on(client, "/procedures?sort=volume&dir=desc") == [
        "住民票の写しの交付申請",
        "児童手当の現況届",
        "住民基本台帳の一部の写しの閲覧申請",
        "児童手当の認定請求",
    ]
    page = client.get("/procedures?sort=volume").get_data(as_text=True)
    assert 'aria-sort="ascending"' in page
    assert "sort=volume&amp;dir=desc" in page


def test_nonsense_filter_values_are_ignored(client, db_session):
    filter_city(db_session)
    login(client, "reader")
    assert len(names_on(client, "/procedures?sort=password&volume=huge&changed_since=x")) == 4


def test_priority_list_match_filter(client, db_session):
    from procedures.models import MatchStatus, PriorityMatch, PriorityProcedure

    division = add_division(db_session, "子育て給付課")
    confirmed = add_procedure(db_session, division, "児童手当の認定請求")
    suggested = add_procedure(db_session, division, "児童手当の現況届")
    add_procedure(db_session, division, "犬の登録申請")
    items = db_session.exec(select(PriorityProcedure).order_by(PriorityProcedure.id)).all()
    db_session.add(
        PriorityMatch(
            procedure_id=confirmed.id,
            priority_procedure_id=items[0].id,
            score=85.0,
            status=MatchStatus.confirmed,
        )
    )
    db_session.add(
        PriorityMatch(
            procedure_id=suggested.id,
            priority_procedure_id=items[9].id,
            score=100.0,
            status=MatchStatus.suggested,
        )
    )
    db_session.commit()
    add_user(db_session, "reader", Role.viewer)
    login(client, "reader")
    assert names_on(client, "/procedures?priority=matched") == ["児童手当の認定請求"]
    assert names_on(client, "/procedures?priority=suggested") == ["児童手当の現況届"]
    assert names_on(client, "/procedures?priority=none") == ["児童手当の現況届", "犬の登録申請"]


def test_a_known_channel_code_is_shown_by_its_name_and_free_text_as_written(client, db_session):
    division = add_division(db_session, "市民課")
    known = add_procedure(db_session, division, "住民票の写しの交付", channel="konbini")
    free = add_procedure(db_session, division, "犬の登録", channel="窓口とLINE")
    add_user(db_session, "viewer", Role.viewer)
    login(client, "viewer")
    assert "<dd>コンビニ交付</dd>" in client.get(f"/procedures/{known.id}").get_data(as_text=True)
    assert "<dd>窓口とLINE</dd>" in client.get(f"/procedures/{free.id}").get_data(as_text=True)


def test_columns_the_import_could_not_map_are_shown_on_the_procedure_page(app, client, db_session):
    from procedures.imports.service import import_file

    content = "課名,手続名,経由機関,担当者メモ\r\n市民課,転入届,1 国,\r\n".encode()
    with app.app_context():
        outcome = import_file(db_session, content=content, file_name="inventory.csv")
        db_session.commit()
    assert outcome.created == 1
    procedure_id = db_session.exec(select(Procedure.id)).one()
    add_user(db_session, "reader", Role.viewer)
    login(client, "reader")
    page = client.get(f"/procedures/{procedure_id}").get_data(as_text=True)
    section = page[page.index("取り込んだ表のその他の列") :]
    section = section[: section.index("</section>")]
    # the blank cell of 担当者メモ is not listed
    assert re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", section) == [("経由機関", "1 国")]
    client.get("/lang/en")
    page = client.get(f"/procedures/{procedure_id}").get_data(as_text=True)
    assert "Other columns of the imported sheet" in page


def test_a_procedure_without_unmapped_columns_shows_no_such_section(client, db_session):
    own, _other = setup_city(db_session)
    add_user(db_session, "reader", Role.viewer)
    login(client, "reader")
    page = client.get(f"/procedures/{own.id}").get_data(as_text=True)
    assert "住民票の写しの交付申請" in page
    assert "取り込んだ表のその他の列" not in page
