"""The demo city's accounts: one per role, their passwords kept so that `make run` shows them.

Only these accounts' passwords are ever written down, and only in the demo city. The file
(`DEMO_ACCOUNTS_FILE`, by default `instance/demo-accounts.json`) keeps each password with the
hash it had when it was made: a password is shown only while the user's hash is still that
one, so a password a person changed (or a file left over from another database) is never shown.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from procedures.demo.loader import DEMO_BATCH_STATUS
from procedures.models import Division, ImportBatch, Role, User


@dataclass(frozen=True)
class DemoAccount:
    """An account of the demo city: its login, its role and, for a division user, its division."""

    login: str
    role: Role
    division: str | None = None


#: One account per role; the division account works at the resident window, which every
#: clerk knows and which has many procedures to edit.
DEMO_ACCOUNTS = (
    DemoAccount("admin", Role.admin),
    DemoAccount("dx_office", Role.dx_office),
    DemoAccount("division", Role.division, "市民窓口センター"),
    DemoAccount("viewer", Role.viewer),
)


def is_demo_city(session: Session) -> bool:
    """Return whether the database holds the demo city (load-demo recorded its batch)."""
    demo = select(ImportBatch.id).where(ImportBatch.status == DEMO_BATCH_STATUS)
    return session.exec(demo).first() is not None


def create_demo_accounts(*, session: Session) -> dict[str, dict[str, str]]:
    """Create the demo accounts whose login is free; return each one's password and hash.

    A login already taken (by a person, or by an earlier run) is left as it is.
    """
    from procedures.accounts.users import create_user, generate_password

    logins = [account.login for account in DEMO_ACCOUNTS]
    taken = set(session.exec(select(User.login).where(col(User.login).in_(logins))).all())
    created = {}
    for account in DEMO_ACCOUNTS:
        if account.login in taken:
            continue
        password = generate_password()
        user = create_user(
            session=session,
            login=account.login,
            password=password,
            role=account.role,
            division_name=account.division,
        )
        created[account.login] = {"password": password, "hash": user.password_hash}
    return created


def read_kept_passwords(path: Path) -> dict[str, dict[str, str]]:
    """Return the kept passwords and hashes by login; none when the file is absent or unreadable."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(kept, dict):
        return {}
    return {
        login: entry
        for login, entry in kept.items()
        if isinstance(entry, dict)
        and isinstance(entry.get("password"), str)
        and isinstance(entry.get("hash"), str)
    }


def keep_passwords(path: Path, created: dict[str, dict[str, str]]) -> None:
    """Add these passwords to the file, which only its owner may read.

    Like instance/config.py the file is created 0600 with O_EXCL (never readable by others,
    not even for a moment), here under a temporary name then renamed over the old one, so a
    reader never finds it half written.
    """
    kept = read_kept_passwords(path) | created
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(kept, file, ensure_ascii=False, indent=2)
    os.replace(temporary, path)


@dataclass(frozen=True)
class SignIn:
    """A demo account as `make run` shows it, with its password or why it is not shown."""

    login: str
    role: Role
    division: str | None
    password: str


#: Shown instead of a password made before the demo kept them (printed once then).
NOT_KEPT = "(printed once when made)"
#: Shown instead of a password that a person has changed (or that another database had).
CHANGED = "(changed since)"


def demo_sign_ins(*, session: Session, kept: dict[str, dict[str, str]]) -> list[SignIn]:
    """Return the demo accounts that exist and are active, with their kept passwords."""
    rows = session.exec(
        select(User, Division.name)
        .join(Division, col(Division.id) == User.division_id, isouter=True)
        .where(col(User.login).in_([account.login for account in DEMO_ACCOUNTS]))
        .where(col(User.active).is_(True))
    ).all()
    users = {user.login: (user, division) for user, division in rows}
    sign_ins = []
    for account in DEMO_ACCOUNTS:
        if account.login not in users:
            continue
        user, division = users[account.login]
        entry = kept.get(account.login)
        if entry is None:
            password = NOT_KEPT
        elif entry["hash"] != user.password_hash:
            password = CHANGED
        else:
            password = entry["password"]
        sign_ins.append(SignIn(user.login, Role(user.role), division, password))
    return sign_ins


def first_admin(session: Session) -> str | None:
    """Return the login of the oldest active admin, if there is one."""
    admin = select(User.login).where(User.role == Role.admin, col(User.active).is_(True))
    return session.exec(admin.order_by(col(User.id))).first()


def closing_lines(
    *, url: str, sign_ins: list[SignIn], admin: str | None, kept_in: str
) -> list[str]:
    """Return the lines `make run` ends with: where the app is and who may sign in."""
    lines = ["", f"Procedures DX is running at {url} (Ctrl+C stops it)."]
    if not sign_ins:
        if admin is not None:
            lines.append(f"Sign in as {admin}: its password was printed once, when it was made.")
        return lines
    lines.append(f"Demo city accounts (their passwords are kept in {kept_in}):")
    width = max(len(sign_in.login) for sign_in in sign_ins)
    lines.append(f"  {'login':<{width}}  {'password':<16}  role")
    for sign_in in sign_ins:
        role = str(sign_in.role)
        if sign_in.division:
            role += f" ({sign_in.division})"
        lines.append(f"  {sign_in.login:<{width}}  {sign_in.password:<16}  {role}")
    return lines
