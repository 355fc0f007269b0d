"""Signing in and out, roles, and CSRF on every form."""

import pytest
from sqlmodel import select

from procedures.accounts.users import verify_password
from procedures.models import Role, User
from tests.conftest import PASSWORD, add_division, add_procedure, add_user, csrf_token, login


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/procedures",
        "/procedures/1",
        "/procedures/1/edit",
        "/imports/new",
        "/plan",
        "/plan/2022",
        "/plan/2022/export.xlsx",
        "/exports/inventory.xlsx",
        "/admin/users",
    ],
)
def test_every_page_but_login_requires_signing_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_password_is_stored_as_an_argon2id_hash(db_session):
    add_user(db_session, "clerk", Role.viewer)
    user = db_session.exec(select(User).where(User.login == "clerk")).one()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert verify_password(user.password_hash, PASSWORD)


def test_wrong_password_is_refused_with_a_message(client, db_session):
    add_user(db_session, "clerk", Role.viewer)
    response = login(client, "clerk", "wrong password")
    assert response.status_code == 400
    assert "ログインIDまたはパスワードが違います" in response.get_data(as_text=True)
    assert client.get("/procedures").status_code == 302


def test_sign_in_then_sign_out(client, db_session):
    add_user(db_session, "clerk", Role.viewer)
    assert login(client, "clerk").headers["Location"] == "/procedures"
    assert client.get("/procedures").status_code == 200
    token = csrf_token(client, "/procedures")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.headers["Location"] == "/login"
    assert client.get("/procedures").status_code == 302


def test_signing_in_and_out_keeps_the_language_chosen_on_the_sign_in_page(client, db_session):
    add_user(db_session, "clerk", Role.viewer)
    client.get("/lang/en?next=/login")
    assert login(client, "clerk").headers["Location"] == "/procedures"
    page = client.get("/procedures").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert ">Sign out</button>" in page
    token = csrf_token(client, "/procedures")
    client.post("/logout", data={"csrf_token": token})
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, db_session):
    add_user(db_session, "clerk", Role.viewer)
    response = client.post("/login", data={"login": "clerk", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/procedures").status_code == 302


def test_edit_with_a_wrong_csrf_token_changes_nothing(client, db_session):
    division = add_division(db_session, "市民課")
    procedure = add_procedure(db_session, division, "住民票の写しの交付申請")
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    response = client.post(
        f"/procedures/{procedure.id}/edit",
        data={"csrf_token": "forged", "version": "1", "name": "改ざん", "verdict": "feasible"},
    )
    assert response.status_code == 400
    assert "フォームの有効期限が切れた" in response.get_data(as_text=True)
    db_session.refresh(procedure)
    assert procedure.name == "住民票の写しの交付申請"


@pytest.mark.parametrize("role", [Role.viewer, Role.division, Role.dx_office])
def test_only_admins_open_the_user_page(client, db_session, role):
    add_division(db_session, "市民課")
    add_user(db_session, "someone", role, division="市民課" if role == Role.division else None)
    login(client, "someone")
    assert client.get("/admin/users").status_code == 403


def test_admin_creates_a_division_user(client, db_session):
    add_division(db_session, "市民課")
    add_user(db_session, "root", Role.admin)
    login(client, "root")
    token = csrf_token(client, "/admin/users")
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "login": "shimin",
            "password": "long enough pw",
            "role": "division",
            "division": "市民課",
        },
    )
    assert response.status_code == 302
    user = db_session.exec(select(User).where(User.login == "shimin")).one()
    assert (user.role, user.division_id is not None) == ("division", True)


def test_viewer_cannot_recompute_the_plan(client, db_session):
    add_user(db_session, "reader", Role.viewer)
    login(client, "reader")
    token = csrf_token(client, "/procedures")
    assert client.post("/plan/recompute", data={"csrf_token": token}).status_code == 403


def test_viewer_cannot_upload(client, db_session):
    add_user(db_session, "reader", Role.viewer)
    login(client, "reader")
    assert client.get("/imports/new").status_code == 403


def test_sign_in_is_throttled_after_five_failures_even_with_the_right_password(app, db_session):
    add_user(db_session, "clerk", Role.viewer)
    for _attempt in range(5):
        assert login(app.test_client(), "clerk", "wrong password").status_code == 400
    response = login(app.test_client(), "clerk")
    assert response.status_code == 429
    assert "ログインの失敗が続いたため" in response.get_data(as_text=True)
    add_user(db_session, "other", Role.viewer)
    assert login(app.test_client(), "other").status_code == 302


def test_throttling_counts_failures_per_address_across_logins(app, db_session):
    add_user(db_session, "clerk", Role.viewer)
    for number in range(20):
        login(app.test_client(), f"guess{number}", "wrong password")
    assert login(app.test_client(), "clerk").status_code == 429


@pytest.mark.parametrize(
    "target", ["//evil.example/", "/\\evil.example/", "/procedures\r\nX-Injected: 1"]
)
def test_next_never_leads_off_site_nor_into_a_header(client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/procedures"
    assert "X-Injected" not in response.headers
