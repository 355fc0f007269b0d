"""In Chromium: the DX office checks the inventory and downloads it in the national layout."""

from __future__ import annotations

from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from importers.national import load_layout
from procedures.models import Role
from tests.conftest import add_user
from tests.test_browser import (  # noqa: F401
    CHROMIUM,
    _chromium_or_skip,
    browser_page,
    live_server,
    shoot,
    sign_in,
)
from tests.test_national_export import city_with_odd_columns

pytestmark = pytest.mark.browser


def test_dx_office_checks_and_downloads_the_national_layout(live_server, browser_page, db_session):
    page = browser_page
    city_with_odd_columns(db_session)
    add_user(db_session, "office", Role.dx_office)
    sign_in(page, live_server, "office")

    page.get_by_role("link", name="国の棚卸調査用に出力").click()
    assert page.get_by_role("heading", name="国の棚卸調査用の出力").is_visible()
    assert page.get_by_text("確認が必要な値：3件。").is_visible()
    shoot(page, "national-ja")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="国の様式でダウンロード（.xlsx）").click()
    path = Path(download_info.value.path())
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("手続一覧").to_python()
    assert rows[0] == load_layout().names
    assert len(rows) == 4

    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", name="National survey export").is_visible()
    assert page.get_by_role("link", name="Download in the national layout (.xlsx)").is_visible()
    shoot(page, "national-en")
