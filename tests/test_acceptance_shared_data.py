"""The real inventories in ../shared/data import through the CLI with every row accounted for."""

import json
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not beside the repository"),
]


def import_json(runner, path: Path, *extra: str) -> dict:
    result = runner.invoke(args=["import-inventory", str(path), "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize(
    ("file_name", "rows"),
    [
        ("jp-national-procedures-r6-local.xlsx", 9606),
        ("jp-national-procedures-r6-local.cp932.csv", 9606),
        ("ca-gc-service-inventory-2019-2020.csv", 1231),
        ("ca-gc-titan-annual-extract.xlsx", 1231),
    ],
)
def test_real_inventory_imports_every_row(runner, file_name, rows):
    report = import_json(runner, SHARED / file_name)
    assert report["rows"] == rows
    assert report["created"] + len(report["errors"]) == rows
    assert report["errors"] == []
    summary = json.loads(runner.invoke(args=["summary", "--json"]).output)
    assert summary["procedures"] == rows


def test_the_csv_export_of_the_same_rows_changes_only_the_cells_cp932_cannot_hold(runner):
    import_json(runner, SHARED / "jp-national-procedures-r6-local.xlsx")
    report = import_json(runner, SHARED / "jp-national-procedures-r6-local.cp932.csv")
    assert (report["created"], report["missing"]) == (0, 0)
    # The CSV replaced 5 characters that CP932 cannot hold with "?" (shared/data/README.md).
    assert report["updated"] <= 5
    assert report["unchanged"] + report["updated"] == 9606


def test_the_whole_national_inventory_imports_and_viewing_kinds_need_a_visit(runner):
    path = SHARED / "jp-national-procedures-r6.xlsx"
    report = import_json(runner, path)
    assert (report["rows"], report["created"], len(report["errors"])) == (75071, 75071, 0)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("手続一覧").to_python()
    kind = rows[0].index("手続類型")
    viewing = sum(1 for row in rows[1:] if str(row[kind]).startswith("3"))
    summary = json.loads(runner.invoke(args=["summary", "--json"]).output)
    assert viewing > 0
    assert summary["in_person_required"] == viewing
