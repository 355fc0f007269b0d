"""The dashboard (and its printable version) and the open-data downloads.

Every signed-in role may open them: the dashboard shows only counts of data every role can
already read, and the open-data files hold only the fields the city publishes.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup

from procedures.core import clock, db
from procedures.core.i18n import number
from procedures.core.templating import fiscal_year
from procedures.dashboard.charts import WIDTH, Bar, Group, Segment, bar_chart
from procedures.dashboard.figures import Dashboard, dashboard
from procedures.dashboard.opendata import opendata_csv, opendata_json
from procedures.dashboard.steps import TakeUp, Unlock
from procedures.priority.national_list import CATEGORIES
from procedures.vocabulary import STEP_LABELS, label

bp = Blueprint("dashboard", __name__)

#: Natural width of a chart that stands beside its table (about half of the page).
PAIR_WIDTH = 560


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.1%}"


def _chart_of_shares(
    chart_id: str, title: str, groups: list[Group], sentences: list[str], width: int = WIDTH
) -> Markup:
    """Draw bars that are shares of a whole on full tracks, described by one sentence a group."""
    return bar_chart(
        chart_id=chart_id,
        title=title,
        groups=groups,
        scale=1,
        track=True,
        desc="; ".join(sentences) + ".",
        width=width,
    )


def funnel_chart(figures: Dashboard) -> Markup:
    """Draw the funnel: all → visit needed → surveyed → feasible → planned → put online."""
    summary = figures.summary
    steps = [
        (_("All procedures"), summary["procedures"], "total"),
        (_("Visit needed by nature (excluded)"), summary["in_person_required"], "excluded"),
        (_("Surveyed for online conversion"), summary["surveyed"], "total"),
        (_("Judged convertible"), summary["feasible"], "total"),
        (_("In the plan (all years)"), figures.planned_total, "planned"),
        (_("Put online (all years)"), figures.done_total, "done"),
    ]
    groups = [
        Group(label, [Bar([Segment(value, series)], f"{value:,}")])
        for label, value, series in steps
    ]
    title = _("From inventory to online")
    return bar_chart(chart_id="chart-funnel", title=title, groups=groups, width=PAIR_WIDTH)


def years_chart(figures: Dashboard) -> Markup:
    """Draw planned against put online, per fiscal year."""
    groups = [
        Group(
            fiscal_year(year.fiscal_year),
            [
                Bar([Segment(year.planned, "planned")], f"{year.planned:,}", _("Planned")),
                Bar([Segment(year.done, "done")], f"{year.done:,}", _("Put online")),
            ],
        )
        for year in figures.years
    ]
    title = _("Plan and done per fiscal year")
    return bar_chart(chart_id="chart-years", title=title, groups=groups, width=PAIR_WIDTH)


def shares_chart(figures: Dashboard) -> Markup:
    """Draw each department's online share of annual applications, partly online after it."""
    groups, sentences = [], []
    for row in figures.departments:
        segments = []
        if row.known_volume:
            # Both shares exist once some volume is known.
            assert row.online_share is not None and row.partial_share is not None
            segments = [
                Segment(row.online_share, "online"),
                Segment(row.partial_share, "partial"),
            ]
        groups.append(Group(row.name, [Bar(segments, _percent(row.online_share))]))
        sentences.append(
            _(
                "%(department)s: online %(online)s, partly online %(partial)s "
                "of %(volume)s applications a year",
                department=row.name,
                online=_percent(row.online_share),
                partial=_percent(row.partial_share),
                volume=f"{row.known_volume:,}",
            )
        )
    title = _("Share of annual applications that can be made online, by department")
    return _chart_of_shares("chart-shares", title, groups, sentences)


def priority_chart(figures: Dashboard) -> Markup:
    """Draw the national list per category: matched items, and of those the online ones."""
    groups, sentences = [], []
    for row in figures.priority:
        label = str(CATEGORIES.get(row.category, row.category))
        items = row.items or 1
        segments = [
            Segment(row.online / items, "online"),
            Segment((row.matched - row.online) / items, "matched"),
        ]
        groups.append(Group(label, [Bar(segments, f"{row.matched} / {row.items}")]))
        sentences.append(
            _(
                "%(category)s: %(matched)d of %(items)d matched, %(online)d online",
                category=label,
                matched=row.matched,
                items=row.items,
                online=row.online,
            )
        )
    title = _("National priority list: matched and online")
    return _chart_of_shares("chart-priority", title, groups, sentences, width=PAIR_WIDTH)


