"""An exported inventory imports back with every procedure unchanged, hostile names too."""

import json

import pytest
from flask import session

from importers.values import channel
from procedures.vocabulary import CHANNELS
from tests.conftest import add_division, add_procedure


def import_report(runner, path) -> dict:
    result = runner.invoke(args=["import-inventory", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_reimporting_the_demo_export_reports_every_procedure_unchanged(runner, tmp_path):
    runner.invoke(args=["load-demo"])
    path = tmp_path / "inventory.xlsx"
    assert runner.invoke(args=["export-inventory", "--output", str(path)]).exit_code == 0
    report = import_report(runner, path)
    assert (report["rows"], report["created"], report["updated"]) == (1942, 0, 0)
    assert (report["unchanged"], report["missing"], report["errors"]) == (1942, 0, [])
    assert report["warnings"] == []


def test_hostile_names_survive_the_round_trip_without_becoming_formulas(
    runner, db_session, tmp_path
):
    division = add_division(db_session, "市民課")
    add_procedure(
        db_session, division, '=HYPERLINK("http://x","申請")', code="X-1", notes="+81-466-25-1111"
    )
    add_procedure(db_session, division, "@SUM(1+1)", code="X-2", notes="-2+3")
    path = tmp_path / "inventory.xlsx"
    runner.invoke(args=["export-inventory", "--output", str(path)])
    report = import_report(runner, path)
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 2)


def test_hostile_names_without_a_code_are_found_again_by_their_name(runner, db_session, tmp_path):
    division = add_division(db_session, "市民課")
    add_procedure(db_session, division, "=1+1の届出")
    add_procedure(db_session, division, "-の付く申請")
    path = tmp_path / "inventory.xlsx"
    runner.invoke(args=["export-inventory", "--output", str(path)])
    report = import_report(runner, path)
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 2)
    assert report["missing"] == 0


@pytest.mark.parametrize("language", ["ja", "en"])
def test_each_channel_label_an_export_writes_is_read_back_as_its_code(app, language):
    with app.test_request_context():
        session["lang"] = language
        labels = {code: str(text) for code, text in CHANNELS.items()}
    assert {code: channel(text) for code, text in labels.items()} == {
        code: code for code in CHANNELS
    }
    assert channel("窓口予約システム") == "窓口予約システム"
