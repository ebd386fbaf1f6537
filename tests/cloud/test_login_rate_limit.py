"""POST /v1/auth/token is rate-limited per client address (every attempt) and per account
(failed attempts): 429 too_many_requests with Retry-After, counted in the database so that
every worker process counts together; correct log-ins within the limits are unaffected."""

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gsm_cloud.app import create_app
from gsm_cloud.config import Settings
from gsm_cloud.services.ratelimit import Window, address_bucket
from tests.cloud.conftest import MakeUser

PER_ACCOUNT, PER_ADDRESS = 3, 8


@pytest.fixture
def cloud_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        storage_dir=tmp_path / "packages",
        login_max_per_account=PER_ACCOUNT,
        login_max_per_address=PER_ADDRESS,
        login_window_seconds=3600,
    )


def login(client: TestClient, email: str, password: str, address: str = "203.0.113.7"):  # type: ignore[no-untyped-def]
    return client.post(
        "/v1/auth/token",
        json={"email": email, "password": password},
        headers={"X-Test-Client": address},
    )


@pytest.fixture(autouse=True)
def _client_address_from_header(app: FastAPI) -> None:
    """The test client has no address of its own: give each request the one it names."""

    class FromHeader:
        def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
            self.inner = inner

        async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
            if scope["type"] == "http":
                for name, value in scope["headers"]:
                    if name == b"x-test-client":
                        scope["client"] = (value.decode(), 1234)
            await self.inner(scope, receive, send)

    app.add_middleware(FromHeader)


def test_failed_logins_of_one_account_are_limited(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user()
    for attempt in range(PER_ACCOUNT):  # from different addresses: the account is counted
        failed = login(client, alice.email, "wrong", address=f"198.51.100.{attempt}")
        assert failed.status_code == 401
    refused = login(client, alice.email, "correct horse", address="198.51.100.99")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert "this account" in refused.json()["error"]["message"]
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 3600
    # Another account is not affected.
    bob = make_user()
    assert login(client, bob.email, "correct horse", address="198.51.100.99").status_code == 200


def test_correct_logins_within_the_limit_are_unaffected(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user()
    for _ in range(PER_ACCOUNT - 1):
        assert login(client, alice.email, "wrong").status_code == 401
    assert login(client, alice.email, "correct horse").status_code == 200
    # A successful log-in forgets the failures before it.
    for _ in range(PER_ACCOUNT - 1):
        assert login(client, alice.email, "wrong").status_code == 401
    assert login(client, alice.email, "correct horse").status_code == 200


def test_attempts_from_one_address_are_limited(client: TestClient, make_user: MakeUser) -> None:
    users = [make_user() for _ in range(PER_ADDRESS)]
    for user in users:  # spraying many accounts: none reaches its own limit
        assert login(client, user.email, "wrong", address="192.0.2.1").status_code == 401
    refused = login(client, users[0].email, "correct horse", address="192.0.2.1")
    assert refused.status_code == 429 and "this address" in refused.json()["error"]["message"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert login(client, users[0].email, "correct horse", address="192.0.2.2").status_code == 200


def test_every_worker_counts_together(
    cloud_settings: Settings, make_user: MakeUser, app: FastAPI
) -> None:
    """Two applications on one database, as two uvicorn workers are: the limit spans both."""
    other = create_app(cloud_settings)
    try:
        alice = make_user()
        with TestClient(app) as first, TestClient(other) as second:
            for attempt in range(PER_ACCOUNT):
                client = first if attempt % 2 else second
                assert login(client, alice.email, "wrong").status_code == 401
            assert login(first, alice.email, "correct horse").status_code == 429
            assert login(second, alice.email, "correct horse").status_code == 429
    finally:
        other.state.engine.dispose()


def test_ipv6_addresses_count_by_their_network() -> None:
    assert address_bucket("2001:db8::1") == address_bucket("2001:db8::ffff:1")
    assert address_bucket("2001:db8:0:1::1") != address_bucket("2001:db8::1")
    assert address_bucket("::ffff:192.0.2.1") == address_bucket("192.0.2.1")
    assert address_bucket(None) == "login-address:unknown"


def test_windows_and_retry_after() -> None:
    from datetime import datetime

    now = datetime(2026, 11, 25, 14, 4, 30)
    window = Window.around(now, 300)
    assert window.start == datetime(2026, 11, 25, 14, 0, 0)
    assert window.retry_after(now) == 30
