"""Long imports run beside the request and show their progress; they land whole or not at all."""

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import func, select

from procedures.imports import jobs as import_jobs
from procedures.imports import progress
from procedures.imports import service as import_service
from procedures.models import AuditEvent, ImportBatch, Procedure, Role, utcnow
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login
from tests.test_browser import browser_page, live_server, sign_in  # noqa: F401 - fixtures
from tests.test_imports import upload, workbook_bytes

ROWS = [("市民課", f"証明書交付申請{number}", number * 10) for number in range(1, 31)]


@pytest.fixture
def office(app, client, db_session):
    """A signed-in DX office, with every import large enough to run in the background."""
    app.config["IMPORT_BACKGROUND_ROWS"] = 1
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    return client


def previewed_batch(client) -> str:
    response = upload(client, workbook_bytes(ROWS))
    assert response.status_code == 302
    return response.headers["Location"]


def confirm(client, location: str):
    return client.post(
        f"{location}/commit", data={"csrf_token": csrf_token(client, location), "scope": "whole"}
    )


def count(db_session, model) -> int:
    db_session.expire_all()
    return db_session.exec(select(func.count()).select_from(model)).one()


def test_a_long_import_shows_its_progress_page_then_its_result(app, office, db_session):
    location = previewed_batch(office)
    response = confirm(office, location)
    assert response.status_code == 302
    assert response.headers["Location"] == f"{location}/progress"
    import_jobs.wait_for_imports(app)

    assert office.get(f"{location}/progress.json").get_json() == {
        "state": "done",
        "phase": "done",
        "done": 30,
        "total": 30,
        "error": None,
    }
    finished = office.get(f"{location}/progress")
    assert finished.status_code == 302 and finished.headers["Location"] == location
    page = office.get(location).get_data(as_text=True)
    assert "取り込み済み" in page or "取り込みました" in page
    assert re.search(r'<span class="stat-value">30</span><span class="stat-label">新規', page)
    assert count(db_session, Procedure) == 30
    assert count(db_session, AuditEvent) == 30


def test_progress_is_readable_and_others_are_served_while_the_import_transaction_is_open(
    app, office, db_session, monkeypatch
):
    writing, release = threading.Event(), threading.Event()
    original = progress.report

    def report_and_hold(batch_id, phase, done, total):
        original(batch_id, phase, done, total)
        if phase == "write" and done == total and not writing.is_set():
            writing.set()  # every row is written, nothing committed yet
            release.wait(10)

    monkeypatch.setattr(progress, "report", report_and_hold)
    location = previewed_batch(office)
    confirm(office, location)
    assert writing.wait(10), "the import never reached its write phase"
    try:
        assert office.get(f"{location}/progress.json").get_json() == {
            "state": "running",
            "phase": "write",
            "done": 30,
            "total": 30,
            "error": None,
        }
        page = office.get(f"{location}/progress").get_data(as_text=True)
        assert "書き込み中：30 / 30件" in page
        # Another request reads the catalogue meanwhile, and sees none of the uncommitted rows.
        listing = office.get("/procedures")
        assert listing.status_code == 200
        assert "証明書交付申請1" not in listing.get_data(as_text=True)
        assert count(db_session, Procedure) == 0
        # A second click on 'import' does not start the same import twice.
        token = csrf_token(office, "/imports/new")
        again = office.post(f"{location}/commit", data={"csrf_token": token, "scope": "whole"})
        assert again.headers["Location"] == location
        assert office.get(location).headers["Location"] == f"{location}/progress"
    finally:
        release.set()
    import_jobs.wait_for_imports(app)
    assert count(db_session, Procedure) == 30


def test_a_failed_long_import_writes_nothing_says_so_and_can_be_confirmed_again(
    app, office, db_session, monkeypatch
):
    original = progress.report

    def fail_halfway(batch_id, phase, done, total):
        original(batch_id, phase, done, total)
        if phase == "write" and done > 0:
            raise OSError("disk full")

    monkeypatch.setattr(progress, "report", fail_halfway)
    location = previewed_batch(office)
    confirm(office, location)
    import_jobs.wait_for_imports(app)

    assert office.get(f"{location}/progress.json").get_json()["state"] == "failed"
    page = office.get(f"{location}/progress").get_data(as_text=True)
    assert "取り込みに失敗しました。何も書き込まれていません。" in page
    assert count(db_session, Procedure) == 0
    assert count(db_session, AuditEvent) == 0
    db_session.expire_all()
    assert db_session.exec(select(ImportBatch.status)).one() == "previewed"

    monkeypatch.setattr(progress, "report", original)
    confirm(office, location)
    import_jobs.wait_for_imports(app)
    assert count(db_session, Procedure) == 30


