"""An import is refused whole when a procedure it changes was saved after its preview.

Driven through the web as the clerks would: the importer uploads a file and looks at its
preview; a colleague saves one of the procedures it changes (the edit form, an in-place
judgement, a bulk change); the importer confirms. Nothing is written, the page lists the
procedures saved since, and "preview again" compares the stored file with the procedures as
they are now, after which the import lands.
"""

from __future__ import annotations

import io
import json
import re
from concurrent.futures import ThreadPoolExecutor
from html import unescape

import pytest
from openpyxl import Workbook
from sqlmodel import select

from procedures.imports import jobs as import_jobs
from procedures.imports import service as import_service
from procedures.models import AuditEvent, ImportBatch, Lifecycle, Procedure, Role
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login
from tests.test_import_fidelity import form_fields

JSON = {"Accept": "application/json"}
HEADERS = ("課名", "手続コード", "手続名", "備考")

#: What the refusal says, in Japanese (the users' language) and in English.
REFUSED = "取り込んでいません：このプレビューの後に保存された手続があります"
SAVED_SINCE = (
    "この取り込みで変わる手続のうち{count}件が、プレビューの作成後に他の人によって保存され"
    "ました。今取り込むと、その保存を上書きしてしまいます。何も書き込まれていません。"
)
PREVIEW_AGAIN = (
    "ファイルをもう一度プレビューしてください。今の手続と比べ直します。変更を確認してから"
    "取り込んでください。"
)
REFRESHED = "ファイルを今の手続ともう一度比べました。変更を確認してから取り込んでください。"
TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")


def workbook(rows, headers=HEADERS) -> bytes:
    book = Workbook()
    book.active.append(list(headers))
    for row in rows:
        book.active.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


#: The file: the notes of A-1 and A-2 change, A-4 is as stored, A-3 is absent (missing).
FILE_ROWS = [
    ("市民課", "A-1", "転入届", "本人確認書類が必要"),
    ("市民課", "A-2", "転出届", "郵送でも可"),
    ("市民課", "A-4", "転居届", "窓口のみ"),
]


@pytest.fixture
def city(db_session):
    """One division of four procedures, an importer and a colleague who edits."""
    division = add_division(db_session, "市民課")
    ids = {
        "tennyu": add_procedure(db_session, division, "転入届", code="A-1", notes="旧メモ").id,
        "tenshutsu": add_procedure(db_session, division, "転出届", code="A-2", notes=None).id,
        "jumin": add_procedure(db_session, division, "住民票の写しの交付申請", code="A-3").id,
        "tenkyo": add_procedure(db_session, division, "転居届", code="A-4", notes="窓口のみ").id,
    }
    add_user(db_session, "importer", Role.dx_office)
    add_user(db_session, "editor", Role.dx_office)
    db_session.rollback()
    return ids


def signed_in(app, user: str):
    client = app.test_client()
    login(client, user)
    return client


