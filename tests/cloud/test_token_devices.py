"""The cloud records, per token, the devices that used it (X-GSM-Device-Id and
X-GSM-Device-Name), and GET /v1/auth/token lists them, so that revoking a token can say which
other machines it logs out."""

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gsm_cloud.db.models import ApiToken, ApiTokenDevice
from gsm_cloud.services.devices import MAX_DEVICES_PER_TOKEN
from tests.cloud.conftest import Account, MakeUser


def as_device(account: Account, device_id: str, name: str | None = None) -> dict[str, str]:
    headers = {**account.headers, "X-GSM-Device-Id": device_id}
    if name is not None:
        headers["X-GSM-Device-Name"] = name
    return headers


def alice_token_id(db, account: Account) -> uuid.UUID:  # type: ignore[no-untyped-def]
    return db.scalars(select(ApiToken.id).where(ApiToken.user_id == account.id)).one()


def test_each_device_that_uses_a_token_is_listed(
    client: TestClient, make_user: MakeUser, db
) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(password=None)
    laptop, ci = str(uuid.uuid4()), str(uuid.uuid4())
    assert client.get("/v1/me", headers=as_device(alice, laptop, "laptop")).status_code == 200
    assert client.get("/v1/me", headers=as_device(alice, ci, "ci%20runner")).status_code == 200
    assert client.get("/v1/me", headers=alice.headers).status_code == 200  # no device: none
    # The laptop was seen longer ago than the CI runner.
    row = db.get(ApiTokenDevice, (alice_token_id(db, alice), uuid.UUID(laptop)))
    row.last_seen_at -= timedelta(hours=1)
    db.commit()
    info = client.get("/v1/auth/token", headers=as_device(alice, ci))
    assert info.status_code == 200, info.text
    body = info.json()
    assert body["kind"] == "personal" and "token" not in body
    assert [(d["device_id"], d["device_name"]) for d in body["devices"]] == [
        (ci, "ci runner"),  # the name is percent-decoded, and kept when a request omits it
        (laptop, "laptop"),
    ]
    assert all(d["first_seen_at"].endswith("Z") for d in body["devices"])


def test_another_users_token_shows_only_its_own_devices(
    client: TestClient, make_user: MakeUser
) -> None:
    alice, bob = make_user(password=None), make_user(password=None)
    client.get("/v1/me", headers=as_device(alice, str(uuid.uuid4()), "a"))
    client.get("/v1/me", headers=as_device(bob, str(uuid.uuid4()), "b"))
    names = [
        d["device_name"]
        for d in client.get("/v1/auth/token", headers=bob.headers).json()["devices"]
    ]
    assert names == ["b"]


def test_bad_device_headers_are_ignored_and_names_cleaned(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user(password=None)
    assert client.get("/v1/me", headers=as_device(alice, "not-a-uuid", "x")).status_code == 200
    device = str(uuid.uuid4())
    dirty = "evil%1B%5B31mname%07" + "x" * 200  # an escape sequence, a bell, too long
    assert client.get("/v1/me", headers=as_device(alice, device, dirty)).status_code == 200
    devices = client.get("/v1/auth/token", headers=alice.headers).json()["devices"]
    assert len(devices) == 1 and devices[0]["device_id"] == device
    name = devices[0]["device_name"]
    assert name.startswith("evil[31mname") and len(name) == 100 and "\x1b" not in name


def test_a_token_records_a_bounded_number_of_devices(
    client: TestClient, make_user: MakeUser, db
) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(password=None)
    for _ in range(MAX_DEVICES_PER_TOKEN + 3):
        client.get("/v1/me", headers=as_device(alice, str(uuid.uuid4())))
    count = db.scalar(select(func.count()).select_from(ApiTokenDevice))
    assert count == MAX_DEVICES_PER_TOKEN


def test_a_revoked_token_cannot_be_looked_up(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user(password=None)
    headers = as_device(alice, str(uuid.uuid4()), "laptop")
    assert client.delete("/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/v1/auth/token", headers=headers).status_code == 401
