"""The yearly survey: a workbook per division, answered and recognised back without mapping."""

from __future__ import annotations

import html
import io
import re
import shutil
import subprocess
import zipfile
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from procedures.models import (
    AuditEvent,
    DivisionSurvey,
    ImportBatch,
    Lifecycle,
    Procedure,
    Role,
)
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login

YEAR = 2026
HOSTILE_NAME = '=HYPERLINK("http://evil.example","click")'
HEADERS = [
    "手続コード",
    "システムID",
    "部",
    "課",
    "手続名",
    "根拠法令",
    "種別",
    "来庁の要否",
    "来庁が必要な理由",
    "年間件数",
    "件数の年度",
    "阻害要因",
    "備考",
]


@pytest.fixture
def city(db_session):
    """市民課 with three active procedures (one hostile, one without code) and a retired one;
    子育て給付課 with one; 防災課 with none. An office user, a 市民課 user and a viewer."""
    shimin = add_division(db_session, "市民課", "市民自治部")
    kosodate = add_division(db_session, "子育て給付課", "子ども青少年部")
    bousai = add_division(db_session, "防災課", "防災安全部")
    juminhyo = add_procedure(
        db_session,
        shimin,
        "住民票の写しの交付申請",
        code="A-001",
        kind="certificate",
        visit_required=False,
        annual_volume=42000,
        volume_fiscal_year=2024,
        blockers=",fee_payment,",
    )
    hostile = add_procedure(
        db_session,
        shimin,
        HOSTILE_NAME,
        code="A-003",
        legal_basis="-1+2",
        notes="@SUM(1)",
    )
    tennyu = add_procedure(
        db_session, shimin, "転入届", visit_required=True, visit_reason="本人確認のため"
    )
    add_procedure(db_session, shimin, "旧様式の申請", code="A-004", lifecycle=Lifecycle.retired)
    jidou = add_procedure(db_session, kosodate, "児童手当の認定請求", code="K-001")
    add_user(db_session, "office", Role.dx_office)
    add_user(db_session, "shimin", Role.division, division="市民課")
    add_user(db_session, "viewer", Role.viewer)
    return {
        "shimin": shimin,
        "kosodate": kosodate,
        "bousai": bousai,
        "juminhyo": juminhyo.id,
        "hostile": hostile.id,
        "tennyu": tennyu.id,
        "jidou": jidou.id,
    }


def download(client, division_id: int, year: int = YEAR):
    return client.get(f"/survey/{year}/{division_id}.xlsx")


def workbook_of(response):
    assert response.status_code == 200, response.status_code
    return load_workbook(io.BytesIO(response.data))


def saved(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, content: bytes, name: str = "調査票.xlsx", division: str = ""):
    token = csrf_token(client, "/imports/new")
    data = {"csrf_token": token, "file": (io.BytesIO(content), name), "division": division}
    return client.post("/imports/new", data=data, content_type="multipart/form-data")


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))).strip()


def preview_changes(page: str) -> dict[str, list[str]]:
    """Return {procedure name: sorted field changes} from the preview's table of changes."""
    table = page[page.index("<h2>変更内容</h2>") :]
    table = table[: table.index("</table>")]
    changes = {}
    for row in re.findall(r"<tr><td><span class=\"badge[^>]*>.*?</tr>", table, re.S):
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        fields = [text_of(item) for item in cells[4].split("<br>")]
        changes[text_of(cells[3])] = sorted(fields)
    return changes


