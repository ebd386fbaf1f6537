"""A server's performance summary pushed as ``update`` of ``server_summary``: written into the
game_servers row's performance_metrics, player_count and uptime_seconds only, by its owner only,
at most once, never over a newer one, and checked like every payload."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.cloud.conftest import MakeUser
from tests.cloud.test_sync import delete, local_server, operation, pull, push, statuses

DEVICE = "5d1f4c1e-7a4b-4f0e-9a55-1e0b2a3c4d5e"
OTHER_DEVICE = "0c9e8d7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f"


def summary(
    server_id: str,
    *,
    at: str = "2026-12-03T15:00:00Z",
    players: int | None = 3,
    uptime: int | None = 5400,
    op_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    payload = {
        "recorded_at": at,
        "player_count": players,
        "uptime_seconds": uptime,
        "performance_metrics": {
            "cpu_usage": 12.5,
            "memory_usage": 812.25,
            "network_latency": 1.2,
            "player_count": players,
            "max_players": 16,
        },
        "device_id": DEVICE,
    } | extra
    return operation(
        "update", payload, entity_type="server_summary", entity_id=server_id, op_id=op_id
    )


def _server(client: TestClient, who, server_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.get(f"/v1/servers/{server_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _created(client: TestClient, who, **columns: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    payload = local_server(device_id=DEVICE, device_name="rig", **columns)
    assert statuses(push(client, who, operation("create", payload))) == ["applied"]
    return payload


def test_summary_writes_the_three_columns_and_nothing_else(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user()
    payload = _created(client, alice)
    before = _server(client, alice, payload["id"])
    assert statuses(push(client, alice, summary(payload["id"]))) == ["applied"]
    after = _server(client, alice, payload["id"])
    assert after["player_count"] == 3 and after["uptime_seconds"] == 5400
    assert after["performance_metrics"] == {
        "recorded_at": "2026-12-03T15:00:00Z",
        "cpu_usage": 12.5,
        "memory_usage": 812.25,
        "network_latency": 1.2,
        "player_count": 3,
        "max_players": 16,
    }
    untouched = {k: v for k, v in after.items() if k not in SUMMARY_KEYS}
    assert untouched == {k: v for k, v in before.items() if k not in SUMMARY_KEYS}
    # the feed says the server changed, and pull hands the summary out with it
    changes = pull(client, alice)["changes"]
    assert changes[-1]["entity_id"] == payload["id"]
    assert changes[-1]["data"]["performance_metrics"]["cpu_usage"] == 12.5


SUMMARY_KEYS = ("performance_metrics", "player_count", "uptime_seconds")


def test_unknown_values_are_null_and_unknown_keys_are_ignored(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user()
    payload = _created(client, alice)
    op = summary(payload["id"], players=None, uptime=None)
    op["data_payload"]["performance_metrics"] = {"cpu_usage": None, "gpu_usage": 3.0}
    op["data_payload"]["future_field"] = "x"
    assert statuses(push(client, alice, op)) == ["applied"]
    after = _server(client, alice, payload["id"])
    assert after["player_count"] is None and after["uptime_seconds"] is None
    metrics = after["performance_metrics"]
    assert "gpu_usage" not in metrics and metrics["cpu_usage"] is None


def test_only_the_owner_and_its_device_may_send_it(client: TestClient, make_user: MakeUser) -> None:
    alice, mallory = make_user(), make_user()
    payload = _created(client, alice)
    unknown = str(uuid.uuid4())
    results = push(
        client,
        mallory,
        summary(payload["id"], device_id=None),
        summary(unknown),
    )
    assert statuses(results) == ["rejected", "rejected"]
    assert results[0]["reason"].startswith("not yours")
    assert results[1]["reason"] == f"server {unknown} is not in the cloud: push it first"
    [other_device] = push(client, alice, summary(payload["id"], device_id=OTHER_DEVICE))
    assert other_device["status"] == "conflict"
    assert "belongs to device rig" in other_device["reason"]
    server = _server(client, alice, payload["id"])
    assert server["performance_metrics"] is None and server["player_count"] == 0


def test_at_most_once_and_never_over_a_newer_one(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user()
    payload = _created(client, alice)
    first = summary(payload["id"], at="2026-12-03T15:00:00Z", players=3)
    newer = summary(payload["id"], at="2026-12-03T15:00:30Z", players=7)
    assert statuses(push(client, alice, first, newer)) == ["applied", "applied"]
    again = push(client, alice, first)
    assert again == [{"id": first["id"], "status": "duplicate", "previous_status": "applied"}]
    older = summary(payload["id"], at="2026-12-03T14:59:00+00:00", players=1)
    [answer] = push(client, alice, older)
    assert answer["status"] == "applied" and answer["reason"].startswith("older than")
    server = _server(client, alice, payload["id"])
    assert server["player_count"] == 7
    assert server["performance_metrics"]["recorded_at"] == "2026-12-03T15:00:30Z"


def test_a_summary_never_conflicts_with_changes_of_the_server(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user()
    payload = local_server(device_id=DEVICE, device_name="rig")
    renamed = payload | {"name": "valheim-renamed", "status": "running"}
    results = push(
        client,
        alice,
        operation("create", payload),  # a server only known locally until this batch
        summary(payload["id"]),
        operation("update", renamed),
    )
    assert statuses(results) == ["applied", "applied", "applied"]
    server = _server(client, alice, payload["id"])
    assert server["name"] == "valheim-renamed" and server["status"] == "running"
    assert server["player_count"] == 3 and server["performance_metrics"]["max_players"] == 16
    # a later change of the server keeps the summary
    again = renamed | {"status": "stopped"}
    assert statuses(push(client, alice, operation("update", again))) == ["applied"]
    assert _server(client, alice, payload["id"])["uptime_seconds"] == 5400


def test_deleted_with_its_server_and_not_brought_back(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user()
    payload = _created(client, alice)
    results = push(
        client,
        alice,
        summary(payload["id"]),
        delete(payload["id"]),
        summary(payload["id"], at="2026-12-03T15:01:00Z"),
        operation("create", payload),
    )
    assert statuses(results) == ["applied", "applied", "rejected", "applied"]
    server = _server(client, alice, payload["id"])
    assert server["performance_metrics"] is None and server["player_count"] == 0


def test_bad_summaries_are_rejected_with_the_reason(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user()
    server_id = _created(client, alice)["id"]
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    cases = {
        "negative players": summary(server_id, players=-1),
        "negative uptime": summary(server_id, uptime=-5),
        "uptime as text": summary(server_id, uptime="5400"),
        "no time": summary(server_id, at=None),
        "a time that is not one": summary(server_id, at="yesterday"),
        "from the future": summary(server_id, at=future),
        "negative cpu": summary(server_id, performance_metrics={"cpu_usage": -1.0}),
        "cpu as a boolean": summary(server_id, performance_metrics={"cpu_usage": True}),
        "too large": summary(server_id, note="x" * 5000),
        "as a create": {**summary(server_id), "operation_type": "create"},
        "no payload": {**summary(server_id), "data_payload": None},
    }
    results = push(client, alice, *cases.values())
    reasons = dict(zip(cases, results, strict=True))
    assert all(r["status"] == "rejected" for r in results), results
    assert "player_count" in reasons["negative players"]["reason"]
    assert "uptime_seconds" in reasons["negative uptime"]["reason"]
    assert "recorded_at" in reasons["no time"]["reason"]
    assert "in the future" in reasons["from the future"]["reason"]
    assert "cpu_usage" in reasons["cpu as a boolean"]["reason"]
    assert "larger than 4096 bytes" in reasons["too large"]["reason"]
    assert "sent as an update" in reasons["as a create"]["reason"]
    server = _server(client, alice, server_id)
    assert server["performance_metrics"] is None and server["player_count"] == 0
