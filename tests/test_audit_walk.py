"""The audit walk: every web write path that changes a procedure leaves exact audit entries.

Each path is driven through the web client as a clerk would (page opened, CSRF token, form
posted) and must leave, for every procedure field it changed, an audit entry naming the
procedure, the user, the action, the field, the old and new values (and the import batch for
imports) with a recent timestamp. A second check compares every procedure column before and
after the request, so a path that changes a column without auditing it fails even if its
expected entries are there. WRITE_PATHS and NOT_PROCEDURE_WRITES together must cover every
POST route of the URL map: a new route has to be placed in one of them.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from openpyxl import Workbook
from sqlmodel import select

from importers.steps import differences, step_field
from procedures.catalogue.procedures import audit_text, blockers_from_column
from procedures.imports.jobs import wait_for_imports
from procedures.models import (
    AuditEvent,
    ImportBatch,
    Lifecycle,
    MatchStatus,
    PriorityMatch,
    PriorityProcedure,
    Procedure,
    Role,
    User,
    Verdict,
)
from procedures.survey.status import current_fiscal_year
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login

#: Pins go to the plan's years, which start at the current fiscal year.
THIS_YEAR = current_fiscal_year()

JSON = {"Accept": "application/json"}

#: POST endpoints that change procedures (or their place in the plan): each has a walk below.
WRITE_PATHS = {
    "catalogue.edit": ("edit",),
    "catalogue.triage": ("in_place",),
    "catalogue.steps": ("steps_in_place",),
    "catalogue.bulk_apply": ("bulk_verdict", "bulk_blocker", "bulk_target", "bulk_division"),
    "imports.commit": ("import", "import_background"),
    "imports.revert": ("revert_import",),
    "plan.pin": ("plan_pin", "plan_exclude"),
    "plan.unpin": ("plan_unpin",),
    "catalogue.resolve": ("retire", "keep"),
    "priority.decide": ("priority_confirm",),
}

#: POST endpoints that change no procedure column, and why that is so.
NOT_PROCEDURE_WRITES = {
    "auth.login": "signs in; writes a login attempt",
    "auth.logout": "signs out",
    "auth.end_session": "ends one of the user's own sessions",
    "auth.end_other_sessions": "ends the user's other sessions",
    "catalogue.bulk_confirm": "only counts what a bulk change would alter",
    "imports.upload": "keeps the file as a previewed batch; procedures change at commit",
    "imports.change_mapping": "stores the column mapping of a previewed batch",
    "imports.decide_values": "stores the value decisions of a previewed batch",
    "imports.refresh": "compares a previewed batch's file again and keeps the new preview",
    "plan.recompute": "recomputes the derived plan from procedures, policy and pins",
    "plan.save_plan": "keeps a snapshot of the plan",
    "plan.policy": "saves a policy version (or only tries it)",
    "priority.refresh": "recomputes match suggestions",
    "priority.add": "edits the national list",
    "priority.rename": "edits the national list",
    "priority.set_active": "edits the national list",
    "priority.upload": "loads a revision of the national list",
    "admin.users": "creates a user",
    "admin.lift": "forgets the failed sign-ins behind a lock",
    "admin.edit_user": "changes a user's role and division (security log)",
    "admin.set_user_active": "deactivates or reactivates a user (security log)",
    "admin.one_time_password": "sets a user's one-time password (security log)",
    "auth.change_password": "changes the user's own password (security log)",
    "survey.download": "records when a division's workbook was made",
    "survey.download_all": "records when the divisions' workbooks were made",
    "national.load": "loads the national inventory as a reference and flags links",
    "national.link_all_exact": "links procedures to national IDs (audited on each procedure)",
    "national.decide": "links a procedure to a national ID or rejects one (audited)",
    "national.reviewed": "clears a procedure's review flag (audited)",
}

ALL_PATHS = [path for paths in WRITE_PATHS.values() for path in paths]

#: Columns that move with every write and are not themselves audited: the version counter,
#: the write time, the derived name key and the import bookkeeping of a procedure.
BOOKKEEPING = {"version", "updated_at", "name_key", "missing_batch_id", "created_at"}


def test_every_post_route_is_a_walked_write_path_or_changes_no_procedure(app):
    """A new POST route fails here until it is walked below or said to change no procedure."""
    posts = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and rule.endpoint != "static"
    }
    assert set(WRITE_PATHS) & set(NOT_PROCEDURE_WRITES) == set()
    assert posts == set(WRITE_PATHS) | set(NOT_PROCEDURE_WRITES)
    assert set(ALL_PATHS) == set(WALKS)


# --- the city every walk starts from -------------------------------------------------------


@pytest.fixture
def city(db_session):
    """Two divisions, three procedures with known values, a missing one, an office user."""
    shimin = add_division(db_session, "市民課", "市民自治部")
    kodomo = add_division(db_session, "子育て給付課", "子ども青少年部")
    batch = ImportBatch(
        file_name="市民課_前回.xlsx", sha256="1" * 64, content=b"x", status="committed"
    )
    db_session.add(batch)
    db_session.commit()
    ids = {
        "tennyu": add_procedure(
            db_session, shimin, "転入届", code="A-1", annual_volume=3100, channel=None
        ).id,
        "jumin": add_procedure(
            db_session,
            shimin,
            "住民票の写しの交付申請",
            code="A-2",
            annual_volume=42000,
            blockers=",seal_signature,",
        ).id,
        "jido": add_procedure(
            db_session, kodomo, "児童手当の認定請求", code="B-1", annual_volume=900
        ).id,
        "missing": add_procedure(
            db_session,
            kodomo,
            "児童手当の現況届（紙）",
            code="B-2",
            lifecycle=Lifecycle.missing,
            missing_batch_id=batch.id,
            version=3,
        ).id,
    }
    add_user(db_session, "office", Role.dx_office)
    ids["user"] = db_session.exec(select(User.id).where(User.login == "office")).one()
    ids["shimin"], ids["kodomo"] = shimin, kodomo
    return ids


def snapshot(db_session) -> dict[int, dict]:
    """Every procedure's columns as audit text, keyed by id (bookkeeping columns left out)."""
    columns = [c for c in Procedure.__table__.columns if c.name not in BOOKKEEPING]
    rows = {}
    for row in db_session.execute(select(*columns)).mappings():
        values = dict(row)
        values["blockers"] = blockers_from_column(values["blockers"])
        rows[values.pop("id")] = {name: audit_text(value) for name, value in values.items()}
    return rows


