"""The funnel of docs/DOMAIN.md, counted in SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlmodel import Session, col

from procedures.dashboard.steps import step_figures, volumes
from procedures.models import Division, Lifecycle, OnlineStatus, Procedure, Verdict
from procedures.plan.schedule import planned_counts


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def funnel(session: Session) -> dict[str, Any]:
    """Return the counts of procedures not retired, as the `summary --json` contract names them."""
    current = col(Procedure.lifecycle) != Lifecycle.retired
    row = session.execute(
        select(
            func.count(),
            _count_if(col(Procedure.visit_required).is_(True)),
            _count_if(col(Procedure.verdict) == Verdict.feasible),
            _count_if(col(Procedure.verdict) == Verdict.infeasible),
            _count_if(col(Procedure.verdict) == Verdict.undecided),
            _count_if(col(Procedure.mynaportal_eligible).is_(True)),
            _count_if(col(Procedure.online_status) == OnlineStatus.done),
            _count_if(col(Procedure.online_status) == OnlineStatus.partial),
            func.coalesce(func.sum(col(Procedure.annual_volume)), 0),
            _count_if(col(Procedure.annual_volume).is_(None)),
            _count_if(col(Procedure.fee_required).is_(True)),
            _count_if(col(Procedure.seal_required).is_(True)),
            _count_if(col(Procedure.raw_values).is_not(None)),
        ).where(current)
    ).one()
    divisions = session.execute(select(func.count()).select_from(Division)).scalar_one()
    done = session.execute(
        select(col(Procedure.done_fiscal_year), func.count())
        .where(current, col(Procedure.done_fiscal_year).is_not(None))
        .group_by(col(Procedure.done_fiscal_year))
        .order_by(col(Procedure.done_fiscal_year))
    ).all()
    procedures, visit = int(row[0]), int(row[1])
    return {
        "procedures": procedures,
        "divisions": int(divisions),
        "in_person_required": visit,
        "surveyed": procedures - visit,
        "feasible": int(row[2]),
        "infeasible": int(row[3]),
        "undecided": int(row[4]),
        "mynaportal_eligible": int(row[5]),
        "online": int(row[6]),
        "partly_online": int(row[7]),
        "annual_volume": int(row[8]),
        "volume_unknown": int(row[9]),
        "fee_required": int(row[10]),
        "seal_required": int(row[11]),
        #: Procedures holding words the importer did not understand (shown on their page).
        "with_words_not_understood": int(row[12]),
        "planned": {str(year): count for year, count in planned_counts(session).items()},
        "done": {str(year): count for year, count in done},
        # Steps, complete online and what unlocks it (procedures.dashboard.steps).
        **step_figures(session).as_json(),
        **volumes(session),
    }
