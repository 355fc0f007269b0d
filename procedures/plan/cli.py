"""Commands that recompute and export the plan."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from procedures.core import db


@click.command("plan")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
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
    if as_json:
        click.echo(json.dumps(plan, ensure_ascii=False))
        return
    for year, rows in plan.items():
        click.echo(f"FY{year}: {len(rows)} procedures")
        for row in rows:
            click.echo(
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
