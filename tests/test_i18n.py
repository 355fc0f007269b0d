"""Japanese by default, English on request, on every page."""

from sqlmodel import select

from procedures.models import Role, User
from tests.conftest import add_user, csrf_token, login


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


def _sign_out(client) -> None:
    token = csrf_token(client, "/procedures")
    client.post("/logout", data={"csrf_token": token})


def _language_of(db_session, login_name: str) -> str | None:
    db_session.expire_all()
    return db_session.exec(select(User.language).where(User.login == login_name)).one()


def test_english_chosen_on_the_sign_in_page_is_kept_and_stored_on_the_account(client, db_session):
    add_user(db_session, "clerk", Role.viewer)
    client.get("/lang/en?next=/login")
    login(client, "clerk")
    assert '<html lang="en">' in client.get("/procedures").get_data(as_text=True)
    assert _language_of(db_session, "clerk") == "en"


def test_english_chosen_while_signed_in_is_the_language_of_the_next_sign_in(app, db_session):
    add_user(db_session, "clerk", Role.viewer)
    first = app.test_client()
    login(first, "clerk")
    assert '<html lang="ja">' in first.get("/procedures").get_data(as_text=True)
    first.get("/lang/en?next=/procedures")
    assert _language_of(db_session, "clerk") == "en"
    _sign_out(first)
    assert '<html lang="en">' in first.get("/login").get_data(as_text=True)

    fresh = app.test_client()  # another browser: no cookie, so Japanese until signed in
    assert '<html lang="ja">' in fresh.get("/login").get_data(as_text=True)
    login(fresh, "clerk")
    page = fresh.get("/procedures").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert '<h1 class="page-title">Procedures</h1>' in page


def test_the_next_user_of_a_browser_gets_their_own_language_not_the_last_ones(client, db_session):
    add_user(db_session, "english", Role.viewer)
    add_user(db_session, "japanese", Role.viewer)
    login(client, "japanese")
    client.get("/lang/ja")
    _sign_out(client)
    login(client, "english")
    client.get("/lang/en")
    _sign_out(client)
    # The sign-in page stays in English; the language shown is not a choice for "japanese".
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)
    login(client, "japanese")
    assert '<html lang="ja">' in client.get("/procedures").get_data(as_text=True)
    assert _language_of(db_session, "japanese") == "ja"


def test_a_choice_on_the_sign_in_page_wins_over_the_accounts_language(client, db_session):
    add_user(db_session, "clerk", Role.viewer)
    login(client, "clerk")
    client.get("/lang/ja")
    _sign_out(client)
    client.get("/lang/en?next=/login")
    login(client, "clerk")
    assert '<html lang="en">' in client.get("/procedures").get_data(as_text=True)
    assert _language_of(db_session, "clerk") == "en"


def test_an_account_that_never_chose_signs_in_japanese_and_stays_unset(app, db_session):
    add_user(db_session, "clerk", Role.viewer)
    client = app.test_client()
    login(client, "clerk")
    assert '<html lang="ja">' in client.get("/procedures").get_data(as_text=True)
    assert _language_of(db_session, "clerk") is None
