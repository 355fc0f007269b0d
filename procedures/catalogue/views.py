"""The procedure list, a procedure's detail page and its edit form."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_template_attribute,
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
    divisions_by_department,
    get_procedure,
    list_departments,
    list_divisions,
    list_procedures,
    procedure_context,
    update_procedure,
)
from procedures.catalogue.steps import set_steps, step_row
from procedures.catalogue.triage import (
    BulkChange,
    BulkError,
    apply_bulk,
    bulk_problems,
    plan_bulk,
    target_query,
)
from procedures.core import clock, db
from procedures.core.auth import UPLOAD_ROLES, roles_required
from procedures.core.downloads import xlsx_download
from procedures.core.forms import refuse_stale_action, submitted_version
from procedures.core.i18n import number
from procedures.core.params import PAGE_MAX, choice_param, int_list_param, int_param
from procedures.core.templating import FIELDS as FIELD_LABELS
from procedures.core.templating import change_text
from procedures.models import Division, Procedure, Role
from procedures.national.links import confirmed_link
from procedures.vocabulary import (
    BLOCKERS,
    LIFE_EVENTS,
    ONLINE_STATUSES,
    STEP_LABELS,
    STEP_STATUSES,
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


@dataclass
class BulkEntry:
    """What the list's bulk bar holds; given back as it was when the change is refused."""

    change: str = ""
    reason: str = ""
    scope: str = "selected"
    ids: list[int] = field(default_factory=list)
    #: Messages by field of the bar (change, reason, ids), or "form" for the bar as a whole.
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_request(cls) -> BulkEntry:
        """Read the bar from the posted form."""
        return cls(
            change=request.form.get("change", ""),
            reason=request.form.get("reason", ""),
            scope=choice_param(request.form, "scope", ("filter", "selected"), default="selected"),
            ids=int_list_param(request.form, "ids"),
        )


@bp.route("/procedures")
def procedures():
    """List procedures with filters and paging; the filter lives in the URL."""
    return _list_page(BulkEntry())


def _list_page(bulk: BulkEntry, status: int = 200):
    """Render the list of the request's filters and page, with the bulk bar as given."""
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
        steps=STEP_LABELS,
        step_statuses=STEP_STATUSES,
        bulk_form=ConfirmBulkForm(),
        bulk=bulk,
        fiscal_years=range(2022, 2031),
    ), status


def _load_or_404(procedure_id: int):
    procedure = get_procedure(db.session(), procedure_id)
    if procedure is None:
        abort(404)
    return procedure


@bp.route("/procedures/<int:procedure_id>")
def detail(procedure_id: int):
    """Show every field of a procedure and its audit trail."""
    procedure = _load_or_404(procedure_id)
    can_edit = current_user.can_edit_division(procedure.division_id)
    form = TriageForm(obj=procedure) if can_edit else None
    if form is not None:
        form.fill_from(procedure)
    return _detail_page(procedure, form)


def _detail_page(procedure: Procedure, form: TriageForm | None, status: int = 200):
    """Render a procedure's page; `form` is the triage form as shown (or refused), if any."""
    session = db.session()
    assert procedure.id is not None  # a stored procedure
    department, division = procedure_context(session, procedure)
    # Whoever may triage the procedure may also set its steps.
    steps_form = StepsForm() if form is not None else None
    if steps_form is not None:
        steps_form.fill_from(procedure)
    return render_template(
        "catalogue/detail.html",
        procedure=procedure,
        department=department,
        division=division,
        blockers=blockers_from_column(procedure.blockers),
        extras=extra_attributes(session, procedure.extra),
        trail=audit_trail(session, procedure.id),
        can_edit=form is not None,
        triage_form=form,
        steps_form=steps_form,
        steps_row=step_row(procedure.steps),
        national_link=confirmed_link(session, procedure.id),
    ), status


def _history_html(procedure: Procedure) -> str:
    """The procedure page's History section alone (its block), as the page draws it."""
    assert procedure.id is not None  # a stored procedure
    template = current_app.jinja_env.get_template("catalogue/detail.html")
    context = {"procedure": procedure, "trail": audit_trail(db.session(), procedure.id)}
    current_app.update_template_context(context)
    return "".join(template.blocks["history"](template.new_context(context)))


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
    form = TriageForm(obj=procedure)
    if not form.validate_on_submit():
        if not _wants_json():  # without the script: the page again, as the clerk left it
            return _detail_page(procedure, form, 400)
        errors = {name: [str(error) for error in errors] for name, errors in form.errors.items()}
        summary = get_template_attribute("_macros.html", "error_summary")(form)
        return jsonify(
            ok=False, errors=errors, summary=str(summary), message=_("Check the fields marked.")
        ), 400
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
                f"{field_text(event.field)}: {change_text(event.field, event.old_value)}"
                f" → {change_text(event.field, event.new_value)}"
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
    return jsonify(
        ok=True,
        message=message,
        version=procedure.version,
        html=html,
        history=_history_html(procedure),
    )


