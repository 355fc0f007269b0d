"""The plan rolls forward: years from the current fiscal year, targets, past years, stale plans."""

from __future__ import annotations

import io
import re

from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import select

from procedures.models import PlanEntry, Procedure, Role, Verdict, utcnow
from procedures.plan.policy import current_policy, save_policy
from procedures.plan.ranking import DEFAULT_POLICY, Candidate, Pin, rank_candidates
from procedures.plan.schedule import plan_freshness, recompute_plan
from procedures.survey.status import current_fiscal_year
from procedures.vocabulary import japanese_fiscal_year
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login
from tests.test_imports import commit, upload, workbook_bytes

Y = current_fiscal_year()


def policy(first_year: int, *capacities: int) -> dict:
    return {
        **DEFAULT_POLICY,
        "years": [
            {"fiscal_year": first_year + index, "capacity": capacity}
            for index, capacity in enumerate(capacities)
        ],
    }


def candidate(ident, volume=None, target=None):
    return Candidate(ident, f"C{ident:03d}", volume, False, [], (), target)


def placed(entries):
    return [
        (entry.procedure_id, entry.fiscal_year, entry.position, entry.tier) for entry in entries
    ]


# --- the years, in the pure ranking -----------------------------------------------------------


def test_the_policy_years_that_have_passed_take_no_procedure():
    entries = rank_candidates(
        [candidate(1, 500), candidate(2, 400), candidate(3, 300)],
        policy(2024, 5, 5, 1, 1),
        current_year=2026,
    )
    assert placed(entries) == [(1, 2026, 1, "rest"), (2, 2027, 1, "rest")]


def test_a_target_beyond_the_policy_adds_its_year_after_the_ranked_ones():
    entries = rank_candidates(
        [candidate(1, 500), candidate(2, 10, target=2031)], policy(2026, 1), current_year=2026
    )
    assert placed(entries) == [(1, 2026, 1, "rest"), (2, 2031, 1, "target")]


def test_a_target_in_a_planned_year_goes_before_the_ranked_ones_and_uses_its_capacity():
    entries = rank_candidates(
        [candidate(1, 500), candidate(2, 400), candidate(3, 10, target=2026)],
        policy(2026, 2, 2),
        current_year=2026,
    )
    assert placed(entries) == [
        (3, 2026, 1, "target"),
        (1, 2026, 2, "rest"),
        (2, 2027, 1, "rest"),
    ]


def test_a_pin_comes_before_a_target_in_the_same_year():
    entries = rank_candidates(
        [candidate(1, 500, target=2027), candidate(2, 10)],
        policy(2026, 1, 1),
        {2: Pin(2027, "議会答弁")},
        current_year=2026,
    )
    assert placed(entries) == [(2, 2027, 1, "pinned"), (1, 2027, 2, "target")]


def test_a_target_or_pin_whose_year_has_passed_is_planned_for_the_current_year():
    entries = rank_candidates(
        [candidate(1, 500), candidate(2, 10, target=2024), candidate(3, 20)],
        policy(2026, 3),
        {3: Pin(2025, "市長公約")},
        current_year=2026,
    )
    assert placed(entries) == [
        (3, 2026, 1, "pinned"),
        (2, 2026, 2, "target"),
        (1, 2026, 3, "rest"),
    ]
    assert [entry.placed_by for entry in entries[:2]] == [
        {"pin": "市長公約", "passed": 2025},
        {"target": 2024, "passed": 2024},
    ]


def test_procedures_done_this_year_use_its_capacity_first():
    entries = rank_candidates(
        [candidate(1, 500), candidate(2, 400)],
        policy(2026, 3, 5),
        current_year=2026,
        done={2026: 2},
    )
    assert placed(entries) == [(1, 2026, 1, "rest"), (2, 2027, 1, "rest")]


def test_the_default_policy_starts_at_the_current_fiscal_year(db_session):
    current = current_policy(db_session, current_year=2026)
    assert (current.version, current.policy["years"]) == (
        0,
        [
            {"fiscal_year": 2026, "capacity": 401},
            {"fiscal_year": 2027, "capacity": 89},
            {"fiscal_year": 2028, "capacity": 35},
            {"fiscal_year": 2029, "capacity": 198},
        ],
    )


# --- the pages --------------------------------------------------------------------------------


def feasible(db_session, division, name, **fields):
    return add_procedure(db_session, division, name, verdict=Verdict.feasible, **fields)


