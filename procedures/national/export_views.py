"""The DX office's page for the national survey: what cannot be written as codes, and the export.

These pages share the area's blueprint (views.py) so that every national page is `national.*`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from flask import render_template
from flask_babel import lazy_gettext as _l

from procedures.core import clock, db
from procedures.core.auth import OFFICE_ROLES, roles_required
from procedures.core.downloads import xlsx_download
from procedures.national.export import Finding, national_findings, national_workbook
from procedures.national.views import bp

#: Why a value could not be written as a code, in the page's language.
REASONS = {
    "not_a_code": _l(
        "Not a code of the national list: the cell is left blank and the value is written "
        "in the 補足 (notes) column."
    ),
    "several_values": _l(
        "Several values where the national layout holds one: the first is written, all of "
        "them in the 補足 (notes) column."
    ),
    "not_read_back": _l(
        "The 補足 (notes) column cannot carry this value back: importing the export would read "
        "another value."
    ),
}
#: Procedures listed per group; the count says how many there are.
SHOWN = 100


@dataclass
class Group:
    """The findings of one column and one reason."""

    column: str
    reason: str
    findings: list[Finding] = field(default_factory=list)


def _grouped(findings: list[Finding]) -> list[Group]:
    groups: dict[tuple[str, str], Group] = defaultdict(lambda: Group("", ""))
    for finding in findings:
        group = groups[(finding.column, finding.reason)]
        group.column, group.reason = finding.column, finding.reason
        group.findings.append(finding)
    return sorted(groups.values(), key=lambda g: (-len(g.findings), g.column))


@bp.route("/national/export")
@roles_required(*OFFICE_ROLES)
def report():
    """Check the inventory against the national codes before the export."""
    groups = _grouped(national_findings(db.session()))
    return render_template(
        "national/report.html", groups=groups, reasons=REASONS, shown=SHOWN,
        total=sum(len(g.findings) for g in groups),
    )  # fmt: skip


@bp.route("/national/export.xlsx")
@roles_required(*OFFICE_ROLES)
def export():
    """Download the inventory in the national survey's 令和7年度 layout."""
    content = national_workbook(db.session())
    return xlsx_download(content, f"national-r7-{clock.today().isoformat()}.xlsx")
