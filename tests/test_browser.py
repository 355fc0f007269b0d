"""End to end in Debian's Chromium: sign in, upload, import, list, export."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from werkzeug.serving import make_server

from procedures.models import Role
from tests.conftest import CHROMIUM, PASSWORD, _chromium_or_skip, add_division, add_user  # noqa: F401

SCREENSHOTS = (
    Path(os.environ.get("SCREENSHOT_DIR", "")) if os.environ.get("SCREENSHOT_DIR") else None
)

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def browser_page(shared_chromium):
    """A page in a fresh browser context: its own cookies, downloads and storage."""
    context = shared_chromium.new_context(
        accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    yield page
    context.close()


def shoot(page, name: str) -> None:
    if SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def inventory_file(path: Path) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "市民課"
    sheet.append(["市民課 手続一覧（令和5年12月1日現在）"])
    sheet.append([])
    sheet.append(["手続名", "年間件数", "来庁の要否"])
    sheet.append(["住民票の写しの交付申請", "42,000", "不要"])
    sheet.append(["住民基本台帳の一部の写しの閲覧申請", "約120", "要"])
    sheet.append(["転入届", "3,100", "要"])
    workbook.save(path)
    return path


def test_login_upload_list_and_export(live_server, browser_page, db_session, tmp_path):
    page = browser_page
    add_division(db_session, "市民課")
    add_user(db_session, "office", Role.dx_office)

    page.goto(f"{live_server}/procedures")
    assert page.url.startswith(f"{live_server}/login")
    shoot(page, "login-ja")
    page.get_by_label("ログインID").fill("office")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(f"{live_server}/procedures")

    page.get_by_role("link", name="取り込み").click()
    page.get_by_label("手続一覧ファイル").set_input_files(
        str(inventory_file(tmp_path / "市民課.xlsx"))
    )
    page.get_by_label("課", exact=True).select_option("市民課")
    page.get_by_role("button", name="アップロードして確認").click()
    assert page.get_by_text("まだ何も書き込まれていません").is_visible()
    shoot(page, "preview-ja")
    page.get_by_role("button", name="この内容で取り込む").click()
    assert page.get_by_text("取り込みました：新規 3件").is_visible()

    page.get_by_role("link", name="手続一覧").first.click()
    page.get_by_label("検索").fill("閲覧")
    page.get_by_role("button", name="絞り込む").click()
    rows = page.locator("table.data-table tbody tr")
    assert rows.count() == 1
    assert "住民基本台帳の一部の写しの閲覧申請" in rows.first.inner_text()
    shoot(page, "list-ja")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="この一覧を出力（.xlsx）").click()
    download = download_info.value
    sheet = load_workbook(io.BytesIO(Path(download.path()).read_bytes())).active
    names = [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == ["住民基本台帳の一部の写しの閲覧申請"]

    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", name="Procedures").is_visible()
    shoot(page, "list-en")


def sign_in(page, base: str, user: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("ログインID").fill(user)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(f"{base}/procedures")


def test_dx_office_triages_a_procedure_in_place(live_server, browser_page, db_session):
    from tests.conftest import add_procedure

    page = browser_page
    shimin = add_division(db_session, "市民課")
    add_procedure(db_session, shimin, "住民票の写しの交付申請", code="A-1", annual_volume=42000)
    add_procedure(db_session, shimin, "転入届", code="A-2", annual_volume=3100)
    add_user(db_session, "office", Role.dx_office)
    sign_in(page, live_server, "office")

    page.get_by_label("検索").fill("住民票")
    page.get_by_role("button", name="絞り込む").click()
    page.get_by_role("link", name="住民票の写しの交付申請").click()
    page.evaluate("window.notReloaded = true")
    page.get_by_label("オンライン化の可否").select_option("infeasible")
    page.get_by_label("判断理由").fill("原本の提出が必要")
    page.get_by_label("原本が紙").check()
    page.get_by_role("button", name="保存する").click()
    status = page.locator(".inplace-status")
    status.get_by_text("保存しました（3項目を変更）。").wait_for()
    assert page.evaluate("window.notReloaded") is True
    assert "オンライン化不可" in page.locator("#judgement").inner_text()
    shoot(page, "triage-ja")

    page.reload()
    history = page.locator("table.data-table").last.inner_text()
    assert "原本の提出が必要" in history
    assert "office" in history


def test_division_user_is_refused_on_another_divisions_procedure(
    live_server, browser_page, db_session
):
    from tests.conftest import add_procedure

    page = browser_page
    add_division(db_session, "市民課")
    kodomo = add_division(db_session, "子育て給付課")
    other = add_procedure(db_session, kodomo, "児童手当の認定請求")
    add_user(db_session, "shimin", Role.division, division="市民課")
    sign_in(page, live_server, "shimin")
    page.goto(f"{live_server}/procedures/{other.id}")
    assert page.get_by_text("他の課の手続のため閲覧のみです。").is_visible()
    assert page.locator("form[data-inplace]").count() == 0
    response = page.goto(f"{live_server}/procedures/{other.id}/edit")
    assert response.status == 403
    assert page.get_by_text("このページまたは操作の権限がありません。").is_visible()
