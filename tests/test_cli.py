"""The command-line contract that scripts and later work rely on."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from openpyxl import Workbook, load_workbook
from sqlmodel import select

from procedures.models import Role, User
from procedures.survey.status import current_fiscal_year
from procedures.vocabulary import japanese_fiscal_year
from tests.conftest import add_user

ROOT = Path(__file__).resolve().parent.parent


def small_inventory(path: Path, rows) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "手続一覧"
    sheet.append(["課名", "手続名", "年間件数", "来庁の要否"])
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_init_db_is_idempotent(runner):
    first = runner.invoke(args=["init-db"])
    second = runner.invoke(args=["init-db"])
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert "up to date" in second.output


def test_create_user_reads_the_password_from_stdin(runner, db_session):
    result = runner.invoke(args=["create-user", "kato", "--role", "viewer"], input="s3cret-pass\n")
    assert result.exit_code == 0, result.output
    user = db_session.exec(select(User).where(User.login == "kato")).one()
    assert user.role == Role.viewer


def test_create_division_user_needs_an_existing_division(runner):
    result = runner.invoke(
        args=["create-user", "sato", "--role", "division", "--division", "存在しない課"],
        input="s3cret-pass\n",
    )
    assert result.exit_code == 1
    assert "no division named '存在しない課'" in result.output


def test_import_json_counts_every_row(runner, tmp_path):
    path = small_inventory(
        tmp_path / "inventory.xlsx",
        [
            ["市民課", "住民票の写しの交付申請", "42,000", "不要"],
            ["市民課", "転入届", "約500", "要"],
            ["市民課", "", "10", "不要"],
        ],
    )
    result = runner.invoke(args=["import-inventory", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["file"], report["rows"], report["created"], report["updated"]) == (
        "inventory.xlsx",
        3,
        2,
        0,
    )
    assert (report["unchanged"], report["missing"], len(report["errors"])) == (0, 0, 1)
    assert report["errors"][0]["row"] == 4
    assert set(report) == {
        "file",
        "sheets",
        "rows",
        "created",
        "updated",
        "unchanged",
        "missing",
        "errors",
        "warnings",
        "absent",
        "scope",
        "unrecognised",
        "decided",
    }


def test_dry_run_writes_nothing(runner, tmp_path):
    path = small_inventory(tmp_path / "i.xlsx", [["市民課", "転入届", "500", "要"]])
    dry = json.loads(
        runner.invoke(args=["import-inventory", str(path), "--dry-run", "--json"]).output
    )
    assert dry["created"] == 1
    summary = json.loads(runner.invoke(args=["summary", "--json"]).output)
    assert summary["procedures"] == 0


def test_same_bytes_twice_are_refused_and_change_nothing(runner, tmp_path):
    path = small_inventory(tmp_path / "i.xlsx", [["市民課", "転入届", "500", "要"]])
    assert runner.invoke(args=["import-inventory", str(path)]).exit_code == 0
    again = runner.invoke(args=["import-inventory", str(path)])
    assert again.exit_code == 1
    assert "already imported" in again.output
    assert json.loads(runner.invoke(args=["summary", "--json"]).output)["procedures"] == 1


def test_refused_file_exits_1_with_reason_and_writes_nothing(runner, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a workbook")
    result = runner.invoke(args=["import-inventory", str(path)])
    assert result.exit_code == 1
    assert result.output.startswith("refused: ")
    assert json.loads(runner.invoke(args=["summary", "--json"]).output)["procedures"] == 0


def test_reimporting_changed_content_reports_changed_and_missing(runner, tmp_path):
    first = small_inventory(
        tmp_path / "a.xlsx", [["市民課", "転入届", "500", "要"], ["市民課", "転出届", "400", "要"]]
    )
    runner.invoke(args=["import-inventory", str(first)])
    second = small_inventory(tmp_path / "b.xlsx", [["市民課", "転入届", "650", "要"]])
    report = json.loads(runner.invoke(args=["import-inventory", str(second), "--json"]).output)
    assert (report["created"], report["updated"], report["unchanged"], report["missing"]) == (
        0,
        1,
        0,
        1,
    )
    summary = json.loads(runner.invoke(args=["summary", "--json"]).output)
    assert (summary["procedures"], summary["annual_volume"]) == (2, 1050)


def test_summary_json_has_the_contract_keys(runner):
    summary = json.loads(runner.invoke(args=["summary", "--json"]).output)
    assert list(summary) == [
        "procedures",
        "divisions",
        "in_person_required",
        "surveyed",
        "feasible",
        "infeasible",
        "undecided",
        "mynaportal_eligible",
        "online",
        "partly_online",
        "annual_volume",
        "volume_unknown",
        "fee_required",
        "seal_required",
        "with_words_not_understood",
        "planned",
        "done",
        "complete_online",
        "not_yet_confirmed",
        "steps",
        "unlocks",
        "unlocks_volume",
        "online_volume",
        "take_up",
    ]


def test_demo_reproduces_the_fujisawa_funnel_and_plan(runner):
    assert "1942" in runner.invoke(args=["load-demo"]).output
    summary = json.loads(runner.invoke(args=["summary", "--json"]).output)
    assert (summary["procedures"], summary["in_person_required"], summary["surveyed"]) == (
        1942,
        158,
        1784,
    )
    assert summary["feasible"] == 723
    # Fujisawa's FY2022–FY2025 figures, planned from the current fiscal year on.
    first = current_fiscal_year()
    assert summary["planned"] == {
        str(first): 401,
        str(first + 1): 89,
        str(first + 2): 35,
        str(first + 3): 198,
    }
    again = runner.invoke(args=["load-demo"])
    assert "already holds procedures" in again.output
    assert json.loads(runner.invoke(args=["summary", "--json"]).output)["procedures"] == 1942


def test_plan_json_lists_each_year_in_order(runner):
    runner.invoke(args=["load-demo"])
    plan = json.loads(runner.invoke(args=["plan", "--json"]).output)
    first = current_fiscal_year()
    assert {year: len(rows) for year, rows in plan.items()} == {
        str(first): 401,
        str(first + 1): 89,
        str(first + 2): 35,
        str(first + 3): 198,
    }
    second = str(first + 1)
    assert [row["position"] for row in plan[second][:3]] == [1, 2, 3]
    scores = [row["score"] for row in plan[second]]
    assert scores == sorted(scores, reverse=True)


def test_export_plan_writes_the_yearly_list(runner, tmp_path):
    runner.invoke(args=["load-demo"])
    output = tmp_path / "plan.xlsx"
    second = current_fiscal_year() + 1
    assert (
        runner.invoke(
            args=["export-plan", "--fiscal-year", str(second), "--output", str(output)]
        ).exit_code
        == 0
    )
    sheet = load_workbook(output).active
    assert sheet["A1"].value == (
        f"藤沢市（デモ）：{japanese_fiscal_year(second)}（FY{second}）にオンライン化する手続"
    )
    assert sheet.max_row == 4 + 89
    assert sheet.freeze_panes == "A5"
    assert sheet.page_setup.orientation == "landscape"


def test_export_inventory_writes_every_procedure(runner, tmp_path):
    runner.invoke(args=["load-demo"])
    output = tmp_path / "inventory.xlsx"
    assert runner.invoke(args=["export-inventory", "--output", str(output)]).exit_code == 0
    sheet = load_workbook(io.BytesIO(output.read_bytes()), read_only=True).active
    assert sum(1 for _ in sheet.iter_rows()) == 1 + 1942


def test_summary_through_the_real_command_line(app, tmp_path):
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "x"}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "summary", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["procedures"] == 0


def test_an_import_names_the_user_given_in_the_audit_log(runner, db_session, tmp_path):
    from procedures.models import AuditEvent

    add_user(db_session, "suzuki", Role.dx_office)
    path = small_inventory(tmp_path / "i.xlsx", [["市民課", "転入届", "500", "要"]])
    unknown = runner.invoke(args=["import-inventory", str(path), "--user", "nobody"])
    assert unknown.exit_code == 1
    assert "refused: there is no user 'nobody'; create it with create-user" in unknown.output
    assert runner.invoke(args=["import-inventory", str(path), "--user", "suzuki"]).exit_code == 0
    suzuki = db_session.exec(select(User).where(User.login == "suzuki")).one()
    events = db_session.exec(select(AuditEvent.action, AuditEvent.user_id)).all()
    assert events == [("create", suzuki.id)]


def test_a_command_leaves_no_write_ahead_log_behind(tmp_path):
    """The process closes its SQLite connections at exit: only the database file remains."""
    folder = tmp_path / "data"
    folder.mkdir()
    database = folder / "procedures.sqlite"
    path = small_inventory(tmp_path / "i.xlsx", [["市民課", "転入届", "500", "要"]])
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "x"}
    for command in (["init-db"], ["import-inventory", str(path), "--json"]):
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["created"] == 1
    assert sorted(entry.name for entry in folder.iterdir()) == ["procedures.sqlite"]
