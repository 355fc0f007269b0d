"""Users: creation, password hashing (Argon2id, memory-hard) and sign-in."""

from __future__ import annotations

import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func
from sqlmodel import Session, select

from procedures.models import Division, LoginAttempt, Role, User, utcnow

_hasher = PasswordHasher()


class UserError(ValueError):
    """A user cannot be created as asked; the message says why."""


def hash_password(password: str) -> str:
    """Hash a password with Argon2id."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Check a password against its hash without raising."""
    try:
        return _hasher.verify(password_hash, password)
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
        verify_password(_DUMMY_HASH, password)
        return None
    return user if verify_password(user.password_hash, password) else None


_DUMMY_HASH = _hasher.hash("not-a-real-password")


#: Failed sign-ins allowed in the window, per login and per address.
MAX_FAILURES_PER_LOGIN = 5
MAX_FAILURES_PER_ADDRESS = 20
THROTTLE_WINDOW = timedelta(minutes=15)


def _recent_failures(session: Session, column, value: str) -> int:
    since = utcnow() - THROTTLE_WINDOW
    query = select(func.count()).where(
        column == value, LoginAttempt.success.is_(False), LoginAttempt.at >= since
    )
    return session.exec(query).one()


def sign_in_throttled(session: Session, *, login: str, address: str) -> bool:
    """Return whether too many sign-ins failed lately for this login or from this address."""
    return (
        _recent_failures(session, LoginAttempt.login, login.strip()[:100]) >= MAX_FAILURES_PER_LOGIN
        or _recent_failures(session, LoginAttempt.address, address[:64]) >= MAX_FAILURES_PER_ADDRESS
    )


def record_sign_in(session: Session, *, login: str, address: str, success: bool) -> None:
    """Record a sign-in attempt; the database keeps the state for every worker."""
    session.add(LoginAttempt(login=login.strip()[:100], address=address[:64], success=success))
    session.flush()
