"""Accessibility in Chromium: axe-core on every page in Japanese and English, triage by keyboard.

axe-core comes from the npm registry, pinned by tests/a11y/package-lock.json and installed by
`make test` (npm ci); the test injects node_modules/axe-core/axe.min.js into each page. The
app's Content-Security-Policy allows only its own scripts, so the axe browser context bypasses
CSP for the test alone; the keyboard test runs under the app's real policy.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import select

from procedures.imports.apply import store_batch
from procedures.imports.preview import ReadOptions, analyse_file
from procedures.imports.service import import_file
from procedures.models import (
    MatchStatus,
    PriorityMatch,
    PriorityProcedure,
    Procedure,
    Role,
    User,
    Verdict,
)
from procedures.national.links import confirm_link
from procedures.national.reference import load_reference
from procedures.plan.policy import ensure_policy, set_pin
from procedures.plan.saved import save_plan_snapshot
from procedures.plan.schedule import recompute_plan
from tests.conftest import PASSWORD, add_division, add_procedure, add_user
from tests.test_browser import (  # noqa: F401
    CHROMIUM,
    _chromium_or_skip,
    browser_page,
    live_server,
    shoot,
)
from tests.test_national_reference import national_entries, national_workbook

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
LANGUAGES = ("ja", "en")
#: Impacts that fail the test; moderate and minor ones are listed in the summary only.
FAILING_IMPACTS = ("serious", "critical")

#: GET routes that are not pages: they redirect or send a file. Every other GET route of the
#: URL map is checked, so a new page is covered without touching this test.
SKIPPED_ENDPOINTS = {
    "static": "style sheets and scripts",
    "auth.set_language": "switches the language and redirects",
    "catalogue.index": "redirects to the procedure list",
    "catalogue.export_inventory": "downloads .xlsx",
    "plan.export_year": "downloads .xlsx",
    "plan.export_year_csv": "downloads .csv",
}
#: Routes ending like this send a file, whoever adds them.
DOWNLOAD_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".json", ".zip", ".pdf")

#: What fills each URL parameter: a key of the seeded city (see `city`).
PARAMETERS = {
    "procedure_id": "own",
    "division_id": "own_division",
    "batch_id": "previewed_batch",
    "fiscal_year": "year",
    "user_id": "office_user",
}

#: Pages in a state the URL map alone does not reach: (who, URL template, why).
EXTRA_PAGES = [
    ("division", "/procedures/{other}", "another division's procedure, read-only"),
    ("dx_office", "/imports/{committed_batch}", "a committed import"),
    ("dx_office", "/plan?compare={saved_plan}", "the plan compared with a saved one"),
    ("dx_office", "/plan/pin/{other}", "a pinned procedure, with its unpin form"),
    ("dx_office", "/procedures?lifecycle=all&blocker=seal_signature", "filters open"),
    ("dx_office", "/no-such-page", "404"),
    ("viewer", "/help/import", "help on a page the viewer cannot open"),
    ("division", "/help/glossary#blockers", "the glossary at a term's anchor"),
    ("viewer", "/procedures/{own}/edit", "403"),
    (None, "/login", "the sign-in page"),
]


def _axe_or_skip() -> None:
    if not AXE.exists():
        reason = "axe-core is not installed: run `make test` (npm ci in tests/a11y) with npm"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"REQUIRE_BROWSER is set but {reason}")
        pytest.skip(reason)


@pytest.fixture
def chromium(shared_chromium) -> Iterator[object]:
    """The session's headless Chromium; each visitor gets its own context (own cookies)."""
    _axe_or_skip()
    yield shared_chromium


