"""Accounts as a DX office expects: the admin edits, deactivates and resets users; everyone
changes their own password; the new-user form starts at the least privilege. All logged."""

from __future__ import annotations

import logging
import re

import pytest
from sqlmodel import select

from procedures.models import Role, User
from tests.conftest import PASSWORD, add_division, add_user, csrf_token, login

SECURITY = "procedures.security"


@pytest.fixture
def office(db_session):
    """An admin ("boss"), a viewer ("reader") and a division."""
    add_division(db_session, "市民課")
    add_user(db_session, "boss", Role.admin)
    add_user(db_session, "reader", Role.viewer)
    return db_session


def user(db_session, login_name: str) -> User:
    db_session.expire_all()
    return db_session.exec(select(User).where(User.login == login_name)).one()


def signed_in(app, login_name: str, password: str = PASSWORD):
    client = app.test_client()
    assert login(client, login_name, password).status_code == 302
    return client


def is_signed_in(client) -> bool:
    response = client.get("/procedures")
    if response.status_code == 302 and response.headers["Location"].startswith("/login"):
        return False
    assert response.status_code == 200
    return True


def replay(app, client):
    """A fresh browser presenting a copy of the client's session cookie."""
    copy = app.test_client()
    stored = client.get_cookie("session")
    assert stored is not None
    copy.set_cookie("session", stored.value)
    return copy


def post(client, url: str, data: dict | None = None, page: str | None = None):
    token = csrf_token(client, page or url)
    return client.post(url, data={"csrf_token": token, **(data or {})})


def text(response) -> str:
    return response.get_data(as_text=True)


# --- the admin edits a user -----------------------------------------------------------------


def test_the_users_list_links_to_each_user_and_the_admin_edits_role_and_division(
    app, office, caplog
):
    admin = signed_in(app, "boss")
    reader = user(office, "reader")
    assert f'href="/admin/users/{reader.id}"' in text(admin.get("/admin/users"))
    page = text(admin.get(f"/admin/users/{reader.id}"))
    assert re.search(r'<option selected value="viewer">|<option value="viewer" selected', page)
    with caplog.at_level(logging.WARNING, logger=SECURITY):
        response = post(
            admin, f"/admin/users/{reader.id}", {"role": "division", "division": "市民課"}
        )
    assert response.status_code == 302
    changed = user(office, "reader")
    assert changed.role == "division" and changed.division_id is not None
    assert "'reader'" in caplog.text and "changed by boss" in caplog.text
    assert "viewer -> division" in caplog.text


def test_a_division_user_needs_a_division(app, office):
    admin = signed_in(app, "boss")
    reader = user(office, "reader")
    response = post(admin, f"/admin/users/{reader.id}", {"role": "division", "division": ""})
    assert response.status_code == 400
    assert 'id="error-summary"' in text(response)
    assert user(office, "reader").role == "viewer"


def test_an_unknown_user_is_404(app, office):
    admin = signed_in(app, "boss")
    assert admin.get("/admin/users/999").status_code == 404


# --- deactivation ---------------------------------------------------------------------------


def test_deactivation_ends_the_users_sessions_and_reactivation_lets_them_back(app, office, caplog):
    reader_browser = signed_in(app, "reader")
    copied = replay(app, reader_browser)
    assert is_signed_in(copied)
    admin = signed_in(app, "boss")
    reader = user(office, "reader")
    with caplog.at_level(logging.WARNING, logger=SECURITY):
        response = post(
            admin, f"/admin/users/{reader.id}/deactivate", page=f"/admin/users/{reader.id}"
        )
    assert response.status_code == 302
    assert user(office, "reader").active is False
    assert "'reader'" in caplog.text and "deactivated by boss" in caplog.text
    assert "1 sessions ended" in caplog.text
    # The copied cookie opens nothing, and the password no longer signs in.
    assert copied.get("/procedures").headers["Location"].startswith("/login")
    assert not is_signed_in(reader_browser)
    assert login(app.test_client(), "reader").status_code != 302
    with caplog.at_level(logging.WARNING, logger=SECURITY):
        post(admin, f"/admin/users/{reader.id}/reactivate", page=f"/admin/users/{reader.id}")
    assert user(office, "reader").active is True
    assert "reactivated by boss" in caplog.text
    assert is_signed_in(signed_in(app, "reader"))


