"""The national import as a whole process: `flask … import-inventory` from spawn to exit.

Against `python -c` reading the same sheet with python-calamine, also from spawn to exit. Each
child is started with Popen and reaped with os.wait4, whose rusage is that child's alone: its
maximum RSS is the peak of that one process (RUSAGE_CHILDREN would give the largest of all the
children so far).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BARE_CODE = (
    "import sys; from python_calamine import CalamineWorkbook; "
    "CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_name('手続一覧').to_python()"
)

#: Settings of the environment that would change what the app reads or writes; the bench gives
#: its own DATABASE_URL and SECRET_KEY (so instance/config.py is neither written nor its
#: database used) and leaves the others out.
_APP_SETTINGS = (
    "DATABASE_URL",
    "SECRET_KEY",
    "PROGRESS_DATABASE_URL",
    "CITY_NAME",
    "UPLOAD_MAX_BYTES",
    "IMPORT_BACKGROUND_ROWS",
)


def _flask() -> list[str]:
    """The `flask` command of this interpreter's environment."""
    script = Path(sys.executable).with_name("flask")
    return [str(script)] if script.exists() else [sys.executable, "-m", "flask"]


def _app_env(database_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _APP_SETTINGS}
    return {**env, "DATABASE_URL": database_url, "SECRET_KEY": "bench"}


def timed_process(command: list[str], env: dict[str, str] | None = None) -> dict:
    """Run a command from spawn to exit; return its wall time, CPU, peak RSS and stdout.

    Output goes to temporary files, not pipes: the child is reaped by os.wait4 (for its own
    rusage) without anyone reading a pipe meanwhile.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT, env=env)
        _pid, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{stderr[-4000:]}")
    return {
        "seconds": elapsed,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "stdout": stdout,
    }


def whole_import_rounds(
    workbook: Path,
    fresh_database: Callable[[], AbstractContextManager[str]],
    rounds: int,
    label: str,
) -> dict:
    """Time the bare read and the CLI import as whole processes in alternating rounds.

    fresh_database() is a context manager yielding the URL of a fresh empty database, removed
    after; `flask init-db` creates its schema before the import's clock starts. Each round also
    times `flask --app wsgi --help` (interpreter, the app built, its commands listed): the
    CLI's start-up, part of every command's whole-process time.
    """
    flask = [*_flask(), "--app", "wsgi"]
    bare_command = [sys.executable, "-c", BARE_CODE, str(workbook)]
    import_command = [*flask, "import-inventory", str(workbook), "--json"]
    bare_runs, import_runs, startup_runs = [], [], []
    instance = ROOT / "instance"
    instance_existed = instance.exists()
    try:
        for _ in range(rounds):
            bare_runs.append(timed_process(bare_command))
            with fresh_database() as url:
                env = _app_env(url)
                timed_process([*flask, "init-db"], env)
                startup_runs.append(timed_process([*flask, "--help"], env))
                run = timed_process(import_command, env)
            outcome = json.loads(run["stdout"].strip().splitlines()[-1])
            run.update(rows=outcome["rows"], created=outcome["created"])
            run["errors"] = len(outcome["errors"])
            import_runs.append(run)
    finally:
        # create_app makes instance/ when it is missing (empty: SECRET_KEY is given): leave the
        # working tree as it was found.
        if not instance_existed and instance.is_dir() and not any(instance.iterdir()):
            instance.rmdir()
    bare = min(bare_runs, key=lambda run: run["seconds"])
    ours = min(import_runs, key=lambda run: run["seconds"])
    startup = min(run["seconds"] for run in startup_runs)
    paired = sorted(
        o["seconds"] / b["seconds"] for b, o in zip(bare_runs, import_runs, strict=True)
    )
    return {
        "label": label,
        "rows": ours["rows"],
        "created": ours["created"],
        "errors": ours["errors"],
        "bare_seconds": bare["seconds"],
        "import_seconds": ours["seconds"],
        "bare_cpu_seconds": bare["cpu_seconds"],
        "import_cpu_seconds": ours["cpu_seconds"],
        "ratio": ours["seconds"] / bare["seconds"],
        "paired_ratios": paired,
        "median_ratio": statistics.median(paired),
        "startup_seconds": startup,
        # The largest of the rounds: a target on peak memory is about the worst one.
        "bare_peak_mb": max(run["peak_mb"] for run in bare_runs),
        "peak_mb": max(run["peak_mb"] for run in import_runs),
    }


def whole_import_lines(results: list[dict]) -> list[str]:
    """Return the Markdown lines of the whole-process table and what it measures."""
    lines = [
        "### As a whole process: `flask --app wsgi import-inventory` from spawn to exit",
        "",
        "| database | rows | bare read (s) | import-inventory (s) | ratio | median round ratio "
        "(range) | CPU bare / ours (s) | CLI start-up (s) | peak MB bare / ours |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for item in results:
        lines.append(
            f"| {item['label']} | {item['rows']:,} | {item['bare_seconds']:.2f} | "
            f"{item['import_seconds']:.2f} | {item['ratio']:.2f} | "
            f"{item['median_ratio']:.2f} ({item['paired_ratios'][0]:.2f}–"
            f"{item['paired_ratios'][-1]:.2f}) | "
            f"{item['bare_cpu_seconds']:.2f} / {item['import_cpu_seconds']:.2f} | "
            f"{item['startup_seconds']:.2f} | "
            f"{item['bare_peak_mb']:.0f} / {item['peak_mb']:.0f} |"
        )
    lines += [
        "",
        f'Bare: `python -c "{BARE_CODE}" <workbook>`. Ours: `flask --app wsgi import-inventory '
        "<workbook> --json`. Each timed from spawn to exit (interpreter start, imports, the "
        "app built, the file read, the import and commit, and on SQLite the background copy of "
        "the write-ahead log, which the command waits for before it exits), into a fresh "
        "database whose schema `flask init-db` created before the clock starts; DATABASE_URL "
        "(a temporary folder, or a fresh PostgreSQL schema) and SECRET_KEY are given in the "
        "environment, so the developer's instance database is never used. CPU: user and system "
        "time of the process, best round. Peak: the process's own maximum RSS (os.wait4), the "
        "largest of the rounds. CLI start-up: `flask --app wsgi --help`, best of the same "
        "rounds; it is in every command's whole-process time.",
    ]
    return lines
