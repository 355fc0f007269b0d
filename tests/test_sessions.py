"""Server-side sessions: signing out, deactivation, a password change and idleness end them.

A session is a row of UserSession; the cookie carries only a random token for it (and the
language). These tests replay cookies the way someone who copied one would.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from datetime import timedelta

import pytest
from flask import session as flask_session
from sqlalchemy import text
from sqlmodel import select

from procedures.core import db
from procedures.core.sessions import SESSION_KEY, end_sessions, short_user_agent
from procedures.models import Role, User, UserSession, utcnow
from tests.conftest import ON_POSTGRES, add_user, csrf_token, login

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"
)


def signed_in_client(app, login_name: str, user_agent: str = FIREFOX):
    """A new browser, signed in as that user."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    assert login(client, login_name).status_code == 302
    return client


def cookie(client) -> str:
    """The session cookie's value, as someone copying it would take it."""
    stored = client.get_cookie("session")
    assert stored is not None
    return stored.value


def replay(app, value: str):
    """A fresh browser that presents a copied session cookie."""
    client = app.test_client()
    client.set_cookie("session", value)
    return client


def is_signed_in(client) -> bool:
    response = client.get("/procedures")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login?next=")
        return False
    assert response.status_code == 200
    return True


def token_of(client) -> str:
    with client.session_transaction() as stored:
        return stored[SESSION_KEY]


def session_row(db_session, client) -> UserSession | None:
    digest = hashlib.sha256(token_of(client).encode()).hexdigest()
    db_session.expire_all()
    return db_session.exec(select(UserSession).where(UserSession.token_hash == digest)).first()


def user_id(db_session, login_name: str) -> int:
    user = db_session.exec(select(User).where(User.login == login_name)).one()
    assert user.id is not None
    return user.id


def idle_for(db_session, client, idle: timedelta) -> None:
    """Make the client's session look unused for that long."""
    row = session_row(db_session, client)
    assert row is not None
    row.last_seen_at = utcnow() - idle
    row.created_at = min(row.created_at, row.last_seen_at)
    db_session.add(row)
    db_session.commit()


@pytest.fixture
def clerk(db_session) -> str:
    add_user(db_session, "clerk", Role.viewer)
    return "clerk"


def test_a_cookie_copied_before_sign_out_gets_the_sign_in_page(app, db_session, clerk):
    client = signed_in_client(app, clerk)
    copied = cookie(client)
    assert is_signed_in(replay(app, copied))
    token = csrf_token(client, "/procedures")
    assert client.post("/logout", data={"csrf_token": token}).headers["Location"] == "/login"
    assert not is_signed_in(client)
    thief = replay(app, copied)
    response = thief.get("/procedures")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/procedures?"
    # The copy says why on the sign-in page, once.
    page = thief.get("/login").get_data(as_text=True)
    assert "セッションが終了しました" in page
    assert db_session.exec(select(UserSession)).all() == []


def test_the_cookie_carries_a_token_whose_hash_alone_is_stored(app, db_session, clerk):
    client = signed_in_client(app, clerk)
    token = token_of(client)
    [row] = db_session.exec(select(UserSession)).all()
    assert len(token) >= 40
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.token_hash
    assert (row.user_id, row.address, row.user_agent) == (
        user_id(db_session, clerk),
        "127.0.0.1",
        FIREFOX,
    )
    # Every sign-in gets a new token and row, even in the same browser.
    assert login(client, clerk).status_code == 302
    assert token_of(client) != token
    assert len(db_session.exec(select(UserSession)).all()) == 2


def test_a_deactivated_users_cookie_gets_the_sign_in_page(app, db_session, clerk):
    client = signed_in_client(app, clerk)
    copied = cookie(client)
    user = db_session.get(User, user_id(db_session, clerk))
    user.active = False
    db_session.add(user)
    db_session.commit()
    assert not is_signed_in(replay(app, copied))
    assert not is_signed_in(client)
    # Deactivation ends the sessions too, so reactivating the user revives none of them.
    with app.app_context():
        assert end_sessions(db_session, user_id(db_session, clerk)) == 1
    db_session.commit()
    user.active = True
    db_session.add(user)
    db_session.commit()
    assert not is_signed_in(replay(app, copied))
    assert is_signed_in(signed_in_client(app, clerk))


