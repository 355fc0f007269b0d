"""Users: creation, password hashing (Argon2id, memory-hard) and sign-in."""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from flask import current_app, has_app_context
from sqlalchemy import func
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from procedures.models import Division, LoginAttempt, Role, User, utcnow

if TYPE_CHECKING:
    from argon2 import PasswordHasher


def _parameters() -> tuple[tuple[str, int], ...]:
    """Return the app's PASSWORD_HASH_PARAMETERS (PasswordHasher's arguments) as a key.

    Production leaves that setting unset and gets argon2-cffi's defaults (RFC 9106's
    low-memory profile, 64 MiB); only the test suite sets cheaper parameters. A hash records
    its own parameters, so verifying an existing hash never depends on this setting.
    """
    parameters = current_app.config.get("PASSWORD_HASH_PARAMETERS") if has_app_context() else None
    return tuple(sorted((parameters or {}).items()))


@cache
def _hasher(parameters: tuple[tuple[str, int], ...]) -> PasswordHasher:
    """Return the hasher for these parameters, made on first use."""
    # Loaded when first used: keeps the CLI's start-up close to the bare framework.
    from argon2 import PasswordHasher

    # The setting's values go to PasswordHasher as they are, whatever their types.
    arguments: dict[str, Any] = dict(parameters)
    return PasswordHasher(**arguments)


@cache
def _dummy_hash(parameters: tuple[tuple[str, int], ...]) -> str:
    """A hash made with these parameters, so a missing login costs as much as a real one."""
    return _hasher(parameters).hash("not-a-real-password")


class UserError(ValueError):
    """A user cannot be created as asked; the message says why."""


def hash_password(password: str) -> str:
    """Hash a password with Argon2id."""
    return _hasher(_parameters()).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Check a password against its hash without raising."""
    # Loaded when first used, like the hasher: keeps the CLI's start-up close to the framework.
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher(_parameters()).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """Return a random password that is easy to type once."""
    return secrets.token_urlsafe(12)


def create_user(
    *, session: Session, login: str, password: str, role: Role, division_name: str | None = None
) -> User:
    """Create a user; a division user must name an existing division."""
    login = login.strip()
    if not login:
        raise UserError("login is empty")
    if len(password) < 8:
        raise UserError("password must be at least 8 characters")
    if session.exec(select(User).where(User.login == login)).first():
        raise UserError(f"user {login!r} already exists")
    division_id = None
    if role == Role.division:
        if not division_name:
            raise UserError("a division user needs --division NAME")
        division = session.exec(select(Division).where(Division.name == division_name)).first()
        if division is None:
            raise UserError(f"no division named {division_name!r}")
        division_id = division.id
    user = User(
        login=login, password_hash=hash_password(password), role=role, division_id=division_id
    )
    session.add(user)
    session.flush()
    return user


def authenticate(*, session: Session, login: str, password: str) -> User | None:
    """Return the active user with this login and password, or None."""
    user = session.exec(select(User).where(User.login == login.strip())).first()
    if user is None or not user.active:
        # Hash anyway so a missing login takes as long as a wrong password.
        verify_password(_dummy_hash(_parameters()), password)
        return None
    return user if verify_password(user.password_hash, password) else None


#: Failed sign-ins allowed in the window, per login and per address.
MAX_FAILURES_PER_LOGIN = 5
MAX_FAILURES_PER_ADDRESS = 20
THROTTLE_WINDOW = timedelta(minutes=15)


def _recent_failures(session: Session, column: Mapped[str], value: str) -> int:
    since = utcnow() - THROTTLE_WINDOW
    query = select(func.count()).where(
        column == value, col(LoginAttempt.success).is_(False), LoginAttempt.at >= since
    )
    return session.exec(query).one()


def sign_in_throttled(session: Session, *, login: str, address: str) -> bool:
    """Return whether too many sign-ins failed lately for this login or from this address."""
    return (
        _recent_failures(session, col(LoginAttempt.login), login.strip()[:100])
        >= MAX_FAILURES_PER_LOGIN
        or _recent_failures(session, col(LoginAttempt.address), address[:64])
        >= MAX_FAILURES_PER_ADDRESS
    )


def record_sign_in(session: Session, *, login: str, address: str, success: bool) -> None:
    """Record a sign-in attempt; the database keeps the state for every worker."""
    session.add(LoginAttempt(login=login.strip()[:100], address=address[:64], success=success))
    session.flush()
