"""Importing through the web: preview, commit, audit, refusals, division limits."""

import io
import re

from openpyxl import Workbook
from sqlmodel import func, select

from procedures.models import AuditEvent, ImportBatch, Lifecycle, Procedure, Role
from tests.conftest import add_division, add_user, csrf_token, login


def workbook_bytes(rows, headers=("課名", "手続名", "年間件数")) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, content: bytes, name="inventory.xlsx", division=None):
    token = csrf_token(client, "/imports/new")
    data = {"csrf_token": token, "file": (io.BytesIO(content), name)}
    if division is not None:
        data["division"] = division
    return client.post("/imports/new", data=data, content_type="multipart/form-data")


def commit(client, location: str):
    token = csrf_token(client, location)
    return client.post(f"{location}/commit", data={"csrf_token": token, "scope": "whole"})


def count(db_session, model) -> int:
    return db_session.exec(select(func.count()).select_from(model)).one()


def test_preview_writes_no_procedure_and_commit_writes_them_with_audit(client, db_session):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    content = workbook_bytes([("市民課", "転入届", "3,100"), ("市民課", "転出届", "約2000")])
    response = upload(client, content)
    assert response.status_code == 302
    location = response.headers["Location"]
    preview = client.get(location).get_data(as_text=True)
    assert "まだ何も書き込まれていません" in preview
    assert count(db_session, Procedure) == 0

    assert commit(client, location).status_code == 302
    page = client.get(location).get_data(as_text=True)
    assert "取り込みました：新規 2件、変更 0件、変更なし 0件、未掲載 0件。" in page
    procedures = db_session.exec(select(Procedure).order_by(Procedure.name)).all()
    assert [(p.name, p.annual_volume, p.volume_is_estimate) for p in procedures] == [
        ("転入届", 3100, False),
        ("転出届", 2000, True),
    ]
    batch = db_session.exec(select(ImportBatch)).one()
    events = db_session.exec(select(AuditEvent).order_by(AuditEvent.new_value)).all()
    assert [(e.action, e.new_value, e.batch_id) for e in events] == [
        ("create", "転入届", batch.id),
        ("create", "転出届", batch.id),
    ]
    assert batch.content == content
    assert len(batch.sha256) == 64


def test_reimport_reports_changes_field_by_field_and_flags_missing(client, db_session):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    first = upload(
        client, workbook_bytes([("市民課", "転入届", "3100"), ("市民課", "転出届", "2000")])
    )
    commit(client, first.headers["Location"])
    second = upload(client, workbook_bytes([("市民課", "転入届", "3300")]))
    preview = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "年間件数: 3,100 → 3,300" in preview
    assert "転出届" in preview
    commit(client, second.headers["Location"])
    moved = db_session.exec(select(Procedure).where(Procedure.name == "転出届")).one()
    kept = db_session.exec(select(Procedure).where(Procedure.name == "転入届")).one()
    assert (moved.lifecycle, kept.annual_volume, kept.version) == (Lifecycle.missing, 3300, 2)
    change = db_session.exec(
        select(AuditEvent).where(AuditEvent.procedure_id == kept.id, AuditEvent.action == "import")
    ).one()
    assert (change.field, change.old_value, change.new_value) == ("annual_volume", "3100", "3300")


def test_same_file_twice_changes_nothing(client, db_session):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    content = workbook_bytes([("市民課", "転入届", "3100")])
    commit(client, upload(client, content).headers["Location"])
    again = upload(client, content)
    assert again.status_code == 302
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "このファイルは以前に取り込み済みです" in page
    assert count(db_session, ImportBatch) == 1
    assert count(db_session, Procedure) == 1


def test_corrupt_file_is_refused_with_a_message_and_nothing_is_kept(client, db_session):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    response = upload(client, b"\x00\x01garbage" * 50, name="inventory.xlsx")
    assert response.status_code == 400
    # Said at the file's field, and in the summary above the form that links to it.
    page = response.get_data(as_text=True)
    assert '<a href="#file">' in page and '<p class="field-error" id="file-error">' in page
    assert count(db_session, ImportBatch) == 0


