"""The dashboard's complete-online and take-up sections: the figures of `summary --json`, ranked,
linked to the list filtered to exactly those procedures, and take-up never read as 0 %.

The fixture city has one procedure per named combination of steps, in three departments (one
knows no count: its take-up is unknown) and two fiscal years (one with a real 0 %).
"""

from __future__ import annotations

import json
import re

import pytest

from importers.steps import STEP_KEYS, encode
from procedures.models import Role
from tests.conftest import PASSWORD, add_division, add_procedure, add_user, login
from tests.test_browser import browser_page, live_server, shoot  # noqa: F401
from tests.test_dashboard import SVG, charts, tables, value_texts
from tests.test_steps_triage import listed

ONLINE = dict.fromkeys(STEP_KEYS, "online")
NO_ATTACHMENTS = {k: v for k, v in ONLINE.items() if k != "attachments"}
#: department: {name: (steps, applications a year, online, other channels, fiscal year)}.
CITY = {
    "市民部": {
        "完全オンラインの届出": (ONLINE, 500, 400, 100, 2023),
        "手数料だけ窓口の申請": (ONLINE | {"payment": "offline"}, 1200, 200, 1000, 2023),
        "添付書類だけ紙の申請": (ONLINE | {"attachments": "offline"}, 300, None, None, None),
    },
    "福祉部": {
        "申請書だけ紙の届出": (ONLINE | {"application": "offline"}, 50, 0, 50, 2024),
        "添付書類が未確認の申請": (NO_ATTACHMENTS, 80, 60, None, 2024),
        "二段階が紙の申請": (
            ONLINE | {"payment": "offline", "decision": "offline"},
            70,
            1,
            1,
            None,
        ),
        "段階の記録がない申請": (None, None, None, None, None),
        "手数料だけ窓口の別の申請": (ONLINE | {"payment": "offline"}, 2500, None, None, None),
    },
    "税務部": {"税証明の交付申請": (None, 10000, None, None, None)},
}


@pytest.fixture
def city(db_session) -> None:
    for department, procedures in CITY.items():
        division = add_division(db_session, department.replace("部", "課"), department)
        for name, (steps, volume, online, offline, year) in procedures.items():
            add_procedure(
                db_session,
                division,
                name,
                steps=encode(steps) if steps is not None else None,
                annual_volume=volume,
                online_volume=online,
                offline_volume=offline,
                volume_fiscal_year=year,
            )


@pytest.fixture
def office(client, db_session):
    add_user(db_session, "office", Role.dx_office)
    login(client, "office")
    return client


