"""The national priority list: seed, matching city names, confirm/reject, the admin page, roles."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from procedures.models import (
    AuditEvent,
    MatchStatus,
    PriorityMatch,
    PriorityProcedure,
    Procedure,
    Role,
)
from procedures.priority.matching import SUGGEST_THRESHOLD, best_matches, match_score, normalise
from procedures.priority.national_list import PriorityCsvError, parse_priority_csv
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login

SEED_NAMES_IN_ORDER_START = [
    "児童手当等の受給資格及び児童手当の額についての認定請求",
    "児童手当等の額の改定の請求及び届出",
    "氏名変更／住所変更等の届出",
]


def national(db_session) -> list[tuple[int, str]]:
    rows = db_session.execute(
        select(PriorityProcedure.id, PriorityProcedure.name)
        .where(PriorityProcedure.active.is_(True))
        .order_by(PriorityProcedure.position)
    ).all()
    return [tuple(row) for row in rows]


def best_for(db_session, names: list[str]) -> dict[str, tuple[str, float]]:
    """Match city names (ids 1..n) against the seeded list; return {city name: (best, score)}."""
    items = national(db_session)
    item_names = dict(items)
    city = list(enumerate(names, start=1))
    found = best_matches(city, items)
    return {
        names[city_id - 1]: (item_names[item_id], score)
        for city_id, (item_id, score) in found.items()
    }


# --- seed -----------------------------------------------------------------------------------


def test_the_seed_is_the_municipal_27_of_domain_md(db_session):
    items = (
        db_session.execute(select(PriorityProcedure).order_by(PriorityProcedure.position))
        .scalars()
        .all()
    )
    assert len(items) == 27
    assert [item.position for item in items] == list(range(1, 28))
    assert [item.name for item in items[:3]] == SEED_NAMES_IN_ORDER_START
    assert items[-1].name == "り災証明書の発行申請"
    categories = [item.category for item in items]
    assert (categories.count("child_care"), categories.count("nursing_care")) == (15, 11)
    assert categories.count("disaster") == 1
    assert {item.revision for item in items} == {"2020-12 自治体DX推進計画"}
    assert all(item.active for item in items)


# --- matching -------------------------------------------------------------------------------


def test_normalise_strips_spaces_width_and_generic_words():
    assert normalise("児童手当の　認定請求") == "児童手当認定"
    assert normalise("要介護・要支援認定の申請") == "要介護要支援認定"
    assert normalise("り災証明書の発行申請") == "り災証明交付"
    assert (
        normalise("居宅（介護予防）サービス計画作成依頼届出") == "居宅介護予防サービス計画作成依頼"
    )


@pytest.mark.parametrize(
    ("city", "expected", "score"),
    [
        ("児童手当の認定請求", "児童手当等の受給資格及び児童手当の額についての認定請求", 85.0),
        ("要介護認定申請", "要介護・要支援認定の申請", 90.6),
        ("り災証明書の交付申請", "り災証明書の発行申請", 100.0),
        ("要介護（要支援）更新認定申請", "要介護・要支援更新認定の申請", 100.0),
        ("介護保険被保険者証の再交付申請", "被保険者証の再交付申請", 75.0),
        ("児童手当の現況届", "児童手当の現況届", 100.0),
    ],
)
def test_city_names_match_their_national_procedure(db_session, city, expected, score):
    assert best_for(db_session, [city]) == {city: (expected, score)}
    assert score >= SUGGEST_THRESHOLD


@pytest.mark.parametrize(
    ("city", "nearest", "score"),
    [
        # Another allowance with a similar name: its best is a different procedure, and weak.
        ("児童扶養手当の認定請求", "児童扶養手当の現況届の事前送信", 68.8),
        ("特別児童扶養手当の認定請求", "児童扶養手当の現況届の事前送信", 57.5),
        (
            "障害児福祉手当の認定請求",
            "児童手当等の受給資格及び児童手当の額についての認定請求",
            50.0,
        ),
    ],
)
def test_near_misses_stay_below_the_threshold(db_session, city, nearest, score):
    assert best_for(db_session, [city]) == {city: (nearest, score)}
    assert score < SUGGEST_THRESHOLD


def test_unrelated_and_too_generic_names_get_no_candidate_at_all(db_session):
    assert best_for(db_session, ["犬の登録申請", "認定申請", "住民票の写しの交付請求"]) == {}


def test_child_allowance_is_not_taken_for_the_status_report():
    city, report, claim = (
        normalise("児童扶養手当の認定請求"),
        normalise("児童手当の現況届"),
        normalise("児童手当等の受給資格及び児童手当の額についての認定請求"),
    )
    assert match_score(city, report) == 54.2 < SUGGEST_THRESHOLD
    assert match_score(normalise("児童手当の認定請求"), claim) == 85.0


def test_a_rejected_pair_is_left_out_and_the_next_best_taken(db_session):
    items = national(db_session)
    first = items[0][0]
    found = best_matches([(1, "児童手当の認定請求")], items, excluded=[(1, first)])
    names = dict(items)
    item_id, score = found[1]
    assert (names[item_id], score) == ("児童手当等の額の改定の請求及び届出", 80.4)


# --- the page and its decisions -------------------------------------------------------------


@pytest.fixture
def city(db_session):
    """Two divisions with city-style names and an office, division and viewer user."""
    care = add_division(db_session, "介護保険課", "福祉部")
    child = add_division(db_session, "子育て給付課", "こども部")
    procedures = {
        "claim": add_procedure(db_session, child, "児童手当の認定請求"),
        "near": add_procedure(db_session, child, "児童扶養手当の認定請求"),
        "care": add_procedure(db_session, care, "要介護認定申請"),
        "dog": add_procedure(db_session, care, "犬の登録申請"),
    }
    add_user(db_session, "office", Role.dx_office)
    add_user(db_session, "kaigo", Role.division, "介護保険課")
    add_user(db_session, "viewer", Role.viewer)
    add_user(db_session, "admin", Role.admin)
    return {name: procedure.id for name, procedure in procedures.items()}


def refresh(client):
    token = csrf_token(client, "/priority")
    return client.post("/priority/suggestions", data={"csrf_token": token})


def matches(db_session, status: MatchStatus | None = None) -> set[tuple[int, str, float]]:
    query = select(PriorityMatch.procedure_id, PriorityProcedure.name, PriorityMatch.score).join(
        PriorityProcedure, PriorityProcedure.id == PriorityMatch.priority_procedure_id
    )
    if status:
        query = query.where(PriorityMatch.status == status)
    db_session.expire_all()
    return {tuple(row) for row in db_session.execute(query)}


def match_id(db_session, procedure_id: int) -> int:
    return db_session.execute(
        select(PriorityMatch.id).where(PriorityMatch.procedure_id == procedure_id)
    ).scalar_one()


def test_recompute_stores_each_procedures_best_candidate(client, db_session, city):
    login(client, "office")
    response = refresh(client)
    assert response.status_code == 302
    assert matches(db_session, MatchStatus.suggested) == {
        (city["claim"], "児童手当等の受給資格及び児童手当の額についての認定請求", 85.0),
        (city["near"], "児童扶養手当の現況届の事前送信", 68.8),
        (city["care"], "要介護・要支援認定の申請", 90.6),
    }
    page = client.get("/priority").get_data(as_text=True)
    assert page.count('class="suggestions"') == 2
    assert page.count('class="weak"') == 1
    assert '<span class="stat-value" id="gap-count">27</span>' in page


def test_confirm_sets_the_flag_audited_and_closes_the_gap(client, db_session, city):
    login(client, "office")
    refresh(client)
    ident = match_id(db_session, city["claim"])
    token = csrf_token(client, "/priority")
    response = client.post(
        f"/priority/matches/{ident}/confirm", data={"csrf_token": token, "version": "1"}
    )
    assert response.status_code == 302
    db_session.expire_all()
    procedure = db_session.get(Procedure, city["claim"])
    assert (procedure.mynaportal_eligible, procedure.version) == (True, 2)
    events = db_session.execute(
        select(AuditEvent.action, AuditEvent.field, AuditEvent.old_value, AuditEvent.new_value)
        .where(AuditEvent.procedure_id == city["claim"])
        .order_by(AuditEvent.id)
    ).all()
    assert [tuple(event) for event in events] == [
        ("edit", "mynaportal_eligible", "false", "true"),
        (
            "priority_match",
            "priority_procedure",
            None,
            "児童手当等の受給資格及び児童手当の額についての認定請求",
        ),
    ]
    assert matches(db_session, MatchStatus.confirmed) == {
        (city["claim"], "児童手当等の受給資格及び児童手当の額についての認定請求", 85.0)
    }
    page = client.get("/priority").get_data(as_text=True)
    assert '<span class="stat-value" id="matched-count">1</span>' in page
    assert '<span class="stat-value" id="gap-count">26</span>' in page


def test_confirm_with_a_stale_version_changes_nothing(client, db_session, city):
    login(client, "office")
    client.get("/lang/en")
    refresh(client)
    ident = match_id(db_session, city["claim"])
    token = csrf_token(client, "/priority")
    response = client.post(
        f"/priority/matches/{ident}/confirm", data={"csrf_token": token, "version": "7"}
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Procedure, city["claim"]).mynaportal_eligible is False
    assert matches(db_session, MatchStatus.confirmed) == set()
    page = client.get("/priority").get_data(as_text=True)
    assert "児童手当の認定請求 changed since this page was shown; nothing was saved." in page


def test_a_rejected_suggestion_is_not_suggested_again(client, db_session, city):
    login(client, "office")
    refresh(client)
    ident = match_id(db_session, city["care"])
    token = csrf_token(client, "/priority")
    response = client.post(
        f"/priority/matches/{ident}/reject", data={"csrf_token": token, "version": "1"}
    )
    assert response.status_code == 302
    refresh(client)
    suggested = matches(db_session, MatchStatus.suggested)
    assert (city["care"], "要介護・要支援認定の申請", 90.6) not in suggested
    assert matches(db_session, MatchStatus.rejected) == {
        (city["care"], "要介護・要支援認定の申請", 90.6)
    }
    # Its next best is another item, never the rejected one.
    care_items = {name for ident_, name, _score in suggested if ident_ == city["care"]}
    assert care_items == {"要介護・要支援更新認定の申請"}
    db_session.expire_all()
    assert db_session.get(Procedure, city["care"]).mynaportal_eligible is False


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/priority"),
        ("get", "/priority/list"),
        ("get", "/missing"),
        ("post", "/priority/suggestions"),
        ("post", "/priority/matches/1/confirm"),
        ("post", "/priority/matches/1/reject"),
        ("post", "/priority/list/add"),
        ("post", "/priority/list/1/rename"),
        ("post", "/priority/list/1/deactivate"),
        ("post", "/priority/list/upload"),
        ("post", "/missing/1/retire"),
        ("post", "/missing/1/keep"),
    ],
)
def test_anonymous_users_are_sent_to_login(client, city, method, url):
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, data={"csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("user", ["viewer", "kaigo"])
def test_viewers_and_divisions_read_the_page_but_cannot_decide(client, db_session, city, user):
    login(client, "office")
    refresh(client)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/priority")})
    login(client, user)
    page = client.get("/priority")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "児童手当の認定請求" in text
    assert "/confirm" not in text
    token = csrf_token(client, "/missing") if "csrf_token" in text else None
    ident = match_id(db_session, city["care"])
    data = {"csrf_token": token or "", "version": "1"}
    assert client.post(f"/priority/matches/{ident}/confirm", data=data).status_code == 403
    assert client.post(f"/priority/matches/{ident}/reject", data=data).status_code == 403
    assert client.post("/priority/suggestions", data=data).status_code == 403
    assert client.get("/priority/list").status_code == 403
    db_session.expire_all()
    assert db_session.get(Procedure, city["care"]).mynaportal_eligible is False


def test_a_post_without_csrf_token_is_refused(client, db_session, city):
    login(client, "office")
    refresh(client)
    ident = match_id(db_session, city["claim"])
    response = client.post(f"/priority/matches/{ident}/confirm", data={"version": "1"})
    assert response.status_code == 400
    db_session.expire_all()
    assert db_session.get(Procedure, city["claim"]).mynaportal_eligible is False


# --- the admin page: edit, revision CSV -----------------------------------------------------


def test_only_admins_edit_the_list(client, city):
    login(client, "office")
    assert client.get("/priority/list").status_code == 403
    token = csrf_token(client, "/priority")
    data = {"csrf_token": token, "category": "other", "name": "図書館の予約"}
    assert client.post("/priority/list/add", data=data).status_code == 403


def test_admin_adds_renames_and_deactivates(client, db_session, city):
    login(client, "admin")
    token = csrf_token(client, "/priority/list")
    response = client.post(
        "/priority/list/add",
        data={"csrf_token": token, "category": "other", "name": " 図書館資料の予約 "},
    )
    assert response.status_code == 302
    added = db_session.execute(
        select(PriorityProcedure).where(PriorityProcedure.name == "図書館資料の予約")
    ).scalar_one()
    assert (added.position, added.category, added.active) == (28, "other", True)
    client.post(
        f"/priority/list/{added.id}/rename", data={"csrf_token": token, "name": "図書館の予約"}
    )
    client.post(f"/priority/list/{added.id}/deactivate", data={"csrf_token": token})
    db_session.expire_all()
    item = db_session.get(PriorityProcedure, added.id)
    assert (item.name, item.active) == ("図書館の予約", False)
    page = client.get("/priority").get_data(as_text=True)
    assert '<span class="stat-value" id="gap-count">27</span>' in page
    assert "<td>図書館の予約</td>" not in page
    assert "<td>図書館資料の予約</td>" not in page


def upload(client, content: bytes, revision: str = "2023-06 改定"):
    token = csrf_token(client, "/priority/list")
    return client.post(
        "/priority/list/upload",
        data={
            "csrf_token": token,
            "revision": revision,
            "file": (io.BytesIO(content), "list.csv"),
        },
        content_type="multipart/form-data",
    )


def test_a_csv_revision_replaces_the_active_list_and_keeps_decisions(client, db_session, city):
    login(client, "office")
    refresh(client)
    ident = match_id(db_session, city["claim"])
    token = csrf_token(client, "/priority")
    client.post(f"/priority/matches/{ident}/confirm", data={"csrf_token": token, "version": "1"})
    client.post("/logout", data={"csrf_token": token})
    login(client, "admin")
    content = (
        "category,name\n"
        "child_care,児童手当等の受給資格及び児童手当の額についての認定請求\n"
        "disaster,り災証明書の発行申請\n"
        "other,図書館資料の貸出予約\n"
    ).encode("cp932")
    response = upload(client, content)
    assert response.status_code == 302
    active = db_session.execute(
        select(PriorityProcedure.position, PriorityProcedure.category, PriorityProcedure.name)
        .where(PriorityProcedure.active.is_(True))
        .order_by(PriorityProcedure.position)
    ).all()
    assert [tuple(row) for row in active] == [
        (1, "child_care", "児童手当等の受給資格及び児童手当の額についての認定請求"),
        (2, "disaster", "り災証明書の発行申請"),
        (3, "other", "図書館資料の貸出予約"),
    ]
    inactive = db_session.execute(
        select(PriorityProcedure.id).where(PriorityProcedure.active.is_(False))
    ).all()
    assert len(inactive) == 27
    page = client.get("/priority").get_data(as_text=True)
    assert '<span class="stat-value" id="matched-count">1</span>' in page
    assert '<span class="stat-value" id="gap-count">2</span>' in page


@pytest.mark.parametrize(
    ("content", "problems"),
    [
        (
            b"kind,name\nchild_care,x\n",
            ["The first row must name the columns category,name; missing: category."],
        ),
        (
            "category,name\nchild_care,妊娠の届出\nkosodate,保育所の利用申込\n,\nchild_care,\nchild_care,妊娠の届出\n".encode(),
            [
                "Line 3: category 'kosodate' is not one of "
                "child_care, nursing_care, disaster, other.",
                "Line 5: the name is empty.",
                "Line 6: 妊娠の届出 is listed twice (also on line 2).",
            ],
        ),
        (b"category,name\n", ["The file has no procedures under its header row."]),
        (
            b"\xff\xfe\x00\x00\x81",
            ["The file is neither UTF-8 nor Shift_JIS text: save it as CSV."],
        ),
    ],
)
def test_a_malformed_csv_is_refused_with_what_to_fix(app, content, problems):
    with app.test_request_context(), pytest.raises(PriorityCsvError) as caught:
        parse_priority_csv(content)
    with app.test_request_context():
        from flask import session

        session["lang"] = "en"
        assert [str(problem) for problem in caught.value.problems] == problems


def test_the_seed_file_parses_as_a_revision(app):
    from procedures.priority.national_list import SEED_PATH

    rows = parse_priority_csv(SEED_PATH.read_bytes())
    assert len(rows) == 27
    assert rows[-1] == ("disaster", "り災証明書の発行申請")


def test_a_refused_csv_writes_nothing_and_says_why(client, db_session, city):
    login(client, "admin")
    client.get("/lang/en")
    response = upload(client, b"category,name\nchild_care,\n")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "The file was not loaded; nothing changed." in text
    assert "Line 2: the name is empty." in text
    active = db_session.execute(
        select(PriorityProcedure.id).where(PriorityProcedure.active.is_(True))
    ).all()
    assert len(active) == 27