def test_file_over_the_upload_limit_is_refused_in_japanese(app, client, db_session):
    # Small limits keep the body under the size the test client spools to a temporary file.
    app.config.update(UPLOAD_MAX_BYTES=100 * 1024, MAX_CONTENT_LENGTH=150 * 1024)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    response = upload(client, b"x" * (200 * 1024), name="big.csv")
    assert response.status_code == 413
    assert "ファイルが0.1 MBを超えています" in response.get_data(as_text=True)
    assert count(db_session, ImportBatch) == 0


def test_division_user_imports_only_rows_of_its_own_division(client, db_session):
    add_division(db_session, "市民課")
    add_user(db_session, "shimin", Role.division, division="市民課")
    login(client, "shimin")
    content = workbook_bytes(
        [("市民課", "転入届", "3100"), ("子育て給付課", "児童手当の認定請求", "900")]
    )
    # A division user's form has no division field: it cannot choose another one.
    assert upload(client, content, division="子育て給付課").status_code == 400
    response = upload(client, content)
    location = response.headers["Location"]
    preview = client.get(location).get_data(as_text=True)
    assert "取り込めるのは「市民課」の手続だけです" in preview
    commit(client, location)
    names = db_session.exec(select(Procedure.name)).all()
    assert names == ["転入届"]


def test_rows_without_a_division_take_the_chosen_one(client, db_session):
    add_division(db_session, "保育課", "子ども青少年部")
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    content = workbook_bytes([("保育所等の利用申込", "1200")], headers=("手続名", "年間件数"))
    commit(client, upload(client, content, division="保育課").headers["Location"])
    procedure = db_session.exec(select(Procedure)).one()
    assert (procedure.name, procedure.annual_volume) == ("保育所等の利用申込", 1200)


def test_division_user_cannot_open_someone_elses_import(app, db_session):
    add_division(db_session, "市民課")
    add_user(db_session, "office", Role.dx_office)
    add_user(db_session, "shimin", Role.division, division="市民課")
    office, shimin = app.test_client(), app.test_client()
    login(office, "office")
    login(shimin, "shimin")
    location = upload(office, workbook_bytes([("市民課", "転入届", "1")])).headers["Location"]
    assert shimin.get(location).status_code == 403
    token = csrf_token(shimin, "/imports/new")
    assert (
        shimin.post(f"{location}/commit", data={"csrf_token": token, "scope": "whole"}).status_code
        == 403
    )
    assert count(db_session, Procedure) == 0


def mapping_form_data(client, location: str, choices: dict[str, str]) -> dict[str, str]:
    """Read the preview's mapping form and change the columns named in choices."""
    page = client.get(location).get_data(as_text=True)
    data = {"csrf_token": csrf_token(client, location)}
    for number, header in re.findall(r'name="header-(\d+)" value="([^"]*)"', page):
        data[f"header-{number}"] = header
        selected = re.search(
            rf'<select id="field-{number}" name="field-{number}">(.*?)</select>', page, re.S
        )
        current = re.search(r'<option value="([^"]*)" selected>', selected.group(1))
        data[f"field-{number}"] = choices.get(header, current.group(1) if current else "")
    return data


def test_a_changed_mapping_is_used_and_remembered_for_the_division(client, db_session):
    add_division(db_session, "市民課")
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    headers = ("手続名", "ボリューム")
    first = upload(client, workbook_bytes([("転入届", "3100")], headers), division="市民課")
    location = first.headers["Location"]
    assert "追加情報として保存" in client.get(location).get_data(as_text=True)

    data = mapping_form_data(client, location, {"ボリューム": "annual_volume"})
    assert client.post(f"{location}/mapping", data=data).status_code == 302
    assert commit(client, location).status_code == 302
    assert db_session.exec(select(Procedure.annual_volume)).one() == 3100

    second = upload(client, workbook_bytes([("転入届", "3300")], headers), division="市民課")
    preview = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "前回確定した列の読み取りを適用しました" in preview
    assert "年間件数: 3,100 → 3,300" in preview


