"""The list's step filters and the bulk step change: one step from complete, a step nobody has
confirmed, and "set step X to status Y" over the ticked or filtered procedures.

The fixture city has one procedure per named combination of steps.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

from importers.steps import STEP_KEYS, decode, encode
from procedures.catalogue import steps as catalogue_steps
from procedures.models import AuditEvent, Procedure, Role, User
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login
from tests.test_steps import post_steps

ONLINE = dict.fromkeys(STEP_KEYS, "online")
#: name: (stored steps, applications a year).
CITY = {
    "完全オンラインの届出": (ONLINE, 500),
    "手数料だけ窓口の申請": (ONLINE | {"payment": "offline"}, 1200),
    "添付書類だけ紙の申請": (ONLINE | {"attachments": "offline"}, 300),
    "申請書だけ紙の届出": (ONLINE | {"application": "offline"}, 50),
    "添付書類が未確認の申請": ({k: v for k, v in ONLINE.items() if k != "attachments"}, 80),
    "二段階が紙の申請": (ONLINE | {"payment": "offline", "decision": "offline"}, 70),
    "段階の記録がない申請": (None, None),
}


@pytest.fixture
def city(db_session) -> dict[str, Procedure]:
    division = add_division(db_session, "市民課", "市民部")
    return {
        name: add_procedure(
            db_session,
            division,
            name,
            steps=encode(steps) if steps is not None else None,
            annual_volume=volume,
        )
        for name, (steps, volume) in CITY.items()
    }


@pytest.fixture
def office(client, db_session):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    return client


def listed(client, query: str) -> set[str]:
    page = client.get(f"/procedures?{query}").get_data(as_text=True)
    return set(re.findall(r'<td><a href="/procedures/\d+">([^<]+)</a>', page))


def test_one_step_from_complete_lists_exactly_the_procedures_one_step_away(office, city):
    assert listed(office, "one_step=any") == {
        "手数料だけ窓口の申請",
        "添付書類だけ紙の申請",
        "申請書だけ紙の届出",
    }
    assert listed(office, "one_step=payment") == {"手数料だけ窓口の申請"}
    assert listed(office, "one_step=application") == {"申請書だけ紙の届出"}
    assert listed(office, "one_step=feedback") == set()


def test_a_step_nobody_confirmed_lists_the_procedures_without_it_stored_too(office, city):
    assert listed(office, "unconfirmed=attachments") == {
        "添付書類が未確認の申請",
        "段階の記録がない申請",
    }
    assert listed(office, "unconfirmed=attachments&one_step=any") == set()


def test_a_step_filter_that_makes_no_sense_is_ignored_like_the_others(office, city):
    assert listed(office, "one_step=stamp&unconfirmed=x") == set(CITY)


def test_the_step_filters_stand_in_the_form_and_in_the_links_in_both_languages(office, city):
    page = office.get("/procedures?one_step=payment").get_data(as_text=True)
    assert '<label for="one_step">完全オンラインまであと1段階</label>' in page
    assert '<option value="payment" selected>手数料の納付</option>' in page
    assert '<label for="unconfirmed">未確認の段階</label>' in page
    assert '<details class="more-filters" open>' in page
    assert "/exports/inventory.xlsx?one_step=payment" in page
    office.get("/lang/en")
    page = office.get("/procedures?unconfirmed=attachments").get_data(as_text=True)
    assert '<label for="one_step">One step from complete</label>' in page
    assert '<option value="any">Any step</option>' in page
    assert '<option value="payment">Payment</option>' in page
    assert '<option value="attachments" selected>Attachments</option>' in page


def post_bulk(client, url, data):
    return client.post(url, data={"csrf_token": csrf_token(client, "/procedures"), **data})


NOT_APPLICABLE = {"change": "step:attachments:not_applicable", "scope": "filter"}


def test_attachments_not_applicable_over_a_filter_result_is_confirmed_then_audited_each(
    office, city, db_session, runner
):
    url = "/procedures/bulk?unconfirmed=attachments"
    page = post_bulk(office, url, NOT_APPLICABLE).get_data(as_text=True)
    assert "段階「添付書類」を「該当なし」にする" in page
    assert "選択した2件のうち2件が変更されます" in page
    response = post_bulk(office, "/procedures/bulk/apply?unconfirmed=attachments", NOT_APPLICABLE)
    assert response.status_code == 302
    assert response.headers["Location"] == "/procedures?unconfirmed=attachments"
    assert "2件の手続を変更しました" in office.get(response.headers["Location"]).get_data(
        as_text=True
    )
    db_session.expire_all()
    unsure, bare = city["添付書類が未確認の申請"], city["段階の記録がない申請"]
    assert decode(db_session.get(Procedure, unsure.id).steps) == ONLINE | {
        "attachments": "not_applicable"
    }
    assert decode(db_session.get(Procedure, bare.id).steps) == {"attachments": "not_applicable"}
    events = db_session.exec(select(AuditEvent).order_by(AuditEvent.procedure_id)).all()
    assert [(e.procedure_id, e.action, e.field, e.old_value, e.new_value) for e in events] == [
        (unsure.id, "bulk", "step:attachments", None, "not_applicable"),
        (bare.id, "bulk", "step:attachments", None, "not_applicable"),
    ]
    office_id = db_session.exec(select(User.id).where(User.login == "office")).one()
    assert {e.user_id for e in events} == {office_id}
    assert [db_session.get(Procedure, p.id).version for p in (unsure, bare)] == [2, 2]
    # The procedure that only waited for its attachments is complete now; the one with no
    # steps stored still waits for its others.
    counts = json.loads(runner.invoke(args=["summary", "--json"]).output)
    assert (counts["complete_online"], counts["not_yet_confirmed"]) == (2, 1)


def test_a_bulk_step_set_back_to_not_confirmed_unsets_it_on_the_ticked_procedures(
    office, city, db_session
):
    ticked = [city["手数料だけ窓口の申請"].id, city["完全オンラインの届出"].id]
    data = {"change": "step:payment:unknown", "scope": "selected", "ids": ticked}
    page = post_bulk(office, "/procedures/bulk", data).get_data(as_text=True)
    assert "段階「手数料の納付」を「未確認」にする" in page
    assert post_bulk(office, "/procedures/bulk/apply", data).status_code == 302
    db_session.expire_all()
    assert ["payment" in decode(db_session.get(Procedure, i).steps) for i in ticked] == [
        False,
        False,
    ]
    events = db_session.exec(select(AuditEvent.old_value, AuditEvent.new_value)).all()
    assert sorted(events) == [("offline", None), ("online", None)]


def test_a_step_or_status_not_in_the_list_is_refused_with_the_changes_message(office, city):
    data = {"change": "step:stamp:online", "scope": "filter"}
    response = post_bulk(office, "/procedures/bulk", data)
    assert response.status_code == 400
    assert "変更内容を一覧から選んでください。" in response.get_data(as_text=True)
    data = {"change": "step:payment:maybe", "scope": "filter"}
    assert post_bulk(office, "/procedures/bulk", data).status_code == 400


def test_a_bulk_step_refuses_when_a_procedure_was_saved_meanwhile(
    app, city, db_session, monkeypatch
):
    add_user(db_session, "office", Role.dx_office)
    add_user(db_session, "editor", Role.dx_office)
    office, editor = app.test_client(), app.test_client()
    login(office, "office")
    login(editor, "editor")
    unsure = city["添付書類が未確認の申請"]
    read = catalogue_steps.plan_step_changes

    def read_then_someone_saves(*args, **kwargs):
        # The bulk change has read the steps; a clerk sets this one's attachments meanwhile.
        changes = read(*args, **kwargs)
        with ThreadPoolExecutor(max_workers=1) as pool:
            answer = pool.submit(
                post_steps, editor, unsure.id, 1, **(ONLINE | {"attachments": "offline"})
            )
            assert answer.result().status_code == 200
        return changes

    monkeypatch.setattr(catalogue_steps, "plan_step_changes", read_then_someone_saves)
    response = post_bulk(office, "/procedures/bulk/apply?unconfirmed=attachments", NOT_APPLICABLE)
    assert response.status_code == 409
    assert "その間に、この中の手続を他の人が保存しました。何も変更されていません。" in (
        response.get_data(as_text=True)
    )
    db_session.expire_all()
    # The clerk's step stands, the other procedure is untouched, and only the clerk's edit
    # is audited.
    assert decode(db_session.get(Procedure, unsure.id).steps)["attachments"] == "offline"
    assert db_session.get(Procedure, city["段階の記録がない申請"].id).steps is None
    events = db_session.exec(select(AuditEvent.action, AuditEvent.field)).all()
    assert events == [("edit", "step:attachments")]