@bp.route("/procedures/<int:procedure_id>/edit", methods=["GET", "POST"])
def edit(procedure_id: int):
    """Edit a procedure; refuse a save that would overwrite someone else's."""
    session = db.session()
    procedure = _load_or_404(procedure_id)
    if not current_user.can_edit_division(procedure.division_id):
        abort(403)
    # Who may move a procedure to another division: the DX office and the administrator. A
    # division edits its own procedures only, so moving one away would be a one-way door.
    movable = divisions_by_department(session) if current_user.can_triage_all else None
    form = ProcedureForm(obj=procedure, divisions=movable)
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


def _bulk_request(bulk: BulkEntry) -> tuple[BulkChange, Any] | None:
    """Check a bulk change, its targets and the user's limits; None when `bulk.errors` says why."""
    if current_user.role not in (Role.admin, Role.dx_office, Role.division):
        abort(403)
    change, problems = bulk_problems(
        bulk.change, bulk.reason, selected_only=bulk.scope == "selected", ids=bulk.ids
    )
    if change is not None and change.kind == "division" and not current_user.can_triage_all:
        abort(403)
    only = None if current_user.can_triage_all else current_user.division_id
    if bulk.scope == "selected" and only is not None and _outside_division(bulk.ids, only):
        abort(403)
    bulk.errors = {name: str(BULK_MESSAGES[code]) for name, code in problems.items()}
    if change is None or bulk.errors:
        return None
    if bulk.scope == "filter":
        filters = ProcedureFilter.from_args(request.args)
        return change, target_query(filters=filters, ids=[], only_division=only)
    return change, target_query(filters=None, ids=bulk.ids, only_division=only)


def _outside_division(ids: list[int], division_id: int) -> bool:
    if not ids:
        return False
    query = select(col(Procedure.id)).where(
        col(Procedure.id).in_(ids), col(Procedure.division_id) != division_id
    )
    return db.session().execute(query.limit(1)).first() is not None


@bp.route("/procedures/bulk", methods=["POST"])
def bulk_confirm():
    """Show how many procedures a bulk change would alter, and ask to confirm it.

    A refused change comes back to the list (400) with the ticks, the change and the reason
    as they were, and each message next to its field.
    """
    form = ConfirmBulkForm()
    if not form.validate_on_submit():
        abort(400)
    bulk = BulkEntry.from_request()
    checked = _bulk_request(bulk)
    if checked is None:
        return _list_page(bulk, 400)
    change, targets = checked
    session = db.session()
    selected = session.execute(select(func.count()).select_from(targets.subquery())).scalar_one()
    try:
        changing = len(plan_bulk(session, change, targets))
    except BulkError as error:  # a division that no longer exists
        bulk.errors = {"change": str(BULK_MESSAGES[error.code])}
        return _list_page(bulk, 400)
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
    bulk = BulkEntry.from_request()
    checked = _bulk_request(bulk)
    if checked is None:
        return _list_page(bulk, 400)
    try:
        changed = apply_bulk(db.session(), *checked, user_id=current_user.id)
    except BulkError as error:
        db.session().rollback()  # some rows may be written already: none may stay
        conflict = error.code == "changed_meanwhile"
        bulk.errors = {"form" if conflict else "change": str(BULK_MESSAGES[error.code])}
        return _list_page(bulk, 409 if conflict else 400)
    db.commit()
    flash(_("%(count)s procedures were changed.", count=number(changed)), "success")
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
    if change.kind == "step":
        step, status = change.value
        return _(
            "Set the step “%(step)s” to “%(status)s”",
            step=label(STEP_LABELS, step),
            status=label(STEP_STATUSES, status),
        )
    division = session.get(Division, change.value)
    assert division is not None  # plan_bulk refused an unknown division
    return _("Move to the division “%(division)s”", division=division.name)


@bp.route("/exports/inventory.xlsx")
def export_inventory():
    """Download the inventory, filtered as the list page was, as a workbook."""
    content = inventory_workbook(db.session(), ProcedureFilter.from_args(request.args))
    return xlsx_download(content, f"inventory-{clock.today().isoformat()}.xlsx")


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
