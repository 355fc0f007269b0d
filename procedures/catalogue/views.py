"""The procedure list, a procedure's detail page and its edit form."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlmodel import Session, col

from procedures.catalogue.exports import inventory_workbook
from procedures.catalogue.extras import extra_attributes
from procedures.catalogue.forms import ConfirmBulkForm, ProcedureForm, StepsForm, TriageForm
from procedures.catalogue.missing import Decision, NotMissing, missing_queue, resolve_missing
from procedures.catalogue.procedures import (
    EditConflict,
    ProcedureFilter,
    audit_trail,
    blockers_from_column,
    get_procedure,
    list_departments,
    list_divisions,
    list_procedures,
    procedure_context,
    update_procedure,
)
from procedures.catalogue.steps import set_steps, step_row
from procedures.catalogue.triage import BulkChange, BulkError, apply_bulk, plan_bulk, target_query
from procedures.core import db
from procedures.core.auth import UPLOAD_ROLES, roles_required
from procedures.core.downloads import xlsx_download
from procedures.core.forms import refuse_stale_action, submitted_version
from procedures.core.params import PAGE_MAX, choice_param, int_list_param, int_param
from procedures.core.templating import FIELDS as FIELD_LABELS
from procedures.models import Division, Procedure, Role
from procedures.vocabulary import (
    BLOCKERS,
    LIFE_EVENTS,
    ONLINE_STATUSES,
    VERDICTS,
    VOLUME_BAND_LABELS,
    label,
)

bp = Blueprint("catalogue", __name__)

BULK_MESSAGES = {
    "reason_required": _l("Give the reason why these procedures cannot go online."),
    "unknown_change": _l("Choose a change from the list."),
    "nothing_selected": _l("Select procedures first, or apply the change to the whole list."),
    "changed_meanwhile": _l(
        "Someone else saved some of these procedures meanwhile. Nothing was changed; "
        "check the list and try again."
    ),
}


@bp.route("/")
def index():
    """Start at the procedure list."""
    return redirect(url_for("catalogue.procedures"))


@bp.route("/procedures")
def procedures():
    """List procedures with filters and paging; the filter lives in the URL."""
    session = db.session()
    filters = ProcedureFilter.from_args(request.args)
    page = int_param(request.args, "page", default=1, maximum=PAGE_MAX)
    assert page is not None  # the default
    page_size = current_app.config["PAGE_SIZE"]
    rows, total = list_procedures(session, filters=filters, page=page, page_size=page_size)
    return render_template(
        "catalogue/list.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, math.ceil(total / page_size)),
        filters=filters,
        departments=list_departments(session),
        divisions=list_divisions(session),
        online_statuses=ONLINE_STATUSES,
        blockers=BLOCKERS,
        life_events=LIFE_EVENTS,
        volume_bands=VOLUME_BAND_LABELS,
        bulk_form=ConfirmBulkForm(),
        fiscal_years=range(2022, 2031),
    )


def _load_or_404(procedure_id: int):
    procedure = get_procedure(db.session(), procedure_id)
    if procedure is None:
        abort(404)
    return procedure


@bp.route("/procedures/<int:procedure_id>")
def detail(procedure_id: int):
    """Show every field of a procedure and its audit trail."""
    session = db.session()
    procedure = _load_or_404(procedure_id)
    department, division = procedure_context(session, procedure)
    can_edit = current_user.can_edit_division(procedure.division_id)
    form = TriageForm(obj=procedure) if can_edit else None
    steps_form = StepsForm() if can_edit else None
    if form is not None and steps_form is not None:
        form.fill_from(procedure)
        steps_form.fill_from(procedure)
    return render_template(
        "catalogue/detail.html",
        procedure=procedure,
        department=department,
        division=division,
        blockers=blockers_from_column(procedure.blockers),
        extras=extra_attributes(session, procedure.extra),
        trail=audit_trail(session, procedure_id),
        can_edit=can_edit,
        triage_form=form,
        steps_form=steps_form,
        steps_row=step_row(procedure.steps),
    )


def _save_form(session, procedure_id: int, form: TriageForm) -> list[str]:
    """Apply a validated form to the procedure, checked against the version it was opened at."""
    return update_procedure(
        session,
        procedure_id=procedure_id,
        changes=form.changes(),
        # TriageForm checked it: empty (a conflict, shown as such) or a bounded whole number.
        expected_version=int(form.version.data or 0),
        user_id=current_user.id,
    )


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.route("/procedures/<int:procedure_id>/triage", methods=["POST"])
def triage(procedure_id: int):
    """Save the triage fields in place: JSON for the page's script, a redirect without it."""
    session = db.session()
    procedure = _load_or_404(procedure_id)
    if not current_user.can_edit_division(procedure.division_id):
        abort(403)
    form = TriageForm()
    if not form.validate_on_submit():
        errors = {name: [str(error) for error in errors] for name, errors in form.errors.items()}
        if _wants_json():
            return jsonify(ok=False, errors=errors, message=_("Check the fields marked.")), 400
        for messages in errors.values():
            for message in messages:
                flash(message, "error")
        return redirect(url_for("catalogue.detail", procedure_id=procedure_id))
    try:
        changed = _save_form(session, procedure_id, form)
    except EditConflict as conflict:
        session.rollback()
        message = _(
            "Someone else saved this procedure while you were editing it. Your changes were "
            "not saved."
        )
        if _wants_json():
            theirs = [
                f"{field_text(event.field)}: {event.old_value or '—'} → {event.new_value or '—'}"
                for event in conflict.their_changes[:5]
            ]
            return jsonify(ok=False, conflict=True, message=message, theirs=theirs), 409
        flash(message, "error")
        return redirect(url_for("catalogue.detail", procedure_id=procedure_id))
    db.commit()
    message = (
        _("Saved: %(count)d fields changed.", count=len(changed))
        if changed
        else _("Nothing to save: no field was changed.")
    )
    if not _wants_json():
        flash(message, "success")
        return redirect(url_for("catalogue.detail", procedure_id=procedure_id))
    procedure = get_procedure(session, procedure_id)
    assert procedure is not None  # it was saved just now
    html = render_template(
        "catalogue/_judgement.html",
        procedure=procedure,
        blockers=blockers_from_column(procedure.blockers),
    )
    return jsonify(ok=True, message=message, version=procedure.version, html=html)


