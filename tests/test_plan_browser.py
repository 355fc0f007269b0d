"""In Chromium: change a capacity in what-if, see procedures move, save, see the comparison."""

from __future__ import annotations

import pytest

from procedures.models import Role, Verdict
from procedures.plan.policy import save_policy
from procedures.plan.schedule import recompute_plan
from tests.conftest import PASSWORD, add_division, add_procedure, add_user
from tests.test_browser import browser_page, live_server, shoot  # noqa: F401
from tests.test_plan import Y, policy

pytestmark = pytest.mark.browser


def test_what_if_then_save_then_compare(live_server, browser_page, db_session):  # noqa: F811
    page = browser_page
    division = add_division(db_session, "子育て支援課")
    for name, volume in [("児童手当の認定請求", 5000), ("保育所入所申込", 3000), ("犬の登録", 20)]:
        add_procedure(db_session, division, name, annual_volume=volume, verdict=Verdict.feasible)
    add_user(db_session, "office", Role.dx_office)
    save_policy(db_session, policy(2, 2))
    recompute_plan(db_session)
    db_session.commit()

    page.goto(f"{live_server}/plan/policy")
    page.get_by_label("ログインID").fill("office")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(f"{live_server}/plan/policy")

    page.locator("#years-0-capacity").fill("1")
    page.get_by_role("button", name="試算する（保存しません）").click()
    preview = page.locator("#preview")
    assert "1件の手続の位置が変わります" in preview.inner_text()
    moved = page.locator("table[data-changes=moved_year] tbody tr")
    assert moved.count() == 1
    assert moved.first.inner_text().split("\t") == ["", "保育所入所申込", f"FY{Y}", f"FY{Y + 1}"]
    shoot(page, "plan-what-if-ja")

    page.get_by_role("button", name="新しい版として保存して再計算").click()
    page.wait_for_url(f"{live_server}/plan?compare=*")
    assert page.get_by_text(
        "方針の第2版を保存し、計画を再計算しました：3件を配置しました。"
    ).is_visible()
    comparison = page.locator("#comparison")
    assert "現在の計画と「方針 第2版より前」" in comparison.inner_text()
    assert "別の年度へ移った 1件" in comparison.inner_text()
    assert "保育所入所申込" in comparison.inner_text()
    shoot(page, "plan-compared-ja")