def test_a_session_idle_longer_than_the_timeout_is_dead(app, db_session, clerk):
    assert app.config["SESSION_IDLE_MINUTES"] == 8 * 60
    awake, asleep = signed_in_client(app, clerk), signed_in_client(app, clerk)
    idle_for(db_session, awake, timedelta(hours=7, minutes=59))
    idle_for(db_session, asleep, timedelta(hours=8, minutes=1))
    assert is_signed_in(awake)
    assert not is_signed_in(asleep)
    assert not is_signed_in(replay(app, cookie(asleep)))
    # Using it moved "last seen" to now: the next eight hours start again.
    row = session_row(db_session, awake)
    assert row is not None and utcnow() - row.last_seen_at < timedelta(minutes=1)


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_MINUTES": 30}])
def test_the_idle_timeout_is_a_setting(app, db_session, clerk):
    client = signed_in_client(app, clerk)
    idle_for(db_session, client, timedelta(minutes=29))
    assert is_signed_in(client)
    idle_for(db_session, client, timedelta(minutes=31))
    assert not is_signed_in(client)


def test_sign_in_removes_sessions_idle_past_the_timeout(app, db_session, clerk):
    old = signed_in_client(app, clerk)
    idle_for(db_session, old, timedelta(hours=9))
    new = signed_in_client(app, clerk)
    assert session_row(db_session, old) is None
    assert [row.id for row in db_session.exec(select(UserSession))] == [
        session_row(db_session, new).id
    ]


def test_last_seen_is_written_at_most_once_a_minute(app, db_session, clerk):
    client = signed_in_client(app, clerk)
    idle_for(db_session, client, timedelta(seconds=30))
    before = session_row(db_session, client).last_seen_at
    for _page in range(3):
        assert is_signed_in(client)
    assert session_row(db_session, client).last_seen_at == before
    idle_for(db_session, client, timedelta(seconds=90))
    assert is_signed_in(client)
    assert utcnow() - session_row(db_session, client).last_seen_at < timedelta(seconds=10)


def test_a_busy_database_does_not_hold_up_a_page_for_last_seen(app, db_session, clerk):
    """While an import holds the write lock, pages load; "last seen" waits for a later page."""
    client = signed_in_client(app, clerk)
    idle_for(db_session, client, timedelta(minutes=5))
    before = session_row(db_session, client).last_seen_at
    row_id = session_row(db_session, client).id
    if ON_POSTGRES:
        holder = app.extensions["engine"].connect()
        holder.execute(text(f"SELECT id FROM usersession WHERE id = {row_id} FOR UPDATE"))
    else:
        path = app.config["DATABASE_URL"].removeprefix("sqlite:///")
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert is_signed_in(client)
        assert time.monotonic() - started < 5
    finally:
        holder.rollback()
        holder.close()
    assert session_row(db_session, client).last_seen_at == before
    assert is_signed_in(client)
    assert session_row(db_session, client).last_seen_at > before


def test_the_sessions_page_lists_the_users_own_sessions(app, db_session, clerk):
    add_user(db_session, "other", Role.viewer)
    here = signed_in_client(app, clerk, FIREFOX)
    signed_in_client(app, clerk, EDGE)
    signed_in_client(app, "other", EDGE)
    here.get("/lang/en")
    page = here.get("/account/sessions")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<tr") == 3  # the heading and this user's two sessions
    assert "Firefox 128, Linux" in html
    assert "Edge 120, Windows" in html
    assert html.count("This session") == 1
    assert html.index("This session") < html.index("Edge 120")  # this session first
    assert "127.0.0.1" in html
    assert "A session also ends by itself after 8 hours without use." in html
    assert "End all other sessions" in html
    # Linked from the user's name in the header.
    assert 'href="/account/sessions" title="Your sessions"' in html
    here.get("/lang/ja")
    html = here.get("/account/sessions").get_data(as_text=True)
    assert "ログイン中のセッション" in html and "このセッション" in html


