"""The real inventories give the steps, complete online and take-up their files say.

Each figure of `summary --json` is recomputed here from the file itself, with csv or calamine,
by the rule docs/DOMAIN.md states, not by the application's code.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import select

#: ../shared/data beside the repository, or where SHARED_DATA_DIR says (a second checkout).
SHARED = Path(
    os.environ.get("SHARED_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data"
)
CANADA = SHARED / "ca-gc-service-inventory-2019-2020.csv"
LOCAL = SHARED / "jp-national-procedures-r6-local.xlsx"

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not SHARED.exists(), reason=f"the real inventories are not in {SHARED}"),
]

#: Canada's step columns and the steps they are (importers/steps.json).
E_STEPS = {
    "e_registration": "registration",
    "e_authentication": "identification",
    "e_application": "application",
    "e_decision": "decision",
    "e_issuance": "issuance",
    "e_feedback": "feedback",
}
OTHER_CHANNELS = (
    "telephone_applications",
    "in_person_applications",
    "postal_mail_applications",
    "other_applications",
)


def import_json(runner, path: Path) -> dict:
    result = runner.invoke(args=["import-inventory", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def summary(runner) -> dict:
    return json.loads(runner.invoke(args=["summary", "--json"]).output)


@pytest.fixture
def canada(runner) -> list[dict[str, str]]:
    import_json(runner, CANADA)
    with CANADA.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_canada_gives_each_step_the_counts_of_y_n_and_na_in_its_column(runner, canada):
    counts = summary(runner)
    for column, step in E_STEPS.items():
        cells = [row[column] for row in canada]
        assert counts["steps"][step] == {
            "online": cells.count("Y"),
            "offline": cells.count("N"),
            "not_applicable": cells.count("NA"),
            "unknown": len(cells) - cells.count("Y") - cells.count("N") - cells.count("NA"),
        }, column
    # No fee: no payment step. The file names no payment method and no attachments.
    fees = [row["service_fee"] for row in canada]
    assert counts["steps"]["payment"]["not_applicable"] == fees.count("N")
    assert counts["steps"]["attachments"]["unknown"] == len(canada)


def _settled(row: dict[str, str]) -> bool:
    """Every e_* step online or not applicable, and the application online."""
    return row["e_application"] == "Y" and all(row[c] in ("Y", "NA") for c in E_STEPS)


def test_canada_complete_online_waits_for_the_attachments_the_file_does_not_record(
    app, runner, canada
):
    counts = summary(runner)
    # Nothing is complete while a step is unknown: every service's attachments are.
    assert counts["complete_online"] == 0
    assert counts["not_yet_confirmed"] == sum(
        1 for row in canada if row["e_application"] == "Y" and "N" not in (row[c] for c in E_STEPS)
    )

    # The DX office confirms that none of them asks for attachments (a bulk change).
    from procedures.catalogue.steps import set_step_for
    from procedures.core import db
    from procedures.models import Procedure

    with app.app_context(), db.session_scope() as session:
        changed = set_step_for(
            session, select(Procedure.id), step="attachments", status="not_applicable", user_id=None
        )
    assert changed == len(canada)
    counts = summary(runner)
    # Complete: the six steps settled, and no fee (a fee's payment method is not recorded).
    complete = [row for row in canada if _settled(row) and row["service_fee"] == "N"]
    assert counts["complete_online"] == len(complete)
    assert counts["not_yet_confirmed"] == sum(
        1 for row in canada if _settled(row) and row["service_fee"] == "Y"
    )
    assert counts["complete_online"] > 0

    # One step from complete: exactly one e_* step N, no fee, the application online or the N.
    unlocks = dict.fromkeys(counts["unlocks"], 0)
    for row in canada:
        offline = [c for c in E_STEPS if row[c] == "N"]
        others_fine = all(row[c] in ("Y", "NA") for c in E_STEPS if c not in offline)
        application_fine = bool(offline) and "e_application" in (offline[0], *yes(row))
        if len(offline) == 1 and others_fine and application_fine and row["service_fee"] == "N":
            unlocks[E_STEPS[offline[0]]] += 1
    assert counts["unlocks"] == unlocks


def yes(row: dict[str, str]) -> list[str]:
    """Return the e_* columns that say Y."""
    return [c for c in E_STEPS if row[c] == "Y"]


def _count(cell: str) -> int | None:
    return int(cell) if cell.isdigit() else None


def test_canada_online_volume_is_the_sum_of_its_known_online_applications(runner, canada):
    counts = summary(runner)
    online = [_count(row["online_applications"]) for row in canada]
    assert counts["online_volume"] == sum(n for n in online if n is not None)
    # Take-up over the services that know both: online, and at least one other channel.
    both = []
    for row, on in zip(canada, online, strict=True):
        others = [_count(row[c]) for c in OTHER_CHANNELS]
        known = [n for n in others if n is not None]
        if on is not None and known:
            both.append((on, sum(known)))
    assert counts["take_up"] == pytest.approx(
        sum(on for on, _ in both) / sum(on + off for on, off in both)
    )


def test_the_local_inventory_gives_online_volume_take_up_and_application_steps(runner):
    report = import_json(runner, LOCAL)
    assert report["errors"] == []
    rows = CalamineWorkbook.from_path(str(LOCAL)).get_sheet_by_name("手続一覧").to_python()
    header, body = rows[0], rows[1:]
    online = [row[header.index("オンライン手続件数")] for row in body]
    offline = [row[header.index("非オンライン手続件数")] for row in body]
    counts = summary(runner)
    assert counts["online_volume"] == int(sum(n for n in online if n != ""))
    both = [(on, off) for on, off in zip(online, offline, strict=True) if "" not in (on, off)]
    assert counts["take_up"] == pytest.approx(
        sum(on for on, _ in both) / sum(on + off for on, off in both)
    )
    statuses = [str(row[header.index("オンライン化の実施状況")])[:1] for row in body]
    assert counts["steps"]["application"] == {
        "online": statuses.count("1") + statuses.count("5"),
        "offline": statuses.count("2"),
        "not_applicable": statuses.count("3"),
        "unknown": statuses.count("4"),
    }
