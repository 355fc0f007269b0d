"""Steps of a procedure: imported, counted in `summary --json`, shown, edited and audited.

The fixture inventory has one procedure per case of docs/DOMAIN.md's "Complete online":
complete, one step from complete (payment, application, attachments), not yet confirmed, two
steps offline, and no application at all.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import select

from importers.steps import decode, encode
from procedures.catalogue.steps import one_step_from_complete, set_steps
from procedures.dashboard.steps import take_up_by_department, take_up_by_year
from procedures.models import AuditEvent, Procedure, Role
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login

HEADER = (
    "service_name_en,department_name_en,department,fiscal_yr,e_registration,e_authentication,"
    "e_application,e_decision,e_issuance,e_feedback,service_fee,納付方法,添付書類,原本の要否,"
    "online_applications,telephone_applications"
)
ROWS = {
    # name: (division, reg, auth, app, decision, issuance, feedback, fee, method, attachments,
    #        originals, online, telephone)
    "Complete": ("Tax", "Y", "Y", "Y", "Y", "Y", "Y", "N", "", "なし", "", "80", "20"),
    "Payment left": (
        "Tax",
        "Y",
        "Y",
        "Y",
        "Y",
        "Y",
        "Y",
        "Y",
        "窓口で現金",
        "なし",
        "",
        "100",
        "200",
    ),
    "Application left": ("Tax", "Y", "Y", "N", "Y", "Y", "Y", "N", "", "なし", "", "ND", "50"),
    "Attachments left": (
        "Health",
        "Y",
        "Y",
        "Y",
        "Y",
        "Y",
        "Y",
        "N",
        "",
        "診断書",
        "要",
        "400",
        "600",
    ),
    "Payment unknown": ("Health", "Y", "Y", "Y", "Y", "Y", "Y", "Y", "", "なし", "", "6", "4"),
    "Two offline": ("Health", "Y", "Y", "Y", "N", "N", "Y", "N", "", "なし", "", "ND", "ND"),
    "No application": ("Health", "NA", "NA", "NA", "NA", "NA", "NA", "N", "", "なし", "", "0", "0"),
}


def inventory_csv(tmp_path, rows=ROWS, name="services.csv"):
    lines = [HEADER] + [
        ",".join([service, division, f"{division} Department", "2023-2024", *cells])
        for service, (division, *cells) in rows.items()
    ]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_file(runner, path, *extra: str) -> dict:
    result = runner.invoke(args=["import-inventory", str(path), "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def summary(runner) -> dict:
    return json.loads(runner.invoke(args=["summary", "--json"]).output)


def procedure(db_session, name: str) -> Procedure:
    db_session.expire_all()
    return db_session.exec(select(Procedure).where(Procedure.name == name)).one()


def test_summary_counts_complete_online_each_step_and_what_unlocks_the_most(runner, tmp_path):
    import_file(runner, inventory_csv(tmp_path))
    counts = summary(runner)
    assert (counts["complete_online"], counts["not_yet_confirmed"]) == (1, 1)
    assert counts["steps"]["registration"] == {
        "online": 6,
        "offline": 0,
        "not_applicable": 1,
        "unknown": 0,
    }
    assert counts["steps"]["payment"] == {
        "online": 0,
        "offline": 1,
        "not_applicable": 5,
        "unknown": 1,
    }
    assert counts["steps"]["attachments"] == {
        "online": 0,
        "offline": 1,
        "not_applicable": 6,
        "unknown": 0,
    }
    assert counts["unlocks"] == {
        "registration": 0,
        "identification": 0,
        "application": 1,
        "attachments": 1,
        "payment": 1,
        "decision": 0,
        "issuance": 0,
        "feedback": 0,
    }
    assert {step: n for step, n in counts["unlocks_volume"].items() if n} == {
        "application": 50,
        "attachments": 1000,
        "payment": 300,
    }
    # 80 + 100 + 400 + 6 + 0: ND is unknown, never 0.
    assert counts["online_volume"] == 586
    # Over the procedures that know both: (80 + 100 + 400 + 6 + 0) / (100 + 300 + 1000 + 10 + 0)
    assert counts["take_up"] == pytest.approx(586 / 1410)


def test_one_step_from_complete_lists_exactly_the_procedures_summary_counts(app, runner, tmp_path):
    import_file(runner, inventory_csv(tmp_path))
    counts = summary(runner)
    from procedures.core import db

    with app.app_context(), db.session_scope() as session:
        listed = one_step_from_complete(session)
        by_step = {step: one_step_from_complete(session, step) for step in counts["unlocks"]}
    # The most applications first.
    assert [(c.name, c.missing, c.annual_volume) for c in listed] == [
        ("Attachments left", "attachments", 1000),
        ("Payment left", "payment", 300),
        ("Application left", "application", 50),
    ]
    assert {step: len(found) for step, found in by_step.items()} == counts["unlocks"]
    assert {
        step: sum(c.annual_volume or 0 for c in found) for step, found in by_step.items()
    } == counts["unlocks_volume"]


def test_take_up_by_department_and_year_leaves_out_what_is_not_known(app, runner, tmp_path):
    import_file(runner, inventory_csv(tmp_path))
    from procedures.core import db

    with app.app_context(), db.session_scope() as session:
        departments = take_up_by_department(session)
        years = take_up_by_year(session)
    assert [(d.name, d.procedures, d.online, d.offline) for d in departments] == [
        ("Health Department", 3, 406, 604),
        ("Tax Department", 2, 180, 220),
    ]
    assert departments[1].take_up == pytest.approx(180 / 400)
    assert [(y.name, y.procedures, y.online, y.offline) for y in years] == [("2023", 5, 586, 824)]


def test_no_procedure_knowing_both_counts_gives_no_take_up(runner, tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("課名,手続名,年間件数\n市民課,転入届,100\n", encoding="utf-8")
    import_file(runner, path)
    counts = summary(runner)
    assert (counts["online_volume"], counts["take_up"], counts["complete_online"]) == (0, None, 0)
    assert counts["steps"]["application"]["unknown"] == 1


def test_a_reimport_sets_what_it_reads_keeps_what_a_person_confirmed_and_audits_each_step(
    app, runner, tmp_path, db_session
):
    import_file(runner, inventory_csv(tmp_path))
    unknown = procedure(db_session, "Payment unknown")
    from procedures.core import db

    with app.app_context(), db.session_scope() as session:
        set_steps(
            session,
            procedure_id=unknown.id,
            statuses={"payment": "online"},
            expected_version=unknown.version,
            user_id=None,
        )
    changed = dict(ROWS)
    changed["Payment unknown"] = ROWS["Payment unknown"][:3] + ("N",) + ROWS["Payment unknown"][4:]
    report = import_file(runner, inventory_csv(tmp_path, changed, "services-2.csv"))
    assert report["updated"] == 1
    again = procedure(db_session, "Payment unknown")
    # The file cannot tell the payment (no method): the person's "online" stays.
    assert decode(again.steps)["payment"] == "online"
    assert decode(again.steps)["application"] == "offline"
    events = db_session.exec(
        select(AuditEvent.action, AuditEvent.field, AuditEvent.old_value, AuditEvent.new_value)
        .where(AuditEvent.procedure_id == again.id, AuditEvent.field.startswith("step:"))
        .order_by(AuditEvent.id)
    ).all()
    assert [tuple(e) for e in events] == [
        ("edit", "step:payment", None, "online"),
        ("import", "step:application", "online", "offline"),
    ]


def test_reverting_an_import_puts_the_steps_back_with_a_line_per_step(runner, tmp_path, db_session):
    import_file(runner, inventory_csv(tmp_path))
    changed = dict(ROWS)
    changed["Complete"] = ("Tax", "Y", "Y", "Y", "Y", "N", "N", "N", "", "なし", "", "80", "20")
    report = import_file(runner, inventory_csv(tmp_path, changed, "services-2.csv"))
    batch = db_session.exec(
        select(AuditEvent.batch_id).where(AuditEvent.action == "import")
    ).first()
    assert report["updated"] == 1 and batch is not None
    result = runner.invoke(args=["revert-import", str(batch)])
    assert result.exit_code == 0, result.output
    back = procedure(db_session, "Complete")
    assert decode(back.steps)["issuance"] == "online"
    assert decode(back.steps)["feedback"] == "online"
    reverted = db_session.exec(
        select(AuditEvent.field, AuditEvent.old_value, AuditEvent.new_value)
        .where(AuditEvent.procedure_id == back.id, AuditEvent.action == "revert")
        .where(AuditEvent.field.startswith("step:"))
        .order_by(AuditEvent.field)
    ).all()
    assert [tuple(e) for e in reverted] == [
        ("step:feedback", "offline", "online"),
        ("step:issuance", "offline", "online"),
    ]


# ------------------------------------------------------------------------------------------
# the procedure page
# ------------------------------------------------------------------------------------------


def steps_section(page: str) -> str:
    return page.split('id="steps"', 1)[1].split("</section>", 1)[0]


def step_texts(page: str) -> list[str]:
    items = re.findall(r'<li class="step step-[a-z_]+">(.*?)</li>', steps_section(page), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


@pytest.fixture
def one_step_left(db_session):
    division = add_division(db_session, "市民課")
    statuses = {key: "online" for key in ("registration", "identification", "application")}
    statuses |= {"attachments": "not_applicable", "payment": "offline"}
    statuses |= {key: "online" for key in ("decision", "issuance", "feedback")}
    return add_procedure(db_session, division, "住民票の写しの交付申請", steps=encode(statuses))


def test_the_page_shows_a_row_of_steps_in_the_pages_language(client, db_session, one_step_left):
    add_user(db_session, "viewer", Role.viewer)
    login(client, "viewer")
    page = client.get(f"/procedures/{one_step_left.id}").get_data(as_text=True)
    assert step_texts(page) == [
        "利用者登録 オンライン",
        "本人確認 オンライン",
        "申請 オンライン",
        "添付書類 該当なし",
        "手数料の納付 オフライン",
        "審査・決定 オンライン",
        "交付・通知 オンライン",
        "問合せ・意見 オンライン",
    ]
    assert "オフラインの段階は「手数料の納付」だけです。" in steps_section(page)
    assert "段階を変更する" not in page  # a viewer sees the steps, not the form
    client.get("/lang/en")
    page = client.get(f"/procedures/{one_step_left.id}").get_data(as_text=True)
    assert step_texts(page)[3:5] == ["Attachments Not applicable", "Payment Offline"]
    assert "Only one step is offline: Payment." in steps_section(page)


def test_a_step_left_unknown_shows_the_procedure_as_not_yet_confirmed(client, db_session):
    division = add_division(db_session, "市民課")
    procedure_id = add_procedure(
        db_session, division, "転入届", steps=encode({"application": "online"})
    ).id
    add_user(db_session, "viewer", Role.viewer)
    login(client, "viewer")
    section = steps_section(client.get(f"/procedures/{procedure_id}").get_data(as_text=True))
    assert "未確認の段階あり" in section
    assert "未確認の段階：利用者登録、本人確認、添付書類、手数料の納付" in section
    assert "利用者登録 未確認" in step_texts(
        client.get(f"/procedures/{procedure_id}").get_data(as_text=True)
    )


def post_steps(client, procedure_id: int, version: int, **statuses: str):
    token = csrf_token(client, f"/procedures/{procedure_id}")
    data = {"csrf_token": token, "version": str(version)}
    data |= {f"step_{key}": value for key, value in statuses.items()}
    return client.post(
        f"/procedures/{procedure_id}/steps", data=data, headers={"Accept": "application/json"}
    )


def test_editing_a_step_in_place_completes_the_procedure_and_audits_that_step(
    client, db_session, one_step_left
):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    keep = {k: v for k, v in decode(one_step_left.steps).items()}
    response = post_steps(
        client, one_step_left.id, one_step_left.version, **(keep | {"payment": "online"})
    )
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["message"] == "保存しました（1段階を変更）。"
    assert "完全オンライン" in answer["html"]
    assert "全ての段階をオンラインで行えます。" in answer["html"]
    saved = procedure(db_session, "住民票の写しの交付申請")
    assert (saved.version, decode(saved.steps)["payment"]) == (answer["version"], "online")
    [event] = db_session.exec(select(AuditEvent).where(AuditEvent.procedure_id == saved.id)).all()
    assert (event.action, event.field, event.old_value, event.new_value) == (
        "edit",
        "step:payment",
        "offline",
        "online",
    )
    history = (
        client.get(f"/procedures/{saved.id}").get_data(as_text=True).split("<h2>変更履歴", 1)[1]
    )
    assert "手数料の納付（段階）" in history


def test_a_step_set_to_not_confirmed_is_unset_and_a_stale_save_is_refused(
    client, db_session, one_step_left
):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    keep, opened = decode(one_step_left.steps), one_step_left.version
    response = post_steps(client, one_step_left.id, opened, **(keep | {"decision": ""}))
    assert response.status_code == 200
    assert "decision" not in decode(procedure(db_session, "住民票の写しの交付申請").steps)
    stale = post_steps(client, one_step_left.id, opened, **keep)
    assert stale.status_code == 409
    assert stale.get_json()["conflict"] is True
    assert "decision" not in decode(procedure(db_session, "住民票の写しの交付申請").steps)


def test_a_status_that_does_not_exist_is_refused_with_the_field_named(
    client, db_session, one_step_left
):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    response = post_steps(client, one_step_left.id, one_step_left.version, payment="paper")
    assert response.status_code == 400
    assert list(response.get_json()["errors"]) == ["step_payment"]


def test_a_division_user_cannot_change_another_divisions_steps(client, db_session, one_step_left):
    add_division(db_session, "税務課")
    add_user(db_session, "zeimu", Role.division, division="税務課")
    login(client, "zeimu")
    assert (
        post_steps(client, one_step_left.id, one_step_left.version, payment="online").status_code
        == 403
    )
    assert decode(procedure(db_session, "住民票の写しの交付申請").steps)["payment"] == "offline"


def test_a_payment_code_not_understood_is_decided_in_the_preview_and_applied(client, db_session):
    from tests.test_import_fidelity import commit, decide, decision_cell, sign_in_office, text_of
    from tests.test_imports import upload, workbook_bytes

    add_division(db_session, "市民課")
    sign_in_office(db_session, client)
    headers = ("手続名", "手数料等の納付有無", "手数料等の納付方法")
    content = workbook_bytes([("証明書の交付", "2 手数料等有り", "3-1 仮想通貨")], headers)
    location = upload(client, content, "payment_code.xlsx", division="市民課").headers["Location"]
    cell = decision_cell(text_of(client, location), "3-1 仮想通貨")
    assert "手数料の納付（段階）" in cell
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', cell)
    assert options[1:4] == [
        ("online", "オンライン"),
        ("offline", "オフライン"),
        ("not_applicable", "該当なし"),
    ]
    decide(client, location, {("step:payment", "3-1 仮想通貨"): "online"})
    commit(client, location)
    assert decode(procedure(db_session, "証明書の交付").steps) == {"payment": "online"}


def test_without_the_script_the_steps_form_posts_and_the_page_says_what_was_saved(
    client, db_session, one_step_left
):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    url = f"/procedures/{one_step_left.id}"
    data = {"csrf_token": csrf_token(client, url), "version": str(one_step_left.version)}
    data |= {f"step_{key}": status for key, status in decode(one_step_left.steps).items()}
    data["step_payment"] = "online"
    response = client.post(f"{url}/steps", data=data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{url}#steps")
    page = client.get(url).get_data(as_text=True)
    assert "保存しました（1段階を変更）。" in page
    assert "全ての段階をオンラインで行えます。" in steps_section(page)
