"""Malformed parameters never end as a 500: every route, every role, hostile values.

The sweep takes every rule of the URL map (GET and POST) and, for each role, sends:

- the route with each hostile integer in its `<int:…>` parts (huge, beyond int4 and int8, 0,
  negative);
- every query parameter and form field the app knows set to each hostile value at once;
- each field of the form the app itself renders for that route (harvested from its pages,
  with the values the page put there) with one field replaced by a hostile value.

The answer must be below 500: 400 or 404 with the error page, or whatever the route answers
to a refused value (a form shown again, a redirect with a message). On PostgreSQL the NUL
byte and the integers beyond int4/int8 are the values its driver refuses.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from sqlmodel import select
from werkzeug.routing import AnyConverter, IntegerConverter, Rule

from procedures.models import (
    ImportBatch,
    Lifecycle,
    MatchStatus,
    PriorityMatch,
    PriorityProcedure,
    Role,
    Verdict,
)
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login

ROLES = ("anonymous", "viewer", "division", "dx_office", "admin")

#: Integers for `<int:…>` parts of a path: beyond int8, beyond int4, beyond int8's sign, zero.
PATH_INTS = ("99999999999999999999999", str(2**31), str(2**63), "0", "-1")

#: Values for query parameters and form fields.
HOSTILE = (
    "99999999999999999999999",  # overflows SQLite's INTEGER and PostgreSQL's int8
    str(2**31),  # one beyond int4
    "-1",
    "-99999999999999999999",
    "0",
    "abc",
    "²",  # str.isdigit() says yes, int() says no
    "１２",  # full-width digits: int() reads them
    "1\x00",  # PostgreSQL refuses NUL in text
    "\x00",
    "nan",
    "1e309",  # a float that overflows to inf
    "__unknown__",  # not in any code list
    "/\r\nX-Injected: 1",  # a header break, e.g. in a redirect target
    "2024-13-45",
    "x" * 8_000,
)

#: Every query parameter the routes read (request.args), and then some.
QUERY_NAMES = (
    "page",
    "compare",
    "year",
    "pending",
    "division",
    "department",
    "target",
    "verdict",
    "visit",
    "mynaportal",
    "priority",
    "online",
    "life_event",
    "blocker",
    "volume",
    "lifecycle",
    "changed_since",
    "sort",
    "dir",
    "q",
    "lang",
    "next",
)

#: Form fields posted to every POST route, besides those harvested from the app's own forms.
FORM_NAMES = (
    "version",
    "ids",
    "scope",
    "change",
    "reason",
    "item",
    "target",
    "fiscal_year",
    "division",
    "role",
    "login",
    "password",
    "name",
    "category",
    "revision",
    "label",
    "decision",
    "header-1",
    "field-1",
    "value-field-1",
    "value-key-1",
    "decision-1",
    "years-0-fiscal_year",
    "years-0-capacity",
    "tiers-0-kind",
    "tiers-0-min_volume",
    "volume_weight",
    "save",
)

CSV = "課名,手続名,年間件数\n市民課,転入届,3100\n".encode()


class _Forms(HTMLParser):
    """The forms of a page: action, method and their fields with the values the page set."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = {
                "action": attr.get("action", ""),
                "method": attr.get("method", "get").upper(),
                "fields": {},
                "files": set(),
            }
            self.forms.append(self._form)
            return
        if self._form is None or not attr.get("name"):
            return
        name, fields = attr["name"], self._form["fields"]
        if tag == "input":
            kind = attr.get("type", "text")
            if kind == "file":
                self._form["files"].add(name)
            elif kind in ("checkbox", "radio"):
                if "checked" in attr or name not in fields:
                    fields[name] = attr.get("value", "on")
            elif kind != "submit" or name not in fields:
                fields[name] = attr.get("value", "")
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select is not None:
            if "selected" in attr or self._select not in fields:
                fields[self._select] = attr.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            fields[name] = ""
        elif tag == "button":
            fields.setdefault(name, attr.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea is not None:
            self._form["fields"][self._textarea] += data


@pytest.fixture
def city(db_session):
    """Two divisions with procedures, users of every role, an import batch and a suggestion."""
    own_division = add_division(db_session, "市民課")
    other_division = add_division(db_session, "子育て給付課")
    fields = {"lifecycle": Lifecycle.missing, "verdict": Verdict.feasible}
    own = add_procedure(db_session, own_division, "転入届", target_fiscal_year=2026, **fields)
    other = add_procedure(db_session, other_division, "児童手当の認定請求", **fields)
    for role, login_name in (
        (Role.viewer, "viewer"),
        (Role.dx_office, "dx_office"),
        (Role.admin, "admin"),
    ):
        add_user(db_session, login_name, role)
    add_user(db_session, "division", Role.division, division="市民課")
    batch = ImportBatch(file_name="x.csv", sha256="0" * 64, content=CSV, user_id=3)
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
        "procedure_id": own.id,
        "batch_id": batch.id,
        "match_id": match.id,
        "item_id": item.id,
        "division_id": own_division,
        "fiscal_year": 2026,
        "code": "en",
    }


