"""The Japanese local inventory exports in the national 令和7年度 layout and comes back the same."""

import json
import os
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from importers.national import load_layout

#: ../shared/data beside the repository, or the folder SHARED_DATA names.
SHARED = Path(
    os.environ.get("SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"
)
LOCAL = SHARED / "jp-national-procedures-r6-local.xlsx"

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not LOCAL.exists(), reason=f"{LOCAL} is absent"),
]


def test_the_local_inventory_round_trips_through_the_national_layout(runner, empty_app, tmp_path):
    result = runner.invoke(args=["import-inventory", str(LOCAL), "--json"])
    assert result.exit_code == 0, result.output
    exported = tmp_path / "r7.xlsx"
    result = runner.invoke(args=["export-national", "--output", str(exported)])
    assert result.exit_code == 0, result.output

    rows = CalamineWorkbook.from_path(str(exported)).get_sheet_by_name("手続一覧").to_python()
    layout = load_layout()
    assert rows[0] == layout.names
    for index, column in enumerate(layout.columns):
        if column.codes:
            written = {
                part
                for row in rows[1:]
                if row[index] != ""
                for part in (row[index].split("; ") if column.multi_value else [row[index]])
            }
            assert written <= set(column.codes), column.name
    source = CalamineWorkbook.from_path(str(LOCAL)).get_sheet_by_name("手続一覧").to_python()
    assert sorted(str(row[0]) for row in rows[1:]) == sorted(str(row[0]) for row in source[1:])
    assert len(rows) == 1 + 9606

    second = empty_app.test_cli_runner()
    result = second.invoke(args=["import-inventory", str(exported), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["created"] == 9606
    figures = [json.loads(r.invoke(args=["summary", "--json"]).output) for r in (runner, second)]
    assert figures[0] == figures[1]
