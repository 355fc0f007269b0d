"""An import and in-place edits at the same time: every change lands or is refused, never half.

Two web clients work in two threads, each request with its own app context and database
session, on the test database (SQLite in WAL mode, or PostgreSQL). The overlap is forced, not
hoped for: the import, once it has written every row but before it commits, waits until the
other thread is inside its UPDATE of a procedure (seen in that thread's Python stack), i.e.
blocked on SQLite's write lock or on PostgreSQL's row lock. No assertion depends on timing.
"""

from __future__ import annotations

import io
import re
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from procedures.catalogue import triage
from procedures.catalogue import views as catalogue_views
from procedures.catalogue.procedures import name_key
from procedures.imports import service as import_service
from procedures.imports.jobs import wait_for_imports
from procedures.models import AuditEvent, ImportBatch, Procedure, Role, User
from tests.conftest import ON_POSTGRES, add_division, add_user, csrf_token, login

JSON = {"Accept": "application/json"}
CONFLICT = "編集中に他の人がこの手続を保存しました。あなたの変更は保存されていません。"
SERVER_ERROR = "サーバーで問題が発生しました。何も保存されていません。"
EXISTING, NEW = 300, 100
#: Phase 1 edits are sent while the import reads its file, to procedures it leaves unchanged
#: (the odd ones: a save of one it changes, after its preview, refuses it whole; see
#: test_import_stale_preview.py); phase 2 once it has written.
PHASE_1 = range(1, 20, 2)
PHASE_2 = range(20, 70)
UPDATE_PROCEDURE = re.compile(r'^\s*UPDATE\s+"?procedure"?\s', re.IGNORECASE)


def in_update_of_procedure(thread_id: int) -> bool:
    """Whether the thread is executing an UPDATE of the procedure table right now."""
    frame = sys._current_frames().get(thread_id)
    while frame is not None:
        if frame.f_code.co_name == "do_execute":
            statement = frame.f_locals.get("statement")
            if isinstance(statement, str) and UPDATE_PROCEDURE.match(statement):
                return True
        frame = frame.f_back
    return False


def wait_for(condition, what: str) -> None:
    """Poll until the condition holds; a guard against a hung test, not a timing assertion."""
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.005)


def volume(index: int) -> int:
    return 100 + index


def file_volume(index: int) -> int:
    """The file changes the volume of every even-numbered procedure and keeps the others."""
    return volume(index) + (1 if index % 2 == 0 else 0)


def inventory() -> bytes:
    """The city's 300 procedures (half with a new volume) and 100 new ones, one sheet."""
    book = Workbook()
    sheet = book.active
    sheet.append(["課名", "手続コード", "手続名", "年間件数"])
    for index in range(EXISTING):
        sheet.append(["市民課", f"C-{index:04d}", f"手続{index:04d}", file_volume(index)])
    for index in range(NEW):
        sheet.append(["市民課", f"N-{index:04d}", f"新しい手続{index:04d}", 7])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def city(db_session):
    """300 procedures of one division, a clerk who edits and a clerk who imports."""
    division = add_division(db_session, "市民課")
    procedures = [
        Procedure(
            division_id=division,
            code=f"C-{index:04d}",
            name=f"手続{index:04d}",
            name_key=name_key(f"手続{index:04d}"),
            annual_volume=volume(index),
        )
        for index in range(EXISTING)
    ]
    db_session.add_all(procedures)
    db_session.commit()
    add_user(db_session, "editor", Role.dx_office)
    add_user(db_session, "importer", Role.dx_office)
    users = dict(db_session.execute(select(User.login, User.id)).all())
    ids = [procedure.id for procedure in procedures]
    db_session.rollback()
    return {"ids": ids, "users": users, "division": division}


