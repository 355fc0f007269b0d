"""Sign-in, sign-out and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user

from procedures.accounts.forms import LoginForm
from procedures.accounts.users import authenticate, record_sign_in, sign_in_throttled
from procedures.core import db
from procedures.core.auth import signed_in
from procedures.core.i18n import LANGUAGES

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Follow ?next= only to a path on this site."""
    if target and target.startswith("/") and not target.startswith("//"):
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
            # A fresh session for the signed-in user, keeping the language chosen before.
            language = session.get("lang")
            session.clear()
            if language in LANGUAGES:
                session["lang"] = language
            login_user(signed_in(user))
            return redirect(_safe_next(request.args.get("next")))
        flash(_("The login or password is wrong. Check both and try again."), "error")
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 400


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out."""
    language = session.get("lang")
    logout_user()
    session.clear()
    if language:
        session["lang"] = language
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>")
def set_language(code: str):
    """Switch the interface language and go back to the page."""
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")))
