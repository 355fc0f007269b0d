"""Counts on pages and in messages are written with thousands separators: 1,200, not 1200."""

from flask import session

from importers.results import Problem
from procedures.core.i18n import problem_text, problem_text_without_row
from procedures.models import Role
from tests.conftest import add_user, login
from tests.test_imports import commit, upload, workbook_bytes

#: More rows than the preview lists (300), so that the page says how many it left out.
ROWS = 1200


def test_an_import_of_1200_procedures_says_1200_with_a_separator(client, db_session):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    rows = [("市民課", f"届出{number:04d}", "10") for number in range(ROWS)]
    location = upload(client, workbook_bytes(rows)).headers["Location"]
    preview = client.get(location).get_data(as_text=True)
    assert "1,200件の変更のうち、最初の300件を表示しています。" in preview

    commit(client, location)
    result = client.get(location).get_data(as_text=True)
    assert "取り込みました：新規 1,200件、変更 0件、変更なし 0件、未掲載 0件。" in result
    history = client.get("/imports/").get_data(as_text=True)
    assert '<td class="num">1,200</td><td class="num">0</td><td class="num">0</td>' in history
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert '<span class="stat-value" data-key="procedures">1,200</span>' in dashboard


def test_an_importer_warning_counts_with_a_separator_and_keeps_its_plural_form(app):
    many = Problem("warning", "csv_characters_replaced", {"count": 1500})
    one = Problem("warning", "csv_characters_replaced", {"count": 1})
    with app.test_request_context():
        assert problem_text(many).startswith("CSVファイルの1,500文字を読み取れず")
        assert problem_text_without_row(many).startswith("CSVファイルの1,500文字を読み取れず")
    with app.test_request_context():
        session["lang"] = "en"
        assert problem_text(many).startswith("1,500 characters of the CSV file could not")
        assert problem_text(one).startswith("1 character of the CSV file could not")


def test_a_row_number_in_a_message_keeps_no_separator(app):
    problem = Problem("warning", "name_missing", {"row": 12345, "column": "手続名"}, row=12345)
    with app.test_request_context():
        session["lang"] = "en"
        assert problem_text(problem).startswith("Row 12345: the procedure name is empty")
