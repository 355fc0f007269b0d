"""Steps and take-up in figures: complete online, each step's statuses, what unlocks the most,
and the share of applications that really arrive online.

Counted in SQL: the procedures are grouped by their stored steps (a city has a few hundred
combinations, however many procedures), and each combination is judged once by the rules of
procedures.catalogue.steps. Take-up sums the applications a year online and not online, only
over procedures where both are known: an unknown count is never read as 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlmodel import Session, col

from importers.schema import Completeness, StepStatus
from importers.steps import STEP_KEYS, decode, status_of
from procedures.catalogue.steps import completeness, missing_step
from procedures.models import Department, Division, Lifecycle, Procedure


def _not_retired() -> ColumnElement[bool]:
    return col(Procedure.lifecycle) != Lifecycle.retired


@dataclass
class StepFigures:
    """Complete online, the statuses of each step, and what each step would complete."""

    complete_online: int = 0
    not_yet_confirmed: int = 0
    #: step -> status -> procedures.
    steps: dict[str, dict[str, int]] = field(
        default_factory=lambda: {key: dict.fromkeys(StepStatus, 0) for key in STEP_KEYS}
    )
    #: step -> procedures one step from complete, that step offline.
    unlocks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STEP_KEYS, 0))
    #: step -> their applications a year (the known ones).
    unlocks_volume: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STEP_KEYS, 0))

    def as_json(self) -> dict[str, Any]:
        """Return the keys of `summary --json`."""
        return {
            "complete_online": self.complete_online,
            "not_yet_confirmed": self.not_yet_confirmed,
            "steps": {
                key: {str(status): count for status, count in counts.items()}
                for key, counts in self.steps.items()
            },
            "unlocks": dict(self.unlocks),
            "unlocks_volume": dict(self.unlocks_volume),
        }


def step_figures(session: Session) -> StepFigures:
    """Count the procedures not retired by their steps (one GROUP BY, one row per combination)."""
    query = (
        select(col(Procedure.steps), func.count(), func.sum(col(Procedure.annual_volume)))
        .where(_not_retired())
        .group_by(col(Procedure.steps))
    )
    figures = StepFigures()
    for stored, count, volume in session.execute(query):
        statuses = decode(stored)
        for key in STEP_KEYS:
            figures.steps[key][StepStatus(status_of(statuses, key))] += count
        state = completeness(statuses)
        if state == Completeness.complete:
            figures.complete_online += count
        elif state == Completeness.not_confirmed:
            figures.not_yet_confirmed += count
        missing = missing_step(statuses)
        if missing is not None:
            figures.unlocks[missing] += count
            figures.unlocks_volume[missing] += int(volume or 0)
    return figures


@dataclass(frozen=True)
class TakeUp:
    """Applications a year online against all, for a department, a year or the city.

    `online` and `offline` are summed over the procedures where both are known; `take_up` is
    their share online, None when no procedure knows both (or both are 0).
    """

    name: str
    procedures: int
    online: int
    offline: int

    @property
    def take_up(self) -> float | None:
        """Return online ÷ (online + not online), None when nothing is known."""
        total = self.online + self.offline
        return self.online / total if total else None


def _both_known() -> ColumnElement[bool]:
    return and_(
        col(Procedure.online_volume).is_not(None), col(Procedure.offline_volume).is_not(None)
    )


def _take_up_columns() -> tuple[Any, Any, Any]:
    both = _both_known()
    return (
        func.coalesce(func.sum(case((both, 1), else_=0)), 0),
        func.coalesce(func.sum(case((both, col(Procedure.online_volume)), else_=0)), 0),
        func.coalesce(func.sum(case((both, col(Procedure.offline_volume)), else_=0)), 0),
    )


def volumes(session: Session) -> dict[str, Any]:
    """Return `online_volume` (all known online applications) and `take_up` for summary."""
    row = session.execute(
        select(func.coalesce(func.sum(col(Procedure.online_volume)), 0), *_take_up_columns()).where(
            _not_retired()
        )
    ).one()
    city = TakeUp("", int(row[1]), int(row[2]), int(row[3]))
    return {"online_volume": int(row[0]), "take_up": city.take_up}


def take_up_by_department(session: Session) -> list[TakeUp]:
    """Return each department's take-up, by name; departments that know none are left out."""
    query = (
        select(col(Department.name), *_take_up_columns())
        .select_from(Procedure)
        .join(Division, col(Division.id) == col(Procedure.division_id))
        .join(Department, col(Department.id) == col(Division.department_id))
        .where(_not_retired(), _both_known())
        .group_by(col(Department.id), col(Department.name))
        .order_by(col(Department.name))
    )
    return [TakeUp(name, int(n), int(on), int(off)) for name, n, on, off in session.execute(query)]


def take_up_by_year(session: Session) -> list[TakeUp]:
    """Return the take-up of each fiscal year the counts belong to (volume_fiscal_year)."""
    year = col(Procedure.volume_fiscal_year)
    query = (
        select(year, *_take_up_columns())
        .where(_not_retired(), _both_known(), year.is_not(None))
        .group_by(year)
        .order_by(year)
    )
    return [TakeUp(str(y), int(n), int(on), int(off)) for y, n, on, off in session.execute(query)]


# ------------------------------------------------------------------------------------------
# the dashboard's view of these figures, read from summary's keys so that both always agree
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unlock:
    """A step, and what putting it online would complete: procedures and their applications."""

    step: str
    procedures: int
    volume: int


def ranked_unlocks(summary: dict[str, Any]) -> list[Unlock]:
    """Rank the steps by the procedures they would complete, then applications; drop zeros."""
    found = [
        Unlock(step, count, summary["unlocks_volume"][step])
        for step, count in summary["unlocks"].items()
        if count
    ]
    # sorted() is stable: steps that tie stay in the list's order.
    return sorted(found, key=lambda unlock: (-unlock.procedures, -unlock.volume))


def ranked_unconfirmed(summary: dict[str, Any]) -> list[tuple[str, int]]:
    """Rank the steps by how many procedures nobody has confirmed them for; drop zeros."""
    found = [(step, counts["unknown"]) for step, counts in summary["steps"].items()]
    return sorted((item for item in found if item[1]), key=lambda item: -item[1])


def take_up_of_all(rows: list[TakeUp], names: list[str]) -> list[TakeUp]:
    """Add the named departments that know no take-up (unknown, never 0 %), highest first."""
    known = sorted(rows, key=lambda row: -(row.take_up or 0))
    seen = {row.name for row in rows}
    return known + [TakeUp(name, 0, 0, 0) for name in sorted(set(names) - seen)]


def take_up_total(rows: list[TakeUp]) -> TakeUp:
    """Sum take-up rows into the whole city's (the figure `summary --json` calls take_up)."""
    return TakeUp(
        "",
        sum(row.procedures for row in rows),
        sum(row.online for row in rows),
        sum(row.offline for row in rows),
    )