def test_mapping_to_an_unknown_field_is_refused(client, db_session):
    add_division(db_session, "市民課")
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    location = upload(client, workbook_bytes([("市民課", "転入届", "1")])).headers["Location"]
    data = mapping_form_data(client, location, {"年間件数": "password_hash"})
    assert client.post(f"{location}/mapping", data=data).status_code == 400
    assert db_session.exec(select(ImportBatch.mapping)).one() is None


def test_import_reports_progress_up_to_every_procedure_written(app, db_session):
    from procedures.imports.service import import_file

    content = workbook_bytes([("市民課", f"手続{number}", "1") for number in range(1, 2502)])
    seen = []
    with app.app_context():
        import_file(
            db_session, content=content, file_name="big.xlsx", progress=lambda *a: seen.append(a)
        )
    assert seen == [(1000, 2501), (2000, 2501), (2501, 2501), (2501, 2501), (2501, 2501)]


QUIRKY_HEADERS = (
    "課名",
    "手続名",
    "手続類型",
    "年間件数",
    "手数料",
    "阻害要因",
    "法令番号",
    "経由機関",
)
QUIRKY_ROWS = [
    # kind 3 implies a visit; a fee phrase fills fee_payment; an extra column left blank
    ("市民課", " 閲覧 ", "3 縦覧等", "約500", "有（200円）", "", "昭和二十二年法律第百二十号", ""),
    # a name an export defused with a quote; blockers; both extra columns filled
    (
        "市民課",
        "'=転入届",
        "1 申請等",
        "1,234",
        "無",
        "1 制度改正が必要",
        "令和元年法律第1号",
        "1 国",
    ),
    # nothing but the name
    ("市民課", "転出届", "", "", "", "", "", ""),
]


def _stored(db_session, division: str) -> list[dict]:
    from procedures.models import Division

    division_id = db_session.exec(select(Division.id).where(Division.name == division)).one()
    skip = {"id", "division_id", "created_at", "updated_at", "created_batch_id"}
    table = Procedure.__table__
    rows = db_session.execute(
        select(table).where(table.c.division_id == division_id).order_by(table.c.id)
    ).mappings()
    return [{name: value for name, value in row.items() if name not in skip} for row in rows]


def test_rows_of_several_sheets_are_stored_exactly_as_rows_of_one_sheet(app, db_session):
    """New procedures are written from the parser's columns when they come from one sheet,
    from each row's values otherwise; both must store the same thing."""
    from procedures.imports.service import import_file

    def rows_for(division):
        return [(division, *row[1:]) for row in QUIRKY_ROWS]

    one_sheet = workbook_bytes(rows_for("甲課"), headers=QUIRKY_HEADERS)
    workbook = Workbook()
    workbook.active.append(list(QUIRKY_HEADERS))
    workbook.active.append(list(rows_for("乙課")[0]))
    second = workbook.create_sheet("続き")
    second.append(list(QUIRKY_HEADERS))
    for row in rows_for("乙課")[1:]:
        second.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    with app.app_context():
        for content in (one_sheet, buffer.getvalue()):
            outcome = import_file(db_session, content=content, file_name="quirks.xlsx")
            assert (outcome.created, outcome.errors) == (3, [])
        db_session.commit()
    stored = _stored(db_session, "甲課")
    assert stored == _stored(db_session, "乙課")
    assert [
        (p["name"], p["visit_required"], p["fee_payment"], p["annual_volume"], p["blockers"])
        for p in stored
    ] == [
        ("閲覧", True, "200円", 500, ""),
        ("=転入届", None, None, 1234, ",law_change,"),
        ("転出届", None, None, None, ""),
    ]
    from procedures.catalogue.extras import extra_attributes
    from procedures.models import ExtraHeader

    assert [extra_attributes(db_session, p["extra"]) for p in stored] == [
        [("法令番号", "昭和二十二年法律第百二十号")],
        [("法令番号", "令和元年法律第1号"), ("経由機関", "1 国")],
        [],
    ]
    # each header is written once, for both imports, and named by its id in the rows
    headers = dict(db_session.execute(select(ExtraHeader.text, ExtraHeader.id)).all())
    assert sorted(headers) == ["法令番号", "経由機関"]
    assert stored[1]["extra"] == (
        f'{{"{headers["法令番号"]}":"令和元年法律第1号","{headers["経由機関"]}":"1 国"}}'
    )