def test_an_admin_cannot_deactivate_themselves(app, office):
    admin = signed_in(app, "boss")
    boss = user(office, "boss")
    page = text(admin.get(f"/admin/users/{boss.id}"))
    assert "/deactivate" not in page
    response = post(admin, f"/admin/users/{boss.id}/deactivate", page="/admin/users")
    assert response.status_code == 302
    assert "You cannot deactivate your own account." in text(
        admin.get("/lang/en?next=/admin/users/" + str(boss.id), follow_redirects=True)
    )
    assert user(office, "boss").active is True


def test_the_last_active_admin_stays_an_active_admin(app, office, db_session):
    add_user(db_session, "second", Role.admin)
    admin = signed_in(app, "boss")
    admin.get("/lang/en")
    second = user(office, "second")
    # Two admins: demoting one is fine; then the other is the last one.
    post(admin, f"/admin/users/{second.id}", {"role": "viewer", "division": ""})
    assert user(office, "second").role == "viewer"
    post(admin, f"/admin/users/{second.id}", {"role": "admin", "division": ""})
    assert user(office, "second").role == "admin"
    # "second" deactivates "boss"? Only when another admin stays: here "second" does.
    other = signed_in(app, "second")
    other.get("/lang/en")
    boss = user(office, "boss")
    post(other, f"/admin/users/{boss.id}/deactivate", page="/admin/users")
    assert user(office, "boss").active is False
    # Now "second" is the last active admin: demoting it is refused with a message.
    response = post(other, f"/admin/users/{second.id}", {"role": "viewer", "division": ""})
    assert response.status_code == 400
    assert "This is the last active administrator" in text(response)
    assert user(office, "second").role == "admin"


def test_deactivating_the_last_admin_is_refused(app, office, db_session):
    # Only reachable by another admin who is inactive-to-be: check the rule directly.
    from procedures.accounts.users import UserError, set_active

    boss = user(office, "boss")
    with app.app_context(), pytest.raises(UserError) as refused:
        set_active(session=db_session, user=boss, active=False, by_user_id=0)
    assert refused.value.code == "last_admin"


# --- one-time password ----------------------------------------------------------------------


def test_a_one_time_password_must_be_changed_before_anything_else(app, office, caplog):
    reader_browser = signed_in(app, "reader")
    admin = signed_in(app, "boss")
    reader = user(office, "reader")
    with caplog.at_level(logging.WARNING, logger=SECURITY):
        response = post(
            admin,
            f"/admin/users/{reader.id}/password",
            {"password": "temporary-123"},
            page=f"/admin/users/{reader.id}",
        )
    assert response.status_code == 302
    assert "one-time password set for 'reader'" in caplog.text and "by boss" in caplog.text
    assert "temporary-123" not in caplog.text
    assert user(office, "reader").must_change_password is True
    # Their sessions ended; the old password no longer works.
    assert not is_signed_in(reader_browser)
    assert login(app.test_client(), "reader").status_code != 302
    browser = app.test_client()
    response = login(browser, "reader", "temporary-123")
    assert response.headers["Location"] == "/account/password"
    for page in ("/procedures", "/admin/users", "/account/sessions", "/dashboard"):
        assert browser.get(page).headers["Location"] == "/account/password", page
    assert browser.get("/account/password").status_code == 200
    assert browser.get("/lang/en?next=/account/password").status_code == 302
    page = text(browser.get("/account/password"))
    assert "An administrator set a one-time password for you." in page
    response = post(
        browser,
        "/account/password",
        {
            "current_password": "temporary-123",
            "new_password": "my own password",
            "confirm": "my own password",
        },
    )
    assert response.status_code == 302
    assert user(office, "reader").must_change_password is False
    assert is_signed_in(browser)
    assert is_signed_in(signed_in(app, "reader", "my own password"))


def test_a_one_time_password_follows_the_rules(app, office):
    admin = signed_in(app, "boss")
    admin.get("/lang/en")
    reader = user(office, "reader")
    response = post(
        admin,
        f"/admin/users/{reader.id}/password",
        {"password": "short"},
        page=f"/admin/users/{reader.id}",
    )
    # The page again, the reason at the field and in the summary that links to it.
    assert response.status_code == 400
    page = text(response)
    summary = page.split('id="password-error-summary"', 1)[1].split("</div>", 1)[0]
    assert re.findall(r'<a href="#([^"]+)">', summary) == ["password"]
    assert "at least 8 characters" in summary
    assert '<p class="field-error" id="password-error">' in page
    assert user(office, "reader").must_change_password is False


