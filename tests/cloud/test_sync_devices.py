"""Sync and devices: a pushed server carries the device it belongs to (kept in the cloud row's
configuration, handed back on pull), and only that device changes it, unless another device
claims it (gsm server adopt)."""

import uuid

from fastapi.testclient import TestClient

from tests.cloud.conftest import MakeUser
from tests.cloud.test_sync import delete, local_server, operation, pull, push, statuses

DEVICE_A, DEVICE_B = str(uuid.uuid4()), str(uuid.uuid4())


def on_device(payload: dict, device_id: str, name: str, **extra: object) -> dict:
    return payload | {"device_id": device_id, "device_name": name} | extra


def test_the_device_travels_inside_the_configuration(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user()
    payload = on_device(local_server(), DEVICE_A, "rig-a") | {"process_id": 4242}
    assert statuses(push(client, alice, operation("create", payload))) == ["applied"]
    [change] = pull(client, alice)["changes"]
    config = change["data"]["configuration"]
    assert config["device_id"] == DEVICE_A and config["device_name"] == "rig-a"
    assert "process_id" not in config and "claim" not in config

    # A payload that names no device keeps the one the cloud has.
    plain = local_server(payload["id"], name="renamed")
    assert statuses(push(client, alice, operation("update", plain))) == ["applied"]
    config = client.get(f"/v1/servers/{payload['id']}", headers=alice.headers).json()
    assert config["name"] == "renamed"
    assert config["configuration"]["device_id"] == DEVICE_A


def test_only_the_owning_device_changes_a_server_unless_it_claims_it(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user()
    payload = on_device(local_server(), DEVICE_A, "rig-a")
    push(client, alice, operation("create", payload))

    stale = on_device(payload, DEVICE_B, "rig-b", status="running")
    [result] = push(client, alice, operation("update", stale))
    assert result["status"] == "conflict"
    assert result["reason"].startswith(f"the server belongs to device rig-a ({DEVICE_A}) now")
    [result] = push(client, alice, delete(payload["id"]) | {"data_payload": {
        "id": payload["id"], "device_id": DEVICE_B}})  # fmt: skip
    assert result["status"] == "conflict"

    claimed = on_device(payload, DEVICE_B, "rig-b", claim=True)
    assert statuses(push(client, alice, operation("update", claimed))) == ["applied"]
    server = client.get(f"/v1/servers/{payload['id']}", headers=alice.headers).json()
    assert server["configuration"]["device_name"] == "rig-b"

    # Now A is the other device: its update is refused, its claim is not.
    [result] = push(client, alice, operation("update", on_device(payload, DEVICE_A, "rig-a")))
    assert result["status"] == "conflict" and "rig-b" in result["reason"]
    # A claim never deletes: a delete comes from the owning device only.
    gone = delete(payload["id"]) | {
        "data_payload": {"id": payload["id"], "device_id": DEVICE_A, "claim": True}
    }
    assert statuses(push(client, alice, gone)) == ["conflict"]
    owner_delete = delete(payload["id"]) | {
        "data_payload": {"id": payload["id"], "device_id": DEVICE_B}
    }
    assert statuses(push(client, alice, owner_delete)) == ["applied"]


def test_claim_must_be_a_boolean(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user()
    payload = on_device(local_server(), DEVICE_A, "rig-a", claim="yes")
    [result] = push(client, alice, operation("create", payload))
    assert result["status"] == "rejected" and "claim" in result["reason"]