def _import_four_as_a_large_first_import(app, db_session, monkeypatch) -> bytes:
    """Import four procedures into an empty table, as if they were over REBUILD_MIN_ROWS."""
    from procedures.core import bulk
    from procedures.imports.service import import_file

    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 3)
    content = workbook_bytes([("市民課", f"手続{number}", "1") for number in range(1, 5)])
    with app.app_context():
        outcome = import_file(db_session, content=content, file_name="four.xlsx")
    assert outcome.created == 4
    return content


def _procedure_indexes(connection) -> list[tuple[str, str]]:
    from procedures.core.bulk import table_indexes

    return table_indexes(connection, Procedure.__table__)


def test_a_large_import_into_a_small_table_builds_the_indexes_again_as_they_were(
    app, db_session, monkeypatch
):

    from procedures.imports.service import import_file

    before = _procedure_indexes(db_session.connection())
    assert len(before) == 8
    content = _import_four_as_a_large_first_import(app, db_session, monkeypatch)
    assert _procedure_indexes(db_session.connection()) == before
    db_session.commit()
    # Looked up through the rebuilt (division, name key) index: the same file changes nothing.
    with app.app_context():
        again = import_file(db_session, content=content, file_name="four-again.xlsx")
    assert (again.created, again.unchanged) == (0, 4)


def test_indexes_dropped_for_an_insert_that_fails_are_back_before_the_rollback(app, db_session):
    import pytest

    from procedures.core.bulk import indexes_built_after
    from procedures.models import Procedure

    connection = db_session.connection()
    before = _procedure_indexes(connection)
    with (
        pytest.raises(RuntimeError),
        indexes_built_after(connection, Procedure.__table__, 10_000),
    ):
        assert _procedure_indexes(connection) == []
        raise RuntimeError("the insert failed")
    assert _procedure_indexes(connection) == before


def test_indexes_stay_for_a_large_insert_into_a_table_that_holds_procedures_on_postgresql(
    app, db_session
):
    """On PostgreSQL dropping an index would lock out the other clerks' pages until the
    commit: it is done only into an empty table. SQLite's readers keep their snapshot."""
    from procedures.core.bulk import indexes_built_after
    from procedures.models import Procedure
    from tests.conftest import ON_POSTGRES, add_division, add_procedure

    add_procedure(db_session, add_division(db_session, "市民課"), "転入届")
    connection = db_session.connection()
    before = _procedure_indexes(connection)
    assert len(before) == 8
    with indexes_built_after(connection, Procedure.__table__, 10_000):
        assert _procedure_indexes(connection) == (before if ON_POSTGRES else [])
    assert _procedure_indexes(connection) == before


def test_a_first_import_numbers_divisions_and_procedures_in_the_order_of_the_file(app, db_session):
    from procedures.imports.service import import_file
    from procedures.models import Division

    rows = [
        ("道路課", "道路占用許可"),
        ("市民課", "転入届"),
        ("道路課", "境界確定"),
        ("保育課", "入所申込"),
        ("市民課", "転出届"),
    ]
    content = workbook_bytes([(division, name, "1") for division, name in rows])
    with app.app_context():
        import_file(db_session, content=content, file_name="order.xlsx")
    divisions = db_session.exec(select(Division.name).order_by(Division.id)).all()
    assert divisions == ["道路課", "市民課", "保育課"]
    names = db_session.exec(select(Procedure.name).order_by(Procedure.id)).all()
    assert names == [name for _division, name in rows]


