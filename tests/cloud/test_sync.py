"""Sync: POST /v1/sync/push applies each client operation at most once and answers for every
one; GET /v1/sync/pull hands out the change feed after a cursor, each entity's current state."""

import json
import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from gsm_cli.store.models import LocalPlugin, LocalServer
from gsm_cli.store.outbox import entity_payload
from gsm_cloud.db.models import (
    Change,
    Community,
    CommunityMember,
    GameServer,
    Plugin,
    PluginInstallation,
    SyncOperation,
)
from gsm_cloud.services import changes
from gsm_cloud.services import sync as sync_service
from tests.cloud.conftest import ON_POSTGRES, Account, MakeUser

# --- helpers --------------------------------------------------------------------------------


def local_server(server_id: str | None = None, **columns: Any) -> dict[str, Any]:
    """The payload the client queues for a local_servers row: every column of it."""
    row = LocalServer(
        id=server_id or str(uuid.uuid4()),
        name=columns.pop("name", "valheim-1"),
        game_type=columns.pop("game_type", "valheim"),
        status=columns.pop("status", "stopped"),
        configuration=columns.pop("configuration", {"max_players": 16, "query_port": 2457}),
        port=columns.pop("port", 2456),
        install_path=columns.pop("install_path", "/srv/games/valheim-1"),
        last_backup=columns.pop("last_backup", None),
        created_at=columns.pop("created_at", "2026-11-20 08:00:00"),
        cloud_sync_status="pending",
        process_id=None,
        **columns,
    )
    return entity_payload(row)


def local_plugin(server_id: str, plugin_id: str | None, **columns: Any) -> dict[str, Any]:
    row = LocalPlugin(
        id=columns.pop("id", str(uuid.uuid4())),
        server_id=server_id,
        plugin_id=plugin_id,
        name=columns.pop("name", "backup-helper"),
        version=columns.pop("version", "1.2.0"),
        install_path=columns.pop("install_path", "/srv/games/valheim-1/plugins/backup-helper"),
        configuration=columns.pop("configuration", {"interval": 30}),
        is_enabled=True,
        installed_at=columns.pop("installed_at", "2026-11-21 09:30:00"),
        **columns,
    )
    return entity_payload(row)


def operation(
    operation_type: str,
    payload: dict[str, Any] | None,
    *,
    entity_type: str = "game_server",
    entity_id: str | None = None,
    op_id: str | None = None,
) -> dict[str, Any]:
    entity_id = entity_id or (payload or {}).get("id") or str(uuid.uuid4())
    return {
        "id": op_id or str(uuid.uuid4()),
        "operation_type": operation_type,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "data_payload": payload,
    }


def delete(entity_id: str, entity_type: str = "game_server") -> dict[str, Any]:
    return operation("delete", {"id": entity_id}, entity_type=entity_type, entity_id=entity_id)


