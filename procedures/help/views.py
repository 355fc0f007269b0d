"""The help pages: one per area of the job, an index of them, and the glossary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l

from procedures.core.i18n import select_locale
from procedures.help.glossary import (
    GROUPS,
    FieldDescription,
    Term,
    all_terms,
    field_description,
    term,
    term_of_field,
)

bp = Blueprint("help", __name__, url_prefix="/help")


@dataclass(frozen=True)
class Topic:
    """A help page: its title, what it covers, the page it helps with and its terms."""

    title: Any
    summary: Any
    #: The endpoint of the area's main page, linked from the help page.
    area: str
    terms: tuple[str, ...]
    #: The area's page opens only for the roles that import (not for viewers).
    uploaders_only: bool = False
    #: The area's page opens only for the DX office and administrators.
    office_only: bool = False


#: The help pages, in the order of the work. Their texts are templates/help/<lang>/<key>.html:
#: a page of prose is written in each language as a whole, not sentence by sentence.
TOPICS = {
    "import": Topic(
        _l("Help: importing an inventory"),
        _l(
            "Uploading a division's Excel or CSV file, checking the preview, importing it "
            "and undoing it."
        ),
        "imports.upload",
        ("inventory", "import", "preview", "mapping", "values_to_decide", "missing", "survey"),
        uploaders_only=True,
    ),
    "triage": Topic(
        _l("Help: the procedure list and judging procedures"),
        _l(
            "Finding procedures, reading a procedure's page, recording the verdict and the "
            "blockers, and changing many procedures at once."
        ),
        "catalogue.procedures",
        (
            "visit_required",
            "verdict",
            "blockers",
            "online_status",
            "complete_online",
            "annual_volume",
            "mynaportal",
        ),
    ),
    "plan": Topic(
        _l("Help: the conversion plan"),
        _l(
            "How the plan orders feasible procedures into fiscal years; pins, the policy and "
            "saved versions."
        ),
        "plan.overview",
        ("plan_tier", "rank", "pin", "fiscal_year", "annual_volume", "blockers"),
    ),
    "survey": Topic(
        _l("Help: the yearly survey"),
        _l("Sending each division its workbook, filling it in and bringing the answers back."),
        "survey.overview",
        ("survey", "visit_required", "annual_volume", "blockers"),
        uploaders_only=True,
    ),
    "dashboard": Topic(
        _l("Help: the dashboard"),
        _l("What the figures and charts count, the printable version and open data."),
        "dashboard.index",
        ("verdict", "online_status", "visit_required", "priority_list"),
    ),
    "review": Topic(
        _l("Help: the national priority list and missing procedures"),
        _l(
            "Confirming which city procedures match the national list, and deciding about "
            "procedures absent from an import."
        ),
        "priority.index",
        ("priority_list", "mynaportal", "missing"),
    ),
    "national": Topic(
        _l("Help: the national survey and the national reference"),
        _l(
            "Exporting the inventory in the national layout, loading the national inventory, "
            "linking procedures to national IDs and reviewing national changes."
        ),
        "national.index",
        ("online_status", "blockers", "annual_volume"),
        office_only=True,
    ),
}
#: The headings of the glossary page's groups (procedures.help.glossary.GROUPS).
GROUP_TITLES = {
    "import": _l("Importing"),
    "procedure": _l("What a procedure records"),
    "judgement": _l("Judging a procedure"),
    "plan": _l("The plan"),
}


@bp.route("/")
def index():
    """List the help pages and the glossary."""
    return render_template("help/index.html", topics=TOPICS)


@bp.route("/glossary")
def glossary():
    """Show every term of the glossary, grouped, each with its anchor."""
    terms = all_terms(select_locale())
    groups = [(GROUP_TITLES[group], [t for t in terms if t.group == group]) for group in GROUPS]
    return render_template("help/glossary.html", groups=groups)


def _topic_page(key: str) -> Callable[[], str]:
    """Return the view of one help page; each page is a route of its own."""

    def page() -> str:
        lang = select_locale()
        topic = TOPICS[key]
        return render_template(
            "help/topic.html",
            key=key,
            topic=topic,
            body=f"help/{lang}/{key}.html",
            terms=[term(name, lang) for name in topic.terms],
        )

    page.__name__ = f"help_{key}"
    return page


for _key in TOPICS:
    bp.add_url_rule(f"/{_key}", endpoint=_key, view_func=_topic_page(_key))


def glossary_helpers() -> dict[str, Callable[..., Any]]:
    """Return the glossary's template helpers, each reading the page's language."""

    def glossary_term(key: str) -> Term:
        return term(key, select_locale())

    def field_help(name: str) -> FieldDescription:
        return field_description(name, select_locale())

    return {
        "glossary_term": glossary_term,
        "field_term": term_of_field,
        "field_help": field_help,
    }
