"""Import fidelity (issue 16), through the web: what a clerk sees and what ends up stored.

Each fixture is a small workbook written here, named for the quirk it exercises.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from sqlmodel import select
from werkzeug.datastructures import MultiDict

from procedures.dashboard.summary import funnel
from procedures.models import AuditEvent, ImportBatch, Lifecycle, Procedure, Role
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login
from tests.test_imports import count, upload, workbook_bytes

# ------------------------------------------------------------------------------------------
# reading pages the way a browser does
# ------------------------------------------------------------------------------------------


class _FormReader(HTMLParser):
    """The fields of one form with what a browser would send.

    The form is found by the end of its action; an empty suffix finds the form without an
    action (which posts to its own page).
    """

    def __init__(self, action_suffix: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action_suffix = action_suffix
        self.inside = False
        self.found = False
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            action = attributes.get("action") or ""
            self.inside = action.endswith(self.action_suffix) if self.action_suffix else not action
            self.found = self.found or self.inside
        if not self.inside:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = attributes.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            if kind != "submit":
                self.fields.append((name, attributes.get("value") or ""))
        elif tag == "select" and name:
            self.select, self.options = name, []
        elif tag == "option" and self.select:
            self.options.append((attributes.get("value") or "", "selected" in attributes))
        elif tag == "textarea" and name:
            self.textarea, self.text = name, ""

    def handle_data(self, data):
        if self.textarea:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            chosen = [value for value, selected in self.options if selected]
            first = self.options[0][0] if self.options else ""
            self.fields.append((self.select, chosen[0] if chosen else first))
            self.select = None
        elif tag == "textarea" and self.textarea:
            # A browser drops the line break that follows <textarea>.
            text = self.text.removeprefix("\r\n") if self.text[:2] == "\r\n" else self.text
            self.fields.append((self.textarea, text.removeprefix("\n")))
            self.textarea = None


def form_fields(page: str, action_suffix: str) -> list[tuple[str, str]]:
    """Return the (name, value) pairs a browser would post from the form of that action."""
    reader = _FormReader(action_suffix)
    reader.feed(page)
    assert reader.found, f"no form posting to …{action_suffix or ' its own page'}"
    return reader.fields


def text_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def section(page: str, section_id: str) -> str:
    """Return the HTML of the page's <section id=…>."""
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', page, re.S)
    assert match, f"no section {section_id}"
    return match.group(1)


def _cell_text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def listed_values(page: str) -> list[tuple[str, str, str, str]]:
    """Return the rows of 'values to decide': (column, value as written, count, row numbers)."""
    rows = re.findall(
        r"<tr><td>(.*?)</td>\s*<td>(.*?)</td>\s*<td class=\"num\">(.*?)</td>"
        r"\s*<td>(.*?)</td>",
        section(page, "values"),
        re.S,
    )
    return [tuple(_cell_text(cell) for cell in row) for row in rows]


