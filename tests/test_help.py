"""Help: a page per area in both languages, linked from each page's heading, and the glossary
that explains the terms beside their labels and the fields of the import preview's mapping."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest

from importers.schema import FIELDS
from procedures.help.glossary import GlossaryError, check, load_glossary
from procedures.help.views import TOPICS
from procedures.models import Role, Verdict
from procedures.survey.status import current_fiscal_year
from tests.conftest import add_division, add_procedure, add_user, csrf_token, login

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
ROLES = ("viewer", "division", "dx_office", "admin")

#: Each help page and its heading, as a clerk reads it in each language.
HEADINGS = {
    "/help/": ("ヘルプ", "Help"),
    "/help/glossary": ("用語集", "Glossary"),
    "/help/import": ("ヘルプ：手続一覧の取り込み", "Help: importing an inventory"),
    "/help/triage": (
        "ヘルプ：手続一覧と手続の判断",
        "Help: the procedure list and judging procedures",
    ),
    "/help/plan": ("ヘルプ：オンライン化計画", "Help: the conversion plan"),
    "/help/survey": ("ヘルプ：調査票", "Help: the yearly survey"),
    "/help/dashboard": ("ヘルプ：ダッシュボード", "Help: the dashboard"),
    "/help/review": (
        "ヘルプ：国の優先手続と未掲載の手続",
        "Help: the national priority list and missing procedures",
    ),
    "/help/national": (
        "ヘルプ：国の棚卸調査と国の棚卸結果",
        "Help: the national survey and the national reference",
    ),
}
#: The terms the issue names, which the glossary must explain (at least).
REQUIRED_TERMS = {
    "visit_required": "来庁の要否",
    "blockers": "阻害要因",
    "verdict": "可否（オンライン化の可否）",
    "complete_online": "完全オンライン化",
    "online_status": "オンライン化の状況",
    "mynaportal": "マイナポータル",
    "seal": "押印",
    "identity_check": "本人確認",
    "attachments": "添付書類",
    "fee": "手数料",
    "annual_volume": "年間件数",
    "division": "所管課",
    "kind": "手続類型",
    "life_events": "ライフイベント",
    "rank": "優先順位",
    "plan_tier": "計画の段階",
    "missing": "未掲載",
    "import": "取り込み",
    "preview": "プレビュー",
}


def heading(page: str) -> str:
    """The text of the page's h1."""
    match = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    assert match, "the page has no h1"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


@pytest.fixture
def city(db_session) -> dict[str, int]:
    """A division with a judged procedure, and a user of every role."""
    shimin = add_division(db_session, "市民課")
    procedure = add_procedure(
        db_session, shimin, "住民票の写しの交付申請", annual_volume=42000, verdict=Verdict.feasible
    )
    for name, role in (("viewer", Role.viewer), ("dx_office", Role.dx_office)):
        add_user(db_session, name, role)
    add_user(db_session, "admin", Role.admin)
    add_user(db_session, "division", Role.division, division="市民課")
    return {"procedure": procedure.id}


@pytest.mark.parametrize("role", ROLES)
def test_every_help_page_opens_for_every_role_in_both_languages(client, city, role):
    """Each help page answers 200 with its own heading, in Japanese and in English."""
    login(client, role)
    for lang, index in (("ja", 0), ("en", 1)):
        client.get(f"/lang/{lang}")
        for url, titles in HEADINGS.items():
            response = client.get(url)
            assert response.status_code == 200, (role, lang, url)
            assert heading(response.get_data(as_text=True)) == titles[index], (lang, url)


def test_a_help_page_is_written_in_the_pages_language(client, city):
    """The import help is prose written in each language, with the same sections."""
    login(client, "division")
    japanese = client.get("/help/import").get_data(as_text=True)
    assert "<strong>1行に1つの手続</strong>を書き" in japanese
    assert '<h2 id="scope">「全件」か「載っている手続だけ」か</h2>' in japanese
    client.get("/lang/en")
    english = client.get("/help/import").get_data(as_text=True)
    assert "<strong>One procedure per row</strong>" in english
    assert '<h2 id="scope">The whole inventory, or only these procedures?</h2>' in english
    # The upload limit is the installation's, not a number written into the text.
    assert "up to 2 MB" in english


