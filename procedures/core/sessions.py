"""Server-side sessions: a signed-in browser is a row of UserSession, not only a signed cookie.

The session cookie (Flask's, signed with SECRET_KEY) carries a random token; the table keeps
the SHA-256 of that token, who it signs in, when it started and was last used, and from where.
Deleting the row ends the session on the server: a copy of the cookie taken before then opens
nothing. Sign-out deletes the current row; a password change or deactivation calls
`end_sessions`; a row unused for SESSION_IDLE_MINUTES no longer signs anyone in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_request_context, session
from sqlalchemy import delete, select, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col

from procedures.core import db
from procedures.models import User, UserSession, utcnow

#: Key of the token in Flask's session cookie.
SESSION_KEY = "sid"
#: Keys flask-login keeps in the session cookie for the signed-in user.
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember")
#: "Last seen" is written at most this often per session: a page view within it writes nothing.
TOUCH_INTERVAL = timedelta(minutes=1)
#: Default idle timeout (SESSION_IDLE_MINUTES): a working day.
DEFAULT_IDLE_MINUTES = 8 * 60


def idle_timeout() -> timedelta:
    """Return how long a session may go unused before it is dead (SESSION_IDLE_MINUTES)."""
    return timedelta(minutes=int(current_app.config["SESSION_IDLE_MINUTES"]))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _current_token() -> str | None:
    if not has_request_context():
        return None
    token = session.get(SESSION_KEY)
    return token if isinstance(token, str) and token else None


def start_session(database: Session, user_id: int, *, address: str, user_agent: str) -> int:
    """Open a session for a user who just signed in; put its token in the cookie; return its id.

    Sessions idle past the timeout, anyone's, are removed on the way: the table holds about the
    sessions alive. Flushes; the caller commits.
    """
    database.execute(
        delete(UserSession).where(col(UserSession.last_seen_at) < utcnow() - idle_timeout())
    )
    token = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=_digest(token),
        user_id=user_id,
        address=address[:64],
        user_agent=user_agent[:300],
    )
    database.add(row)
    database.flush()
    session[SESSION_KEY] = token
    assert row.id is not None  # flushed
    return row.id


def resume(database: Session, user_id: int) -> tuple[User, int] | None:
    """Return the user and session id this request's cookie signs in, or None if it is dead.

    Dead: no token, no such row (signed out, ended), another user's row, an inactive user, or
    unused for longer than the idle timeout. "Last seen" is written when older than a minute.
    """
    token = _current_token()
    if token is None:
        return None
    found = database.execute(
        select(col(UserSession.id), col(UserSession.last_seen_at), User)
        .join(User, col(User.id) == col(UserSession.user_id))
        .where(col(UserSession.token_hash) == _digest(token))
    ).first()
    if found is None:
        return None
    session_id, last_seen, user = found
    now = utcnow()
    if user.id != user_id or not user.active or now - last_seen > idle_timeout():
        return None
    if now - last_seen >= TOUCH_INTERVAL:
        _touch(session_id, now)
    return user, session_id


def _touch(session_id: int, now: datetime) -> None:
    """Write "last seen" on a connection of its own that never waits for a lock.

    While an import holds SQLite's write lock for seconds, pages still read; waiting here would
    make every page wait for the import. A busy database skips the write: the next request of
    the session, a minute on, tries again, long before the idle timeout could matter.
    """
    statement = (
        update(UserSession).where(col(UserSession.id) == session_id).values(last_seen_at=now)
    )
    try:
        with db.engine().connect() as connection:
            if connection.dialect.name == "sqlite":
                previous = int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0)
                connection.exec_driver_sql("PRAGMA busy_timeout = 0")
                try:
                    connection.execute(statement)
                    connection.commit()
                finally:
                    connection.rollback()
                    connection.exec_driver_sql(f"PRAGMA busy_timeout = {previous}")
            else:
                connection.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
                connection.execute(statement)
                connection.commit()
    except OperationalError:
        pass  # busy: skipped, as above


def forget() -> bool:
    """Drop the sign-in from this request's cookie, keeping the rest (the language).

    Return whether the cookie carried a session token, i.e. a session that has ended.
    """
    had_token = session.pop(SESSION_KEY, None) is not None
    for key in _LOGIN_KEYS:
        session.pop(key, None)
    return had_token


def end_current_session(database: Session) -> None:
    """End the session of this request's cookie (signing out). Flushes; the caller commits."""
    token = _current_token()
    if token is not None:
        database.execute(delete(UserSession).where(col(UserSession.token_hash) == _digest(token)))
        database.flush()
    session.pop(SESSION_KEY, None)


