"""`make run`: quiet steps, the demo accounts it shows, the port it serves on, and the favicon."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from sqlmodel import select

from procedures.accounts.users import set_password
from procedures.models import Division, Role, User
from tests.conftest import add_division, add_procedure, add_user, login

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app_config(tmp_path):
    return {"DEMO_ACCOUNTS_FILE": str(tmp_path / "instance" / "demo-accounts.json")}


@pytest.fixture
def served(monkeypatch):
    """Stand in for werkzeug's server: record where `serve` binds, and return at once."""
    calls: list[str] = []

    class Server:
        def serve_forever(self) -> None:
            calls.append("served")

    def make_server(host, port, app, threaded=False):
        calls.append(f"bound {host}:{port}{' threaded' if threaded else ''}")
        return Server()

    monkeypatch.setattr("werkzeug.serving.make_server", make_server)
    return calls


def kept(app) -> dict:
    return json.loads(Path(app.config["DEMO_ACCOUNTS_FILE"]).read_text(encoding="utf-8"))


def test_make_run_ends_with_the_address_and_one_demo_account_per_role(app, runner, served):
    loaded = runner.invoke(args=["load-demo", "--with-accounts"])
    assert loaded.output == "loaded the demo municipality: 1942 procedures and 4 accounts\n"
    assert runner.invoke(args=["ensure-admin", "--quiet"]).output == ""
    passwords = {login: entry["password"] for login, entry in kept(app).items()}
    assert list(passwords) == ["admin", "dx_office", "division", "viewer"]

    for _ in range(2):  # every run shows them, not only the first
        result = runner.invoke(args=["serve", "--port", "5301"])
        assert result.exit_code == 0, result.output
        assert result.output.splitlines() == [
            "",
            "Procedures DX is running at http://127.0.0.1:5301/ (Ctrl+C stops it).",
            f"Demo city accounts (their passwords are kept in {app.config['DEMO_ACCOUNTS_FILE']}):",
            "  login      password          role",
            f"  admin      {passwords['admin']}  admin",
            f"  dx_office  {passwords['dx_office']}  dx_office",
            f"  division   {passwords['division']}  division (市民窓口センター)",
            f"  viewer     {passwords['viewer']}  viewer",
        ]
    assert served == ["bound 127.0.0.1:5301 threaded", "served"] * 2


def test_the_demo_accounts_have_their_roles_and_sign_in_with_the_shown_password(
    app, runner, db_session
):
    runner.invoke(args=["load-demo", "--with-accounts"])
    rows = db_session.exec(
        select(User.login, User.role, Division.name).join(
            Division, Division.id == User.division_id, isouter=True
        )
    ).all()
    assert sorted(rows) == [
        ("admin", Role.admin, None),
        ("division", Role.division, "市民窓口センター"),
        ("dx_office", Role.dx_office, None),
        ("viewer", Role.viewer, None),
    ]
    for account, entry in kept(app).items():
        client = app.test_client()
        assert login(client, account, entry["password"]).location == "/procedures"
        assert f">{account}</a>" in client.get("/procedures").get_data(as_text=True)


