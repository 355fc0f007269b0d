"""Which planned procedures become complete online once their year's conversion is done.

Converting a procedure puts its application online, or, when it is one step from complete,
that missing step (procedures/catalogue/steps.py): it is then complete when every step is
online or not applicable. A step not known yet leaves it not yet confirmed, never complete.
The counts are grouped in SQL by the stored steps (few distinct texts among thousands of
rows) and each text is judged once, by the same rules as the procedure's page.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session, col

from importers.schema import Completeness
from importers.steps import decode, status_of
from procedures.catalogue.steps import (
    APPLICATION,
    NOT_APPLICABLE,
    ONLINE,
    completeness,
    missing_step,
)
from procedures.models import Lifecycle, PlanEntry, Procedure


def after_conversion(stored: str | None) -> Completeness:
    """Return where a procedure's steps stand once its conversion is done."""
    statuses = decode(stored)
    if missing_step(statuses) is not None:
        return Completeness.complete
    if status_of(statuses, APPLICATION) == NOT_APPLICABLE:
        # Nothing to apply for online: the conversion cannot change its steps.
        return completeness(statuses)
    return completeness({**statuses, APPLICATION: ONLINE})


@dataclass
class YearCompletion:
    """Of a year's planned procedures, how many become complete, how many are not confirmed."""

    complete: int = 0
    not_confirmed: int = 0


def completion_by_year(session: Session, *, from_year: int) -> dict[int, YearCompletion]:
    """Count, per planned year from `from_year` on, the procedures its conversions complete."""
    query = (
        select(col(PlanEntry.fiscal_year), col(Procedure.steps), func.count())
        .join(Procedure, col(Procedure.id) == PlanEntry.procedure_id)
        .where(
            col(Procedure.lifecycle) != Lifecycle.retired, col(PlanEntry.fiscal_year) >= from_year
        )
        .group_by(col(PlanEntry.fiscal_year), col(Procedure.steps))
    )
    judged: dict[str | None, Completeness] = {}
    years: dict[int, YearCompletion] = {}
    for year, steps, count in session.execute(query):
        if steps not in judged:
            judged[steps] = after_conversion(steps)
        item = years.setdefault(year, YearCompletion())
        if judged[steps] is Completeness.complete:
            item.complete += count
        elif judged[steps] is Completeness.not_confirmed:
            item.not_confirmed += count
    return years
