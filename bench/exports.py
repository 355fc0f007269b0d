"""Export benchmark: the 75,071-procedure inventory and a 1,000-row yearly list, as .xlsx.

The baseline is openpyxl's write_only mode writing bare the very cell values our export
writes (the same rows × columns, already in memory as Python tuples) and saving to bytes.
Ours is procedures/exports.py end to end: query, cell texts, write and save. The two are
timed alternating in the same process and the best of each is kept. Run alone
(`python bench/exports.py`) or from bench/run.py; writes the "exports" section of
docs/BENCHMARKS.md. Never asserts.
"""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import machine_line, replace_section  # noqa: E402

ROUNDS = 3
PLAN_ROWS = 1_000
PLAN_YEAR = 2025


def _seconds(function) -> tuple[float, float]:
    """Return the wall time and this process's CPU time of one call, in seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def _best(runs: list[tuple[float, float]]) -> dict:
    return {"wall": min(run[0] for run in runs), "cpu": min(run[1] for run in runs)}


def bare_workbook(header: list[str], rows: list[tuple]) -> bytes:
    """Write the rows with nothing but openpyxl's write_only mode, and save to bytes."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("手続一覧")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _make_plan(app, size: int) -> None:
    """Judge procedures feasible and let the ranking place `size` of them in one year."""
    from sqlalchemy import update
    from sqlmodel import Session

    from procedures.models import Procedure
    from procedures.plan.ranking import DEFAULT_POLICY
    from procedures.plan.schedule import recompute_plan

    engine = app.extensions["engine"]
    with Session(engine) as session:
        # Some candidates drop out (visit needed by nature, already online): judge more.
        session.execute(
            update(Procedure).where(Procedure.id <= 3 * size).values(verdict="feasible")
        )
        policy = {**DEFAULT_POLICY, "years": [{"fiscal_year": PLAN_YEAR, "capacity": size}]}
        # The plan starts at PLAN_YEAR, whatever today's fiscal year: the same list each run.
        recompute_plan(session, policy, current_year=PLAN_YEAR)
        session.commit()


def _data_rows(content: bytes, skip: int) -> int:
    """Count the rows of the first sheet below its `skip` title and header rows."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return len(workbook.get_sheet_by_index(0).to_python()) - skip


def measure(database_url: str, label: str) -> dict:
    """Load the national inventory, then time bare, inventory export and yearly list."""
    from sqlmodel import Session
    from triage import load

    from procedures.catalogue.exports import INVENTORY_COLUMNS, inventory_rows, inventory_workbook
    from procedures.plan.exports import plan_workbook

    app = load(database_url)
    engine = app.extensions["engine"]
    _make_plan(app, PLAN_ROWS)
    header = [header for header, _name in INVENTORY_COLUMNS]
    with app.test_request_context(), Session(engine) as session:
        # The baseline's input: exactly the cells the export writes, as tuples in memory.
        rows = [tuple(values) for values in inventory_rows(session)]
        bare_runs, ours_runs, plan_runs = [], [], []
        for _ in range(ROUNDS):
            bare_runs.append(_seconds(lambda: bare_workbook(header, rows)))
            ours_runs.append(_seconds(lambda: inventory_workbook(session)))
            plan_runs.append(
                _seconds(lambda: plan_workbook(session, fiscal_year=PLAN_YEAR, city="藤沢市"))
            )
        content = inventory_workbook(session)
        plan_content = plan_workbook(session, fiscal_year=PLAN_YEAR, city="藤沢市")
    engine.dispose()
    return {
        "label": label,
        "rows": len(rows),
        "columns": len(header),
        "written": _data_rows(content, skip=1),
        "bytes": len(content),
        "bare": _best(bare_runs),
        "ours": _best(ours_runs),
        "plan_rows": _data_rows(plan_content, skip=4),
        "plan": _best(plan_runs),
        "plan_bytes": len(plan_content),
    }


def section(results: list[dict], command: str) -> list[str]:
    """Return the Markdown lines of the exports section."""
    first = results[0]
    lines = [
        "## Exports: the inventory and the yearly list as .xlsx",
        "",
        machine_line(command),
        "",
        f"Bare: openpyxl write_only writing the same {first['rows']:,} rows × "
        f"{first['columns']} columns (the export's own cell values, already in memory as "
        "tuples) and saving to bytes. Ours: `inventory_workbook` end to end (query, cell "
        "texts, write, save to bytes). Yearly list: `plan_workbook` for a plan of "
        f"{first['plan_rows']:,} rows (styled, with its summary sheet). Best of {ROUNDS}, "
        "alternating, in one process; wall time, and CPU time of the process (steadier "
        "when other work shares the machine).",
        "",
        "| database | export | rows | bare wall (s) | ours wall (s) | ratio | bare CPU (s) "
        "| ours CPU (s) | ratio | file |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for item in results:
        bare, ours, plan = item["bare"], item["ours"], item["plan"]
        lines += [
            f"| {item['label']} | inventory | {item['written']:,} | {bare['wall']:.2f} | "
            f"{ours['wall']:.2f} | {ours['wall'] / bare['wall']:.2f} | {bare['cpu']:.2f} | "
            f"{ours['cpu']:.2f} | {ours['cpu'] / bare['cpu']:.2f} | "
            f"{item['bytes'] / 2**20:.1f} MB |",
            f"| {item['label']} | yearly list | {item['plan_rows']:,} | – | "
            f"{plan['wall']:.2f} | – | – | {plan['cpu']:.2f} | – | "
            f"{item['plan_bytes'] / 1024:.0f} KB |",
        ]
    lines += [
        "",
        "Targets (issue 6): inventory within 1.3× of bare write_only; a yearly list of 1,000 "
        "rows under 1 s.",
    ]
    return lines


def main(command: str = "python bench/exports.py") -> list[str]:
    """Measure on scratch SQLite (and PostgreSQL with BENCH_POSTGRES_URL); rewrite the section."""
    from run import each_database

    results = [measure(url, label) for label, url in each_database("exports")]
    lines = section(results, command)
    replace_section("exports", lines)
    print("\n".join(lines), flush=True)
    return lines


if __name__ == "__main__":
    from triage import NATIONAL

    if not NATIONAL.exists():
        sys.exit(f"{NATIONAL} is missing: the benchmark needs ../shared/data")
    main()
    os._exit(0)
