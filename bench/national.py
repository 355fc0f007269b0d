"""National-layout export benchmark: the 75,071-procedure inventory in the 令和7年度 layout.

The baseline is openpyxl's write_only mode writing bare the very cells our export writes (the
same rows × 46 columns, already in memory as Python tuples) and saving to bytes. Ours is
`national_workbook` end to end: query, codes and 補足 details, write and save. The two are
timed alternating in the same process and the best of each is kept. Run alone
(`python bench/national.py`) or from bench/run.py; writes the "national" section of
docs/BENCHMARKS.md. Never asserts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from exports import ROUNDS, _best, _data_rows, _seconds, bare_workbook  # noqa: E402
from report import machine_line, replace_section  # noqa: E402


def measure(database_url: str, label: str) -> dict:
    """Load the national inventory, then time the bare write and the national export."""
    from sqlmodel import Session
    from triage import load

    from procedures.national.export import NationalWriter, national_rows, national_workbook

    app = load(database_url)
    engine = app.extensions["engine"]
    with Session(engine) as session:
        writer = NationalWriter(session)
        # The baseline's input: exactly the cells the export writes, as tuples in memory.
        rows = [tuple(values) for values in national_rows(session, writer)]
        header = writer.layout.names
        bare_runs, ours_runs = [], []
        for _ in range(ROUNDS):
            bare_runs.append(_seconds(lambda: bare_workbook(header, rows)))
            ours_runs.append(_seconds(lambda: national_workbook(session)))
        content = national_workbook(session)
    engine.dispose()
    return {
        "label": label,
        "rows": len(rows),
        "columns": len(header),
        "written": _data_rows(content, skip=1),
        "bytes": len(content),
        "bare": _best(bare_runs),
        "ours": _best(ours_runs),
    }


def section(results: list[dict], command: str) -> list[str]:
    """Return the Markdown lines of the national export section."""
    first = results[0]
    lines = [
        "## National export: the inventory in the 令和7年度 survey layout (.xlsx)",
        "",
        machine_line(command),
        "",
        f"Bare: openpyxl write_only writing the same {first['rows']:,} rows × "
        f"{first['columns']} columns (the export's own cells, already in memory as tuples) "
        "and saving to bytes. Ours: `national_workbook` end to end (query, national codes and "
        f"補足 details, write, save to bytes). Best of {ROUNDS}, alternating, in one process; "
        "wall time, and CPU time of the process.",
        "",
        "| database | rows | bare wall (s) | ours wall (s) | ratio | bare CPU (s) "
        "| ours CPU (s) | ratio | file |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for item in results:
        bare, ours = item["bare"], item["ours"]
        lines.append(
            f"| {item['label']} | {item['written']:,} | {bare['wall']:.2f} | "
            f"{ours['wall']:.2f} | {ours['wall'] / bare['wall']:.2f} | {bare['cpu']:.2f} | "
            f"{ours['cpu']:.2f} | {ours['cpu'] / bare['cpu']:.2f} | "
            f"{item['bytes'] / 2**20:.1f} MB |"
        )
    lines += ["", "Target (issue 20): within 1.5× of the bare write_only write."]
    return lines


def main(command: str = "python bench/national.py") -> list[str]:
    """Measure on scratch SQLite (and PostgreSQL with BENCH_POSTGRES_URL); rewrite the section."""
    from run import each_database

    results = [measure(url, label) for label, url in each_database("national")]
    lines = section(results, command)
    replace_section("national", lines)
    print("\n".join(lines), flush=True)
    return lines


if __name__ == "__main__":
    from triage import NATIONAL

    if not NATIONAL.exists():
        sys.exit(f"{NATIONAL} is missing: the benchmark needs ../shared/data")
    main()
    os._exit(0)