@bp.route("/procedures/<int:procedure_id>/edit", methods=["GET", "POST"])
def edit(procedure_id: int):
    """Edit a procedure; refuse a save that would overwrite someone else's."""
    session = db.session()
    procedure = _load_or_404(procedure_id)
    if not current_user.can_edit_division(procedure.division_id):
        abort(403)
    form = ProcedureForm(obj=procedure)
    if request.method == "GET":
        form.fill_from(procedure)
    conflict = None
    if form.validate_on_submit():
        try:
            changed = _save_form(session, procedure_id, form)
        except EditConflict as error:
            session.rollback()
            conflict = error
        else:
            db.commit()
            if changed:
                flash(_("Saved: %(count)d fields changed.", count=len(changed)), "success")
            else:
                flash(_("Nothing to save: no field was changed."), "info")
            return redirect(url_for("catalogue.detail", procedure_id=procedure_id))
    department, division = procedure_context(session, procedure)
    status = 409 if conflict else (400 if request.method == "POST" else 200)
    return render_template(
        "catalogue/edit.html",
        form=form,
        procedure=procedure,
        department=department,
        division=division,
        conflict=conflict,
    ), status


def _bulk_request():
    """Read a bulk change, its targets and the user's limits from the posted form."""
    if current_user.role not in (Role.admin, Role.dx_office, Role.division):
        abort(403)
    try:
        change = BulkChange.parse(request.form.get("change", ""), request.form.get("reason", ""))
    except BulkError as error:
        return None, None, BULK_MESSAGES[error.code]
    if change.kind == "division" and not current_user.can_triage_all:
        abort(403)
    only = None if current_user.can_triage_all else current_user.division_id
    if choice_param(request.form, "scope", ("filter", "selected")) == "filter":
        targets = target_query(
            filters=ProcedureFilter.from_args(request.args), ids=[], only_division=only
        )
    else:
        ids = int_list_param(request.form, "ids")
        if not ids:
            return None, None, BULK_MESSAGES["nothing_selected"]
        if only is not None and _outside_division(ids, only):
            abort(403)
        targets = target_query(filters=None, ids=ids, only_division=only)
    return change, targets, None


