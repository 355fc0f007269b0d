"""Sign-in, the signed-in user, and the role rules every route checks on the server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Flask, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFProtect

from procedures.core import db, sessions
from procedures.models import Role, User

csrf = CSRFProtect()
login_manager = LoginManager()

#: Endpoints open without signing in.
PUBLIC_ENDPOINTS = {"auth.login", "auth.set_language", "static"}
#: Endpoints open to a user who must change a one-time password first (besides the public).
PASSWORD_CHANGE_ENDPOINTS = {"auth.change_password", "auth.logout"}


@dataclass
class SignedInUser(UserMixin):
    """The signed-in user as the request sees it: a plain value, not a database row."""

    id: int
    login: str
    role: Role
    division_id: int | None
    #: The server-side session (procedures.core.sessions) this request signs in with.
    session_id: int | None = None
    #: Signed in with a one-time password: only the password change page opens.
    must_change_password: bool = False

    def get_id(self) -> str:
        """Return the id flask-login keeps in the session."""
        return str(self.id)

    @property
    def can_triage_all(self) -> bool:
        """True for roles that edit every division's procedures."""
        return self.role in (Role.admin, Role.dx_office)

    def can_edit_division(self, division_id: int | None) -> bool:
        """Return whether this user may change procedures of that division."""
        if self.can_triage_all:
            return True
        return (
            self.role == Role.division
            and division_id is not None
            and (division_id == self.division_id)
        )

    @property
    def can_upload(self) -> bool:
        """True for roles that may import inventories."""
        return self.role in (Role.admin, Role.dx_office, Role.division)


def init_app(app: Flask) -> None:
    """Protect every form with CSRF and require sign-in everywhere but the login page."""
    app.config.setdefault("SESSION_IDLE_MINUTES", sessions.DEFAULT_IDLE_MINUTES)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.user_loader(_load_user)

    @app.before_request
    def _require_login() -> ResponseReturnValue | None:
        if request.endpoint == "static":
            return None
        # Checked first, before any view writes: the check may note the session's last use.
        authenticated = current_user.is_authenticated
        if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
            return None
        if not authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
            return redirect(url_for("auth.change_password"))
        return None


def _load_user(user_id: str) -> SignedInUser | None:
    """Return the user of this request's server-side session, if it is alive and theirs."""
    resumed = sessions.resume(db.session(), int(user_id)) if user_id.isdigit() else None
    if resumed is None:
        if sessions.forget():
            flash(_("Your session has ended. Sign in again."), "info")
        return None
    user, session_id = resumed
    return signed_in(user, session_id=session_id)


def signed_in(user: User, *, session_id: int | None = None) -> SignedInUser:
    """Turn a user row into the value kept for the request."""
    assert user.id is not None  # a stored user
    return SignedInUser(
        id=user.id,
        login=user.login,
        role=Role(user.role),
        division_id=user.division_id,
        session_id=session_id,
        must_change_password=user.must_change_password,
    )


def roles_required(*roles: Role) -> Callable:
    """Refuse the view with 403 unless the user has one of the roles."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


#: Roles that run plans and exports and triage everything.
OFFICE_ROLES = (Role.admin, Role.dx_office)
#: Roles that may upload an inventory (a division only for itself).
UPLOAD_ROLES = (Role.admin, Role.dx_office, Role.division)
