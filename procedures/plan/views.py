"""The yearly conversion plan pages: overview, a year, policy, pins, saved versions, lists."""

from __future__ import annotations

from collections.abc import Sequence

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
from flask_login import current_user

from procedures.catalogue.procedures import get_procedure
from procedures.core import db
from procedures.core.auth import OFFICE_ROLES, roles_required
from procedures.core.downloads import xlsx_download
from procedures.core.i18n import number
from procedures.core.params import int_param
from procedures.plan.exports import (
    done_rows,
    once_converted,
    plan_csv,
    plan_rows,
    plan_workbook,
)
from procedures.plan.forms import PinForm, PolicyForm, RecomputeForm, SavePlanForm, UnpinForm
from procedures.plan.policy import (
    current_policy,
    load_pins,
    pin_rows,
    remove_pin,
    save_policy,
    set_pin,
)
from procedures.plan.ranking import planned_years
from procedures.plan.reasons import reason_sentences
from procedures.plan.saved import (
    PlanChanges,
    compare_assignments,
    procedure_names,
    save_plan_snapshot,
    saved_comparison,
    saved_plans,
)
from procedures.plan.schedule import (
    current_assignment,
    done_counts,
    plan_freshness,
    plan_place,
    planned_counts,
    preview_plan,
    progress,
    recompute_plan,
)
from procedures.survey.status import current_fiscal_year
from procedures.vocabulary import (
    BLOCKERS,
    LIFE_EVENTS,
    japanese_fiscal_year,
)

bp = Blueprint("plan", __name__)


def _years() -> list[dict]:
    return current_policy(db.session()).policy["years"]


def _known_year(fiscal_year: int) -> bool:
    """A year of the policy, of the plan, this year, or one in which something was done."""
    session = db.session()
    if fiscal_year == current_fiscal_year():
        return True
    if fiscal_year in {item["fiscal_year"] for item in _years()}:
        return True
    return fiscal_year in planned_counts(session) or fiscal_year in done_counts(
        session, fiscal_year
    )


def _freshness(policy: dict) -> dict:
    """What the stale-plan notice says, with the computation time in Japan time."""
    freshness = plan_freshness(db.session(), policy, current_year=current_fiscal_year())
    return {"freshness": freshness, "recompute_form": RecomputeForm()}


def _changes_view(changes: PlanChanges, limit: int = 100) -> dict:
    """Names for the first changes of each kind; counts for all."""
    groups: dict[str, Sequence[tuple[int, int | None, int | None]]] = {
        "moved_in": changes.moved_in,
        "moved_out": changes.moved_out,
        "moved_year": changes.moved_year,
    }
    ids = [item[0] for items in groups.values() for item in items[:limit]]
    names = procedure_names(db.session(), ids)
    return {
        kind: {
            "count": len(items),
            "rows": [
                {
                    "id": pid,
                    "code": names.get(pid, (None, ""))[0],
                    "name": names.get(pid, (None, ""))[1],
                    "before": before,
                    "after": after,
                }
                for pid, before, after in items[:limit]
            ],
        }
        for kind, items in groups.items()
    }


@bp.route("/plan")
def overview():
    """Show each year's target, plan and progress, the pins, and a comparison with a saved plan."""
    session = db.session()
    this_year = current_fiscal_year()
    policy = current_policy(session, current_year=this_year)
    years = [
        {**vars(item), "era": japanese_fiscal_year(item.fiscal_year)}
        for item in progress(session, policy.policy, current_year=this_year)
    ]
    saved = saved_plans(session)
    compare = None
    compare_id = int_param(request.args, "compare")
    chosen = next((item for item in saved if item.id == compare_id), None)
    if chosen is not None:
        assert chosen.id is not None  # a stored plan
        compare = {"saved": chosen, **saved_comparison(session, chosen.id)}
    return render_template(
        "plan/overview.html",
        years=years,
        policy=policy,
        pins=pin_rows(session),
        saved=saved,
        compare=compare,
        form=RecomputeForm(),
        save_form=SavePlanForm(),
        unpin_form=UnpinForm(),
        this_year=this_year,
        last_policy_year=max(
            (item["fiscal_year"] for item in policy.policy["years"]), default=None
        ),
        **_freshness(policy.policy),
    )