def test_an_interrupted_import_can_be_confirmed_again(app, office, db_session):
    location = previewed_batch(office)
    batch_id = int(location.rsplit("/", 1)[1])
    db_session.exec(update(ImportBatch).values(status="running"))
    db_session.commit()
    with app.app_context():
        progress.start(batch_id, 30)
        with progress._engine().begin() as connection:
            connection.execute(
                update(progress.progress_table).values(
                    updated_at=utcnow().replace(tzinfo=None) - timedelta(minutes=30)
                )
            )
    page = office.get(location, follow_redirects=True).get_data(as_text=True)
    assert "取り込みが途中で止まりました" in page

    token = csrf_token(office, f"{location}/progress")
    office.post(f"{location}/commit", data={"csrf_token": token, "scope": "whole"})
    import_jobs.wait_for_imports(app)
    assert count(db_session, Procedure) == 30


def test_a_small_import_is_done_within_the_request(app, client, db_session):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    location = previewed_batch(client)
    response = confirm(client, location)
    assert response.headers["Location"] == location
    assert count(db_session, Procedure) == 30


@pytest.mark.browser
def test_the_browser_follows_a_long_import_to_its_result(
    app,
    live_server,
    browser_page,
    db_session,
    monkeypatch,
    tmp_path,  # noqa: F811 - fixtures
):
    app.config["IMPORT_BACKGROUND_ROWS"] = 1
    add_user(db_session, "office", Role.dx_office)
    seen_writing = threading.Event()
    original = progress.report

    def slow_report(batch_id, phase, done, total):
        original(batch_id, phase, done, total)
        if phase == "write":
            seen_writing.wait(10)  # hold the import until the page has shown the write phase

    monkeypatch.setattr(progress, "report", slow_report)
    page = browser_page
    sign_in(page, live_server, "office")
    path = tmp_path / "市民課.xlsx"
    path.write_bytes(workbook_bytes(ROWS))
    page.goto(f"{live_server}/imports/new")
    page.get_by_label("手続一覧ファイル").set_input_files(str(path))
    page.get_by_role("button", name="アップロードして確認").click()
    page.get_by_role("button", name="この内容で取り込む").click()

    status = page.get_by_role("status")
    status.filter(has_text="書き込み中：0 / 30件").wait_for()
    assert page.locator("progress").get_attribute("max") == "30"
    seen_writing.set()
    page.wait_for_url(re.compile(r".*/imports/\d+$"))
    assert page.get_by_text("取り込み済み").first.is_visible()
    assert count(db_session, Procedure) == 30


def test_a_long_import_is_refused_whole_when_a_procedure_was_saved_meanwhile(
    app, office, db_session, monkeypatch
):
    division = add_division(db_session, "市民課")
    add_procedure(db_session, division, "証明書交付申請1", annual_volume=1)
    location = previewed_batch(office)
    write = import_service.apply_plan

    def someone_saves_then_write(*args, **kwargs):
        with app.extensions["engine"].begin() as connection:
            # A clerk corrects the volume the file is about to change.
            connection.execute(
                update(Procedure).values(annual_volume=5, version=Procedure.version + 1)
            )
        return write(*args, **kwargs)

    monkeypatch.setattr(import_service, "apply_plan", someone_saves_then_write)
    confirm(office, location)
    import_jobs.wait_for_imports(app)

    assert office.get(f"{location}/progress.json").get_json()["error"] == "changed_meanwhile"
    page = office.get(f"{location}/progress").get_data(as_text=True)
    assert "この中の手続を他の人が保存しました。何も取り込まれていません。" in page
    assert count(db_session, Procedure) == 1
    assert count(db_session, AuditEvent) == 0