def previewed_import(app) -> tuple[object, str]:
    """Sign in the importer and upload the file: a previewed batch, nothing written yet."""
    client = app.test_client()
    login(client, "importer")
    token = csrf_token(client, "/imports/new")
    response = client.post(
        "/imports/new",
        data={"csrf_token": token, "file": (io.BytesIO(inventory()), "市民課_手続一覧.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    return client, response.headers["Location"]


def edit_data(token: str, index: int) -> dict[str, str]:
    """An in-place judgement made on a page opened before the import (version 1)."""
    return {
        "csrf_token": token,
        "version": "1",
        "verdict": "feasible",
        "visit_required": "",
        "notes": f"確認済み{index}",
    }


def run_import_and_edits(app, city, monkeypatch, *, mode: str, fail_import: bool):
    """Commit the import in one thread while another sends in-place edits; return both sides.

    mode "request" imports within the confirming request; "background" in the import job
    that a large file gets, the browser polling its progress.
    """
    if mode == "background":
        monkeypatch.setitem(app.config, "IMPORT_BACKGROUND_ROWS", 1)
    import_client, location = previewed_import(app)
    import_token = csrf_token(import_client, location)
    editor = app.test_client()
    login(editor, "editor")
    edit_token = csrf_token(editor, f"/procedures/{city['ids'][0]}")
    import_wrote = threading.Event()
    edit_thread: dict[str, int] = {}
    write = import_service.apply_plan

    def hold_the_write_open(*args, **kwargs):
        # Every row is written but not committed: wait until an edit is stuck behind it.
        write(*args, **kwargs)
        import_wrote.set()
        wait_for(lambda: in_update_of_procedure(edit_thread["id"]), "an edit to block")
        if fail_import:
            raise RuntimeError("the disk is full")

    monkeypatch.setattr(import_service, "apply_plan", hold_the_write_open)

    def do_import():
        response = import_client.post(
            f"{location}/commit", data={"csrf_token": import_token, "scope": "whole"}
        )
        if mode == "background":
            assert response.headers["Location"] == f"{location}/progress"
            wait_for_imports(app)
            return import_client.get(f"{location}/progress.json").get_json()
        return response

    def do_edits():
        edit_thread["id"] = threading.get_ident()
        answers = {}
        for index in [*PHASE_1, *PHASE_2]:
            if index == PHASE_2[0]:
                wait_for(import_wrote.is_set, "the import to write")
            url = f"/procedures/{city['ids'][index]}/triage"
            response = editor.post(url, data=edit_data(edit_token, index), headers=JSON)
            answers[index] = (response.status_code, response.get_json())
        return answers

    with ThreadPoolExecutor(max_workers=2) as pool:
        edits = pool.submit(do_edits)
        imported = pool.submit(do_import)
        import_response, answers = imported.result(), edits.result()
    return import_client, location, import_response, answers


def procedure_rows(db_session) -> dict[str, tuple]:
    db_session.rollback()
    query = select(
        Procedure.id,
        Procedure.code,
        Procedure.annual_volume,
        Procedure.verdict,
        Procedure.notes,
        Procedure.version,
        Procedure.created_batch_id,
    )
    return {row.code: row for row in db_session.execute(query)}


def audit_events(db_session) -> list[AuditEvent]:
    db_session.rollback()
    return list(db_session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())


def write_groups(events: list[AuditEvent]) -> Counter:
    """How many writes each procedure had: one write leaves its entries with one time stamp."""
    groups = {(e.procedure_id, e.at, e.user_id, e.batch_id) for e in events}
    return Counter(procedure_id for procedure_id, *_rest in groups)


@pytest.mark.parametrize("mode", ["request", "background"])
def test_import_and_in_place_edits_at_once_each_land_whole_or_are_refused(
    app, db_session, city, monkeypatch, mode
):
    client, location, response, answers = run_import_and_edits(
        app, city, monkeypatch, mode=mode, fail_import=False
    )
    # The import landed whole, and its clerk is told so.
    if mode == "request":
        assert response.status_code == 302
        page = client.get(location).get_data(as_text=True)
        assert "取り込みました：新規 100件、変更 150件、変更なし 150件、未掲載 0件。" in page
    else:
        assert (response["state"], response["error"]) == ("done", None)
    batch = db_session.execute(select(ImportBatch)).scalar_one()
    assert (batch.status, batch.rows, batch.created, batch.updated) == ("committed", 400, 100, 150)
    rows = procedure_rows(db_session)
    assert len(rows) == EXISTING + NEW
    assert {code: row.annual_volume for code, row in rows.items()} == {
        **{f"C-{index:04d}": file_volume(index) for index in range(EXISTING)},
        **{f"N-{index:04d}": 7 for index in range(NEW)},
    }
    assert sum(row.created_batch_id == batch.id for row in rows.values()) == NEW
    events = audit_events(db_session)
    by_batch = Counter((e.action, e.field) for e in events if e.batch_id == batch.id)
    assert by_batch == {("create", None): NEW, ("import", "annual_volume"): 150}
    assert {e.user_id for e in events if e.batch_id == batch.id} == {city["users"]["importer"]}

    # Each edit either landed with its audit entries, or was refused with the message.
    editor = city["users"]["editor"]
    imported = {e.procedure_id for e in events if e.batch_id == batch.id}
    refused = []
    for index, (status, body) in answers.items():
        row = rows[f"C-{index:04d}"]
        theirs = {
            (e.action, e.field, e.old_value, e.new_value)
            for e in events
            if e.procedure_id == row.id and e.user_id == editor
        }
        if status == 200:
            assert body["ok"] is True
            assert (row.verdict, row.notes) == ("feasible", f"確認済み{index}")
            assert theirs == {
                ("edit", "verdict", "undecided", "feasible"),
                ("edit", "notes", None, f"確認済み{index}"),
            }
        else:
            assert (status, body["conflict"], body["message"]) == (409, True, CONFLICT)
            assert (row.verdict, row.notes, theirs) == ("undecided", None, set())
            # Only the import wrote in between, so only a procedure it changed is refused.
            assert row.id in imported
            refused.append(index)
    # Sent after the import wrote, with the version seen before it: refused exactly when
    # the import changed that procedure (the even ones).
    assert [index for index in refused if index in PHASE_2] == list(PHASE_2[::2])

    # No half-applied write: every version step has its audit entries and the other way round.
    groups = write_groups(events)
    for code, row in rows.items():
        created_here = row.created_batch_id == batch.id
        assert row.version == groups[row.id] + (0 if created_here else 1), code
    landed = len(answers) - len(refused)
    assert len(events) == NEW + 150 + 2 * landed


@pytest.mark.parametrize("mode", ["request", "background"])
def test_an_import_failing_mid_write_leaves_nothing_and_edits_all_land(
    app, db_session, city, monkeypatch, mode
):
    client, location, response, answers = run_import_and_edits(
        app, city, monkeypatch, mode=mode, fail_import=True
    )
    if mode == "request":
        assert response.status_code == 500
        assert SERVER_ERROR in response.get_data(as_text=True)
    else:
        assert (response["state"], response["error"]) == ("failed", "failed")
    # The batch is still only previewed and can be imported again; nothing of it was written.
    batch = db_session.execute(select(ImportBatch)).scalar_one()
    assert batch.status == "previewed"
    assert "まだ何も書き込まれていません" in client.get(location).get_data(as_text=True)
    rows = procedure_rows(db_session)
    assert len(rows) == EXISTING
    assert all(row.annual_volume == volume(int(code[2:])) for code, row in rows.items())
    events = audit_events(db_session)
    assert [e for e in events if e.batch_id is not None] == []
    # With the import rolled back, no edit had anything to conflict with.
    assert {status for status, _body in answers.values()} == {200}
    for index in answers:
        row = rows[f"C-{index:04d}"]
        assert (row.verdict, row.notes, row.version) == ("feasible", f"確認済み{index}", 2)
    assert len(events) == 2 * len(answers)


# --- two clerks saving the same procedure at once ------------------------------------------


@pytest.mark.parametrize("page", ["triage", "edit"])
def test_two_saves_of_the_same_version_one_lands_one_is_refused(app, db_session, monkeypatch, page):
    division = add_division(db_session, "子育て給付課")
    procedure = Procedure(
        division_id=division, name="児童手当の認定請求", name_key="児童手当の認定請求"
    )
    db_session.add(procedure)
    db_session.commit()
    ident = procedure.id
    clients = {}
    for login_name in ("aoki", "baba"):
        add_user(db_session, login_name, Role.dx_office)
        clients[login_name] = app.test_client()
        login(clients[login_name], login_name)
    users = dict(db_session.execute(select(User.login, User.id)).all())
    db_session.rollback()
    tokens = {
        name: csrf_token(client, f"/procedures/{ident}/edit") for name, client in clients.items()
    }
    threads: dict[str, int] = {}
    first: list[str] = []
    claim = threading.Lock()
    update_procedure = catalogue_views.update_procedure

    def hold_the_first_save(session, **kwargs):
        # The first save to get through its UPDATE keeps its transaction open until the
        # other save is inside its own UPDATE of the same row, waiting for the lock.
        changed = update_procedure(session, **kwargs)
        me = threading.current_thread().name
        with claim:
            first.append(me)
        if first[0] == me:
            other = next(name for name in threads if name != me)
            wait_for(lambda: in_update_of_procedure(threads[other]), "the other save to block")
        return changed

    monkeypatch.setattr(catalogue_views, "update_procedure", hold_the_first_save)
    start = threading.Barrier(2)

    def save(login_name: str):
        threading.current_thread().name = login_name
        threads[login_name] = threading.get_ident()
        data = {
            "csrf_token": tokens[login_name],
            "version": "1",
            "verdict": "feasible" if login_name == "aoki" else "infeasible",
            "verdict_reason": f"{login_name}の判断",
            "visit_required": "",
            "name": "児童手当の認定請求",
            "online_status": "",
        }
        start.wait()
        if page == "triage":
            response = clients[login_name].post(
                f"/procedures/{ident}/triage", data=data, headers=JSON
            )
            body = response.get_json()
            return response.status_code, body["message"], body.get("version")
        response = clients[login_name].post(f"/procedures/{ident}/edit", data=data)
        return response.status_code, response.get_data(as_text=True), None

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(save, name) for name in clients}
        answers = {name: future.result() for name, future in futures.items()}

    winner, loser = first[0], next(name for name in clients if name != first[0])
    if page == "triage":
        assert answers[winner] == (200, "保存しました（2項目を変更）。", 2)
        assert answers[loser] == (409, CONFLICT, None)
    else:
        assert answers[winner][0] == 302
        assert answers[loser][0] == 409
        assert CONFLICT in answers[loser][1]
        # The refused clerk sees what the other one saved.
        assert f"{winner}の判断" in answers[loser][1]
    db_session.rollback()
    saved = db_session.get(Procedure, ident)
    db_session.refresh(saved)
    expected_verdict = "feasible" if winner == "aoki" else "infeasible"
    assert (saved.verdict, saved.verdict_reason, saved.version) == (
        expected_verdict,
        f"{winner}の判断",
        2,
    )
    events = db_session.execute(
        select(AuditEvent.user_id, AuditEvent.field, AuditEvent.new_value).order_by(
            AuditEvent.field
        )
    ).all()
    assert [tuple(event) for event in events] == [
        (users[winner], "verdict", expected_verdict),
        (users[winner], "verdict_reason", f"{winner}の判断"),
    ]


# --- an edit between the import's reading and its writing -----------------------------------


def test_an_edit_saved_while_the_import_compares_keeps_the_audit_chain_unbroken(
    app, db_session, monkeypatch
):
    division = add_division(db_session, "市民課")
    procedure = Procedure(
        division_id=division, code="A-1", name="転入届", name_key="転入届", annual_volume=3100
    )
    db_session.add(procedure)
    db_session.commit()
    ident = procedure.id
    add_user(db_session, "importer", Role.dx_office)
    add_user(db_session, "editor", Role.dx_office)
    db_session.rollback()
    book = Workbook()
    book.active.append(["課名", "手続コード", "手続名", "年間件数"])
    book.active.append(["市民課", "A-1", "転入届", 3300])
    buffer = io.BytesIO()
    book.save(buffer)
    client = app.test_client()
    login(client, "importer")
    response = client.post(
        "/imports/new",
        data={
            "csrf_token": csrf_token(client, "/imports/new"),
            "file": (io.BytesIO(buffer.getvalue()), "市民課.xlsx"),
        },
        content_type="multipart/form-data",
    )
    location = response.headers["Location"]
    editor = app.test_client()
    login(editor, "editor")
    edit_url = f"/procedures/{ident}/edit"
    edit_token = csrf_token(editor, edit_url)
    write = import_service.apply_plan

    def edit_then_write(*args, **kwargs):
        # The import has compared the file with the database; a clerk saves before it writes.
        data = {
            "csrf_token": edit_token,
            "version": "1",
            "name": "転入届",
            "annual_volume": "3150",
            "verdict": "undecided",
            "visit_required": "",
            "online_status": "",
        }
        with ThreadPoolExecutor(max_workers=1) as pool:
            assert pool.submit(editor.post, edit_url, data=data).result().status_code == 302
        return write(*args, **kwargs)

    monkeypatch.setattr(import_service, "apply_plan", edit_then_write)
    response = client.post(
        f"{location}/commit", data={"csrf_token": csrf_token(client, location), "scope": "whole"}
    )
    events = [
        (e.action, e.old_value, e.new_value)
        for e in audit_events(db_session)
        if e.procedure_id == ident and e.field == "annual_volume"
    ]
    # The import is refused as a whole and says why; the clerk's edit stands.
    assert db_session.execute(select(ImportBatch.status)).scalar_one() == "previewed"
    assert events == [("edit", "3100", "3150")]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "この取り込みで変わる手続のうち1件が、プレビューの作成後に他の人によって保存" in page


# --- an edit between a bulk change's reading and its writing --------------------------------


def test_a_bulk_change_refuses_when_one_of_its_procedures_was_saved_meanwhile(
    app, db_session, monkeypatch
):
    division = add_division(db_session, "市民課")
    procedures = [
        Procedure(division_id=division, name=name, name_key=name)
        for name in ("転入届", "転出届", "転居届")
    ]
    db_session.add_all(procedures)
    db_session.commit()
    ids = [procedure.id for procedure in procedures]
    add_user(db_session, "office", Role.dx_office)
    add_user(db_session, "editor", Role.dx_office)
    db_session.rollback()
    office, editor = app.test_client(), app.test_client()
    login(office, "office")
    login(editor, "editor")
    edit_token = csrf_token(editor, f"/procedures/{ids[1]}")
    read = triage.plan_bulk

    def read_then_someone_saves(*args, **kwargs):
        # The bulk change has read the procedures' values; a clerk judges one of them now.
        changes = read(*args, **kwargs)
        data = {
            "csrf_token": edit_token,
            "version": "1",
            "verdict": "feasible",
            "visit_required": "",
        }
        with ThreadPoolExecutor(max_workers=1) as pool:
            answer = pool.submit(
                editor.post, f"/procedures/{ids[1]}/triage", data=data, headers=JSON
            )
            assert answer.result().status_code == 200
        return changes

    monkeypatch.setattr(triage, "plan_bulk", read_then_someone_saves)
    data = {
        "csrf_token": csrf_token(office, "/procedures"),
        "change": "verdict:infeasible",
        "reason": "原本の提出が必要",
        "scope": "selected",
        "ids": ids,
    }
    response = office.post("/procedures/bulk/apply", data=data)
    # Refused whole, saying why, with the ticks kept for another try: the clerk's judgement
    # stands and the other two are untouched.
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "その間に、この中の手続を他の人が保存しました。何も変更されていません。" in page
    assert all(f'value="{ident}" form="bulk-form" checked' in page for ident in ids)
    db_session.rollback()
    rows = db_session.execute(
        select(Procedure.verdict, Procedure.version).order_by(Procedure.id)
    ).all()
    assert [tuple(row) for row in rows] == [("undecided", 1), ("feasible", 2), ("undecided", 1)]
    events = audit_events(db_session)
    assert [(e.procedure_id, e.action, e.field, e.new_value) for e in events] == [
        (ids[1], "edit", "verdict", "feasible")
    ]


@pytest.mark.skipif(ON_POSTGRES, reason="PostgreSQL locks rows; it has no journal mode to set")
def test_sqlite_runs_in_wal_mode_and_waits_for_a_writer_instead_of_failing(app):
    """Readers never wait for the import's write; writers wait up to 30 s for it, then fail."""
    with app.extensions["engine"].connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
