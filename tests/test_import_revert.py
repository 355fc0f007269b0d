"""Reverting a committed import: the inventory exactly as before, or a refusal naming why."""

import json

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from procedures.catalogue.missing import Decision, resolve_missing
from procedures.catalogue.procedures import update_procedure
from procedures.imports.revert import RevertRefused, revert_import
from procedures.imports.service import import_file
from procedures.models import (
    AuditEvent,
    ImportBatch,
    Lifecycle,
    NationalLink,
    PlanPin,
    Procedure,
    Role,
    User,
)
from tests.conftest import add_division, add_user, csrf_token, login
from tests.test_imports import workbook_bytes

HEADERS = ("課名", "手続コード", "手続名", "年間件数", "根拠法令", "押印", "備考")

#: The first inventory of 市民課: six procedures.
FIRST = [
    ("市民課", "C1", "転入届", "3100", "住民基本台帳法", "要", "窓口のみ"),
    ("市民課", "C2", "転出届", "2000", "住民基本台帳法", "不要", ""),
    ("市民課", "C3", "印鑑登録申請", "500", "印鑑条例", "要", ""),
    ("市民課", "C4", "住民票の写しの交付請求", "9000", "住民基本台帳法", "不要", ""),
    ("市民課", "C5", "戸籍謄本の交付請求", "800", "戸籍法", "不要", ""),
    ("市民課", "C6", "改葬許可申請", "30", "墓地埋葬法", "要", ""),
]

#: The import that is reverted: changes C1, C2 (renamed), C5 (retired) and C6 (missing, so
#: active again); leaves C3 alone; leaves C4 out (marked missing); creates three, one of them
#: in a division that did not exist.
SECOND = [
    ("市民課", "C1", "転入届", "3300", "住民基本台帳法", "要", "オンラインも可"),
    ("市民課", "C2", "転出届(郵送可)", "2000", "住民基本台帳法", "要", ""),
    ("市民課", "C3", "印鑑登録申請", "500", "印鑑条例", "要", ""),
    ("市民課", "C5", "戸籍謄本の交付請求", "900", "戸籍法", "不要", ""),
    ("市民課", "C6", "改葬許可申請", "30", "墓地埋葬法", "要", ""),
    ("市民課", "N1", "臨時窓口の予約", "10", "", "", ""),
    ("市民課", "N2", "証明書の郵送請求", "20", "", "不要", ""),
    ("環境課", "N3", "犬の登録", "700", "狂犬病予防法", "", ""),
]


def import_rows(session: Session, rows, name: str, user_id: int | None = None) -> int:
    """Import rows as a workbook through the service, commit, and return the batch id."""
    outcome = import_file(
        session, content=workbook_bytes(rows, HEADERS), file_name=name, user_id=user_id
    )
    session.commit()
    assert outcome.committed, outcome.errors
    assert outcome.batch_id is not None
    return outcome.batch_id


def snapshot(session: Session) -> dict[int, dict]:
    """Every column of every procedure, by id."""
    table = Procedure.__table__
    rows = session.execute(select(table).order_by(table.c.id))
    return {row.id: dict(row._mapping) for row in rows}


def without_counters(rows: dict[int, dict]) -> dict[int, dict]:
    # A revert is a write like any other: version and updated_at move forward (an edit page
    # open on the import's version must not save over the revert), everything else goes back.
    return {
        ident: {name: value for name, value in row.items() if name not in ("version", "updated_at")}
        for ident, row in rows.items()
    }


def ids_by_code(session: Session) -> dict[str, int]:
    table = Procedure.__table__
    return dict(session.execute(select(table.c.code, table.c.id)).all())


@pytest.fixture
def before_second(db_session):
    """The inventory the second import meets: imported, one missing, one retired."""
    first = import_rows(db_session, FIRST, "first.xlsx")
    # A second file without C5 and C6 flags them missing; C5 is then retired by a person.
    import_rows(db_session, FIRST[:4], "first-again.xlsx")
    ids = ids_by_code(db_session)
    resolve_missing(
        db_session,
        procedure_id=ids["C5"],
        decision=Decision.retire,
        expected_version=2,
        user_id=None,
    )
    db_session.commit()
    return first, ids