def test_ending_a_session_from_the_page_kills_exactly_that_one(app, db_session, clerk):
    add_user(db_session, "other", Role.viewer)
    here = signed_in_client(app, clerk)
    there, elsewhere = signed_in_client(app, clerk, EDGE), signed_in_client(app, clerk)
    someone_else = signed_in_client(app, "other")
    copied = cookie(there)
    target = session_row(db_session, there).id
    token = csrf_token(here, "/account/sessions")
    response = here.post(f"/account/sessions/{target}/end", data={"csrf_token": token})
    assert response.headers["Location"] == "/account/sessions"
    assert not is_signed_in(there)
    assert not is_signed_in(replay(app, copied))
    assert is_signed_in(here) and is_signed_in(elsewhere) and is_signed_in(someone_else)
    # Another user's session cannot be ended from here: it is "already ended" for this user.
    foreign = session_row(db_session, someone_else).id
    response = here.post(
        f"/account/sessions/{foreign}/end", data={"csrf_token": token}, follow_redirects=True
    )
    assert "そのセッションはすでに終了しています" in response.get_data(as_text=True)
    assert is_signed_in(someone_else)


def test_ending_a_session_needs_the_csrf_token(app, db_session, clerk):
    here, there = signed_in_client(app, clerk), signed_in_client(app, clerk)
    target = session_row(db_session, there).id
    assert here.post(f"/account/sessions/{target}/end").status_code == 400
    assert here.post("/account/sessions/end-others").status_code == 400
    assert is_signed_in(there)


def test_ending_this_session_from_the_page_signs_out(app, db_session, clerk):
    here = signed_in_client(app, clerk)
    here.get("/lang/en")
    current = session_row(db_session, here).id
    token = csrf_token(here, "/account/sessions")
    response = here.post(f"/account/sessions/{current}/end", data={"csrf_token": token})
    assert response.headers["Location"] == "/login"
    assert not is_signed_in(here)
    assert '<html lang="en">' in here.get("/login").get_data(as_text=True)


def test_ending_all_other_sessions_keeps_this_one(app, db_session, clerk):
    add_user(db_session, "other", Role.viewer)
    here = signed_in_client(app, clerk)
    others = [signed_in_client(app, clerk) for _each in range(2)]
    someone_else = signed_in_client(app, "other")
    token = csrf_token(here, "/account/sessions")
    response = here.post(
        "/account/sessions/end-others", data={"csrf_token": token}, follow_redirects=True
    )
    assert "ほかのセッション2件を終了しました" in response.get_data(as_text=True)
    assert is_signed_in(here) and is_signed_in(someone_else)
    assert not any(is_signed_in(other) for other in others)
    html = here.get("/account/sessions").get_data(as_text=True)
    assert "ほかにログインしているブラウザはありません" in html


def test_a_password_change_ends_the_other_sessions_through_end_sessions(app, db_session, clerk):
    """What a password change calls: its own session stays, every other one ends."""
    here, there = signed_in_client(app, clerk), signed_in_client(app, clerk)
    copied = cookie(there)
    with app.test_request_context():
        flask_session[SESSION_KEY] = token_of(here)
        assert end_sessions(db.session(), user_id(db_session, clerk), except_current=True) == 1
        db.commit()
    assert is_signed_in(here)
    assert not is_signed_in(there) and not is_signed_in(replay(app, copied))
    # An administrator setting the password (no current session of that user): all end.
    with app.test_request_context():
        assert end_sessions(db.session(), user_id(db_session, clerk)) == 1
        db.commit()
    assert not is_signed_in(here)


def test_the_language_survives_sign_in_and_a_dead_session(app, db_session, clerk):
    client = app.test_client()
    client.get("/lang/en?next=/login")
    assert login(client, clerk).status_code == 302
    assert '<html lang="en">' in client.get("/procedures").get_data(as_text=True)
    with app.app_context():
        end_sessions(db.session(), user_id(db_session, clerk))
        db.commit()
    assert not is_signed_in(client)
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Your session has ended. Sign in again." in page


@pytest.mark.parametrize(
    ("user_agent", "short"),
    [
        (FIREFOX, "Firefox 128, Linux"),
        (EDGE, "Edge 120, Windows"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
            "Safari 17, iOS",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
            "Gecko) Chrome/121.0.0.0 Safari/537.36",
            "Chrome 121, macOS",
        ),
        ("curl/8.5.0", "curl/8.5.0"),
        ("x" * 100, "x" * 40 + "…"),
        ("", "—"),
    ],
)
def test_user_agents_are_shortened(user_agent, short):
    assert short_user_agent(user_agent) == short