def audit_rows(db_session) -> list[AuditEvent]:
    db_session.expire_all()
    return list(db_session.exec(select(AuditEvent).order_by(AuditEvent.id)).all())


def as_tuples(events: list[AuditEvent]) -> set[tuple]:
    """(procedure, user, batch, action, field, old, new) of each event."""
    return {
        (e.procedure_id, e.user_id, e.batch_id, e.action, e.field, e.old_value, e.new_value)
        for e in events
    }


# --- the walks: each performs one write path and returns the audit entries it must leave ----


def walk_edit(client, db_session, city):
    url = f"/procedures/{city['tennyu']}/edit"
    data = {
        "csrf_token": csrf_token(client, url),
        "version": "1",
        "name": "転入届",
        "annual_volume": "3200",
        "channel": "ぴったりサービス",
        "verdict": "undecided",
        "visit_required": "",
        "online_status": "",
    }
    response = client.post(url, data=data)
    assert response.status_code == 302
    user = city["user"]
    return {
        (city["tennyu"], user, None, "edit", "annual_volume", "3100", "3200"),
        (city["tennyu"], user, None, "edit", "channel", None, "ぴったりサービス"),
    }


def walk_in_place(client, db_session, city):
    url = f"/procedures/{city['jumin']}/triage"
    data = {
        "csrf_token": csrf_token(client, f"/procedures/{city['jumin']}"),
        "version": "1",
        "verdict": "infeasible",
        "verdict_reason": "原本の提出が必要",
        "visit_required": "yes",
        "blockers": ["seal_signature", "paper_originals"],
    }
    response = client.post(url, data=data, headers=JSON)
    assert response.get_json()["ok"] is True
    user, ident = city["user"], city["jumin"]
    return {
        (ident, user, None, "edit", "verdict", "undecided", "infeasible"),
        (ident, user, None, "edit", "verdict_reason", None, "原本の提出が必要"),
        (ident, user, None, "edit", "visit_required", None, "true"),
        (
            ident,
            user,
            None,
            "edit",
            "blockers",
            "seal_signature",
            "paper_originals; seal_signature",
        ),
    }


def walk_steps_in_place(client, db_session, city):
    url = f"/procedures/{city['jido']}/steps"
    data = {
        "csrf_token": csrf_token(client, f"/procedures/{city['jido']}"),
        "version": "1",
        "step_application": "online",
        "step_payment": "not_applicable",
    }
    response = client.post(url, data=data, headers=JSON)
    assert response.get_json()["ok"] is True
    user, ident = city["user"], city["jido"]
    return {
        (ident, user, None, "edit", "step:application", None, "online"),
        (ident, user, None, "edit", "step:payment", None, "not_applicable"),
    }


def post_bulk(client, city, change: str, reason: str = ""):
    data = {
        "csrf_token": csrf_token(client, "/procedures"),
        "change": change,
        "reason": reason,
        "scope": "selected",
        "ids": [city["tennyu"], city["jumin"]],
    }
    response = client.post("/procedures/bulk/apply", data=data)
    assert response.status_code == 302


