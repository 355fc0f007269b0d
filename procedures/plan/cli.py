"""Commands that recompute and export the plan."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from procedures.core import db
from procedures.core.cli import echo_json_or_lines, json_command


@json_command("plan")
def plan_command(as_json: bool) -> None:
    """Recompute the yearly plan and print it: fiscal year → ordered procedures with score."""
    from procedures.plan.exports import plan_rows
    from procedures.plan.schedule import recompute_plan

    with db.session_scope() as session:
        entries = recompute_plan(session)
        years = sorted({entry.fiscal_year for entry in entries})
        plan = {
            str(year): [
                {
                    "position": row[0],
                    "code": row[3],
                    "name": row[4],
                    "tier": row[5],
                    "score": row[11],
                    "procedure_id": row[10],
                }
                for row in plan_rows(session, year)
            ]
            for year in years
        }
    echo_json_or_lines(plan, as_json, _plan_lines(plan))


def _plan_lines(plan: dict[str, list[dict[str, Any]]]) -> Iterator[str]:
    """Yield the plan as text: each year's count, then its procedures in plan order."""
    for year, rows in plan.items():
        yield f"FY{year}: {len(rows)} procedures"
        for row in rows:
            yield (
                f"  {row['position']:>4}  {row['score']:>6.2f}  {row['code'] or '':<16} "
                f"{row['name']}"
            )


@click.command("export-plan")
@with_appcontext
@click.option("--fiscal-year", type=int, required=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export_plan_command(fiscal_year: int, output: Path) -> None:
    """Write the yearly conversion list of one fiscal year as .xlsx."""
    from procedures.plan.exports import plan_workbook

    with db.session_scope() as session:
        content = plan_workbook(
            session, fiscal_year=fiscal_year, city=current_app.config["CITY_NAME"]
        )
    output.write_bytes(content)
    click.echo(f"wrote {output}")