def _routes(app) -> list[tuple[Rule, str]]:
    """Every (rule, method) but static files; sign-in and sign-out last (they end a session)."""
    routes = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]
    last = ("auth.login", "auth.logout")
    return sorted(
        routes, key=lambda item: (item[0].endpoint in last, item[0].endpoint == "auth.logout")
    )


def _path(rule: Rule, valid: dict, override: str | None = None) -> str:
    """The rule's path with valid arguments, or `override` in every `<int:…>` part."""
    parts = []
    for is_dynamic, data in rule._trace:  # the rule as written, piece by piece
        if not is_dynamic:
            parts.append(data)
            continue
        converter = rule._converters[data]
        if isinstance(converter, IntegerConverter):
            parts.append(override if override is not None else str(valid.get(data, 1)))
        elif isinstance(converter, AnyConverter):
            parts.append(sorted(converter.items)[0])
        else:
            parts.append(str(valid.get(data, "x")))
    return "".join(parts).split("|", 1)[1]


def _has_int(rule: Rule) -> bool:
    return any(isinstance(conv, IntegerConverter) for conv in rule._converters.values())


class Sweep:
    """One role's client, its CSRF token, the forms it was shown, and the 5xx answers."""

    def __init__(self, app, role: str, city: dict) -> None:
        self.app, self.role, self.city = app, role, city
        self.client = app.test_client()
        self.failures: list[tuple[str, str, str, int]] = []
        self.sent = 0
        self.forms: dict[str, dict] = {}
        self.sign_in()

    def sign_in(self) -> None:
        if self.role != "anonymous":
            login(self.client, self.role)
        self.token = csrf_token(self.client, "/login" if self.role == "anonymous" else "/plan")

    def harvest(self, routes: list[tuple[Rule, str]]) -> None:
        """Open every GET page with valid arguments and keep the forms it shows, by action."""
        adapter = self.app.url_map.bind("localhost")
        for rule, method in routes:
            if method != "GET" or rule.endpoint == "auth.set_language":
                continue
            page = _path(rule, self.city)
            response = self.client.get(page)
            if response.mimetype != "text/html":
                continue
            parser = _Forms()
            parser.feed(response.get_data(as_text=True))
            for form in parser.forms:
                path = urlsplit(urljoin(page, form["action"])).path
                if form["method"] != "POST" or not path:
                    continue
                try:
                    endpoint, _args = adapter.match(path, method="POST")
                except Exception:  # a form posting elsewhere, or a 405: not a route to sweep
                    continue
                self.forms.setdefault(endpoint, form)

    def send(self, method: str, path: str, query: dict, form: dict, files=()) -> None:
        url = f"{path}?{urlencode(query)}" if query else path
        if method == "GET":
            response = self.client.get(url)
        else:
            data: dict = {"csrf_token": self.token, **form}
            kwargs: dict = {}
            if files:
                data.update({name: (io.BytesIO(CSV), "inventory.csv") for name in files})
                kwargs["content_type"] = "multipart/form-data"
            # Failed sign-ins from another address: the sweep's own address is not throttled.
            if path == "/login":
                kwargs["environ_base"] = {"REMOTE_ADDR": "203.0.113.9"}
            response = self.client.post(url, data=data, **kwargs)
        self.sent += 1
        if response.status_code >= 500:
            shown = {key: value[:40] for key, value in {**query, **form}.items()}
            self.failures.append((method, path, repr(shown)[:300], response.status_code))
        body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
        assert "Traceback" not in body
        response.close()
        if self.role != "anonymous" and response.headers.get("Location", "").startswith(
            "/login?next="
        ):
            self.sign_in()  # a route signed the user out (or the session was lost): go on

    def values(self, index: int) -> Iterator[str]:
        """Hostile values, endlessly, from a point that moves with the role and the route."""
        shift = (ROLES.index(self.role) * ALL_AT_ONCE + index) % len(HOSTILE)
        return itertools.cycle(HOSTILE[shift:] + HOSTILE[:shift])


