"""In Chromium, at 768 px, in Japanese and English: long tables scroll with the page under a
sticky header, a procedure's name keeps ten characters a line, and the import's mapping
selects stay as wide as their longest choice when the file's sample values are long."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from procedures.models import Role, Verdict
from tests.conftest import PASSWORD, add_division, add_procedure, add_user
from tests.test_browser import browser_page, live_server, shoot  # noqa: F401

pytestmark = pytest.mark.browser

#: A tablet held upright: the width at which the list used to squeeze and cut its columns.
TABLET = {"width": 768, "height": 700}

#: 28 characters without a space, as the demo city's longest names are.
LONG_NAME = "住民基本台帳の一部の写しの閲覧申請に係る手数料の減免申請"

#: The ancestors of an element that scroll on their own: what would capture a sticky header.
SCROLL_BOXES = """element => {
  const boxes = [];
  for (let box = element.parentElement; box; box = box.parentElement) {
    const style = getComputedStyle(box);
    if (box !== document.documentElement && box !== document.body
        && (["auto", "scroll", "hidden"].includes(style.overflowY) || style.maxHeight !== "none")) {
      boxes.push(box.className || box.tagName);
    }
  }
  return boxes;
}"""

#: The width of each line of an inline element, in characters of its font size.
LINE_WIDTHS = """element => {
  const size = parseFloat(getComputedStyle(element).fontSize);
  return [...element.getClientRects()].map(line => line.width / size);
}"""

#: For each select: its width and the width of its longest option's text in its own font.
SELECT_WIDTHS = """selects => {
  const context = document.createElement("canvas").getContext("2d");
  return selects.map(select => {
    context.font = getComputedStyle(select).font;
    const longest = Math.max(...[...select.options].map(o => context.measureText(o.text).width));
    return [select.getBoundingClientRect().width, longest];
  });
}"""

TEXTS = {
    "ja": {"verdict": "可否", "procedure": "手続名", "upload": "アップロードして確認"},
    "en": {"verdict": "Verdict", "procedure": "Procedure", "upload": "Upload and preview"},
}


def sign_in_at_tablet_width(page, base: str, lang: str, then: str) -> None:
    """Sign in as the DX office at 768 px and open a page in the given language."""
    page.set_viewport_size(TABLET)
    page.goto(f"{base}/login")
    page.get_by_label("ログインID").fill("office")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(f"{base}/procedures")
    page.goto(f"{base}/lang/{lang}?next={then}")


def long_sample_inventory(path: Path) -> Path:
    """A sheet like Canada's inventory: long descriptions and URLs beside short columns."""
    description = (
        "The purpose of the Women's Program is to advance equality for women in Canada by "
        "working to address or remove systemic barriers impeding women's progress and "
        "advancement, consistent with the Government of Canada's priorities."
    )
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Services"
    sheet.append(["手続名", "年間件数", "service_description_en", "service_url_en"])
    for number in range(1, 4):
        sheet.append(
            [
                f"Women's Program {number}",
                "1,200",
                description,
                f"https://www.canada.ca/en/women-gender-equality/programs/women-program-{number}"
                "/applicant-guide-funding-stream-capacity-building.html",
            ]
        )
    workbook.save(path)
    return path


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_list_scrolls_with_the_page_under_its_header_and_fits_a_tablet(
    lang,
    live_server,  # noqa: F811
    browser_page,  # noqa: F811
    db_session,
):
    page = browser_page
    text = TEXTS[lang]
    division = add_division(db_session, "観光シティプロモーション課")
    add_procedure(db_session, division, LONG_NAME, code="K-000", verdict=Verdict.feasible)
    for number in range(1, 40):
        add_procedure(db_session, division, f"観光案内所の利用申込{number}", code=f"K-{number:03}")
    add_user(db_session, "office", Role.dx_office)
    sign_in_at_tablet_width(page, live_server, lang, "/procedures?sort=code")

    table = page.locator("table.data-table")
    assert table.evaluate(SCROLL_BOXES) == []

    header = table.get_by_role("columnheader", name=text["procedure"], exact=True)
    assert header.bounding_box()["width"] >= 160
    name = table.get_by_role("link", name=LONG_NAME)
    assert all(width >= 10 for width in name.evaluate(LINE_WIDTHS)[:-1])

    # The header whose sort link sorts by verdict (its "?" explanation names other columns).
    verdict = table.locator("thead th").filter(has=page.locator("a[href*='sort=verdict']"))
    assert verdict.inner_text().startswith(text["verdict"])
    assert verdict.bounding_box()["x"] + verdict.bounding_box()["width"] <= TABLET["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    shoot(page, f"tables-list-768-{lang}")

    # The window scrolls past the first rows: the header row stays at its top.
    first_row = table.locator("tbody tr").first
    page.evaluate("y => window.scrollTo(0, y)", table.bounding_box()["y"] + 900)
    assert first_row.bounding_box()["y"] < 0
    assert round(header.bounding_box()["y"]) == 0


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_mapping_selects_are_as_wide_as_their_longest_choice_beside_long_samples(
    lang,
    live_server,  # noqa: F811
    browser_page,  # noqa: F811
    db_session,
    tmp_path,
):
    page = browser_page
    add_division(db_session, "市民課")
    add_user(db_session, "office", Role.dx_office)
    sign_in_at_tablet_width(page, live_server, lang, "/imports/new")

    page.locator("input[type=file]").set_input_files(
        str(long_sample_inventory(tmp_path / "services.xlsx"))
    )
    page.locator("select#division").select_option("市民課")
    page.get_by_role("button", name=TEXTS[lang]["upload"]).click()
    page.wait_for_url(f"{live_server}/imports/*")

    selects = page.locator("select[id^=field-]")
    assert selects.count() == 4
    widths = selects.evaluate_all(SELECT_WIDTHS)
    assert all(width >= 140 and width >= longest for width, longest in widths), widths
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    shoot(page, f"tables-mapping-768-{lang}")
