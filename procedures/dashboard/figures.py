"""The figures of the dashboard: the funnel, plan against done, online share, national list.

Every figure is an SQL aggregate (one row per department, fiscal year or list item, never one
per procedure). Retired procedures count nowhere, as in :func:`procedures.summary.funnel`, whose
numbers the dashboard shows unchanged so that the page and ``summary --json`` always agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlmodel import Session, col

from procedures.dashboard.steps import (
    TakeUp,
    Unlock,
    ranked_unconfirmed,
    ranked_unlocks,
    take_up_by_department,
    take_up_by_year,
    take_up_of_all,
    take_up_total,
)
from procedures.dashboard.summary import funnel
from procedures.models import (
    Department,
    Division,
    Lifecycle,
    MatchStatus,
    OnlineStatus,
    PriorityMatch,
    PriorityProcedure,
    Procedure,
)
from procedures.priority.national_list import CATEGORIES


def _sum_if(condition: ColumnElement[bool], value: Any) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


@dataclass
class YearFigures:
    """One fiscal year: procedures the current plan puts there, and procedures put online then."""

    fiscal_year: int
    planned: int
    done: int


@dataclass
class VolumeShare:
    """Annual applications of a department (or the city) by online status.

    Only procedures with a known annual volume weigh; those without are counted in
    ``volume_unknown`` and never read as 0 applications.
    """

    name: str
    procedures: int
    #: Sum of the known annual volumes.
    known_volume: int
    #: Of which applications to procedures that are online (national code 1 実施済).
    online_volume: int
    #: Of which applications to procedures that are partly online (code 5 一部実施済).
    partial_volume: int
    #: Procedures whose annual volume is unknown: left out of the weighting.
    volume_unknown: int

    @property
    def online_share(self) -> float | None:
        """Share 0–1 of known applications that can be made online; None without known volume."""
        return self.online_volume / self.known_volume if self.known_volume else None

    @property
    def partial_share(self) -> float | None:
        """Share 0–1 of known applications to procedures that are partly online."""
        return self.partial_volume / self.known_volume if self.known_volume else None


@dataclass
class CategoryCoverage:
    """Items of one category of the national priority list, matched and online."""

    category: str
    items: int = 0
    #: Items with at least one confirmed city procedure (not retired).
    matched: int = 0
    #: Matched items of which a confirmed city procedure is online.
    online: int = 0
    #: Matched items, not online, of which a confirmed city procedure is partly online.
    partly_online: int = 0


@dataclass
class Dashboard:
    """Everything the dashboard page shows."""

    summary: dict[str, Any]
    years: list[YearFigures]
    departments: list[VolumeShare]
    city: VolumeShare
    priority: list[CategoryCoverage] = field(default_factory=list)
    #: Take-up per department (every department; one that knows no count is unknown).
    take_up: list[TakeUp] = field(default_factory=list)
    #: Take-up per fiscal year the counts belong to.
    take_up_years: list[TakeUp] = field(default_factory=list)

    @property
    def unlocks(self) -> list[Unlock]:
        """The steps whose going online would complete procedures, the most first."""
        return ranked_unlocks(self.summary)

    @property
    def unconfirmed(self) -> list[tuple[str, int]]:
        """The steps nobody has confirmed, with their procedures, the most first."""
        return ranked_unconfirmed(self.summary)

    @property
    def take_up_city(self) -> TakeUp:
        """The whole city's take-up, with the procedures it rests on."""
        return take_up_total(self.take_up)

    @property
    def planned_total(self) -> int:
        """Procedures in the current plan, all years."""
        return sum(self.summary["planned"].values())

    @property
    def done_total(self) -> int:
        """Procedures with a fiscal year put online, all years."""
        return sum(self.summary["done"].values())

    @property
    def priority_total(self) -> CategoryCoverage:
        """The national list as a whole."""
        total = CategoryCoverage("all")
        for row in self.priority:
            total.items += row.items
            total.matched += row.matched
            total.online += row.online
            total.partly_online += row.partly_online
        return total


def year_figures(summary: dict[str, Any]) -> list[YearFigures]:
    """Pair planned and done counts by fiscal year (every year either has), oldest first."""
    planned = {int(year): count for year, count in summary["planned"].items()}
    done = {int(year): count for year, count in summary["done"].items()}
    return [
        YearFigures(year, planned.get(year, 0), done.get(year, 0))
        for year in sorted(planned.keys() | done.keys())
    ]