#: Per role and route, how many hostile values are sent with every parameter at once, and how
#: many query parameters one at a time. The roles take turns (the values rotate with the role
#: and the route), so that every route meets every value and every parameter across the five
#: roles while a role's sweep stays within a few seconds.
ALL_AT_ONCE = 6
ONE_AT_A_TIME = 6


def _sweep(app, role: str, city: dict) -> Sweep:
    sweep = Sweep(app, role, city)
    routes = _routes(app)
    sweep.harvest(routes)
    for number, (rule, method) in enumerate(routes):
        path = _path(rule, city)
        # The confirmation page of a bulk change posts the list page's form on.
        endpoint = {"catalogue.bulk_apply": "catalogue.bulk_confirm"}.get(rule.endpoint)
        seen = sweep.forms.get(endpoint or rule.endpoint, {"fields": {}, "files": set()})
        base, files = dict(seen["fields"]), seen["files"]
        base.pop("csrf_token", None)
        values = sweep.values(number)
        # 1. Hostile integers in the path.
        if _has_int(rule):
            for value in PATH_INTS:
                sweep.send(method, _path(rule, city, value), {}, base, files)
        # 2. Every query parameter and form field the app knows, all hostile at once.
        for value in itertools.islice(values, ALL_AT_ONCE):
            query = dict.fromkeys(QUERY_NAMES, value)
            form = {} if method == "GET" else dict.fromkeys((*FORM_NAMES, *base), value)
            sweep.send(method, path, query, form, files)
        # 3. The app's own form for the route, one field at a time hostile; for a page, one
        # query parameter at a time (a refused first one would hide the others).
        if method == "POST":
            for name in base:
                sweep.send(method, path, {}, {**base, name: next(values)}, files)
        else:
            start = (ROLES.index(role) * ONE_AT_A_TIME + number) % len(QUERY_NAMES)
            names = (QUERY_NAMES * 2)[start : start + ONE_AT_A_TIME]
            for name in names:
                sweep.send(method, path, {name: next(values)}, {})
    return sweep


#: Routes of other areas that still answer some hostile value with a 500, and why; the sweep
#: reports them as an expected failure until they are fixed (then remove the entry).
PENDING: dict[str, str] = {}


@pytest.mark.parametrize("role", ROLES)
def test_no_route_answers_a_malformed_parameter_with_a_server_error(app, city, role, caplog):
    sweep = _sweep(app, role, city)
    adapter = app.url_map.bind("localhost")
    pending = [f for f in sweep.failures if adapter.match(f[1], method=f[0])[0] in PENDING]
    assert [failure for failure in sweep.failures if failure not in pending] == []
    # Refused by the parameter checks, not by the database (errors.py's last line of defence).
    assert [r.getMessage() for r in caplog.records if "database refused" in r.getMessage()] == []
    if role != "anonymous":
        # The sweep went through the routes signed in, not bounced to the login page.
        assert sweep.client.get("/procedures").status_code in (200, 302)
    assert sweep.sent > 300
    if pending:
        pytest.xfail(f"still a 500 in another area's routes: {pending}")


