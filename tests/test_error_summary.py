"""Every form refused comes back (400) with what was entered, an error summary at the top whose
links lead to the fields, and each message next to its field.

The bulk bar, the edit page, the in-place judgement, the value decisions of an import and the
accounts' forms have theirs in test_bulk, test_edit_page, test_triage_inplace,
test_import_fidelity and test_accounts.
"""

import io
import re

from procedures.models import Role
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login
from tests.test_plan import policy_form


def summary_of(page: str, summary_id: str = "error-summary") -> str:
    """The HTML of the page's error summary (there must be one)."""
    assert f'id="{summary_id}"' in page, f"no {summary_id}"
    summary = page.split(f'id="{summary_id}"', 1)[1].split("</div>", 1)[0]
    assert "入力内容に問題があります" in summary
    return summary


def targets(summary: str) -> list[str]:
    """The field ids the summary's links lead to."""
    return re.findall(r'<a href="#([^"]+)">', summary)


def has_tag(page: str, *attributes: str) -> bool:
    """Whether an element of the page carries every one of the attributes (in any order)."""
    return any(all(a in tag for a in attributes) for tag in re.findall(r"<[a-z]+[^>]*>", page))


def described(page: str, field_id: str) -> bool:
    """The field is marked invalid and its message, next to it, is tied to it."""
    for tag in re.findall(rf'<[a-z]+[^>]*\bid="{field_id}"[^>]*>', page):
        names = re.search(r'aria-describedby="([^"]*)"', tag)
        if 'aria-invalid="true"' in tag and names and f"{field_id}-error" in names.group(1).split():
            return f'<p class="field-error" id="{field_id}-error">' in page
    return False


def post(client, url: str, data: dict, page: str | None = None, **kwargs):
    return client.post(url, data={"csrf_token": csrf_token(client, page or url), **data}, **kwargs)


def test_sign_in_without_a_password_keeps_the_login(client, db_session):
    response = post(client, "/login", {"login": "clerk", "password": ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert targets(summary_of(page)) == ["password"]
    assert described(page, "password")
    assert has_tag(page, 'id="login"', 'value="clerk"')


def test_a_pin_without_a_reason_keeps_the_place_chosen(client, db_session):
    division = add_division(db_session, "子育て支援課")
    procedure = add_procedure(db_session, division, "犬の登録", annual_volume=20)
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    response = post(client, f"/plan/pin/{procedure.id}", {"target": "exclude", "reason": " "})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert targets(summary_of(page)) == ["reason"]
    assert described(page, "reason")
    assert re.search(r'<option selected value="exclude">|<option value="exclude" selected', page)


def test_a_policy_cell_is_named_by_its_column_and_row_and_keeps_what_was_typed(client, db_session):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    data = policy_form(**{"years-1-capacity": "-1", "try_plan": "1"})
    response = post(client, "/plan/policy", data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    summary = summary_of(page)
    assert targets(summary) == ["years-1-capacity"]
    assert "定員（手続数）（2行目）：定員は0件以上で入力してください。" in summary
    assert described(page, "years-1-capacity")
    assert has_tag(page, 'id="years-1-capacity"', 'value="-1"')


def test_a_policy_without_a_year_leads_to_the_first_year(client, db_session):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    empty = {"years-0-fiscal_year": "", "years-0-capacity": ""}
    empty |= {"years-1-fiscal_year": "", "years-1-capacity": "", "try_plan": "1"}
    page = post(client, "/plan/policy", policy_form(**empty)).get_data(as_text=True)
    assert targets(summary_of(page)) == ["years-0-fiscal_year"]


def test_an_upload_without_a_file_keeps_the_division_chosen(client, db_session):
    add_division(db_session, "市民課")
    add_division(db_session, "子育て給付課")
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    response = post(client, "/imports/new", {"division": "子育て給付課"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert targets(summary_of(page)) == ["file"]
    assert described(page, "file")
    assert re.search(
        r'<option selected value="子育て給付課">|<option value="子育て給付課" selected', page
    )


def test_a_national_list_item_without_a_name_keeps_its_category(client, db_session):
    add_user(db_session, "admin", Role.admin)
    login(client, "admin")
    response = post(
        client, "/priority/list/add", {"category": "disaster", "name": ""}, page="/priority/list"
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert targets(summary_of(page, "add-error-summary")) == ["name"]
    assert described(page, "name")
    assert re.search(r'<option selected value="disaster">|<option value="disaster" selected', page)


def test_a_rename_too_long_keeps_what_was_typed_at_its_row(client, db_session):
    add_user(db_session, "admin", Role.admin)
    login(client, "admin")
    page = client.get("/priority/list").get_data(as_text=True)
    item = re.search(r'id="name-(\d+)"', page).group(1)
    typed = "長" * 501
    response = post(client, f"/priority/list/{item}/rename", {"name": typed}, page="/priority/list")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert targets(summary_of(page, "rename-error-summary")) == [f"name-{item}"]
    assert described(page, f"name-{item}")
    assert has_tag(page, f'id="name-{item}"', f'value="{typed}"')


def test_a_refused_national_list_file_says_each_line_at_the_file_and_keeps_the_revision(
    client, db_session
):
    add_user(db_session, "admin", Role.admin)
    login(client, "admin")
    data = {
        "revision": "2023-06 改定",
        "file": (io.BytesIO(b"category,name\nchild_care,\n"), "x.csv"),
    }
    response = post(
        client,
        "/priority/list/upload",
        data,
        page="/priority/list",
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    summary = summary_of(page, "upload-error-summary")
    assert targets(summary) == ["file", "file"]
    assert "2行目: 手続名が空です。" in summary
    assert described(page, "file")
    assert has_tag(page, 'id="revision"', 'value="2023-06 改定"')


def test_a_user_created_with_a_short_password_keeps_the_login(client, db_session):
    add_user(db_session, "boss", Role.admin)
    login(client, "boss")
    data = {"login": "newclerk", "password": "short", "role": "viewer", "division": ""}
    response = post(client, "/admin/users", data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert targets(summary_of(page)) == ["password"]
    assert described(page, "password")
    assert has_tag(page, 'id="login"', 'value="newclerk"')
