"""Every page forbids inline and foreign scripts and framing."""

from procedures.models import Role
from tests.conftest import add_user, login


def test_login_page_sends_a_strict_content_security_policy(client):
    headers = client.get("/login").headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_pages_and_downloads_carry_the_headers(client, db_session):
    add_user(db_session, "reader", Role.viewer)
    login(client, "reader")
    for url in ("/procedures", "/exports/inventory.xlsx", "/static/css/app.css"):
        response = client.get(url)
        response.close()  # a static file is streamed from an open file
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        assert "Content-Security-Policy" in response.headers, url


def test_session_cookie_is_http_only_and_same_site_lax(client, db_session):
    add_user(db_session, "reader", Role.viewer)
    response = login(client, "reader")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