@bp.route("/plan/<int:fiscal_year>")
def year(fiscal_year: int):
    """List a year's planned procedures with the reasons for their places, or a past year's done."""
    if not _known_year(fiscal_year):
        abort(404)
    session = db.session()
    this_year = current_fiscal_year()
    policy = current_policy(session, current_year=this_year).policy
    done = [
        {
            "department": row[0],
            "division": row[1],
            "code": row[2],
            "name": row[3],
            "volume": row[4],
            "id": row[5],
        }
        for row in done_rows(session, fiscal_year)
    ]
    rows = []
    if fiscal_year >= this_year:
        found = plan_rows(session, fiscal_year)
        rows = [
            {
                "position": row[0],
                "department": row[1],
                "division": row[2],
                "code": row[3],
                "name": row[4],
                "pinned": row[5] == "pinned",
                "reasons": reason_sentences(row[6]),
                "volume": row[7],
                "id": row[10],
                "once_converted": once.value,
            }
            for row, once in zip(found, once_converted(found), strict=True)
        ]
    policy_years = {item["fiscal_year"]: item["capacity"] for item in policy["years"]}
    return render_template(
        "plan/year.html",
        rows=rows,
        done=done,
        fiscal_year=fiscal_year,
        fiscal_year_shown=fiscal_year,
        this_year=this_year,
        era=japanese_fiscal_year(fiscal_year),
        state="past"
        if fiscal_year < this_year
        else "current"
        if fiscal_year == this_year
        else "coming",
        capacity=policy_years.get(fiscal_year),
        beyond_policy=fiscal_year not in policy_years,
        **_freshness(policy),
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
            _("The plan was recomputed: %(count)s procedures placed.", count=number(len(entries))),
            "success",
        )
    # The stale notice of a year's page brings the clerk back to that year.
    shown = int_param(request.args, "year")
    if shown is not None and _known_year(shown):
        return redirect(url_for("plan.year", fiscal_year=shown))
    return redirect(url_for("plan.overview"))


@bp.route("/plan/pin/<int:procedure_id>", methods=["GET", "POST"])
@roles_required(*OFFICE_ROLES)
def pin(procedure_id: int):
    """Pin a procedure to a fiscal year or exclude it, with a reason; then recompute."""
    session = db.session()
    procedure = get_procedure(session, procedure_id)
    if procedure is None:
        abort(404)
    existing = load_pins(session).get(procedure_id)
    this_year = current_fiscal_year()
    years = [item["fiscal_year"] for item in planned_years({"years": _years()}, this_year)]
    if this_year not in years:
        years.insert(0, this_year)
    if existing is not None and existing.fiscal_year is not None:
        # A pin to a year that has passed or left the policy stays choosable as it is.
        years = sorted({*years, existing.fiscal_year})
    form = PinForm(years=years)
    if request.method == "GET" and existing is not None:
        form.target.data = "exclude" if existing.fiscal_year is None else str(existing.fiscal_year)
        form.reason.data = existing.reason
    if form.validate_on_submit():
        assert form.reason.data is not None  # DataRequired
        fiscal_year = form.fiscal_year()
        set_pin(
            session,
            procedure_id=procedure_id,
            fiscal_year=fiscal_year,
            reason=form.reason.data,
            user_id=current_user.id,
        )
        recompute_plan(session)
        db.commit()
        if fiscal_year is None:
            flash(_("%(name)s is excluded from the plan.", name=procedure.name), "success")
        else:
            flash(
                _("%(name)s is pinned to FY%(year)d.", name=procedure.name, year=fiscal_year),
                "success",
            )
        return redirect(url_for("plan.overview"))
    placed = plan_place(session, procedure_id)
    return render_template(
        "plan/pin.html",
        form=form,
        procedure=procedure,
        existing=existing,
        placed_year=placed[0] if placed else None,
        placed_reasons=reason_sentences(placed[1]) if placed else [],
        unpin_form=UnpinForm(),
    ), 400 if form.is_submitted() else 200