def unlock_sentence(unlock: Unlock) -> str:
    """Say what putting one step online would complete, e.g. for payment."""
    return ngettext(
        "Putting “%(step)s” online would complete %(count)s procedure, "
        "%(volume)s applications a year.",
        "Putting “%(step)s” online would complete %(count)s procedures, "
        "%(volume)s applications a year.",
        unlock.procedures,
        step=label(STEP_LABELS, unlock.step),
        count=number(unlock.procedures),
        volume=number(unlock.volume),
    )


def unlocks_chart(figures: Dashboard) -> Markup:
    """Draw the steps by the procedures their going online would complete, the most first."""
    groups = [
        Group(
            label(STEP_LABELS, unlock.step),
            [Bar([Segment(unlock.procedures, "total")], number(unlock.procedures))],
        )
        for unlock in figures.unlocks
    ]
    return bar_chart(
        chart_id="chart-unlocks",
        title=_("What unlocks the most"),
        groups=groups,
        desc=" ".join(unlock_sentence(unlock) for unlock in figures.unlocks),
        width=PAIR_WIDTH,
    )


def take_up_text(row: TakeUp) -> str:
    """Return a take-up with one decimal, or "Unknown" (never 0 %) when nothing is known."""
    return _("Unknown") if row.take_up is None else f"{row.take_up:.1%}"


def _take_up_sentence(name: str, row: TakeUp) -> str:
    if row.take_up is None:
        return _("%(name)s: unknown, no procedure knows both counts", name=name)
    return _(
        "%(name)s: %(share)s of %(total)s applications a year arrive online, "
        "over %(count)s procedures",
        name=name,
        share=take_up_text(row),
        total=number(row.online + row.offline),
        count=number(row.procedures),
    )


def take_up_chart(chart_id: str, title: str, rows: list[tuple[str, TakeUp]], width: int) -> Markup:
    """Draw take-up as shares of a whole, one bar per (label, row); unknown draws no bar."""
    groups = [
        Group(name, [Bar([Segment(row.take_up or 0, "online")], take_up_text(row))])
        for name, row in rows
    ]
    sentences = [_take_up_sentence(name, row) for name, row in rows]
    return _chart_of_shares(chart_id, title, groups, sentences, width=width)


def _step_charts(figures: Dashboard) -> dict[str, Markup]:
    years = [(fiscal_year(int(row.name)), row) for row in figures.take_up_years]
    return {
        "unlocks": unlocks_chart(figures),
        "take_up": take_up_chart(
            "chart-take-up",
            _("Take-up by department"),
            [(row.name, row) for row in figures.take_up],
            WIDTH,
        ),
        "take_up_years": take_up_chart(
            "chart-take-up-years", _("Take-up by fiscal year"), years, PAIR_WIDTH
        ),
    }


def _render(template: str):
    figures = dashboard(db.session())
    return render_template(
        template,
        figures=figures,
        charts={
            "funnel": funnel_chart(figures),
            "years": years_chart(figures),
            "shares": shares_chart(figures),
            "priority": priority_chart(figures),
            **_step_charts(figures),
        },
        categories=CATEGORIES,
        percent=_percent,
        take_up_text=take_up_text,
        unlock_sentence=unlock_sentence,
        today=clock.today(),
    )


@bp.route("/dashboard")
def index():
    """Show the funnel, plan against done, online share and national-list coverage."""
    return _render("dashboard/index.html")


@bp.route("/dashboard/print")
def print_view():
    """Show the dashboard laid out for A4 paper, without the navigation."""
    return _render("dashboard/print.html")


@bp.route("/open-data.csv")
def open_data_csv():
    """Download the public fields of every procedure as CSV (UTF-8 with BOM; ?lang=en)."""
    language = "en" if request.args.get("lang") == "en" else "ja"
    content = opendata_csv(db.session(), language=language)
    suffix = "-en" if language == "en" else ""
    return Response(
        content,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="procedures-open-data{suffix}.csv"',
        },
    )


@bp.route("/open-data.json")
def open_data_json():
    """Download the public fields of every procedure as JSON."""
    content = opendata_json(db.session(), city=current_app.config["CITY_NAME"])
    return Response(
        content,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Content-Disposition": 'attachment; filename="procedures-open-data.json"',
        },
    )
