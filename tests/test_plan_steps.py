"""The plan aims at complete online: ranking by the applications moved online, points for a
procedure one step from complete, and how many procedures each year's conversions complete."""

from __future__ import annotations

import csv
import io
import re

from flask import session
from openpyxl import load_workbook

from importers.schema import Completeness
from importers.steps import STEP_KEYS, encode
from procedures.models import Role, Verdict
from procedures.plan.completion import after_conversion
from procedures.plan.policy import current_policy, normalise_policy, save_policy
from procedures.plan.ranking import DEFAULT_POLICY, Candidate, rank_candidates
from procedures.plan.reasons import reason_sentences
from procedures.plan.schedule import progress, recompute_plan
from procedures.survey.status import current_fiscal_year
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login

Y = current_fiscal_year()
OPTIONS_ON = {"volume_basis": "moved_online", "one_step": 2.0}


def steps(**statuses: str) -> str | None:
    """Return stored steps: every step online, except those given."""
    return encode({key: statuses.get(key, "online") for key in STEP_KEYS})


def plan_policy(*capacities: int, **weights) -> dict:
    """One tier for all, so that the order is the score's; the default weights and `weights`."""
    return {
        "years": [{"fiscal_year": Y + i, "capacity": c} for i, c in enumerate(capacities)],
        "tiers": [{"key": "rest", "condition": {}}],
        "weights": {**DEFAULT_POLICY["weights"], **weights},
    }


def feasible(db_session, division, name, **fields):
    return add_procedure(db_session, division, name, verdict=Verdict.feasible, **fields)


def small_city(db_session) -> int:
    """Five procedures whose volumes and steps tell the options apart; return their division."""
    division = add_division(db_session, "市民課", "市民自治部")
    # Mostly online already: only 1,000 of 10,000 would move.
    feasible(
        db_session,
        division,
        "住民票の写しの交付申請",
        code="A",
        annual_volume=10_000,
        online_volume=9_000,
    )
    # The applications not made online are recorded as such.
    feasible(
        db_session,
        division,
        "印鑑登録証明書の交付申請",
        code="B",
        annual_volume=5_000,
        offline_volume=4_000,
    )
    # How many are made online is not known: all of them count.
    feasible(db_session, division, "転出届", code="C", annual_volume=3_000)
    # Every step online but the payment: one step from complete.
    feasible(
        db_session,
        division,
        "犬の登録",
        code="D",
        annual_volume=200,
        steps=steps(payment="offline"),
    )
    feasible(db_session, division, "臨時運行許可申請", code="E")
    return division


def placed(db_session) -> list[tuple[str, int, float]]:
    """Return the stored plan as (code, fiscal year, score), in plan order."""
    from sqlalchemy import select

    from procedures.models import PlanEntry, Procedure

    query = (
        select(Procedure.code, PlanEntry.fiscal_year, PlanEntry.score)
        .join(Procedure, Procedure.id == PlanEntry.procedure_id)
        .order_by(PlanEntry.fiscal_year, PlanEntry.position)
    )
    return [tuple(row) for row in db_session.execute(query)]