def inventory(rows: list[list[object]]) -> bytes:
    """An inventory workbook of 市民課 with a title row above the header."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "市民課"
    sheet.append(["市民課 手続一覧（令和5年12月1日現在）"])
    sheet.append(["手続名", "年間件数", "来庁の要否", "根拠法令"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def city(db_session) -> dict[str, int]:
    """A small city with something on every page: two divisions, procedures judged with
    blockers, a plan with a pin and a saved version, a committed and a previewed import,
    a missing procedure, priority-list matches (suggested and confirmed) and a national
    reference with a change to review."""
    session = db_session
    shimin = add_division(session, "市民課", "市民自治部")
    kodomo = add_division(session, "子育て給付課", "子ども青少年部")
    for login_name, role in (
        ("dx_office", Role.dx_office),
        ("admin", Role.admin),
        ("viewer", Role.viewer),
    ):
        add_user(session, login_name, role)
    add_user(session, "division", Role.division, division="市民課")
    office_id = session.exec(select(User.id).where(User.login == "dx_office")).one()

    first = inventory(
        [
            ["住民票の写しの交付申請", "42,000", "不要", "住民基本台帳法第12条"],
            ["転入届", "3,100", "要", "住民基本台帳法第22条"],
            ["住民基本台帳の一部の写しの閲覧申請", "約120", "要", "住民基本台帳法第11条"],
        ]
    )
    citizens = ReadOptions(division_name="市民課")
    committed = import_file(
        session, content=first, file_name="市民課_手続一覧.xlsx", options=citizens
    )
    # The same sheet without the inspection request: it becomes missing.
    second = inventory(
        [
            ["住民票の写しの交付申請", "43,000", "不要", "住民基本台帳法第12条"],
            ["転入届", "3,100", "要", "住民基本台帳法第22条"],
        ]
    )
    import_file(session, content=second, file_name="市民課_手続一覧_2.xlsx", options=citizens)
    # A third file, uploaded but not confirmed: the preview page with its mapping form.
    third = inventory([["印鑑登録証明書の交付申請", "25,000", "不要", "市印鑑条例"]])
    outcome, _plan = analyse_file(
        session, content=third, file_name="市民課_追加.xlsx", options=citizens
    )
    previewed = store_batch(
        session,
        content=third,
        outcome=outcome,
        user_id=office_id,
        division_name="市民課",
        status="previewed",
    )
    session.commit()

    own = session.exec(select(Procedure).where(Procedure.name == "住民票の写しの交付申請")).one()
    own.verdict = Verdict.feasible
    own.blockers = ",seal_signature,fee_payment,"
    own.mynaportal_eligible = True
    session.add(own)
    other = add_procedure(
        session,
        kodomo,
        "児童手当の認定請求",
        code="B-1",
        annual_volume=5000,
        verdict=Verdict.feasible,
        verdict_reason="電子申請で受付可能",
        blockers=",paper_originals,",
        life_events="子育て",
    )
    add_procedure(
        session,
        kodomo,
        "児童扶養手当の現況届",
        annual_volume=900,
        verdict=Verdict.infeasible,
        verdict_reason="面談での確認が必要",
        blockers=",identity_in_person,by_nature,",
        visit_required=True,
    )
    policy = ensure_policy(session)
    set_pin(session, procedure_id=other.id, fiscal_year=2023, reason="議会答弁", user_id=office_id)
    recompute_plan(session)
    saved = save_plan_snapshot(
        session, label="当初案", user_id=office_id, policy_version=policy.version
    )
    item = session.exec(select(PriorityProcedure)).first()
    second_item = session.exec(select(PriorityProcedure).offset(1)).first()
    session.add(
        PriorityMatch(
            procedure_id=other.id,
            priority_procedure_id=item.id,
            score=92.0,
            status=MatchStatus.suggested,
        )
    )
    session.add(
        PriorityMatch(
            procedure_id=own.id,
            priority_procedure_id=second_item.id,
            score=88.0,
            status=MatchStatus.confirmed,
        )
    )
    # A national reference: the own procedure linked, its entry changed by a newer load.
    national = national_entries(3)
    national["1001"][2] = "本人等による住民票の写し等の交付請求"
    load_reference(session, content=national_workbook(national), file_name="r6.xlsx", user_id=None)
    confirm_link(session, procedure_id=own.id, national_id="1001", user_id=office_id)
    national["1001"][5] = "1 実施済"
    load_reference(session, content=national_workbook(national), file_name="r7.xlsx", user_id=None)
    session.commit()
    year = min(row["fiscal_year"] for row in policy.policy["years"])
    return {
        "own": own.id,
        "own_division": shimin,
        "other": other.id,
        "committed_batch": committed.batch_id,
        "previewed_batch": previewed.id,
        "saved_plan": saved.id,
        "year": year,
        "office_user": office_id,
    }


@dataclass
class Visit:
    """One page as one visitor sees it."""

    who: str | None
    url: str
    why: str


def page_visits(app, city: dict[str, int]) -> list[Visit]:
    """Every GET page of the URL map with its parameters filled, then the extra states."""
    visits = []
    unfilled = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if "GET" not in rule.methods or rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        if rule.rule.endswith(DOWNLOAD_SUFFIXES):
            continue
        missing = [name for name in rule.arguments if name not in PARAMETERS]
        if missing:
            unfilled.append(f"{rule.endpoint} {rule.rule}: {', '.join(missing)}")
            continue
        url = rule.build({name: city[PARAMETERS[name]] for name in rule.arguments})[1]
        visits.append(Visit("dx_office", url, rule.endpoint))
    assert not unfilled, (
        "add these URL parameters to PARAMETERS (and seed what they point at in `city`), "
        "or the endpoint to SKIPPED_ENDPOINTS if it is not a page:\n" + "\n".join(unfilled)
    )
    extra = [Visit(who, url.format(**city), why) for who, url, why in EXTRA_PAGES]
    return visits + extra


AXE_RUN = r"""async () => {
  const result = await axe.run(document, {
    resultTypes: ["violations"],
    rules: { label: { enabled: true }, "select-name": { enabled: true } },
  });
  const ran = [...result.violations, ...result.passes, ...result.incomplete,
               ...result.inapplicable].map((rule) => rule.id);
  // axe 4.7+ dropped its duplicate-id rules (WCAG 2.2 removed 4.1.1), yet a label's `for`
  // and aria-describedby still pick the first element of an id: check ids here.
  const seen = new Map();
  document.querySelectorAll("[id]").forEach((node) => {
    seen.set(node.id, (seen.get(node.id) || 0) + 1);
  });
  const duplicates = [...seen].filter(([, count]) => count > 1).map(([id]) => "#" + id);
  if (duplicates.length) {
    result.violations.push({ id: "duplicate-id", impact: "serious",
      help: "ids must be unique", nodes: duplicates.map((id) => ({ target: [id],
      failureSummary: "Give each element its own id" })) });
  }
  // axe accepts a title or a placeholder as a label; a clerk needs a real one.
  const controls = document.querySelectorAll(
    "input:not([type=hidden], [type=submit], [type=button], [type=reset]), select, textarea");
  const unlabelled = [...controls].filter((node) => !(
    [...node.labels].some((label) => label.textContent.trim())
    || (node.getAttribute("aria-label") || "").trim()
    || (node.getAttribute("aria-labelledby") || "").split(/\s+/).some((id) =>
      (document.getElementById(id)?.textContent || "").trim())));
  if (unlabelled.length) {
    result.violations.push({ id: "form-field-label", impact: "serious",
      help: "form fields need a <label>, aria-label or aria-labelledby",
      nodes: unlabelled.map((node) => ({ target: [node.id ? "#" + node.id : node.name],
      failureSummary: "Label the field (a title or placeholder is not a label)" })) });
  }
  return {
    ran,
    violations: result.violations.map((rule) => ({
      id: rule.id,
      impact: rule.impact,
      help: rule.help,
      nodes: rule.nodes.map((node) => ({ target: node.target.join(" "),
                                         summary: node.failureSummary })),
    })),
  };
}"""


def sign_in(page, base: str, login_name: str) -> None:
    page.goto(f"{base}/login")
    page.locator("#login").fill(login_name)
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    page.wait_for_load_state()
    assert page.url == f"{base}/procedures", page.locator("main").inner_text()


class AxeRun:
    """Signed-in browser contexts, one per visitor, and what axe found on their pages."""

    def __init__(self, browser, base: str) -> None:
        self.browser, self.base = browser, base
        self.pages: dict[str | None, object] = {}
        self.problems: list[str] = []
        self.minor: dict[str, list[str]] = {}
        self.checked: list[str] = []

    def page_of(self, who: str | None):
        if who not in self.pages:
            context = self.browser.new_context(
                bypass_csp=True, viewport={"width": 1280, "height": 900}
            )
            # axe-core is put into every page of the context as it loads, once per visitor.
            context.add_init_script(path=str(AXE))
            page = context.new_page()
            if who:
                sign_in(page, self.base, who)
            self.pages[who] = page
        return self.pages[who]

    def check(self, visit: Visit, lang: str, action=None) -> int:
        """Open the page as the visitor in the language, act on it if asked, and run axe.

        Return the HTTP status of the page.
        """
        page = self.page_of(visit.who)
        response = page.goto(f"{self.base}{visit.url}")
        if page.evaluate("document.documentElement.lang") != lang:
            # The language lives in the session: chosen once per visitor (and again only if
            # a page changed it), instead of a second page load before every page.
            page.goto(f"{self.base}/lang/{lang}")
            response = page.goto(f"{self.base}{visit.url}")
        if response.status == 403 and visit.why != "403":
            return 403
        # A page may redirect in this state (an import progress page to the finished
        # import): the page it lands on is checked, but never the sign-in page instead.
        landed = page.url.removeprefix(self.base)
        signing_in = landed.startswith("/login") and not visit.url.startswith("/login")
        assert not signing_in, f"{visit.url} sent {visit.who} to the sign-in page"
        if action is not None:
            action(page)
            landed = page.url.removeprefix(self.base)
        assert page.evaluate("document.documentElement.lang") == lang
        result = page.evaluate(AXE_RUN)
        assert {"label", "color-contrast"} <= set(result["ran"])
        shown = visit.url if landed == visit.url else f"{visit.url} → {landed}"
        where = f"[{lang}] {shown} as {visit.who or 'anonymous'} ({visit.why})"
        self.checked.append(where)
        for rule in result["violations"]:
            name = f"{rule['id']} ({rule['impact']})"
            if rule["impact"] not in FAILING_IMPACTS:
                self.minor.setdefault(name, []).append(where)
                continue
            targets = "; ".join(node["target"] for node in rule["nodes"][:5])
            summary = rule["nodes"][0]["summary"].replace("\n", "\n      ")
            self.problems.append(
                f"{where}\n  {name}: {rule['help']}\n"
                f"  {len(rule['nodes'])} element(s), e.g. {targets}\n      {summary}"
            )
        return response.status

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


def _triage_error(page) -> None:
    # Not feasible without a reason: the in-place save answers with field errors.
    page.locator("form[data-inplace] #verdict").select_option("infeasible")
    page.locator("form[data-inplace] #verdict_reason").fill("")
    page.locator('form[data-inplace="judgement"] [type=submit]').click()
    page.locator('form[data-inplace="judgement"] .error-summary').wait_for()


def _triage_saved(page) -> None:
    page.locator("form[data-inplace] #notes").fill("窓口で確認")
    page.locator('form[data-inplace="judgement"] [type=submit]').click()
    page.locator(".inplace-status.alert-success").wait_for()


def _edit_error(page) -> None:
    page.locator("#name").fill("")
    page.locator("main #submit").click()
    page.locator("#error-summary").wait_for()


def _policy_preview(page) -> None:
    page.locator("#years-0-capacity").fill("1")
    page.locator("#try_plan").click()
    page.locator("#preview").wait_for()


def _bulk_confirm(page) -> None:
    page.locator("input[name=ids]").first.check()
    page.locator("#bulk-change").select_option("verdict:undecided")
    page.locator("#bulk-form [type=submit]").click()
    page.wait_for_url("**/procedures/bulk*")


def _bulk_error(page) -> None:
    # Not feasible without a reason: the list comes back with the summary and the ticks.
    page.locator("input[name=ids]").first.check()
    page.locator("#bulk-change").select_option("verdict:infeasible")
    page.locator("#bulk-form [type=submit]").click()
    page.locator("#bulk-error-summary").wait_for()


def _upload_without_file(page) -> None:
    page.locator("form.card [type=submit]").click()
    page.locator(".field-error").first.wait_for()


def _wrong_password(page) -> None:
    page.locator("#login").fill("dx_office")
    page.locator("#password").fill("wrong password")
    page.locator("#password").press("Enter")
    page.locator(".alert-error").wait_for()


def _term_explained(page) -> None:
    """Open a column's explanation: its box over the rows must read as well as the page."""
    page.locator("th details.term-help summary").first.click()
    page.locator("th details.term-help[open] .term-help-text").wait_for()


