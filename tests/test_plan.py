"""The plan on small hand-made sets: pins, exclusions, policy versions, what-if, saved plans."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from procedures.models import AuditEvent, PlanEntry, PlanPolicy, Role, Verdict
from procedures.plan.policy import current_policy, save_policy, set_pin
from procedures.plan.ranking import DEFAULT_POLICY, Candidate, Pin, rank_candidates
from procedures.plan.saved import save_plan_snapshot
from procedures.plan.schedule import progress, recompute_plan
from procedures.survey.status import current_fiscal_year
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login

#: The plan starts at the fiscal year of today (Japan time); the tests' years follow it.
Y = current_fiscal_year()
NEXT = Y + 1


def policy(*capacities: int) -> dict:
    return {
        "years": [
            {"fiscal_year": Y + index, "capacity": capacity}
            for index, capacity in enumerate(capacities)
        ],
        "tiers": DEFAULT_POLICY["tiers"],
        "weights": DEFAULT_POLICY["weights"],
    }


def candidate(ident, volume=None, eligible=False):
    return Candidate(ident, f"C{ident:03d}", volume, eligible, [])


def placed(entries):
    return [(entry.procedure_id, entry.fiscal_year, entry.position) for entry in entries]


# --- pins in the pure ranking ---------------------------------------------------------------


def test_a_pin_places_a_procedure_in_its_year_before_the_ranked_ones():
    candidates = [candidate(1, 5000), candidate(2, 4000), candidate(3, 10)]
    entries = rank_candidates(candidates, policy(2, 2), {3: Pin(Y, "市長公約")})
    assert placed(entries) == [(3, Y, 1), (1, Y, 2), (2, NEXT, 1)]
    pinned = entries[0]
    assert pinned.tier == "pinned"
    assert json.loads(pinned.reason_json())["pin"] == "市長公約"


def test_an_excluded_procedure_is_left_out_and_the_next_takes_its_place():
    candidates = [candidate(1, 5000), candidate(2, 4000), candidate(3, 10)]
    entries = rank_candidates(candidates, policy(2), {1: Pin(None, "制度改正待ち")})
    assert placed(entries) == [(2, Y, 1), (3, Y, 2)]


def test_a_pin_into_a_full_year_uses_its_capacity_and_pushes_the_last_one_on():
    candidates = [candidate(1, 5000), candidate(2, 4000), candidate(3, 3000), candidate(4, 1)]
    entries = rank_candidates(candidates, policy(2, 5), {4: Pin(Y, "議会答弁")})
    assert placed(entries) == [(4, Y, 1), (1, Y, 2), (2, NEXT, 1), (3, NEXT, 2)]


def test_pins_beyond_capacity_are_all_kept_and_the_year_takes_no_ranked_one():
    candidates = [candidate(1, 5000), candidate(2, 10), candidate(3, 20)]
    pins = {2: Pin(Y, "a"), 3: Pin(Y, "b")}
    entries = rank_candidates(candidates, policy(1, 1), pins)
    assert placed(entries) == [(3, Y, 1), (2, Y, 2), (1, NEXT, 1)]


def test_a_pin_into_a_zero_capacity_year_is_still_kept():
    entries = rank_candidates([candidate(1, 50), candidate(2, 40)], policy(0, 1), {2: Pin(Y, "x")})
    assert placed(entries) == [(2, Y, 1), (1, NEXT, 1)]


# --- pins on the database ---------------------------------------------------------------------


@pytest.fixture
def small_city(db_session):
    division = add_division(db_session, "子育て支援課")
    names = {}
    for name, volume in [("児童手当の認定請求", 5000), ("保育所入所申込", 3000), ("犬の登録", 20)]:
        procedure = add_procedure(
            db_session, division, name, annual_volume=volume, verdict=Verdict.feasible
        )
        names[name] = procedure.id
    return names


def plan_of(db_session):
    rows = db_session.execute(
        select(PlanEntry.procedure_id, PlanEntry.fiscal_year, PlanEntry.position).order_by(
            PlanEntry.fiscal_year, PlanEntry.position
        )
    )
    return [tuple(row) for row in rows]


def test_a_pin_survives_recomputation(db_session, small_city):
    small = policy(1, 2)
    dog = small_city["犬の登録"]
    set_pin(db_session, procedure_id=dog, fiscal_year=Y, reason="市長公約", user_id=None)
    recompute_plan(db_session, small)
    recompute_plan(db_session, small)
    db_session.commit()
    assert plan_of(db_session) == [
        (dog, Y, 1),
        (small_city["児童手当の認定請求"], NEXT, 1),
        (small_city["保育所入所申込"], NEXT, 2),
    ]


def test_pin_page_pins_a_procedure_explains_it_and_writes_the_audit_log(
    client, db_session, small_city
):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    dog = small_city["犬の登録"]
    url = f"/plan/pin/{dog}"
    response = client.post(
        url,
        data={"target": str(Y), "reason": "市長公約", "csrf_token": csrf_token(client, url)},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "犬の登録を令和4年度" not in page  # the message names the Western fiscal year
    assert f"犬の登録はFY{Y}に固定しました。" in page
    assert "市長公約" in page
    year_page = client.get(f"/plan/{Y}").get_data(as_text=True)
    assert "<li>DX推進担当がこの年度に固定しています（理由：市長公約）。</li>" in year_page
    event = db_session.execute(select(AuditEvent).where(AuditEvent.action == "plan")).scalar_one()
    assert (event.procedure_id, event.field, event.old_value, event.new_value) == (
        dog,
        "pin",
        None,
        f"FY{Y}: 市長公約",
    )


def test_excluding_needs_a_reason_and_says_so(client, db_session, small_city):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    url = f"/plan/pin/{small_city['児童手当の認定請求']}"
    response = client.post(
        url, data={"target": "exclude", "reason": " ", "csrf_token": csrf_token(client, url)}
    )
    assert response.status_code == 400
    assert (
        "理由を書いてください。計画とともに表示され、判断の説明になります。"
        in response.get_data(as_text=True)
    )
    assert db_session.execute(select(AuditEvent)).first() is None


def test_excluded_procedure_leaves_the_plan_and_is_listed(client, db_session, small_city):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    target = small_city["児童手当の認定請求"]
    url = f"/plan/pin/{target}"
    client.post(
        url,
        data={"target": "exclude", "reason": "国の改正待ち", "csrf_token": csrf_token(client, url)},
    )
    assert target not in [row[0] for row in plan_of(db_session)]
    overview = client.get("/plan").get_data(as_text=True)
    assert "除外" in overview and "国の改正待ち" in overview


@pytest.mark.parametrize("role", [Role.division, Role.viewer])
def test_only_the_dx_office_pins_and_edits_the_policy(client, db_session, small_city, role):
    add_division(db_session, "市民課")
    add_user(db_session, "someone", role, division="市民課" if role == Role.division else None)
    login(client, "someone")
    assert client.get(f"/plan/pin/{small_city['犬の登録']}").status_code == 403
    assert client.get("/plan/policy").status_code == 403
    token = csrf_token(client, "/plan")
    assert client.post("/plan/save", data={"csrf_token": token}).status_code == 403


# --- policy as data ---------------------------------------------------------------------------


def test_the_default_policy_is_saved_as_version_1_on_first_recompute(db_session, small_city):
    assert current_policy(db_session).version == 0
    recompute_plan(db_session)
    db_session.commit()
    stored = db_session.execute(select(PlanPolicy.version, PlanPolicy.body)).all()
    assert [row[0] for row in stored] == [1]
    assert json.loads(stored[0][1])["years"] == [
        {"fiscal_year": Y, "capacity": 401},
        {"fiscal_year": Y + 1, "capacity": 89},
        {"fiscal_year": Y + 2, "capacity": 35},
        {"fiscal_year": Y + 3, "capacity": 198},
    ]


def test_the_newest_policy_version_is_current(db_session):
    save_policy(db_session, policy(1))
    save_policy(db_session, policy(3, 4))
    current = current_policy(db_session)
    assert current.version == 2
    assert [year["capacity"] for year in current.policy["years"]] == [3, 4]


def policy_form(**overrides) -> dict:
    data = {
        "years-0-fiscal_year": str(Y),
        "years-0-capacity": "1",
        "years-1-fiscal_year": str(NEXT),
        "years-1-capacity": "2",
        "tiers-0-kind": "mynaportal",
        "tiers-1-kind": "min_volume",
        "tiers-1-min_volume": "1000",
        "tiers-2-kind": "all",
        "volume_weight": "1",
        "mynaportal_weight": "0",
    }
    for code, weight in DEFAULT_POLICY["weights"]["blockers"].items():
        data[f"blockers-{code}"] = str(weight)
    data.update(overrides)
    return data


def test_what_if_shows_what_moves_and_saves_nothing(client, db_session, small_city):
    add_user(db_session, "office", Role.dx_office)
    save_policy(db_session, policy(2, 2))
    recompute_plan(db_session)
    db_session.commit()
    login(client, "office")
    data = policy_form(**{"years-0-capacity": "1", "try_plan": "1"})
    data["csrf_token"] = csrf_token(client, "/plan/policy")
    page = client.post("/plan/policy", data=data).get_data(as_text=True)
    assert "1件の手続の位置が変わります：新たに入る 0件、外れる 0件、別の年度へ移る 1件。" in page
    assert "保育所入所申込" in page
    assert db_session.execute(select(PlanPolicy.version)).scalars().all() == [1]


def test_saving_a_policy_keeps_the_old_plan_and_compares_with_it(client, db_session, small_city):
    add_user(db_session, "office", Role.dx_office)
    save_policy(db_session, policy(2, 2))
    recompute_plan(db_session)
    db_session.commit()
    login(client, "office")
    data = policy_form(**{"years-0-capacity": "1", "save": "1"})
    data["csrf_token"] = csrf_token(client, "/plan/policy")
    response = client.post("/plan/policy", data=data, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "方針の第2版を保存し、計画を再計算しました：3件を配置しました。" in page
    assert "第2版より前" in page
    assert (
        "1件の手続の位置が変わりました：新たに入った 0件、外れた 0件、別の年度へ移った 1件。"
        in page
    )
    assert current_policy(db_session).policy["years"] == [
        {"fiscal_year": Y, "capacity": 1},
        {"fiscal_year": NEXT, "capacity": 2},
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"years-1-fiscal_year": str(Y)}, f"FY{Y}が2回あります。各年度は1回だけ入力してください。"),
        ({"years-0-capacity": "-1"}, "定員は0件以上で入力してください。"),
        ({"years-0-capacity": ""}, "年度と定員の両方を入力するか、両方を空欄にしてください。"),
        ({"tiers-1-min_volume": ""}, "この段階が始まる年間件数を入力してください。"),
        (
            {"tiers-0-kind": "all", "tiers-2-kind": "mynaportal"},
            "「その他すべて」より後の段階には手続が入りません。「その他すべて」を最後にしてください。",
        ),
        ({"volume_weight": ""}, "数値を入力してください（0にするとこの要素は無視されます）。"),
    ],
)
def test_policy_errors_say_what_to_do_in_japanese(
    client, db_session, small_city, overrides, message
):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    data = policy_form(**overrides, try_plan="1")
    data["csrf_token"] = csrf_token(client, "/plan/policy")
    response = client.post("/plan/policy", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db_session.execute(select(PlanPolicy)).first() is None


# --- saved plans and progress -----------------------------------------------------------------


def test_a_saved_plan_is_compared_with_the_current_one(client, db_session, small_city):
    add_user(db_session, "office", Role.dx_office)
    recompute_plan(db_session, policy(1, 1))
    saved = save_plan_snapshot(db_session, label="6月委員会案", user_id=None, policy_version=None)
    recompute_plan(db_session, policy(2, 1))
    db_session.commit()
    login(client, "office")
    page = client.get(f"/plan?compare={saved.id}").get_data(as_text=True)
    assert "現在の計画と「6月委員会案」" in page
    assert "新たに入った 1件、外れた 0件、別の年度へ移った 1件" in page


def test_progress_shows_a_past_year_as_done_and_the_coming_ones_as_planned(db_session, small_city):
    division = add_division(db_session, "介護保険課")
    last_year = Y - 1
    add_procedure(
        db_session, division, "要介護認定申請", annual_volume=1200, done_fiscal_year=last_year
    )
    add_procedure(
        db_session, division, "住宅改修費の支給申請", annual_volume=None, done_fiscal_year=last_year
    )
    recompute_plan(db_session, policy(2, 5))
    rows = {item.fiscal_year: item for item in progress(db_session, policy(2, 5))}
    assert list(rows) == [last_year, Y, NEXT]
    past = rows[last_year]
    assert (past.state, past.capacity, past.planned, past.done, past.done_volume) == (
        "past",
        None,
        0,
        2,
        1200,
    )
    assert (rows[Y].state, rows[Y].capacity, rows[Y].planned, rows[Y].planned_volume) == (
        "current",
        2,
        2,
        8000,
    )
    assert (rows[NEXT].state, rows[NEXT].planned, rows[NEXT].done) == ("coming", 1, 0)


def test_policy_page_saves_life_event_weights(client, db_session, small_city):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    page = client.get("/plan/policy").get_data(as_text=True)
    assert '<label for="life_events-event_1">子育て</label>' in page
    data = policy_form(**{"life_events-event_1": "1.5", "save": "1"})
    data["csrf_token"] = csrf_token(client, "/plan/policy")
    assert client.post("/plan/policy", data=data).status_code == 302
    assert current_policy(db_session).policy["weights"]["life_events"] == {"子育て": 1.5}
