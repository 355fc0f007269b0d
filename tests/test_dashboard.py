"""The dashboard: its numbers equal `summary --json`, its charts are accessible SVG, it prints."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from procedures.dashboard.charts import Bar, Group, Segment, bar_chart, fit, text_width
from procedures.demo.loader import load_demo
from procedures.models import (
    Lifecycle,
    MatchStatus,
    OnlineStatus,
    PriorityMatch,
    PriorityProcedure,
    Role,
    Verdict,
)
from procedures.plan.schedule import recompute_plan
from procedures.survey.status import current_fiscal_year
from tests.conftest import PASSWORD, add_division, add_procedure, add_user, login
from tests.test_browser import (  # noqa: F401
    browser_page,
    live_server,
    shoot,
)

SVG = "{http://www.w3.org/2000/svg}"


class Tables(HTMLParser):
    """Collect every table of a page by id: rows of (data-key, [cell texts])."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[tuple[str | None, list[str]]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._key: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table" and attributes.get("id"):
            self._table = attributes["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row, self._key = [], attributes.get("data-key")
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append((self._key, self._row))
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> dict[str, list[tuple[str | None, list[str]]]]:
    """Parse the page's tables."""
    parser = Tables()
    parser.feed(html)
    return parser.tables


def keyed(rows, column: int = 1) -> dict[str, str]:
    """Map each row's data-key to one of its cells."""
    return {key: cells[column] for key, cells in rows if key}


def charts(html: str) -> dict[str, ET.Element]:
    """Parse every inline SVG chart of the page as XML (it must be well-formed)."""
    found = re.findall(r'<svg class="chart".*?</svg>', html, flags=re.S)
    return {element.get("id"): element for element in map(ET.fromstring, found)}


def value_texts(svg: ET.Element) -> list[str]:
    """The numbers written after the bars, top to bottom."""
    return [node.text for node in svg.iter(f"{SVG}text") if node.get("class") == "chart-value"]


def page(client, url: str = "/dashboard") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def summary_json(runner) -> dict:
    result = runner.invoke(args=["summary", "--json"])
    assert result.exit_code == 0
    return json.loads(result.output)


def assert_page_equals_summary(html: str, summary: dict) -> None:
    """Every figure of `summary --json` that the dashboard shows is shown with that value."""
    funnel = keyed(tables(html)["funnel-table"])
    for key in ("procedures", "in_person_required", "surveyed", "feasible"):
        assert funnel[key] == f"{summary[key]:,}", key
    assert funnel["infeasible"] == f"{summary['infeasible']:,}"
    assert funnel["undecided"] == f"{summary['undecided']:,}"
    planned = {key.removeprefix("planned-"): v for key, v in funnel.items() if "planned-" in key}
    done = {key.removeprefix("done-"): v for key, v in funnel.items() if "done-" in key}
    assert planned == {year: f"{count:,}" for year, count in summary["planned"].items()}
    assert done == {year: f"{count:,}" for year, count in summary["done"].items()}
    years = {key: cells for key, cells in tables(html).get("years-table", []) if key}
    for year in set(summary["planned"]) | set(summary["done"]):
        assert years[year][1:3] == [
            f"{summary['planned'].get(year, 0):,}",
            f"{summary['done'].get(year, 0):,}",
        ]
    assert len(years) == len(set(summary["planned"]) | set(summary["done"]))
    svg = charts(html)["chart-funnel"]
    assert value_texts(svg) == [
        f"{value:,}"
        for value in (
            summary["procedures"],
            summary["in_person_required"],
            summary["surveyed"],
            summary["feasible"],
            sum(summary["planned"].values()),
            sum(summary["done"].values()),
        )
    ]
    city = tables(html)["shares-table"][-1][1] if summary["procedures"] else None
    if city:
        assert city[1] == f"{summary['procedures']:,}"
        assert city[2] == f"{summary['annual_volume']:,}"
        assert city[7] == f"{summary['volume_unknown']:,}"
    stats = dict(re.findall(r'class="stat-value" data-key="(\w+)">([\d,]+)', html))
    assert stats["procedures"] == f"{summary['procedures']:,}"
    assert stats["feasible"] == f"{summary['feasible']:,}"
    assert stats["online"] == f"{summary['online']:,}"
    assert stats["planned_total"] == f"{sum(summary['planned'].values()):,}"


@pytest.fixture
def office(client, db_session):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    return client


def small_city(session) -> None:
    """Two departments with every case the funnel distinguishes, a retired one, and a plan."""
    citizens = add_division(session, "市民課", "市民自治部")
    children = add_division(session, "子育て給付課", "子ども青少年部")
    add_procedure(session, citizens, "住民基本台帳の閲覧申請", visit_required=True)
    add_procedure(
        session,
        citizens,
        "住民票の写しの交付申請",
        visit_required=False,
        verdict=Verdict.feasible,
        annual_volume=42000,
    )
    add_procedure(
        session,
        citizens,
        "印鑑登録証明書の交付申請",
        verdict=Verdict.infeasible,
        online_status=OnlineStatus.partial,
        annual_volume=20000,
    )
    add_procedure(
        session,
        children,
        "児童手当の認定請求",
        verdict=Verdict.feasible,
        online_status=OnlineStatus.done,
        done_fiscal_year=2021,
        annual_volume=1500,
    )
    add_procedure(session, children, "児童手当の現況届", verdict=Verdict.feasible)
    add_procedure(session, children, "保育施設等の利用申込")
    add_procedure(
        session,
        children,
        "廃止した手当の申請",
        verdict=Verdict.feasible,
        annual_volume=99999,
        lifecycle=Lifecycle.retired,
    )
    recompute_plan(session)
    session.commit()


def test_numbers_on_the_page_equal_summary_json_on_a_small_city(office, runner, db_session):
    small_city(db_session)
    summary = summary_json(runner)
    assert (summary["procedures"], summary["in_person_required"], summary["feasible"]) == (6, 1, 3)
    assert summary["done"] == {"2021": 1}
    html = page(office)
    assert_page_equals_summary(html, summary)
    assert keyed(tables(html)["funnel-table"])["done-2021"] == "1"


def test_numbers_on_the_page_equal_summary_json_on_the_demo_city(office, runner, db_session):
    load_demo(db_session)
    db_session.commit()
    summary = summary_json(runner)
    html = page(office)
    assert_page_equals_summary(html, summary)
    funnel = keyed(tables(html)["funnel-table"])
    steps = ("procedures", "in_person_required", "surveyed", "feasible")
    assert [funnel[key] for key in steps] == ["1,942", "158", "1,784", "723"]
    first = current_fiscal_year()
    planned = [funnel[f"planned-{year}"] for year in range(first, first + 4)]
    assert planned == ["401", "89", "35", "198"]
    years = value_texts(charts(html)["chart-years"])
    assert years == ["401", "0", "89", "0", "35", "0", "198", "0"]


def test_online_share_is_weighted_by_known_volume_and_unknown_volumes_are_counted_apart(
    office, db_session
):
    citizens = add_division(db_session, "市民課", "市民自治部")
    roads = add_division(db_session, "道路管理課", "道路河川部")
    for name, status, volume in (
        ("A", OnlineStatus.done, 900),
        ("B", OnlineStatus.partial, 100),
        ("C", OnlineStatus.not_done, 1000),
    ):
        add_procedure(db_session, citizens, name, online_status=status, annual_volume=volume)
    add_procedure(db_session, citizens, "D (volume unknown)", online_status=OnlineStatus.done)
    add_procedure(
        db_session,
        citizens,
        "E (retired)",
        online_status=OnlineStatus.not_done,
        annual_volume=50000,
        lifecycle=Lifecycle.retired,
    )
    add_procedure(db_session, roads, "F (volume unknown)", online_status=OnlineStatus.done)
    html = page(office)
    rows = [cells for _key, cells in tables(html)["shares-table"]][1:]
    assert rows == [
        ["市民自治部", "4", "2,000", "900", "45.0%", "100", "5.0%", "1"],
        ["道路河川部", "1", "0", "0", "—", "0", "—", "1"],
        ["市全体", "5", "2,000", "900", "45.0%", "100", "5.0%", "2"],
    ]
    svg = charts(html)["chart-shares"]
    assert value_texts(svg) == ["45.0%", "—"]
    bars = [node for node in svg.iter(f"{SVG}rect") if "chart-bar" in node.get("class", "")]
    # 45 % and 5 % of the bar area, one after the other.
    widths = [float(node.get("width")) for node in bars]
    assert [node.get("class") for node in bars] == [
        "chart-bar chart-online",
        "chart-bar chart-partial",
    ]
    assert widths[0] == pytest.approx(9 * widths[1], rel=1e-3)
    assert float(bars[1].get("x")) == pytest.approx(float(bars[0].get("x")) + widths[0], abs=0.1)
    assert "2 procedures" not in html  # Japanese UI by default
    assert "今回は2手続" in html


def test_priority_coverage_counts_confirmed_matches_of_current_procedures(
    office, db_session, client
):
    items = db_session.execute(
        select(PriorityProcedure.position, PriorityProcedure.id).where(PriorityProcedure.active)
    ).all()
    assert len(items) == 27
    children = add_division(db_session, "子育て給付課", "子ども青少年部")
    care = add_division(db_session, "介護保険課", "福祉部")
    online = add_procedure(db_session, children, "児童手当の認定請求", online_status="done")
    offline = add_procedure(db_session, children, "児童手当の現況届", online_status="partial")
    retired = add_procedure(db_session, care, "要介護認定申請", lifecycle=Lifecycle.retired)
    suggested = add_procedure(db_session, care, "要介護更新認定申請", online_status="done")
    by_position = dict(items)
    for procedure, position, status in (
        (online, 1, MatchStatus.confirmed),
        (offline, 10, MatchStatus.confirmed),
        (retired, 16, MatchStatus.confirmed),
        (suggested, 17, MatchStatus.suggested),
    ):
        db_session.add(
            PriorityMatch(
                procedure_id=procedure.id,
                priority_procedure_id=by_position[position],
                status=status,
            )
        )
    db_session.commit()
    html = page(office)
    rows = {key: cells[1:] for key, cells in tables(html)["priority-table"] if key}
    assert rows == {
        "child_care": ["15", "2", "1", "1", "13"],
        "nursing_care": ["11", "0", "0", "0", "11"],
        "disaster": ["1", "0", "0", "0", "1"],
        "all": ["27", "2", "1", "1", "25"],
    }
    assert value_texts(charts(html)["chart-priority"]) == ["2 / 15", "0 / 11", "0 / 1"]
    assert re.search(r'data-key="priority_matched">2<small>/ 27</small>', html)
    assert 'id="priority-hint"' not in html


def test_every_chart_is_an_image_with_a_title_and_a_description_that_reads_the_numbers(
    office, db_session
):
    small_city(db_session)
    html = page(office)
    found = charts(html)
    assert set(found) == {"chart-funnel", "chart-years", "chart-shares", "chart-priority"}
    for chart_id, svg in found.items():
        assert svg.get("role") == "img"
        title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
        assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        assert title.text and desc.text, chart_id
        assert "style" not in ET.tostring(svg, encoding="unicode"), chart_id
    funnel_desc = found["chart-funnel"].find(f"{SVG}desc").text
    assert funnel_desc.startswith("全手続: 6; 性質上来庁が必要（対象外）: 1; ")
    shares_desc = found["chart-shares"].find(f"{SVG}desc").text
    assert "市民自治部：年間62,000件のうちオンライン 0.0%、一部オンライン 32.3%" in shares_desc


def test_labels_are_escaped_in_charts_and_tables(office, db_session):
    division = add_division(db_session, "課<b>", '<script>alert("部")</script>&')
    add_procedure(db_session, division, "手続", annual_volume=10)
    html = page(office)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;部&#34;)&lt;/script&gt;&amp;" in html
    svg = charts(html)["chart-shares"]
    labels = [node.text for node in svg.iter(f"{SVG}text") if node.get("class") == "chart-label"]
    assert labels == ['<script>alert("部")</script>&']


def test_a_long_label_is_shortened_in_the_chart_only():
    label = "議会・行政委員会事務局" * 3
    chart = bar_chart(
        chart_id="c", title="t", groups=[Group(label, [Bar([Segment(1, "total")], "1")])]
    )
    text = [node.text for node in ET.fromstring(str(chart)).iter(f"{SVG}text")][0]
    assert text.endswith("…") and label.startswith(text[:-1])
    assert text_width(text) <= 300 - 12
    assert fit("住民票", 100) == "住民票"


def test_an_empty_city_shows_dashes_not_errors(office):
    html = page(office)
    assert keyed(tables(html)["funnel-table"])["procedures"] == "0"
    assert "計画もオンライン化の実績もまだありません" in html
    assert 'data-key="online_share">—<' in html
    assert 'id="priority-hint"' in html


def test_the_print_version_has_the_figures_without_the_site_navigation(office, db_session):
    small_city(db_session)
    html = page(office, "/dashboard/print")
    assert 'class="site-nav"' not in html
    assert "藤沢市（デモ）" in html
    assert "行政手続のオンライン化 進捗状況" in html
    assert 'src="/static/js/print.js"' in html
    assert set(charts(html)) == {"chart-funnel", "chart-years", "chart-shares", "chart-priority"}
    assert tables(html)["funnel-table"] == tables(page(office))["funnel-table"]
    response = office.get("/static/css/dashboard.css")
    css = response.get_data(as_text=True)
    response.close()
    assert "@media print" in css and "size: A4 portrait" in css


def test_the_dashboard_speaks_english_and_is_in_the_navigation(office, db_session):
    small_city(db_session)
    assert '<a href="/dashboard">ダッシュボード</a>' in page(office, "/procedures")
    office.get("/lang/en")
    html = page(office)
    assert '<a href="/dashboard" aria-current="page">Dashboard</a>' in html
    assert "Share of annual applications that can be made online, by department" in html
    funnel = charts(html)["chart-funnel"].find(f"{SVG}desc").text
    assert funnel.startswith("All procedures: 6; Visit needed by nature (excluded): 1; ")


@pytest.mark.parametrize("role", [Role.viewer, Role.division])
def test_viewers_and_divisions_see_the_same_dashboard(client, db_session, role):
    small_city(db_session)
    add_user(db_session, "someone", role, division="市民課" if role == Role.division else None)
    login(client, "someone")
    assert keyed(tables(page(client))["funnel-table"])["procedures"] == "6"


@pytest.mark.browser
def test_the_dashboard_in_chromium_in_japanese_and_english(live_server, browser_page, db_session):  # noqa: F811
    small_city(db_session)
    add_user(db_session, "office", Role.dx_office)
    page_ = browser_page
    refused: list[str] = []
    # An inline style or script would be refused by the Content-Security-Policy and logged.
    page_.on(
        "console",
        lambda message: refused.append(message.text) if "Refused" in message.text else None,
    )
    page_.goto(f"{live_server}/login")
    page_.get_by_label("ログインID").fill("office")
    page_.get_by_label("パスワード").fill(PASSWORD)
    page_.get_by_role("button", name="ログイン").click()
    page_.get_by_role("link", name="ダッシュボード").click()
    chart = page_.get_by_role("img", name="棚卸からオンライン化まで")
    assert chart.is_visible()
    assert chart.bounding_box()["width"] > 300
    assert page_.locator("#funnel-table tr[data-key=procedures] td").inner_text() == "6"
    shoot(page_, "dashboard-ja")
    page_.get_by_role("link", name="印刷用").click()
    page_.get_by_role("button", name="印刷").wait_for()
    shoot(page_, "dashboard-print-ja")
    page_.goto(f"{live_server}/lang/en?next=/dashboard")
    assert page_.get_by_role("img", name="From inventory to online").is_visible()
    shoot(page_, "dashboard-en")
    assert refused == []