def end_session(database: Session, user_id: int, session_id: int) -> bool:
    """End one session of this user; return False if there was none with that id (any more)."""
    result = database.execute(
        delete(UserSession).where(
            col(UserSession.id) == session_id, col(UserSession.user_id) == user_id
        )
    )
    database.flush()
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a DELETE's CursorResult


def end_sessions(database: Session, user_id: int, *, except_current: bool = False) -> int:
    """End every session of a user; return how many were ended. Flushes; the caller commits.

    Call it when a password changes (except_current=True when users change their own, so they
    stay signed in here) and when a user is deactivated (except_current=False).
    """
    statement = delete(UserSession).where(col(UserSession.user_id) == user_id)
    token = _current_token() if except_current else None
    if token is not None:
        statement = statement.where(col(UserSession.token_hash) != _digest(token))
    result = database.execute(statement)
    database.flush()
    return int(result.rowcount)  # type: ignore[attr-defined]  # a DELETE's CursorResult


@dataclass(frozen=True)
class ActiveSession:
    """One of a user's live sessions, as the sessions page shows it."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    address: str
    user_agent: str
    current: bool

    @property
    def browser(self) -> str:
        """The browser and system, shortened from the User-Agent."""
        return short_user_agent(self.user_agent)


def active_sessions(database: Session, user_id: int) -> list[ActiveSession]:
    """Return a user's sessions not idle past the timeout, this request's first, then by use."""
    token = _current_token()
    current_hash = _digest(token) if token is not None else None
    rows = database.execute(
        select(UserSession)
        .where(
            col(UserSession.user_id) == user_id,
            col(UserSession.last_seen_at) >= utcnow() - idle_timeout(),
        )
        .order_by(col(UserSession.last_seen_at).desc(), col(UserSession.id).desc())
    ).scalars()
    sessions = [
        ActiveSession(
            id=row.id or 0,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            address=row.address,
            user_agent=row.user_agent,
            current=row.token_hash == current_hash,
        )
        for row in rows
    ]
    return sorted(sessions, key=lambda each: not each.current)


#: (pattern, name) of browsers, the more specific first: Edge and Opera say Chrome too.
_BROWSERS = (
    (re.compile(r"Edg(?:e|A|iOS)?/(\d+)"), "Edge"),
    (re.compile(r"(?:OPR|Opera)/(\d+)"), "Opera"),
    (re.compile(r"(?:Firefox|FxiOS)/(\d+)"), "Firefox"),
    (re.compile(r"(?:Chrome|CriOS)/(\d+)"), "Chrome"),
    (re.compile(r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/"), "Safari"),
)
#: (pattern, name) of systems, iOS before macOS (an iPad may say Mac OS X).
_SYSTEMS = (
    (re.compile(r"iPhone|iPad|iPod"), "iOS"),
    (re.compile(r"Android"), "Android"),
    (re.compile(r"Windows"), "Windows"),
    (re.compile(r"Mac OS X|Macintosh"), "macOS"),
    (re.compile(r"CrOS"), "ChromeOS"),
    (re.compile(r"Linux"), "Linux"),
)


def short_user_agent(user_agent: str) -> str:
    """Shorten a User-Agent to "Browser version, system" (e.g. "Edge 120, Windows")."""
    browser = next(
        (
            f"{name} {match.group(1)}"
            for pattern, name in _BROWSERS
            if (match := pattern.search(user_agent))
        ),
        None,
    )
    system = next((name for pattern, name in _SYSTEMS if pattern.search(user_agent)), None)
    if browser is None and system is None:
        text = user_agent.strip()
        return text[:40] + "…" if len(text) > 40 else text or "—"
    return ", ".join(part for part in (browser, system) if part)
