"""Administration: users."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlmodel import col

from procedures.accounts.forms import UserForm
from procedures.accounts.users import UserError, create_user
from procedures.catalogue.procedures import list_divisions
from procedures.core import db
from procedures.core.auth import roles_required
from procedures.core.forms import as_choices
from procedures.models import Division, Role, User

bp = Blueprint("admin", __name__, url_prefix="/admin")


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
