"""Plan benchmark: recompute for 75,000 procedures and render the plan page, vs a bare SELECT.

Run alone (`python bench/plan.py`) or from bench/run.py, which adds its section to
docs/BENCHMARKS.md. Never asserts: the figures and ratios are printed and written.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROCEDURES = 75_000
BLOCKER_CODES = ("seal_signature", "fee_payment", "paper_originals", "no_system", "law_change")


def _best(function, runs: int = 3) -> float:
    """Return the best wall time of a few runs, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


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
            rows.append(
                {
                    "code": f"B{index:06d}",
                    "name": f"手続{index}",
                    "name_key": f"手続{index}",
                    "division_id": 1 + index % 50,
                    "annual_volume": None
                    if generator.random() < 0.1
                    else int(10 ** (generator.random() * 5)),
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


def plan_benchmark(database_url: str, label: str) -> dict:
    """Fill a fresh database, then time the bare SELECT, recompute and the plan page."""
    from sqlalchemy import select
    from sqlmodel import Session

    from procedures import create_app
    from procedures.accounts.users import create_user
    from procedures.core.cli import upgrade_schema
    from procedures.models import Procedure, Role
    from procedures.plan.policy import save_policy
    from procedures.plan.ranking import DEFAULT_POLICY, load_candidates
    from procedures.plan.saved import save_plan_snapshot
    from procedures.plan.schedule import recompute_plan

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
    ).where(Procedure.verdict == "feasible")

    def bare() -> None:
        with engine.connect() as connection:
            connection.execute(bare_query).all()

    def load() -> None:
        with Session(engine) as session:
            load_candidates(session)

    every_one = {
        **DEFAULT_POLICY,
        "years": [{"fiscal_year": 2022 + i, "capacity": PROCEDURES // 4} for i in range(4)],
    }

    def recompute(policy) -> None:
        with Session(engine) as session:
            recompute_plan(session, policy)
            session.commit()

    with Session(engine) as session:
        create_user(session=session, login="bench", password="bench-pass", role=Role.dx_office)
        save_policy(session, every_one)
        session.commit()
    bare_seconds = _best(bare)
    load_seconds = _best(load)
    default_seconds = _best(lambda: recompute(DEFAULT_POLICY))
    full_seconds = _best(lambda: recompute(every_one))
    with Session(engine) as session:
        saved = save_plan_snapshot(session, label="bench", user_id=None, policy_version=1)
        session.commit()
        saved_id = saved.id
    recompute(DEFAULT_POLICY)

    client = app.test_client()
    with client.session_transaction() as browser_session:
        browser_session["_user_id"] = "1"
        browser_session["_fresh"] = True

    def page(url: str):
        def get() -> None:
            response = client.get(url)
            assert response.status_code == 200, response.status_code

        return get

    page("/plan")()  # warm the template cache
    overview_seconds = _best(page("/plan"), runs=5)
    compare_seconds = _best(page(f"/plan?compare={saved_id}"), runs=5)
    year_seconds = _best(page("/plan/2022"), runs=5)
    engine.dispose()
    return {
        "label": label,
        "procedures": PROCEDURES,
        "bare": bare_seconds,
        "load": load_seconds,
        "recompute_default": default_seconds,
        "recompute_full": full_seconds,
        "overview": overview_seconds,
        "compare": compare_seconds,
        "year": year_seconds,
    }


def plan_section(results: list[dict]) -> list[str]:
    """Return the Markdown lines of the plan section of docs/BENCHMARKS.md."""
    lines = [
        "## Plan: recompute and page render (75,000 feasible procedures)",
        "",
        "Bare: one SELECT of the candidate tuples through SQLAlchemy Core. Recompute: read, score "
        "and rank in one pass over tuples, delete and insert the plan, commit. Default policy "
        "places 723; the full policy places all 75,000. Pages: server time in the test client, "
        "signed in; the comparison is with a saved plan of 75,000 entries.",
        "",
        "| database | bare SELECT (s) | recompute default (s) | ratio | recompute all 75,000 (s) "
        "| ratio | /plan (ms) | /plan?compare (ms) | /plan/2022 (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for item in results:
        lines.append(
            f"| {item['label']} | {item['bare']:.3f} | {item['recompute_default']:.3f} | "
            f"{item['recompute_default'] / item['bare']:.1f} | {item['recompute_full']:.3f} | "
            f"{item['recompute_full'] / item['bare']:.1f} | {item['overview'] * 1000:.0f} | "
            f"{item['compare'] * 1000:.0f} | {item['year'] * 1000:.0f} |"
        )
    lines += [
        "",
        "Targets (issue 5): recompute under 1 s, plan page under 200 ms server time.",
        "",
    ]
    return lines


def run_plan_benchmarks() -> list[dict]:
    """Run on a scratch SQLite file and, with BENCH_POSTGRES_URL, a fresh PostgreSQL schema."""
    from run import each_database

    return [plan_benchmark(url, label) for label, url in each_database("plan")]


if __name__ == "__main__":
    print("\n".join(plan_section(run_plan_benchmarks())))