def status_rows(page: str) -> dict[str, str]:
    """Return {division: answer cell text} from the survey page's status table."""
    table = page[page.index('id="survey-status"') :]
    table = table[: table.index("</table>")]
    rows = {}
    for row in re.findall(r"<tr><td>.*?</tr>", table, re.S):
        cells = [text_of(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        rows[cells[1]] = cells[4]
    return rows


def test_a_division_workbook_holds_its_active_procedures_and_the_questions(client, city):
    login(client, "office")
    response = download(client, city["shimin"])
    disposition = response.headers["Content-Disposition"]
    assert f"filename*=UTF-8''{quote('調査票_令和8年度_市民課.xlsx')}" in disposition
    workbook = workbook_of(response)
    assert workbook.sheetnames == ["調査票", "記入要領"]
    sheet = workbook["調査票"]
    assert (
        sheet["A1"].value == "藤沢市（デモ） 令和8年度 手続のオンライン化に関する調査票（2026年度）"
    )
    assert sheet["A2"].value == "所管課：市民課（市民自治部）"
    assert [cell.value for cell in sheet[5]] == HEADERS
    rows = [list(row) for row in sheet.iter_rows(min_row=6, values_only=True)]
    assert rows == [
        [
            "A-001",
            city["juminhyo"],
            "市民自治部",
            "市民課",
            "住民票の写しの交付申請",
            None,
            "証明書交付",
            "不要",
            None,
            42000,
            "令和6年度",
            "手数料の納付",
            None,
        ],
        [
            "A-003",
            city["hostile"],
            "市民自治部",
            "市民課",
            "'" + HOSTILE_NAME,
            "'-1+2",
            None,
            None,
            None,
            None,
            None,
            None,
            "'@SUM(1)",
        ],
        [None, city["tennyu"], "市民自治部", "市民課", "転入届", None, None, "要"]
        + ["本人確認のため", None, None, None, None],
    ]
    assert sheet["J6"].number_format == "#,##0"
    instructions = workbook["記入要領"]
    assert instructions["A2"].value == "記入要領"
    assert instructions["A6"].value.startswith(
        "4. 年間件数：令和7年度の実績件数を0以上の整数で記入し"
    )


def test_only_the_answer_columns_are_unlocked_and_they_carry_validation_lists(client, city):
    login(client, "office")
    workbook = workbook_of(download(client, city["shimin"]))
    sheet = workbook["調査票"]
    assert sheet.protection.sheet is True
    assert sheet.protection.password is None
    assert workbook["記入要領"].protection.sheet is True
    assert workbook.security.lockStructure is True
    assert sheet.freeze_panes == "F6"
    locked = {cell.column_letter: cell.protection.locked for cell in sheet[6]}
    assert locked == {
        **dict.fromkeys("ABCDEFG", True),
        **dict.fromkeys("HIJKLM", False),
    }
    assert sheet["A1"].protection.locked is True
    validations = {
        str(item.sqref): (item.type, item.operator, item.formula1, item.errorStyle)
        for item in sheet.data_validations.dataValidation
    }
    blockers = (
        '"制度改正が必要,システムがない,原本が紙,手数料の納付,押印・署名,対面での本人確認,'
        '性質上オンライン化になじまない,費用対効果が小さい又は不明,その他"'
    )
    assert validations == {
        "H6:H8": ("list", None, '"要,不要"', None),
        "J6:J8": ("whole", "greaterThanOrEqual", "0", None),
        "K6:K8": ("list", None, '"令和7年度,令和6年度,令和5年度,令和4年度"', None),
        "L6:L8": ("list", None, blockers, "warning"),
    }


def test_the_whole_round_trip_changes_exactly_the_answered_fields(client, db_session, city):
    login(client, "shimin")
    page = client.get("/survey/?year=2026").get_data(as_text=True)
    assert status_rows(page) == {"市民課": "未回答"}

    workbook = workbook_of(download(client, city["shimin"]))
    sheet = workbook["調査票"]
    sheet["J6"], sheet["K6"] = 45000, "令和7年度"
    sheet["H7"], sheet["M7"] = "要", "窓口で受付"
    sheet["I8"], sheet["L8"] = "原本の確認のため", "押印・署名、原本が紙"
    response = upload(client, saved(workbook), division="市民課")
    assert response.status_code == 302
    location = response.headers["Location"]
    preview = client.get(location).get_data(as_text=True)
    assert (
        "市民課の令和8年度調査票として認識しました。列の対応付けは不要です。"
        "変更内容を確認してから取り込んでください。" in preview
    )
    assert "見つかった問題" not in preview
    assert preview_changes(preview) == {
        "住民票の写しの交付申請": [
            "件数の年度: FY2024 (令和6年度) → FY2025 (令和7年度)",
            "年間件数: 42,000 → 45,000",
        ],
        # The preview names the row as stored, without the export's neutralising quote.
        HOSTILE_NAME: ["備考: @SUM(1) → 窓口で受付", "来庁の要否: 不明 → 要"],
        "転入届": [
            "来庁が必要な理由: 本人確認のため → 原本の確認のため",
            "阻害要因: — → 原本が紙、押印・署名",
        ],
    }

    token = csrf_token(client, location)
    assert (
        client.post(f"{location}/commit", data={"csrf_token": token, "scope": "whole"}).status_code
        == 302
    )
    db_session.expire_all()
    juminhyo = db_session.get(Procedure, city["juminhyo"])
    assert (juminhyo.annual_volume, juminhyo.volume_fiscal_year) == (45000, 2025)
    assert juminhyo.blockers == ",fee_payment,"
    hostile = db_session.get(Procedure, city["hostile"])
    assert (hostile.name, hostile.visit_required, hostile.notes) == (
        HOSTILE_NAME,
        True,
        "窓口で受付",
    )
    tennyu = db_session.get(Procedure, city["tennyu"])
    assert (tennyu.visit_reason, tennyu.blockers) == (
        "原本の確認のため",
        ",paper_originals,seal_signature,",
    )
    batch = db_session.exec(select(ImportBatch)).one()
    audited = db_session.exec(
        select(AuditEvent.procedure_id, AuditEvent.field).where(AuditEvent.batch_id == batch.id)
    ).all()
    assert sorted(audited) == sorted(
        [
            (city["juminhyo"], "annual_volume"),
            (city["juminhyo"], "volume_fiscal_year"),
            (city["hostile"], "visit_required"),
            (city["hostile"], "notes"),
            (city["tennyu"], "visit_reason"),
            (city["tennyu"], "blockers"),
        ]
    )
    retired = db_session.exec(select(Procedure).where(Procedure.code == "A-004")).one()
    assert retired.lifecycle == Lifecycle.retired

    assert status_rows(client.get("/survey/?year=2026").get_data(as_text=True))[
        "市民課"
    ].startswith("回答済み")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/survey/")})
    login(client, "office")
    rows = status_rows(client.get("/survey/?year=2026").get_data(as_text=True))
    assert rows["市民課"].startswith("回答済み") and "shimin" in rows["市民課"]
    assert f"取り込み #{batch.id}" in rows["市民課"]
    assert rows["子育て給付課"] == "未回答"
    assert rows["防災課"] == "対象の手続なし"
    pending = client.get("/survey/?year=2026&pending=1").get_data(as_text=True)
    assert status_rows(pending) == {"子育て給付課": "未回答"}
    assert "1 / 2 課が回答済み" in text_of(client.get("/survey/?year=2026").get_data(as_text=True))


def test_an_unchanged_workbook_changes_nothing_and_hostile_cells_stay_text(client, city):
    login(client, "office")
    workbook = workbook_of(download(client, city["shimin"]))
    cell = workbook["調査票"]["E7"]
    assert (cell.value, cell.data_type) == ("'" + HOSTILE_NAME, "s")
    response = upload(client, saved(workbook))
    preview = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "変更はありません。すべての手続が前回と同じです。" in preview
    assert preview_changes(preview) == {}


def test_an_english_workbook_is_read_back_the_same(client, city):
    login(client, "office")
    client.get("/lang/en")
    workbook = workbook_of(download(client, city["shimin"]))
    sheet = workbook["Survey"]
    assert workbook.sheetnames == ["Survey", "How to fill in"]
    assert sheet["A2"].value == "Division: 市民課 (市民自治部)"
    assert [sheet["H6"].value, sheet["K6"].value, sheet["L6"].value] == [
        "No",
        "FY2024",
        "Fee payment",
    ]
    validations = {str(item.sqref): item.formula1 for item in sheet.data_validations.dataValidation}
    assert validations["H6:H8"] == '"Yes,No"'
    sheet["H7"] = "Yes"
    preview = client.get(upload(client, saved(workbook)).headers["Location"]).get_data(as_text=True)
    assert "Recognised as the survey workbook of 市民課 for 令和8年度" in preview
    table = preview[preview.index("<h2>Changes</h2>") :]
    assert text_of(table[: table.index("</table>")]).count("Changed") == 1
    assert "Visit required: Unknown → Visit needed" in text_of(table)


def test_a_division_cannot_return_another_divisions_workbook(client, db_session, city):
    login(client, "office")
    other = download(client, city["kosodate"]).data
    client.post("/logout", data={"csrf_token": csrf_token(client, "/survey/")})
    login(client, "shimin")
    response = upload(client, other, division="市民課")
    assert response.status_code == 400
    assert (
        "このファイルは子育て給付課の調査票です。提出できるのは自分の課（市民課）の調査票だけです。"
        "「調査票」画面からダウンロードしてください。" in response.get_data(as_text=True)
    )
    assert db_session.exec(select(ImportBatch)).all() == []


def test_a_workbook_whose_survey_sheet_was_renamed_is_refused_with_what_to_do(client, city):
    login(client, "office")
    workbook = workbook_of(download(client, city["shimin"]))
    workbook["調査票"].title = "回答"
    response = upload(client, saved(workbook))
    assert response.status_code == 400
    assert "この調査票はシート名または列が変更されているため読み取れません。" in response.get_data(
        as_text=True
    )


def test_a_division_user_gets_only_its_own_workbook_and_status(client, city):
    login(client, "shimin")
    assert download(client, city["kosodate"]).status_code == 403
    assert client.get(f"/survey/{YEAR}/all.zip").status_code == 403
    assert download(client, city["shimin"]).status_code == 200
    page = client.get("/survey/?year=2026").get_data(as_text=True)
    assert list(status_rows(page)) == ["市民課"]
    assert "全課の調査票をダウンロード" not in page


def test_the_zip_holds_one_workbook_per_division_with_procedures(client, db_session, city):
    login(client, "office")
    token = csrf_token(client, f"/survey/?year={YEAR}")
    response = client.post(f"/survey/{YEAR}/all.zip", data={"csrf_token": token})
    assert response.status_code == 200
    assert quote("調査票_令和8年度_全課.zip") in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.namelist() == [
        "001_市民自治部_市民課.xlsx",
        "002_子ども青少年部_子育て給付課.xlsx",
    ]
    assert all(info.flag_bits & 0x800 for info in archive.infolist())  # names marked UTF-8
    titles = [
        load_workbook(io.BytesIO(archive.read(name)))["調査票"]["A2"].value
        for name in archive.namelist()
    ]
    assert titles == ["所管課：市民課（市民自治部）", "所管課：子育て給付課（子ども青少年部）"]
    made = {
        survey.division_id: survey.generated_at
        for survey in db_session.exec(select(DivisionSurvey)).all()
    }
    assert set(made) == {city["shimin"], city["kosodate"]}
    page = client.get("/survey/?year=2026").get_data(as_text=True)
    assert "1 / 2" not in text_of(page) and "0 / 2 課が回答済み" in text_of(page)


def test_a_survey_year_outside_the_calendar_is_not_found(client, city):
    login(client, "office")
    assert client.get("/survey/?year=1900").status_code == 404
    assert download(client, city["shimin"], year=3000).status_code == 404
    assert download(client, 99999).status_code == 404


def test_the_command_line_imports_a_returned_survey_and_marks_it_answered(
    app, client, db_session, city, tmp_path
):
    login(client, "office")
    workbook = workbook_of(download(client, city["shimin"]))
    workbook["調査票"]["J6"] = 43000
    path = tmp_path / "returned.xlsx"
    path.write_bytes(saved(workbook))
    result = app.test_cli_runner().invoke(args=["import-inventory", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 rows, 0 new, 1 changed, 2 unchanged, 0 missing, 0 errors" in result.output
    db_session.expire_all()
    assert db_session.get(Procedure, city["juminhyo"]).annual_volume == 43000
    survey = db_session.exec(select(DivisionSurvey)).one()
    assert survey.answered_at is not None and survey.answer_batch_id is not None


def test_a_workbook_older_than_a_rename_or_a_new_procedure_keeps_both(client, db_session, city):
    login(client, "office")
    workbook = workbook_of(download(client, city["shimin"]))
    juminhyo = db_session.get(Procedure, city["juminhyo"])
    juminhyo.name = "住民票の写し等の交付申請"
    db_session.add(juminhyo)
    db_session.commit()
    add_procedure(db_session, city["shimin"], "印鑑登録申請", code="A-005")
    preview = client.get(upload(client, saved(workbook)).headers["Location"]).get_data(as_text=True)
    assert (
        "この調査票の作成後に、1件の手続の名称またはコードが変更されています"
        "（住民票の写し等の交付申請）。システムIDで照合するため、新しい名称とコードはそのまま"
        "残ります。" in preview
    )
    assert (
        "この調査票の作成後に、1件の手続が追加されています（印鑑登録申請）。"
        "調査票に載っていないため、そのまま変わりません。" in preview
    )
    # The row is found by its system id and the office's rename stands, and the procedure
    # added since is not flagged missing: nothing to change at all.
    assert preview_changes(preview) == {}


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_a_workbook_saved_again_by_libreoffice_is_still_recognised(client, city, tmp_path):
    login(client, "office")
    workbook = workbook_of(download(client, city["shimin"]))
    workbook["調査票"]["J6"] = 45000
    filled = tmp_path / "filled.xlsx"
    filled.write_bytes(saved(workbook))
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(tmp_path / "calc"),
            str(filled),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    resaved = (tmp_path / "calc" / "filled.xlsx").read_bytes()
    preview = client.get(upload(client, resaved).headers["Location"]).get_data(as_text=True)
    assert "市民課の令和8年度調査票として認識しました。" in preview
    assert preview_changes(preview) == {"住民票の写しの交付申請": ["年間件数: 42,000 → 45,000"]}
