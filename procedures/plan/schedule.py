"""The yearly plan written back: recompute, preview, counts and progress per year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, delete, exists, func, select
from sqlmodel import Session, col

from importers.schema import Completeness
from procedures.core import clock
from procedures.core.bulk import ColumnBatch, bind_value, bulk_insert
from procedures.models import Lifecycle, PlanEntry, Procedure, utcnow
from procedures.plan.completion import Judged
from procedures.plan.policy import ensure_policy, load_pins, normalise_policy
from procedures.plan.ranking import (
    RankedEntry,
    candidate_conditions,
    collector_paused,
    load_candidates,
    planned_years,
    rank_candidates,
)
from procedures.survey.status import current_fiscal_year

#: Rows per INSERT of the plan (one COPY on PostgreSQL streams them all).
BATCH_ROWS = 5000
_ENTRY_COLUMNS = (
    "procedure_id",
    "fiscal_year",
    "position",
    "tier",
    "score",
    "reason",
    "computed_at",
)


def plan_place(session: Session, procedure_id: int) -> tuple[int, str] | None:
    """Return (fiscal year, stored reason) of a procedure in the current plan, if it is there."""
    row = session.execute(
        select(col(PlanEntry.fiscal_year), col(PlanEntry.reason)).where(
            col(PlanEntry.procedure_id) == procedure_id
        )
    ).first()
    return None if row is None else (row[0], row[1])


def done_counts(session: Session, from_year: int) -> dict[int, int]:
    """Return {fiscal year: procedures put online in it} from a fiscal year on (not retired)."""
    query = (
        select(col(Procedure.done_fiscal_year), func.count())
        .where(
            col(Procedure.done_fiscal_year) >= from_year,
            col(Procedure.lifecycle) != Lifecycle.retired,
        )
        .group_by(col(Procedure.done_fiscal_year))
    )
    return {year: count for year, count in session.execute(query)}


def _rank(session: Session, policy: dict[str, Any], current_year: int) -> list[RankedEntry]:
    return rank_candidates(
        load_candidates(session),
        normalise_policy(policy),
        load_pins(session),
        current_year=current_year,
        done=done_counts(session, current_year),
    )


def preview_plan(
    session: Session, policy: dict[str, Any], *, current_year: int | None = None
) -> list[RankedEntry]:
    """Rank the current candidates with a policy without writing anything (what-if)."""
    with collector_paused():
        return _rank(session, policy, current_year or current_fiscal_year())


def recompute_plan(
    session: Session, policy: dict[str, Any] | None = None, *, current_year: int | None = None
) -> list[RankedEntry]:
    """Rank the current candidates and store the result as the current plan.

    Without a policy the current saved one is used (the default is saved first if none is).
    The plan starts at `current_year`, by default the fiscal year of today in Japan.
    """
    current_year = current_year or current_fiscal_year()
    if policy is None:
        policy = ensure_policy(session, current_year=current_year).policy
    with collector_paused():
        entries = _rank(session, policy, current_year)
        _write_plan(session.connection(), entries)
    return entries


def _write_plan(connection: Connection, entries: list[RankedEntry]) -> None:
    """Replace the stored plan with the entries: one statement per batch, straight to the driver.

    SQLAlchemy's processing of 75,000 parameter sets was a second of CPU: the values go to
    the driver as they are, and the time, bound once, is a constant of every row. Rows go in
    by procedure id, the order of the unique index they are added to (a third less work).
    """
    table = PlanEntry.__table__
    # DELETE, not TRUNCATE: TRUNCATE waits for every transaction that has read the plan, and
    # every page queues behind it meanwhile.
    connection.execute(delete(table))
    now = bind_value(connection, table.c.computed_at, utcnow())
    ordered = sorted(entries, key=attrgetter("procedure_id"))
    batches = (
        ColumnBatch(
            [
                [entry.procedure_id for entry in chunk],
                [entry.fiscal_year for entry in chunk],
                [entry.position for entry in chunk],
                [entry.tier for entry in chunk],
                [entry.score for entry in chunk],
                [entry.reason_json() for entry in chunk],
                [now] * len(chunk),
            ],
            len(chunk),
        )
        for chunk in (
            ordered[start : start + BATCH_ROWS] for start in range(0, len(ordered), BATCH_ROWS)
        )
    )
    bulk_insert(connection, table, _ENTRY_COLUMNS, batches)


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
    #: Of the planned, those complete online once converted, and those with a step not known.
    complete: int = 0
    not_confirmed: int = 0
    done: int = 0
    done_volume: int = 0
    #: "past" (shows what was done, no plan), "current" or "coming".
    state: str = "coming"


def _state(fiscal_year: int, current_year: int) -> str:
    if fiscal_year < current_year:
        return "past"
    return "current" if fiscal_year == current_year else "coming"


def progress(
    session: Session, policy: dict[str, Any], *, current_year: int | None = None
) -> list[YearProgress]:
    """Return target, planned (and how many it completes online) and done per year, in SQL.

    The years are the policy's, those the plan places procedures in, and those procedures
    were put online in. A past year shows only what was done in it: a plan left there by a
    recompute of an earlier year is not counted.
    """
    current_year = current_year or current_fiscal_year()
    current = col(Procedure.lifecycle) != Lifecycle.retired
    years = {
        year["fiscal_year"]: YearProgress(year["fiscal_year"], year["capacity"])
        for year in policy["years"]
    }
    # By year and stored steps: one pass also tells what each year's conversions complete.
    planned = session.execute(
        select(
            col(PlanEntry.fiscal_year),
            col(Procedure.steps),
            func.count(),
            func.sum(col(Procedure.annual_volume)),
        )
        .join(Procedure, col(Procedure.id) == PlanEntry.procedure_id)
        .where(current, col(PlanEntry.fiscal_year) >= current_year)
        .group_by(col(PlanEntry.fiscal_year), col(Procedure.steps))
    )
    judged = Judged()
    for year, steps, count, volume in planned:
        item = years.setdefault(year, YearProgress(year, None))
        item.planned += count
        item.planned_volume += int(volume or 0)
        if judged[steps] is Completeness.complete:
            item.complete += count
        elif judged[steps] is Completeness.not_confirmed:
            item.not_confirmed += count
    done = session.execute(
        select(
            col(Procedure.done_fiscal_year), func.count(), func.sum(col(Procedure.annual_volume))
        )
        .where(current, col(Procedure.done_fiscal_year).is_not(None))
        .group_by(col(Procedure.done_fiscal_year))
    )
    for year, count, volume in done:
        item = years.setdefault(year, YearProgress(year, None))
        item.done, item.done_volume = int(count), int(volume or 0)
    for item in years.values():
        item.state = _state(item.fiscal_year, current_year)
    return [years[year] for year in sorted(years)]


@dataclass
class PlanFreshness:
    """Whether the stored plan still reflects the inventory, the policy's years and the date."""

    #: When the stored plan was computed (None: it holds no procedure).
    computed_at: datetime | None
    #: Procedures saved (imported, triaged, edited) since then.
    changed: int
    #: The fiscal year it was computed in, when that is before the current one.
    computed_year: int | None
    #: Feasible procedures not yet online exist while the plan holds none.
    unplanned: bool
    #: The policy still has a year from the current fiscal year on.
    has_years: bool

    @property
    def stale(self) -> bool:
        """Whether a recompute would take in something the stored plan does not."""
        return bool(self.changed or self.computed_year or self.unplanned)


