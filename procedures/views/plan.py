"""The yearly conversion plan and the exports."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from procedures import db
from procedures.auth import OFFICE_ROLES, roles_required
from procedures.catalogue import ProcedureFilter
from procedures.exports import inventory_workbook, plan_rows, plan_workbook
from procedures.forms import RecomputeForm
from procedures.ranking import DEFAULT_POLICY, planned_counts, recompute_plan
from procedures.vocabulary import TIERS, explain_reason, japanese_fiscal_year, label

bp = Blueprint("plan", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _years() -> list[dict]:
    return DEFAULT_POLICY["years"]


@bp.route("/plan")
def overview():
    """Show each planning year's capacity and how many procedures the plan puts there."""
    counts = planned_counts(db.session())
    years = [
        {
            **year,
            "planned": counts.get(year["fiscal_year"], 0),
            "era": japanese_fiscal_year(year["fiscal_year"]),
        }
        for year in _years()
    ]
    return render_template("plan/overview.html", years=years, form=RecomputeForm())


@bp.route("/plan/<int:fiscal_year>")
def year(fiscal_year: int):
    """List the plan's procedures of one fiscal year, each with the reason for its place."""
    if fiscal_year not in {item["fiscal_year"] for item in _years()}:
        abort(404)
    rows = [
        {
            "position": row[0],
            "department": row[1],
            "division": row[2],
            "code": row[3],
            "name": row[4],
            "tier": label(TIERS, row[5]),
            "reason": explain_reason(row[6]),
            "volume": row[7],
            "id": row[10],
        }
        for row in plan_rows(db.session(), fiscal_year)
    ]
    return render_template(
        "plan/year.html",
        rows=rows,
        fiscal_year=fiscal_year,
        era=japanese_fiscal_year(fiscal_year),
        years=_years(),
    )


@bp.route("/plan/recompute", methods=["POST"])
@roles_required(*OFFICE_ROLES)
def recompute():
    """Rank the candidates again with the current policy."""
    form = RecomputeForm()
    if form.validate_on_submit():
        entries = recompute_plan(db.session())
        db.commit()
        flash(
            _("The plan was recomputed: %(count)d procedures placed.", count=len(entries)),
            "success",
        )
    return redirect(url_for("plan.overview"))


@bp.route("/plan/<int:fiscal_year>/export.xlsx")
def export_year(fiscal_year: int):
    """Download the yearly conversion list as a workbook."""
    if fiscal_year not in {item["fiscal_year"] for item in _years()}:
        abort(404)
    content = plan_workbook(
        db.session(), fiscal_year=fiscal_year, city=current_app.config["CITY_NAME"]
    )
    return _download(content, f"conversion-plan-FY{fiscal_year}.xlsx")


@bp.route("/exports/inventory.xlsx")
def export_inventory():
    """Download the inventory, filtered as the list page was, as a workbook."""
    content = inventory_workbook(db.session(), ProcedureFilter.from_args(request.args))
    return _download(content, f"inventory-{date.today().isoformat()}.xlsx")


def _download(content: bytes, file_name: str) -> Response:
    return Response(
        content,
        mimetype=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="{file_name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
