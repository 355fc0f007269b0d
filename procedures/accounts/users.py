"""Users: creation, password hashing (Argon2id, memory-hard) and sign-in."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from flask import current_app, has_app_context
from sqlalchemy import delete
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


#: Wrong passwords for one login from one address before that pair is locked: the owner
#: signing in from another address is not. Counted since the pair's last success.
MAX_FAILURES_PER_LOGIN = 5
#: Wrong passwords from one address, whatever logins they tried, before the address is locked.
MAX_FAILURES_PER_ADDRESS = 20
#: A failure counts for this long; a lock ends when enough of its failures are older.
THROTTLE_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class SignInLock:
    """A lock on sign-ins: one login from one address, or (login None) a whole address."""

    login: str | None
    address: str
    failures: int
    until: datetime


def _key(login: str, address: str) -> tuple[str, str]:
    return login.strip()[:100], address[:64]


def _locks(attempts: list[tuple[str, str, bool, datetime]], now: datetime) -> list[SignInLock]:
    """Return the locks these attempts (login, address, success, at) of the window make."""
    pairs: dict[tuple[str, str], list[datetime]] = {}
    addresses: dict[str, list[datetime]] = {}
    for login, address, success, at in sorted(attempts, key=lambda attempt: attempt[3]):
        if success:
            # A right password from the same address starts the pair's count again (not the
            # address's: an attacker's own account must not reset the ceiling).
            pairs.pop((login, address), None)
            continue
        pairs.setdefault((login, address), []).append(at)
        addresses.setdefault(address, []).append(at)
    locks = []
    for (login, address), failures in pairs.items():
        if len(failures) >= MAX_FAILURES_PER_LOGIN:
            # Locked until enough failures leave the window to fall under the limit.
            until = failures[len(failures) - MAX_FAILURES_PER_LOGIN] + THROTTLE_WINDOW
            locks.append(SignInLock(login, address, len(failures), until))
    for address, failures in addresses.items():
        if len(failures) >= MAX_FAILURES_PER_ADDRESS:
            until = failures[len(failures) - MAX_FAILURES_PER_ADDRESS] + THROTTLE_WINDOW
            locks.append(SignInLock(None, address, len(failures), until))
    return [lock for lock in locks if lock.until > now]


def _attempts(session: Session, *, address: str | None = None) -> list[Any]:
    """Return the attempts of the window, (login, address, success, at), of one address or all."""
    since = utcnow() - THROTTLE_WINDOW
    query = select(
        col(LoginAttempt.login),
        col(LoginAttempt.address),
        col(LoginAttempt.success),
        col(LoginAttempt.at),
    ).where(col(LoginAttempt.at) >= since)
    if address is not None:
        query = query.where(col(LoginAttempt.address) == address)
    return [
        (login, address, success, at if at.tzinfo else at.replace(tzinfo=UTC))
        for login, address, success, at in session.exec(query).all()
    ]


def sign_in_throttled(session: Session, *, login: str, address: str) -> bool:
    """Return whether this login is locked from this address, or the address is locked."""
    login, address = _key(login, address)
    return any(
        lock.login in (None, login)
        for lock in _locks(_attempts(session, address=address), utcnow())
    )


def current_locks(session: Session) -> list[SignInLock]:
    """Return every lock in force, the whole addresses first, then by address and login."""
    locks = _locks(_attempts(session), utcnow())
    return sorted(locks, key=lambda lock: (lock.login is not None, lock.address, lock.login or ""))


def lift_lock(session: Session, *, login: str | None, address: str) -> int:
    """Forget the failures behind a lock (one login from an address, or a whole address).

    Return how many failed attempts were forgotten.
    """
    query = delete(LoginAttempt).where(
        col(LoginAttempt.address) == address[:64], col(LoginAttempt.success).is_(False)
    )
    if login is not None:
        query = query.where(col(LoginAttempt.login) == login.strip()[:100])
    result = session.exec(query)
    session.flush()
    return result.rowcount


def record_sign_in(session: Session, *, login: str, address: str, success: bool) -> None:
    """Record a sign-in attempt; the database keeps the state for every worker."""
    login, address = _key(login, address)
    session.add(LoginAttempt(login=login, address=address, success=success))
    session.flush()