def test_a_target_year_beyond_the_policy_appears_in_the_plan_with_its_reason(client, db_session):
    division = add_division(db_session, "市民課")
    far = Y + 5
    feasible(db_session, division, "住民票の写しの交付申請", annual_volume=800)
    feasible(db_session, division, "犬の登録", annual_volume=20, target_fiscal_year=far)
    save_policy(db_session, policy(Y, 1))
    recompute_plan(db_session)
    add_user(db_session, "office", Role.dx_office)
    db_session.commit()
    login(client, "office")
    overview = client.get("/plan").get_data(as_text=True)
    row_pattern = rf'<tr data-state="coming"><td><a class="nowrap" href="/plan/{far}">.*?</tr>'
    row = re.search(row_pattern, overview, re.S)
    assert row is not None and "方針の年度外" in row.group(0)
    page = client.get(f"/plan/{far}").get_data(as_text=True)
    assert "犬の登録" in page
    assert (
        f"<li>目標年度が{japanese_fiscal_year(far)}のため、この年度に計画しています。</li>" in page
    )


def test_a_past_year_lists_what_was_done_not_a_plan(client, db_session):
    division = add_division(db_session, "介護保険課")
    last_year = Y - 1
    add_procedure(
        db_session, division, "要介護認定申請", annual_volume=1200, done_fiscal_year=last_year
    )
    feasible(db_session, division, "住宅改修費の支給申請", annual_volume=300)
    save_policy(db_session, policy(last_year, 4, 4))
    recompute_plan(db_session)
    add_user(db_session, "office", Role.dx_office)
    db_session.commit()
    login(client, "office")
    overview = client.get("/plan").get_data(as_text=True)
    past = re.search(r'<tr data-state="past">.*?</tr>', overview, re.S)
    assert past is not None
    cells = re.findall(r'<td class="num">([^<]*)</td>', past.group(0))
    assert cells == ["4", "—", "—", "—", "1", "1,200"]
    page = client.get(f"/plan/{last_year}").get_data(as_text=True)
    assert (
        "この年度は終了しています。一覧は計画ではなく、この年度にオンライン化した手続です。" in page
    )
    assert "目標4件に対し、1件をオンライン化しました。" in page
    assert "要介護認定申請" in page and "住宅改修費の支給申請" not in page
    this_year = client.get(f"/plan/{Y}").get_data(as_text=True)
    assert "住宅改修費の支給申請" in this_year


# --- the stale-plan notice --------------------------------------------------------------------


def computed_at_text(db_session) -> str:
    from procedures.core.templating import localtime

    return localtime(db_session.execute(select(PlanEntry.computed_at).limit(1)).scalar_one())


def test_the_stale_notice_appears_after_an_import_and_goes_after_a_recompute(client, db_session):
    division = add_division(db_session, "市民課")
    feasible(db_session, division, "住民票の写しの交付申請", annual_volume=800)
    recompute_plan(db_session)
    add_user(db_session, "office", Role.dx_office)
    db_session.commit()
    login(client, "office")
    assert 'id="stale-plan"' not in client.get("/plan").get_data(as_text=True)

    content = workbook_bytes(
        [
            ("市民課", "住民票の写しの交付申請", "800"),
            ("市民課", "転入届", "3,100"),
            ("市民課", "転出届", "2,900"),
        ]
    )
    location = upload(client, content).headers["Location"]
    assert commit(client, location).status_code == 302
    at = computed_at_text(db_session)
    notice = (
        f"計画を最後に計算した{at}の後に、手続一覧が変わりました（2件の手続が変更）。"
        "再計算すると計画に反映されます。"
    )
    assert notice in client.get("/plan").get_data(as_text=True)
    assert notice in client.get(f"/plan/{Y}").get_data(as_text=True)
    client.get("/lang/en")
    english = client.get("/plan").get_data(as_text=True)
    assert (
        f"The inventory changed after the plan was last computed on {at}: 2 procedures "
        "changed. Recompute to include them."
    ) in english

    token = csrf_token(client, "/plan")
    response = client.post(f"/plan/recompute?year={Y}", data={"csrf_token": token})
    assert response.headers["Location"] == f"/plan/{Y}"
    assert 'id="stale-plan"' not in client.get("/plan").get_data(as_text=True)
    assert 'id="stale-plan"' not in client.get(f"/plan/{Y}").get_data(as_text=True)


def test_a_viewer_sees_the_notice_without_the_button(client, db_session):
    division = add_division(db_session, "市民課")
    procedure = feasible(db_session, division, "転入届", annual_volume=800)
    recompute_plan(db_session)
    table = Procedure.__table__
    db_session.execute(
        table.update()
        .where(table.c.id == procedure.id)
        .values(notes="窓口で確認", updated_at=utcnow())
    )
    add_user(db_session, "reader", Role.viewer)
    db_session.commit()
    login(client, "reader")
    page = client.get("/plan").get_data(as_text=True)
    assert 'id="stale-plan"' in page
    assert 'id="stale-recompute"' not in page
    assert "再計算はDX推進担当が行えます。" in page