def walk_bulk_verdict(client, db_session, city):
    post_bulk(client, city, "verdict:infeasible", "窓口での本人確認が必要")
    user = city["user"]
    return {
        (ident, user, None, "bulk", field, old, new)
        for ident in (city["tennyu"], city["jumin"])
        for field, old, new in (
            ("verdict", "undecided", "infeasible"),
            ("verdict_reason", None, "窓口での本人確認が必要"),
        )
    }


def walk_bulk_blocker(client, db_session, city):
    post_bulk(client, city, "blocker:fee_payment")
    user = city["user"]
    return {
        (city["tennyu"], user, None, "bulk", "blockers", None, "fee_payment"),
        (
            city["jumin"],
            user,
            None,
            "bulk",
            "blockers",
            "seal_signature",
            "fee_payment; seal_signature",
        ),
    }


def walk_bulk_target(client, db_session, city):
    post_bulk(client, city, "target:2024")
    user = city["user"]
    return {
        (ident, user, None, "bulk", "target_fiscal_year", None, "2024")
        for ident in (city["tennyu"], city["jumin"])
    }


def walk_bulk_division(client, db_session, city):
    post_bulk(client, city, f"division:{city['kodomo']}")
    user = city["user"]
    return {
        (ident, user, None, "bulk", "division", "市民課", "子育て給付課")
        for ident in (city["tennyu"], city["jumin"])
    }