def test_revert_restores_every_column_of_every_procedure(db_session, before_second):
    _first, ids = before_second
    before = snapshot(db_session)
    flagged_by = {ident: row["missing_batch_id"] for ident, row in before.items()}
    assert flagged_by[ids["C5"]] is not None and before[ids["C5"]]["lifecycle"] == "retired"
    assert before[ids["C6"]]["lifecycle"] == "missing"

    second = import_rows(db_session, SECOND, "second.xlsx")
    after_import = snapshot(db_session)
    ids = ids_by_code(db_session)
    # The import did change what the revert must put back.
    assert after_import[ids["C1"]]["annual_volume"] == 3300
    assert after_import[ids["C2"]]["name"] == "転出届(郵送可)"
    assert after_import[ids["C5"]]["missing_batch_id"] is None
    assert after_import[ids["C6"]]["lifecycle"] == "active"
    assert after_import[ids["C4"]]["lifecycle"] == "missing"
    assert {"N1", "N2", "N3"} <= set(ids)
    undo = json.loads(db_session.get(ImportBatch, second).undo)
    assert {item["id"] for item in undo["updated"]} == {ids[c] for c in ("C1", "C2", "C5", "C6")}
    assert [item["id"] for item in undo["missing"]] == [ids["C4"]]

    outcome = revert_import(db_session, batch_id=second, user_id=None)
    db_session.commit()

    assert (outcome.restored, outcome.reactivated, outcome.deleted) == (4, 1, 3)
    after = snapshot(db_session)
    assert without_counters(after) == without_counters(before)
    for ident in (ids["C1"], ids["C2"], ids["C4"], ids["C5"], ids["C6"]):
        assert after[ident]["version"] == after_import[ident]["version"] + 1
    assert after[ids["C3"]] == before[ids["C3"]]  # untouched by the import: not even its version
    batch = db_session.get(ImportBatch, second)
    db_session.refresh(batch)
    assert batch.status == "reverted" and batch.reverted_at is not None


def test_revert_is_audited_and_the_created_procedures_leave_no_trace(db_session, before_second):
    second = import_rows(db_session, SECOND, "second.xlsx")
    ids = ids_by_code(db_session)
    revert_import(db_session, batch_id=second, user_id=None)
    db_session.commit()
    events = db_session.execute(
        select(
            AuditEvent.procedure_id, AuditEvent.field, AuditEvent.old_value, AuditEvent.new_value
        )
        .where(AuditEvent.action == "revert", AuditEvent.batch_id == second)
        .order_by(AuditEvent.procedure_id, AuditEvent.field)
    ).all()
    assert (ids["C1"], "annual_volume", "3300", "3100") in events
    assert (ids["C1"], "notes", "オンラインも可", "窓口のみ") in events
    assert (ids["C2"], "name", "転出届(郵送可)", "転出届") in events
    assert (ids["C4"], "lifecycle", "missing", "active") in events
    assert (ids["C6"], "lifecycle", "active", "missing") in events
    assert not [event for event in events if event[1] in ("name_key", "missing_batch_id")]
    names = set(db_session.execute(select(Procedure.name)).scalars())
    assert not names & {"臨時窓口の予約", "証明書の郵送請求", "犬の登録"}
    orphans = db_session.execute(
        select(AuditEvent.id).where(AuditEvent.procedure_id.not_in(select(Procedure.id)))
    ).all()
    assert orphans == []


def test_the_same_file_can_be_imported_again_after_its_revert(db_session, before_second):
    second = import_rows(db_session, SECOND, "second.xlsx")
    revert_import(db_session, batch_id=second, user_id=None)
    db_session.commit()
    again = import_rows(db_session, SECOND, "second.xlsx")
    assert again != second


def test_revert_is_refused_when_a_later_edit_touched_a_procedure(db_session, before_second):
    second = import_rows(db_session, SECOND, "second.xlsx")
    ids = ids_by_code(db_session)
    version = db_session.get(Procedure, ids["C1"]).version
    update_procedure(
        db_session,
        procedure_id=ids["C1"],
        changes={"notes": "電子申請を準備中"},
        expected_version=version,
        user_id=None,
    )
    db_session.commit()
    before = snapshot(db_session)

    with pytest.raises(RevertRefused) as refused:
        revert_import(db_session, batch_id=second, user_id=None)
    db_session.rollback()

    assert refused.value.procedures == [(ids["C1"], "転入届")]
    assert "転入届" in str(refused.value) and "nothing was changed" in str(refused.value)
    assert snapshot(db_session) == before
    assert db_session.get(ImportBatch, second).status == "committed"


