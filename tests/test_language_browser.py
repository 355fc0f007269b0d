"""In Chromium: English chosen before sign-in stays and follows the account; times in Japan time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from procedures.core import clock
from procedures.models import AuditEvent, Role
from tests.conftest import PASSWORD, add_division, add_procedure, add_user
from tests.test_browser import browser_page, live_server, shoot  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

AFTER_15_UTC = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)


def sign_in(page, server: str, *, login: str, password_label: str, button: str) -> None:
    page.get_by_label(login).fill("clerk")
    page.get_by_label(password_label).fill(PASSWORD)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(f"{server}/procedures")


def test_english_survives_sign_in_and_out_and_comes_back_in_another_browser(
    live_server, browser_page, shared_chromium, db_session, monkeypatch
):
    monkeypatch.setattr(clock, "utc_now", lambda: AFTER_15_UTC)
    add_user(db_session, "clerk", Role.viewer)
    procedure = add_procedure(db_session, add_division(db_session, "市民課"), "転入届")
    db_session.add(
        AuditEvent(procedure_id=procedure.id, action="edit", field="notes", at=AFTER_15_UTC)
    )
    db_session.commit()
    page = browser_page

    page.goto(f"{live_server}/login")
    page.get_by_role("link", name="English").click()
    sign_in(page, live_server, login="Login", password_label="Password", button="Sign in")
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(f"{live_server}/procedures/{procedure.id}")
    history = page.locator("section", has=page.get_by_role("heading", name="History"))
    assert history.locator("tbody td").first.inner_text() == "2026-12-05 00:30"
    shoot(page, "detail-history-en")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server}/login")
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in"

    other = shared_chromium.new_context().new_page()  # no cookie: Japanese until signed in
    other.goto(f"{live_server}/login")
    assert other.locator("html").get_attribute("lang") == "ja"
    sign_in(other, live_server, login="ログインID", password_label="パスワード", button="ログイン")
    assert other.locator("html").get_attribute("lang") == "en"
    assert other.get_by_role("heading", level=1).inner_text() == "Procedures"
    other.context.close()