def test_values_shared_by_every_row_of_a_batch_are_stored_as_when_they_differ(app, db_session):
    """SQLite writes a column that holds one value in every row of a batch into the INSERT
    itself; a quote, a line break, a yes/no and a blank must come out as they do when bound."""
    from procedures.imports.service import import_file

    headers = ("課名", "手続名", "根拠法令", "手数料", "押印", "添付書類", "年間件数")
    alike = [
        ("", f"届出{n}", "市長が定める'特例'規則", "無", "要", "住民票\n印鑑証明書", "")
        for n in range(3)
    ]
    different = ("", "届出9", "別の規則", "有", "不要", "なし", "12")
    with app.app_context():
        for division, rows in (("甲課", alike), ("乙課", [*alike, different]), ("丙課", alike[:1])):
            filled = [(division, *row[1:]) for row in rows]
            content = workbook_bytes(filled, headers=headers)
            outcome = import_file(db_session, content=content, file_name=f"{division}.xlsx")
            assert (outcome.created, outcome.errors) == (len(rows), [])
        db_session.commit()
    alike_stored = _stored(db_session, "甲課")
    assert [
        (p["legal_basis"], p["fee_required"], p["seal_required"], p["attachments"])
        for p in alike_stored
    ] == [("市長が定める'特例'規則", False, True, "住民票\n印鑑証明書")] * 3
    assert {p["annual_volume"] for p in alike_stored} == {None}
    assert _stored(db_session, "乙課")[:3] == alike_stored
    assert _stored(db_session, "丙課") == alike_stored[:1]


def _foreign_keys(connection) -> list[tuple[str, str]]:
    from sqlalchemy import text

    return connection.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' "
            "AND conrelid IN (to_regclass('procedure'), to_regclass('auditevent')) "
            "ORDER BY conname"
        )
    ).all()


def test_a_first_large_import_on_postgresql_checks_references_once_and_keeps_the_constraints(
    app, db_session, monkeypatch
):
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from tests.conftest import ON_POSTGRES

    if not ON_POSTGRES:
        pytest.skip("PostgreSQL checks references with a trigger per row; SQLite does not")
    before = _foreign_keys(db_session.connection())
    assert len(before) == 6
    _import_four_as_a_large_first_import(app, db_session, monkeypatch)
    assert _foreign_keys(db_session.connection()) == before
    db_session.commit()
    # the constraints hold again: a procedure of a division that does not exist is refused
    with pytest.raises(IntegrityError):
        db_session.execute(
            text(
                "INSERT INTO procedure (name, name_key, division_id, verdict, blockers, "
                "lifecycle, version, volume_is_estimate, mynaportal_eligible, created_at, "
                "updated_at) VALUES ('x', 'x', 999999, 'undecided', '', 'active', 1, false, "
                "false, now(), now())"
            )
        )
    db_session.rollback()


def test_foreign_keys_dropped_for_a_load_that_fails_are_back_after_the_rollback(app, db_session):
    import pytest

    from procedures.core.bulk import foreign_keys_checked_after
    from procedures.models import AuditEvent, Procedure
    from tests.conftest import ON_POSTGRES

    if not ON_POSTGRES:
        pytest.skip("PostgreSQL checks references with a trigger per row; SQLite does not")
    connection = db_session.connection()
    before = _foreign_keys(connection)
    tables = [Procedure.__table__, AuditEvent.__table__]
    with (
        pytest.raises(RuntimeError),
        foreign_keys_checked_after(connection, Procedure.__table__, tables, 10_000),
    ):
        assert _foreign_keys(connection) == []
        raise RuntimeError("the load failed")
    db_session.rollback()
    assert _foreign_keys(db_session.connection()) == before