def push(client: TestClient, who: Account, *operations: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(
        "/v1/sync/push",
        # ASCII-escaped JSON, so that text Python cannot encode still reaches the API
        content=json.dumps({"operations": list(operations)}),
        headers={**who.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["id"] for r in results] == [op["id"] for op in operations]
    return results


def statuses(results: list[dict[str, Any]]) -> list[str]:
    return [r["status"] for r in results]


def pull(client: TestClient, who: Account, cursor: int = 0, limit: int = 500) -> dict[str, Any]:
    response = client.get(
        "/v1/sync/pull", params={"cursor": cursor, "limit": limit}, headers=who.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def add_plugin(db, name: str = "backup-helper") -> str:  # type: ignore[no-untyped-def]
    plugin = Plugin(name=name, version="1.2.0", category="utility", supported_games=["valheim"])
    db.add(plugin)
    db.commit()
    return str(plugin.id)


# --- push -----------------------------------------------------------------------------------


def test_push_then_pull_round_trip(client: TestClient, make_user: MakeUser, db) -> None:
    alice = make_user()
    payload = local_server(last_backup="2026-11-24 22:15:00")
    create = operation("create", payload)
    assert statuses(push(client, alice, create)) == ["applied"]

    server = client.get(f"/v1/servers/{payload['id']}", headers=alice.headers).json()
    assert server["name"] == "valheim-1" and server["game_type"] == "valheim"
    assert server["status"] == "stopped" and server["owner_id"] == str(alice.id)
    assert server["configuration"] == {
        "max_players": 16,
        "query_port": 2457,
        "port": 2456,
        "install_path": "/srv/games/valheim-1",
    }
    assert server["max_players"] == 16
    assert server["last_backup"] == "2026-11-24T22:15:00Z"
    assert server["created_at"] == "2026-11-20T08:00:00Z"

    record = db.get(SyncOperation, uuid.UUID(create["id"]))
    assert record.user_id == alice.id and record.sync_status == "applied"
    assert record.completed_at is not None and record.detail is None
    assert record.entity_type == "game_server" and record.operation_type == "create"
    assert record.data_payload["name"] == "valheim-1"

    feed = pull(client, alice)
    assert feed["has_more"] is False and feed["next_cursor"] == feed["changes"][-1]["seq"]
    [change] = feed["changes"]
    assert change["entity_type"] == "game_server" and change["operation"] == "upsert"
    assert change["entity_id"] == payload["id"] and change["data"] == server


def test_update_and_delete(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user()
    payload = local_server()
    push(client, alice, operation("create", payload))
    cursor = pull(client, alice)["next_cursor"]

    renamed = {**payload, "name": "renamed", "status": "running", "configuration": {}}
    assert statuses(push(client, alice, operation("update", renamed))) == ["applied"]
    server = client.get(f"/v1/servers/{payload['id']}", headers=alice.headers).json()
    assert server["name"] == "renamed" and server["status"] == "running"
    assert server["max_players"] == 10  # the seed's default once the local value is gone

    results = push(client, alice, delete(payload["id"]), delete(payload["id"]))
    assert statuses(results) == ["applied", "applied"]
    assert results[1]["reason"] == "already deleted"  # deleting what is gone is idempotent
    assert client.get(f"/v1/servers/{payload['id']}", headers=alice.headers).status_code == 404
    [change] = pull(client, alice, cursor)["changes"]
    assert change["operation"] == "delete" and change["data"] is None


def test_create_of_an_existing_server_updates_it(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user()
    payload = local_server()
    push(client, alice, operation("create", payload))
    again = push(client, alice, operation("create", {**payload, "name": "again"}))
    assert statuses(again) == ["applied"]
    listing = client.get("/v1/servers", headers=alice.headers).json()
    assert listing["total"] == 1 and listing["items"][0]["name"] == "again"


def test_duplicates_in_one_batch_and_across_batches(
    client: TestClient, make_user: MakeUser, db
) -> None:
    alice = make_user()
    create = operation("create", local_server())
    bad = operation("create", {"name": "no game type"})
    results = push(client, alice, create, create, bad)
    assert statuses(results) == ["applied", "duplicate", "rejected"]
    assert results[1]["previous_status"] == "applied"

    again = push(client, alice, create, bad)
    assert statuses(again) == ["duplicate", "duplicate"]
    assert again[0]["previous_status"] == "applied" and "reason" not in again[0]
    # A lost answer is never lost information: the first answer comes back with the duplicate.
    assert again[1]["previous_status"] == "rejected"
    assert again[1]["reason"] == results[2]["reason"]

    assert db.scalar(select(func.count()).select_from(SyncOperation)) == 2
    assert db.scalar(select(func.count()).select_from(Change)) == 1
    assert db.scalar(select(func.count()).select_from(GameServer)) == 1


def test_one_bad_operation_never_spoils_the_batch(
    client: TestClient, make_user: MakeUser, db
) -> None:
    alice = make_user()
    first, last = local_server(name="first"), local_server(name="last")
    bad = {
        "missing name": operation("create", {**local_server(), "name": None}),
        "name too long": operation("create", local_server(name="x" * 201)),
        "status too long": operation("create", local_server(status="s" * 21)),
        "wrong type": operation("create", local_server(port="2456")),
        "port out of range": operation("create", local_server(port=70000)),
        "bad max_players": operation("create", local_server(configuration={"max_players": "8"})),
        "huge max_players": operation("create", local_server(configuration={"max_players": 2**40})),
        "bad time": operation("create", local_server(last_backup="yesterday")),
        "NUL": operation("create", local_server(configuration={"motd": "a\x00b"})),
        "surrogate": operation("create", local_server(configuration={"motd": "a\ud800"})),
        "NUL key": operation("create", local_server(configuration={"a\x00": 1})),
        "huge number": operation("create", local_server(configuration={"seed": 10**30})),
        "no payload": operation("create", None),
        "id mismatch": operation("create", local_server(), entity_id=str(uuid.uuid4())),
        "configuration not an object": operation("create", local_server(configuration=[1])),
        "unknown entity": operation("create", local_server(), entity_type="player"),
        "unknown operation": operation("upsert", local_server()),
    }
    batch = [operation("create", first), *bad.values(), operation("create", last)]
    results = push(client, alice, *batch)
    assert results[0]["status"] == results[-1]["status"] == "applied"
    for (label, _), result in zip(bad.items(), results[1:-1], strict=True):
        assert result["status"] == "rejected", label
        assert result["reason"], label
    reasons = {label: r["reason"] for label, r in zip(bad, results[1:-1], strict=True)}
    assert "name" in reasons["missing name"]
    assert "unknown entity_type 'player'" in reasons["unknown entity"]
    assert "unknown operation_type 'upsert'" in reasons["unknown operation"]
    assert "NUL" in reasons["NUL"]
    assert "not valid Unicode" in reasons["surrogate"]
    assert "max_players" in reasons["bad max_players"]

    names = db.scalars(select(GameServer.name).order_by(GameServer.name)).all()
    assert names == ["first", "last"]
    recorded = {r.id: r for r in db.scalars(select(SyncOperation))}
    assert len(recorded) == len(batch)
    for op, result in zip(batch, results, strict=True):
        row = recorded[uuid.UUID(op["id"])]
        assert row.sync_status == result["status"] and row.detail == result.get("reason")
    assert recorded[uuid.UUID(bad["NUL"]["id"])].data_payload is None  # unstorable: not kept


def test_infinity_and_nan_are_rejected_per_operation(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user()
    literals = ["Infinity", "-Infinity", "NaN", "1e400"]  # what Python's JSON parser takes
    batch = [operation("create", local_server())] + [
        operation("create", local_server(configuration={"ratio": f"@{i}"}))
        for i in range(len(literals))
    ]
    body = json.dumps({"operations": batch})
    for i, literal in enumerate(literals):
        body = body.replace(f'"@{i}"', literal)
    response = client.post(
        "/v1/sync/push",
        content=body,
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert statuses(results) == ["applied"] + ["rejected"] * len(literals)
    assert all("NaN or Infinity" in r["reason"] for r in results[1:])


@pytest.mark.parametrize("literal", ["1e400", "-1E+400", "1" * 320 + ".5"])
def test_a_number_that_overflows_is_rejected_as_infinity(
    client: TestClient, make_user: MakeUser, literal: str
) -> None:
    """A number literal too large for a float is read as Infinity: its operation is refused
    like one with NaN, even when no NaN or Infinity is written anywhere in the body."""
    alice = make_user()
    batch = [
        operation("create", local_server()),
        operation("create", local_server(configuration={"ratio": "@"})),
    ]
    body = json.dumps({"operations": batch}).replace('"@"', literal)
    assert "NaN" not in body and "Infinity" not in body
    response = client.post(
        "/v1/sync/push",
        content=body,
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert statuses(results) == ["applied", "rejected"]
    assert "NaN or Infinity" in results[1]["reason"]


def test_batch_size_and_envelope_are_validated(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user()

    def status_of(body: Any) -> int:
        return client.post("/v1/sync/push", json=body, headers=alice.headers).status_code

    assert status_of({"operations": []}) == 422
    too_many = [operation("create", local_server()) for _ in range(1001)]
    assert status_of({"operations": too_many}) == 422
    assert status_of({"operations": [{**operation("create", None), "id": "nope"}]}) == 422
    assert (
        status_of({"operations": [{**operation("create", None), "entity_type": "x" * 51}]}) == 422
    )
    assert status_of({"operations": [{**operation("create", None), "extra": 1}]}) == 422
    assert status_of({}) == 422
    unauthenticated = client.post("/v1/sync/push", json={"operations": [operation("create", None)]})
    assert unauthenticated.status_code == 401


def test_users_never_see_or_change_each_others_servers(
    client: TestClient, make_user: MakeUser, db
) -> None:
    alice, bob = make_user(), make_user()
    payload = local_server(name="alice-server")
    create = operation("create", payload)
    push(client, alice, create)

    results = push(
        client,
        bob,
        operation("update", {**payload, "name": "taken"}),
        operation("create", {**payload, "name": "taken"}),
        delete(payload["id"]),
        {**create, "data_payload": {**payload, "name": "replayed"}},  # alice's operation id
    )
    assert statuses(results) == ["rejected"] * 4
    assert all("not yours" in r["reason"] for r in results[:3])
    assert "another account" in results[3]["reason"]

    assert client.get(f"/v1/servers/{payload['id']}", headers=bob.headers).status_code == 404
    assert client.get("/v1/servers", headers=bob.headers).json()["total"] == 0
    assert pull(client, bob)["changes"] == []
    assert db.get(GameServer, uuid.UUID(payload["id"])).name == "alice-server"
    # Bob's rejected attempts are his own records; alice's operation is untouched.
    assert db.get(SyncOperation, uuid.UUID(create["id"])).user_id == alice.id


def test_plugin_installations(client: TestClient, make_user: MakeUser, db) -> None:
    alice, bob = make_user(), make_user()
    plugin_id = add_plugin(db)
    server = local_server()
    bobs_server = local_server()
    push(client, alice, operation("create", server))
    push(client, bob, operation("create", bobs_server))

    installation = local_plugin(server["id"], plugin_id)
    install = operation("create", installation, entity_type="plugin_installation")
    results = push(
        client,
        alice,
        install,
        operation("create", local_plugin(server["id"], None), entity_type="plugin_installation"),
        operation(
            "create",
            local_plugin(server["id"], str(uuid.uuid4())),
            entity_type="plugin_installation",
        ),
        operation(
            "create", local_plugin(bobs_server["id"], plugin_id), entity_type="plugin_installation"
        ),
        operation(
            "create", local_plugin(str(uuid.uuid4()), plugin_id), entity_type="plugin_installation"
        ),
        operation(
            "create",
            local_plugin(server["id"], plugin_id, version="1" * 21),
            entity_type="plugin_installation",
        ),
    )
    assert statuses(results) == ["applied"] + ["rejected"] * 5
    assert "plugin_id is null" in results[1]["reason"]
    assert "unknown plugin" in results[2]["reason"]
    assert "not yours" in results[3]["reason"]
    assert "not in the cloud" in results[4]["reason"]
    assert "version" in results[5]["reason"]

    row = db.get(PluginInstallation, uuid.UUID(installation["id"]))
    assert str(row.server_id) == server["id"] and str(row.plugin_id) == plugin_id
    assert row.installed_version == "1.2.0" and row.configuration == {"interval": 30}

    upgraded = {**installation, "version": "1.3.0", "configuration": {"interval": 5}}
    assert statuses(
        push(client, alice, operation("update", upgraded, entity_type="plugin_installation"))
    ) == ["applied"]
    data = [c for c in pull(client, alice)["changes"] if c["entity_type"] == "plugin_installation"]
    assert data[-1]["data"] == {
        "id": installation["id"],
        "server_id": server["id"],
        "plugin_id": plugin_id,
        "installed_version": "1.3.0",
        "installed_at": "2026-11-21T09:30:00Z",
        "configuration": {"interval": 5},
    }
    # Bob can neither change nor remove alice's installation.
    results = push(
        client,
        bob,
        operation("update", upgraded, entity_type="plugin_installation"),
        delete(installation["id"], "plugin_installation"),
    )
    assert statuses(results) == ["rejected", "rejected"]
    assert db.get(PluginInstallation, uuid.UUID(installation["id"])) is not None

    results = push(
        client,
        alice,
        delete(installation["id"], "plugin_installation"),
        delete(installation["id"], "plugin_installation"),
    )
    assert statuses(results) == ["applied", "applied"]
    db.expire_all()
    assert db.get(PluginInstallation, uuid.UUID(installation["id"])) is None


def test_deleting_a_server_deletes_its_installations(
    client: TestClient, make_user: MakeUser, db
) -> None:
    alice = make_user()
    plugins = [add_plugin(db, "one"), add_plugin(db, "two")]
    server = local_server()
    installs = [local_plugin(server["id"], plugin_id) for plugin_id in plugins]
    push(
        client,
        alice,
        operation("create", server),
        *(operation("create", i, entity_type="plugin_installation") for i in installs),
    )
    cursor = pull(client, alice)["next_cursor"]
    assert statuses(push(client, alice, delete(server["id"]))) == ["applied"]

    assert db.scalar(select(func.count()).select_from(PluginInstallation)) == 0
    assert db.scalar(select(func.count()).select_from(GameServer)) == 0
    feed = pull(client, alice, cursor)["changes"]
    assert {(c["entity_type"], c["entity_id"], c["operation"]) for c in feed} == {
        ("plugin_installation", installs[0]["id"], "delete"),
        ("plugin_installation", installs[1]["id"], "delete"),
        ("game_server", server["id"], "delete"),
    }
    assert all(c["data"] is None for c in feed)


def test_conflicts(client: TestClient, make_user: MakeUser, db) -> None:
    alice = make_user()
    plugin_id = add_plugin(db)
    server = local_server()
    first = local_plugin(server["id"], plugin_id)
    second = local_plugin(server["id"], plugin_id)  # the same plugin under another id
    results = push(
        client,
        alice,
        operation("update", local_server()),  # never reached the cloud
        operation("create", server),
        operation("create", first, entity_type="plugin_installation"),
        operation("create", second, entity_type="plugin_installation"),
        delete(server["id"]),
        operation("update", {**server, "name": "edited offline"}),
        operation("update", first, entity_type="plugin_installation"),
    )
    assert statuses(results) == [
        "conflict",
        "applied",
        "applied",
        "conflict",
        "applied",
        "conflict",
        "conflict",
    ]
    assert results[0]["reason"].startswith("deleted in the cloud")
    assert first["id"] in results[3]["reason"]
    assert results[5]["reason"].startswith("deleted in the cloud")
    assert db.get(SyncOperation, uuid.UUID(results[3]["id"])).sync_status == "conflict"


def test_a_batch_sees_its_own_earlier_operations(
    client: TestClient, make_user: MakeUser, db
) -> None:
    """Moves, cascades and re-creations within one batch land in an order the keys accept."""
    alice = make_user()
    plugin_id = add_plugin(db)
    one, two = local_server(name="one"), local_server(name="two")
    moved = local_plugin(one["id"], plugin_id)
    push(
        client,
        alice,
        operation("create", one),
        operation("create", two),
        operation("create", moved, entity_type="plugin_installation"),
    )
    three = local_server(name="three")
    added = local_plugin(three["id"], plugin_id)
    results = push(
        client,
        alice,
        operation("update", {**moved, "server_id": two["id"]}, entity_type="plugin_installation"),
        delete(one["id"]),
        operation("create", three),
        operation("create", added, entity_type="plugin_installation"),
        operation("update", {**two, "name": "rejected", "status": None}),  # changes nothing
        operation("update", {**two, "name": "two-renamed"}),
    )
    assert statuses(results) == ["applied"] * 4 + ["rejected", "applied"]
    db.expire_all()
    assert db.get(GameServer, uuid.UUID(one["id"])) is None
    assert str(db.get(PluginInstallation, uuid.UUID(moved["id"])).server_id) == two["id"]
    assert str(db.get(PluginInstallation, uuid.UUID(added["id"])).server_id) == three["id"]
    assert db.get(GameServer, uuid.UUID(two["id"])).name == "two-renamed"

    # Deleted and created again in one batch: a new server, without the old installations.
    db.execute(
        GameServer.__table__.update()
        .where(GameServer.id == uuid.UUID(two["id"]))
        .values(player_count=7)
    )
    db.commit()
    results = push(
        client,
        alice,
        delete(two["id"]),
        operation("create", {**two, "name": "two-again"}),
        operation("update", {**moved, "configuration": None}, entity_type="plugin_installation"),
    )
    assert statuses(results) == ["applied", "applied", "conflict"]
    db.expire_all()
    again = db.get(GameServer, uuid.UUID(two["id"]))
    assert again.name == "two-again" and again.player_count == 0
    assert db.get(PluginInstallation, uuid.UUID(moved["id"])) is None


def test_what_the_database_refuses_in_bulk_is_found_one_operation_at_a_time(
    client: TestClient, make_user: MakeUser, db, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = make_user()
    phantom = uuid.uuid4()  # a plugin the checks believe in but the database does not hold
    real_load = sync_service._State.load.__func__  # type: ignore[attr-defined]

    def load(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
        state = real_load(cls, *args, **kwargs)
        state.plugins.add(phantom)
        return state

    monkeypatch.setattr(sync_service._State, "load", classmethod(load))
    server = local_server()
    results = push(
        client,
        alice,
        operation("create", server),
        operation(
            "create", local_plugin(server["id"], str(phantom)), entity_type="plugin_installation"
        ),
        operation("update", {**server, "name": "after"}),
    )
    assert statuses(results) == ["applied", "rejected", "applied"]
    assert "refused" in results[1]["reason"]
    assert db.get(GameServer, uuid.UUID(server["id"])).name == "after"
    assert db.scalar(select(func.count()).select_from(PluginInstallation)) == 0
    assert db.scalar(select(func.count()).select_from(Change)) == 2
    recorded = db.get(SyncOperation, uuid.UUID(results[1]["id"]))
    assert recorded.sync_status == "rejected" and recorded.detail == results[1]["reason"]


# --- pull -----------------------------------------------------------------------------------


def test_pull_pages_with_cursor_and_has_more(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user()
    created = [local_server(name=f"s{i}") for i in range(5)]
    push(client, alice, *(operation("create", p) for p in created))

    seen, cursor, pages = [], 0, 0
    while True:
        page = pull(client, alice, cursor, limit=2)
        pages += 1
        seen += [c["entity_id"] for c in page["changes"]]
        assert all(c["seq"] > cursor for c in page["changes"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert pages == 3 and seen == [p["id"] for p in created]
    assert pull(client, alice, cursor) == {"changes": [], "next_cursor": cursor, "has_more": False}
    assert pull(client, alice, cursor + 1000)["next_cursor"] == cursor + 1000

    for params in ({"cursor": -1}, {"cursor": 2**70}, {"limit": 0}, {"limit": 1001}):
        response = client.get("/v1/sync/pull", params=params, headers=alice.headers)
        assert response.status_code == 422, params
    assert client.get("/v1/sync/pull").status_code == 401


def test_pull_collapses_changes_of_one_entity(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user()
    payload = local_server()
    other = local_server(name="other")
    push(
        client,
        alice,
        operation("create", payload),
        operation("create", other),
        operation("update", {**payload, "name": "v2"}),
        operation("update", {**payload, "name": "v3"}),
    )
    feed = pull(client, alice)
    assert [(c["entity_id"], c["seq"]) for c in feed["changes"]] == [
        (other["id"], 2),
        (payload["id"], 4),
    ]
    assert feed["changes"][1]["data"]["name"] == "v3" and feed["next_cursor"] == 4


def test_pull_visibility(client: TestClient, make_user: MakeUser, db) -> None:
    alice, bob = make_user(), make_user()
    push(client, alice, operation("create", local_server(name="alice-only")))

    plugin = Plugin(
        name="catalog-entry",
        description="for everyone",
        version="2.0.0",
        category="admin",
        supported_games=["valheim", "rust"],
        developer_id=bob.id,
    )
    community = Community(name="Vikings", owner_id=alice.id)
    db.add_all([plugin, community])
    db.flush()
    db.add(CommunityMember(community_id=community.id, user_id=alice.id, role="Owner"))
    gone = uuid.uuid4()
    for entity_type, entity_id, audience in [
        ("plugin", plugin.id, None),
        ("plugin", gone, None),
        ("community_membership", community.id, alice.id),
    ]:
        changes.record(
            db,
            entity_type=entity_type,
            entity_id=entity_id,
            operation="upsert",
            audience_user_id=audience,
        )
    db.commit()

    bobs = pull(client, bob)["changes"]
    assert [(c["entity_type"], c["operation"]) for c in bobs] == [
        ("plugin", "upsert"),
        ("plugin", "delete"),
    ]
    entry = bobs[0]["data"]
    assert entry == {
        "id": str(plugin.id),
        "name": "catalog-entry",
        "description": "for everyone",
        "version": "2.0.0",
        "category": "admin",
        "price": "0.00",
        "currency": "USD",
        "downloads": 0,
        "rating": "0.00",
        "review_count": 0,
        "supported_games": ["valheim", "rust"],
        "is_verified": False,
        "package_url": None,
        "developer_id": str(bob.id),
        "created_at": entry["created_at"],
    }
    assert bobs[1]["entity_id"] == str(gone) and bobs[1]["data"] is None

    alices = pull(client, alice)["changes"]
    assert [c["entity_type"] for c in alices] == [
        "game_server",
        "plugin",
        "plugin",
        "community_membership",
    ]
    membership = alices[-1]
    assert membership["entity_id"] == str(community.id)
    assert membership["data"] == {
        "community_id": str(community.id),
        "community_name": "Vikings",
        "role": "Owner",
        "joined_at": membership["data"]["joined_at"],
    }


# --- concurrency and volume -----------------------------------------------------------------


WAITING_FOR_THE_FEED = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL's concurrent writers")
def test_concurrent_pushes_of_one_operation_apply_it_once(
    client: TestClient, make_user: MakeUser, app, db
) -> None:
    alice = make_user()
    payload = local_server()
    create = operation("create", payload)
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            results.extend(push(client, alice, create))
        except BaseException as exc:  # reported below
            errors.append(exc)

    # Hold the change feed's lock so that both pushes are in flight, then let them race.
    with app.state.engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": changes._FEED_LOCK})
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        waiting = 0
        for _ in range(200_000):
            waiting = db.scalar(WAITING_FOR_THE_FEED)
            db.rollback()
            if waiting == 2 or errors:
                break
        holder.rollback()  # releases the lock
        for thread in threads:
            thread.join(timeout=60)
    assert not errors and waiting == 2
    assert sorted(statuses(results)) == ["applied", "duplicate"]
    assert db.scalar(select(func.count()).select_from(SyncOperation)) == 1
    assert db.scalar(select(func.count()).select_from(Change)) == 1
    assert db.scalar(select(func.count()).select_from(GameServer)) == 1


def test_a_batch_of_1000_operations_in_one_request(
    client: TestClient, make_user: MakeUser, db
) -> None:
    alice = make_user()
    batch = [operation("create", local_server(name=f"s{i:04}")) for i in range(1000)]
    assert statuses(push(client, alice, *batch)) == ["applied"] * 1000
    assert db.scalar(select(func.count()).select_from(GameServer)) == 1000
    assert statuses(push(client, alice, *batch)) == ["duplicate"] * 1000
    feed = pull(client, alice, limit=1000)
    assert len(feed["changes"]) == 1000 and feed["has_more"] is False
