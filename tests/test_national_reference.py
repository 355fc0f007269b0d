"""The national inventory as a reference: load, link, flag what a newer load changed, review."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from procedures.models import AuditEvent, MatchStatus, NationalEntry, NationalLink, Role
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
    assert audit == [("national_review", "online_status", "1001")]


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
    by_law = add_procedure(
        db_session, division, "テスト手続の交付申請", legal_basis="テスト法13"
    )
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
