"""The yearly plan written back: recompute, preview, counts and progress per year."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlmodel import Session, col

from procedures.models import (
    Lifecycle,
    PlanEntry,
    Procedure,
    utcnow,
)
from procedures.plan.policy import ensure_policy, load_pins, normalise_policy
from procedures.plan.ranking import RankedEntry, load_candidates, rank_candidates


def plan_place(session: Session, procedure_id: int) -> tuple[int, str] | None:
    """Return (fiscal year, stored reason) of a procedure in the current plan, if it is there."""
    row = session.execute(
        select(col(PlanEntry.fiscal_year), col(PlanEntry.reason)).where(
            col(PlanEntry.procedure_id) == procedure_id
        )
    ).first()
    return None if row is None else (row[0], row[1])


def preview_plan(session: Session, policy: dict[str, Any]) -> list[RankedEntry]:
    """Rank the current candidates with a policy without writing anything (what-if)."""
    return rank_candidates(load_candidates(session), normalise_policy(policy), load_pins(session))


def recompute_plan(session: Session, policy: dict[str, Any] | None = None) -> list[RankedEntry]:
    """Rank the current candidates and store the result as the current plan.

    Without a policy the current saved one is used (the default is saved first if none is).
    """
    if policy is None:
        policy = ensure_policy(session).policy
    entries = rank_candidates(
        load_candidates(session), normalise_policy(policy), load_pins(session)
    )
    connection = session.connection()
    connection.execute(delete(PlanEntry.__table__))
    now = utcnow()
    records = [
        {
            "procedure_id": entry.procedure_id,
            "fiscal_year": entry.fiscal_year,
            "position": entry.position,
            "tier": entry.tier,
            "score": entry.score,
            "reason": entry.reason_json(),
            "computed_at": now,
        }
        for entry in entries
    ]
    for start in range(0, len(records), 5000):
        connection.execute(insert(PlanEntry.__table__), records[start : start + 5000])
    return entries


def planned_counts(session: Session) -> dict[int, int]:
    """Return the number of procedures the current plan assigns to each fiscal year."""
    query = (
        select(col(PlanEntry.fiscal_year), func.count())
        .join(Procedure, col(Procedure.id) == PlanEntry.procedure_id)
        .where(col(Procedure.lifecycle) != Lifecycle.retired)
        .group_by(col(PlanEntry.fiscal_year))
        .order_by(col(PlanEntry.fiscal_year))
    )
    return {year: count for year, count in session.execute(query)}


@dataclass
class YearProgress:
    """One fiscal year's target and what was done, in procedures and annual applications."""

    fiscal_year: int
    capacity: int | None
    planned: int = 0
    planned_volume: int = 0
    done: int = 0
    done_volume: int = 0


def progress(session: Session, policy: dict[str, Any]) -> list[YearProgress]:
    """Return target (capacity, planned) and done per fiscal year, counted in SQL."""
    current = col(Procedure.lifecycle) != Lifecycle.retired
    years = {
        year["fiscal_year"]: YearProgress(year["fiscal_year"], year["capacity"])
        for year in policy["years"]
    }
    planned = session.execute(
        select(col(PlanEntry.fiscal_year), func.count(), func.sum(col(Procedure.annual_volume)))
        .join(Procedure, col(Procedure.id) == PlanEntry.procedure_id)
        .where(current)
        .group_by(col(PlanEntry.fiscal_year))
    )
    for year, count, volume in planned:
        item = years.setdefault(year, YearProgress(year, None))
        item.planned, item.planned_volume = int(count), int(volume or 0)
    done = session.execute(
        select(
            col(Procedure.done_fiscal_year), func.count(), func.sum(col(Procedure.annual_volume))
        )
        .where(current, col(Procedure.done_fiscal_year).in_(list(years)))
        .group_by(col(Procedure.done_fiscal_year))
    )
    for year, count, volume in done:
        years[year].done, years[year].done_volume = int(count), int(volume or 0)
    return [years[year] for year in sorted(years)]


def current_assignment(session: Session) -> dict[int, int]:
    """Return the current plan as {procedure id: fiscal year}."""
    query = select(col(PlanEntry.procedure_id), col(PlanEntry.fiscal_year))
    return {row[0]: row[1] for row in session.execute(query)}
