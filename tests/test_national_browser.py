"""The national reference in Chromium: load, link, the queue and the review, in both languages."""

from __future__ import annotations

import pytest

from procedures.models import Role
from procedures.national.reference import load_reference
from tests.conftest import add_division, add_procedure, add_user
from tests.test_browser import browser_page, live_server, shoot, sign_in  # noqa: F401
from tests.test_national_reference import (
    national_entries,
    national_workbook,
    three_changed_one_removed,
)

pytestmark = pytest.mark.browser

#: The widths of an office desktop and of a narrow window or tablet.
WIDTHS = (1366, 768)


def city_linked_to_an_older_reference(db_session) -> list[int]:
    """Load a reference, link 20 city procedures (city values of their own), load a newer one."""
    entries = national_entries()
    load_reference(db_session, content=national_workbook(entries), file_name="r6.xlsx", user_id=1)
    db_session.commit()
    division = add_division(db_session, "市民課")
    ids = []
    for i in range(1, 21):
        procedure = add_procedure(
            db_session,
            division,
            f"テスト手続{i}の交付申請",
            code=str(1000 + i),
            legal_basis=f"テスト法{i}",
            online_status="not_done",
            blockers=",no_system,",
            annual_volume=100 + i,
        )
        ids.append(procedure.id)
    # Five unlinked procedures, for the linking page: their names suggest their entries.
    for i in range(21, 26):
        add_procedure(db_session, division, f"テスト手続{i}の交付申請")
    return ids


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_office_loads_links_and_reviews_in_chromium(
    live_server,  # noqa: F811
    browser_page,  # noqa: F811
    db_session,
    tmp_path,
    language,
):
    add_user(db_session, "office", Role.dx_office)
    ids = city_linked_to_an_older_reference(db_session)
    page = browser_page
    sign_in(page, live_server, "office")
    page.goto(f"{live_server}/lang/{language}?next=/national/links")
    english = language == "en"

    # Linking: the 20 procedures with their own ID in one step, then one by its suggestion.
    page.get_by_role(
        "button",
        name="Link 20 procedures by their own ID"
        if english
        else "手続IDが一致する20件を対応付ける",
    ).click()
    row = page.locator("tr", has_text="テスト手続21の交付申請")
    row.get_by_role("button", name="Confirm" if english else "確定").first.click()
    counts = page.locator("#link-counts").inner_text()
    assert counts == (
        "Linked: 21. Not linked: 4." if english else "対応付け済み：21件　未対応：4件"
    )
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shoot(page, f"national-links-{language}-{width}")

    # A newer national inventory, loaded on the page: 3 changed and 1 removed are flagged.
    newer = tmp_path / "r7.xlsx"
    newer.write_bytes(national_workbook(three_changed_one_removed(national_entries())))
    page.goto(f"{live_server}/national")
    page.set_input_files("input[type=file]", str(newer))
    page.get_by_role(
        "button", name="Load as the reference" if english else "参照として読み込む"
    ).click()
    remaining = page.locator("#remaining-count")
    assert remaining.inner_text() == (
        "Procedures still to review: 4." if english else "確認が残っている手続：4件"
    )
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shoot(page, f"national-queue-{language}-{width}")
    page.goto(f"{live_server}/national")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shoot(page, f"national-load-{language}-{width}")

    # The review of the renamed one: old, new and the city's own, the name marked changed.
    page.goto(f"{live_server}/national/review/{ids[1]}")
    changed = page.locator("#side-by-side tr.changed")
    assert changed.count() == 1
    assert changed.locator("td").all_inner_texts() == [
        "テスト手続2の交付申請",
        "テスト手続2の交付申請(改称)",
        "テスト手続2の交付申請",
    ]
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shoot(page, f"national-review-{language}-{width}")
    page.goto(f"{live_server}/national/review/{ids[3]}")
    assert "1004" in page.locator("#removed-notice").inner_text()
    assert page.locator("#side-by-side tr.changed").count() == 0
    shoot(page, f"national-review-removed-{language}")
    page.goto(f"{live_server}/national/review/{ids[1]}")
    page.get_by_role("button", name="Mark reviewed" if english else "確認済みにする").click()
    assert page.locator("#remaining-count").inner_text() == (
        "Procedures still to review: 3." if english else "確認が残っている手続：3件"
    )
