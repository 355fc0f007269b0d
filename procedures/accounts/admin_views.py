"""Administration: users, and the locks on sign-ins."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlmodel import col

from procedures.accounts.forms import UserForm
from procedures.accounts.users import (
    MAX_FAILURES_PER_ADDRESS,
    MAX_FAILURES_PER_LOGIN,
    THROTTLE_WINDOW,
    UserError,
    create_user,
    current_locks,
    lift_lock,
)
from procedures.catalogue.procedures import list_divisions
from procedures.core import db
from procedures.core.auth import roles_required
from procedures.core.forms import as_choices
from procedures.models import Division, Role, User

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: Where lifted locks are written down (no audit table covers accounts).
log = logging.getLogger("procedures.security")


@bp.route("/users", methods=["GET", "POST"])
@roles_required(Role.admin)
def users():
    """List users and create one."""
    session = db.session()
    form = UserForm()
    divisions = [(name, name) for _id, name, _dept in list_divisions(session)]
    form.division.choices = as_choices([("", "—"), *divisions])
    if form.validate_on_submit():
        # DataRequired: both are filled in once the form validates.
        assert form.login.data is not None and form.password.data is not None
        try:
            create_user(
                session=session,
                login=form.login.data,
                password=form.password.data,
                role=Role(form.role.data),
                division_name=form.division.data or None,
            )
        except UserError:
            session.rollback()
            flash(
                _(
                    "The user could not be created: the login may exist already, or a "
                    "division user needs a division."
                ),
                "error",
            )
        else:
            db.commit()
            flash(_("User %(login)s was created.", login=form.login.data), "success")
            return redirect(url_for("admin.users"))
    rows = session.execute(
        select(col(User.login), col(User.role), col(Division.name), col(User.active))
        .outerjoin(Division, col(Division.id) == User.division_id)
        .order_by(col(User.login))
    ).all()
    return render_template("admin/users.html", form=form, rows=rows)


@bp.route("/locks")
@roles_required(Role.admin)
def locks():
    """List the sign-in locks in force: logins from an address, and whole addresses."""
    return render_template(
        "admin/locks.html",
        locks=current_locks(db.session()),
        per_login=MAX_FAILURES_PER_LOGIN,
        per_address=MAX_FAILURES_PER_ADDRESS,
        minutes=int(THROTTLE_WINDOW.total_seconds() // 60),
    )


@bp.route("/locks/lift", methods=["POST"])
@roles_required(Role.admin)
def lift():
    """Lift one lock: forget the failed sign-ins behind it, and log who lifted it."""
    address = request.form.get("address", "").strip()
    login = request.form.get("login", "").strip() or None
    if not address or len(address) > 64 or (login is not None and len(login) > 100):
        abort(400)
    forgotten = lift_lock(db.session(), login=login, address=address)
    db.commit()
    log.warning(
        "sign-in lock lifted by %s: login %r from address %s (%d failed attempts forgotten)",
        current_user.login,
        login or "*",
        address,
        forgotten,
    )
    if login is None:
        flash(_("Sign-ins from %(address)s are allowed again.", address=address), "success")
    else:
        flash(
            _("%(login)s may sign in from %(address)s again.", login=login, address=address),
            "success",
        )
    return redirect(url_for("admin.locks"))
