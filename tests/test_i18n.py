"""Japanese by default, English on request, on every page."""

from procedures.models import Role
from tests.conftest import add_user, login


def test_login_page_is_japanese_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="ja">' in page
    assert "ログイン" in page


def test_language_switch_shows_english_and_comes_back(client):
    response = client.get("/lang/en?next=/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Sign in" in page


def test_language_switch_never_redirects_off_site(client):
    response = client.get("/lang/ja?next=//evil.example/")
    assert response.headers["Location"] == "/procedures"


def test_unknown_language_keeps_japanese(client):
    client.get("/lang/xx")
    assert '<html lang="ja">' in client.get("/login").get_data(as_text=True)


def test_list_page_headings_follow_the_language(client, db_session):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    assert "手続一覧" in client.get("/procedures").get_data(as_text=True)
    client.get("/lang/en")
    assert "Procedures" in client.get("/procedures").get_data(as_text=True)
