"""Load benchmark: gunicorn on loopback, 20 clerks browsing, filtering and editing at once.

For each database (SQLite always; PostgreSQL too when BENCH_POSTGRES_URL is set) it loads the
75,071-procedure national inventory into a fresh database, creates the clerks' accounts,
starts gunicorn on 127.0.0.1, lets Locust (headless, bench/locustfile.py) run the clerks for a
fixed time, stops gunicorn and writes the "load" section of docs/BENCHMARKS.md: requests/s,
median and 95th-percentile latency, errors and edit conflicts, overall and per endpoint.
`make bench-load` runs it. Never asserts: the figures are written as measured.

Settings (environment): BENCH_LOAD_SECONDS (60), BENCH_LOAD_USERS (20), BENCH_LOAD_WORKERS
(4 gunicorn sync workers), BENCH_LOAD_THINK ("0.5,1.5": seconds a clerk waits between two
actions), BENCH_LOAD_PORT (a free port when unset).
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from report import machine_line, replace_section  # noqa: E402

SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "60"))
USERS = int(os.environ.get("BENCH_LOAD_USERS", "20"))
WORKERS = int(os.environ.get("BENCH_LOAD_WORKERS", "4"))
THINK = os.environ.get("BENCH_LOAD_THINK", "0.5,1.5")
PASSWORD = "load-test-password"
SECRET_KEY = "bench-load-secret"
#: The requests of signing in, as named in bench/locustfile.py.
SIGN_IN = ("sign-in form", "sign in")
#: Clerks arrive over a few seconds, as on a morning, rather than in one instant.
SPAWN_RATE = 5


def build(database_url: str) -> int:
    """Load the national inventory and the clerks into a fresh database; return the top id."""
    from sqlalchemy import func, select
    from sqlmodel import Session
    from triage import load

    from procedures.accounts.users import create_user
    from procedures.models import Procedure, Role

    app = load(database_url)
    engine = app.extensions["engine"]
    with Session(engine) as session:
        for login in logins():
            create_user(session=session, login=login, password=PASSWORD, role=Role.dx_office)
        session.commit()
        top = session.execute(select(func.max(Procedure.id))).scalar_one()
        count = session.execute(select(func.count(Procedure.id))).scalar_one()
    engine.dispose()
    print(f"loaded {count:,} procedures and {USERS} clerks", flush=True)
    return top


def logins() -> list[str]:
    """Return the clerks' logins, one per simulated user."""
    return [f"clerk{number:02d}" for number in range(1, USERS + 1)]


