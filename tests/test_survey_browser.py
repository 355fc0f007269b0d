"""In Chromium: the DX office downloads the yearly conversion list and a division's survey."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from procedures.models import Role, Verdict
from procedures.plan.schedule import recompute_plan
from procedures.survey.status import current_fiscal_year
from procedures.vocabulary import japanese_fiscal_year
from tests.conftest import add_division, add_procedure, add_user
from tests.test_browser import browser_page, live_server, shoot, sign_in  # noqa: F401

pytestmark = pytest.mark.browser


def downloaded_workbook(page, link):
    """Click a download link and open the file it gives with openpyxl."""
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    content = Path(download.path()).read_bytes()
    return download.suggested_filename, load_workbook(io.BytesIO(content))


def test_dx_office_downloads_the_yearly_list_and_a_division_workbook(
    live_server,  # noqa: F811
    browser_page,  # noqa: F811
    db_session,
):
    page = browser_page
    kosodate = add_division(db_session, "子育て給付課", "子ども青少年部")
    add_division(db_session, "市民課", "市民自治部")
    add_procedure(
        db_session,
        kosodate,
        "児童手当の認定請求",
        code="K-001",
        annual_volume=5000,
        verdict=Verdict.feasible,
        mynaportal_eligible=True,
    )
    add_procedure(db_session, kosodate, "保育所入所申込", code="K-002", visit_required=True)
    add_user(db_session, "office", Role.dx_office)
    recompute_plan(db_session)
    db_session.commit()
    sign_in(page, live_server, "office")

    this_year = current_fiscal_year()
    page.goto(f"{live_server}/plan/{this_year}")
    name, plan = downloaded_workbook(
        page, page.get_by_role("link", name="年度別一覧をダウンロード（.xlsx）")
    )
    assert name == f"conversion-plan-FY{this_year}.xlsx"
    sheet = plan.worksheets[0]
    assert sheet["A1"].value == (
        f"藤沢市（デモ）：{japanese_fiscal_year(this_year)}（FY{this_year}）にオンライン化する手続"
    )
    assert sheet["E5"].value == "児童手当の認定請求"

    page.get_by_role("link", name="調査票").first.click()
    year = current_fiscal_year()
    era = japanese_fiscal_year(year)
    assert page.get_by_role("heading", name=f"各課への調査票 {era}（{year}年度）").is_visible()
    row = page.locator("#survey-status tbody tr", has_text="子育て給付課")
    assert "未回答" in row.inner_text()
    shoot(page, "survey-ja")
    name, survey = downloaded_workbook(
        page, row.get_by_role("button", name="ダウンロード（.xlsx）")
    )
    assert name == f"調査票_{era}_子育て給付課.xlsx"
    sheet = survey["調査票"]
    assert sheet["A1"].value == (
        f"藤沢市（デモ） {era} 手続のオンライン化に関する調査票（{year}年度）"
    )
    assert sheet["A2"].value == "所管課：子育て給付課（子ども青少年部）"
    assert [sheet["E6"].value, sheet["E7"].value] == ["児童手当の認定請求", "保育所入所申込"]
    assert sheet["H7"].value == "要"

    page.reload()  # the page now shows when the workbook was made
    made = page.locator("#survey-status tbody tr", has_text="子育て給付課").locator("td").nth(3)
    assert made.inner_text().strip() != "—"