def _field_guide_open(page) -> None:
    page.locator("#field-guide summary").click()
    page.locator("#field-guide dl").wait_for()


#: States reached by acting on a page (errors, previews, confirmations): (who, URL, action).
ACTED_PAGES = [
    ("dx_office", "/procedures/{own}", _triage_error),
    ("dx_office", "/procedures/{own}", _triage_saved),
    ("dx_office", "/procedures/{own}/edit", _edit_error),
    ("dx_office", "/plan/policy", _policy_preview),
    ("dx_office", "/procedures", _bulk_confirm),
    ("dx_office", "/procedures", _bulk_error),
    ("dx_office", "/imports/new", _upload_without_file),
    ("dx_office", "/procedures", _term_explained),
    ("dx_office", "/imports/{previewed_batch}", _field_guide_open),
    (None, "/login", _wrong_password),
]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_has_no_serious_axe_violation(
    app,
    city,
    live_server,  # noqa: F811
    chromium,
    lang,
):
    """axe-core finds no serious or critical problem on any page, in Japanese and English.

    Every page of the URL map is opened by the DX office (by the administrator when the
    DX office is refused) and by a division user where allowed, then the extra states.
    """
    run = AxeRun(chromium, live_server)
    try:
        for visit in page_visits(app, city):
            status = run.check(visit, lang)
            if status == 403 and visit.who == "dx_office":
                assert run.check(Visit("admin", visit.url, visit.why), lang) == 200
            if visit.who == "dx_office":
                run.check(Visit("division", visit.url, visit.why), lang)
        for who, url, action in ACTED_PAGES:
            visit = Visit(who, url.format(**city), action.__name__.strip("_"))
            assert run.check(visit, lang, action) == 200
    finally:
        run.close()
    print(f"\naxe-core checked {len(run.checked)} pages in {lang}")
    for rule, pages in sorted(run.minor.items()):
        print(f"  not failing: {rule} on {len(pages)} pages, e.g. {pages[0]}")
    assert not run.problems, "\n".join(run.problems)


