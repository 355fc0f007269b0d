"""Reverting a committed import from its page: the button's form and its route."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from procedures.core import db
from procedures.core.auth import UPLOAD_ROLES, roles_required
from procedures.core.i18n import number
from procedures.imports.forms import RevertForm
from procedures.imports.views import _batch_or_404, bp

if TYPE_CHECKING:  # loaded when first used: it loads the import pipeline
    from procedures.imports.revert import RevertRefused

#: How many of the procedures changed since a refusal names; the rest are counted.
NAMED = 10


@bp.context_processor
def _revert_form() -> dict[str, type[RevertForm]]:
    # The class, not a form: only the page that includes the button builds one.
    return {"revert_form_class": RevertForm}


@bp.route("/<int:batch_id>/revert", methods=["POST"])
@roles_required(*UPLOAD_ROLES)
def revert(batch_id: int) -> ResponseReturnValue:
    """Revert a committed import; when refused, say which procedures changed since."""
    # Loaded when first used (the import pipeline loads the importers package): keeps the
    # CLI's start-up close to the bare framework.
    from procedures.imports.revert import RevertRefused, revert_import

    # The DX office may revert any import; a division clerk only their own (403 otherwise).
    batch = _batch_or_404(batch_id)
    back = redirect(url_for("imports.show", batch_id=batch_id))
    if not RevertForm().validate_on_submit():
        flash(
            _("The form has expired or was sent from elsewhere. Reload the page and try again."),
            "error",
        )
        return back
    session = db.session()
    try:
        outcome = revert_import(session, batch_id=batch_id, user_id=current_user.id)
    except RevertRefused as refusal:
        session.rollback()
        flash(_refusal_text(refusal), "error")
        return back
    db.commit()
    flash(
        _(
            "Import #%(id)d was reverted: %(restored)s procedures got their values back, "
            "%(reactivated)s are active again and the %(deleted)s it created were deleted.",
            id=batch.id,
            restored=number(outcome.restored),
            reactivated=number(outcome.reactivated),
            deleted=number(outcome.deleted),
        ),
        "success",
    )
    return back


def _refusal_text(refusal: RevertRefused) -> str:
    """Word a refusal in the page's language: why, and the procedures changed since."""
    from procedures.imports import revert as reasons

    if refusal.reason == reasons.ALREADY_REVERTED:
        return _("This import was already reverted. Nothing was changed.")
    if refusal.reason == reasons.NOT_COMMITTED:
        return _("Only an imported file can be reverted. Nothing was changed.")
    if refusal.reason == reasons.NO_RECORD:
        return _(
            "This import was made before reverts were recorded and cannot be reverted. "
            "Nothing was changed."
        )
    names = " / ".join(name for _ident, name in refusal.procedures[:NAMED])
    more = len(refusal.procedures) - NAMED
    text = _(
        "Not reverted: these procedures were changed after this import, and reverting it "
        "would undo those changes: %(names)s. Nothing was changed.",
        names=names or "—",
    )
    if more > 0:
        text += " " + _("(and %(count)s more)", count=number(more))
    return text
