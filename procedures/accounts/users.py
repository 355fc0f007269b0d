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
    """A user cannot be created or changed as asked; the message says why (in English).

    `code` names the reason, for the pages to say it in the reader's language.
    """

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


#: The shortest password accepted.
MIN_PASSWORD_LENGTH = 8


def password_problem(password: str, *, login: str) -> str | None:
    """Return why a password is refused (a UserError code), or None if it is acceptable.

    The rules: at least MIN_PASSWORD_LENGTH characters, and not the login itself (in any
    case, with or without surrounding spaces).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return "password_too_short"
    if password.strip().casefold() == login.strip().casefold():
        return "password_same_as_login"
    return None


def check_password(password: str, *, login: str) -> None:
    """Raise UserError if the password breaks a rule of `password_problem`."""
    problem = password_problem(password, login=login)
    if problem == "password_too_short":
        raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters", code=problem)
    if problem == "password_same_as_login":
        raise UserError("password must not be the login", code=problem)


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
        raise UserError("login is empty", code="login_empty")
    check_password(password, login=login)
    if session.exec(select(User).where(User.login == login)).first():
        raise UserError(f"user {login!r} already exists", code="login_taken")
    division_id = _division_id(session, role, division_name)
    user = User(
        login=login, password_hash=hash_password(password), role=role, division_id=division_id
    )
    session.add(user)
    session.flush()
    return user


def _division_id(session: Session, role: Role, division_name: str | None) -> int | None:
    """Return the division of a division user (which must name one); None for other roles."""
    if role != Role.division:
        return None
    if not division_name:
        raise UserError("a division user needs --division NAME", code="division_needed")
    division = session.exec(select(Division).where(Division.name == division_name)).first()
    if division is None:
        raise UserError(f"no division named {division_name!r}", code="no_such_division")
    return division.id


def _other_active_admins(session: Session, user: User) -> int:
    """Count the active admins other than this user."""
    return len(
        session.exec(
            select(User.id).where(
                User.role == Role.admin, col(User.active).is_(True), User.id != user.id
            )
        ).all()
    )


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse to take away the last active admin (by a role change or deactivation)."""
    if user.active and Role(user.role) == Role.admin and _other_active_admins(session, user) == 0:
        raise UserError("the last active admin must stay an active admin", code="last_admin")


def update_user(
    *, session: Session, user: User, role: Role, division_name: str | None = None
) -> bool:
    """Give a user a role (and a division user their division); return whether it changed.

    The last active admin keeps the admin role. Flushes; the caller commits.
    """
    division_id = _division_id(session, role, division_name)
    if Role(user.role) == role and user.division_id == division_id:
        return False
    if role != Role.admin:
        _keep_an_admin(session, user)
    user.role = role
    user.division_id = division_id
    session.add(user)
    session.flush()
    return True


def set_active(*, session: Session, user: User, active: bool, by_user_id: int) -> bool:
    """Deactivate or reactivate a user; return whether it changed.

    Nobody deactivates themselves, and the last active admin stays active. The caller ends
    a deactivated user's sessions and commits.
    """
    if user.active == active:
        return False
    if not active:
        if user.id == by_user_id:
            raise UserError("you cannot deactivate yourself", code="self")
        _keep_an_admin(session, user)
    user.active = active
    session.add(user)
    session.flush()
    return True


def set_password(*, session: Session, user: User, password: str, one_time: bool) -> None:
    """Set a user's password after checking the rules; a one-time one must be changed.

    The caller ends the user's sessions (all of them, or all but the current one) and commits.
    """
    check_password(password, login=user.login)
    user.password_hash = hash_password(password)
    user.must_change_password = one_time
    session.add(user)
    session.flush()


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