@pytest.mark.parametrize("touch", ["version", "pin", "missing_kept", "national_link"])
def test_revert_is_refused_when_later_work_would_be_lost(db_session, before_second, touch):
    second = import_rows(db_session, SECOND, "second.xlsx")
    ids = ids_by_code(db_session)
    table = Procedure.__table__
    if touch == "version":  # a created procedure saved since (any write bumps its version)
        target, name = ids["N1"], "臨時窓口の予約"
        db_session.execute(
            update(table)
            .where(table.c.id == target)
            .values(verdict="feasible", version=table.c.version + 1)
        )
    elif touch == "national_link":  # a created procedure linked to a national 手続ID
        target, name = ids["N3"], "犬の登録"
        db_session.add(NationalLink(procedure_id=target, national_id="48899"))
    elif touch == "pin":  # a created procedure pinned in the plan by a person
        target, name = ids["N2"], "証明書の郵送請求"
        db_session.add(PlanPin(procedure_id=target, fiscal_year=2027, reason="市長公約"))
    else:  # a procedure the import marked missing, kept by a person
        target, name = ids["C4"], "住民票の写しの交付請求"
        version = db_session.get(Procedure, target).version
        resolve_missing(
            db_session,
            procedure_id=target,
            decision=Decision.keep,
            expected_version=version,
            user_id=None,
        )
    db_session.commit()
    before = snapshot(db_session)

    with pytest.raises(RevertRefused) as refused:
        revert_import(db_session, batch_id=second, user_id=None)
    db_session.rollback()

    assert refused.value.procedures == [(target, name)]
    assert snapshot(db_session) == before


def test_revert_of_an_earlier_import_is_refused_once_a_later_one_changed_its_procedures(
    db_session, before_second
):
    first, _ids = before_second
    import_rows(db_session, SECOND, "second.xlsx")
    with pytest.raises(RevertRefused) as refused:
        revert_import(db_session, batch_id=first, user_id=None)
    db_session.rollback()
    # Created by the first, changed or flagged by the later imports or retired by a person.
    assert {name for _ident, name in refused.value.procedures} >= {"転入届", "転出届(郵送可)"}


# --- the page -----------------------------------------------------------------------------


def batch_ids(db_session) -> list[int]:
    return list(db_session.execute(select(ImportBatch.id).order_by(ImportBatch.id)).scalars())


def page_of_import(db_session, rows, login_name: str) -> str:
    """Import rows as the named user through the service and return the batch's page."""
    # Not through the commit page: it has its own tests, and these are about the revert.
    user_id = db_session.execute(select(User.id).where(User.login == login_name)).scalar_one()
    return f"/imports/{import_rows(db_session, rows, f'{len(rows)}.xlsx', user_id)}"


def revert(client, location: str):
    token = csrf_token(client, location)
    return client.post(f"{location}/revert", data={"csrf_token": token})


def test_dx_office_reverts_from_the_import_page(client, db_session):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    page_of_import(db_session, FIRST[:3], "office")
    changed = [("市民課", "C1", "転入届", "3300", "住民基本台帳法", "要", "窓口のみ")]
    location = page_of_import(db_session, [*changed, *FIRST[1:3], SECOND[5]], "office")
    page = client.get(location).get_data(as_text=True)
    assert "この取り込みを元に戻す" in page

    response = revert(client, location)

    assert response.status_code == 302
    page = client.get(location).get_data(as_text=True)
    assert (
        "を元に戻しました：値を戻した手続 1件、有効に戻した手続 0件、削除した新規の手続 1件。"
        in page
    )
    assert "元に戻し済み" in page and "この取り込みを元に戻す" not in page
    volumes = dict(db_session.execute(select(Procedure.code, Procedure.annual_volume)).all())
    assert volumes == {"C1": 3100, "C2": 2000, "C3": 500}
    assert "元に戻し済み" in client.get("/imports/").get_data(as_text=True)
    # Once more: said, not an error.
    again = revert(client, location)
    assert again.status_code == 302
    assert "すでに元に戻されています" in client.get(location).get_data(as_text=True)


