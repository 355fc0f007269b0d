"""Workbooks out: cells never become formulas, and the yearly list is print-ready."""

import io

import pytest
from openpyxl import load_workbook

from procedures.catalogue.exports import inventory_workbook
from procedures.core.spreadsheets import neutralise
from procedures.models import Verdict
from procedures.plan.exports import plan_workbook
from procedures.plan.schedule import recompute_plan
from procedures.survey.status import current_fiscal_year
from procedures.vocabulary import japanese_fiscal_year
from tests.conftest import add_division, add_procedure

#: The plan starts at the current fiscal year.
Y = current_fiscal_year()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+81-466", "'+81-466"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("住民票の写しの交付申請", "住民票の写しの交付申請"),
        (1234, 1234),
    ],
)
def test_neutralise_keeps_formula_text_as_text(text, expected):
    assert neutralise(text) == expected


def test_hostile_procedure_names_export_as_plain_text(app, db_session):
    division = add_division(db_session, "市民課")
    add_procedure(db_session, division, '=cmd|"/c calc"!A1', code="X-1")
    add_procedure(db_session, division, "@SUM(1+1)", code="X-2", notes="-2+3")
    with app.app_context():
        content = inventory_workbook(db_session)
    sheet = load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [row[3] for row in rows] == ['\'=cmd|"/c calc"!A1', "'@SUM(1+1)"]
    assert rows[1][19] == "'-2+3"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_yearly_list_is_print_ready(app, db_session):
    division = add_division(db_session, "子育て給付課", "子ども青少年部")
    add_procedure(
        db_session,
        division,
        "児童手当の認定請求",
        code="K-1",
        annual_volume=3400,
        verdict=Verdict.feasible,
        mynaportal_eligible=True,
        blockers=",seal_signature,",
    )
    add_procedure(
        db_session,
        division,
        "児童手当の現況届",
        code="K-2",
        annual_volume=None,
        verdict=Verdict.feasible,
        mynaportal_eligible=True,
    )
    with app.app_context():
        recompute_plan(db_session)
        db_session.commit()
        sheet = load_workbook(
            io.BytesIO(plan_workbook(db_session, fiscal_year=Y, city="藤沢市"))
        ).active
    assert sheet["A1"].value == f"藤沢市：{japanese_fiscal_year(Y)}（FY{Y}）にオンライン化する手続"
    assert [cell.value for cell in sheet[4]] == [
        "順位",
        "部",
        "課",
        "手続コード",
        "手続名",
        "区分",
        "この順位の理由",
        "年間件数",
        "申請チャネル",
        "解消すべき阻害要因",
        "実施後の完全オンライン化",
    ]
    assert [cell.value for cell in sheet[5]][:8] == [
        1,
        "子ども青少年部",
        "子育て給付課",
        "K-1",
        "児童手当の認定請求",
        "マイナポータル優先手続",
        "国のマイナポータル優先手続として計画しています。\n"
        "年間3,400件と件数が多いため（+3.53点）\n"
        "押印・署名が必要なため（-0.50点）\n"
        "合計3.03点",
        3400,
    ]
    assert sheet["G5"].alignment.wrap_text
    assert sheet["J5"].value == "押印・署名"
    assert sheet["G6"].value == (
        "国のマイナポータル優先手続として計画しています。\n"
        "年間件数が不明のため加点なし（件数が分かる手続の後に計画）"
    )
    assert sheet["H5"].number_format == "#,##0"
    assert (sheet.freeze_panes, sheet.auto_filter.ref, sheet.print_title_rows) == (
        "A5",
        "A4:K6",
        "$4:$4",
    )
    assert (sheet.page_setup.orientation, sheet.page_setup.paperSize) == ("landscape", 9)


def plan_with_two_procedures(app, db_session):
    division = add_division(db_session, "子育て給付課", "子ども青少年部")
    add_procedure(
        db_session,
        division,
        "児童手当の認定請求（新規）",
        code="K-1",
        annual_volume=3400,
        verdict=Verdict.feasible,
        mynaportal_eligible=True,
    )
    add_procedure(
        db_session,
        division,
        "=cmd 髙橋さんの届出",
        code="K-2",
        annual_volume=1200,
        verdict=Verdict.feasible,
    )
    with app.app_context():
        recompute_plan(db_session)
        db_session.commit()


def test_yearly_list_has_a_summary_sheet_per_department_and_tier(app, db_session):
    plan_with_two_procedures(app, db_session)
    with app.app_context():
        workbook = load_workbook(
            io.BytesIO(plan_workbook(db_session, fiscal_year=Y, city="藤沢市"))
        )
    summary = workbook["集計"]
    rows = [[cell.value for cell in row] for row in summary.iter_rows(min_row=3, max_row=12)]
    assert rows[:4] == [
        ["部", "手続数", "年間件数"],
        ["子ども青少年部", 2, 4600],
        ["合計", 2, 4600],
        [None, None, None],
    ]
    assert rows[5:8] == [
        ["区分", "手続数", "年間件数"],
        ["マイナポータル優先手続", 1, 3400],
        ["年間1,000件以上", 1, 1200],
    ]


def test_yearly_list_csv_in_utf8_with_bom_and_in_cp932(app, client, db_session):
    from procedures.models import Role
    from tests.conftest import add_user, login

    plan_with_two_procedures(app, db_session)
    add_user(db_session, "reader", Role.viewer)
    login(client, "reader")
    utf8 = client.get(f"/plan/{Y}/export-utf-8.csv")
    assert utf8.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert utf8.data.startswith(b"\xef\xbb\xbf")
    lines = utf8.data.decode("utf-8-sig").split("\r\n")
    assert lines[0].startswith("順位,部,課,手続コード,手続名,区分")
    assert lines[1].startswith("1,子ども青少年部,子育て給付課,K-1,児童手当の認定請求（新規）")
    assert lines[2].startswith("2,子ども青少年部,子育て給付課,K-2,'=cmd 髙橋さんの届出")
    cp932 = client.get(f"/plan/{Y}/export-cp932.csv")
    text = cp932.data.decode("cp932")
    assert "児童手当の認定請求（新規）" in text
    assert "'=cmd 髙橋さんの届出" in text