def free_port() -> int:
    """Return the port to serve on: BENCH_LOAD_PORT, or one the system says is free."""
    if os.environ.get("BENCH_LOAD_PORT"):
        return int(os.environ["BENCH_LOAD_PORT"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(database_url: str, port: int, log: Path) -> subprocess.Popen:
    """Start gunicorn on loopback and wait until it answers."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(WORKERS),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "120",
        # Several servers may run on this machine: no shared control socket in the home.
        "--no-control-socket",
        "--error-logfile",
        str(log),
        "wsgi:app",
    ]
    environment = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY}
    server = subprocess.Popen(command, cwd=ROOT, env=environment)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit(f"gunicorn did not answer on port {port}; see {log}")


def stop(server: subprocess.Popen) -> None:
    """Stop gunicorn gracefully (SIGTERM lets the workers finish their requests)."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def drive(port: int, top_id: int, out: Path, log: Path) -> None:
    """Run the clerks with Locust, headless, for the fixed time."""
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(BENCH / "locustfile.py"),
        "--headless",
        "--users",
        str(USERS),
        "--spawn-rate",
        str(SPAWN_RATE),
        "--run-time",
        f"{SECONDS}s",
        "--stop-timeout",
        "10",
        "--host",
        f"http://127.0.0.1:{port}",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    environment = {
        **os.environ,
        "BENCH_LOAD_LOGINS": ",".join(logins()),
        "BENCH_LOAD_PASSWORD": PASSWORD,
        "BENCH_LOAD_MAX_ID": str(top_id),
        "BENCH_LOAD_THINK": THINK,
        "BENCH_LOAD_OUT": str(out),
    }
    with log.open("w") as output:
        subprocess.run(command, cwd=ROOT, env=environment, stdout=output, stderr=output)


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile of values (share 0.95 for the 95th)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summarise(raw: dict, server_log: Path) -> dict:
    """Turn the raw samples into requests/s, latencies and errors, overall and per endpoint."""
    samples = raw["samples"]
    stamps = [sample[3] for sample in samples]
    span = max(stamps) - min(stamps) if len(stamps) > 1 else float(SECONDS)
    endpoints: dict[str, list] = {}
    for name, milliseconds, ok, _stamp in samples:
        endpoints.setdefault(name, []).append((milliseconds, ok))

    def figures(items: list) -> dict:
        times = [milliseconds for milliseconds, _ok in items]
        return {
            "requests": len(items),
            "per_second": len(items) / span,
            "median": statistics.median(times),
            "p95": percentile(times, 0.95),
            "errors": sum(1 for _milliseconds, ok in items if not ok),
        }

    server_errors = [
        line
        for line in server_log.read_text(encoding="utf-8", errors="replace").splitlines()
        if "Traceback" in line or "[ERROR]" in line or "WORKER TIMEOUT" in line
    ]
    # Signing in happens once per clerk, at the start, and costs a memory-hard password hash
    # by design: it is shown per endpoint but kept out of the browsing-and-editing figures.
    overall = figures([(sample[1], sample[2]) for sample in samples if sample[0] not in SIGN_IN])
    overall["errors"] += sum(
        figures(endpoints[name])["errors"] for name in SIGN_IN if name in endpoints
    )
    # A clerk whose script broke (an exception in the user, not a failed request) is an error.
    overall["errors"] += raw["user_errors"]
    return {
        "overall": overall,
        "endpoints": {name: figures(items) for name, items in sorted(endpoints.items())},
        "span": span,
        "conflicts": raw["conflicts"],
        "failures": raw["failures"],
        "server_errors": server_errors,
    }


def run(database_url: str, label: str) -> dict:
    """Build, serve, drive and stop for one database; return its summary."""
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    started = time.perf_counter()
    top_id = build(database_url)
    build_seconds = time.perf_counter() - started
    port = free_port()
    server_log = work / "gunicorn.log"
    server = serve(database_url, port, server_log)
    load_before = os.getloadavg()[0]
    try:
        print(f"{label}: {USERS} clerks for {SECONDS} s on 127.0.0.1:{port}", flush=True)
        drive(port, top_id, work / "samples.json", work / "locust.log")
    finally:
        stop(server)
    samples = work / "samples.json"
    if not samples.exists():
        raise SystemExit(f"Locust wrote no samples; see {work / 'locust.log'}")
    summary = summarise(json.loads(samples.read_text(encoding="utf-8")), server_log)
    summary.update(label=label, build_seconds=build_seconds, load_before=load_before, work=work)
    return summary


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def section(results: list[dict]) -> list[str]:
    """Return the Markdown lines of the load section."""
    think = " to ".join(part.strip() for part in THINK.split(","))
    lines = [
        f"## Load: {USERS} clerks over 75,071 procedures through gunicorn",
        "",
        machine_line("make bench-load"),
        "",
        f"gunicorn with {WORKERS} sync workers on 127.0.0.1 (2 cores: twice the cores, and "
        f"Locust shares the same two), {USERS} Locust users signed in as dx_office, arriving "
        f"{SPAWN_RATE} a second, each waiting {think} s between actions, for {SECONDS} s. The "
        "mix: the list with filters, search and sort (6), paging down a list (2, 1–3 pages), "
        "a detail page (4), and an edit (2): re-read the detail page, then save the triage "
        "form in place (POST with the CSRF token and the version read, answered in JSON). An "
        "edit refused because someone saved first (409) is a conflict, not an error. Latency "
        "is measured by the client over loopback; requests/s over the whole run. The overall "
        "figures leave out signing in (once per clerk, a deliberately slow password hash; "
        "see the sign-in rows), but its errors count.",
        "",
        "| database | requests | requests/s | median ms | p95 ms | errors | conflicts | "
        "server errors logged |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for item in results:
        overall = item["overall"]
        lines.append(
            f"| {item['label']} | {overall['requests']:,} | {overall['per_second']:.1f} | "
            f"{_ms(overall['median'])} | {_ms(overall['p95'])} | {overall['errors']} | "
            f"{item['conflicts']} | {len(item['server_errors'])} |"
        )
    for item in results:
        lines += [
            "",
            f"### {item['label']} per endpoint (load average {item['load_before']:.1f} before "
            "the run)",
            "",
            "| endpoint | requests | requests/s | median ms | p95 ms | errors |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, figures in item["endpoints"].items():
            lines.append(
                f"| {name} | {figures['requests']:,} | {figures['per_second']:.1f} | "
                f"{_ms(figures['median'])} | {_ms(figures['p95'])} | {figures['errors']} |"
            )
        if item["failures"]:
            lines.append("")
        for failure, count in sorted(item["failures"].items()):
            lines.append(f"- error, {count}×: {failure}")
    lines += [
        "",
        "Target (issue 7): errors 0 with 20 concurrent users over 75,000 procedures.",
    ]
    return lines


def main() -> None:
    """Measure SQLite, and PostgreSQL when BENCH_POSTGRES_URL is set; write the section."""
    from triage import NATIONAL

    if not NATIONAL.exists():
        sys.exit(f"{NATIONAL} is missing: the load benchmark needs ../shared/data")
    from run import each_database

    results = [run(url, label) for label, url in each_database("load")]
    lines = section(results)
    replace_section("load", lines)
    print("\n".join(lines), flush=True)
    for item in results:
        if item["server_errors"]:
            print(f"{item['label']}: server errors, see {item['work'] / 'gunicorn.log'}")


if __name__ == "__main__":
    main()
    os._exit(0)
