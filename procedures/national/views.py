"""The national reference pages: load, link, the review queue and the side-by-side review."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlmodel import col

from importers.national_reference import NationalReferenceRefused
from importers.results import InventoryRefused
from procedures.core import db
from procedures.core.auth import OFFICE_ROLES, roles_required
from procedures.core.i18n import number, problem_text
from procedures.core.params import parse_int
from procedures.models import NationalLoad, Procedure, User
from procedures.national.forms import ActionForm, LinkForm, NationalLoadForm
from procedures.national.links import (
    LinkError,
    confirm_link,
    link_counts,
    link_exact,
    reject_suggestion,
    unlinked_page,
)
from procedures.national.reference import current_load, load_reference
from procedures.national.review import (
    ReviewStateError,
    mark_reviewed,
    queue,
    remaining,
    review,
)
from procedures.vocabulary import NATIONAL_REMOVED

bp = Blueprint("national", __name__)

#: Why a file gives no reference, in the page's language (importers.national_reference).
REFUSALS = {
    "no_id_column": _l(
        "No column of this file is a national procedure ID (手続ID). Load the Digital "
        "Agency's inventory of procedures (行政手続等の棚卸調査結果) as it is published."
    ),
    "no_rows": _l(
        "No row of this file has both a national procedure ID (手続ID) and a procedure name."
    ),
}

PER_PAGE = 20


def reviews_remaining() -> int | None:
    """Return the procedures waiting for a review, for the DX office's navigation; else None."""
    if not current_user.is_authenticated or current_user.role not in OFFICE_ROLES:
        return None
    return remaining(db.session())


@bp.route("/national")
@roles_required(*OFFICE_ROLES)
def index():
    """Show the current reference, the earlier loads, and the form to load a newer one."""
    return _render_index(NationalLoadForm())


def _render_index(form: NationalLoadForm, status: int = 200):
    session = db.session()
    loads = session.execute(
        select(NationalLoad, col(User.login))
        .outerjoin(User, col(User.id) == NationalLoad.user_id)
        .order_by(col(NationalLoad.id).desc())
        .limit(10)
    ).all()
    return render_template(
        "national/index.html",
        form=form,
        loads=loads,
        remaining=remaining(session),
        counts=link_counts(session),
    ), status


@bp.route("/national/load", methods=["POST"])
@roles_required(*OFFICE_ROLES)
def load():
    """Load a national inventory as the reference; a refused file changes nothing."""
    form = NationalLoadForm()
    if not form.validate_on_submit():
        return _render_index(form, status=400)
    session = db.session()
    try:
        outcome = load_reference(
            session,
            content=form.file.data.read(),
            file_name=form.file.data.filename or "reference",
            user_id=current_user.id,
        )
    except (InventoryRefused, NationalReferenceRefused) as refusal:
        session.rollback()
        if isinstance(refusal, InventoryRefused):
            reason = problem_text(refusal)
        else:
            reason = str(REFUSALS[refusal.reason])
        form.file.errors = [_("The file was not loaded; nothing changed."), reason]
        return _render_index(form, status=400)
    db.commit()
    flash(
        _(
            "Loaded %(count)s national procedures from %(file)s. Procedures to review: "
            "%(flagged)s.",
            count=number(outcome.load.rows),
            file=outcome.load.file_name,
            flagged=number(outcome.flagged),
        ),
        "success",
    )
    return redirect(url_for("national.review_queue" if outcome.flagged else "national.index"))