def _error_message(response) -> str:
    text = response.get_data(as_text=True)
    match = re.search(r"<main[^>]*>(.*?)</main>", text, re.S)
    return match.group(1) if match else text


@pytest.mark.parametrize(
    "query",
    ["page=99999999999999999999999", "page=0", "page=-3", "page=abc", "page=²", "page=10001"],
)
def test_a_page_number_out_of_range_is_refused_with_a_message(client, city, query):
    login(client, "viewer")
    response = client.get(f"/procedures?{query}")
    assert response.status_code == 400
    message = _error_message(response)
    assert "正しくない値" in message
    assert "Traceback" not in message


def test_the_last_page_within_bounds_is_served(client, city):
    login(client, "viewer")
    assert client.get("/procedures?page=10000").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/procedures/99999999999999999999999",
        f"/procedures/{2**31}",
        f"/plan/pin/{2**63}",
        "/procedures/0",
        "/procedures/-1",
    ],
)
def test_an_id_out_of_range_in_the_path_is_not_found(client, city, path):
    login(client, "admin")
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("version", ["abc", "²", "99999999999999999999999", "-1", "1\x00"])
def test_triage_with_a_malformed_version_is_refused_not_a_server_error(client, city, version):
    login(client, "admin")
    url = f"/procedures/{city['procedure_id']}"
    token = csrf_token(client, url)
    data = {"csrf_token": token, "version": version, "verdict": "feasible", "visit_required": ""}
    response = client.post(f"{url}/triage", data=data, headers={"Accept": "application/json"})
    assert response.status_code == 400
    # Without script: back to the page, with the message.
    response = client.post(f"{url}/triage", data=data)
    assert response.status_code in (302, 400)


@pytest.mark.parametrize("version", ["²", "99999999999999999999999"])
def test_an_action_with_a_malformed_version_is_refused(client, city, version):
    login(client, "admin")
    token = csrf_token(client, "/missing")
    response = client.post(
        f"/missing/{city['procedure_id']}/keep", data={"csrf_token": token, "version": version}
    )
    assert response.status_code == 400
    assert "正しくない値" in _error_message(response)


def test_bulk_ids_out_of_range_are_refused(client, city):
    login(client, "admin")
    token = csrf_token(client, "/procedures")
    for ids in ("99999999999999999999999", "²", "-1"):
        data = {"csrf_token": token, "change": "verdict:feasible", "ids": ids}
        assert client.post("/procedures/bulk", data=data).status_code == 400
    data = {"csrf_token": token, "change": "division:99999999999999999999999", "ids": "1"}
    response = client.post("/procedures/bulk", data=data)
    assert response.status_code == 400  # the list again, "choose a change" at its field
    assert 'id="bulk-change-error"' in response.get_data(as_text=True)


def test_a_nul_byte_anywhere_is_refused_with_a_message(client, city):
    login(client, "admin")
    for url in ("/procedures?q=a%00b", "/procedures?a%00=1", "/plan?compare=%00"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "正しくない値" in _error_message(response)


def test_a_weight_that_is_not_a_number_is_refused(client, city):
    login(client, "admin")
    token = csrf_token(client, "/plan/policy")
    data = {
        "csrf_token": token,
        "years-0-fiscal_year": "2026",
        "years-0-capacity": "10",
        "tiers-0-kind": "all",
        "volume_weight": "nan",
        "mynaportal_weight": "0",
        "try_plan": "1",
    }
    response = client.post("/plan/policy", data=data)
    assert response.status_code == 400
    assert "-10" in response.get_data(as_text=True)


def test_the_demo_batch_page_is_not_a_server_error(client, city, db_session):
    batch = ImportBatch(file_name="demo", sha256="demo", content=b"", status="demo")
    db_session.add(batch)
    db_session.commit()
    """The demo city's batch shows as imported, without a revert button."""
    login(client, "admin")
    response = client.get(f"/imports/{batch.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "取り込み済み" in page
    assert "/revert" not in page