@bp.route("/plan/pin/<int:procedure_id>/remove", methods=["POST"])
@roles_required(*OFFICE_ROLES)
def unpin(procedure_id: int):
    """Give a pinned or excluded procedure back to the ranking, then recompute."""
    form = UnpinForm()
    session = db.session()
    if form.validate_on_submit() and remove_pin(
        session, procedure_id=procedure_id, user_id=current_user.id
    ):
        recompute_plan(session)
        db.commit()
        flash(_("The pin was removed; the ranking places the procedure again."), "success")
    return redirect(url_for("plan.overview"))


@bp.route("/plan/save", methods=["POST"])
@roles_required(*OFFICE_ROLES)
def save_plan():
    """Keep the current plan as a dated version to compare with later."""
    form = SavePlanForm()
    session = db.session()
    if form.validate_on_submit():
        saved = save_plan_snapshot(
            session,
            label=form.label.data or "",
            user_id=current_user.id,
            policy_version=current_policy(session).version or None,
        )
        db.commit()
        flash(_("The plan was saved as a version."), "success")
        return redirect(url_for("plan.overview", compare=saved.id))
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "error")
    return redirect(url_for("plan.overview"))


@bp.route("/plan/policy", methods=["GET", "POST"])
@roles_required(*OFFICE_ROLES)
def policy():
    """Edit the ranking policy: try it against the current plan, then save it as a version."""
    session = db.session()
    current = current_policy(session)
    if request.method == "GET":
        form = PolicyForm(data=PolicyForm.data_from_policy(current.policy))
    else:
        form = PolicyForm()
    preview = None
    if form.validate_on_submit():
        new_policy = form.policy()
        if form.save.data:
            snapshot = save_plan_snapshot(
                session,
                label=_("Before policy version %(version)d", version=current.version + 1)
                if current.version
                else _("Before the first saved policy"),
                user_id=current_user.id,
                policy_version=current.version or None,
            )
            saved = save_policy(session, new_policy, user_id=current_user.id)
            entries = recompute_plan(session, saved.policy)
            db.commit()
            flash(
                _(
                    "Policy version %(version)d was saved and the plan recomputed: "
                    "%(count)s procedures placed.",
                    version=saved.version,
                    count=number(len(entries)),
                ),
                "success",
            )
            return redirect(url_for("plan.overview", compare=snapshot.id))
        entries = preview_plan(session, new_policy, current_year=current_fiscal_year())
        after = {entry.procedure_id: entry.fiscal_year for entry in entries}
        before = current_assignment(session)
        changes = compare_assignments(before, after)
        capacities = {item["fiscal_year"]: item["capacity"] for item in new_policy["years"]}
        preview = {
            "total": changes.total,
            "years": [
                {
                    "fiscal_year": year,
                    "capacity": capacities.get(year),
                    "before": counts[0],
                    "after": counts[1],
                }
                for year, counts in changes.counts_by_year(before, after).items()
            ],
            **_changes_view(changes),
        }
    return render_template(
        "plan/policy.html",
        form=form,
        current=current,
        preview=preview,
        blocker_fields=[form.blockers[code] for code in BLOCKERS],
        life_event_fields=[form.life_events[f"event_{index}"] for index in range(len(LIFE_EVENTS))],
    ), 400 if form.is_submitted() and preview is None else 200


@bp.route("/plan/<int:fiscal_year>/export.xlsx")
def export_year(fiscal_year: int):
    """Download the yearly conversion list as a workbook."""
    if not _known_year(fiscal_year):
        abort(404)
    content = plan_workbook(
        db.session(), fiscal_year=fiscal_year, city=current_app.config["CITY_NAME"]
    )
    return xlsx_download(content, f"conversion-plan-FY{fiscal_year}.xlsx")


@bp.route("/plan/<int:fiscal_year>/export-<any('utf-8', 'cp932'):encoding>.csv")
def export_year_csv(fiscal_year: int, encoding: str):
    """Download the yearly list as CSV: UTF-8 with BOM for Excel, or CP932 for older systems."""
    if not _known_year(fiscal_year):
        abort(404)
    content = plan_csv(db.session(), fiscal_year=fiscal_year, encoding=encoding)
    charset = "shift_jis" if encoding == "cp932" else "utf-8"
    return Response(
        content,
        mimetype="text/csv",
        headers={
            "Content-Type": f"text/csv; charset={charset}",
            "Content-Disposition": (
                f'attachment; filename="conversion-plan-FY{fiscal_year}-{encoding}.csv"'
            ),
        },
    )