def problem_rows(page: str) -> list[str]:
    """Return the rows of 'problems found', each as its text."""
    body = section(page, "problems").split("<tbody>", 1)[1]
    return [_cell_text(row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def decide(client, location: str, decisions: dict[tuple[str, str], str]):
    """Post the values form as shown, with decisions {(field, value as written): decision}."""
    page = text_of(client, location)
    fields = dict(form_fields(page, "/values"))
    for name in [name for name in fields if name.startswith("value-field-")]:
        number = name.removeprefix("value-field-")
        chosen = decisions.get((fields[name], fields[f"value-key-{number}"]))
        if chosen is not None:
            fields[f"decision-{number}"] = chosen
    return client.post(f"{location}/values", data=fields)


def commit(client, location: str, scope: str | None = "whole"):
    data = {"csrf_token": csrf_token(client, location)}
    if scope is not None:
        data["scope"] = scope
    return client.post(f"{location}/commit", data=data)


def alerts(page: str, kind: str) -> list[str]:
    """Return the texts of the page's flashed messages of one kind (error, success …)."""
    found = re.findall(rf'<div class="alert alert-{kind}"[^>]*>(.*?)</div>', page, re.S)
    return [_cell_text(text) for text in found]


def procedure_named(db_session, name: str) -> Procedure:
    db_session.expire_all()
    return db_session.exec(select(Procedure).where(Procedure.name == name)).one()


def batch_named(db_session, file_name: str) -> ImportBatch:
    db_session.expire_all()
    return db_session.exec(select(ImportBatch).where(ImportBatch.file_name == file_name)).one()


def sign_in_office(db_session, client) -> None:
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")


# ------------------------------------------------------------------------------------------
# 1. a messy inventory: values listed once per column, decided, counted, kept as written
# ------------------------------------------------------------------------------------------

MESSY_HEADERS = (
    "課名",
    "手続名",
    "来庁の要否",
    "マイナポータル対応",
    "手数料",
    "押印",
    "オンライン化の状況",
)
#: Rows 2–7 as a division writes them. Not understood: 窓口で確認 (visit, rows 4 and 6),
#: 様式による (seal, row 3), 要確認 (My Number Portal, row 7) and システム更新時に検討 (online
#: status, rows 5 and 7).
MESSY_ROWS = [
    ("市民課", "転入届", "要", "対応可", "無料", "廃止済", "R7予定"),
    ("市民課", "転出届", "不要（郵送可）", "○", "300円", "様式による", "実施済"),
    ("市民課", "印鑑登録申請", "窓口で確認", "×", "300円", "○", "実施済"),
    ("市民課", "住民票の写しの交付請求", "要", "対応可", "300円", "要", "システム更新時に検討"),
    ("市民課", "戸籍謄本の交付請求", "窓口で確認", "×", "無料", "廃止済", "R7予定"),
    ("市民課", "改葬許可申請", "要", "要確認", "無料", "○", "システム更新時に検討"),
]


def test_messy_inventory_lists_values_once_counts_decisions_and_keeps_the_words(client, db_session):
    """Values not understood are listed once per column; decided they count, undecided kept."""
    sign_in_office(db_session, client)
    content = workbook_bytes(MESSY_ROWS, MESSY_HEADERS)
    location = upload(client, content, "messy_division_words.xlsx").headers["Location"]
    page = text_of(client, location)
    assert listed_values(page) == [
        ("来庁の要否", "窓口で確認", "2", "4, 6"),
        ("マイナポータル対応 (マイナポータル)", "要確認", "1", "7"),
        ("押印 (押印・署名)", "様式による", "1", "3"),
        ("オンライン化の状況", "システム更新時に検討", "2", "5, 7"),
    ]
    # The column chooses what a value means, not which field a column is read as.
    assert _cell_text(re.search(r"<thead>(.*?)</thead>", section(page, "values"), re.S)[1]) == (
        "列 記載された値 行数 行番号 意味・判断"
    )
    assert "4件の値が未判断です。" in page

    response = decide(
        client,
        location,
        {
            ("mynaportal_eligible", "要確認"): "yes",
            ("online_status", "システム更新時に検討"): "partial",
        },
    )
    assert response.status_code == 302
    page = text_of(client, location)
    assert "判断を適用しました。もう一度プレビューを確認してください。" in alerts(page, "success")
    assert "2件の値が未判断です。" in page
    assert commit(client, location).status_code == 302

    counts = funnel(db_session)
    # By hand, rows 2–7: visit 要 on 転入届, 住民票, 改葬 (窓口で確認 left unknown); portal
    # 対応可 ×2, ○, and 要確認 decided yes; fee 300円 ×3; seal ○, 要, ○ (廃止済 and × are no,
    # 様式による unknown); online 実施済 ×2, and システム更新時に検討 decided partial ×2.
    assert {
        name: counts[name]
        for name in (
            "procedures",
            "in_person_required",
            "mynaportal_eligible",
            "fee_required",
            "seal_required",
            "online",
            "partly_online",
            "with_words_not_understood",
        )
    } == {
        "procedures": 6,
        "in_person_required": 3,
        "mynaportal_eligible": 4,
        "fee_required": 3,
        "seal_required": 3,
        "online": 2,
        "partly_online": 2,
        "with_words_not_understood": 5,
    }

    tenshutsu = procedure_named(db_session, "転出届")
    assert (tenshutsu.visit_required, tenshutsu.visit_reason, tenshutsu.fee_payment) == (
        False,
        "郵送可",
        "300円",
    )
    inkan = procedure_named(db_session, "印鑑登録申請")
    assert inkan.visit_required is None
    detail = text_of(client, f"/procedures/{inkan.id}")
    assert '<h3 id="words">所属が記載したとおり</h3>' in detail
    assert "<dt>来庁の要否</dt><dd>「窓口で確認」</dd>" in detail
    tennyu = procedure_named(db_session, "転入届")
    assert "所属が記載したとおり" not in text_of(client, f"/procedures/{tennyu.id}")


# ------------------------------------------------------------------------------------------
# 2. decisions are remembered for the division's next file with the same headers
# ------------------------------------------------------------------------------------------

VISIT_HEADERS = ("手続名", "来庁の要否")


def decision_cell(page: str, value: str) -> str:
    """Return the HTML of the values table's row of one value as written."""
    for row in re.findall(r"<tr>(.*?)</tr>", section(page, "values"), re.S):
        if f"<strong>{value}</strong>" in row:
            return row
    raise AssertionError(f"{value} is not listed")


def selected(cell: str) -> str | None:
    match = re.search(r'<option value="([^"]*)" selected>', cell)
    return match.group(1) if match else None


def test_decisions_are_applied_to_the_next_upload_shown_as_earlier_and_can_be_changed(
    client, db_session
):
    """A decision comes back on the division's next file, marked 前回の判断, and may change."""
    add_division(db_session, "市民課")
    sign_in_office(db_session, client)
    first = workbook_bytes([("転入届", "窓口で確認"), ("転出届", "要")], VISIT_HEADERS)
    location = upload(client, first, "visit_words_first.xlsx", division="市民課").headers[
        "Location"
    ]
    decide(client, location, {("visit_required", "窓口で確認"): "yes"})
    assert "前回の判断" not in decision_cell(text_of(client, location), "窓口で確認")
    commit(client, location)
    assert procedure_named(db_session, "転入届").visit_required is True

    second = workbook_bytes(
        [("転入届", "窓口で確認"), ("転出届", "要"), ("印鑑登録申請", "窓口で確認")], VISIT_HEADERS
    )
    location = upload(client, second, "visit_words_second.xlsx", division="市民課").headers[
        "Location"
    ]
    page = text_of(client, location)
    cell = decision_cell(page, "窓口で確認")
    assert (selected(cell), "前回の判断" in cell) == ("yes", True)
    assert "未判断です" not in page

    decide(client, location, {("visit_required", "窓口で確認"): "no"})
    cell = decision_cell(text_of(client, location), "窓口で確認")
    assert (selected(cell), "前回の判断" in cell) == ("no", False)
    commit(client, location)
    db_session.expire_all()
    visits = dict(db_session.exec(select(Procedure.name, Procedure.visit_required)).all())
    assert visits == {"転入届": False, "転出届": True, "印鑑登録申請": False}

    # The changed decision is the one remembered.
    third = workbook_bytes([("転出届", "窓口で確認")], VISIT_HEADERS)
    location = upload(client, third, "visit_words_third.xlsx", division="市民課").headers[
        "Location"
    ]
    cell = decision_cell(text_of(client, location), "窓口で確認")
    assert (selected(cell), "前回の判断" in cell) == ("no", True)


def test_an_earlier_decision_withdrawn_is_undecided_and_forgotten(client, db_session):
    """Choosing 未判断 for a 前回の判断 value leaves it unknown, and the next file asks again."""
    add_division(db_session, "市民課")
    sign_in_office(db_session, client)
    first = workbook_bytes([("転入届", "窓口で確認")], VISIT_HEADERS)
    location = upload(client, first, "visit_words_first.xlsx", division="市民課").headers[
        "Location"
    ]
    decide(client, location, {("visit_required", "窓口で確認"): "yes"})
    commit(client, location)

    second = workbook_bytes([("転入届", "窓口で確認"), ("転出届", "窓口で確認")], VISIT_HEADERS)
    location = upload(client, second, "visit_words_second.xlsx", division="市民課").headers[
        "Location"
    ]
    decide(client, location, {("visit_required", "窓口で確認"): ""})
    cell = decision_cell(text_of(client, location), "窓口で確認")
    assert (selected(cell), "前回の判断" in cell) == (None, False)
    commit(client, location)
    db_session.expire_all()
    visits = dict(db_session.exec(select(Procedure.name, Procedure.visit_required)).all())
    assert visits == {"転入届": None, "転出届": None}

    third = workbook_bytes([("印鑑登録申請", "窓口で確認")], VISIT_HEADERS)
    location = upload(client, third, "visit_words_third.xlsx", division="市民課").headers[
        "Location"
    ]
    cell = decision_cell(text_of(client, location), "窓口で確認")
    assert (selected(cell), "前回の判断" in cell) == (None, False)


def test_a_decision_is_not_applied_to_another_divisions_file(client, db_session):
    """A decision saved for one division leaves the same words undecided for another."""
    add_division(db_session, "市民課")
    add_division(db_session, "保険年金課")
    sign_in_office(db_session, client)
    content = workbook_bytes([("転入届", "窓口で確認")], VISIT_HEADERS)
    location = upload(client, content, "visit_words.xlsx", division="市民課").headers["Location"]
    decide(client, location, {("visit_required", "窓口で確認"): "yes"})
    commit(client, location)

    other = workbook_bytes([("国民健康保険の加入届", "窓口で確認")], VISIT_HEADERS)
    location = upload(client, other, "visit_words_other.xlsx", division="保険年金課").headers[
        "Location"
    ]
    page = text_of(client, location)
    cell = decision_cell(page, "窓口で確認")
    assert (selected(cell), "前回の判断" in cell) == (None, False)
    assert "1件の値が未判断です。" in page


# ------------------------------------------------------------------------------------------
# 3. an invalid decision is refused and changes nothing
# ------------------------------------------------------------------------------------------

VOLUME_HEADERS = ("課名", "手続名", "来庁の要否", "年間件数")


@pytest.mark.parametrize(
    ("valid", "invalid", "shown"),
    [
        # a volume that is not a number
        (("visit_required", "窓口で確認", "no"), ("annual_volume", "多数", "たくさん"), "たくさん"),
        # a volume above the largest the edit form accepts
        (
            ("visit_required", "窓口で確認", "no"),
            ("annual_volume", "多数", "1,000,000,001"),
            "1000000001",
        ),
        # a choice the list does not offer
        (("annual_volume", "多数", "1200"), ("visit_required", "窓口で確認", "maybe"), "maybe"),
    ],
    ids=["volume-not-a-number", "volume-too-large", "choice-not-offered"],
)
def test_an_invalid_decision_is_refused_and_leaves_the_decisions_as_they_were(
    client, db_session, valid, invalid, shown
):
    """A form with one invalid decision is refused whole, with a message naming the value."""
    sign_in_office(db_session, client)
    content = workbook_bytes(
        [("市民課", "転入届", "窓口で確認", "多数"), ("市民課", "転出届", "要", "2000")],
        VOLUME_HEADERS,
    )
    location = upload(client, content, "invalid_decisions.xlsx").headers["Location"]
    decide(client, location, {("visit_required", "窓口で確認"): "yes"})
    batch = batch_named(db_session, "invalid_decisions.xlsx")
    before = (batch.value_map, batch.report)
    assert json.loads(batch.value_map) == {"visit_required": {"窓口で確認": "yes"}}

    page = text_of(client, location)
    fields = dict(form_fields(page, "/values"))
    numbers = {}  # (field, value as written) -> the number of its row in the form
    for name in fields:
        if name.startswith("value-field-"):
            number = name.removeprefix("value-field-")
            numbers[(fields[name], fields[f"value-key-{number}"])] = number
    data = {"csrf_token": fields["csrf_token"]}
    for field, value, decision in (valid, invalid):  # the valid one first
        number = numbers[(field, value)]
        data[f"value-field-{number}"] = field
        data[f"value-key-{number}"] = value
        data[f"decision-{number}"] = decision
    response = client.post(f"{location}/values", data=data)
    # Refused whole: the page again, the message in the summary and at its row, and every
    # decision as it was entered.
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    message = f"「{shown}」はこの列の選択肢にありません。何も変更していません。"
    number = numbers[(invalid[0], invalid[1])]
    summary = page.split('id="values-error-summary"', 1)[1].split("</div>", 1)[0]
    assert re.findall(r'<a href="#([^"]+)">', summary) == [f"decision-{number}"]
    refused = decision_cell(page, invalid[1])
    assert f'<p class="field-error" id="decision-{number}-error">{message}</p>' in refused
    assert f'aria-describedby="decision-{number}-error"' in refused
    kept = decision_cell(page, valid[1])
    assert selected(kept) == valid[2] if "<select" in kept else f'value="{valid[2]}"' in kept
    if "<select" not in refused:
        assert f'value="{invalid[2]}"' in refused
    batch = batch_named(db_session, "invalid_decisions.xlsx")
    assert (batch.value_map, batch.report) == before

    page = text_of(client, location)
    assert selected(decision_cell(page, "窓口で確認")) == "yes"
    assert 'value=""' in decision_cell(page, "多数")


def test_a_volume_decision_typed_in_full_width_digits_is_read_as_the_number(client, db_session):
    """１，２００ typed with the Japanese input method on is the decision 1200, as the edit form."""
    sign_in_office(db_session, client)
    content = workbook_bytes(
        [("市民課", "転入届", "要", "多数"), ("市民課", "転出届", "要", "2000")], VOLUME_HEADERS
    )
    location = upload(client, content, "full_width_decision.xlsx").headers["Location"]
    decide(client, location, {("annual_volume", "多数"): "１，２００"})
    page = text_of(client, location)
    assert alerts(page, "error") == []
    assert 'value="1200"' in decision_cell(page, "多数")
    commit(client, location)
    assert procedure_named(db_session, "転入届").annual_volume == 1200


# ------------------------------------------------------------------------------------------
# 4. a file with only some of a division's procedures: whole inventory, or only these?
# ------------------------------------------------------------------------------------------

#: 市民課's inventory: four procedures.
FULL_INVENTORY = [
    ("市民課", "転入届", "3100"),
    ("市民課", "転出届", "2000"),
    ("市民課", "印鑑登録申請", "500"),
    ("市民課", "改葬許可申請", "30"),
]
#: A file of two of them, one with a new volume: 印鑑登録申請 and 改葬許可申請 are absent.
TWO_OF_FOUR = [("市民課", "転入届", "3300"), ("市民課", "転出届", "2000")]


def partial_upload(client, db_session) -> str:
    """Import 市民課's four procedures, then upload a file of two of them; return its page."""
    sign_in_office(db_session, client)
    location = upload(client, workbook_bytes(FULL_INVENTORY), "full_inventory.xlsx").headers[
        "Location"
    ]
    assert commit(client, location).status_code == 302
    assert count(db_session, Procedure) == 4
    return upload(client, workbook_bytes(TWO_OF_FOUR), "two_of_four.xlsx").headers["Location"]


def lifecycles(db_session) -> dict[str, str]:
    db_session.expire_all()
    rows = db_session.exec(select(Procedure.name, Procedure.lifecycle)).all()
    return {name: Lifecycle(lifecycle).value for name, lifecycle in rows}


def scope_result(page: str) -> str | None:
    """Return what a committed import's page says of the scope chosen, if anything."""
    match = re.search(r'<p id="scope-result">(.*?)</p>', page, re.S)
    return _cell_text(match.group(1)) if match else None


def test_partial_file_asks_whether_it_is_the_whole_inventory(client, db_session):
    """The preview asks what the file is, naming how many procedures it lacks, with no default."""
    location = partial_upload(client, db_session)
    page = text_of(client, location)
    question = re.search(r'<fieldset class="field">(.*?)</fieldset>', page, re.S)
    assert question, "no scope question"
    assert _cell_text(question.group(1)) == (
        "この所属の手続のうち2件がこのファイルにありません。このファイルは何ですか。 "
        "このファイルは所属の手続の全件です。このファイルに無い2件を「未掲載」にします。 "
        "このファイルは載っている手続だけを更新します。ほかの2件はそのままにします。"
    )
    radios = re.findall(r'<input[^>]*name="scope"[^>]*>', question.group(1))
    assert [re.search(r'value="([^"]+)"', radio).group(1) for radio in radios] == [
        "whole",
        "only_these",
    ]
    assert not any("checked" in radio for radio in radios)


def test_partial_file_imported_as_only_these_marks_nothing_missing(client, db_session):
    """Scope only_these updates the file's procedures and marks none missing."""
    location = partial_upload(client, db_session)
    assert commit(client, location, "only_these").status_code == 302
    page = text_of(client, location)
    assert "取り込みました：新規 0件、変更 1件、変更なし 1件、未掲載 0件。" in alerts(
        page, "success"
    )
    # The result says which scope was chosen, and what it left alone.
    assert scope_result(page) == (
        "このファイルに載っている手続だけを更新しました。所属のほかの2件はそのままです。"
    )
    client.get("/lang/en")
    assert scope_result(text_of(client, location)) == (
        "Only the procedures in this file were updated; 2 others of its divisions were left as "
        "they are."
    )
    assert set(lifecycles(db_session).values()) == {"active"}
    assert procedure_named(db_session, "転入届").annual_volume == 3300
    batch = batch_named(db_session, "two_of_four.xlsx")
    assert (batch.status, batch.scope, batch.missing) == ("committed", "only_these", 0)


def test_partial_file_imported_as_whole_marks_exactly_the_absent_missing(client, db_session):
    """Scope whole marks the two procedures absent from the file missing, and only them."""
    location = partial_upload(client, db_session)
    assert commit(client, location, "whole").status_code == 302
    page = text_of(client, location)
    assert "取り込みました：新規 0件、変更 1件、変更なし 1件、未掲載 2件。" in alerts(
        page, "success"
    )
    assert scope_result(page) == "このファイルに無い所属の手続2件を「未掲載」にしました。"
    client.get("/lang/en")
    assert scope_result(text_of(client, location)) == (
        "2 procedures of its divisions absent from this file were marked missing."
    )
    assert lifecycles(db_session) == {
        "転入届": "active",
        "転出届": "active",
        "印鑑登録申請": "missing",
        "改葬許可申請": "missing",
    }
    batch = batch_named(db_session, "two_of_four.xlsx")
    assert (batch.status, batch.scope, batch.missing) == ("committed", "whole", 2)


def test_partial_file_without_a_chosen_scope_is_refused_and_writes_nothing(client, db_session):
    """Importing a file that lacks procedures without saying what it is is refused."""
    location = partial_upload(client, db_session)
    events = count(db_session, AuditEvent)
    response = commit(client, location, scope=None)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(location)
    page = text_of(client, location)
    assert alerts(page, "error") == [
        "このファイルが全件か、載っている手続だけの更新かを選んでから取り込んでください。"
    ]
    assert set(lifecycles(db_session).values()) == {"active"}
    assert procedure_named(db_session, "転入届").annual_volume == 3100
    batch = batch_named(db_session, "two_of_four.xlsx")
    assert (batch.status, batch.scope) == ("previewed", None)
    assert count(db_session, AuditEvent) == events


def test_file_lacking_no_procedure_asks_nothing_and_imports_without_a_scope(client, db_session):
    """When no procedure is absent there is no scope question and the import needs no scope."""
    location = partial_upload(client, db_session)
    commit(client, location, "only_these")
    again = workbook_bytes(FULL_INVENTORY[:3] + [("市民課", "改葬許可申請", "40")])
    location = upload(client, again, "full_inventory_again.xlsx").headers["Location"]
    page = text_of(client, location)
    assert 'name="scope"' not in page
    assert commit(client, location, scope=None).status_code == 302
    # Nothing was absent, nothing left alone or marked missing: the result says nothing of it.
    assert scope_result(text_of(client, location)) is None
    assert procedure_named(db_session, "改葬許可申請").annual_volume == 40


# ------------------------------------------------------------------------------------------
# 5. every row refused: no import button, one grouped problem, the column to remap
# ------------------------------------------------------------------------------------------

#: The national list as a division downloads it: 所管府省庁 (read as the division) holds the
#: ministry on every row.
MINISTRY_AS_DIVISION = [
    ("総務省", "住民異動届", "1200"),
    ("総務省", "印鑑登録証明書の交付申請", "800"),
    ("総務省", "住民票の写しの交付請求", "9000"),
]


def test_file_whose_every_row_is_refused_has_no_import_button_and_names_the_column(
    client, db_session
):
    """Every row refused: one grouped problem naming 所管府省庁, no button, commit refused."""
    add_division(db_session, "市民課")
    add_user(db_session, "shimin", Role.division, division="市民課")
    login(client, "shimin")
    content = workbook_bytes(MINISTRY_AS_DIVISION, ("所管府省庁", "手続名", "年間件数"))
    location = upload(client, content, "ministry_column_as_division.xlsx").headers["Location"]
    page = text_of(client, location)
    assert "このファイルには取り込める行がありません" in page
    assert f'action="{location}/commit"' not in page
    assert problem_rows(page) == [
        "取込不可 3 Sheet 行 2, 3, 4 "
        "この手続は「総務省」のものですが、取り込めるのは「市民課」の手続だけです。"
        "行を削除するか、DX推進担当に取り込みを依頼してください。 "
        "列「所管府省庁」を所属として読みました。所属の列でない場合は、"
        "下の「列」でその列の対応付けを変更してください。"
    ]

    response = commit(client, location)
    assert response.status_code == 302
    page = text_of(client, location)
    assert "このファイルの行はすべて取り込めませんでした。取り込むものはありません。" in alerts(
        page, "error"
    )
    assert (count(db_session, Procedure), count(db_session, AuditEvent)) == (0, 0)
    assert batch_named(db_session, "ministry_column_as_division.xlsx").status == "previewed"


# ------------------------------------------------------------------------------------------
# 6. safeguards said before the import button
# ------------------------------------------------------------------------------------------


def test_volumes_far_above_the_others_give_one_grouped_warning_before_the_button(
    client, db_session
):
    """Two volumes a thousand times the median: one warning with their count and rows."""
    sign_in_office(db_session, client)
    rows = [
        ("市民課", "転入届", "120"),
        ("市民課", "転出届", "300"),
        ("市民課", "改葬許可申請", "80"),
        ("市民課", "住民票の写しの交付請求", "5,000,000"),
        ("市民課", "印鑑登録申請", "4500000"),
    ]
    location = upload(client, workbook_bytes(rows), "volume_typo.xlsx").headers["Location"]
    page = text_of(client, location)
    # Its count, sheet, column and rows in their cells, like the refusals; not in the sentence.
    warning = (
        "このファイルの他の手続より年間件数が極端に多くなっています"
        "（中央値300の1,000倍超、かつ1,000,000件以上）。"
    )
    assert [row for row in problem_rows(page) if "極端に多" in row] == [
        f"警告 2 Sheet / 年間件数 行 5, 6 {warning}入力誤りでないか確認し、誤りならファイルを"
        "修正してください。正しければそのまま取り込めます。"
    ]
    assert page.index(warning) < page.index(f'action="{location}/commit"')
    client.get("/lang/en")
    assert [row for row in problem_rows(text_of(client, location)) if "far above" in row] == [
        "Warning 2 Sheet / 年間件数 rows 5, 6 The yearly volumes are far above the others in "
        "this file (more than 1,000 times the median of 300, and at least 1,000,000). Check "
        "that they are not typing errors; correct them in the file, or import if they are right."
    ]


def test_new_procedures_known_in_another_division_are_warned_of_by_code_and_by_name(
    client, db_session
):
    """A new code or name another division already has is named with that division."""
    kodomo = add_division(db_session, "子育て給付課", "子ども青少年部")
    add_procedure(db_session, kodomo, "児童手当の認定請求", code="K-1")
    sign_in_office(db_session, client)
    rows = [
        ("市民課", "K-1", "児童扶養手当の認定請求"),
        ("市民課", "S-9", "児童手当の認定請求"),
        ("市民課", "S-10", "転入届"),
    ]
    content = workbook_bytes(rows, ("課名", "手続コード", "手続名"))
    location = upload(client, content, "known_elsewhere.xlsx").headers["Location"]
    page = text_of(client, location)
    warnings = [row for row in problem_rows(page) if row.startswith("警告")]
    assert warnings == [
        "警告 1 Sheet / 手続コード 行 2 新しい手続のコードが他の課の手続で既に使われています"
        "（「子育て給付課」の「K-1」）。同じ手続であれば、ファイルの課か、"
        "課として読み取った列を修正してください。別の手続であれば、新規として取り込めます。",
        "警告 1 Sheet / 手続名 行 3 新しい手続と同じ名前の手続が他の課にあります"
        "（「子育て給付課」の「児童手当の認定請求」）。同じ手続であれば、"
        "ファイルの課か、課として読み取った列を修正してください。別の手続であれば、"
        "新規として取り込めます。",
    ]
    client.get("/lang/en")
    warnings = [row for row in problem_rows(text_of(client, location)) if row.startswith("Warning")]
    assert warnings == [
        "Warning 1 Sheet / 手続コード row 2 This new procedure has a code already used in "
        "another division (“K-1” in “子育て給付課”). If it is the same procedure, correct the "
        "division in the file or the column read as the division; if not, import it as new.",
        "Warning 1 Sheet / 手続名 row 3 This new procedure has the name of a procedure of "
        "another division (“児童手当の認定請求” in “子育て給付課”). If it is the same procedure, "
        "correct the division in the file or the column read as the division; if not, import "
        "it as new.",
    ]


# ------------------------------------------------------------------------------------------
# 7. the edit form accepts what the importer accepts
# ------------------------------------------------------------------------------------------


def test_an_imported_large_volume_can_be_saved_from_the_edit_form(client, db_session):
    """A procedure imported with 123,490,614 a year saves from its edit form unchanged."""
    sign_in_office(db_session, client)
    rows = [("総務課", "統計調査票の受付", "123,490,614")]
    location = upload(client, workbook_bytes(rows), "national_scale_volume.xlsx").headers[
        "Location"
    ]
    commit(client, location)
    procedure = procedure_named(db_session, "統計調査票の受付")
    assert procedure.annual_volume == 123_490_614

    url = f"/procedures/{procedure.id}/edit"
    fields = form_fields(text_of(client, url), "")
    assert ("annual_volume", "123490614") in fields
    fields = [(name, "備考を追記" if name == "notes" else value) for name, value in fields]
    response = client.post(url, data=MultiDict(fields))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith(f"/procedures/{procedure.id}")
    assert alerts(text_of(client, f"/procedures/{procedure.id}"), "success") == [
        "保存しました（1項目を変更）。"
    ]
    saved = procedure_named(db_session, "統計調査票の受付")
    assert (saved.annual_volume, saved.notes) == (123_490_614, "備考を追記")


# ------------------------------------------------------------------------------------------
# 8. the preview's changes and the result page, as the rest of the application shows them
# ------------------------------------------------------------------------------------------


def change_rows(page: str) -> list[str]:
    """Return the rows of the preview's 'changes' table, each as its text."""
    body = section(page, "changes").split("<tbody>", 1)[1]
    return [_cell_text(row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


CHANGED_HEADERS = (
    "課名",
    "手続名",
    "年間件数",
    "押印",
    "オンライン化の状況",
    "来庁の要否",
    "手数料",
)


def test_changes_show_values_in_words_numbers_and_labels_in_the_pages_language(client, db_session):
    """Yes / no / unknown in the page's language, 42,000 not 42000, a status by its label."""
    shimin = add_division(db_session, "市民課")
    add_procedure(
        db_session,
        shimin,
        "転入届",
        annual_volume=40000,
        seal_required=True,
        visit_required=False,
        online_status="not_done",
    )
    sign_in_office(db_session, client)
    row = ("市民課", "転入届", "42,000", "不要", "実施済", "要", "300円")
    content = workbook_bytes([row], CHANGED_HEADERS)
    location = upload(client, content, "changed_values.xlsx").headers["Location"]
    assert change_rows(text_of(client, location)) == [
        "変更 市民課 転入届 年間件数: 40,000 → 42,000 来庁の要否: 不要 → 要 "
        "手数料: 不明 → はい 手数料の納付方法: — → 300円 押印・署名: はい → いいえ "
        "オンライン化の状況: 未実施 → 実施済 "
        # The steps the status tells: an online procedure identifies online (importers/steps).
        "本人確認（段階）: 未確認 → オンライン 申請（段階）: 未確認 → オンライン"
    ]
    client.get("/lang/en")
    assert change_rows(text_of(client, location)) == [
        "Changed 市民課 転入届 Annual volume: 40,000 → 42,000 Visit required: No visit → "
        "Visit needed Fee: Unknown → Yes How the fee is paid: — → 300円 Seal or signature: "
        "Yes → No Online status: Not online → Online Identification (step): Not confirmed → "
        "Online Application (step): Not confirmed → Online"
    ]
