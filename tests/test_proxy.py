"""Behind a reverse proxy: the client's address is taken from X-Forwarded-For only when trusted."""

import pytest

from procedures.models import Role
from tests.conftest import add_user, login


@pytest.fixture
def trusted_proxies():
    return 0


@pytest.fixture
def app_config(trusted_proxies):
    return {"TRUSTED_PROXIES": trusted_proxies}


def client_behind_proxy(app, address: str):
    """Return a client whose requests arrive from the proxy, forwarded for `address`."""
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=address)
    return client


def fail_twenty_sign_ins_from(app, address: str) -> None:
    for number in range(20):
        login(client_behind_proxy(app, address), f"guess{number}", "wrong password")


@pytest.mark.parametrize("trusted_proxies", [1])
def test_behind_a_trusted_proxy_throttling_stops_only_the_guessing_address(app, db_session):
    add_user(db_session, "clerk", Role.viewer)
    fail_twenty_sign_ins_from(app, "10.0.0.1")
    assert login(client_behind_proxy(app, "10.0.0.2"), "clerk").status_code == 302
    assert login(client_behind_proxy(app, "10.0.0.1"), "clerk").status_code == 429


def test_without_a_trusted_proxy_a_forged_forwarded_address_does_not_escape_throttling(
    app, db_session
):
    add_user(db_session, "clerk", Role.viewer)
    fail_twenty_sign_ins_from(app, "10.0.0.1")
    assert login(client_behind_proxy(app, "10.0.0.2"), "clerk").status_code == 429