def test_each_help_page_has_the_same_sections_in_both_languages():
    """A section added in one language only is a page the other language lacks."""
    for key in TOPICS:
        sections = {}
        for lang in ("ja", "en"):
            text = (TEMPLATES / "help" / lang / f"{key}.html").read_text(encoding="utf-8")
            sections[lang] = re.findall(r'<h2 id="([^"]+)"', text)
        assert sections["ja"] == sections["en"], key
        assert sections["ja"][0] == "purpose" and sections["ja"][-1] == "who", key


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    """Help is part of the signed-in tool, like every other page."""
    response = client.get("/help/import")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def area_pages(client, db_session, procedure_id: int) -> dict[str, str]:
    """The area pages and the help page each must link to, with a preview to show."""
    content = "手続名,年間件数\n住民票の写しの交付申請,43000\n".encode()
    response = client.post(
        "/imports/new",
        data={
            "file": (io.BytesIO(content), "市民課.csv"),
            "division": "市民課",
            "csrf_token": csrf_token(client, "/imports/new"),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    batch = response.headers["Location"]
    return {
        "/imports/new": "/help/import",
        batch: "/help/import",
        "/imports/": "/help/import",
        "/procedures": "/help/triage",
        f"/procedures/{procedure_id}": "/help/triage",
        "/plan": "/help/plan",
        f"/plan/{current_fiscal_year()}": "/help/plan",
        "/survey/": "/help/survey",
        "/dashboard": "/help/dashboard",
        "/priority": "/help/review",
        "/missing": "/help/review",
        "/national": "/help/national",
        "/national/links": "/help/national",
        "/national/review": "/help/national",
        "/national/export": "/help/national",
    }


def test_every_area_page_links_to_its_help_page_beside_its_heading(client, db_session, city):
    """The "? Help" link comes just before the h1, on every area's main pages."""
    login(client, "dx_office")
    for lang, word in (("ja", "ヘルプ"), ("en", "Help")):
        client.get(f"/lang/{lang}")
        for url, help_url in area_pages(client, db_session, city["procedure"]).items():
            page = client.get(url).get_data(as_text=True)
            link = (
                f'<p class="help-link"><a href="{help_url}"><span class="help-link-mark" '
                f'aria-hidden="true">?</span>{word}</a></p>\n<h1 class="page-title">'
            )
            # The dashboard's heading sits in a box with its buttons, after the link.
            if url == "/dashboard":
                link = link.replace('<h1 class="page-title">', '<div class="dashboard-head">')
            assert link in page, (lang, url)


def test_the_glossary_has_all_four_texts_of_every_term():
    """Every term has its Japanese and English term and explanation, none empty."""
    glossary = load_glossary()
    for key, japanese in REQUIRED_TERMS.items():
        assert glossary.terms[key]["ja"]["term"] == japanese
    for key, entry in glossary.terms.items():
        for lang in ("ja", "en"):
            assert entry[lang]["term"].strip() and entry[lang]["explanation"].strip(), key
    assert set(glossary.fields) == set(FIELDS)


def test_a_glossary_with_a_missing_text_is_refused_naming_it():
    """A term without its English explanation stops the app at start-up, not on a page."""
    data = {
        "terms": {
            "seal": {
                "group": "procedure",
                "ja": {"term": "押印", "explanation": "印鑑を押すこと"},
                "en": {"term": "Seal", "explanation": " "},
            }
        },
        "field_descriptions": {
            name: {lang: {"text": "t", "example": "e"} for lang in ("ja", "en")}
            for name in FIELDS
            if name != "notes"
        },
    }
    with pytest.raises(GlossaryError) as refused:
        check(data)
    assert str(refused.value) == (
        "glossary.json: term seal: no en explanation; field notes: no description"
    )


#: How a template names a glossary term: term("k" …), term_help("k"), term_key="k".
TERM_CALL = re.compile(r'\bterm(?:_help)?\("([a-z_]+)"|\bterm_key="([a-z_]+)"')


def test_every_term_a_template_names_is_in_the_glossary():
    """A term() call with a key the glossary lacks would fail its page: none does."""
    glossary = load_glossary()
    named = set()
    for path in TEMPLATES.rglob("*.html"):
        for match in TERM_CALL.finditer(path.read_text(encoding="utf-8")):
            named.add((path.relative_to(TEMPLATES).as_posix(), match.group(1) or match.group(2)))
    unknown = {(path, key) for path, key in named if key not in glossary.terms}
    assert unknown == set()
    # The scan found the labels of the list, the procedure page and the plan.
    assert {
        ("catalogue/list.html", "visit_required"),
        ("catalogue/detail.html", "identity_check"),
        ("catalogue/_judgement.html", "blockers"),
        ("plan/year.html", "plan_tier"),
        ("imports/show.html", "mapping"),
    } <= named
    assert set(glossary.form_fields.values()) <= set(glossary.terms)


def test_an_unknown_term_fails_the_page(app):
    """A misspelt key is a mistake to see at once, not an empty explanation."""
    with app.test_request_context(), pytest.raises(KeyError):
        app.jinja_env.from_string(
            '{% from "_macros.html" import term %}{{ term("no_such_term") }}'
        ).render()


def test_the_glossary_page_lists_every_term_at_its_anchor(client, city):
    """/help/glossary#key is where each "?" leads; English readers see the Japanese word."""
    login(client, "viewer")
    page = client.get("/help/glossary").get_data(as_text=True)
    for key in load_glossary().terms:
        assert f'<dt id="{key}">' in page
    assert (
        '<dt id="visit_required">来庁の要否</dt><dd>手続のために、申請者が市役所の窓口へ来る必要が'
        in page
    )
    client.get("/lang/en")
    page = client.get("/help/glossary").get_data(as_text=True)
    assert (
        '<dt id="blockers">Blockers <span lang="ja" class="muted">阻害要因</span></dt>'
        "<dd>What stands in the way of putting the procedure online:" in page
    )


def explanation(key: str, lang: str) -> str:
    """The disclosure the term() macro draws beside a label."""
    entry = load_glossary().terms[key][lang]
    question = {"ja": "「{}」とは", "en": "What is “{}”?"}[lang].format(entry["term"])
    glossary = {"ja": "用語集", "en": "Glossary"}[lang]
    text = html.escape(entry["explanation"], quote=False)
    return (
        '<details class="term-help"><summary><span aria-hidden="true">?</span>'
        f'<span class="visually-hidden">{question}</span></summary>'
        f'<span class="term-help-text">{text} <a href="/help/glossary#{key}">{glossary}</a>'
        "</span></details>"
    )


def test_terms_are_explained_beside_their_labels(client, city):
    """The list's column, the procedure page's label and the edit form's field: each with its
    explanation from the glossary, in the page's language."""
    login(client, "dx_office")
    for lang in ("ja", "en"):
        client.get(f"/lang/{lang}")
        listing = client.get("/procedures").get_data(as_text=True)
        visit = {"ja": "来庁", "en": "Visit"}[lang]
        assert f"{visit}</a>{explanation('visit_required', lang)}</th>" in listing
        detail = client.get(f"/procedures/{city['procedure']}").get_data(as_text=True)
        identity = {"ja": "本人確認の方法", "en": "Identity check"}[lang]
        assert f"<dt>{identity}{explanation('identity_check', lang)}</dt>" in detail
        edit = client.get(f"/procedures/{city['procedure']}/edit").get_data(as_text=True)
        label = '<label for="verdict">{}</label>'.format(
            {"ja": "オンライン化の可否", "en": "Feasibility verdict"}[lang]
        )
        assert label + explanation("verdict", lang) in edit


def test_the_mapping_table_explains_every_field_it_offers(client, city):
    """Under each "Read as" select, the chosen field's meaning and a cell as written; above
    the table, every choice with its meaning."""
    login(client, "dx_office")
    content = "手続名,年間件数,担当者メモ\n住民票の写しの交付申請,43000,要確認\n".encode()
    response = client.post(
        "/imports/new",
        data={
            "file": (io.BytesIO(content), "市民課.csv"),
            "division": "市民課",
            "csrf_token": csrf_token(client, "/imports/new"),
        },
    )
    preview = response.headers["Location"]
    page = client.get(preview).get_data(as_text=True)
    assert (
        '<p class="field-meaning">手続の名前です。この項目の列は必須です。 例： '
        '<span lang="ja">住民票の写しの交付申請</span></p>'
    ) in page
    assert (
        '<p class="field-meaning">1年度の申請件数です。'
        "不明は空欄か「-」、概数は推計として読みます。"
        ' 例： <span lang="ja">1,234件、約500、-</span></p>'
    ) in page
    # The column that fits no field says where it goes.
    assert (
        '<p class="field-meaning">'
        "手続と一緒に保存し、「取り込んだ表のその他の列」に表示します。</p>"
    ) in page
    start = page.index('<details class="field-guide"')
    guide = page[start : page.index("</details>", start)]
    offered = re.findall(r'<option value="([a-z_]+)"', page[page.index('id="field-1"') :])
    assert set(offered) == set(FIELDS)
    for name in FIELDS:
        text = load_glossary().fields[name]["ja"]["text"]
        assert f"<dd>{html.escape(text, quote=False)} " in guide, name
    client.get("/lang/en")
    page = client.get(preview).get_data(as_text=True)
    assert (
        '<p class="field-meaning">Applications a year; blank or “-” is unknown, an approximate '
        'figure is read as an estimate. e.g. <span lang="ja">1,234件, 約500, -</span></p>'
    ) in page
