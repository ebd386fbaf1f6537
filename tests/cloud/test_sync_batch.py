"""A push of a whole batch (the set-based path on PostgreSQL, the same answers on SQLite): every
operation answered in order, each sync_operations row stored once with its final answer, the
change feed in operation order, and a payload the database cannot hold refused on its own."""

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from gsm_cloud.db.models import Change, GameServer, PluginInstallation, SyncOperation
from tests.cloud.conftest import MakeUser
from tests.cloud.test_sync import (
    add_plugin,
    delete,
    local_plugin,
    local_server,
    operation,
    push,
    statuses,
)
from tests.cloud.test_sync_summary import summary


def test_a_full_batch_applies_in_order_and_stores_each_answer_once(
    client: TestClient, make_user: MakeUser, db
) -> None:
    alice = make_user()
    plugin_id = add_plugin(db)
    servers = [local_server(name=f"s-{i:03d}") for i in range(300)]
    operations = [operation("create", server) for server in servers]
    operations += [
        operation(
            "create",
            local_plugin(server["id"], plugin_id),
            entity_type="plugin_installation",
        )
        for server in servers[:200]
    ]
    operations += [
        operation("update", local_server(s["id"], name="renamed")) for s in servers[:100]
    ]
    operations += [summary(s["id"]) for s in servers[100:200]]
    operations += [delete(s["id"]) for s in servers[250:]]  # installations none, servers gone
    operations += [operation("update", local_server(str(uuid.uuid4())))]  # never created
    operations += [operation("create", local_server(name=""))]  # invalid payload
    assert len(operations) == 752

    results = push(client, alice, *operations)

    assert statuses(results) == ["applied"] * 750 + ["conflict", "rejected"]
    db.expire_all()
    names = dict(db.execute(select(GameServer.id, GameServer.name)).all())
    assert len(names) == 250
    assert sum(name == "renamed" for name in names.values()) == 100
    summarised = db.scalars(
        select(GameServer.player_count).where(GameServer.performance_metrics.is_not(None))
    ).all()
    assert len(summarised) == 100
    assert db.query(PluginInstallation).count() == 200

    stored = db.execute(
        select(SyncOperation.id, SyncOperation.sync_status, SyncOperation.completed_at)
    ).all()
    assert len(stored) == len(operations)
    by_id = {str(row.id): row for row in stored}
    for op, result in zip(operations, results, strict=True):
        assert by_id[op["id"]].sync_status == result["status"]
        assert by_id[op["id"]].completed_at is not None

    feed = db.execute(select(Change.entity_id, Change.operation).order_by(Change.seq)).all()
    applied = [op for op, r in zip(operations, results, strict=True) if r["status"] == "applied"]
    assert [str(row.entity_id) for row in feed] == [op["entity_id"] for op in applied]
    assert [row.operation for row in feed][-50:] == ["delete"] * 50


def test_the_same_batch_again_is_all_duplicates_and_changes_nothing(
    client: TestClient, make_user: MakeUser, db
) -> None:
    alice, bob = make_user(), make_user()
    operations = [operation("create", local_server(name=f"s-{i}")) for i in range(50)]
    first = push(client, alice, *operations)
    feed_before = db.query(Change).count()

    again = push(client, alice, *operations, operations[0])
    assert statuses(again) == ["duplicate"] * 51
    assert {r["previous_status"] for r in again} == {"applied"}
    assert [r["status"] for r in first] == ["applied"] * 50
    db.expire_all()
    assert db.query(Change).count() == feed_before
    assert db.query(SyncOperation).count() == 50

    [taken] = push(client, bob, operations[1])
    assert taken["status"] == "rejected" and "another account" in taken["reason"]


def test_a_payload_the_database_cannot_hold_is_refused_alone(
    client: TestClient, make_user: MakeUser, db
) -> None:
    alice = make_user()
    fits = local_server(configuration={"big": 2**63 - 1, "text": "1234567890123456789012"})
    too_big = local_server(configuration={"big": 2**63})
    nul_key = local_server(configuration={"bad\x00key": 1})
    deep: dict = {}
    for _ in range(40):
        deep = {"d": deep}
    too_deep = local_server(configuration=deep)
    operations = [operation("create", p) for p in (fits, too_big, nul_key, too_deep)]

    results = push(client, alice, *operations)

    assert statuses(results) == ["applied", "rejected", "rejected", "rejected"]
    assert "too large" in results[1]["reason"]
    assert "NUL" in results[2]["reason"]
    assert "nested too deeply" in results[3]["reason"]
    db.expire_all()
    stored = dict(db.execute(select(SyncOperation.id, SyncOperation.data_payload)).all())
    assert stored[uuid.UUID(operations[0]["id"])]["configuration"]["big"] == 2**63 - 1
    for op in operations[1:]:
        assert stored[uuid.UUID(op["id"])] is None  # kept as NULL: the column cannot hold it
    server = db.get(GameServer, uuid.UUID(fits["id"]))
    assert server is not None and server.configuration["big"] == 2**63 - 1
