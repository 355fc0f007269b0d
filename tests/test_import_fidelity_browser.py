"""In Chromium, as a DX-office clerk, in Japanese and in English: a messy inventory's import.

The clerk uploads a division's sheet with values the tool does not understand and one volume
far above the others, decides the values, reads the grouped warning, answers the scope
question with "only these", imports, and finds the procedures absent from the file still
active and the undecided words kept on a procedure's page as the division wrote them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import select

from procedures.models import Lifecycle, Procedure, Role
from tests.conftest import PASSWORD, add_division, add_procedure, add_user
from tests.test_browser import SCREENSHOTS, browser_page, live_server, shoot  # noqa: F401

pytestmark = pytest.mark.browser

DIVISION = "市民課"

#: The sheet as the division sent it: a title, a blank row, the header on row 3, data below.
HEADER = ["課名", "手続名", "年間件数", "来庁の要否", "マイナポータル対応", "手数料", "押印"]
ROWS = [
    # row 4: already in the inventory, changed (volume, seal)
    [DIVISION, "住民票の写しの交付申請", "42,000", "不要", "○", "300円", "廃止済"],
    # row 5: new; an estimate and a cross
    [DIVISION, "印鑑登録証明書の交付申請", "約25,000", "要", "×", "300円", "要"],
    # row 6: already in the inventory, unchanged
    [DIVISION, "転入届", "3,100", "要", "○", "無料", "不要"],
    # row 7: new; 窓口のみ is no yes/no answer (left undecided)
    [DIVISION, "戸籍謄本の交付申請", "8,000", "窓口のみ", "×", "450円", "廃止済"],
    # row 8: new; 検討中 is no portal answer (decided no), 要相談 no fee answer (yes)
    [DIVISION, "住民票コードの変更請求", "1,200", "要", "検討中", "要相談", "○"],
    # row 9: new; 43,000,000 a year is far above the others (a typing error, most likely)
    [DIVISION, "印鑑登録申請", "43,000,000", "要", "○", "要相談", "要"],
]

#: In the division already, absent from the file: they must stay active ("only these").
ABSENT = ["住民基本台帳の一部の写しの閲覧申請", "住民票の写しの広域交付"]

#: Every text the clerk reads or clicks, as the page shows it in each language.
TEXTS = {
    "ja": {
        "login": "ログインID",
        "password": "パスワード",
        "sign_in": "ログイン",
        "import_nav": "取り込み",
        "file": "手続一覧ファイル",
        "division": "課",
        "upload": "アップロードして確認",
        "preview": "確認中",
        "stats": {
            "読み込んだ行": "6",
            "新規": "4",
            "変更": "1",
            "変更なし": "1",
            "未掲載": "2",
            "取り込めない行": "0",
        },
        "values": "判断が必要な値",
        "values_lead": (
            "この値の意味をツールが判断できません。それぞれ判断するか、未判断のままにしてください"
            "（未判断は「不明」として記録します。マイナポータルの対応は今の値のままです）。記載された文言はどちらの場合も各手続に残ります。"
            "判断はこのファイルの列とともに記憶し、同じ所属から同じ列のファイルを次に取り込むときにも使います。"
        ),
        "undecided_3": "3件の値が未判断です。",
        "undecided_1": "1件の値が未判断です。",
        "values_head": ["列", "記載された値", "行数", "行番号", "意味・判断"],
        # The field in brackets only where the header does not already say it.
        "values_rows": [
            ["来庁の要否", "窓口のみ", "1", "7"],
            ["マイナポータル対応 (マイナポータル)", "検討中", "1", "8"],
            ["手数料", "要相談", "2", "8, 9"],
        ],
        "read_as": "「{}」の読み方",
        "options": ["未判断（不明として記録）", "はい", "いいえ", "不明（判断済み）"],
        # The portal answer cannot be unknown: undecided keeps the answer (no when new).
        "portal_options": [
            "未判断（既存の手続は今の値のまま、新規は「いいえ」）",
            "はい",
            "いいえ",
        ],
        "undecided": "未判断（不明として記録）",
        "yes": "はい",
        "no": "いいえ",
        "apply": "この判断を適用する",
        "applied": "判断を適用しました。もう一度プレビューを確認してください。",
        "problems": "見つかった問題",
        "problems_head": ["種別", "行数", "場所", "対応"],
        "warning": "警告",
        # Its count, sheet, column and row in their cells; the sentence does not repeat them.
        "implausible": [
            "1",
            "市民課 / 年間件数 行 9",
            "このファイルの他の手続より年間件数が極端に多くなっています"
            "（中央値16,500の1,000倍超、かつ1,000,000件以上）。"
            "入力誤りでないか確認し、誤りならファイルを修正してください。正しければそのまま取り込めます。",
        ],
        "changed_row": "年間件数: 40,000 → 42,000 押印・署名: はい → いいえ",
        "scope_legend": (
            "この所属の手続のうち2件がこのファイルにありません。このファイルは何ですか。"
        ),
        "scope_whole": (
            "このファイルは所属の手続の全件です。このファイルに無い2件を「未掲載」にします。"
        ),
        "scope_only": "このファイルは載っている手続だけを更新します。ほかの2件はそのままにします。",
        "import": "この内容で取り込む",
        "imported_flash": ("取り込みました：新規 4件、変更 1件、変更なし 1件、未掲載 0件。"),
        "imported": "取り込み済み",
        "result_stats": {
            "読み込んだ行": "6",
            "新規": "4",
            "変更": "1",
            "変更なし": "1",
            "未掲載": "0",
            "取り込めない行": "0",
        },
        "scope_result": (
            "このファイルに載っている手続だけを更新しました。所属のほかの2件はそのままです。"
        ),
        "to_list": "手続一覧へ",
        "more_filters": "その他の条件",
        "state": "状態",
        "missing_state": "取り込みファイルに未掲載",
        "filter": "絞り込む",
        "no_match": "条件に合う手続はありません。",
        "visit": "来庁の要否",
        "fee": "手数料",
        "portal": "マイナポータル",
        "unknown": "不明",
        "fee_yes": "はい",  # the words stay under 所属が記載したとおり, not as how to pay
        "words": "所属が記載したとおり",
        "quoted": "「{}」",
        "revert": "この取り込みを元に戻す",
        "words_lead": (
            "取込時に意味を読み取れなかった値です。各項目には人が判断した値か「不明」が入っています。"
            "記載された文言はここにそのまま残しています。"
        ),
    },
    "en": {
        "login": "Login",
        "password": "Password",
        "sign_in": "Sign in",
        "import_nav": "Import",
        "file": "Inventory file",
        "division": "Division",
        "upload": "Upload and preview",
        "preview": "Preview",
        "stats": {
            "rows read": "6",
            "new": "4",
            "changed": "1",
            "unchanged": "1",
            "missing from the file": "2",
            "rows refused": "0",
        },
        "values": "Values to decide",
        "values_lead": (
            "The tool does not know what these values mean. Decide each one, or leave it "
            "undecided: it is then recorded as unknown (a procedure's My Number Portal answer "
            "stays as it was). The words as written are kept on each procedure either way. "
            "Your decisions are remembered with this file's columns and used again for the next "
            "file with the same columns from the same division."
        ),
        "undecided_3": "3 values are undecided.",
        "undecided_1": "1 value is undecided.",
        "values_head": ["Column", "Value as written", "Rows", "Row numbers", "Meaning"],
        "values_rows": [
            ["来庁の要否 (Visit required)", "窓口のみ", "1", "7"],
            ["マイナポータル対応 (My Number Portal)", "検討中", "1", "8"],
            ["手数料 (Fee)", "要相談", "2", "8, 9"],
        ],
        "read_as": "Read “{}” as",
        "options": ["Undecided (unknown)", "Yes", "No", "Unknown (decided)"],
        "portal_options": ["Undecided (kept as it was; no for a new procedure)", "Yes", "No"],
        "undecided": "Undecided (unknown)",
        "yes": "Yes",
        "no": "No",
        "apply": "Apply these decisions",
        "applied": "Your decisions were applied. Check the preview again.",
        "problems": "Problems found",
        "problems_head": ["Kind", "Rows", "Where", "What to do"],
        "warning": "Warning",
        "implausible": [
            "1",
            "市民課 / 年間件数 row 9",
            "The yearly volume is far above the others in this file (more than 1,000 times the "
            "median of 16,500, and at least 1,000,000). Check that it is not a typing error; "
            "correct it in the file, or import it if it is right.",
        ],
        "changed_row": "Annual volume: 40,000 → 42,000 Seal or signature: Yes → No",
        "scope_legend": "2 procedures of these divisions are not in this file. What is this file?",
        "scope_whole": (
            "This file is the whole inventory of its divisions: mark the 2 procedures absent "
            "from it as missing."
        ),
        "scope_only": (
            "This file updates only the procedures in it: leave the 2 others as they are."
        ),
        "import": "Import these changes",
        "imported_flash": "Imported: 4 new, 1 changed, 1 unchanged, 0 missing.",
        "imported": "Imported",
        "result_stats": {
            "rows read": "6",
            "new": "4",
            "changed": "1",
            "unchanged": "1",
            "missing from the file": "0",
            "rows refused": "0",
        },
        "scope_result": (
            "Only the procedures in this file were updated; 2 others of its divisions were left "
            "as they are."
        ),
        "to_list": "Go to the procedure list",
        "more_filters": "More filters",
        "state": "State",
        "missing_state": "Missing in the last import",
        "filter": "Filter",
        "no_match": "No procedure matches these filters.",
        "visit": "Visit required",
        "fee": "Fee",
        "portal": "My Number Portal",
        "unknown": "Unknown",
        "fee_yes": "Yes",  # the words stay under "As the division wrote it"
        "words": "As the division wrote it",
        "quoted": "“{}”",
        "revert": "Revert this import",
        "words_lead": (
            "The import did not understand these values. Each field holds a person's decision "
            "or unknown; the words are kept here as written."
        ),
    },
}


def messy_inventory(path: Path) -> Path:
    """Write the division's sheet: a title row, a blank row, then the header and the rows."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = DIVISION
    sheet.append(["市民課 手続一覧（令和6年4月1日現在）"])
    sheet.append([])
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append(row)
    workbook.save(path)
    return path


