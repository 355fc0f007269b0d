"""The summary command."""

from __future__ import annotations

from procedures.core import db
from procedures.core.cli import echo_json_or_lines, json_command


@json_command("summary")
def summary_command(as_json: bool) -> None:
    """Print the funnel: procedures, visits, feasibility, plan and done per year."""
    from procedures.dashboard.summary import funnel

    with db.session_scope() as session:
        counts = funnel(session)
    echo_json_or_lines(counts, as_json, (f"{key}: {value}" for key, value in counts.items()))