def _outside_division(ids: list[int], division_id: int) -> bool:
    query = select(col(Procedure.id)).where(
        col(Procedure.id).in_(ids), col(Procedure.division_id) != division_id
    )
    return db.session().execute(query.limit(1)).first() is not None


@bp.route("/procedures/bulk", methods=["POST"])
def bulk_confirm():
    """Show how many procedures a bulk change would alter, and ask to confirm it."""
    form = ConfirmBulkForm()
    if not form.validate_on_submit():
        abort(400)
    change, targets, problem = _bulk_request()
    if problem:
        flash(problem, "error")
        return redirect(url_for("catalogue.procedures", **_request_args()))
    session = db.session()
    selected = session.execute(select(func.count()).select_from(targets.subquery())).scalar_one()
    changing = len(plan_bulk(session, change, targets))
    return render_template(
        "catalogue/bulk_confirm.html",
        form=form,
        change=change,
        selected=selected,
        changing=changing,
        change_text=describe_change(change, session),
    )


@bp.route("/procedures/bulk/apply", methods=["POST"])
def bulk_apply():
    """Apply a confirmed bulk change; every procedure changed gets its audit entry."""
    if not ConfirmBulkForm().validate_on_submit():
        abort(400)
    change, targets, problem = _bulk_request()
    if problem:
        flash(problem, "error")
        return redirect(url_for("catalogue.procedures", **_request_args()))
    try:
        changed = apply_bulk(db.session(), change, targets, user_id=current_user.id)
    except BulkError as error:
        db.session().rollback()  # some rows may be written already: none may stay
        flash(BULK_MESSAGES[error.code], "error")
        return redirect(url_for("catalogue.procedures", **_request_args()))
    db.commit()
    flash(_("%(count)d procedures were changed.", count=changed), "success")
    return redirect(url_for("catalogue.procedures", **_request_args()))


def _request_args() -> dict[str, Any]:
    """The request's URL arguments (the first value of each), to keep them in a redirect."""
    return request.args.to_dict()


def field_text(name: str | None) -> str:
    """Return a field's label in the user's language."""
    return label(FIELD_LABELS, name)


def describe_change(change: BulkChange, session: Session) -> str:
    """Say what a bulk change does, in the user's language."""
    if change.kind == "verdict":
        return _("Set the verdict to “%(verdict)s”", verdict=label(VERDICTS, change.value))
    if change.kind == "blocker":
        return _("Add the blocker “%(blocker)s”", blocker=label(BLOCKERS, change.value))
    if change.kind == "target":
        if change.value is None:
            return _("Clear the target fiscal year")
        return _("Set the target fiscal year to FY%(year)d", year=change.value)
    division = session.get(Division, change.value)
    assert division is not None  # plan_bulk refused an unknown division
    return _("Move to the division “%(division)s”", division=division.name)


@bp.route("/exports/inventory.xlsx")
def export_inventory():
    """Download the inventory, filtered as the list page was, as a workbook."""
    content = inventory_workbook(db.session(), ProcedureFilter.from_args(request.args))
    return xlsx_download(content, f"inventory-{date.today().isoformat()}.xlsx")


