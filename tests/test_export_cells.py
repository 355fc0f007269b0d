"""The inventory export neutralises formula text in every column, not only names and notes."""

import io

from openpyxl import load_workbook

from procedures.catalogue.exports import INVENTORY_COLUMNS, inventory_workbook
from procedures.models import Verdict
from tests.conftest import add_division, add_procedure


def test_every_text_column_of_the_inventory_keeps_hostile_text_as_text(app, db_session):
    division = add_division(db_session, "=課", "+部")
    add_procedure(
        db_session,
        division,
        "@手続",
        code="-1",
        legal_basis="=HYPERLINK(1)",
        kind="=kind",
        annual_volume=-5,
        visit_required=True,
        visit_reason="\t理由",
        fee_required=False,
        channel="+81",
        verdict=Verdict.infeasible,
        verdict_reason="\r原本",
        blockers=",paper_originals,=other_code,",
        target_fiscal_year=2026,
        notes="-メモ",
    )
    with app.test_request_context():
        content = inventory_workbook(db_session)
    sheet = load_workbook(io.BytesIO(content)).active
    header, row = list(sheet.iter_rows(values_only=True))
    cells = dict(zip(header, row, strict=True))
    assert list(header) == [name for name, _field in INVENTORY_COLUMNS]
    assert cells == {
        "手続コード": "'-1",
        "部": "'+部",
        "課": "'=課",
        "手続名": "'@手続",
        "根拠法令": "'=HYPERLINK(1)",
        "手続種別": "'=kind",
        "年間件数": -5,
        "来庁の要否": "○",
        "来庁が必要な理由": "'\t理由",
        "手数料の有無": "×",
        "押印・署名の要否": None,
        "マイナポータル対象": "×",
        "オンライン化の状況": None,
        "申請チャネル": "'+81",
        "オンライン化の可否": "オンライン化不可",
        # XML reads a carriage return back as a line feed; the quote before it is what counts.
        "判断理由": "'\n原本",
        "阻害要因": "原本が紙、'=other_code",
        "目標年度": 2026,
        "実施年度": None,
        "備考": "'-メモ",
    }
    assert all(cell.data_type != "f" for cells_row in sheet.iter_rows() for cell in cells_row)