def test_division_clerk_reverts_their_own_import_and_no_other_division_may(app, db_session):
    add_division(db_session, "市民課")
    add_division(db_session, "環境課")
    add_user(db_session, "shimin", Role.division, division="市民課")
    add_user(db_session, "kankyo", Role.division, division="環境課")
    shimin, kankyo = app.test_client(), app.test_client()
    login(shimin, "shimin")
    login(kankyo, "kankyo")
    location = page_of_import(db_session, FIRST[:2], "shimin")

    token = csrf_token(kankyo, "/imports/new")
    assert kankyo.post(f"{location}/revert", data={"csrf_token": token}).status_code == 403
    assert len(db_session.execute(select(Procedure.id)).all()) == 2

    assert revert(shimin, location).status_code == 302
    assert db_session.execute(select(Procedure.id)).all() == []
    batch = db_session.get(ImportBatch, batch_ids(db_session)[0])
    db_session.refresh(batch)
    assert batch.status == "reverted" and batch.reverted_by is not None


def test_page_refusal_names_ten_changed_procedures_counts_the_rest_and_changes_nothing(
    client, db_session
):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    names = [f"手続{number:02d}" for number in range(12)]
    first = [("市民課", f"K{n}", name, "1", "", "", "") for n, name in enumerate(names)]
    page_of_import(db_session, first, "office")
    second = [("市民課", f"K{n}", name, "2", "", "", "") for n, name in enumerate(names)]
    location = page_of_import(db_session, second, "office")
    table = Procedure.__table__
    db_session.execute(update(table).values(version=table.c.version + 1))  # saved since
    db_session.commit()
    before = snapshot(db_session)

    assert revert(client, location).status_code == 302

    page = client.get(location).get_data(as_text=True)
    assert "元に戻しませんでした。次の手続はこの取り込みの後に変更されており" in page
    assert " / ".join(names[:10]) in page and "手続10" not in page
    assert "（ほか 2件）" in page and "何も変更していません" in page
    assert snapshot(db_session) == before
    assert db_session.get(ImportBatch, batch_ids(db_session)[1]).status == "committed"


def test_viewer_may_not_revert(client, db_session):
    add_user(db_session, "office", Role.dx_office)
    add_user(db_session, "viewer", Role.viewer)
    location = page_of_import(db_session, FIRST[:1], "office")
    login(client, "viewer")
    token = csrf_token(client, "/procedures")
    assert client.post(f"{location}/revert", data={"csrf_token": token}).status_code == 403
    assert db_session.execute(select(ImportBatch.status)).scalar_one() == "committed"


# --- the command line ---------------------------------------------------------------------


def test_command_line_reverts_and_exits_1_with_the_reason_when_refused(
    runner, db_session, before_second
):
    add_user(db_session, "office", Role.dx_office)
    second = import_rows(db_session, SECOND, "second.xlsx")
    first = batch_ids(db_session)[0]

    refused = runner.invoke(args=["revert-import", str(first)])
    assert refused.exit_code == 1
    assert "refused: procedures were changed after this import" in refused.output
    assert "転入届" in refused.output

    done = runner.invoke(args=["revert-import", str(second), "--user", "office"])
    assert done.exit_code == 0, done.output
    assert "reverted import" in done.output and "3 created ones deleted" in done.output
    batch = db_session.get(ImportBatch, second)
    db_session.refresh(batch)
    assert batch.status == "reverted" and batch.reverted_by is not None

    twice = runner.invoke(args=["revert-import", str(second)])
    assert (twice.exit_code, "already reverted" in twice.output) == (1, True)
    unknown = runner.invoke(args=["revert-import", "999"])
    assert (unknown.exit_code, "no import 999" in unknown.output) == (1, True)
    nobody = runner.invoke(args=["revert-import", str(first), "--user", "nobody"])
    assert nobody.exit_code == 1


def test_a_first_import_records_an_empty_undo(db_session):
    batch_id = import_rows(db_session, FIRST, "first.xlsx")
    undo = json.loads(db_session.get(ImportBatch, batch_id).undo)
    assert undo == {"format": 1, "updated": [], "missing": []}
    assert {row["lifecycle"] for row in snapshot(db_session).values()} == {Lifecycle.active}
