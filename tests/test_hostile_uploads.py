"""Hostile workbooks uploaded by a division clerk, given to the command line, sent to a server.

Each is refused with a clear message, nothing is written, and the process survives: a cell at
the far corner once made python-calamine allocate 512 GiB and abort the worker (and the
command line), a survey marker whose row was no number gave a traceback. The files are built
in tests/importers/test_hostile_workbooks.py.
"""

from __future__ import annotations

import html
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from sqlmodel import func, select

from procedures.models import AuditEvent, DivisionSurvey, ImportBatch, Procedure, Role
from tests.conftest import PASSWORD, add_division, add_procedure, add_user, csrf_token, login
from tests.importers.test_hostile_workbooks import (
    MARKER_DAMAGED,
    SHEET_CHANGED,
    TOO_MANY_CELLS,
    far_corner_refusal,
    hostile_workbooks,
)

ROOT = Path(__file__).resolve().parent.parent

#: The survey's refusals, as a Japanese page and the command line word them.
SURVEY_REFUSALS = {
    MARKER_DAMAGED: "この調査票は識別情報（ファイルのプロパティ）が変更されているか壊れているため"
    "読み取れません。「調査票」画面から新しい調査票をダウンロードし、回答を写してください。",
    SHEET_CHANGED: "この調査票はシート名または列が変更されているため読み取れません。「調査票」画面"
    "から新しい調査票をダウンロードし、回答を写してください。",
}


def page_refusal(refused_as: str) -> str:
    """The refusal a Japanese page shows."""
    if refused_as == TOO_MANY_CELLS:
        return far_corner_refusal().message_in("ja")
    return SURVEY_REFUSALS[refused_as]


def cli_refusal(refused_as: str) -> str:
    """The refusal the command line prints (the importer's refusals in English)."""
    if refused_as == TOO_MANY_CELLS:
        return f"refused: {far_corner_refusal().message}"
    return f"refused: {SURVEY_REFUSALS[refused_as]}"


@pytest.fixture
def clerk_division(db_session) -> int:
    """市民課 with one procedure, and its clerk `shimin`; returns the division's id."""
    division = add_division(db_session, "市民課", "市民自治部")
    add_procedure(db_session, division, "転入届", code="A-001", notes="窓口で受付")
    add_user(db_session, "shimin", Role.division, division="市民課")
    return division


CASES = sorted(hostile_workbooks(1).items())


def _written(db_session) -> tuple:
    """What an import writes: batches, procedures and their notes, survey answers, audit."""
    db_session.expire_all()
    return (
        db_session.exec(select(func.count()).select_from(ImportBatch)).one(),
        db_session.exec(select(Procedure.name, Procedure.notes, Procedure.version)).all(),
        db_session.exec(select(func.count()).select_from(DivisionSurvey)).one(),
        db_session.exec(select(func.count()).select_from(AuditEvent)).one(),
    )


def _flashed(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", page))


@pytest.mark.parametrize(("name", "case"), CASES, ids=[name for name, _case in CASES])
def test_a_clerk_uploading_it_is_told_why_and_nothing_is_written(
    client, db_session, clerk_division, name, case
):
    content, refused_as = hostile_workbooks(clerk_division)[name]
    login(client, "shimin")
    before = _written(db_session)
    token = csrf_token(client, "/imports/new")
    response = client.post(
        "/imports/new",
        data={"csrf_token": token, "file": (io.BytesIO(content), name), "division": "市民課"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert page_refusal(refused_as) in _flashed(response.get_data(as_text=True))
    assert _written(db_session) == before
    assert client.get("/procedures").status_code == 200


@pytest.mark.parametrize(("name", "case"), CASES, ids=[name for name, _case in CASES])
def test_the_command_line_refuses_it_with_exit_code_1(
    runner, db_session, clerk_division, tmp_path, name, case
):
    content, refused_as = hostile_workbooks(clerk_division)[name]
    path = tmp_path / name
    path.write_bytes(content)
    before = _written(db_session)
    result = runner.invoke(args=["import-inventory", str(path)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert result.output.strip() == cli_refusal(refused_as)
    assert _written(db_session) == before


# ------------------------------------------------------------------------------------------
# a real server and a real command line, in processes of their own
# ------------------------------------------------------------------------------------------


def _environment(app) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "SECRET_KEY": f"hostile-{uuid.uuid4().hex}",
        "PYTHONPATH": str(ROOT),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _workers(master: int) -> set[int]:
    """The worker processes of a gunicorn master."""
    children = Path(f"/proc/{master}/task/{master}/children")
    return {int(pid) for pid in children.read_text().split()}


class _Browser:
    """Cookies and CSRF tokens over real HTTP, as a browser signs in and uploads."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> tuple[int, str]:
        return self._send(urllib.request.Request(self.base + path))

    def post(self, path: str, body: bytes, content_type: str) -> tuple[int, str]:
        request = urllib.request.Request(
            self.base + path, data=body, headers={"Content-Type": content_type}
        )
        return self._send(request)

    def _send(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def token(self, path: str) -> str:
        page = self.get(path)[1]
        match = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def sign_in(self, login_name: str) -> None:
        form = urllib.parse.urlencode(
            {"login": login_name, "password": PASSWORD, "csrf_token": self.token("/login")}
        ).encode()
        status, page = self.post("/login", form, "application/x-www-form-urlencoded")
        assert status == 200 and "/logout" in page, status

    def upload(self, name: str, content: bytes) -> tuple[int, str]:
        boundary = uuid.uuid4().hex
        fields = {"csrf_token": self.token("/imports/new"), "division": "市民課"}
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
            f"{value}\r\n".encode()
            for key, value in fields.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.post(
            "/imports/new", b"".join(parts), f"multipart/form-data; boundary={boundary}"
        )


@pytest.fixture
def server(app, clerk_division, tmp_path):
    """A gunicorn with one worker serving the test database; yields (base URL, master pid)."""
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "--workers",
                "1",
                "--bind",
                f"127.0.0.1:{port}",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=_environment(app),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/login", timeout=5).close()
                break
            except OSError:
                assert process.poll() is None, log.read_text()[-2000:]
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_running_server_survives_every_hostile_upload(server, clerk_division, db_session):
    base, master = server
    workers = _workers(master)
    assert len(workers) == 1
    browser = _Browser(base)
    browser.sign_in("shimin")
    before = _written(db_session)
    for name, (content, refused_as) in sorted(hostile_workbooks(clerk_division).items()):
        status, page = browser.upload(name, content)
        assert status == 400, (name, status)
        assert page_refusal(refused_as) in _flashed(page), name
    status, page = browser.get("/procedures")
    assert status == 200 and "転入届" in page
    assert _workers(master) == workers  # the same worker: none was killed and replaced
    assert _written(db_session) == before


def test_the_real_command_line_exits_1_and_is_not_killed(app, clerk_division, tmp_path):
    for name, (content, refused_as) in sorted(hostile_workbooks(clerk_division).items()):
        path = tmp_path / name
        path.write_bytes(content)
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "import-inventory", str(path)],
            cwd=ROOT,
            env=_environment(app),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 1, (name, result.returncode, result.stderr[-800:])
        assert "Traceback" not in result.stderr, name
        assert result.stderr.strip() == cli_refusal(refused_as), name
