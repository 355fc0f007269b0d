"""Every route of the app, for every role and for an anonymous visitor, as a table.

The table is checked against the URL map, so a new route cannot be added without deciding
who may use it. "ok" means served (not refused, not sent to the login page); "login" a
redirect to the login page; 403 refused. POSTs carry a valid CSRF token and harmless data.
"""

import pytest
from sqlmodel import select

from procedures.models import (
    ImportBatch,
    Lifecycle,
    MatchStatus,
    PriorityMatch,
    PriorityProcedure,
    Procedure,
    Role,
    Verdict,
)
from procedures.survey.status import current_fiscal_year
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login

#: The plan starts at the current fiscal year: its page exists for every role.
THIS_YEAR = current_fiscal_year()

ROLES = ("anonymous", "viewer", "division", "dx_office", "admin")
OK, LOGIN, DENIED = "ok", "login", 403

#: (method, URL, expected for anonymous, viewer, division, dx_office, admin).
#: {own} is a procedure of the division user's division, {other} one of another division.
TABLE = [
    ("GET", "/", LOGIN, OK, OK, OK, OK),
    ("GET", "/login", OK, OK, OK, OK, OK),
    ("POST", "/login", OK, OK, OK, OK, OK),
    ("GET", "/lang/en", OK, OK, OK, OK, OK),
    ("GET", "/procedures", LOGIN, OK, OK, OK, OK),
    ("GET", "/procedures/{own}", LOGIN, OK, OK, OK, OK),
    ("GET", "/procedures/{other}", LOGIN, OK, OK, OK, OK),
    ("GET", "/procedures/{own}/edit", LOGIN, DENIED, OK, OK, OK),
    ("GET", "/procedures/{other}/edit", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/procedures/{own}/edit", LOGIN, DENIED, OK, OK, OK),
    ("POST", "/procedures/{other}/edit", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/procedures/{own}/triage", LOGIN, DENIED, OK, OK, OK),
    ("POST", "/procedures/{other}/triage", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/procedures/{own}/steps", LOGIN, DENIED, OK, OK, OK),
    ("POST", "/procedures/{other}/steps", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/procedures/bulk", LOGIN, DENIED, OK, OK, OK),
    ("POST", "/procedures/bulk/apply", LOGIN, DENIED, OK, OK, OK),
    ("GET", "/exports/inventory.xlsx", LOGIN, OK, OK, OK, OK),
    ("GET", "/national/export", LOGIN, DENIED, DENIED, OK, OK),
    ("GET", "/national/export.xlsx", LOGIN, DENIED, DENIED, OK, OK),
    ("GET", "/imports/", LOGIN, DENIED, OK, OK, OK),
    ("GET", "/imports/new", LOGIN, DENIED, OK, OK, OK),
    ("POST", "/imports/new", LOGIN, DENIED, OK, OK, OK),
    ("GET", "/imports/{batch}", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/imports/{batch}/mapping", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/imports/{batch}/values", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/imports/{batch}/commit", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/imports/{batch}/refresh", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/imports/{batch}/revert", LOGIN, DENIED, DENIED, OK, OK),
    ("GET", "/imports/{batch}/progress", LOGIN, DENIED, DENIED, OK, OK),
    ("GET", "/imports/{batch}/progress.json", LOGIN, DENIED, DENIED, OK, OK),
    ("GET", "/plan", LOGIN, OK, OK, OK, OK),
    ("GET", f"/plan/{THIS_YEAR}", LOGIN, OK, OK, OK, OK),
    ("GET", f"/plan/{THIS_YEAR}/export.xlsx", LOGIN, OK, OK, OK, OK),
    ("GET", f"/plan/{THIS_YEAR}/export-utf-8.csv", LOGIN, OK, OK, OK, OK),
    ("GET", "/plan/policy", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/plan/policy", LOGIN, DENIED, DENIED, OK, OK),
    ("GET", "/plan/pin/{other}", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/plan/pin/{other}", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/plan/pin/{other}/remove", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/plan/recompute", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/plan/save", LOGIN, DENIED, DENIED, OK, OK),
    ("GET", "/priority", LOGIN, OK, OK, OK, OK),
    ("GET", "/priority/list", LOGIN, DENIED, DENIED, DENIED, OK),
    ("POST", "/priority/list/add", LOGIN, DENIED, DENIED, DENIED, OK),
    ("POST", "/priority/list/upload", LOGIN, DENIED, DENIED, DENIED, OK),
    ("POST", "/priority/list/1/rename", LOGIN, DENIED, DENIED, DENIED, OK),
    ("POST", "/priority/list/1/deactivate", LOGIN, DENIED, DENIED, DENIED, OK),
    ("POST", "/priority/suggestions", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/priority/matches/{match}/reject", LOGIN, DENIED, DENIED, OK, OK),
    ("GET", "/missing", LOGIN, OK, OK, OK, OK),
    ("GET", "/dashboard", LOGIN, OK, OK, OK, OK),
    ("GET", "/dashboard/print", LOGIN, OK, OK, OK, OK),
    ("GET", "/open-data.csv", LOGIN, OK, OK, OK, OK),
    ("GET", "/open-data.json", LOGIN, OK, OK, OK, OK),
    # Help is for everyone signed in, whatever they may do on the page it explains.
    ("GET", "/help/", LOGIN, OK, OK, OK, OK),
    ("GET", "/help/glossary", LOGIN, OK, OK, OK, OK),
    ("GET", "/help/import", LOGIN, OK, OK, OK, OK),
    ("GET", "/help/triage", LOGIN, OK, OK, OK, OK),
    ("GET", "/help/plan", LOGIN, OK, OK, OK, OK),
    ("GET", "/help/survey", LOGIN, OK, OK, OK, OK),
    ("GET", "/help/dashboard", LOGIN, OK, OK, OK, OK),
    ("GET", "/help/review", LOGIN, OK, OK, OK, OK),
    ("GET", "/help/national", LOGIN, OK, OK, OK, OK),
    ("POST", "/missing/{other}/keep", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/missing/{own}/retire", LOGIN, DENIED, OK, OK, OK),
    # The national reference: the DX office's alone (a POST without a file or an ID is refused
    # with a message; a procedure without a link has no review page).
    ("GET", "/national", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/national/load", LOGIN, DENIED, DENIED, OK, OK),
    ("GET", "/national/links", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/national/links/exact", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/national/links/{other}/confirm", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/national/links/{other}/reject", LOGIN, DENIED, DENIED, OK, OK),
    ("GET", "/national/review", LOGIN, DENIED, DENIED, OK, OK),
    ("GET", "/national/review/{other}", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/national/review/{other}", LOGIN, DENIED, DENIED, OK, OK),
    ("GET", "/survey/", LOGIN, DENIED, OK, OK, OK),
    ("GET", "/survey/2026/{own_division}.xlsx", LOGIN, DENIED, OK, OK, OK),
    ("GET", "/survey/2026/{other_division}.xlsx", LOGIN, DENIED, DENIED, OK, OK),
    ("GET", "/survey/2026/all.zip", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/survey/2026/{own_division}.xlsx", LOGIN, DENIED, OK, OK, OK),
    ("POST", "/survey/2026/{other_division}.xlsx", LOGIN, DENIED, DENIED, OK, OK),
    ("POST", "/survey/2026/all.zip", LOGIN, DENIED, DENIED, OK, OK),
    ("GET", "/admin/users", LOGIN, DENIED, DENIED, DENIED, OK),
    ("POST", "/admin/users", LOGIN, DENIED, DENIED, DENIED, OK),
    ("GET", "/admin/locks", LOGIN, DENIED, DENIED, DENIED, OK),
    ("POST", "/admin/locks/lift", LOGIN, DENIED, DENIED, DENIED, OK),
    # User 1 is the viewer: the admin edits, deactivates, reactivates it, sets a password.
    ("GET", "/admin/users/1", LOGIN, DENIED, DENIED, DENIED, OK),
    ("POST", "/admin/users/1", LOGIN, DENIED, DENIED, DENIED, OK),
    ("POST", "/admin/users/1/deactivate", LOGIN, DENIED, DENIED, DENIED, OK),
    ("POST", "/admin/users/1/reactivate", LOGIN, DENIED, DENIED, DENIED, OK),
    ("POST", "/admin/users/1/password", LOGIN, DENIED, DENIED, DENIED, OK),
    # Everyone sees and ends their own sessions (session 0 is nobody's: "already ended").
    ("GET", "/account/sessions", LOGIN, OK, OK, OK, OK),
    ("POST", "/account/sessions/0/end", LOGIN, OK, OK, OK, OK),
    ("POST", "/account/sessions/end-others", LOGIN, OK, OK, OK, OK),
    # Everyone changes their own password (an empty form is refused, not an error).
    ("GET", "/account/password", LOGIN, OK, OK, OK, OK),
    ("POST", "/account/password", LOGIN, OK, OK, OK, OK),
    # Last: it ends the session.
    ("POST", "/logout", LOGIN, OK, OK, OK, OK),
]


def test_the_table_covers_every_route_of_the_app(app):
    """A route missing from the table fails here: decide who may use it, then add it."""
    covered = set()
    for method, url, *_expected in TABLE:
        adapter = app.url_map.bind("localhost")
        endpoint, _args = adapter.match(
            url.format(own=1, other=2, batch=1, match=1, own_division=1, other_division=2),
            method=method,
        )
        covered.add((endpoint, method))
    served = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served - covered == set()


@pytest.fixture
def city(db_session):
    """Two divisions with a missing, feasible procedure each, an import and a suggestion."""
    own_division = add_division(db_session, "市民課")
    other_division = add_division(db_session, "子育て給付課")
    fields = {"lifecycle": Lifecycle.missing, "verdict": Verdict.feasible}
    own = add_procedure(db_session, own_division, "転入届", **fields)
    other = add_procedure(db_session, other_division, "児童手当の認定請求", **fields)
    for role, login_name in (
        (Role.viewer, "viewer"),
        (Role.dx_office, "dx_office"),
        (Role.admin, "admin"),
    ):
        add_user(db_session, login_name, role)
    add_user(db_session, "division", Role.division, division="市民課")
    batch = ImportBatch(file_name="x.csv", sha256="0" * 64, content=b"\xef\xbb\xbf", user_id=3)
    db_session.add(batch)
    item = db_session.exec(select(PriorityProcedure)).first()
    db_session.add(
        PriorityMatch(
            procedure_id=other.id,
            priority_procedure_id=item.id,
            score=90.0,
            status=MatchStatus.suggested,
        )
    )
    db_session.commit()
    match = db_session.exec(select(PriorityMatch)).one()
    return {
        "own": own.id,
        "other": other.id,
        "batch": batch.id,
        "match": match.id,
        "own_division": own_division,
        "other_division": other_division,
    }


def outcome(response) -> object:
    if response.status_code == 403:
        return DENIED
    location = response.headers.get("Location", "")
    if response.status_code == 302 and location.startswith("/login?next="):
        return LOGIN
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    return OK


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_the_table_says(app, city, db_session, role):
    client = app.test_client()
    if role != "anonymous":
        login(client, role)
    token = csrf_token(client, "/login" if role == "anonymous" else "/procedures")
    column = 2 + ROLES.index(role)
    mismatches = []
    for row in TABLE:
        method, url, expected = row[0], row[1].format(**city), row[column]
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token})
        if outcome(response) != expected:
            mismatches.append((method, url, expected, response.status_code))
        response.close()
    assert mismatches == []
    if role in ("anonymous", "viewer", "division"):
        # Refused requests left the other division's procedure exactly as it was.
        other = db_session.get(Procedure, city["other"])
        db_session.refresh(other)
        assert (other.version, other.lifecycle, other.verdict) == (1, "missing", "feasible")
