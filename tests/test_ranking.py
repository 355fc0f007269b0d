"""The plan's tier rules on small hand-made sets."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from importers.steps import STEP_KEYS
from procedures.plan.ranking import (
    DEFAULT_POLICY,
    VOLUME_BASES,
    Candidate,
    rank_candidates,
    score_candidate,
)


def policy(*capacities: int, tiers=None) -> dict:
    return {
        "years": [
            {"fiscal_year": 2022 + index, "capacity": capacity}
            for index, capacity in enumerate(capacities)
        ],
        "tiers": tiers or DEFAULT_POLICY["tiers"],
        "weights": DEFAULT_POLICY["weights"],
    }


def candidate(ident, volume=None, eligible=False, code=None, blockers=()):
    return Candidate(ident, code or f"C{ident:03d}", volume, eligible, list(blockers))


def placed(entries):
    return [(entry.procedure_id, entry.fiscal_year, entry.position) for entry in entries]


def test_mynaportal_tier_comes_before_a_larger_volume():
    entries = rank_candidates(
        [candidate(1, volume=50_000), candidate(2, volume=10, eligible=True)], policy(1, 1)
    )
    assert placed(entries) == [(2, 2022, 1), (1, 2023, 1)]
    assert [entry.tier for entry in entries] == ["mynaportal", "volume_1000"]


def test_a_full_year_spills_into_the_next():
    candidates = [candidate(ident, volume=5000 - ident) for ident in range(1, 6)]
    entries = rank_candidates(candidates, policy(2, 2, 5))
    assert placed(entries) == [
        (1, 2022, 1),
        (2, 2022, 2),
        (3, 2023, 1),
        (4, 2023, 2),
        (5, 2024, 1),
    ]


def test_zero_capacity_year_gets_nothing():
    entries = rank_candidates([candidate(1, 100), candidate(2, 90)], policy(0, 5))
    assert placed(entries) == [(1, 2023, 1), (2, 2023, 2)]


def test_candidates_beyond_every_capacity_stay_unplanned():
    entries = rank_candidates([candidate(i, 10 * i) for i in range(1, 5)], policy(1, 1))
    assert placed(entries) == [(4, 2022, 1), (3, 2023, 1)]


def test_ties_are_broken_by_volume_then_code():
    # Same score is impossible with different volumes, so tie on volume and break on code.
    entries = rank_candidates(
        [
            candidate(1, 300, code="B-2"),
            candidate(2, 300, code="A-9"),
            candidate(3, 300, code="B-1"),
        ],
        policy(3),
    )
    assert placed(entries) == [(2, 2022, 1), (3, 2022, 2), (1, 2022, 3)]


def test_unknown_volume_ranks_after_known_volume_and_is_not_zero():
    entries = rank_candidates(
        [candidate(1, None, code="A"), candidate(2, 0, code="B"), candidate(3, 5, code="C")],
        policy(3),
    )
    assert placed(entries) == [(3, 2022, 1), (2, 2022, 2), (1, 2022, 3)]
    unknown = next(entry for entry in entries if entry.procedure_id == 1)
    assert unknown.parts == [["volume_unknown", None, 0.0]]


def test_unknown_volume_never_enters_the_volume_tier():
    entries = rank_candidates([candidate(1, None), candidate(2, 1000)], policy(5))
    assert [(entry.procedure_id, entry.tier) for entry in entries] == [
        (2, "volume_1000"),
        (1, "rest"),
    ]


def test_score_parts_explain_volume_and_blockers():
    entries = rank_candidates(
        [candidate(1, 3400, blockers=["seal_signature", "no_system"])], policy(1)
    )
    assert entries[0].parts == [
        ["volume", 3400, 3.53],
        ["blocker", "seal_signature", -0.5],
        ["blocker", "no_system", -1.0],
    ]
    assert entries[0].score == 2.03


def test_blockers_lower_the_rank_inside_a_tier():
    entries = rank_candidates(
        [candidate(1, 2000, blockers=["law_change"]), candidate(2, 1500)], policy(2)
    )
    assert placed(entries) == [(2, 2022, 1), (1, 2022, 2)]


def test_life_event_weights_raise_a_procedure_and_explain_it():
    weights = {**DEFAULT_POLICY["weights"], "life_events": {"子育て": 1.5}}
    plan = {**policy(2), "weights": weights}
    child_care = Candidate(1, "K-1", 100, False, [], ("妊娠・出産", "子育て"))
    busier = Candidate(2, "A-1", 500, False, [])
    entries = rank_candidates([busier, child_care], plan)
    assert placed(entries) == [(1, 2022, 1), (2, 2022, 2)]
    assert entries[0].parts == [["volume", 100, 2.0], ["life_event", "子育て", 1.5]]
    assert entries[0].score == 3.5


def test_life_events_are_read_from_the_database_and_kept_by_the_policy(app, db_session):
    from procedures.plan.policy import normalise_policy
    from procedures.plan.ranking import load_candidates
    from tests.conftest import add_division, add_procedure

    division = add_division(db_session, "子育て給付課")
    add_procedure(
        db_session,
        division,
        "児童手当の認定請求",
        verdict="feasible",
        life_events="妊娠・出産; 子育て",
    )
    assert [c.life_events for c in load_candidates(db_session)] == [("妊娠・出産", "子育て")]
    kept = normalise_policy(
        {**DEFAULT_POLICY, "weights": {"life_events": {"介護": 0.5, "被災": 0}}}
    )
    assert kept["weights"]["life_events"] == {"介護": 0.5}


BLOCKER_CODES = sorted(DEFAULT_POLICY["weights"]["blockers"])
LIFE_EVENTS = ["子育て", "介護", "引越し"]
points = st.integers(min_value=-500, max_value=500).map(lambda cents: cents / 100)
candidates = st.lists(
    st.builds(
        Candidate,
        id=st.integers(min_value=1, max_value=10**6),
        code=st.none() | st.text(alphabet="ABC0123", max_size=4),
        annual_volume=st.none() | st.integers(min_value=0, max_value=10**8),
        mynaportal_eligible=st.booleans(),
        blockers=st.lists(st.sampled_from(BLOCKER_CODES), max_size=4, unique=True),
        life_events=st.lists(st.sampled_from(LIFE_EVENTS), max_size=2, unique=True).map(tuple),
        online_volume=st.none() | st.integers(min_value=0, max_value=10**8),
        offline_volume=st.none() | st.integers(min_value=0, max_value=10**8),
        missing_step=st.none() | st.sampled_from(STEP_KEYS),
    ),
    max_size=30,
    unique_by=lambda item: item.id,
)
weights = st.fixed_dictionaries(
    {
        "volume": points,
        "mynaportal": points,
        "blockers": st.fixed_dictionaries({code: points for code in BLOCKER_CODES}),
        "life_events": st.fixed_dictionaries({event: points for event in LIFE_EVENTS}),
        "volume_basis": st.sampled_from(VOLUME_BASES),
        "one_step": points,
    }
)


@settings(max_examples=200, deadline=None)
@given(candidates=candidates, weights=weights)
def test_every_placed_score_is_the_sum_of_the_parts_shown(candidates, weights):
    plan = policy(10, 10, 10) | {"weights": weights}
    for entry in rank_candidates(candidates, plan):
        shown = [part[2] for part in entry.parts]
        assert entry.score == round(sum(shown), 2)
        # The stored reason, put together from strings, holds the very parts shown.
        assert json.loads(entry.reason_json())["parts"] == entry.parts
        by_itself = next(item for item in candidates if item.id == entry.procedure_id)
        assert score_candidate(by_itself, weights) == (entry.score, entry.parts)
