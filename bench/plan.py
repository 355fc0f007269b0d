"""Plan benchmark: recompute for 75,000 procedures and render the plan page, vs a bare SELECT.

Run alone (`python bench/plan.py`) or from bench/run.py, which adds its section to
docs/BENCHMARKS.md. Never asserts: the figures and ratios are printed and written.

Each recompute of all 75,000 follows one of the default policy, so that it rewrites every row
(the worst case: no entry keeps its place). Besides wall time it reports the CPU time of this
process and, for a PostgreSQL server on this machine, of the server process that ran it (read
from /proc): on a shared, loaded machine the CPU times move far less than the wall time.
"""

from __future__ import annotations

import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROCEDURES = 75_000
BLOCKER_CODES = ("seal_signature", "fee_payment", "paper_originals", "no_system", "law_change")
#: Steps as the national inventory leaves them: most not confirmed, some one step from complete.
STEP_PATTERNS = (
    None,
    {"application": "offline"},
    {"application": "offline", "payment": "offline"},
    {"application": "online", "payment": "offline"},
    {"application": "offline", "decision": "unknown"},
)
#: The options of complete online switched on (issue 19): the "options on" recompute.
OPTIONS_ON = {"volume_basis": "moved_online", "one_step": 1.0}


def _steps(generator: random.Random) -> str | None:
    """Return stored steps: one of the patterns, the steps it does not name online."""
    from importers.steps import STEP_KEYS, encode

    pattern = generator.choice(STEP_PATTERNS)
    if pattern is None:
        return None
    return encode({key: pattern.get(key, "online") for key in STEP_KEYS})


def _split(generator: random.Random, volume: int | None) -> tuple[int | None, int | None]:
    """Return (online, offline) applications a year: known for some, either or both."""
    if volume is None:
        return None, None
    draw = generator.random()
    online = int(volume * generator.random())
    if draw < 0.3:
        return online, volume - online
    if draw < 0.6:
        return online, None
    return None, None


def _best(function, runs: int = 3) -> float:
    """Return the best wall time of a few runs, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


@dataclass
class Timing:
    """One run: wall time, this process's CPU time and the database server's (None: unknown)."""

    wall: float
    cpu: float
    server_cpu: float | None


def _server_cpu(pid: int | None) -> float | None:
    """Return the CPU seconds a local server process has used, or None when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _best_timing(runs: list[Timing]) -> Timing:
    """Return the least of each figure over the runs (each on its own)."""
    servers = [run.server_cpu for run in runs if run.server_cpu is not None]
    return Timing(
        min(run.wall for run in runs),
        min(run.cpu for run in runs),
        min(servers) if servers else None,
    )


