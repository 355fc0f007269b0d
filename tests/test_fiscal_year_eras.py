"""Fiscal years are shown with their Japanese era wherever a page shows one with it."""

import pytest

from procedures.core.templating import japanese_fiscal_years
from procedures.models import Role, Verdict
from procedures.plan.policy import set_pin
from procedures.plan.schedule import recompute_plan
from procedures.survey.status import current_fiscal_year
from tests.conftest import add_division, add_procedure, add_user, login


@pytest.mark.parametrize(
    ("first", "last", "shown"),
    [
        (2022, 2025, "令和4〜7年度"),
        (2019, 2021, "令和元〜3年度"),
        (2017, 2020, "平成29年度〜令和2年度"),
        (2023, 2023, "令和5年度"),
    ],
)
def test_a_span_of_fiscal_years_names_the_era_once_when_it_can(first, last, shown):
    assert japanese_fiscal_years(first, last) == shown


def test_detail_and_dashboard_show_the_era_beside_the_fiscal_year(app, client, db_session):
    add_user(db_session, "office", Role.dx_office)
    division = add_division(db_session, "子育て給付課", "子ども青少年部")
    first = add_procedure(
        db_session,
        division,
        "児童手当の認定請求",
        verdict=Verdict.feasible,
        mynaportal_eligible=True,
        annual_volume=3400,
        volume_fiscal_year=2023,
    )
    pinned = add_procedure(db_session, division, "児童手当の現況届", verdict=Verdict.feasible)
    with app.app_context():
        next_year = current_fiscal_year() + 1
        set_pin(
            db_session,
            procedure_id=pinned.id,
            fiscal_year=next_year,
            reason="国の期限",
            user_id=None,
        )
        recompute_plan(db_session)
        db_session.commit()
    login(client, "office")

    detail = client.get(f"/procedures/{first.id}").get_data(as_text=True)
    assert '3,400 <span class="muted">FY2023 (令和5年度)</span>' in detail
    dashboard = client.get("/dashboard").get_data(as_text=True)
    # The planned years: the current one (the ranked procedure) and the next (the pinned one).
    first_year = current_fiscal_year()
    span = japanese_fiscal_years(first_year, first_year + 1)
    note = (
        f'<span class="stat-note">FY{first_year}–FY{first_year + 1} '
        f'<span class="era">({span})</span></span>'
    )
    assert note in dashboard
