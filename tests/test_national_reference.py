"""The national inventory as a reference: load, link, flag what a newer load changed, review."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from procedures.models import (
    AuditEvent,
    MatchStatus,
    NationalEntry,
    NationalLink,
    NationalLoad,
    Role,
)
from procedures.national.links import confirm_link, link_exact, reject_suggestion, suggest
from procedures.national.reference import load_reference
from procedures.national.review import mark_reviewed, queue, remaining
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login

#: The R6 national layout's columns this reference reads, as the Digital Agency heads them.
HEADERS = (
    "手続ID",
    "所管府省庁",
    "手続名",
    "法令名",
    "手続類型",
    "オンライン化の実施状況",
    "オンライン化の実施予定及び検討時の懸念点",
    "申請等における本人確認手法",
    "総手続件数",
    "オンライン手続件数",
    "非オンライン手続件数",
)


def national_entries(count: int = 30) -> dict[str, list]:
    """Return {手続ID: row} of a small national inventory: entry i is 'テスト手続i' under 法i."""
    return {
        str(1000 + i): [
            str(1000 + i),
            "デジタル庁",
            f"テスト手続{i}の交付申請",
            f"テスト法{i}",
            "1 申請等",
            "2 未実施",
            "3 オンライン化を実施するためのシステムがない",
            "4 本人確認書類の提示・提出",
            100 + i,
            10,
            90 + i,
        ]
        for i in range(1, count + 1)
    }


def national_workbook(entries: dict[str, list]) -> bytes:
    """Write a national-layout workbook: one header row, one row per entry."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "手続一覧"
    sheet.append(list(HEADERS))
    for row in entries.values():
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def three_changed_one_removed(entries: dict[str, list]) -> dict[str, list]:
    """Return a newer copy: 1001's online status, 1002's name, 1003's count changed; 1004 gone."""
    newer = {key: list(row) for key, row in entries.items()}
    newer["1001"][5] = "1 実施済"
    newer["1002"][2] = "テスト手続2の交付申請（改称）"
    newer["1003"][8] = 5000
    # An unlinked entry changes too: it flags nothing.
    newer["1025"][5] = "1 実施済"
    del newer["1004"]
    return newer


def linked_city(db_session, linked: int = 20) -> list[int]:
    """Store 20 city procedures and link each to its national entry; return their ids."""
    division = add_division(db_session, "市民課")
    ids = []
    for i in range(1, linked + 1):
        procedure = add_procedure(db_session, division, f"テスト手続{i}の交付申請")
        ids.append(procedure.id)
        confirm_link(db_session, procedure_id=procedure.id, national_id=str(1000 + i), user_id=None)
    db_session.commit()
    return ids


def load(db_session, entries, name="national.xlsx"):
    outcome = load_reference(
        db_session, content=national_workbook(entries), file_name=name, user_id=None
    )
    db_session.commit()
    return outcome


def test_a_newer_load_flags_exactly_the_changed_and_removed_links_and_a_review_leaves_three(
    db_session,
):
    entries = national_entries()
    first = load(db_session, entries)
    assert (first.load.rows, first.flagged) == (30, 0)
    ids = linked_city(db_session)
    second = load(db_session, three_changed_one_removed(entries), "national-newer.xlsx")
    assert (second.load.rows, second.flagged) == (29, 4)
    flagged = {(row.national_id, tuple(row.changes)) for row in queue(db_session)}
    assert flagged == {
        ("1001", ("online_status",)),
        ("1002", ("name",)),
        ("1003", ("annual_volume",)),
        ("1004", ("removed",)),
    }
    assert remaining(db_session) == 4
    mark_reviewed(db_session, procedure_id=ids[0], user_id=None)
    db_session.commit()
    assert remaining(db_session) == 3
    assert {row.national_id for row in queue(db_session)} == {"1002", "1003", "1004"}
    audit = db_session.execute(
        select(AuditEvent.action, AuditEvent.old_value, AuditEvent.new_value).where(
            AuditEvent.procedure_id == ids[0], AuditEvent.action == "national_review"
        )
    ).all()
    assert audit == [("national_review", "online_status", None)]


def test_unchanged_links_move_to_the_newer_load_and_older_entries_are_dropped(db_session):
    entries = national_entries()
    load(db_session, entries)
    linked_city(db_session)
    newer = load(db_session, three_changed_one_removed(entries))
    # Kept: the 29 of the newer load, and the 4 older entries the flagged links still show.
    stored = db_session.execute(
        select(NationalEntry.load_id, func.count()).group_by(NationalEntry.load_id)
    ).all()
    assert sorted(stored) == [(newer.load.id - 1, 4), (newer.load.id, 29)]
    # The same file again: nothing more is flagged, the 4 flags stay.
    again = load(db_session, three_changed_one_removed(entries))
    assert again.flagged == 4
    assert remaining(db_session) == 4


def test_reviewing_a_removed_entry_removes_the_link(db_session):
    entries = national_entries()
    load(db_session, entries)
    ids = linked_city(db_session)
    load(db_session, three_changed_one_removed(entries))
    assert mark_reviewed(db_session, procedure_id=ids[3], user_id=None) == "removed"
    db_session.commit()
    links = db_session.execute(
        select(NationalLink.national_id).where(NationalLink.procedure_id == ids[3])
    ).all()
    assert links == []