def shoot_part(locator, name: str) -> None:
    """Keep a screenshot of one part of the page beside the full-page ones."""
    if SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        locator.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def stats(page) -> dict[str, str]:
    """Return the counts of the first stat grid: {label: value}."""
    grid = page.locator(".stat-grid").first
    labels = grid.locator(".stat-label").all_inner_texts()
    values = grid.locator(".stat-value").all_inner_texts()
    return dict(zip(labels, values, strict=True))


def cells(row) -> list[str]:
    """Return the texts of a table row's cells, whitespace collapsed."""
    return [" ".join(text.split()) for text in row.locator("th, td").all_inner_texts()]


def definitions(dl) -> dict[str, str]:
    """Return a definition list as {term: definition}."""
    # A term's "?" (its glossary explanation, templates/_macros.html) is not part of its label.
    terms = dl.locator("dt").evaluate_all(
        "nodes => nodes.map((node) => { const label = node.cloneNode(true);"
        " label.querySelectorAll('.term-help').forEach((help) => help.remove());"
        " return label.innerText; })"
    )
    details = dl.locator("dd").all_inner_texts()
    return {t.strip(): d.strip() for t, d in zip(terms, details, strict=True)}


def note_console_error(message, errors: list[str]) -> None:
    """Keep a console error, but the browser's own request of /favicon.ico (none is served)."""
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        errors.append(f"{message.text} ({message.location.get('url')})")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_clerk_decides_values_reads_warnings_and_imports_only_these(
    lang,
    live_server,  # noqa: F811
    browser_page,  # noqa: F811
    db_session,
    tmp_path,
):
    text = TEXTS[lang]
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: note_console_error(message, errors))

    shimin = add_division(db_session, DIVISION)
    add_procedure(
        db_session,
        shimin,
        "住民票の写しの交付申請",
        annual_volume=40000,
        visit_required=False,
        mynaportal_eligible=True,
        fee_required=True,
        fee_payment="300円",
        seal_required=True,
    )
    add_procedure(
        db_session,
        shimin,
        "転入届",
        annual_volume=3100,
        visit_required=True,
        mynaportal_eligible=True,
        fee_required=False,
        seal_required=False,
        steps='{"payment":"not_applicable"}',  # no fee: as the file tells (importers/steps)
    )
    absent_ids = [
        add_procedure(db_session, shimin, name, annual_volume=50, visit_required=True).id
        for name in ABSENT
    ]
    add_user(db_session, "office", Role.dx_office)

    # 1. sign in, in the chosen language, and upload the division's sheet
    page.goto(f"{live_server}/lang/{lang}?next=/login")
    assert page.locator("html").get_attribute("lang") == lang
    page.get_by_label(text["login"], exact=True).fill("office")
    page.get_by_label(text["password"]).fill(PASSWORD)
    page.get_by_role("button", name=text["sign_in"]).click()
    page.wait_for_url(f"{live_server}/procedures")
    assert page.locator("html").get_attribute("lang") == lang  # kept across signing in
    page.get_by_role("link", name=text["import_nav"], exact=True).click()
    page.get_by_label(text["file"]).set_input_files(str(messy_inventory(tmp_path / "市民課.xlsx")))
    page.get_by_label(text["division"], exact=True).select_option(DIVISION)
    page.get_by_role("button", name=text["upload"]).click()
    page.wait_for_url(f"{live_server}/imports/*")
    assert page.get_by_role("heading", level=1).inner_text() == "市民課.xlsx"
    assert page.locator(".alert-info strong").inner_text() == text["preview"]
    assert stats(page) == text["stats"]

    # 2. the values to decide: three, one of them on two rows
    values = page.locator("section#values")
    assert values.get_by_role("heading", level=2).inner_text() == text["values"]
    paragraphs = values.locator(":scope > p")
    assert paragraphs.nth(0).inner_text() == text["values_lead"]
    assert paragraphs.nth(1).inner_text() == text["undecided_3"]
    assert cells(values.locator("thead tr")) == text["values_head"]
    rows = values.locator("tbody tr")
    assert rows.count() == 3
    for index, expected in enumerate(text["values_rows"]):
        assert cells(rows.nth(index))[:4] == expected
        choice = rows.nth(index).get_by_label(text["read_as"].format(expected[1]))
        options = text["portal_options"] if expected[1] == "検討中" else text["options"]
        assert choice.locator("option").all_inner_texts() == options
        assert choice.input_value() == ""
    assert values.locator(".badge").count() == 0  # nothing was decided earlier
    shoot(page, f"fidelity-1-preview-{lang}")
    shoot_part(values, f"fidelity-1-values-{lang}")

    page.get_by_label(text["read_as"].format("窓口のみ")).select_option(label=text["undecided"])
    page.get_by_label(text["read_as"].format("検討中")).select_option(label=text["no"])
    page.get_by_label(text["read_as"].format("要相談")).select_option(label=text["yes"])
    with page.expect_navigation():
        values.get_by_role("button", name=text["apply"]).click()
    assert page.locator(".alert-success").inner_text() == text["applied"]
    # The page opens at its top: the confirmation is in sight, not scrolled above the screen.
    assert page.evaluate("window.scrollY") == 0
    assert page.locator(".alert-success").bounding_box()["y"] < 900
    if SCREENSHOTS:  # what the clerk sees after applying
        page.screenshot(path=str(SCREENSHOTS / f"fidelity-2-applied-viewport-{lang}.png"))
    values = page.locator("section#values")
    assert values.locator(":scope > p").nth(1).inner_text() == text["undecided_1"]
    decided = {
        "窓口のみ": "",
        "検討中": "no",
        "要相談": "yes",
    }
    for value, decision in decided.items():
        assert page.get_by_label(text["read_as"].format(value)).input_value() == decision
    assert values.locator("tbody tr").count() == 3  # decided values stay listed, decided
    assert values.locator(".badge").count() == 0  # decided now, not earlier
    assert stats(page) == text["stats"]  # the decisions change fields, not rows
    # the changed procedure's values as the rest of the application shows them
    changes = page.locator("section#changes tbody tr")
    changed = changes.filter(has=page.get_by_text("住民票の写しの交付申請", exact=True))
    assert cells(changed)[-1] == text["changed_row"]

    # 3. the warning for the implausible volume, grouped, before the import button
    problems = page.locator("section#problems")
    assert problems.get_by_role("heading", level=2).inner_text() == text["problems"]
    assert cells(problems.locator("thead tr")) == text["problems_head"]
    problem_rows = problems.locator("tbody tr")
    assert problem_rows.count() == 1
    assert cells(problem_rows.first) == [text["warning"], *text["implausible"]]
    button = page.get_by_role("button", name=text["import"])
    above = page.evaluate(
        "([a, b]) => !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)",
        [problems.element_handle(), button.element_handle()],
    )
    assert above, "the warning must come before the import button"
    shoot(page, f"fidelity-2-decided-{lang}")
    shoot_part(problems, f"fidelity-2-problems-{lang}")
    shoot_part(page.locator("section#changes"), f"fidelity-2-changes-{lang}")

    # 4. the scope question: two choices, neither chosen; "only these", then import
    scope = page.locator("form#scope")
    assert scope.locator("legend").inner_text() == text["scope_legend"]
    radios = scope.get_by_role("radio")
    assert radios.count() == 2
    assert [radio.is_checked() for radio in radios.all()] == [False, False]
    assert scope.locator("label").all_inner_texts() == [text["scope_whole"], text["scope_only"]]
    scope.get_by_label(text["scope_only"]).check()
    shoot_part(scope, f"fidelity-3-scope-{lang}")
    shoot(page, f"fidelity-3-scope-full-{lang}")
    with page.expect_navigation():
        button.click()
    assert page.locator(".alert-success").first.inner_text() == text["imported_flash"]
    assert page.locator(".alert-success strong").inner_text() == text["imported"]
    assert stats(page) == text["result_stats"]
    assert page.get_by_role("button", name=text["import"]).count() == 0
    assert page.locator("#scope-result").inner_text() == text["scope_result"]
    # The way on and the revert button stand apart, not touching.
    to_list = page.get_by_role("link", name=text["to_list"]).bounding_box()
    revert = page.get_by_role("button", name=text["revert"]).bounding_box()
    assert revert["y"] >= to_list["y"] + to_list["height"] + 16
    shoot(page, f"fidelity-4-result-{lang}")

    # the absent procedures are active still: no "missing" in the list, nor in the database
    page.get_by_role("link", name=text["to_list"]).click()
    page.wait_for_url(f"{live_server}/procedures")
    listed = page.locator("table.data-table tbody tr")
    assert listed.count() == 8
    assert page.locator(".cluster strong.num").first.inner_text() == "8"
    assert listed.locator(".badge-warn").count() == 0
    for name in ABSENT:
        assert listed.filter(has=page.get_by_role("link", name=name, exact=True)).count() == 1
    page.get_by_text(text["more_filters"], exact=True).click()
    page.get_by_label(text["state"]).select_option(label=text["missing_state"])
    with page.expect_navigation():
        page.get_by_role("button", name=text["filter"]).click()
    assert cells(page.locator("table.data-table tbody tr").first) == [text["no_match"]]
    db_session.expire_all()
    states = db_session.exec(
        select(Procedure.name, Procedure.lifecycle).where(Procedure.division_id == shimin)
    ).all()
    assert len(states) == 8
    assert {name: state for name, state in states if name in ABSENT} == dict.fromkeys(
        ABSENT, Lifecycle.active
    )
    assert all(state == Lifecycle.active for _name, state in states)
    kept = {p.id: p for p in db_session.exec(select(Procedure).where(Procedure.id.in_(absent_ids)))}
    assert all(p.missing_batch_id is None for p in kept.values())
    imported = {
        p.name: p for p in db_session.exec(select(Procedure).where(Procedure.division_id == shimin))
    }
    # 窓口のみ left undecided: unknown, its words kept
    assert imported["戸籍謄本の交付申請"].visit_required is None
    assert imported["戸籍謄本の交付申請"].raw_values == '{"visit_required": "窓口のみ"}'
    # 要相談 decided "yes" on both its rows; the words kept beside the decision
    assert imported["住民票コードの変更請求"].fee_required is True
    assert imported["印鑑登録申請"].fee_required is True
    assert imported["住民票コードの変更請求"].raw_values == (
        '{"fee_required": "要相談", "mynaportal_eligible": "検討中"}'
    )
    # the implausible volume was imported as written: the warning asks, it does not refuse
    assert imported["印鑑登録申請"].annual_volume == 43_000_000
    # 廃止済 (the seal was abolished) changed the existing procedure's seal to "no"
    assert imported["住民票の写しの交付申請"].seal_required is False

    # 5. the procedure whose visit stayed undecided: unknown, and the words as written
    page.goto(f"{live_server}/procedures")
    with page.expect_navigation():
        page.get_by_role("link", name="戸籍謄本の交付申請", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "戸籍謄本の交付申請"
    basic = definitions(page.locator("section.card dl.dl-grid").first)
    assert basic[text["visit"]] == text["unknown"]
    assert page.locator("#words").inner_text() == text["words"]
    assert page.locator("#words + p.muted").inner_text() == text["words_lead"]
    words = page.locator("#words ~ dl.dl-grid")
    assert definitions(words) == {text["visit"]: text["quoted"].format("窓口のみ")}
    shoot(page, f"fidelity-5-procedure-{lang}")

    # and the one whose fee was decided (yes) and whose portal answer was decided unknown
    page.goto(f"{live_server}/procedures")
    with page.expect_navigation():
        page.get_by_role("link", name="住民票コードの変更請求", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "住民票コードの変更請求"
    basic = definitions(page.locator("section.card dl.dl-grid").first)
    assert basic[text["fee"]] == text["fee_yes"]
    assert definitions(page.locator("#words ~ dl.dl-grid")) == {
        text["fee"]: text["quoted"].format("要相談"),
        text["portal"]: text["quoted"].format("検討中"),
    }
    shoot(page, f"fidelity-6-procedure-decided-{lang}")
    assert errors == []


def test_the_language_chosen_on_the_sign_in_page_survives_signing_in(
    live_server,  # noqa: F811
    browser_page,  # noqa: F811
    db_session,
):
    page = browser_page
    add_user(db_session, "office", Role.dx_office)
    page.goto(f"{live_server}/lang/en?next=/login")
    page.get_by_label("Login", exact=True).fill("office")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/procedures")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("button", name="Sign out").is_visible()