@bp.route("/missing")
def missing():
    """List the procedures an import flagged missing, with the import that flagged them."""
    session = db.session()
    division_id = request.args.get("division", "")
    mine = division_id == "mine" and current_user.division_id is not None
    rows, total = missing_queue(session, division_id=current_user.division_id if mine else None)
    return render_template("catalogue/missing.html", rows=rows, total=total, mine=mine)


@bp.route("/missing/<int:procedure_id>/<any(retire, keep):decision>", methods=["POST"])
@roles_required(*UPLOAD_ROLES)
def resolve(procedure_id: int, decision: str):
    """Confirm a missing procedure retired, or keep it; a division only for its own."""
    session = db.session()
    procedure = get_procedure(session, procedure_id)
    if procedure is None:
        abort(404)
    # Who may act comes first: a refused user learns nothing from form errors.
    if not current_user.can_edit_division(procedure.division_id):
        abort(403)
    expected_version = submitted_version()
    try:
        resolve_missing(
            session,
            procedure_id=procedure_id,
            decision=Decision(decision),
            expected_version=expected_version,
            user_id=current_user.id,
        )
    except NotMissing:
        return refuse_stale_action(
            procedure,
            _l("%(name)s changed since this page was shown; nothing was saved."),
            url_for("catalogue.missing"),
        )
    db.commit()
    if decision == "retire":
        flash(
            _("%(name)s is retired: kept, and left out of plans.", name=procedure.name), "success"
        )
    else:
        flash(_("%(name)s is kept as an active procedure.", name=procedure.name), "success")
    return redirect(url_for("catalogue.missing", **_request_args()))


@bp.route("/procedures/<int:procedure_id>/steps", methods=["POST"])
def steps(procedure_id: int):
    """Save where each step is done, in place as triage is: JSON for the script, else redirect."""
    session = db.session()
    procedure = _load_or_404(procedure_id)
    if not current_user.can_edit_division(procedure.division_id):
        abort(403)
    form = StepsForm()
    if not form.validate_on_submit():
        errors = {name: [str(error) for error in errors] for name, errors in form.errors.items()}
        return _refused(procedure_id, _("Check the fields marked."), errors=errors)
    try:
        changed = set_steps(
            session,
            procedure_id=procedure_id,
            statuses=form.statuses(),
            # StepsForm checked it: empty (a conflict, shown as such) or a bounded whole number.
            expected_version=int(form.version.data or 0),
            user_id=current_user.id,
        )
    except EditConflict as conflict:
        session.rollback()
        theirs = [
            f"{field_text(event.field)}: {event.old_value or '—'} → {event.new_value or '—'}"
            for event in conflict.their_changes[:5]
        ]
        message = _(
            "Someone else saved this procedure while you were editing it. Your changes were "
            "not saved."
        )
        return _refused(procedure_id, message, conflict=True, theirs=theirs)
    db.commit()
    message = (
        _("Saved: %(count)d steps changed.", count=len(changed))
        if changed
        else _("Nothing to save: no step was changed.")
    )
    if not _wants_json():
        flash(message, "success")
        return redirect(url_for("catalogue.detail", procedure_id=procedure_id, _anchor="steps"))
    procedure = _load_or_404(procedure_id)
    html = render_template("catalogue/_steps.html", steps_row=step_row(procedure.steps))
    return jsonify(ok=True, message=message, version=procedure.version, html=html)


def _refused(procedure_id: int, message: str, **details: Any):
    """Answer a save that was not made: JSON with its reasons, or a flash and the page again."""
    if _wants_json():
        status = 409 if details.get("conflict") else 400
        return jsonify(ok=False, message=message, **details), status
    flash(message, "error")
    for messages in details.get("errors", {}).values():
        for text in messages:
            flash(text, "error")
    return redirect(url_for("catalogue.detail", procedure_id=procedure_id, _anchor="steps"))
