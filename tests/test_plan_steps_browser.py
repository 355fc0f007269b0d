"""In Chromium: switch on the options of complete online, save, read what each year completes."""

from __future__ import annotations

import pytest

from procedures.models import Role
from procedures.plan.policy import save_policy
from procedures.plan.schedule import recompute_plan
from tests.conftest import add_user
from tests.test_browser import browser_page, live_server, shoot, sign_in  # noqa: F401
from tests.test_plan_steps import Y, feasible, plan_policy, small_city, steps

pytestmark = pytest.mark.browser

WIDTHS = (1366, 768)


def shoot_widths(page, name: str) -> None:
    """Take the page at a desktop's and a tablet's width."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shoot(page, f"{name}-{width}")


def test_the_options_move_the_one_step_procedure_first_and_years_count_complete(
    live_server,
    browser_page,  # noqa: F811
    db_session,
):
    page = browser_page
    division = small_city(db_session)
    feasible(
        db_session,
        division,
        "住民異動届",
        code="F",
        annual_volume=50,
        steps=steps(application="offline"),
    )
    add_user(db_session, "office", Role.dx_office)
    save_policy(db_session, plan_policy(3, 3))
    recompute_plan(db_session)
    db_session.commit()

    sign_in(page, live_server, "office")
    page.goto(f"{live_server}/plan/policy")
    box = page.get_by_label("オンライン化で移る申請件数で順位付けする")
    assert not box.is_checked()
    shoot_widths(page, "plan-policy-complete-ja")
    box.check()
    page.get_by_label("あと1段階で完全オンライン").fill("2")
    page.get_by_role("button", name="新しい版として保存して再計算").click()
    page.wait_for_url(f"{live_server}/plan?compare=*")

    cells = page.locator("#progress tbody tr td:nth-child(4)").all_inner_texts()
    # 犬の登録 (payment) and 住民異動届 (application) are one step from complete: both come first.
    assert cells == ["2\n未確認 1件", "0\n未確認 3件"]
    shoot_widths(page, "plan-overview-complete-ja")
    page.goto(f"{live_server}/plan/{Y}")
    assert page.locator("#complete-count").inner_text() == (
        "うち、実施後に完全オンラインとなるもの 2件、段階に未確認があるもの 1件。"
    )
    first = page.locator("#planned tbody tr").first
    assert "犬の登録" in first.inner_text()
    assert "実施後に完全オンライン" in first.locator("td").nth(5).inner_text()
    assert "「手数料の納付」をオンライン化すれば完全オンラインになります（+2.00点）" in (
        first.locator("ul.reasons").inner_text()
    )
    shoot_widths(page, "plan-year-complete-ja")

    page.goto(f"{live_server}/lang/en?next=/plan/{Y}")
    assert page.locator("#complete-count").inner_text() == (
        "Of these, complete online once converted: 2; with a step not yet confirmed: 1."
    )
    shoot_widths(page, "plan-year-complete-en")
    page.goto(f"{live_server}/plan")
    shoot_widths(page, "plan-overview-complete-en")
    page.goto(f"{live_server}/plan/policy")
    assert page.get_by_label("Rank by the applications a conversion would move online").is_checked()
    shoot_widths(page, "plan-policy-complete-en")