# --- own password ---------------------------------------------------------------------------


def test_changing_ones_password_ends_the_other_sessions(app, office, caplog):
    elsewhere = signed_in(app, "reader")
    here = signed_in(app, "reader")
    assert "/account/password" in text(here.get("/account/sessions"))
    with caplog.at_level(logging.WARNING, logger=SECURITY):
        response = post(
            here,
            "/account/password",
            {
                "current_password": PASSWORD,
                "new_password": "a new secret",
                "confirm": "a new secret",
            },
        )
    assert response.status_code == 302
    assert "password changed by reader (1 other sessions ended)" in caplog.text
    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)
    assert login(app.test_client(), "reader").status_code != 302
    assert is_signed_in(signed_in(app, "reader", "a new secret"))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"current_password": "wrong one!", "new_password": "a new secret"},
            "The current password is wrong.",
        ),
        ({"new_password": "short"}, "it needs at least 8 characters"),
        ({"new_password": "reader"}, "it needs at least 8 characters"),
        ({"new_password": PASSWORD}, "must be different from the current one"),
        ({"confirm": "something else"}, "The two new passwords are not the same."),
    ],
)
def test_a_refused_password_change_says_why(app, office, caplog, fields, message):
    client = signed_in(app, "reader")
    client.get("/lang/en")
    data = {"current_password": PASSWORD, "new_password": "a new secret", **fields}
    data.setdefault("confirm", data["new_password"])
    with caplog.at_level(logging.WARNING, logger=SECURITY):
        response = post(client, "/account/password", data)
    assert response.status_code == 400
    page = text(response)
    assert message in page
    assert 'id="error-summary"' in page and 'href="#' in page
    assert verify(office, "reader", PASSWORD)
    if "current password is wrong" in message:
        assert "wrong current password" in caplog.text


def test_a_new_password_may_not_be_the_login(app, db_session):
    add_user(db_session, "longlogin", Role.viewer)
    client = signed_in(app, "longlogin")
    client.get("/lang/en")
    response = post(
        client,
        "/account/password",
        {"current_password": PASSWORD, "new_password": "LongLogin", "confirm": "LongLogin"},
    )
    assert response.status_code == 400
    assert "must not be the same as the login" in text(response)


def verify(db_session, login_name: str, password: str) -> bool:
    from procedures.accounts.users import verify_password

    return verify_password(user(db_session, login_name).password_hash, password)


# --- the new-user form ----------------------------------------------------------------------


def test_the_new_user_form_starts_at_viewer(app, office):
    admin = signed_in(app, "boss")
    page = text(admin.get("/admin/users"))
    role_select = re.search(r'<select[^>]*name="role".*?</select>', page, re.S)
    assert role_select is not None
    selected = re.findall(r"<option[^>]*selected[^>]*>", role_select.group(0))
    assert selected and 'value="viewer"' in selected[0]


def test_the_new_user_form_summarises_errors_and_says_why_a_password_is_refused(app, office):
    admin = signed_in(app, "boss")
    admin.get("/lang/en")
    for password, reason in (
        ("short", "The password is too short: it needs at least 8 characters."),
        ("newperson", "The password must not be the same as the login."),
    ):
        response = post(
            admin,
            "/admin/users",
            {"login": "newperson", "password": password, "role": "viewer", "division": ""},
        )
        assert response.status_code == 400
        page = text(response)
        summary = page.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
        assert f'<a href="#password">Password: {reason}</a>' in summary
        # The summary comes before the fields.
        assert page.index('id="error-summary"') < page.index('id="login"')
    response = post(
        admin,
        "/admin/users",
        {"login": "boss", "password": "long enough", "role": "viewer", "division": ""},
    )
    assert "This login is taken already." in text(response)
    assert 'href="#login"' in text(response)


def test_creating_a_user_is_logged(app, office, caplog):
    admin = signed_in(app, "boss")
    with caplog.at_level(logging.WARNING, logger=SECURITY):
        response = post(
            admin,
            "/admin/users",
            {"login": "newperson", "password": "long enough", "role": "viewer", "division": ""},
        )
    assert response.status_code == 302
    assert "user created by boss: 'newperson'" in caplog.text
    assert "long enough" not in caplog.text
    assert user(office, "newperson").role == "viewer"