def volume_shares(session: Session) -> tuple[list[VolumeShare], VolumeShare]:
    """Return the online share of annual applications per department and for the whole city.

    Departments are ordered by online share, then partly-online share (highest first); those
    without any known volume come last, by name.
    """
    rows = session.execute(
        select(
            col(Department.name),
            func.count(),
            func.coalesce(func.sum(col(Procedure.annual_volume)), 0),
            # CASE … THEN volume is NULL for an unknown volume, and SUM skips NULL: only known
            # volumes weigh.
            _sum_if(col(Procedure.online_status) == OnlineStatus.done, Procedure.annual_volume),
            _sum_if(col(Procedure.online_status) == OnlineStatus.partial, Procedure.annual_volume),
            _sum_if(col(Procedure.annual_volume).is_(None), 1),
        )
        .select_from(Procedure)
        .join(Division, col(Division.id) == Procedure.division_id)
        .join(Department, col(Department.id) == Division.department_id)
        .where(col(Procedure.lifecycle) != Lifecycle.retired)
        .group_by(col(Department.id), col(Department.name))
    ).all()
    departments = [
        VolumeShare(str(name), int(count), int(total), int(online), int(partial), int(unknown))
        for name, count, total, online, partial, unknown in rows
    ]
    departments.sort(
        key=lambda row: (
            row.online_share is None,
            -(row.online_share or 0),
            -(row.partial_share or 0),
            row.name,
        )
    )
    city = VolumeShare(
        "",
        sum(row.procedures for row in departments),
        sum(row.known_volume for row in departments),
        sum(row.online_volume for row in departments),
        sum(row.partial_volume for row in departments),
        sum(row.volume_unknown for row in departments),
    )
    return departments, city


def priority_coverage(session: Session) -> list[CategoryCoverage]:
    """Count the active national list per category: items matched, and matched items online.

    A match counts when a person confirmed it and the city procedure is not retired (the
    priority page lists confirmed matches of retired procedures too, as history).
    """
    confirmed = and_(
        col(PriorityMatch.priority_procedure_id) == PriorityProcedure.id,
        col(PriorityMatch.status) == MatchStatus.confirmed,
    )
    current = and_(
        col(Procedure.id) == PriorityMatch.procedure_id,
        col(Procedure.lifecycle) != Lifecycle.retired,
    )
    online = col(Procedure.online_status)
    per_item = (
        select(
            col(PriorityProcedure.category).label("category"),
            func.max(case((col(Procedure.id).is_not(None), 1), else_=0)).label("matched"),
            func.max(case((online == OnlineStatus.done, 1), else_=0)).label("online"),
            func.max(case((online == OnlineStatus.partial, 1), else_=0)).label("partial"),
        )
        .select_from(PriorityProcedure)
        .outerjoin(PriorityMatch, confirmed)
        .outerjoin(Procedure, current)
        .where(col(PriorityProcedure.active).is_(True))
        .group_by(col(PriorityProcedure.id), col(PriorityProcedure.category))
        .subquery()
    )
    rows = session.execute(
        select(
            per_item.c.category,
            func.count(),
            func.sum(per_item.c.matched),
            func.sum(per_item.c.online),
            func.sum(case((per_item.c.online == 0, per_item.c.partial), else_=0)),
        ).group_by(per_item.c.category)
    ).all()
    found = {
        category: CategoryCoverage(category, int(items), int(matched), int(online), int(partial))
        for category, items, matched, online, partial in rows
    }
    order = {key: position for position, key in enumerate(CATEGORIES)}
    return [found[key] for key in sorted(found, key=lambda key: (order.get(key, len(order)), key))]


def dashboard(session: Session) -> Dashboard:
    """Return every figure of the dashboard, read in one go."""
    summary = funnel(session)
    departments, city = volume_shares(session)
    return Dashboard(
        summary=summary,
        years=year_figures(summary),
        departments=departments,
        city=city,
        priority=priority_coverage(session),
        take_up=take_up_of_all(take_up_by_department(session), [row.name for row in departments]),
        take_up_years=take_up_by_year(session),
    )
