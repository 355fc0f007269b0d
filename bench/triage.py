"""Benchmark of the triage pages over the 75,071-procedure national inventory.

Times the list page with filter, search and sort combinations and the detail page through
the app (server time, no network), against a bare baseline measured in the same run: the
same SELECT ... LIMIT 50 issued straight to the database. Prints a Markdown section.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NATIONAL = ROOT.parent / "shared" / "data" / "jp-national-procedures-r6.xlsx"

#: List-page queries a clerk would run: filters combined with a search and a sort.
LIST_QUERIES = {
    "no filter": "",
    "search 閲覧": "q=閲覧",
    "search + sort by volume": "q=許可&sort=volume&dir=desc",
    "volume ≥ 1,000 + online status": "volume=ge1000&online=not_done",
    "blocker + verdict + sort by name": "blocker=law_change&verdict=undecided&sort=name",
    "division + page 20": "division=3&page=20",
    "changed since + visit": "changed_since=2020-01-01&visit=yes&sort=updated",
}


def timed(call, repeat: int) -> float:
    """Return the median of `repeat` runs of call(), in milliseconds."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def load(database_url: str):
    """Build the app on a fresh database holding the national inventory."""
    from procedures import create_app
    from procedures.accounts.users import create_user
    from procedures.core import db
    from procedures.core.cli import upgrade_schema
    from procedures.imports.service import import_file
    from procedures.models import Role

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": database_url})
    with app.app_context():
        upgrade_schema()
        with db.session_scope() as session:
            import_file(session, content=NATIONAL.read_bytes(), file_name=NATIONAL.name)
            create_user(
                session=session, login="bench", password="bench-password", role=Role.dx_office
            )
    return app


def signed_in_client(app):
    """Return a test client signed in as dx_office."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(
        "/login", data={"login": "bench", "password": "bench-password", "csrf_token": token}
    )
    return client


def bare_baseline(app) -> float:
    """Time the list's own SELECT ... LIMIT 50 issued straight to the database."""
    from sqlalchemy import text

    engine = app.extensions["engine"]
    sql = text(
        "SELECT id, code, name, division_id, annual_volume, verdict FROM procedure "
        "ORDER BY division_id, code, id LIMIT 50"
    )

    def query():
        with engine.connect() as connection:
            connection.execute(sql).all()

    return timed(query, 30)


def run(database_url: str, label: str) -> list[str]:
    """Measure and return the Markdown lines of this section for one database."""
    app = load(database_url)
    client = signed_in_client(app)
    baseline = bare_baseline(app)
    lines = [
        f"### {label}",
        "",
        f"Bare SELECT … LIMIT 50: {baseline:.1f} ms (median of 30).",
        "",
        "| page | median ms | ratio to bare |",
        "|---|---:|---:|",
    ]
    for name, query in LIST_QUERIES.items():
        assert client.get(f"/procedures?{query}").status_code == 200
        median = timed(lambda query=query: client.get(f"/procedures?{query}"), 15)
        lines.append(f"| list: {name} | {median:.1f} | {median / baseline:.1f} |")
    detail = timed(lambda: client.get("/procedures/40000"), 15)
    lines.append(f"| detail page | {detail:.1f} | {detail / baseline:.1f} |")
    size = _database_size(app)
    lines += ["", f"Database size: {size}.", ""]
    app.extensions["engine"].dispose()
    return lines


def _database_size(app) -> str:
    from sqlalchemy import text

    engine = app.extensions["engine"]
    if engine.dialect.name == "sqlite":
        return f"{Path(engine.url.database).stat().st_size / 2**20:.0f} MB (SQLite file)"
    with engine.connect() as connection:
        size = connection.execute(
            text(
                "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )
        ).scalar()
    return f"{size} (tables with their indexes)"


def section() -> list[str]:
    """Return the whole Markdown section: SQLite, and PostgreSQL with BENCH_POSTGRES_URL."""
    lines = [
        "## Triage pages over 75,071 procedures (server time)",
        "",
        "Targets (issue 4): list page under 150 ms at the median with any filters, search "
        "and sort; detail page under 100 ms.",
        "",
    ]
    from run import each_database

    for label, url in each_database("triage"):
        lines += run(url, label)
    return lines


if __name__ == "__main__":
    if not NATIONAL.exists():
        sys.exit(f"{NATIONAL} is missing")
    print("\n".join(section()))
    os._exit(0)
