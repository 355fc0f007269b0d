"""The edit page: every field a person may change, by role, each change audited."""

import re

from sqlmodel import select

from procedures.catalogue.procedures import name_key
from procedures.models import AuditEvent, Procedure, Role
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login


def city(db_session):
    shimin = add_division(db_session, "市民課", "市民自治部")
    kodomo = add_division(db_session, "子育て給付課", "子ども青少年部")
    procedure = add_procedure(
        db_session,
        shimin,
        "住民票の写しの交付申請",
        code="A-1",
        annual_volume=42000,
        life_events="引越し; 住民記録",  # 住民記録 is not in the vocabulary
        fee_required=True,
        fee_payment="窓口で現金",
    )
    return shimin, kodomo, procedure


def attribute(tag: str, name: str) -> str | None:
    found = re.search(rf'\b{name}="([^"]*)"', tag)
    return found.group(1) if found else None


def page_form(client, url: str) -> dict:
    """The edit page's fields as a browser would send them untouched."""
    page = client.get(url).get_data(as_text=True)
    data: dict = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name, kind = attribute(tag, "name"), attribute(tag, "type")
        if name is None or name == "csrf_token" and name in data:
            continue
        if kind in ("checkbox", "radio"):
            if re.search(r"\bchecked\b", tag):
                data.setdefault(name, []).append(attribute(tag, "value"))
        else:
            data[name] = attribute(tag, "value") or ""
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = [
            attribute(tag, "value")
            for tag in re.findall(r"<option[^>]*>", options)
            if re.search(r"\bselected\b", tag)
        ]
        data[name] = chosen[0] if chosen else ""
    for name, text in re.findall(
        r'<textarea[^>]*name="([^"]+)"[^>]*>\s*(.*?)</textarea>', page, re.S
    ):
        data[name] = text
    data.pop("logout", None)
    return data


def has_tag(page: str, *attributes: str) -> bool:
    """Whether an element of the page carries every one of the attributes (any order)."""
    return any(all(a in tag for a in attributes) for tag in re.findall(r"<[a-z]+[^>]*>", page))


def audit(db_session, procedure_id: int) -> list[tuple]:
    events = db_session.exec(
        select(AuditEvent).where(AuditEvent.procedure_id == procedure_id).order_by(AuditEvent.field)
    ).all()
    return [(e.action, e.field, e.old_value, e.new_value) for e in events]


def test_the_dx_office_edits_every_field_and_each_change_is_audited(client, db_session):
    _shimin, kodomo, procedure = city(db_session)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    url = f"/procedures/{procedure.id}/edit"
    data = page_form(client, url)
    # Untouched, the page saves nothing.
    assert client.post(url, data=data).status_code == 302
    assert audit(db_session, procedure.id) == []
    data.update(
        division_id=str(kodomo),
        kind="certificate",
        applicant="residents",
        life_events=["引越し", "住民記録", "子育て"],
        volume_is_estimate="y",
        volume_fiscal_year="2023",
        fee_required="no",
        fee_payment="",
        attachments="本人確認書類",
        originals_required="yes",
        seal_required="no",
        identity_check="4",
        code="A-01",
    )
    assert client.post(url, data=data).status_code == 302
    db_session.refresh(procedure)
    assert procedure.division_id == kodomo
    assert (procedure.kind, procedure.applicant, procedure.life_events) == (
        "certificate",
        "residents",
        "引越し; 住民記録; 子育て",
    )
    assert (procedure.volume_is_estimate, procedure.volume_fiscal_year) == (True, 2023)
    assert (procedure.fee_required, procedure.fee_payment) == (False, None)
    assert (procedure.originals_required, procedure.seal_required) == (True, False)
    assert (procedure.identity_check, procedure.code, procedure.version) == (4, "A-01", 2)
    assert audit(db_session, procedure.id) == [
        ("edit", "applicant", None, "residents"),
        ("edit", "attachments", None, "本人確認書類"),
        ("edit", "code", "A-1", "A-01"),
        ("edit", "division", "市民課", "子育て給付課"),
        ("edit", "fee_payment", "窓口で現金", None),
        ("edit", "fee_required", "true", "false"),
        ("edit", "identity_check", None, "4"),
        ("edit", "kind", None, "certificate"),
        ("edit", "life_events", "引越し; 住民記録", "引越し; 住民記録; 子育て"),
        ("edit", "originals_required", None, "true"),
        ("edit", "seal_required", None, "false"),
        ("edit", "volume_fiscal_year", None, "2023"),
        ("edit", "volume_is_estimate", "false", "true"),
    ]


