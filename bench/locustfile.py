"""Locust users for bench/load.py: clerks browsing, filtering and judging procedures.

Run by bench/load.py (`locust --headless -f bench/locustfile.py …`), never alone: it reads the
users' logins, the highest procedure id and where to write the raw samples from the
environment. Each request is kept as (name, milliseconds, ok, when) so that load.py computes exact
medians and 95th percentiles; an edit refused because someone else saved first (409) is a
conflict, counted apart from errors.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from locust import FastHttpUser, between, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from triage import LIST_QUERIES  # noqa: E402

LOGINS = os.environ.get("BENCH_LOAD_LOGINS", "").split(",")
PASSWORD = os.environ.get("BENCH_LOAD_PASSWORD", "")
MAX_ID = int(os.environ.get("BENCH_LOAD_MAX_ID", "75000"))
THINK = tuple(float(part) for part in os.environ.get("BENCH_LOAD_THINK", "0.5,1.5").split(","))
SEARCH_WORDS = ("届", "申請", "許可", "証明", "閲覧", "補助金", "登録", "変更")
SORTS = ("name", "volume", "updated", "code")
CHANNELS = ("ぴったりサービス", "汎用電子申請", "コンビニ交付", "")

FORM = {"Content-Type": "application/x-www-form-urlencoded"}

SAMPLES: list[tuple[str, float, bool, float]] = []
FAILURES: dict[str, int] = {}
CONFLICTS = {"count": 0}
USER_ERRORS = {"count": 0}
_next_login = iter(LOGINS)


@events.request.add_listener
def _keep_sample(name, response_time, exception, **_kwargs) -> None:
    SAMPLES.append((name, response_time, exception is None, time.time()))
    if exception is not None:
        key = f"{name}: {exception}"[:200]
        FAILURES[key] = FAILURES.get(key, 0) + 1


@events.user_error.add_listener
def _keep_user_error(user_instance, exception, tb, **_kwargs) -> None:
    key = f"user error: {exception!r}"[:200]
    FAILURES[key] = FAILURES.get(key, 0) + 1
    USER_ERRORS["count"] += 1


@events.quitting.add_listener
def _write_samples(environment, **_kwargs) -> None:
    path = os.environ.get("BENCH_LOAD_OUT")
    if path:
        Path(path).write_text(
            json.dumps(
                {
                    "samples": SAMPLES,
                    "failures": FAILURES,
                    "conflicts": CONFLICTS["count"],
                    "user_errors": USER_ERRORS["count"],
                }
            ),
            encoding="utf-8",
        )


class FormReader(HTMLParser):
    """Collect the fields of the form whose action ends with `action`, as a browser would."""

    def __init__(self, action: str):
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            action = attributes.get("action") or ""
            # An empty action is a form that posts back to its own page (the sign-in form).
            self.inside = action.endswith(self.action) if self.action else not action
        if not self.inside:
            return
        name = attributes.get("name")
        if tag == "input" and name and attributes.get("type") not in ("submit", "button"):
            if attributes.get("type") == "checkbox" and "checked" not in attributes:
                return
            self.fields.append((name, attributes.get("value") or ""))
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in attributes:
            self.fields.append((self._select, attributes.get("value") or ""))
        elif tag == "textarea":
            self._textarea, self._text = name, []

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # Browsers drop the one newline that follows <textarea>.
            text = "".join(self._text)
            self.fields.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None


def read_form(html: str, action: str) -> list[tuple[str, str]]:
    """Return the fields a browser would submit from the form posting to `action`."""
    reader = FormReader(action)
    reader.feed(html)
    return reader.fields


class Clerk(FastHttpUser):
    """A DX office clerk: lists with filters, opens procedures and judges some of them."""

    wait_time = between(*THINK)

    def on_start(self) -> None:
        """Sign in with one of the prepared accounts."""
        self.login = next(_next_login)
        page = self.client.get("/login", name="sign-in form").text
        token = dict(read_form(page, ""))["csrf_token"]
        with self.client.post(
            "/login",
            data=urlencode({"login": self.login, "password": PASSWORD, "csrf_token": token}),
            headers=FORM,
            name="sign in",
            catch_response=True,
        ) as response:
            if "/logout" not in response.text:
                response.failure(f"{self.login} was not signed in")

    def _list_query(self) -> str:
        choice = random.random()
        if choice < 0.5:
            # The combinations timed by bench/triage.py, URL-encoded as a browser sends them.
            return urlencode(parse_qsl(random.choice(list(LIST_QUERIES.values()))))
        if choice < 0.8:
            return urlencode(
                {
                    "q": random.choice(SEARCH_WORDS),
                    "sort": random.choice(SORTS),
                    "dir": random.choice(("asc", "desc")),
                }
            )
        return urlencode(
            {"verdict": random.choice(("feasible", "undecided")), "sort": "volume", "dir": "desc"}
        )

    @task(6)
    def browse_list(self) -> None:
        """Open the list with a filter, search or sort a clerk would use."""
        self.client.get(f"/procedures?{self._list_query()}", name="list: filter/search/sort")

    @task(2)
    def page_through(self) -> None:
        """Go a few pages down a filtered list."""
        query = self._list_query()
        for page in range(2, 2 + random.randint(1, 3)):
            self.client.get(f"/procedures?{query}&page={page}", name="list: next page")

    @task(4)
    def open_detail(self) -> None:
        """Open one procedure."""
        self.client.get(f"/procedures/{random.randint(1, MAX_ID)}", name="detail")

    @task(2)
    def judge(self) -> None:
        """Re-read a procedure, then save a judgement in place as the page's script does."""
        procedure_id = random.randint(1, MAX_ID)
        page = self.client.get(f"/procedures/{procedure_id}", name="detail (before edit)").text
        fields = [
            (name, value)
            for name, value in read_form(page, f"/procedures/{procedure_id}/triage")
            if name not in ("verdict", "channel", "target_fiscal_year")
        ]
        if not fields:
            return
        fields += [
            ("verdict", random.choice(("feasible", "undecided"))),
            ("channel", random.choice(CHANNELS)),
            ("target_fiscal_year", str(random.randint(2026, 2030))),
        ]
        with self.client.post(
            f"/procedures/{procedure_id}/triage",
            data=urlencode(fields),
            headers={**FORM, "Accept": "application/json"},
            name="triage save (POST)",
            catch_response=True,
        ) as response:
            if response.status_code == 409:
                CONFLICTS["count"] += 1
                response.success()
            elif response.status_code != 200 or not response.json().get("ok"):
                response.failure(f"status {response.status_code}: {response.text[:120]}")
