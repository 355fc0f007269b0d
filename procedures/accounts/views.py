"""Sign-in, sign-out, the user's own sessions and the language switch."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user

from procedures.accounts.forms import ChangePasswordForm, LoginForm
from procedures.accounts.users import (
    authenticate,
    record_sign_in,
    set_password,
    sign_in_throttled,
    verify_password,
)
from procedures.core import db, sessions
from procedures.core.auth import signed_in
from procedures.core.i18n import LANGUAGES
from procedures.models import User

bp = Blueprint("auth", __name__)

#: Where password changes are written down, with the admin's account changes.
log = logging.getLogger("procedures.security")


def _safe_next(target: str | None) -> str:
    """Follow ?next= only to a path on this site.

    Not to "//host" nor "/\\host" (browsers read a backslash as a slash), and nothing with a
    control character, which could not go in the Location header anyway.
    """
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
    ):
        parts = urlsplit(target)
        if not parts.netloc:
            return target
    return url_for("catalogue.procedures")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form and sign the user in."""
    form = LoginForm()
    if form.validate_on_submit():
        # DataRequired: both are filled in once the form validates.
        assert form.login.data is not None and form.password.data is not None
        database = db.session()
        address = request.remote_addr or "unknown"
        if sign_in_throttled(database, login=form.login.data, address=address):
            flash(
                _(
                    "Too many failed sign-ins. Wait 15 minutes and try again, or ask an "
                    "administrator to check your account."
                ),
                "error",
            )
            return render_template("auth/login.html", form=form), 429
        user = authenticate(session=database, login=form.login.data, password=form.password.data)
        record_sign_in(database, login=form.login.data, address=address, success=user is not None)
        db.commit()
        if user is not None:
            # A fresh session for the signed-in user, in the user's language.
            language = _sign_in_language(user)
            session.clear()
            if language in LANGUAGES:
                session["lang"] = language
            assert user.id is not None  # a stored user
            session_id = sessions.start_session(
                database,
                user.id,
                address=address,
                user_agent=request.user_agent.string,
            )
            db.commit()
            login_user(signed_in(user, session_id=session_id))
            if user.must_change_password:
                flash(
                    _(
                        "You signed in with a one-time password. Choose a new password "
                        "before you go on."
                    ),
                    "info",
                )
                return redirect(url_for("auth.change_password"))
            return redirect(_safe_next(request.args.get("next")))
        flash(_("The login or password is wrong. Check both and try again."), "error")
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 400


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out: the session ends on the server too, so a copy of the cookie opens nothing."""
    _sign_out()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


def _sign_in_language(user: User) -> str | None:
    """Return the language to sign a user in with, storing a choice made just before.

    A language chosen on the sign-in page wins and becomes the account's; otherwise the
    account's own language applies, and without one the session's stays.
    """
    if session.get("lang_chosen") and session.get("lang") in LANGUAGES:
        user.language = session["lang"]
        db.session().add(user)
        db.commit()
    return user.language or session.get("lang")


def _sign_out() -> None:
    """End this request's session, keeping the language shown (not as the next user's choice)."""
    sessions.end_current_session(db.session())
    db.commit()
    language = session.get("lang")
    logout_user()
    session.clear()
    if language in LANGUAGES:
        session["lang"] = language


@bp.route("/account/sessions")
@login_required
def user_sessions():
    """List the signed-in user's own live sessions, with buttons to end them."""
    idle_minutes = int(sessions.idle_timeout().total_seconds() // 60)
    return render_template(
        "accounts/sessions.html",
        rows=sessions.active_sessions(db.session(), current_user.id),
        idle_minutes=idle_minutes,
    )


@bp.route("/account/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def end_session(session_id: int):
    """End one of the user's own sessions; ending this one signs out."""
    if session_id == current_user.session_id:
        _sign_out()
        flash(_("You have signed out."), "info")
        return redirect(url_for("auth.login"))
    if sessions.end_session(db.session(), current_user.id, session_id):
        db.commit()
        flash(_("The session was ended. That browser must sign in again."), "success")
    else:
        flash(_("That session had already ended."), "info")
    return redirect(url_for("auth.user_sessions"))


@bp.route("/account/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions():
    """End every session of the user but this one."""
    count = sessions.end_sessions(db.session(), current_user.id, except_current=True)
    db.commit()
    if count:
        flash(
            ngettext(
                "%(num)s other session was ended.", "%(num)s other sessions were ended.", count
            ),
            "success",
        )
    else:
        flash(_("There was no other session to end."), "info")
    return redirect(url_for("auth.user_sessions"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password; the user's other sessions end, this one stays."""
    database = db.session()
    form = ChangePasswordForm(login=current_user.login)
    if form.validate_on_submit():
        # DataRequired: all are filled in once the form validates.
        assert form.current_password.data is not None and form.new_password.data is not None
        user = database.get(User, current_user.id)
        assert user is not None  # the signed-in user exists
        address = request.remote_addr or "unknown"
        # Guessing the current password here counts like guessing it at sign-in.
        if sign_in_throttled(database, login=user.login, address=address):
            form.current_password.errors = [
                _("Too many wrong passwords. Wait 15 minutes and try again.")
            ]
        elif not verify_password(user.password_hash, form.current_password.data):
            record_sign_in(database, login=user.login, address=address, success=False)
            db.commit()
            form.current_password.errors = [
                _("The current password is wrong. Check it and try again.")
            ]
            log.warning("password change refused for %s: wrong current password", user.login)
        elif form.new_password.data == form.current_password.data:
            form.new_password.errors = [
                _("The new password must be different from the current one.")
            ]
        else:
            set_password(
                session=database, user=user, password=form.new_password.data, one_time=False
            )
            ended = sessions.end_sessions(database, current_user.id, except_current=True)
            db.commit()
            log.warning("password changed by %s (%d other sessions ended)", user.login, ended)
            flash(
                _(
                    "Your password was changed. You stay signed in here; your other sessions "
                    "were ended."
                ),
                "success",
            )
            return redirect(url_for("auth.user_sessions"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "accounts/password.html",
        form=form,
        forced=current_user.must_change_password,
    ), status


@bp.route("/lang/<code>")
def set_language(code: str):
    """Switch the interface language and go back to the page; a signed-in user keeps it."""
    if code in LANGUAGES:
        session["lang"] = code
        if current_user.is_authenticated:
            _remember_language(current_user.id, code)
        else:
            # Chosen on the sign-in page: the account signing in next takes it.
            session["lang_chosen"] = True
    return redirect(_safe_next(request.args.get("next")))


def _remember_language(user_id: int, code: str) -> None:
    """Store the language on the user's account, so that their next sign-in starts in it."""
    database = db.session()
    user = database.get(User, user_id)
    if user is not None and user.language != code:
        user.language = code
        database.add(user)
        db.commit()
