"""Saved plan versions and what changed between two plans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, literal, select
from sqlmodel import Session, col

from procedures.models import (
    PlanEntry,
    Procedure,
    SavedPlan,
    SavedPlanEntry,
)
from procedures.plan.schedule import current_assignment


def saved_assignment(session: Session, saved_plan_id: int) -> dict[int, int]:
    """Return a saved plan as {procedure id: fiscal year}."""
    query = select(col(SavedPlanEntry.procedure_id), col(SavedPlanEntry.fiscal_year)).where(
        col(SavedPlanEntry.saved_plan_id) == saved_plan_id
    )
    return {row[0]: row[1] for row in session.execute(query)}


@dataclass
class PlanChanges:
    """What differs between two plans: (procedure id, old year, new year) per change."""

    moved_in: list[tuple[int, None, int]] = field(default_factory=list)
    moved_out: list[tuple[int, int, None]] = field(default_factory=list)
    moved_year: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Return the number of procedures whose place changed."""
        return len(self.moved_in) + len(self.moved_out) + len(self.moved_year)

    def counts_by_year(self, before: dict[int, int], after: dict[int, int]) -> dict[int, tuple]:
        """Return {year: (count before, count after)} over both plans' years."""
        result: dict[int, list[int]] = {}
        for year in before.values():
            result.setdefault(year, [0, 0])[0] += 1
        for year in after.values():
            result.setdefault(year, [0, 0])[1] += 1
        return {year: tuple(result[year]) for year in sorted(result)}


def compare_assignments(before: dict[int, int], after: dict[int, int]) -> PlanChanges:
    """Compare two plans: what came in, what went out, what moved to another year."""
    changes = PlanChanges()
    for procedure_id, year in after.items():
        old = before.get(procedure_id)
        if old is None:
            changes.moved_in.append((procedure_id, None, year))
        elif old != year:
            changes.moved_year.append((procedure_id, old, year))
    for procedure_id, year in before.items():
        if procedure_id not in after:
            changes.moved_out.append((procedure_id, year, None))
    for items in (changes.moved_in, changes.moved_out, changes.moved_year):
        items.sort(key=lambda item: (item[2] or item[1], item[0]))
    return changes


def procedure_names(session: Session, ids: list[int]) -> dict[int, tuple[str | None, str]]:
    """Return {id: (code, name)} for a few procedures (shown in a comparison)."""
    if not ids:
        return {}
    query = select(col(Procedure.id), col(Procedure.code), col(Procedure.name)).where(
        col(Procedure.id).in_(ids)
    )
    return {row[0]: (row[1], row[2]) for row in session.execute(query)}


def save_plan_snapshot(
    session: Session, *, label: str, user_id: int | None, policy_version: int | None
) -> SavedPlan:
    """Keep the current plan as a dated version, copied in one INSERT … SELECT."""
    count = session.execute(select(func.count()).select_from(PlanEntry)).scalar_one()
    saved = SavedPlan(
        label=label.strip(), user_id=user_id, policy_version=policy_version, entries=count
    )
    session.add(saved)
    session.flush()
    source = select(
        literal(saved.id),
        col(PlanEntry.procedure_id),
        col(PlanEntry.fiscal_year),
        col(PlanEntry.position),
        col(PlanEntry.tier),
    )
    session.execute(
        insert(SavedPlanEntry.__table__).from_select(
            ["saved_plan_id", "procedure_id", "fiscal_year", "position", "tier"], source
        )
    )
    session.flush()
    return saved


def saved_plans(session: Session) -> list[SavedPlan]:
    """Return the saved plan versions, newest first."""
    return list(session.execute(select(SavedPlan).order_by(col(SavedPlan.id).desc())).scalars())


def saved_comparison(session: Session, saved_plan_id: int, *, limit: int = 100) -> dict[str, Any]:
    """Compare the current plan with a saved one: counts of every change, first rows named.

    Both plans are read as (id, year) tuples and compared in one pass; only the rows shown
    are looked up by name. Returns {"total", "years": [{fiscal_year, before, after}],
    "moved_in" | "moved_out" | "moved_year": {"count", "rows": [{id, code, name, before,
    after}]}}.
    """
    before = saved_assignment(session, saved_plan_id)
    after = current_assignment(session)
    changes = compare_assignments(before, after)
    kinds: dict[str, Sequence[tuple[int, int | None, int | None]]] = {
        "moved_in": changes.moved_in,
        "moved_out": changes.moved_out,
        "moved_year": changes.moved_year,
    }
    shown = [item[0] for items in kinds.values() for item in items[:limit]]
    names = procedure_names(session, shown)
    result: dict[str, Any] = {
        kind: {
            "count": len(items),
            "rows": [
                {
                    "id": ident,
                    "before": old,
                    "after": new,
                    "code": names[ident][0],
                    "name": names[ident][1],
                }
                for ident, old, new in items[:limit]
                if ident in names
            ],
        }
        for kind, items in kinds.items()
    }
    result["total"] = changes.total
    result["years"] = [
        {"fiscal_year": year, "before": counts[0], "after": counts[1]}
        for year, counts in changes.counts_by_year(before, after).items()
    ]
    return result