@bp.route("/national/links")
@roles_required(*OFFICE_ROLES)
def links():
    """List the procedures without a national ID, each with its suggestions."""
    page = parse_int(request.args.get("page")) or 1
    session = db.session()
    counts = link_counts(session)
    procedures, suggestions = unlinked_page(session, page=page, per_page=PER_PAGE)
    return render_template(
        "national/links.html",
        counts=counts,
        procedures=procedures,
        suggestions=suggestions,
        page=page,
        pages=max(1, -(-counts.unlinked // PER_PAGE)),
        loaded=current_load(session) is not None,
    )


@bp.route("/national/links/exact", methods=["POST"])
@roles_required(*OFFICE_ROLES)
def link_all_exact():
    """Link every procedure whose own code is a national procedure ID."""
    if not ActionForm().validate_on_submit():
        abort(400)
    count = link_exact(db.session(), user_id=current_user.id)
    db.commit()
    flash(_("Linked by their own ID: %(count)s procedures.", count=number(count)), "success")
    return redirect(url_for("national.links"))


@bp.route("/national/links/<int:procedure_id>/<any(confirm, reject):decision>", methods=["POST"])
@roles_required(*OFFICE_ROLES)
def decide(procedure_id: int, decision: str):
    """Link the procedure to a national ID (suggested or typed), or reject a suggestion."""
    session = db.session()
    procedure = session.get(Procedure, procedure_id)
    if procedure is None:
        abort(404)
    form = LinkForm()
    back = url_for("national.links", page=parse_int(request.form.get("page")) or 1)
    if not form.validate_on_submit():
        flash(_("Give a national procedure ID (up to 100 characters)."), "error")
        return redirect(back + f"#procedure-{procedure_id}")
    assert form.national_id.data is not None  # DataRequired
    national_id = form.national_id.data.strip()
    try:
        if decision == "confirm":
            confirm_link(
                session, procedure_id=procedure_id, national_id=national_id, user_id=current_user.id
            )
        else:
            reject_suggestion(
                session, procedure_id=procedure_id, national_id=national_id, user_id=current_user.id
            )
    except LinkError:
        flash(
            _(
                "%(id)s is not a procedure ID of the national inventory loaded; nothing was "
                "linked. Check the ID.",
                id=national_id,
            ),
            "error",
        )
        return redirect(back + f"#procedure-{procedure_id}")
    db.commit()
    if decision == "confirm":
        flash(_("Linked: %(name)s → %(id)s.", name=procedure.name, id=national_id), "success")
    else:
        flash(
            _(
                "Rejected: %(id)s will not be suggested for %(name)s again.",
                id=national_id,
                name=procedure.name,
            ),
            "info",
        )
    return redirect(back)


@bp.route("/national/review")
@roles_required(*OFFICE_ROLES)
def review_queue():
    """List the procedures whose national entry changed or disappeared, and how many remain."""
    return render_template(
        "national/queue.html", rows=queue(db.session()), removed_label=NATIONAL_REMOVED
    )


@bp.route("/national/review/<int:procedure_id>")
@roles_required(*OFFICE_ROLES)
def review_page(procedure_id: int):
    """Show the old national entry, the new one and the city's own values side by side."""
    session = db.session()
    found = review(session, procedure_id)
    if found is None:
        if session.get(Procedure, procedure_id) is None:
            abort(404)
        flash(_("This procedure is not linked to a national procedure: nothing to review."), "info")
        return redirect(url_for("national.review_queue"))
    return render_template(
        "national/review.html",
        review=found,
        removed_label=NATIONAL_REMOVED,
        remaining=remaining(session),
        form=ActionForm(),
    )


@bp.route("/national/review/<int:procedure_id>", methods=["POST"])
@roles_required(*OFFICE_ROLES)
def reviewed(procedure_id: int):
    """Clear the procedure's flag (audited) and go on to the next one of the queue."""
    if not ActionForm().validate_on_submit():
        abort(400)
    session = db.session()
    procedure = session.get(Procedure, procedure_id)
    if procedure is None:
        abort(404)
    try:
        mark_reviewed(session, procedure_id=procedure_id, user_id=current_user.id)
    except ReviewStateError:
        flash(
            _("%(name)s has nothing to review (reviewed meanwhile?).", name=procedure.name), "info"
        )
        return redirect(url_for("national.review_queue"))
    db.commit()
    left = remaining(session)
    flash(
        _(
            "Reviewed: %(name)s. Still to review: %(count)s.",
            name=procedure.name,
            count=number(left),
        ),
        "success",
    )
    following = queue(session)
    if following:
        return redirect(url_for("national.review_page", procedure_id=following[0].procedure_id))
    return redirect(url_for("national.review_queue"))