def test_a_life_event_outside_the_vocabulary_is_offered_ticked_and_kept(client, db_session):
    _shimin, _kodomo, procedure = city(db_session)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    page = client.get(f"/procedures/{procedure.id}/edit").get_data(as_text=True)
    boxes = re.findall(r'<input[^>]*name="life_events"[^>]*>', page)
    ticked = [attribute(tag, "value") for tag in boxes if re.search(r"\bchecked\b", tag)]
    assert ticked == ["引越し", "住民記録"]
    # After the vocabulary's events, in their order.
    assert attribute(boxes[-1], "value") == "住民記録"


def test_a_division_user_may_not_move_its_procedure_out_of_its_division(client, db_session):
    _shimin, kodomo, procedure = city(db_session)
    add_user(db_session, "shimin", Role.division, division="市民課")
    login(client, "shimin")
    url = f"/procedures/{procedure.id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert 'name="division_id"' not in page
    assert "他の課へ移せるのはDX推進担当だけです。" in page
    data = {**page_form(client, url), "division_id": str(kodomo), "kind": "application"}
    assert client.post(url, data=data).status_code == 302
    db_session.refresh(procedure)
    assert (procedure.division_id, procedure.kind) == (_shimin, "application")


def test_the_heading_names_the_procedure_in_both_languages(client, db_session):
    _shimin, _kodomo, procedure = city(db_session)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    url = f"/procedures/{procedure.id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert '<h1 class="page-title">手続の編集：住民票の写しの交付申請</h1>' in page
    client.get("/lang/en")
    page = client.get(url).get_data(as_text=True)
    assert '<h1 class="page-title">Edit procedure: 住民票の写しの交付申請</h1>' in page


def test_a_renamed_procedure_is_found_by_its_new_name(client, db_session):
    _shimin, _kodomo, procedure = city(db_session)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    url = f"/procedures/{procedure.id}/edit"
    data = {**page_form(client, url), "name": "住民票の写し等の交付申請"}
    assert client.post(url, data=data).status_code == 302
    db_session.refresh(procedure)
    assert procedure.name_key == name_key("住民票の写し等の交付申請")


def test_a_field_the_page_did_not_send_keeps_its_value(client, db_session):
    # A page opened before a field was added to the form posts without it.
    _shimin, _kodomo, procedure = city(db_session)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    url = f"/procedures/{procedure.id}/edit"
    data = {
        "csrf_token": csrf_token(client, url),
        "version": "1",
        "name": procedure.name,
        "verdict": "undecided",
        "notes": "窓口で確認",
    }
    assert client.post(url, data=data).status_code == 302
    db_session.refresh(procedure)
    assert (procedure.code, procedure.fee_required, procedure.fee_payment) == (
        "A-1",
        True,
        "窓口で現金",
    )
    assert procedure.notes == "窓口で確認"


def test_a_refused_edit_keeps_what_was_typed_and_links_the_summary_to_the_field(client, db_session):
    _shimin, _kodomo, procedure = city(db_session)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    url = f"/procedures/{procedure.id}/edit"
    data = {**page_form(client, url), "name": "", "fee_payment": "コンビニ払い"}
    response = client.post(url, data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    summary = page.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert re.findall(r'<a href="#([^"]+)">', summary) == ["name"]
    assert has_tag(page, 'id="name"', 'aria-describedby="name-error"', 'aria-invalid="true"')
    assert '<p class="field-error" id="name-error">' in page
    assert has_tag(page, 'id="fee_payment"', 'value="コンビニ払い"')
    db_session.refresh(procedure)
    assert procedure.fee_payment == "窓口で現金"
    assert db_session.exec(select(Procedure.version)).one() == 1
