"""Every page forbids inline and foreign scripts and framing; HTTPS is kept; internal data is not
stored by browsers or proxies."""

import pytest
from sqlmodel import select

from procedures.models import DivisionSurvey, Role
from procedures.survey.status import current_fiscal_year
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login


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


def test_no_strict_transport_security_without_https(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


@pytest.mark.parametrize("app_config", [{"HTTPS": True}])
def test_strict_transport_security_with_https(client, db_session):
    add_user(db_session, "reader", Role.viewer)
    login(client, "reader")
    for url in ("/login", "/procedures", "/static/css/app.css"):
        response = client.get(url)
        response.close()
        assert response.headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains"
        ), url


def test_https_1_in_the_environment_turns_it_on(tmp_path, monkeypatch):
    from flask import Flask

    from procedures import _load_instance_config

    monkeypatch.setenv("HTTPS", "1")
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    app = Flask(__name__, instance_path=str(tmp_path))
    _load_instance_config(app)
    assert app.config["HTTPS"] is True and app.config["SESSION_COOKIE_SECURE"] is True


def test_pages_and_exports_of_a_signed_in_user_are_not_stored(client, db_session):
    add_user(db_session, "reader", Role.viewer)
    login(client, "reader")
    this_year = current_fiscal_year()
    for url in ("/procedures", "/exports/inventory.xlsx", f"/plan/{this_year}/export-utf-8.csv"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url
    static = client.get("/static/css/app.css")
    static.close()
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_a_procedure_page_is_not_stored(client, db_session):
    division = add_division(db_session, "市民課")
    procedure = add_procedure(db_session, division, "転入届")
    add_user(db_session, "reader", Role.viewer)
    login(client, "reader")
    response = client.get(f"/procedures/{procedure.id}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_downloading_a_survey_workbook_by_get_writes_nothing(client, db_session):
    division = add_division(db_session, "市民課")
    add_procedure(db_session, division, "転入届")
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    for url in (f"/survey/2026/{division}.xlsx", "/survey/2026/all.zip"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url
    assert db_session.exec(select(DivisionSurvey)).all() == []
    # The page's button (a POST) records that the workbook was made.
    token = csrf_token(client, "/survey/?year=2026")
    made = client.post(f"/survey/2026/{division}.xlsx", data={"csrf_token": token})
    assert made.status_code == 200
    assert made.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    surveys = db_session.exec(select(DivisionSurvey)).all()
    assert [(survey.division_id, survey.generated_at is not None) for survey in surveys] == [
        (division, True)
    ]
