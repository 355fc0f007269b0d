"""The missing-procedure review queue: confirm retired or keep, audited, division limits."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from procedures.models import AuditEvent, ImportBatch, Lifecycle, Procedure, Role
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login


@pytest.fixture
def queue(db_session):
    """An import that flagged two procedures of two divisions missing; one active procedure."""
    care = add_division(db_session, "介護保険課", "福祉部")
    tax = add_division(db_session, "市民税課", "財務部")
    batch = ImportBatch(
        file_name="介護保険課_手続一覧.xlsx", sha256="0" * 64, content=b"x", status="committed"
    )
    db_session.add(batch)
    db_session.commit()
    fields = {"lifecycle": Lifecycle.missing, "missing_batch_id": batch.id, "version": 3}
    ids = {
        "care": add_procedure(db_session, care, "介護保険料の口座振替依頼（紙）", **fields).id,
        "tax": add_procedure(db_session, tax, "市民税の申告書の送付依頼", **fields).id,
        "active": add_procedure(db_session, care, "要介護認定申請").id,
    }
    add_user(db_session, "office", Role.dx_office)
    add_user(db_session, "kaigo", Role.division, "介護保険課")
    add_user(db_session, "viewer", Role.viewer)
    return ids


def decide(client, procedure_id: int, decision: str, version: str = "3"):
    token = csrf_token(client, "/missing")
    return client.post(
        f"/missing/{procedure_id}/{decision}", data={"csrf_token": token, "version": version}
    )


def state(db_session, procedure_id: int) -> tuple[str, int, int | None]:
    db_session.expire_all()
    procedure = db_session.get(Procedure, procedure_id)
    return procedure.lifecycle, procedure.version, procedure.missing_batch_id


def events(db_session, procedure_id: int) -> list[tuple]:
    rows = db_session.execute(
        select(AuditEvent.action, AuditEvent.field, AuditEvent.old_value, AuditEvent.new_value)
        .where(AuditEvent.procedure_id == procedure_id)
        .order_by(AuditEvent.id)
    ).all()
    return [tuple(row) for row in rows]


def test_the_queue_lists_missing_procedures_with_their_import(client, queue):
    login(client, "viewer")
    page = client.get("/missing").get_data(as_text=True)
    assert "介護保険料の口座振替依頼（紙）" in page
    assert "市民税の申告書の送付依頼" in page
    assert "要介護認定申請" not in page
    assert page.count("介護保険課_手続一覧.xlsx") == 2
    assert "/retire" not in page


def test_office_confirms_retired_audited(client, db_session, queue):
    login(client, "office")
    response = decide(client, queue["care"], "retire")
    assert response.status_code == 302
    assert state(db_session, queue["care"]) == (Lifecycle.retired, 4, 1)
    assert events(db_session, queue["care"]) == [("retire", "lifecycle", "missing", "retired")]
    page = client.get("/missing").get_data(as_text=True)
    assert f'href="/procedures/{queue["care"]}"' not in page
    assert f'href="/procedures/{queue["tax"]}"' in page


def test_office_keeps_a_procedure_active_audited(client, db_session, queue):
    login(client, "office")
    assert decide(client, queue["tax"], "keep").status_code == 302
    assert state(db_session, queue["tax"]) == (Lifecycle.active, 4, None)
    assert events(db_session, queue["tax"]) == [("edit", "lifecycle", "missing", "active")]


def test_a_division_user_acts_on_its_own_division_only(client, db_session, queue):
    login(client, "kaigo")
    page = client.get("/missing").get_data(as_text=True)
    assert page.count("/retire") == 1
    assert decide(client, queue["tax"], "retire").status_code == 403
    assert state(db_session, queue["tax"]) == (Lifecycle.missing, 3, 1)
    assert events(db_session, queue["tax"]) == []
    assert decide(client, queue["care"], "keep").status_code == 302
    assert state(db_session, queue["care"]) == (Lifecycle.active, 4, None)


@pytest.mark.parametrize("decision", ["retire", "keep"])
def test_a_viewer_can_never_decide(client, db_session, queue, decision):
    login(client, "viewer")
    assert decide(client, queue["care"], decision).status_code == 403
    assert state(db_session, queue["care"]) == (Lifecycle.missing, 3, 1)


def test_anonymous_posts_go_to_login(client, db_session, queue):
    token = csrf_token(client, "/login")
    response = client.post(
        f"/missing/{queue['care']}/retire", data={"csrf_token": token, "version": "3"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert state(db_session, queue["care"]) == (Lifecycle.missing, 3, 1)


def test_a_stale_page_or_a_procedure_no_longer_missing_changes_nothing(client, db_session, queue):
    login(client, "office")
    client.get("/lang/en")
    assert decide(client, queue["care"], "retire", version="2").status_code == 302
    assert state(db_session, queue["care"]) == (Lifecycle.missing, 3, 1)
    assert decide(client, queue["active"], "retire", version="1").status_code == 302
    assert state(db_session, queue["active"]) == (Lifecycle.active, 1, None)
    page = client.get("/missing").get_data(as_text=True)
    assert "要介護認定申請 changed since this page was shown; nothing was saved." in page
    assert events(db_session, queue["active"]) == []


def test_a_post_without_csrf_token_is_refused(client, db_session, queue):
    login(client, "office")
    response = client.post(f"/missing/{queue['care']}/retire", data={"version": "3"})
    assert response.status_code == 400
    assert state(db_session, queue["care"]) == (Lifecycle.missing, 3, 1)


def test_a_retired_procedure_is_left_out_of_suggestions(client, db_session, queue):
    from procedures.priority.matching import refresh_suggestions

    login(client, "office")
    decide(client, queue["care"], "retire")
    procedure = db_session.get(Procedure, queue["active"])
    assert procedure.lifecycle == Lifecycle.active
    assert refresh_suggestions(db_session) == 1
