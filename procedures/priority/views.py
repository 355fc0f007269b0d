"""The national priority list pages: matches to confirm or reject, and the list itself."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from procedures.catalogue.procedures import EditConflict, get_procedure
from procedures.core import db
from procedures.core.auth import OFFICE_ROLES, roles_required
from procedures.core.forms import refuse_stale_action, submitted_version
from procedures.core.i18n import number
from procedures.core.params import parse_int
from procedures.models import Role
from procedures.priority.forms import (
    ActionForm,
    PriorityItemForm,
    PriorityRenameForm,
    PriorityUploadForm,
)
from procedures.priority.matching import (
    CANDIDATE_FLOOR,
    SUGGEST_THRESHOLD,
    MatchStateError,
    confirm_match,
    match_procedure_id,
    overview,
    refresh_suggestions,
    reject_match,
)
from procedures.priority.national_list import (
    CATEGORIES,
    PriorityCsvError,
    add_item,
    list_items,
    load_revision,
    parse_priority_csv,
    rename_item,
    set_item_active,
)

bp = Blueprint("priority", __name__)


@bp.route("/priority")
def index():
    """Show the national list, each item's confirmed procedures or candidates, and the gap."""
    return render_template(
        "priority/index.html",
        overview=overview(db.session()),
        categories=CATEGORIES,
        threshold=SUGGEST_THRESHOLD,
        floor=CANDIDATE_FLOOR,
        can_decide=current_user.role in OFFICE_ROLES,
    )


@bp.route("/priority/suggestions", methods=["POST"])
@roles_required(*OFFICE_ROLES)
def refresh():
    """Recompute the suggestions from the current procedure names."""
    if not ActionForm().validate_on_submit():
        abort(400)
    count = refresh_suggestions(db.session())
    db.commit()
    flash(_("Suggestions recomputed: %(count)s candidates.", count=number(count)), "success")
    return redirect(url_for("priority.index"))


@bp.route("/priority/matches/<int:match_id>/<any(confirm, reject):decision>", methods=["POST"])
@roles_required(*OFFICE_ROLES)
def decide(match_id: int, decision: str):
    """Confirm a suggestion (sets the My Number Portal flag) or reject it (not suggested again)."""
    session = db.session()
    expected_version = submitted_version()
    procedure_id = match_procedure_id(session, match_id)
    if procedure_id is None:
        abort(404)
    procedure = get_procedure(session, procedure_id)
    assert procedure is not None  # the match's procedure (a foreign key)
    if not current_user.can_edit_division(procedure.division_id):
        abort(403)
    try:
        if decision == "confirm":
            confirm_match(
                session,
                match_id=match_id,
                user_id=current_user.id,
                expected_version=expected_version,
            )
        else:
            reject_match(session, match_id=match_id, user_id=current_user.id)
    except (EditConflict, MatchStateError):
        return refuse_stale_action(
            procedure,
            _l(
                "%(name)s changed since this page was shown; nothing was saved. "
                "Check it and decide again."
            ),
            url_for("priority.index"),
        )
    db.commit()
    if decision == "confirm":
        flash(_("Confirmed: %(name)s is on the national list.", name=procedure.name), "success")
    else:
        flash(_("Rejected: %(name)s will not be suggested again.", name=procedure.name), "info")
    # The item the button was under, to scroll back to it; anything but its id is dropped.
    item = parse_int(request.form.get("item"))
    return redirect(url_for("priority.index") + (f"#item-{item}" if item is not None else ""))


@bp.route("/priority/list")
@roles_required(Role.admin)
def edit_list():
    """Edit the national list: add, rename, deactivate, or load a new revision from CSV."""
    return _render_list(PriorityItemForm(), PriorityUploadForm())


def _render_list(add_form, upload_form, rename=None, status=200):
    """Render the list page; `rename` is a refused rename: (item id, name typed, message)."""
    return render_template(
        "priority/list.html",
        items=list_items(db.session(), include_inactive=True),
        categories=CATEGORIES,
        add_form=add_form,
        upload_form=upload_form,
        rename=rename,
    ), status


@bp.route("/priority/list/add", methods=["POST"])
@roles_required(Role.admin)
def add():
    """Add a procedure to the active list."""
    form = PriorityItemForm()
    if not form.validate_on_submit():
        return _render_list(form, PriorityUploadForm(), status=400)
    assert form.name.data is not None  # DataRequired
    session = db.session()
    items = list_items(session)
    revision = items[0].revision if items else _("Added by hand")
    add_item(session, category=form.category.data, name=form.name.data, revision=revision)
    db.commit()
    flash(_("Added: %(name)s.", name=form.name.data.strip()), "success")
    return redirect(url_for("priority.edit_list"))


@bp.route("/priority/list/<int:item_id>/rename", methods=["POST"])
@roles_required(Role.admin)
def rename(item_id: int):
    """Rename a procedure of the list."""
    form = PriorityRenameForm()
    if not form.validate_on_submit():
        refused = (item_id, form.name.data or "", _("Give the new name (up to 500 characters)."))
        return _render_list(PriorityItemForm(), PriorityUploadForm(), rename=refused, status=400)
    assert form.name.data is not None  # DataRequired
    try:
        rename_item(db.session(), item_id=item_id, name=form.name.data)
    except LookupError:
        abort(404)
    db.commit()
    flash(_("Renamed to %(name)s.", name=form.name.data.strip()), "success")
    return redirect(url_for("priority.edit_list"))


@bp.route("/priority/list/<int:item_id>/<any(deactivate, activate):change>", methods=["POST"])
@roles_required(Role.admin)
def set_active(item_id: int, change: str):
    """Deactivate or reactivate a procedure of the list."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        item = set_item_active(db.session(), item_id=item_id, active=change == "activate")
    except LookupError:
        abort(404)
    db.commit()
    if item.active:
        flash(_("%(name)s is on the list again.", name=item.name), "success")
    else:
        flash(_("%(name)s was taken off the list.", name=item.name), "success")
    return redirect(url_for("priority.edit_list"))


@bp.route("/priority/list/upload", methods=["POST"])
@roles_required(Role.admin)
def upload():
    """Replace the active list with the revision in a CSV file; refuse a malformed file whole."""
    form = PriorityUploadForm()
    if not form.validate_on_submit():
        return _render_list(PriorityItemForm(), form, status=400)
    try:
        rows = parse_priority_csv(form.file.data.read())
    except PriorityCsvError as error:
        # Said at the file's field (and in the summary above the form), line by line.
        form.file.errors = [
            _("The file was not loaded; nothing changed. Fix these lines and upload again."),
            *(str(problem) for problem in error.problems),
        ]
        return _render_list(PriorityItemForm(), form, status=400)
    assert form.revision.data is not None  # DataRequired
    session = db.session()
    load_revision(session, rows=rows, revision=form.revision.data.strip())
    db.commit()
    flash(
        _(
            "Revision %(revision)s loaded: %(count)s procedures. Recompute the suggestions "
            "on the list page.",
            revision=form.revision.data.strip(),
            count=number(len(rows)),
        ),
        "success",
    )
    return redirect(url_for("priority.edit_list"))