def summary(runner) -> dict:
    result = runner.invoke(args=["summary", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def dashboard(client) -> str:
    response = client.get("/dashboard")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_what_unlocks_the_most_is_ranked_and_equals_summary_json(office, city, runner):
    html = dashboard(office)
    counts = summary(runner)
    rows = tables(html)["unlocks-table"][1:]
    assert rows == [
        ("payment", ["手数料の納付", "2", "3,700"]),
        ("attachments", ["添付書類", "1", "300"]),
        ("application", ["申請", "1", "50"]),
    ]
    # The same numbers as the command, step by step, and no step the command counts is left out.
    assert {key: int(cells[1]) for key, cells in rows} == {
        step: n for step, n in counts["unlocks"].items() if n
    }
    assert {key: int(cells[2].replace(",", "")) for key, cells in rows} == {
        step: v for step, v in counts["unlocks_volume"].items() if v
    }
    chart = charts(html)["chart-unlocks"]
    assert value_texts(chart) == ["2", "1", "1"]
    assert chart.find(f"{SVG}title").text == "完全オンライン化への効果が大きい段階"
    lead = (
        "「手数料の納付」をオンライン化すると、2件の手続（年間3,700件の申請）が"
        "完全オンラインになります。"
    )
    assert lead in chart.find(f"{SVG}desc").text
    assert f'<p id="unlock-lead"><strong>{lead}</strong></p>' in html


def test_complete_and_not_yet_confirmed_equal_summary_json_and_name_the_steps_to_fill_in(
    office, city, runner
):
    html = dashboard(office)
    counts = summary(runner)
    stats = dict(re.findall(r'class="stat-value" data-key="(\w+)">(?:<a [^>]+>)?([\d,]+)', html))
    assert (stats["complete_online"], stats["not_yet_confirmed"], stats["one_step"]) == (
        "1",
        "3",
        "4",
    )
    assert (counts["complete_online"], counts["not_yet_confirmed"]) == (1, 3)
    assert "未確認の段階あり：オフラインと分かっている段階はないものの" in html
    unconfirmed = tables(html)["unconfirmed-table"][1:]
    assert unconfirmed[0] == ("attachments", ["添付書類", "3"])
    assert [key for key, _cells in unconfirmed[1:]] == [k for k in STEP_KEYS if k != "attachments"]
    assert {key: int(cells[1]) for key, cells in unconfirmed} == {
        step: statuses["unknown"] for step, statuses in counts["steps"].items()
    }


def test_each_count_links_to_the_list_of_exactly_those_procedures(office, city):
    html = dashboard(office)
    links = dict(re.findall(r'<a href="/procedures\?([^"]+)">([\d,]+)</a>', html))
    assert links == {
        "one_step=any": "4",
        "one_step=payment": "2",
        "one_step=attachments": "1",
        "one_step=application": "1",
        "unconfirmed=attachments": "3",
        **{f"unconfirmed={step}": "2" for step in STEP_KEYS if step != "attachments"},
    }
    assert listed(office, "one_step=payment") == {
        "手数料だけ窓口の申請",
        "手数料だけ窓口の別の申請",
    }
    assert listed(office, "unconfirmed=attachments") == {
        "添付書類が未確認の申請",
        "段階の記録がない申請",
        "税証明の交付申請",
    }
    for query, count in links.items():
        assert len(listed(office, query)) == int(count), query


def test_take_up_by_department_and_year_keeps_unknown_apart_from_a_real_zero(office, city, runner):
    html = dashboard(office)
    assert tables(html)["take-up-table"][1:] == [
        ("市民部", ["市民部", "2", "600", "1,100", "35.3%"]),
        ("福祉部", ["福祉部", "2", "1", "51", "1.9%"]),
        ("税務部", ["税務部", "0", "0", "0", "不明"]),
        ("city", ["市全体", "4", "601", "1,151", "34.3%"]),
    ]
    years = tables(html)["take-up-years-table"][1:]
    assert [(key, cells[1:]) for key, cells in years] == [
        ("2023", ["2", "600", "1,100", "35.3%"]),
        ("2024", ["1", "0", "50", "0.0%"]),
    ]
    # The whole city's figure is the command's take_up.
    assert f"{summary(runner)['take_up']:.1%}" == "34.3%"
    assert "市全体：34.3%（両方の件数が分かる4手続の集計）" in html
    desc = charts(html)["chart-take-up"].find(f"{SVG}desc").text
    assert "税務部：不明（両方の件数が分かる手続がありません）" in desc
    assert value_texts(charts(html)["chart-take-up-years"]) == ["35.3%", "0.0%"]


def test_a_city_without_steps_or_counts_says_so_instead_of_drawing_empty_charts(office, db_session):
    division = add_division(db_session, "市民課", "市民部")
    add_procedure(db_session, division, "転入届", annual_volume=3100)
    html = dashboard(office)
    assert "完全オンラインまであと1段階の手続はありません。" in html
    assert "両方の件数が分かる手続はまだありません。" in html
    assert "市全体：不明（両方の件数が分かる0手続の集計）" in html
    assert {"chart-unlocks", "chart-take-up"}.isdisjoint(charts(html))


def test_the_sections_speak_english(office, city):
    office.get("/lang/en")
    html = dashboard(office)
    assert "Complete online and what unlocks the most" in html
    assert (
        "Putting “Payment” online would complete 2 procedures, 3,700 applications a year." in html
    )
    assert tables(html)["take-up-table"][3] == ("税務部", ["税務部", "0", "0", "0", "Unknown"])
    assert "Putting “Application” online would complete 1 procedure, 50 applications a year." in (
        charts(html)["chart-unlocks"].find(f"{SVG}desc").text
    )


@pytest.mark.browser
def test_the_complete_online_section_in_chromium_in_japanese(
    live_server,  # noqa: F811
    browser_page,  # noqa: F811
    db_session,
    city,
):
    add_user(db_session, "office", Role.dx_office)
    page = browser_page
    page.goto(f"{live_server}/login")
    page.get_by_label("ログインID").fill("office")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.goto(f"{live_server}/dashboard")
    chart = page.get_by_role("img", name="完全オンライン化への効果が大きい段階")
    assert chart.is_visible()
    assert chart.bounding_box()["width"] > 300
    section = page.locator("section", has=page.locator("#complete-heading"))
    shoot(page, "dashboard-steps-ja")
    section.locator("#unlocks-table tr[data-key=payment] a").click()
    page.wait_for_url("**/procedures?one_step=payment")
    assert page.locator("#one_step").input_value() == "payment"
    names = page.locator("table.data-table tbody td a").all_inner_texts()
    assert sorted(names) == sorted(["手数料だけ窓口の申請", "手数料だけ窓口の別の申請"])
    shoot(page, "list-one-step-ja")