def test_the_passwords_file_is_the_owners_alone(app, runner):
    runner.invoke(args=["load-demo", "--with-accounts"])
    path = Path(app.config["DEMO_ACCOUNTS_FILE"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [entry.name for entry in path.parent.iterdir()] == ["demo-accounts.json"]


def test_a_password_changed_since_is_not_shown(app, runner, db_session, served):
    runner.invoke(args=["load-demo", "--with-accounts"])
    viewer = db_session.exec(select(User).where(User.login == "viewer")).one()
    with app.app_context():
        set_password(session=db_session, user=viewer, password="a new one 123", one_time=False)
    db_session.commit()
    lines = runner.invoke(args=["serve", "--port", "5000"]).output.splitlines()
    assert lines[-1] == "  viewer     (changed since)   viewer"


def test_running_again_makes_only_the_missing_accounts(app, runner, db_session):
    runner.invoke(args=["load-demo"])
    add_user(db_session, "admin", Role.admin)
    again = runner.invoke(args=["load-demo", "--with-accounts"])
    assert again.output == (
        "the database already holds procedures: demo not loaded again and 3 accounts\n"
    )
    assert list(kept(app)) == ["dx_office", "division", "viewer"]


def test_an_admin_made_before_the_demo_kept_passwords_is_shown_without_one(
    app, runner, db_session, served
):
    runner.invoke(args=["load-demo"])
    add_user(db_session, "admin", Role.admin)
    runner.invoke(args=["load-demo", "--with-accounts"])
    lines = runner.invoke(args=["serve"]).output.splitlines()
    assert lines[1] == "Procedures DX is running at http://127.0.0.1:5000/ (Ctrl+C stops it)."
    assert lines[4] == "  admin      (printed once when made)  admin"


def test_a_city_that_is_not_the_demo_gets_no_demo_accounts(app, runner, db_session, served):
    add_procedure(db_session, add_division(db_session, "市民課"), "転入届")
    assert runner.invoke(args=["load-demo", "--with-accounts"]).output == (
        "the database already holds procedures: demo not loaded again\n"
    )
    assert not Path(app.config["DEMO_ACCOUNTS_FILE"]).exists()
    created = runner.invoke(args=["ensure-admin", "--quiet"]).output.splitlines()
    assert re.fullmatch(r"created admin user 'admin' with password: \S{16}", created[0])
    assert runner.invoke(args=["serve", "--port", "8080"]).output.splitlines() == [
        "",
        "Procedures DX is running at http://127.0.0.1:8080/ (Ctrl+C stops it).",
        "Sign in as admin: its password was printed once, when it was made.",
    ]


def test_ensure_admin_still_says_an_admin_exists_unless_quiet(runner, db_session):
    add_user(db_session, "chief", Role.admin)
    assert runner.invoke(args=["ensure-admin"]).output == (
        "an admin user exists already; its password is not shown again\n"
    )
    assert runner.invoke(args=["ensure-admin", "--quiet"]).output == ""


def test_create_user_can_generate_a_password_printed_once(app, runner, db_session):
    add_division(db_session, "市民課")
    result = runner.invoke(
        args=["create-user", "ito", "--role", "division", "--division", "市民課"]
        + ["--generate-password"]
    )
    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()
    match = re.fullmatch(r"created user ito \(division\) with password: (\S{16})", first)
    assert match and second == "Write it down now: it is not shown again."
    assert login(app.test_client(), "ito", match.group(1)).location == "/procedures"


needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_dry_run(target: str, venv: Path, **variables: str) -> list[str]:
    """Return the commands `make -n` would run for a target, with a stand-in virtualenv."""
    arguments = [f"{name}={value}" for name, value in {"VENV": str(venv), **variables}.items()]
    # Under `make test` the outer make's level and flags are inherited; without removing them
    # the inner make prints "Entering directory" lines among the commands.
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"}
    }
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", target, *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.splitlines()


@pytest.fixture
def venv(tmp_path) -> Path:
    """A virtualenv as `make` sees it: its python exists, newer than pyproject.toml."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").touch()
    return tmp_path


@needs_make
def test_make_run_serves_on_port_and_needs_no_test_tools(venv):
    flask = f"{venv}/bin/flask --app wsgi"
    installs = make_dry_run("run", venv, PORT="5301")
    assert "-e ." in installs[2] and "[dev]" not in "".join(installs)
    (venv / ".installed-run").touch()
    assert make_dry_run("run", venv, PORT="5301") == [
        f"{flask} init-db",
        f"{flask} load-demo --with-accounts",
        f"{flask} ensure-admin --quiet",
        f"{flask} serve --port 5301",
    ]


@needs_make
def test_make_test_installs_the_test_tools_after_make_run_and_make_run_nothing_after_it(venv):
    (venv / ".installed-run").touch()
    assert any("-e '.[dev]'" in line for line in make_dry_run("test", venv))
    (venv / ".installed-dev").touch()
    assert make_dry_run("run", venv)[-1] == f"{venv}/bin/flask --app wsgi serve --port 5000"
    assert not any("pip" in line for line in make_dry_run("run", venv))


def test_every_page_declares_the_favicon_and_it_is_served(client):
    page = client.get("/login").get_data(as_text=True)
    declared = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert declared and declared.group(1) == "/static/favicon.svg"
    with client.get(declared.group(1)) as icon:
        assert (icon.status_code, icon.mimetype) == (200, "image/svg+xml")
        assert icon.get_data(as_text=True).startswith("<svg ")


def test_favicon_ico_answers_without_signing_in(client):
    with client.get("/favicon.ico") as icon:
        assert (icon.status_code, icon.mimetype) == (200, "image/vnd.microsoft.icon")
        # An icon directory holding three sizes.
        assert icon.data[:6] == b"\x00\x00\x01\x00\x03\x00"