def test_suggestions_put_the_procedures_own_id_first_then_the_closest_names(db_session):
    load(db_session, national_entries())
    division = add_division(db_session, "市民課")
    by_code = add_procedure(db_session, division, "まったく別の名前", code="1007")
    by_name = add_procedure(db_session, division, "テスト手続12の交付申請")
    by_law = add_procedure(db_session, division, "テスト手続の交付申請", legal_basis="テスト法13")
    db_session.commit()
    found = suggest(db_session, [by_code, by_name, by_law])
    assert [(s.national_id, s.exact) for s in found[by_code.id]][:1] == [("1007", True)]
    assert found[by_name.id][0].national_id == "1012"
    assert found[by_name.id][0].score == 100.0
    assert found[by_law.id][0].national_id == "1013"


def test_a_rejected_suggestion_is_not_suggested_again(db_session):
    load(db_session, national_entries())
    division = add_division(db_session, "市民課")
    procedure = add_procedure(db_session, division, "テスト手続12の交付申請")
    db_session.commit()
    reject_suggestion(db_session, procedure_id=procedure.id, national_id="1012", user_id=None)
    db_session.commit()
    found = suggest(db_session, [procedure])
    assert "1012" not in [s.national_id for s in found[procedure.id]]


def test_procedures_imported_from_the_national_file_link_by_their_own_id(db_session):
    load(db_session, national_entries())
    division = add_division(db_session, "市民課")
    for i in (1, 2, 3):
        add_procedure(db_session, division, f"手続{i}", code=str(1000 + i))
    add_procedure(db_session, division, "市独自の手続", code="C-1")
    db_session.commit()
    assert link_exact(db_session, user_id=None) == 3
    db_session.commit()
    links = db_session.execute(
        select(NationalLink.national_id).where(NationalLink.status == MatchStatus.confirmed)
    ).scalars()
    assert sorted(links) == ["1001", "1002", "1003"]
    audited = db_session.execute(
        select(func.count()).where(AuditEvent.action == "national_link")
    ).scalar_one()
    assert audited == 3
    assert link_exact(db_session, user_id=None) == 0


# --- pages ----------------------------------------------------------------------------------


def upload_reference(client, content: bytes, name: str = "national.xlsx"):
    token = csrf_token(client, "/national")
    return client.post(
        "/national/load",
        data={"csrf_token": token, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


@pytest.fixture
def office(client, db_session):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    return client


def test_the_whole_scenario_through_the_pages_leaves_three_to_review(office, db_session):
    entries = national_entries()
    assert upload_reference(office, national_workbook(entries)).status_code == 302
    ids = linked_city(db_session)
    response = upload_reference(office, national_workbook(three_changed_one_removed(entries)))
    assert response.headers["Location"].endswith("/national/review")
    page = office.get("/national/review").get_data(as_text=True)
    assert "確認が残っている手続：4件" in page
    review = office.get(f"/national/review/{ids[1]}").get_data(as_text=True)
    # Old national, new national and the city's own name, the changed row marked.
    assert re.search(
        r'<tr class="changed">\s*<th scope="row">手続名 <span class="badge badge-warn">変更</span>'
        r"</th>\s*<td>テスト手続2の交付申請</td>\s*<td>テスト手続2の交付申請\(改称\)</td>\s*"
        r"<td>テスト手続2の交付申請</td>",
        review,
    )
    token = csrf_token(office, f"/national/review/{ids[1]}")
    response = office.post(f"/national/review/{ids[1]}", data={"csrf_token": token})
    assert response.status_code == 302
    page = office.get("/national/review").get_data(as_text=True)
    assert "確認が残っている手続：3件" in page
    assert "国の棚卸結果 (3)" in page  # the navigation's count


def test_a_file_without_national_ids_is_refused_in_english_and_nothing_changes(office, db_session):
    upload_reference(office, national_workbook(national_entries()))
    office.get("/lang/en")
    wrong = io.BytesIO()
    workbook = Workbook()
    workbook.active.append(["課名", "手続名", "年間件数"])
    workbook.active.append(["市民課", "住民票の写しの交付", 1200])
    workbook.save(wrong)
    response = upload_reference(office, wrong.getvalue(), "city.xlsx")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The file was not loaded; nothing changed." in page
    assert "No column of this file is a national procedure ID (手続ID)." in page
    loads = db_session.execute(select(func.count()).select_from(NationalLoad)).scalar_one()
    entries = db_session.execute(select(func.count()).select_from(NationalEntry)).scalar_one()
    assert (loads, entries) == (1, 30)


def test_a_file_that_is_no_spreadsheet_is_refused_in_japanese(office, db_session):
    response = upload_reference(office, b"\x00\x01 not a workbook", "national.xlsx")
    assert response.status_code == 400
    assert "ファイルは読み込まれず、何も変更されていません。" in response.get_data(as_text=True)
    assert db_session.execute(select(func.count()).select_from(NationalLoad)).scalar_one() == 0


def test_linking_on_the_page_confirms_rejects_and_refuses_an_unknown_id(office, db_session):
    upload_reference(office, national_workbook(national_entries()))
    division = add_division(db_session, "市民課")
    procedure = add_procedure(db_session, division, "テスト手続12の交付申請")
    page = office.get("/national/links").get_data(as_text=True)
    assert "<strong>1012</strong> テスト手続12の交付申請" in page
    token = csrf_token(office, "/national/links")
    office.post(
        f"/national/links/{procedure.id}/confirm", data={"csrf_token": token, "national_id": "9999"}
    )
    assert "9999 は読み込まれている国の棚卸結果の手続IDではない" in office.get(
        "/national/links"
    ).get_data(as_text=True)
    office.post(
        f"/national/links/{procedure.id}/confirm", data={"csrf_token": token, "national_id": "1012"}
    )
    links = db_session.execute(
        select(NationalLink.national_id, NationalLink.status, NationalLink.user_id)
    ).all()
    assert [(link[0], link[1]) for link in links] == [("1012", MatchStatus.confirmed)]
    history = db_session.execute(
        select(AuditEvent.action, AuditEvent.new_value).where(
            AuditEvent.procedure_id == procedure.id
        )
    ).all()
    assert history == [("national_link", "1012")]


@pytest.mark.parametrize("role", [Role.division, Role.viewer])
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/national"),
        ("get", "/national/links"),
        ("get", "/national/review"),
        ("get", "/national/review/1"),
        ("post", "/national/load"),
        ("post", "/national/links/exact"),
        ("post", "/national/links/1/confirm"),
        ("post", "/national/review/1"),
    ],
)
def test_only_the_dx_office_and_admin_load_link_and_review(client, db_session, role, method, url):
    division = add_division(db_session, "市民課")
    add_procedure(db_session, division, "住民票の写しの交付")
    add_user(db_session, "someone", role, division="市民課" if role == Role.division else None)
    login(client, "someone")
    # A valid token (the sign-out form's): the role, not the token, refuses the request.
    token = csrf_token(client, "/procedures")
    data = {"csrf_token": token, "national_id": "1001"} if method == "post" else None
    assert getattr(client, method)(url, data=data).status_code == 403
    assert "/national" not in client.get("/procedures").get_data(as_text=True)