def preview(client, content: bytes) -> str:
    token = csrf_token(client, "/imports/new")
    response = client.post(
        "/imports/new",
        data={"csrf_token": token, "file": (io.BytesIO(content), "市民課_手続一覧.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    return response.headers["Location"]


def confirm(client, location: str, scope: str = "whole"):
    token = csrf_token(client, location)
    return client.post(f"{location}/commit", data={"csrf_token": token, "scope": scope})


def preview_again(client, location: str):
    page = client.get(location).get_data(as_text=True)
    data = dict(form_fields(page, "/refresh"))
    return client.post(f"{location}/refresh", data=data)


def edit_notes(client, ident: int, notes: str) -> None:
    """Save a procedure's notes through its edit form, as a colleague would."""
    url = f"/procedures/{ident}/edit"
    data = dict(form_fields(client.get(url).get_data(as_text=True), ""))
    data["notes"] = notes
    assert client.post(url, data=data).status_code == 302


def judge(client, ident: int, verdict: str = "feasible") -> None:
    """Save a judgement in place on the procedure's page (the triage form's script)."""
    page = client.get(f"/procedures/{ident}").get_data(as_text=True)
    data = dict(form_fields(page, f"/procedures/{ident}/triage"))
    data.update(verdict=verdict)
    response = client.post(f"/procedures/{ident}/triage", data=data, headers=JSON)
    assert response.status_code == 200, response.get_json()


def meanwhile(action, *args) -> None:
    """Do a colleague's save from another thread, as another request would be served."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(action, *args).result()


def refusal(page: str) -> tuple[str, list[list[str]]]:
    """Return the refusal's text (the table left out) and its table's rows, as shown."""
    match = re.search(r'id="saved-since">(.*?</form>)\s*</div>', page, re.S)
    assert match, "no refusal on the page"
    body = match.group(1)
    rows = [
        [
            unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]
    text = re.sub(r"<table.*?</table>|<form.*?</form>", " ", body, flags=re.S)
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", text)).split())
    return text, [row for row in rows if row]


def state(db_session) -> dict:
    """What the database holds: each procedure's fields, the audit log, the batches."""
    db_session.rollback()
    procedures = {
        row.code: (row.notes, row.verdict, row.lifecycle, row.version)
        for row in db_session.execute(select(Procedure)).scalars()
    }
    events = db_session.execute(
        select(
            AuditEvent.procedure_id, AuditEvent.action, AuditEvent.field, AuditEvent.batch_id
        ).order_by(AuditEvent.id)
    ).all()
    batches = db_session.execute(select(ImportBatch.status)).scalars().all()
    return {"procedures": procedures, "events": [tuple(e) for e in events], "batches": batches}


def imported_events(db_session) -> list[tuple]:
    return [e for e in state(db_session)["events"] if e[3] is not None]


# --- the edit form ---------------------------------------------------------------------------


def test_an_edit_saved_after_the_preview_refuses_the_import_until_it_is_previewed_again(
    app, db_session, city
):
    importer, editor = signed_in(app, "importer"), signed_in(app, "editor")
    location = preview(importer, workbook(FILE_ROWS))
    edit_notes(editor, city["tennyu"], "窓口で本人確認済み")
    before = state(db_session)

    response = confirm(importer, location)
    assert response.status_code == 302 and response.headers["Location"] == location
    page = importer.get(location).get_data(as_text=True)
    text, rows = refusal(page)
    assert text == f"{REFUSED} {SAVED_SINCE.format(count=1)} {PREVIEW_AGAIN}"
    assert [row[:3] for row in rows] == [["市民課", "転入届", "editor"]]
    assert TIME.match(rows[0][3])
    # Nothing was written: the colleague's edit stands, nothing is missing, no import audit.
    assert state(db_session) == before
    assert before["procedures"]["A-1"][0] == "窓口で本人確認済み"
    assert before["procedures"]["A-3"][2] == Lifecycle.active
    assert before["batches"] == ["previewed"]
    # The import button is gone until the file is previewed again.
    assert f'action="{location}/commit"' not in page

    # A second confirmation (a stale page's button) is refused the same way.
    assert confirm_from_form(importer, location) == location
    assert state(db_session) == before

    response = preview_again(importer, location)
    assert response.status_code == 302
    page = importer.get(location).get_data(as_text=True)
    assert REFRESHED in page
    assert 'id="saved-since"' not in page
    assert "窓口で本人確認済み → 本人確認書類が必要" in page  # the fresh preview shows the edit
    assert confirm(importer, location).status_code == 302
    after = state(db_session)
    assert after["batches"] == ["committed"]
    assert after["procedures"]["A-1"][0] == "本人確認書類が必要"
    assert after["procedures"]["A-2"][0] == "郵送でも可"
    assert after["procedures"]["A-3"][2] == Lifecycle.missing
    assert sorted((e[0], e[2]) for e in imported_events(db_session)) == sorted(
        [(city["tennyu"], "notes"), (city["tenshutsu"], "notes"), (city["jumin"], "lifecycle")]
    )


def confirm_from_form(client, location: str) -> str:
    """Post the import button as a page opened before the refusal would; return where to."""
    token = csrf_token(client, "/imports/new")
    response = client.post(f"{location}/commit", data={"csrf_token": token, "scope": "whole"})
    return response.headers["Location"]


# --- an in-place judgement, and a procedure the import marks missing -------------------------


def test_a_judgement_saved_after_the_preview_refuses_the_import_though_it_touches_other_fields(
    app, db_session, city
):
    importer, editor = signed_in(app, "importer"), signed_in(app, "editor")
    location = preview(importer, workbook(FILE_ROWS))
    judge(editor, city["tenshutsu"])
    before = state(db_session)

    confirm(importer, location)
    text, rows = refusal(importer.get(location).get_data(as_text=True))
    assert text == f"{REFUSED} {SAVED_SINCE.format(count=1)} {PREVIEW_AGAIN}"
    assert [row[:3] for row in rows] == [["市民課", "転出届", "editor"]]
    assert state(db_session) == before

    preview_again(importer, location)
    confirm(importer, location)
    after = state(db_session)
    assert after["batches"] == ["committed"]
    # The judgement stands, and the file's notes landed beside it.
    assert after["procedures"]["A-2"][:2] == ("郵送でも可", "feasible")


def test_a_save_of_a_procedure_the_import_would_mark_missing_refuses_it(app, db_session, city):
    importer, editor = signed_in(app, "importer"), signed_in(app, "editor")
    location = preview(importer, workbook(FILE_ROWS))
    judge(editor, city["jumin"], "feasible")
    before = state(db_session)

    confirm(importer, location)
    text, rows = refusal(importer.get(location).get_data(as_text=True))
    assert text == f"{REFUSED} {SAVED_SINCE.format(count=1)} {PREVIEW_AGAIN}"
    assert [row[:3] for row in rows] == [["市民課", "住民票の写しの交付申請", "editor"]]
    assert state(db_session) == before

    preview_again(importer, location)
    confirm(importer, location)
    after = state(db_session)
    assert after["batches"] == ["committed"]
    assert after["procedures"]["A-3"][1:3] == ("feasible", Lifecycle.missing)


def test_a_file_that_updates_only_its_own_procedures_is_not_refused_for_an_absent_one(
    app, db_session, city
):
    importer, editor = signed_in(app, "importer"), signed_in(app, "editor")
    location = preview(importer, workbook(FILE_ROWS))
    judge(editor, city["jumin"], "feasible")
    confirm(importer, location, scope="only_these")
    after = state(db_session)
    assert after["batches"] == ["committed"]
    assert after["procedures"]["A-3"][1:3] == ("feasible", Lifecycle.active)


# --- a bulk change: the first ten are named, the others counted ------------------------------


def test_a_bulk_change_after_the_preview_is_listed_ten_by_name_and_the_rest_counted(
    app, db_session
):
    division = add_division(db_session, "市民課")
    ids = [
        add_procedure(db_session, division, f"手続{index:02d}", code=f"C-{index:02d}").id
        for index in range(12)
    ]
    add_user(db_session, "importer", Role.dx_office)
    add_user(db_session, "editor", Role.dx_office)
    rows = [("市民課", f"C-{index:02d}", f"手続{index:02d}", "更新") for index in range(12)]
    importer, editor = signed_in(app, "importer"), signed_in(app, "editor")
    location = preview(importer, workbook(rows))
    data = {
        "csrf_token": csrf_token(editor, "/procedures"),
        "change": "verdict:infeasible",
        "reason": "原本の提出が必要",
        "scope": "selected",
        "ids": ids,
    }
    assert editor.post("/procedures/bulk/apply", data=data).status_code == 302
    before = state(db_session)

    confirm(importer, location)
    text, listed = refusal(importer.get(location).get_data(as_text=True))
    assert text == f"{REFUSED} {SAVED_SINCE.format(count=12)} （ほか 2件） {PREVIEW_AGAIN}"
    assert [row[1] for row in listed] == [f"手続{index:02d}" for index in range(10)]
    assert state(db_session) == before


# --- saves the preview did not foresee --------------------------------------------------------


def test_a_procedure_the_preview_left_unchanged_and_saved_since_refuses_the_import(
    app, db_session, city
):
    """The file now differs from it: importing would put its old notes back."""
    importer, editor = signed_in(app, "importer"), signed_in(app, "editor")
    location = preview(importer, workbook(FILE_ROWS))
    edit_notes(editor, city["tenkyo"], "予約制")
    before = state(db_session)
    confirm(importer, location)
    _text, rows = refusal(importer.get(location).get_data(as_text=True))
    assert [row[1] for row in rows] == ["転居届"]
    assert state(db_session) == before


def test_a_procedure_the_preview_called_new_and_created_since_refuses_the_import(
    app, db_session, city
):
    importer, other = signed_in(app, "importer"), signed_in(app, "editor")
    new_row = ("市民課", "A-9", "印鑑登録申請", "即日交付")
    location = preview(importer, workbook([*FILE_ROWS, new_row]))
    # A colleague imports another file that creates the same procedure, with other notes.
    theirs = preview(other, workbook([("市民課", "A-9", "印鑑登録申請", "後日交付")]))
    confirm(other, theirs, scope="only_these")
    before = state(db_session)
    assert before["procedures"]["A-9"][0] == "後日交付"

    confirm(importer, location)
    _text, rows = refusal(importer.get(location).get_data(as_text=True))
    assert [row[:3] for row in rows] == [["市民課", "印鑑登録申請", "editor"]]
    assert state(db_session) == before


def test_a_save_while_the_commit_reads_the_file_again_refuses_it(
    app, db_session, city, monkeypatch
):
    importer, editor = signed_in(app, "importer"), signed_in(app, "editor")
    location = preview(importer, workbook(FILE_ROWS))
    read = import_service.analyse_file

    def someone_saves_then_read(*args, **kwargs):
        # Past the check made before reading, before the comparison reads the procedures.
        meanwhile(edit_notes, editor, city["tennyu"], "窓口で本人確認済み")
        return read(*args, **kwargs)

    monkeypatch.setattr(import_service, "analyse_file", someone_saves_then_read)
    confirm(importer, location)
    monkeypatch.setattr(import_service, "analyse_file", read)
    _text, rows = refusal(importer.get(location).get_data(as_text=True))
    assert [row[1] for row in rows] == ["転入届"]
    assert imported_events(db_session) == []
    assert state(db_session)["procedures"]["A-1"][0] == "窓口で本人確認済み"


def test_a_preview_kept_without_versions_must_be_previewed_again(app, db_session, city):
    """A batch previewed before previews kept versions: refused until previewed again."""
    importer = signed_in(app, "importer")
    location = preview(importer, workbook(FILE_ROWS))
    batch = db_session.execute(select(ImportBatch)).scalar_one()
    report = json.loads(batch.report)
    del report["preview"]["versions"]
    batch.report = json.dumps(report, ensure_ascii=False)
    db_session.add(batch)
    db_session.commit()
    confirm(importer, location)
    text, rows = refusal(importer.get(location).get_data(as_text=True))
    assert text == (
        f"{REFUSED} このプレビューの作成後に、手続が保存された可能性があります。"
        f"何も書き込まれていません。 {PREVIEW_AGAIN}"
    )
    assert rows == [] and imported_events(db_session) == []
    preview_again(importer, location)
    confirm(importer, location)
    assert state(db_session)["batches"] == ["committed"]


def test_the_refusal_is_worded_in_english_for_an_english_reader(app, db_session, city):
    importer, editor = signed_in(app, "importer"), signed_in(app, "editor")
    importer.get("/lang/en")
    location = preview(importer, workbook(FILE_ROWS))
    edit_notes(editor, city["tennyu"], "窓口で本人確認済み")
    edit_notes(editor, city["tenshutsu"], "要予約")
    confirm(importer, location)
    text, rows = refusal(importer.get(location).get_data(as_text=True))
    assert text == (
        "Not imported: procedures were saved after this preview "
        "2 procedures this import would change were saved by someone after the preview was "
        "made; importing it now would overwrite those saves. Nothing was written. "
        "Preview the file again: it is compared with the procedures as they are now. Then "
        "check the changes and import them."
    )
    assert [row[1] for row in rows] == ["転入届", "転出届"]
    page = importer.get(location).get_data(as_text=True)
    assert ">Preview again<" in page or 'value="Preview again"' in page


# --- the background import ------------------------------------------------------------------


def test_a_background_import_is_refused_the_same_way_and_lands_after_a_new_preview(
    app, db_session, city
):
    app.config["IMPORT_BACKGROUND_ROWS"] = 1
    importer, editor = signed_in(app, "importer"), signed_in(app, "editor")
    location = preview(importer, workbook(FILE_ROWS))
    edit_notes(editor, city["tennyu"], "窓口で本人確認済み")
    before = state(db_session)

    response = confirm(importer, location)
    assert response.headers["Location"] == f"{location}/progress"
    import_jobs.wait_for_imports(app)
    assert importer.get(f"{location}/progress.json").get_json()["error"] == "changed_meanwhile"
    progress_page = importer.get(f"{location}/progress").get_data(as_text=True)
    assert "この中の手続を他の人が保存しました。何も取り込まれていません。" in progress_page
    assert f'href="{location}"' in progress_page  # back to the preview, which lists them
    text, rows = refusal(importer.get(location).get_data(as_text=True))
    assert text == f"{REFUSED} {SAVED_SINCE.format(count=1)} {PREVIEW_AGAIN}"
    assert [row[:3] for row in rows] == [["市民課", "転入届", "editor"]]
    assert state(db_session) == before

    preview_again(importer, location)
    assert confirm(importer, location).headers["Location"] == f"{location}/progress"
    import_jobs.wait_for_imports(app)
    assert importer.get(f"{location}/progress.json").get_json()["state"] == "done"
    after = state(db_session)
    assert after["batches"] == ["committed"]
    assert after["procedures"]["A-1"][0] == "本人確認書類が必要"


def test_a_background_import_refused_at_its_write_names_the_procedure_too(
    app, db_session, city, monkeypatch
):
    """A save between the commit's comparison and its write: the version check of the write."""
    app.config["IMPORT_BACKGROUND_ROWS"] = 1
    importer, editor = signed_in(app, "importer"), signed_in(app, "editor")
    location = preview(importer, workbook(FILE_ROWS))
    write = import_service.apply_plan

    def someone_judges_then_write(*args, **kwargs):
        meanwhile(judge, editor, city["tenshutsu"])  # not the import's field: still refused
        return write(*args, **kwargs)

    monkeypatch.setattr(import_service, "apply_plan", someone_judges_then_write)
    confirm(importer, location)
    import_jobs.wait_for_imports(app)
    assert importer.get(f"{location}/progress.json").get_json()["error"] == "changed_meanwhile"
    _text, rows = refusal(importer.get(location).get_data(as_text=True))
    assert [row[1] for row in rows] == ["転出届"]
    assert imported_events(db_session) == []
    assert state(db_session)["procedures"]["A-2"][:2] == (None, "feasible")


# --- the command line -----------------------------------------------------------------------


def test_the_command_line_refuses_when_a_procedure_is_saved_after_its_comparison(
    app, db_session, city, monkeypatch, tmp_path
):
    path = tmp_path / "市民課.xlsx"
    path.write_bytes(workbook(FILE_ROWS))
    compare = import_service.analyse_file
    editor = signed_in(app, "editor")

    def compare_then_someone_judges(*args, **kwargs):
        # The command compared the file (its preview); a clerk judges before it writes.
        compared = compare(*args, **kwargs)
        meanwhile(judge, editor, city["tenshutsu"])
        return compared

    monkeypatch.setattr(import_service, "analyse_file", compare_then_someone_judges)
    result = app.test_cli_runner().invoke(args=["import-inventory", str(path)])
    assert result.exit_code == 1
    assert (
        "refused: procedures this file changes were saved by someone after it was compared "
        "with the inventory; nothing was written. Run the import again."
    ) in result.output
    after = state(db_session)
    assert (after["batches"], imported_events(db_session)) == ([], [])
    # The judgement landed; the import's notes did not; nothing was marked missing.
    assert after["procedures"]["A-2"][:2] == (None, "feasible")
    assert after["procedures"]["A-3"][2] == Lifecycle.active
    assert [e[1:3] for e in after["events"]] == [("edit", "verdict")]