FOCUSED = """() => {
  const node = document.activeElement;
  const style = getComputedStyle(node);
  return {
    tag: node.tagName.toLowerCase(),
    id: node.id,
    text: (node.innerText || node.value || "").trim().slice(0, 60),
    focusVisible: node.matches(":focus-visible"),
    outline: style.outlineStyle === "none" ? "" : style.outlineWidth,
  };
}"""


def tab_to(page, selector: str, *, limit: int = 80) -> dict:
    """Press Tab until the element matching the selector has the focus; return it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            return focused_with_visible_ring(page)
    pytest.fail(f"{selector} cannot be reached with Tab (focus ended on {page.evaluate(FOCUSED)})")


def focused_with_visible_ring(page) -> dict:
    """The focused element, asserting that keyboard focus shows a visible outline."""
    node = page.evaluate(FOCUSED)
    assert node["focusVisible"], f"{node} does not match :focus-visible"
    assert node["outline"] not in ("", "0px"), f"{node} has no visible focus outline"
    return node


def test_dx_office_triages_a_procedure_with_the_keyboard_alone(
    live_server,  # noqa: F811
    browser_page,  # noqa: F811
    db_session,
):
    """Sign in, skip to content, search, open a procedure, judge it and save: keys only."""
    page = browser_page
    keyboard = page.keyboard
    shimin = add_division(db_session, "市民課")
    target = add_procedure(
        db_session,
        shimin,
        "住民票の写しの交付申請",
        code="A-1",
        annual_volume=42000,
        verdict=Verdict.feasible,
        blockers=",seal_signature,",
    )
    add_procedure(db_session, shimin, "転入届", code="A-2", annual_volume=3100)
    add_user(db_session, "dx_office", Role.dx_office)

    page.goto(f"{live_server}/procedures")
    assert page.url.startswith(f"{live_server}/login")
    # The first Tab reaches the skip link, shown while focused; Enter moves past the header.
    skip = tab_to(page, "a.skip-link", limit=1)
    assert skip["text"] == "本文へ移動"
    assert page.locator("a.skip-link").bounding_box()["y"] >= 0
    keyboard.press("Enter")
    # The browser follows the in-page link on its own schedule: wait for it, then check.
    page.wait_for_function("location.hash === '#main'", timeout=5000)
    assert page.url.endswith("#main")
    assert tab_to(page, "#login", limit=1)["tag"] == "input"
    keyboard.type("dx_office")
    keyboard.press("Tab")
    keyboard.type(PASSWORD)
    keyboard.press("Enter")
    # The browser keeps the skip link's #main through the sign-in redirect.
    page.wait_for_url(f"{live_server}/procedures#main")

    tab_to(page, "#q")
    keyboard.type("住民票")
    keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/procedures?q=*")
    rows = page.locator("table.data-table tbody tr")
    assert rows.count() == 1
    link = tab_to(page, f"table.data-table a[href='/procedures/{target.id}']")
    assert link["text"] == "住民票の写しの交付申請"
    keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/procedures/{target.id}")
    page.evaluate("window.notReloaded = true")

    # The verdict: arrow keys on the focused select, from its first option.
    tab_to(page, "form[data-inplace] #verdict")
    keyboard.press("Home")
    for _ in range(5):
        if page.locator("form[data-inplace] #verdict").input_value() == "infeasible":
            break
        keyboard.press("ArrowDown")
    assert page.locator("form[data-inplace] #verdict").input_value() == "infeasible"
    keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["id"] == "verdict_reason"
    keyboard.type("原本の提出が必要")
    # Blockers: tick 原本が紙, untick 押印・署名 with the space bar.
    tab_to(page, "input[name=blockers][value=paper_originals]")
    keyboard.press("Space")
    tab_to(page, "input[name=blockers][value=seal_signature]")
    keyboard.press("Space")
    save = tab_to(page, "form[data-inplace] [type=submit]")
    assert save["text"] == "保存する"
    keyboard.press("Enter")
    page.locator(".inplace-status").get_by_text("保存しました（3項目を変更）。").wait_for()

    assert page.evaluate("window.notReloaded") is True
    judgement = page.locator("#judgement").inner_text()
    assert "オンライン化不可" in judgement
    assert "原本の提出が必要" in judgement
    assert "原本が紙" in judgement and "押印・署名" not in judgement
    # The keyboard user keeps their place: focus stays on the save button.
    assert focused_with_visible_ring(page)["text"] == "保存する"
    shoot(page, "keyboard-triage-ja")

    db_session.expire_all()
    saved = db_session.get(Procedure, target.id)
    assert (saved.verdict, saved.verdict_reason, saved.blockers) == (
        Verdict.infeasible,
        "原本の提出が必要",
        ",paper_originals,",
    )