# --- command line ---------------------------------------------------------------------------


def test_the_command_loads_a_reference_and_says_what_it_flagged(runner, db_session, tmp_path):
    entries = national_entries()
    first = tmp_path / "national.xlsx"
    first.write_bytes(national_workbook(entries))
    result = runner.invoke(args=["load-national-reference", str(first)])
    assert result.exit_code == 0, result.output
    assert "Loaded 30 national procedures from national.xlsx" in result.output
    linked_city(db_session)
    newer = tmp_path / "national-newer.xlsx"
    newer.write_bytes(national_workbook(three_changed_one_removed(entries)))
    result = runner.invoke(args=["load-national-reference", str(newer)])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("Flagged for review: 4.")


def test_the_command_exits_1_with_the_reason_when_nothing_can_be_loaded(runner, tmp_path):
    city = tmp_path / "city.csv"
    city.write_text("課名,手続名\n市民課,住民票の写しの交付\n", encoding="utf-8")
    result = runner.invoke(args=["load-national-reference", str(city)])
    assert result.exit_code == 1
    assert "refused: no column of the file is a national procedure ID (手続ID)" in result.output


def test_a_procedure_page_shows_its_national_id_and_the_change_to_review(client, db_session):
    entries = national_entries()
    load(db_session, entries)
    ids = linked_city(db_session)
    unlinked = add_procedure(db_session, add_division(db_session, "税務課"), "市独自の手続")
    load(db_session, three_changed_one_removed(entries), "national-newer.xlsx")
    add_user(db_session, "office", Role.dx_office)
    add_user(db_session, "reader", Role.viewer)
    login(client, "office")
    flagged = client.get(f"/procedures/{ids[0]}").get_data(as_text=True)
    assert re.search(
        rf'<dd id="national-id">1001 <a class="badge badge-warn" href="/national/review/{ids[0]}">'
        r"国の内容が変わりました：確認する</a></dd>",
        flagged,
    )
    quiet = client.get(f"/procedures/{ids[10]}").get_data(as_text=True)
    assert '<dd id="national-id">1011</dd>' in quiet
    alone = client.get(f"/procedures/{unlinked.id}").get_data(as_text=True)
    sentence = 'まだ対応付けていません。 <a href="/national/links">対応付ける</a>'
    assert f'<dd id="national-id">{sentence}</dd>' in alone
    client.get("/logout")
    login(client, "reader")
    # A viewer sees the ID, not the review nor the linking, and no row where there is no link.
    seen = client.get(f"/procedures/{ids[0]}").get_data(as_text=True)
    assert '<dd id="national-id">1001</dd>' in seen
    assert 'id="national-id"' not in client.get(f"/procedures/{unlinked.id}").get_data(as_text=True)