def test_the_options_rank_by_applications_moved_online_and_one_step_from_complete(app, db_session):
    small_city(db_session)
    recompute_plan(db_session, plan_policy(5))
    assert placed(db_session) == [
        ("A", Y, 4.0),
        ("B", Y, 3.7),
        ("C", Y, 3.48),
        ("D", Y, 2.3),
        ("E", Y, 0.0),
    ]
    entries = recompute_plan(db_session, plan_policy(3, 2, **OPTIONS_ON))
    assert placed(db_session) == [
        ("D", Y, 4.3),
        ("B", Y, 3.6),
        ("C", Y, 3.48),
        ("A", Y + 1, 3.0),
        ("E", Y + 1, 0.0),
    ]
    reasons = {entry.procedure_id: entry.reason_json() for entry in entries}
    ids = dict(zip("ABCDE", sorted(reasons), strict=True))
    with app.test_request_context():
        assert reason_sentences(reasons[ids["D"]]) == [
            "その他のオンライン化可能な手続として、点数の高い順に計画しています。",
            "年間200件の申請があるため（オンライン手続件数が不明のため全件で計算、+2.30点）",
            "「手数料の納付」をオンライン化すれば完全オンラインになります（+2.00点）",
            "合計4.30点",
        ]
        assert reason_sentences(reasons[ids["B"]])[1] == (
            "オンライン以外の申請が年間4,000件（非オンライン手続件数）あるため（+3.60点）"
        )
        assert reason_sentences(reasons[ids["A"]])[1] == (
            "オンライン以外の申請が年間1,000件（年間件数からオンライン手続件数を引いた件数）"
            "あるため（+3.00点）"
        )
        assert reason_sentences(reasons[ids["E"]])[1] == (
            "年間件数が不明のため加点なし（件数が分かる手続の後に計画）"
        )
    with app.test_request_context():
        session["lang"] = "en"  # the page's language, which the steps' labels follow too
        assert reason_sentences(reasons[ids["D"]])[1:3] == [
            "Applications a year (200; how many are made online is not known, so all are "
            "counted): +2.30 points",
            "Putting its “Payment” step online would make it complete online: +2.00 points",
        ]
        assert reason_sentences(reasons[ids["B"]])[1] == (
            "Applications a year not made online (4,000, as recorded): +3.60 points"
        )
        assert reason_sentences(reasons[ids["A"]])[1] == (
            "Applications a year not made online (1,000: all applications less those made "
            "online): +3.00 points"
        )


def test_the_tiers_still_read_every_application_a_year():
    # 1,200 a year, of which 1,100 online: 100 move, yet it stays in the 1,000+ tier.
    mostly_online = Candidate(1, "A", 1_200, False, [], online_volume=1_100)
    small = Candidate(2, "B", 900, False, [])
    weights = {**DEFAULT_POLICY["weights"], **OPTIONS_ON}
    plan = {"years": [{"fiscal_year": Y, "capacity": 2}], "tiers": DEFAULT_POLICY["tiers"]}
    entries = rank_candidates([small, mostly_online], plan | {"weights": weights})
    assert [(e.procedure_id, e.tier, e.score) for e in entries] == [
        (1, "volume_1000", 2.0),
        (2, "rest", 2.95),
    ]


def test_more_online_than_in_all_moves_nothing_rather_than_a_negative_count():
    slip = Candidate(1, "A", 100, False, [], online_volume=150)
    weights = {**DEFAULT_POLICY["weights"], **OPTIONS_ON}
    entries = rank_candidates([slip], plan_policy(1) | {"weights": weights})
    assert entries[0].parts == [["offline_difference", 0, 0.0]]


def test_with_the_options_off_the_plan_is_the_one_of_before(db_session):
    """The default policy has both options off: it ranks as a policy saved before them did."""
    small_city(db_session)
    default = current_policy(db_session, current_year=Y).policy
    assert (default["weights"]["volume_basis"], default["weights"]["one_step"]) == ("annual", 0.0)
    before = {
        **default,
        "weights": {
            key: value
            for key, value in default["weights"].items()
            if key not in ("volume_basis", "one_step")
        },
    }
    assert normalise_policy(before) == default

    def plan(policy):
        entries = recompute_plan(db_session, policy, current_year=Y)
        return [(e.procedure_id, e.fiscal_year, e.score, e.reason_json()) for e in entries]

    assert plan(None) == plan(before)
    assert placed(db_session) == [
        ("A", Y, 4.0),
        ("B", Y, 3.7),
        ("C", Y, 3.48),
        ("D", Y, 2.3),
        ("E", Y, 0.0),
    ]


# --- complete per year ------------------------------------------------------------------------


def test_a_conversion_completes_a_procedure_only_when_every_step_is_then_settled():
    assert after_conversion(steps(application="offline")) is Completeness.complete
    assert after_conversion(steps(payment="offline")) is Completeness.complete
    assert after_conversion(steps(application="offline", payment="offline")) is (
        Completeness.not_complete
    )
    assert after_conversion(steps(application="offline", decision="unknown")) is (
        Completeness.not_confirmed
    )
    assert after_conversion(None) is Completeness.not_confirmed
    assert after_conversion(steps(application="not_applicable")) is Completeness.not_complete