def plan_freshness(
    session: Session, policy: dict[str, Any], *, current_year: int | None = None
) -> PlanFreshness:
    """Compare the plan's computation time with the newest saved procedure (indexed look-ups).

    Every recompute writes one time on all its rows, so one row tells it; the count of
    procedures saved since walks the index on `updated_at` from that time on.
    """
    current_year = current_year or current_fiscal_year()
    has_years = bool(planned_years(policy, current_year))
    computed_at = session.execute(select(col(PlanEntry.computed_at)).limit(1)).scalar()
    if computed_at is None:
        return PlanFreshness(None, 0, None, _has_candidates(session), has_years)
    changed = session.execute(
        select(func.count()).select_from(Procedure).where(col(Procedure.updated_at) > computed_at)
    ).scalar_one()
    computed_year = current_fiscal_year(clock.in_japan(computed_at).date())
    return PlanFreshness(
        computed_at,
        changed,
        computed_year if computed_year < current_year else None,
        False,
        has_years,
    )


def _has_candidates(session: Session) -> bool:
    """Whether any procedure is feasible, current and not online yet."""
    return bool(session.execute(select(exists().where(*candidate_conditions()))).scalar())


def current_assignment(session: Session) -> dict[int, int]:
    """Return the current plan as {procedure id: fiscal year}."""
    query = select(col(PlanEntry.procedure_id), col(PlanEntry.fiscal_year))
    return {row[0]: row[1] for row in session.execute(query)}