def _fill(engine, count: int) -> None:
    """Insert the organisation and `count` feasible procedures with one executemany per batch."""
    from sqlalchemy import insert

    from procedures.models import Department, Division, Procedure

    generator = random.Random(5)
    with engine.begin() as connection:
        connection.execute(insert(Department.__table__), [{"id": 1, "name": "総務部"}])
        connection.execute(
            insert(Division.__table__),
            [{"id": i, "department_id": 1, "name": f"第{i}課"} for i in range(1, 51)],
        )
        now = __import__("procedures.models", fromlist=["utcnow"]).utcnow()
        rows = []
        for index in range(1, count + 1):
            blockers = [code for code in BLOCKER_CODES if generator.random() < 0.15]
            volume = None if generator.random() < 0.1 else int(10 ** (generator.random() * 5))
            online, offline = _split(generator, volume)
            rows.append(
                {
                    "code": f"B{index:06d}",
                    "name": f"手続{index}",
                    "name_key": f"手続{index}",
                    "division_id": 1 + index % 50,
                    "annual_volume": volume,
                    "online_volume": online,
                    "offline_volume": offline,
                    "steps": _steps(generator),
                    "volume_is_estimate": False,
                    "mynaportal_eligible": generator.random() < 0.01,
                    "verdict": "feasible",
                    "blockers": f",{','.join(blockers)}," if blockers else "",
                    "lifecycle": "active",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        for start in range(0, len(rows), 5000):
            connection.execute(insert(Procedure.__table__), rows[start : start + 5000])


def _sign_in(client, login: str, password: str) -> None:
    """Sign in through the login form, as a browser does (a session is a stored token)."""
    import re

    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    assert token, "no CSRF token on the sign-in form"
    response = client.post(
        "/login", data={"login": login, "password": password, "csrf_token": token.group(1)}
    )
    assert response.status_code == 302, response.status_code


def plan_benchmark(database_url: str, label: str) -> dict:
    """Fill a fresh database, then time the bare SELECT, recompute and the plan page."""
    from sqlalchemy import select
    from sqlmodel import Session

    from procedures import create_app
    from procedures.accounts.users import create_user
    from procedures.core.cli import upgrade_schema
    from procedures.models import Procedure, Role
    from procedures.plan.policy import save_policy
    from procedures.plan.ranking import DEFAULT_POLICY, default_policy, load_candidates
    from procedures.plan.saved import save_plan_snapshot
    from procedures.plan.schedule import recompute_plan
    from procedures.survey.status import current_fiscal_year

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": database_url})
    engine = app.extensions["engine"]
    with app.app_context():
        upgrade_schema()
    _fill(engine, PROCEDURES)
    bare_query = select(
        Procedure.id,
        Procedure.code,
        Procedure.annual_volume,
        Procedure.mynaportal_eligible,
        Procedure.blockers,
        Procedure.online_volume,
        Procedure.offline_volume,
        Procedure.steps,
    ).where(Procedure.verdict == "feasible")

    def bare() -> None:
        with engine.connect() as connection:
            connection.execute(bare_query).all()

    def load() -> None:
        with Session(engine) as session:
            load_candidates(session)

    this_year = current_fiscal_year()
    default = default_policy(this_year)
    every_one = {
        **DEFAULT_POLICY,
        "years": [{"fiscal_year": this_year + i, "capacity": PROCEDURES // 4} for i in range(4)],
    }
    options_on = {**every_one, "weights": {**DEFAULT_POLICY["weights"], **OPTIONS_ON}}

    def recompute(policy) -> Timing:
        with Session(engine) as session:
            pid = None
            if session.connection().dialect.name == "postgresql":
                pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            server = _server_cpu(pid)
            wall, cpu = time.perf_counter(), time.process_time()
            recompute_plan(session, policy, current_year=this_year)
            session.commit()
            cpu = time.process_time() - cpu
            wall = time.perf_counter() - wall
            after = _server_cpu(pid)
        used = None if server is None or after is None else after - server
        return Timing(wall, cpu, used)

    def alternating(runs: int = 3) -> tuple[Timing, Timing, Timing]:
        """Default, then all 75,000, then default and all with the options on, in turn: every
        full recompute rewrites every row."""
        defaults, fulls, options = [], [], []
        for _ in range(runs):
            defaults.append(recompute(default))
            fulls.append(recompute(every_one))
            recompute(default)
            options.append(recompute(options_on))
        return _best_timing(defaults), _best_timing(fulls), _best_timing(options)

    with Session(engine) as session:
        create_user(session=session, login="bench", password="bench-pass", role=Role.dx_office)
        save_policy(session, every_one)
        session.commit()
    bare_seconds = _best(bare)
    load_seconds = _best(load)
    default_timing, full_timing, options_timing = alternating()
    with Session(engine) as session:
        saved = save_plan_snapshot(session, label="bench", user_id=None, policy_version=1)
        session.commit()
        saved_id = saved.id
    recompute(default)

    client = app.test_client()
    _sign_in(client, "bench", "bench-pass")

    def page(url: str):
        def get() -> None:
            response = client.get(url)
            assert response.status_code == 200, response.status_code

        return get

    page("/plan")()  # warm the template cache
    overview_seconds = _best(page("/plan"), runs=5)
    compare_seconds = _best(page(f"/plan?compare={saved_id}"), runs=5)
    year_seconds = _best(page(f"/plan/{this_year}"), runs=5)
    engine.dispose()
    return {
        "label": label,
        "procedures": PROCEDURES,
        "bare": bare_seconds,
        "load": load_seconds,
        "recompute_default": default_timing.wall,
        "recompute_full": full_timing.wall,
        "recompute_default_cpu": default_timing.cpu,
        "recompute_full_cpu": full_timing.cpu,
        "recompute_full_server_cpu": full_timing.server_cpu,
        "recompute_options": options_timing.wall,
        "recompute_options_cpu": options_timing.cpu,
        "recompute_options_server_cpu": options_timing.server_cpu,
        "overview": overview_seconds,
        "compare": compare_seconds,
        "year": year_seconds,
    }


def plan_section(results: list[dict], command: str = "python bench/plan.py") -> list[str]:
    """Return the Markdown lines of the plan section of docs/BENCHMARKS.md."""
    from report import machine_line

    load = os.getloadavg()[0]
    lines = [
        "## Plan: recompute and page render (75,000 feasible procedures)",
        "",
        machine_line(command),
        f"Load average {load:.1f} at the end of the run (two cores shared with other work): the "
        "wall times are noisy, the CPU times much less.",
        "",
        "Bare: one SELECT of the candidate tuples through SQLAlchemy Core. Recompute: read, score "
        "and rank in one pass over tuples, delete and insert the plan, commit. Default policy "
        "places 723; the full policy places all 75,000, each time after a default recompute, so "
        "that every row is written anew. CPU: this process; server: the PostgreSQL process that "
        "ran the recompute (on this machine, from /proc). Pages: server time in the test client, "
        "signed in; the comparison is with a saved plan of 75,000 entries.",
        "",
        "| database | bare SELECT (s) | recompute default (s) | ratio | recompute all 75,000 (s) "
        "| CPU (s) | server CPU (s) | /plan (ms) | /plan?compare (ms) | /plan/<this year> (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for item in results:
        server = item["recompute_full_server_cpu"]
        lines.append(
            f"| {item['label']} | {item['bare']:.3f} | {item['recompute_default']:.3f} | "
            f"{item['recompute_default'] / item['bare']:.1f} | {item['recompute_full']:.3f} | "
            f"{item['recompute_full_cpu']:.3f} | "
            f"{'—' if server is None else f'{server:.2f}'} | {item['overview'] * 1000:.0f} | "
            f"{item['compare'] * 1000:.0f} | {item['year'] * 1000:.0f} |"
        )
    lines += [
        "",
        "Options on (issue 19): the full policy ranking by the applications moved online and "
        "giving points to a procedure one step from complete, each time after a default "
        "recompute. The procedures carry steps (a fifth none, the rest in four patterns) and, "
        "for 60 % of the known volumes, an online count, half of them also a non-online one.",
        "",
        "| database | bare SELECT (s) | recompute all 75,000 (s) | options on (s) | ratio to bare "
        "| ratio to options off | CPU (s) | server CPU (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for item in results:
        server = item["recompute_options_server_cpu"]
        lines.append(
            f"| {item['label']} | {item['bare']:.3f} | {item['recompute_full']:.3f} | "
            f"{item['recompute_options']:.3f} | {item['recompute_options'] / item['bare']:.1f} | "
            f"{item['recompute_options'] / item['recompute_full']:.2f} | "
            f"{item['recompute_options_cpu']:.3f} | "
            f"{'—' if server is None else f'{server:.2f}'} |"
        )
    lines += [
        "",
        "Targets (issues 5 and 19): recompute of all 75,000 under 1 s, with the options on too; "
        "plan page under 200 ms server time.",
        "",
    ]
    return lines


def run_plan_benchmarks() -> list[dict]:
    """Run on a scratch SQLite file and, with BENCH_POSTGRES_URL, a fresh PostgreSQL schema."""
    from run import each_database

    return [plan_benchmark(url, label) for label, url in each_database("plan")]


if __name__ == "__main__":
    print("\n".join(plan_section(run_plan_benchmarks())))