def two_years(db_session) -> None:
    """Two planned years of two procedures each, and one put online already."""
    division = add_division(db_session, "市民課", "市民自治部")
    feasible(
        db_session,
        division,
        "住民票の写しの交付申請",
        code="A",
        annual_volume=900,
        steps=steps(application="offline"),
    )
    feasible(
        db_session,
        division,
        "戸籍証明書の交付申請",
        code="B",
        annual_volume=800,
        steps=steps(application="offline", payment="offline"),
    )
    feasible(
        db_session,
        division,
        "犬の登録",
        code="C",
        annual_volume=700,
        steps=steps(payment="offline"),
    )
    feasible(db_session, division, "転出届", code="D", annual_volume=600)
    add_procedure(
        db_session,
        division,
        "児童手当の現況届",
        code="E",
        verdict=Verdict.feasible,
        annual_volume=5_000,
        steps=steps(),
        done_fiscal_year=Y,
    )


def test_each_year_counts_the_procedures_its_conversions_complete(app, client, db_session):
    two_years(db_session)
    save_policy(db_session, plan_policy(3, 2))
    recompute_plan(db_session)
    add_user(db_session, "reader", Role.viewer)
    db_session.commit()
    policy = current_policy(db_session).policy
    years = progress(db_session, policy, current_year=Y)
    assert [(y.fiscal_year, y.planned, y.complete, y.not_confirmed) for y in years] == [
        (Y, 2, 1, 0),
        (Y + 1, 2, 1, 1),
    ]
    login(client, "reader")
    overview = client.get("/plan").get_data(as_text=True)
    cells = re.findall(r'data-complete="(\d+)" data-not-confirmed="(\d+)">([^<]*)', overview)
    assert cells == [("1", "0", "1"), ("1", "1", "1")]
    assert "未確認 1件" in overview
    page = client.get(f"/plan/{Y + 1}").get_data(as_text=True)
    assert "うち、実施後に完全オンラインとなるもの 1件、段階に未確認があるもの 1件。" in page
    workbook = load_workbook(io.BytesIO(client.get(f"/plan/{Y + 1}/export.xlsx").data))
    sheet = workbook.active
    assert sheet["A2"].value.endswith(
        "時点　2件（うち実施後に完全オンラインとなるもの 1件、段階に未確認があるもの 1件）"
    )
    assert [sheet["D5"].value, sheet["K5"].value, sheet["D6"].value, sheet["K6"].value] == [
        "C",
        "完全オンライン",
        "D",
        "未確認の段階あり",
    ]
    summary = [[cell.value for cell in row[:3]] for row in workbook.worksheets[1].iter_rows()]
    assert summary[-4:] == [
        ["実施後の完全オンライン化", "手続数", "年間件数"],
        ["完全オンライン", 1, 700],
        ["未確認の段階あり", 1, 600],
        ["合計", 2, 1300],
    ]
    client.get("/lang/en")
    page = client.get(f"/plan/{Y}").get_data(as_text=True)
    assert "Of these, complete online once converted: 1; with a step not yet confirmed: 0." in page
    csv_text = client.get(f"/plan/{Y}/export-utf-8.csv").data.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(csv_text)))
    assert [row[-1] for row in table] == ["Once converted", "Complete online", "Not complete"]


# --- the policy form --------------------------------------------------------------------------


def test_the_policy_form_saves_both_options_as_a_new_version(client, db_session):
    from tests.test_plan import policy_form

    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    page = client.get("/plan/policy").get_data(as_text=True)
    assert 'name="moved_online" type="checkbox" value="y">' in page
    data = policy_form(moved_online="y", one_step_weight="1.5", save="1")
    data["csrf_token"] = csrf_token(client, "/plan/policy")
    assert client.post("/plan/policy", data=data).status_code == 302
    saved = current_policy(db_session)
    assert (saved.version, saved.policy["weights"]["volume_basis"]) == (1, "moved_online")
    assert saved.policy["weights"]["one_step"] == 1.5
    page = client.get("/plan/policy").get_data(as_text=True)
    assert 'checked id="moved_online"' in page
    assert 'value="1.5"' in page


def test_a_one_step_weight_out_of_range_is_refused_with_a_message(client, db_session):
    from tests.test_plan import policy_form

    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    data = policy_form(one_step_weight="11", save="1")
    data["csrf_token"] = csrf_token(client, "/plan/policy")
    response = client.post("/plan/policy", data=data)
    assert response.status_code == 400
    assert "重みは-10〜10で入力してください。" in response.get_data(as_text=True)
