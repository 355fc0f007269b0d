"""In Chromium: the row of steps on a procedure's page, and a step changed in place."""

from __future__ import annotations

import pytest

from importers.steps import decode, encode
from procedures.models import Procedure, Role
from tests.conftest import PASSWORD, add_division, add_procedure, add_user
from tests.test_browser import browser_page, live_server, shoot  # noqa: F401

pytestmark = pytest.mark.browser

STEPS = {
    "registration": "not_applicable",
    "identification": "online",
    "application": "online",
    "attachments": "online",
    "payment": "offline",
    "decision": "online",
    "issuance": "online",
}


def test_a_step_changed_in_place_completes_the_procedure(live_server, browser_page, db_session):
    page = browser_page
    division = add_division(db_session, "市民課")
    ident = add_procedure(
        db_session, division, "住民票の写しの交付申請", annual_volume=42000, steps=encode(STEPS)
    ).id
    add_user(db_session, "office", Role.dx_office)
    page.goto(f"{live_server}/login")
    page.get_by_label("ログインID").fill("office")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.goto(f"{live_server}/procedures/{ident}")

    row = page.locator("#steps-row")
    assert row.locator(".badge").first.inner_text() == "未完了"
    assert "オフラインの段階：手数料の納付" in row.inner_text()
    page.get_by_text("段階を変更する").click()
    shoot(page, "steps-ja")
    page.locator("#steps").get_by_label("問合せ・意見").select_option("online")
    page.get_by_role("button", name="段階を保存する").click()
    page.get_by_text("保存しました（1段階を変更）。").wait_for()
    assert "オフラインの段階は「手数料の納付」だけです。" in row.inner_text()
    page.locator("#steps").get_by_label("手数料の納付").select_option("online")
    page.get_by_role("button", name="段階を保存する").click()
    page.locator("#steps-row .step-summary .badge-feasible").wait_for()
    assert row.locator(".badge").first.inner_text() == "完全オンライン"
    shoot(page, "steps-complete-ja")

    db_session.expire_all()
    saved = db_session.get(Procedure, ident)
    assert decode(saved.steps) == STEPS | {"payment": "online", "feedback": "online"}

    page.goto(f"{live_server}/lang/en")
    page.goto(f"{live_server}/procedures/{ident}")
    assert page.locator("#steps-row .badge").first.inner_text() == "Complete online"
    page.get_by_text("Change the steps").click()
    shoot(page, "steps-en")
