"""Benchmark of the command line's start-up: `flask --app wsgi --help` against the bare framework.

Both are timed as whole processes (interpreter start, imports, and for ours building the app to
list its commands), alternating, best of N. The bare baseline imports the framework the app is
built on and nothing of the app. Prints the figures and their ratio; `make bench` also writes
the "CLI start-up" section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from report import machine_line, replace_section

ROOT = Path(__file__).resolve().parent.parent
BARE_IMPORTS = "import flask, sqlmodel, flask_login, flask_wtf, flask_babel"
#: Alternating rounds of (bare, ours): more than the 3 the target names, on a shared machine.
ROUNDS = 5


def _flask() -> list[str]:
    """The `flask` command of this interpreter's environment."""
    script = Path(sys.executable).with_name("flask")
    return [str(script)] if script.exists() else [sys.executable, "-m", "flask"]


BARE = [sys.executable, "-c", BARE_IMPORTS]
OURS = [*_flask(), "--app", "wsgi", "--help"]


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _seconds(command: list[str]) -> tuple[float, float]:
    """Run a command to its end and return its wall and CPU time; fail if it did not work."""
    cpu_started, started = _cpu_of_children(), time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True)
    elapsed, cpu = time.perf_counter() - started, _cpu_of_children() - cpu_started
    # `flask --help` still exits 0 when the app fails to import: it must list the app's commands.
    if command is OURS and "init-db" not in result.stdout:
        raise RuntimeError(f"`{' '.join(OURS)}` did not list the app's commands:\n{result.stderr}")
    return elapsed, cpu


def startup_benchmark(rounds: int = ROUNDS) -> dict:
    """Time the bare imports and `flask --app wsgi --help` in alternating rounds."""
    _seconds(OURS)  # a first start (imports read from disk, instance config written) is not kept
    bare_runs, our_runs = [], []
    for _ in range(rounds):
        bare_runs.append(_seconds(BARE))
        our_runs.append(_seconds(OURS))
    bare = min(wall for wall, _cpu in bare_runs)
    ours = min(wall for wall, _cpu in our_runs)
    bare_cpu = min(cpu for _wall, cpu in bare_runs)
    our_cpu = min(cpu for _wall, cpu in our_runs)
    paired = sorted(o[0] / b[0] for b, o in zip(bare_runs, our_runs, strict=True))
    return {
        "rounds": rounds,
        "bare_seconds": bare,
        "cli_seconds": ours,
        "ratio": ours / bare,
        "bare_cpu_seconds": bare_cpu,
        "cli_cpu_seconds": our_cpu,
        "cpu_ratio": our_cpu / bare_cpu,
        "median_ratio": statistics.median(paired),
        "paired_ratios": paired,
        "no_bytecode": bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
    }


def startup_section(result: dict, command: str = "make bench") -> list[str]:
    """Return the Markdown lines of the CLI start-up section."""
    lines = [
        "## CLI start-up: `flask --app wsgi --help` against the bare framework",
        "",
        machine_line(command),
        "",
        "| bare imports (s) | `flask --app wsgi --help` (s) | ratio | median round ratio (range) "
        "| CPU bare / ours (s) | CPU ratio |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {result['bare_seconds']:.3f} | {result['cli_seconds']:.3f} | {result['ratio']:.2f} | "
        f"{result['median_ratio']:.2f} ({result['paired_ratios'][0]:.2f}–"
        f"{result['paired_ratios'][-1]:.2f}) | {result['bare_cpu_seconds']:.3f} / "
        f"{result['cli_cpu_seconds']:.3f} | {result['cpu_ratio']:.2f} |",
        "",
        f'Bare: `python -c "{BARE_IMPORTS}"`. Ours: `flask --app wsgi --help`, which builds the '
        "app to list its commands. Each a whole process, wall time, in "
        f"{result['rounds']} alternating rounds after one start of ours that is not kept; ratio "
        "is best over best, the median round ratio divides each of ours by the bare run just "
        "before it. CPU: user and system time of each process, best of the rounds (steadier "
        "when other work shares the machine).",
    ]
    if result["no_bytecode"]:
        lines += [
            "",
            "PYTHONDONTWRITEBYTECODE was set: the app's own modules are compiled from source at "
            "every start (the installed libraries have their bytecode).",
        ]
    lines += [
        "",
        "Target: ratio ≤ 1.5. What only some pages or commands need loads when first used: "
        "openpyxl, rapidfuzz, argon2, alembic, the PostgreSQL dialect, and the import pipeline "
        "with the importers package (python-calamine, isal).",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="alternating rounds")
    parser.add_argument(
        "--write", action="store_true", help="also rewrite the section of docs/BENCHMARKS.md"
    )
    args = parser.parse_args()
    result = startup_benchmark(args.rounds)
    print(
        f"bare imports {result['bare_seconds']:.3f} s, flask --app wsgi --help "
        f"{result['cli_seconds']:.3f} s, ratio {result['ratio']:.2f} "
        f"(median round ratio {result['median_ratio']:.2f}, best of {args.rounds}); CPU "
        f"{result['bare_cpu_seconds']:.3f} s against {result['cli_cpu_seconds']:.3f} s, ratio "
        f"{result['cpu_ratio']:.2f}"
    )
    if args.write:
        replace_section("startup", startup_section(result, "python bench/startup.py --write"))


if __name__ == "__main__":
    main()
