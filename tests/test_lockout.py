"""Sign-in locks: a login from one address, a whole address, and the admin lifting them."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from sqlmodel import select

from procedures.accounts.users import (
    MAX_FAILURES_PER_ADDRESS,
    MAX_FAILURES_PER_LOGIN,
    THROTTLE_WINDOW,
)
from procedures.models import LoginAttempt, Role
from tests.conftest import add_user, csrf_token, login

ATTACKER, OWNER = "203.0.113.7", "198.51.100.20"


def client_at(app, address: str):
    """A browser of its own, seen by the app as coming from that address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_eight_wrong_passwords_from_one_address_do_not_stop_the_owner_elsewhere(app, db_session):
    add_user(db_session, "clerk", Role.viewer)
    for _attempt in range(8):
        assert login(client_at(app, ATTACKER), "clerk", "wrong password").status_code in (400, 429)
    # The owner, from the office, signs in.
    assert login(client_at(app, OWNER), "clerk").status_code == 302
    # The attacker's address is locked for that login, even with the right password, and the
    # message says nothing of whether the login exists.
    refused = login(client_at(app, ATTACKER), "clerk")
    assert refused.status_code == 429
    assert "ログインの失敗が続いたため" in refused.get_data(as_text=True)
    unknown = login(client_at(app, ATTACKER), "nobody", "wrong password")
    assert unknown.status_code == 400  # another login from that address is only slowed later
    # Once locked, nothing more is recorded: the lock cannot be stretched by hammering it.
    failures = db_session.exec(
        select(LoginAttempt).where(LoginAttempt.login == "clerk", LoginAttempt.address == ATTACKER)
    ).all()
    assert len(failures) == MAX_FAILURES_PER_LOGIN


def test_the_lock_speaks_english_to_an_english_browser(app, db_session):
    add_user(db_session, "clerk", Role.viewer)
    for _attempt in range(MAX_FAILURES_PER_LOGIN):
        login(client_at(app, ATTACKER), "clerk", "wrong password")
    client = client_at(app, ATTACKER)
    client.get("/lang/en")
    refused = login(client, "clerk")
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.get_data(as_text=True)


def test_a_right_password_starts_the_count_of_its_address_again(app, db_session):
    add_user(db_session, "clerk", Role.viewer)
    for _attempt in range(MAX_FAILURES_PER_LOGIN - 1):
        login(client_at(app, OWNER), "clerk", "typo")
    assert login(client_at(app, OWNER), "clerk").status_code == 302
    for _attempt in range(MAX_FAILURES_PER_LOGIN - 1):
        login(client_at(app, OWNER), "clerk", "typo")
    assert login(client_at(app, OWNER), "clerk").status_code == 302


def test_the_ceiling_per_address_locks_an_address_trying_many_logins(app, db_session):
    add_user(db_session, "clerk", Role.viewer)
    for number in range(MAX_FAILURES_PER_ADDRESS):
        # One or two tries per login: never the limit of a login, always the address's.
        assert login(client_at(app, ATTACKER), f"guess{number}", "x" * 9).status_code == 400
    assert login(client_at(app, ATTACKER), "clerk").status_code == 429
    assert login(client_at(app, ATTACKER), "guess99", "x" * 9).status_code == 429
    # The same login from elsewhere is untouched.
    assert login(client_at(app, OWNER), "clerk").status_code == 302


def test_failures_older_than_the_window_do_not_count(app, db_session):
    add_user(db_session, "clerk", Role.viewer)
    for _attempt in range(MAX_FAILURES_PER_LOGIN):
        login(client_at(app, ATTACKER), "clerk", "wrong password")
    assert login(client_at(app, ATTACKER), "clerk").status_code == 429
    for attempt in db_session.exec(select(LoginAttempt)).all():
        attempt.at -= THROTTLE_WINDOW + timedelta(seconds=1)
        db_session.add(attempt)
    db_session.commit()
    assert login(client_at(app, ATTACKER), "clerk").status_code == 302


def locks_page(client) -> str:
    response = client.get("/admin/locks")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def lock_rows(page: str) -> list[str]:
    body = page.split('<table class="data-table" id="locks">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


def test_the_admin_sees_the_locks_and_lifts_one(app, db_session, caplog):
    add_user(db_session, "clerk", Role.viewer)
    add_user(db_session, "boss", Role.admin)
    for _attempt in range(MAX_FAILURES_PER_LOGIN + 1):
        login(client_at(app, ATTACKER), "clerk", "wrong password")
    for number in range(MAX_FAILURES_PER_ADDRESS):
        login(client_at(app, "192.0.2.99"), f"guess{number}", "wrong password")
    admin = client_at(app, OWNER)
    assert login(admin, "boss").status_code == 302
    rows = lock_rows(locks_page(admin))
    # The whole address first, then the login from its address; each with its failures.
    assert len(rows) == 2
    assert rows[0].startswith("すべてのログインID 192.0.2.99 20 ")
    assert rows[1].startswith(f"clerk {ATTACKER} {MAX_FAILURES_PER_LOGIN} ")
    assert "ロックを解除" in rows[1]
    assert login(client_at(app, ATTACKER), "clerk").status_code == 429

    token = csrf_token(admin, "/admin/locks")
    # Without the CSRF token the lock stays.
    assert (
        admin.post("/admin/locks/lift", data={"login": "clerk", "address": ATTACKER}).status_code
        == 400
    )
    with caplog.at_level(logging.WARNING, logger="procedures.security"):
        lifted = admin.post(
            "/admin/locks/lift",
            data={"csrf_token": token, "login": "clerk", "address": ATTACKER},
            follow_redirects=True,
        )
    assert lifted.status_code == 200
    assert f"{ATTACKER} からの clerk のログインのロックを解除しました。" in lifted.get_data(
        as_text=True
    )
    assert "lifted by boss" in caplog.text and ATTACKER in caplog.text
    assert len(lock_rows(lifted.get_data(as_text=True))) == 1
    assert login(client_at(app, ATTACKER), "clerk").status_code == 302

    admin.post("/admin/locks/lift", data={"csrf_token": token, "address": "192.0.2.99"})
    assert lock_rows(locks_page(admin)) == ["ロックされているログインはありません。"]
    assert login(client_at(app, "192.0.2.99"), "clerk").status_code == 302


def test_only_the_admin_opens_the_locks(app, db_session):
    add_user(db_session, "office", Role.dx_office)
    client = app.test_client()
    login(client, "office")
    assert client.get("/admin/locks").status_code == 403
    token = csrf_token(client, "/procedures")
    response = client.post("/admin/locks/lift", data={"csrf_token": token, "address": ATTACKER})
    assert response.status_code == 403


def test_the_locks_page_in_english(app, db_session):
    add_user(db_session, "boss", Role.admin)
    for _attempt in range(MAX_FAILURES_PER_LOGIN):
        login(client_at(app, ATTACKER), "boss", "wrong password")
    admin = client_at(app, OWNER)
    admin.get("/lang/en")
    login(admin, "boss")
    page = locks_page(admin)
    assert "Sign-in locks" in page and "Lift the lock" in page
    assert lock_rows(page)[0].startswith(f"boss {ATTACKER} 5 ")