def test_a_plan_computed_last_fiscal_year_is_stale_this_year(db_session):
    division = add_division(db_session, "市民課")
    feasible(db_session, division, "転入届", annual_volume=800)
    plan = policy(Y, 5, 5)
    recompute_plan(db_session, plan)
    assert plan_freshness(db_session, plan, current_year=Y).stale is False
    next_year = plan_freshness(db_session, plan, current_year=Y + 1)
    assert (next_year.stale, next_year.computed_year, next_year.changed) == (True, Y, 0)
    assert plan_freshness(db_session, plan, current_year=Y + 2).has_years is False


# --- the demo city ----------------------------------------------------------------------------


def test_the_demo_plan_starts_at_the_current_fiscal_year(db_session):
    from procedures.demo.loader import load_demo
    from procedures.plan.schedule import planned_counts

    load_demo(db_session)
    assert planned_counts(db_session) == {Y: 401, Y + 1: 89, Y + 2: 35, Y + 3: 198}


def test_exports_read_the_reasons_as_sentences(app, client, db_session):
    division = add_division(db_session, "市民課", "市民自治部")
    feasible(
        db_session,
        division,
        "住民票の写しの交付申請",
        code="S-1",
        annual_volume=55_866,
        blockers=",seal_signature,",
    )
    recompute_plan(db_session)
    add_user(db_session, "reader", Role.viewer)
    db_session.commit()
    login(client, "reader")
    japanese = [
        "年間1,000件以上の手続として計画しています。",
        "年間55,866件と件数が多いため（+4.75点）",
        "押印・署名が必要なため（-0.50点）",
        "合計4.25点",
    ]
    english = [
        "Planned with the procedures of 1,000 or more applications a year.",
        "Many applications a year (55,866): +4.75 points",
        "A seal or signature is required: -0.50 points",
        "Score: 4.25 points in all",
    ]
    page = client.get(f"/plan/{Y}").get_data(as_text=True)
    assert "".join(f"<li>{sentence}</li>" for sentence in japanese) in page
    workbook = load_workbook(io.BytesIO(client.get(f"/plan/{Y}/export.xlsx").data))
    assert workbook.active["G5"].value == "\n".join(japanese)
    client.get("/lang/en")
    page = client.get(f"/plan/{Y}").get_data(as_text=True)
    assert "".join(f"<li>{sentence}</li>" for sentence in english) in page
    csv_text = client.get(f"/plan/{Y}/export-utf-8.csv").data.decode("utf-8-sig")
    assert '"' + "\n".join(english) + '"' in csv_text


# --- the sentences ----------------------------------------------------------------------------


def test_every_blocker_has_a_sentence_of_its_own():
    from procedures.plan.reasons import BLOCKER_SENTENCES
    from procedures.vocabulary import BLOCKERS

    assert set(BLOCKER_SENTENCES) == set(BLOCKERS)


def test_a_passed_pin_and_target_say_why_they_are_planned_this_year(app):
    from procedures.plan.reasons import reason_sentences

    entries = rank_candidates(
        [candidate(1, None, target=2024), candidate(2, 3)],
        policy(2026, 5),
        {2: Pin(2025, "議会答弁")},
        current_year=2026,
    )
    reasons = {entry.procedure_id: entry.reason_json() for entry in entries}
    with app.test_request_context():
        assert reason_sentences(reasons[1]) == [
            "目標年度の令和6年度を過ぎてもオンライン化されていないため、今年度に計画しています。",
            "年間件数が不明のため加点なし（件数が分かる手続の後に計画）",
        ]
        assert reason_sentences(reasons[2]) == [
            "DX推進担当が令和7年度に固定していましたが、その年度が過ぎたため今年度に計画して"
            "います（理由：議会答弁）。",
            "年間3件の申請があるため（+0.60点）",
        ]
    with app.test_request_context(), force_locale("en"):
        assert reason_sentences(reasons[1])[0] == (
            "Its target fiscal year, FY2024 (令和6年度), has passed without it going online, "
            "so it is planned for this year."
        )
        assert reason_sentences(reasons[2]) == [
            "Fixed to FY2025 (令和7年度) by the DX office; that year has passed, so it is planned "
            "for this year (reason: 議会答弁).",
            "Applications a year (3): +0.60 points",
        ]
