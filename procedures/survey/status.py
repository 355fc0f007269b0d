"""Who answered the survey of a fiscal year, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from procedures.core import clock
from procedures.models import (
    DivisionSurvey,
    Lifecycle,
    Procedure,
    User,
)


@dataclass
class SurveyStatus:
    """Where one division's survey of a fiscal year stands."""

    division_id: int
    division: str
    department: str
    procedures: int
    generated_at: datetime | None
    answered_at: datetime | None
    answered_by: str | None
    answer_batch_id: int | None

    @property
    def answered(self) -> bool:
        """True once a returned workbook of the division was imported."""
        return self.answered_at is not None


def current_fiscal_year(today: date | None = None) -> int:
    """Return the fiscal year (April–March, Japan time) that today falls in."""
    today = today or clock.today()
    return today.year if today.month >= 4 else today.year - 1


def survey_status(
    session: Session, *, fiscal_year: int, division_id: int | None = None
) -> list[SurveyStatus]:
    """Return every division's survey state for the fiscal year (or one division's)."""
    counts: dict[int, int] = dict(
        session.execute(
            select(col(Procedure.division_id), func.count())
            .where(col(Procedure.lifecycle) == Lifecycle.active)
            .group_by(col(Procedure.division_id))
        ).all()
    )
    surveys = {
        survey.division_id: survey
        for survey in session.execute(
            select(DivisionSurvey).where(col(DivisionSurvey.fiscal_year) == fiscal_year)
        ).scalars()
    }
    logins: dict[int | None, str] = dict(
        session.execute(select(col(User.id), col(User.login))).all()
    )
    # Loaded when first used (it loads openpyxl): keeps the CLI's start-up close to the bare
    # framework.
    from procedures.survey.workbook import _divisions

    result = []
    for ident, division, department in _divisions(
        session, None if division_id is None else [division_id]
    ):
        survey = surveys.get(ident)
        result.append(
            SurveyStatus(
                division_id=ident,
                division=division,
                department=department,
                procedures=counts.get(ident, 0),
                generated_at=survey.generated_at if survey else None,
                answered_at=survey.answered_at if survey else None,
                answered_by=logins.get(survey.answered_by) if survey else None,
                answer_batch_id=survey.answer_batch_id if survey else None,
            )
        )
    return result


def survey_years(session: Session, today: date | None = None) -> list[int]:
    """Return the fiscal years to offer: those with surveys, and last, this and next year."""
    current = current_fiscal_year(today)
    query = select(col(DivisionSurvey.fiscal_year)).distinct()
    years = set(session.execute(query).scalars())
    years.update((current - 1, current, current + 1))
    return sorted(years, reverse=True)