def workbook(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["課名", "手続コード", "手続名", "年間件数"])
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def walk_import(client, db_session, city, *, background: bool = False):
    # 転入届 changes volume, 転出届 is new, 住民票の写し is not in the file any more.
    content = workbook([("市民課", "A-1", "転入届", 3300), ("市民課", "A-3", "転出届", 2900)])
    token = csrf_token(client, "/imports/new")
    response = client.post(
        "/imports/new",
        data={"csrf_token": token, "file": (io.BytesIO(content), "市民課.xlsx")},
        content_type="multipart/form-data",
    )
    location = response.headers["Location"]
    assert audit_rows(db_session) == []  # the preview writes nothing
    response = client.post(
        f"{location}/commit", data={"csrf_token": csrf_token(client, location), "scope": "whole"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/progress") is background
    wait_for_imports(client.application)
    batch = db_session.exec(select(ImportBatch).where(ImportBatch.status == "committed")).all()
    batch = [item for item in batch if item.file_name == "市民課.xlsx"][0]
    new = db_session.exec(select(Procedure.id).where(Procedure.code == "A-3")).one()
    assert (batch.created, batch.updated, batch.missing) == (1, 1, 1)
    user = city["user"]
    return {
        (new, user, batch.id, "create", None, None, "転出届"),
        (city["tennyu"], user, batch.id, "import", "annual_volume", "3100", "3300"),
        (city["jumin"], user, batch.id, "import", "lifecycle", "active", "missing"),
    }


def walk_revert_import(client, db_session, city):
    # The import above, then its revert: the new procedure goes with its own entries, the
    # changed volume and the missing mark go back, each with a revert entry of the batch.
    imported = walk_import(client, db_session, city)
    batch = db_session.exec(select(ImportBatch).where(ImportBatch.file_name == "市民課.xlsx")).one()
    page = f"/imports/{batch.id}"
    response = client.post(f"{page}/revert", data={"csrf_token": csrf_token(client, page)})
    assert response.status_code == 302
    db_session.expire_all()
    user = city["user"]
    kept = {event for event in imported if event[3] != "create"}
    return kept | {
        (city["tennyu"], user, batch.id, "revert", "annual_volume", "3300", "3100"),
        (city["jumin"], user, batch.id, "revert", "lifecycle", "missing", "active"),
    }


def walk_import_background(client, db_session, city):
    # A file of this many rows is imported by a job beside the request, with a progress page.
    client.application.config["IMPORT_BACKGROUND_ROWS"] = 2
    return walk_import(client, db_session, city, background=True)


def pin(client, procedure_id: int, target: str, reason: str):
    url = f"/plan/pin/{procedure_id}"
    data = {"csrf_token": csrf_token(client, url), "target": target, "reason": reason}
    assert client.post(url, data=data).status_code == 302


def walk_plan_pin(client, db_session, city):
    pin(client, city["jido"], str(THIS_YEAR), "市長公約")
    return {(city["jido"], city["user"], None, "plan", "pin", None, f"FY{THIS_YEAR}: 市長公約")}


def walk_plan_exclude(client, db_session, city):
    pin(client, city["jido"], "exclude", "国の制度改正待ち")
    return {(city["jido"], city["user"], None, "plan", "pin", None, "excluded: 国の制度改正待ち")}


def walk_plan_unpin(client, db_session, city):
    pin(client, city["jido"], str(THIS_YEAR + 1), "市長公約")
    url = f"/plan/pin/{city['jido']}"
    token = csrf_token(client, url)
    assert client.post(f"{url}/remove", data={"csrf_token": token}).status_code == 302
    user = city["user"]
    return {
        (city["jido"], user, None, "plan", "pin", None, f"FY{THIS_YEAR + 1}: 市長公約"),
        (city["jido"], user, None, "plan", "pin", f"FY{THIS_YEAR + 1}: 市長公約", None),
    }


def resolve(client, city, decision: str):
    token = csrf_token(client, "/missing")
    url = f"/missing/{city['missing']}/{decision}"
    assert client.post(url, data={"csrf_token": token, "version": "3"}).status_code == 302


def walk_retire(client, db_session, city):
    resolve(client, city, "retire")
    return {(city["missing"], city["user"], None, "retire", "lifecycle", "missing", "retired")}


def walk_keep(client, db_session, city):
    resolve(client, city, "keep")
    return {(city["missing"], city["user"], None, "edit", "lifecycle", "missing", "active")}


def walk_priority_confirm(client, db_session, city):
    item = db_session.exec(select(PriorityProcedure).order_by(PriorityProcedure.id)).first()
    match = PriorityMatch(
        procedure_id=city["jido"],
        priority_procedure_id=item.id,
        score=90.0,
        status=MatchStatus.suggested,
    )
    db_session.add(match)
    db_session.commit()
    token = csrf_token(client, "/priority")
    url = f"/priority/matches/{match.id}/confirm"
    assert client.post(url, data={"csrf_token": token, "version": "1"}).status_code == 302
    user = city["user"]
    return {
        (city["jido"], user, None, "edit", "mynaportal_eligible", "false", "true"),
        (city["jido"], user, None, "priority_match", "priority_procedure", None, item.name),
    }


WALKS = {
    "edit": walk_edit,
    "in_place": walk_in_place,
    "steps_in_place": walk_steps_in_place,
    "bulk_verdict": walk_bulk_verdict,
    "bulk_blocker": walk_bulk_blocker,
    "bulk_target": walk_bulk_target,
    "bulk_division": walk_bulk_division,
    "import": walk_import,
    "import_background": walk_import_background,
    "revert_import": walk_revert_import,
    "plan_pin": walk_plan_pin,
    "plan_exclude": walk_plan_exclude,
    "plan_unpin": walk_plan_unpin,
    "retire": walk_retire,
    "keep": walk_keep,
    "priority_confirm": walk_priority_confirm,
}


def unaudited_changes(before, after, events) -> list[tuple]:
    """Procedure columns that differ before/after with no audit entry for that field."""
    audited = {(e.procedure_id, e.field) for e in events}
    audited |= {(e.procedure_id, "*") for e in events if e.action == "create"}
    missing = []
    for ident, values in after.items():
        if ident not in before:
            if (ident, "*") not in audited:
                missing.append((ident, "created"))
            continue
        for name, value in values.items():
            if before[ident][name] == value:
                continue
            fields = ["division" if name == "division_id" else name]
            if name == "steps":  # audited step by step (importers.steps)
                moved = differences(before[ident][name], value)
                fields = [step_field(key) for key, _old, _new in moved]
            if any((ident, field) not in audited for field in fields):
                missing.append((ident, name, before[ident][name], value))
    return missing


@pytest.mark.parametrize("path", ALL_PATHS)
def test_write_path_leaves_exact_audit_entries(client, db_session, city, path):
    login(client, "office")
    before = snapshot(db_session)
    started = datetime.now(UTC)
    expected = WALKS[path](client, db_session, city)
    finished = datetime.now(UTC)
    events = audit_rows(db_session)
    assert as_tuples(events) == expected
    # One entry per field change: no duplicates hidden by the set comparison above.
    assert len(events) == len(expected)
    for event in events:
        assert started <= event.at.astimezone(UTC) <= finished
    after = snapshot(db_session)
    assert unaudited_changes(before, after, events) == []


def test_a_refused_save_writes_no_audit_entry(client, db_session, city):
    """A stale version is refused: the procedure and the audit log stay as they were."""
    login(client, "office")
    url = f"/procedures/{city['tennyu']}/triage"
    token = csrf_token(client, f"/procedures/{city['tennyu']}")
    data = {"csrf_token": token, "version": "1", "verdict": "feasible", "visit_required": ""}
    assert client.post(url, data=data, headers=JSON).status_code == 200
    before = snapshot(db_session)
    data["verdict"] = "infeasible"
    data["verdict_reason"] = "原本が必要"
    assert client.post(url, data=data, headers=JSON).status_code == 409
    assert snapshot(db_session) == before
    assert [(e.field, e.new_value) for e in audit_rows(db_session)] == [("verdict", "feasible")]
    assert db_session.get(Procedure, city["tennyu"]).verdict == Verdict.feasible
