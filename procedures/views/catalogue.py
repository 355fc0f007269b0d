"""The procedure list, a procedure's detail page and its edit form."""

from __future__ import annotations

import math

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from procedures import db
from procedures.catalogue import (
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
from procedures.forms import ProcedureForm

bp = Blueprint("catalogue", __name__)


@bp.route("/")
def index():
    """Start at the procedure list."""
    return redirect(url_for("catalogue.procedures"))


@bp.route("/procedures")
def procedures():
    """List procedures with filters and paging; the filter lives in the URL."""
    session = db.session()
    filters = ProcedureFilter.from_args(request.args)
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and int(page) > 0 else 1
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
    return render_template(
        "catalogue/detail.html",
        procedure=procedure,
        department=department,
        division=division,
        blockers=blockers_from_column(procedure.blockers),
        trail=audit_trail(session, procedure_id),
        can_edit=current_user.can_edit_division(procedure.division_id),
    )


@bp.route("/procedures/<int:procedure_id>/edit", methods=["GET", "POST"])
def edit(procedure_id: int):
    """Edit a procedure; refuse a save that would overwrite someone else's."""
    session = db.session()
    procedure = _load_or_404(procedure_id)
    if not current_user.can_edit_division(procedure.division_id):
        abort(403)
    form = ProcedureForm(obj=procedure)
    if request.method == "GET":
        _fill_form(form, procedure)
    conflict = None
    if form.validate_on_submit():
        try:
            changed = update_procedure(
                session,
                procedure_id=procedure_id,
                changes=form.changes(),
                expected_version=int(form.version.data or 0),
                user_id=current_user.id,
            )
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


def _fill_form(form: ProcedureForm, procedure) -> None:
    form.version.data = str(procedure.version)
    form.visit_required.data = {None: "", True: "yes", False: "no"}[procedure.visit_required]
    form.online_status.data = procedure.online_status or ""
    form.blockers.data = blockers_from_column(procedure.blockers)
