"""Administration: users, and the locks on sign-ins."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlmodel import col

from procedures.accounts.forms import USER_ERRORS, EditUserForm, OneTimePasswordForm, UserForm
from procedures.accounts.users import (
    MAX_FAILURES_PER_ADDRESS,
    MAX_FAILURES_PER_LOGIN,
    THROTTLE_WINDOW,
    UserError,
    create_user,
    current_locks,
    lift_lock,
    set_active,
    set_password,
    update_user,
)
from procedures.catalogue.procedures import list_divisions
from procedures.core import db, sessions
from procedures.core.auth import roles_required
from procedures.core.forms import as_choices
from procedures.models import Division, Role, User

bp = Blueprint("admin", __name__, url_prefix="/admin")

#: Where account changes and lifted locks are written down (no audit table covers accounts).
log = logging.getLogger("procedures.security")


def _division_choices(session) -> list[tuple[str, str]]:
    divisions = [(name, name) for _id, name, _dept in list_divisions(session)]
    return as_choices([("", "—"), *divisions])


def _refusal(form, error: UserError) -> str | None:
    """Put a refusal on its field of the form; return the message if it belongs to none."""
    field, message = USER_ERRORS.get(error.code, (None, str(error)))
    if field is not None and field in form:
        form[field].errors = [*form[field].errors, str(message)]
        return None
    return str(message)


@bp.route("/users", methods=["GET", "POST"])
@roles_required(Role.admin)
def users():
    """List users and create one."""
    session = db.session()
    form = UserForm()
    form.division.choices = _division_choices(session)
    if form.validate_on_submit():
        # DataRequired: both are filled in once the form validates.
        assert form.login.data is not None and form.password.data is not None
        try:
            user = create_user(
                session=session,
                login=form.login.data,
                password=form.password.data,
                role=Role(form.role.data),
                division_name=form.division.data or None,
            )
        except UserError as error:
            session.rollback()
            message = _refusal(form, error)
            if message is not None:
                flash(message, "error")
        else:
            db.commit()
            log.warning(
                "user created by %s: %r (id %s), role %s, division %r",
                current_user.login,
                user.login,
                user.id,
                form.role.data,
                form.division.data or None,
            )
            flash(_("User %(login)s was created.", login=form.login.data), "success")
            return redirect(url_for("admin.users"))
    rows = session.execute(
        select(col(User.id), col(User.login), col(User.role), col(Division.name), col(User.active))
        .outerjoin(Division, col(Division.id) == User.division_id)
        .order_by(col(User.login))
    ).all()
    status = 400 if request.method == "POST" else 200
    return render_template("admin/users.html", form=form, rows=rows), status


def _user_or_404(user_id: int) -> User:
    user = db.session().get(User, user_id)
    if user is None:
        abort(404)
    return user


def _division_name(user: User) -> str | None:
    if user.division_id is None:
        return None
    division = db.session().get(Division, user.division_id)
    return division.name if division is not None else None


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.admin)
def edit_user(user_id: int):
    """Edit a user's role and division; the page also deactivates and sets a password."""
    session = db.session()
    user = _user_or_404(user_id)
    before = (Role(user.role).value, _division_name(user))
    form = EditUserForm(
        data=None if request.method == "POST" else {"role": before[0], "division": before[1] or ""}
    )
    form.division.choices = _division_choices(session)
    if form.validate_on_submit():
        role, division = Role(form.role.data), form.division.data or None
        try:
            changed = update_user(session=session, user=user, role=role, division_name=division)
        except UserError as error:
            session.rollback()
            message = _refusal(form, error)
            if message is not None:
                flash(message, "error")
        else:
            db.commit()
            if changed:
                log.warning(
                    "user %r (id %s) changed by %s: role %s -> %s, division %r -> %r",
                    user.login,
                    user.id,
                    current_user.login,
                    before[0],
                    role.value,
                    before[1],
                    division if role == Role.division else None,
                )
                flash(_("The changes to %(login)s were saved.", login=user.login), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("admin.users"))
    status = 400 if request.method == "POST" else 200
    return _edit_page(user, form, OneTimePasswordForm(), status)


def _edit_page(user: User, form: EditUserForm, password_form: OneTimePasswordForm, status: int):
    """Render a user's page with its two forms as given (one of them refused, maybe)."""
    return render_template(
        "admin/user_edit.html",
        user=user,
        form=form,
        password_form=password_form,
        is_self=user.id == current_user.id,
    ), status


@bp.route("/users/<int:user_id>/<any(deactivate, reactivate):change>", methods=["POST"])
@roles_required(Role.admin)
def set_user_active(user_id: int, change: str):
    """Deactivate a user (ending all their sessions) or reactivate one."""
    session = db.session()
    user = _user_or_404(user_id)
    active = change == "reactivate"
    try:
        changed = set_active(session=session, user=user, active=active, by_user_id=current_user.id)
    except UserError as error:
        session.rollback()
        flash(str(USER_ERRORS.get(error.code, (None, str(error)))[1]), "error")
        return redirect(url_for("admin.edit_user", user_id=user_id))
    ended = 0
    if changed and not active:
        assert user.id is not None  # a stored user
        ended = sessions.end_sessions(session, user.id)
    db.commit()
    if changed:
        log.warning(
            "user %r (id %s) %sd by %s (%d sessions ended)",
            user.login,
            user.id,
            change,
            current_user.login,
            ended,
        )
    if not active:
        flash(
            _("%(login)s was deactivated and signed out everywhere.", login=user.login),
            "success",
        )
    else:
        flash(_("%(login)s was reactivated and may sign in again.", login=user.login), "success")
    return redirect(url_for("admin.edit_user", user_id=user_id))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@roles_required(Role.admin)
def one_time_password(user_id: int):
    """Set a one-time password: the user must change it at the next sign-in."""
    session = db.session()
    user = _user_or_404(user_id)
    form = OneTimePasswordForm()
    # The rules compare the password with the user's login.
    form.login_for_rules = user.login
    if not form.validate_on_submit():
        if not form.password.errors:  # only the hidden token was refused: say what to do
            form.password.errors = [_("Enter a one-time password.")]
        division = _division_name(user)
        user_form = EditUserForm(
            formdata=None, data={"role": Role(user.role).value, "division": division or ""}
        )
        user_form.division.choices = _division_choices(session)
        return _edit_page(user, user_form, form, 400)
    assert form.password.data is not None  # DataRequired
    set_password(session=session, user=user, password=form.password.data, one_time=True)
    assert user.id is not None  # a stored user
    ended = sessions.end_sessions(session, user.id)
    db.commit()
    log.warning(
        "one-time password set for %r (id %s) by %s (%d sessions ended)",
        user.login,
        user.id,
        current_user.login,
        ended,
    )
    flash(
        _(
            "A one-time password was set for %(login)s. They must choose a new password at "
            "their next sign-in.",
            login=user.login,
        ),
        "success",
    )
    return redirect(url_for("admin.edit_user", user_id=user_id))


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
