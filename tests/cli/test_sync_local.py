"""gsm sync without a cloud: status, retry, drop and resolve on a store; logged out; the cloud
unreachable."""

import sqlite3
from pathlib import Path

from gsm_cli.services import sync
from gsm_cli.store import Store
from gsm_cli.store.models import PendingSyncOperation, SyncConflict
from tests.conftest import GsmRunner, free_port


def _create_servers(gsm: GsmRunner, *names: str) -> None:
    for i, name in enumerate(names):
        port = 24000 + 10 * i
        result = gsm(
            "server", "create", name, "--game", "valheim",
            "--port", str(port), "--query-port", str(port + 1),
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr


def _queue(home: Path) -> list[tuple]:
    with sqlite3.connect(home / "gsm.db") as conn:
        return conn.execute(
            "SELECT operation_id, state, retry_count, last_error, entity_id "
            "FROM pending_sync_operations ORDER BY id"
        ).fetchall()


def _reject(home: Path, reason: str = "invalid payload: name: too long") -> None:
    with sqlite3.connect(home / "gsm.db") as conn:
        conn.execute(
            "UPDATE pending_sync_operations SET state = 'rejected', last_error = ? "
            "WHERE id = (SELECT min(id) FROM pending_sync_operations)",
            (reason,),
        )


def test_status_on_a_fresh_store(gsm: GsmRunner) -> None:
    result = gsm("sync", "status", "--json")
    assert result.exit_code == 0, result.stderr
    info = result.json()
    assert info["queued"] == 0 and info["rejected"] == [] and info["conflicts"] == []
    assert info["last_push_at"] is None and info["cursor"] == 0


def test_status_counts_queued_retrying_and_rejected(gsm: GsmRunner, gsm_home: Path) -> None:
    _create_servers(gsm, "a1", "a2", "a3")
    _reject(gsm_home)
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        conn.execute("UPDATE pending_sync_operations SET retry_count = 2 WHERE id = 3")
    info = gsm("sync", "status", "--json").json()
    assert info["queued"] == 2 and info["retrying"] == 1
    [rejected] = info["rejected"]
    assert rejected["name"] == "a1" and rejected["reason"].startswith("invalid payload")
    table = gsm("sync", "status")
    assert table.exit_code == 0 and "invalid payload" in table.stdout


def test_retry_queues_a_new_operation_from_the_local_row(gsm: GsmRunner, gsm_home: Path) -> None:
    _create_servers(gsm, "b1", "b2")
    _reject(gsm_home)
    old_id = _queue(gsm_home)[0][0]
    result = gsm("sync", "retry", old_id[:8], "--json")
    assert result.exit_code == 0, result.stderr
    [done] = result.json()
    queue = _queue(gsm_home)
    assert [row[1] for row in queue] == ["queued", "queued"]
    assert old_id not in [row[0] for row in queue]
    assert done["new_operation_id"] == queue[-1][0]


def test_retry_all_and_argument_rules(gsm: GsmRunner, gsm_home: Path) -> None:
    _create_servers(gsm, "c1")
    _reject(gsm_home)
    assert gsm("sync", "retry").exit_code == 4
    assert gsm("sync", "retry", "nope").exit_code == 3
    assert gsm("sync", "retry", "--all").exit_code == 0
    assert [row[1] for row in _queue(gsm_home)] == ["queued"]


def test_an_operation_id_prefix_of_digits_is_not_taken_for_a_row_number(
    gsm: GsmRunner, gsm_home: Path
) -> None:
    """A uuid can start with eight digits (about 2% of them): `retry 61370657` must find that
    operation; digits that match one operation's row number and another's id prefix are
    refused as ambiguous rather than acting on either."""
    _create_servers(gsm, "e1", "e2")
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        first, second = [r[0] for r in conn.execute("SELECT id FROM pending_sync_operations")]
        for row, op_id in (
            (first, "61370657-0000-4000-8000-000000000001"),
            (second, f"{first}2345678-0000-4000-8000-000000000002"),
        ):
            conn.execute(
                "UPDATE pending_sync_operations SET state = 'rejected', operation_id = ? "
                "WHERE id = ?",
                (op_id, row),
            )
    ambiguous = gsm("sync", "retry", str(first), "--json")
    assert ambiguous.exit_code == 3 and "more than one" in ambiguous.error()["message"]
    assert [row[1] for row in _queue(gsm_home)] == ["rejected", "rejected"]
    assert gsm("sync", "retry", "61370657", "--json").exit_code == 0
    assert gsm("sync", "retry", str(first), "--json").exit_code == 0  # now only the prefix
    assert [row[1] for row in _queue(gsm_home)] == ["queued", "queued"]


def test_drop_needs_yes_off_a_terminal(gsm: GsmRunner, gsm_home: Path) -> None:
    _create_servers(gsm, "d1", "d2")
    _reject(gsm_home)
    refused = gsm("sync", "drop", "--all-rejected")
    assert refused.exit_code != 0 and "--yes" in refused.stderr
    assert len(_queue(gsm_home)) == 2
    assert gsm("sync", "drop", "--all-rejected", "--yes").exit_code == 0
    assert [row[1] for row in _queue(gsm_home)] == ["queued"]
    # Only kept-aside operations can be dropped.
    queued_id = _queue(gsm_home)[0][0]
    assert gsm("sync", "drop", queued_id, "--yes").exit_code == 3


def test_resolve_keep_local_and_keep_cloud(gsm: GsmRunner, gsm_home: Path) -> None:
    _create_servers(gsm, "e1", "e2")
    store = Store.open(gsm_home / "gsm.db")
    try:
        with store.write() as session:
            ids = {op.entity_id for op in session.query(PendingSyncOperation)}
            for entity_id in ids:
                session.add(
                    SyncConflict(
                        entity_type="game_server",
                        entity_id=entity_id,
                        cloud_operation="upsert",
                        cloud_data=None,
                        reason="local changes not pushed yet",
                    )
                )
        by_name = {c["name"]: c for c in sync.status(store)["conflicts"]}
        assert set(by_name) == {"e1", "e2"}
        e2_id = by_name["e2"]["entity_id"]
        with store.write() as session:
            conflict = session.query(SyncConflict).filter_by(entity_id=e2_id).one()
            conflict.cloud_data = {
                "id": e2_id,
                "name": "e2",
                "game_type": "valheim",
                "status": "running",
                "configuration": {"port": 25555, "install_path": "/srv/e2", "x": 1},
                "max_players": 7,
                "last_backup": None,
                "created_at": "2026-01-02T03:04:05Z",
            }
    finally:
        store.close()

    before = len(_queue(gsm_home))
    assert gsm("sync", "resolve", "e1", "--keep", "local").exit_code == 0
    assert len(_queue(gsm_home)) == before + 1  # an update of e1, queued through the outbox

    result = gsm("sync", "resolve", "e2", "--keep", "cloud", "--json")
    assert result.exit_code == 0, result.stderr
    assert all(row[4] != e2_id for row in _queue(gsm_home))
    shown = gsm("server", "show", "e2", "--json").json()
    # The cloud's plain fields are taken; the folder and the status stay this machine's.
    assert shown["port"] == 25555 and shown["install_path"] == str(gsm_home / "servers" / "e2")
    assert shown["max_players"] == 7 and shown["status"] == "stopped"
    assert shown["cloud_sync_status"] == "synced"
    assert gsm("sync", "status", "--json").json()["conflicts"] == []
    assert gsm("sync", "resolve", "e2", "--keep", "cloud").exit_code == 3


def test_push_dry_run_sends_nothing(gsm: GsmRunner, gsm_home: Path) -> None:
    _create_servers(gsm, "f1", "f2", "f3")
    result = gsm("sync", "push", "--dry-run", "--batch-size", "2", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["would_send"] == 3 and result.json()["batches"] == 2
    assert len(_queue(gsm_home)) == 3


def test_logged_out_push_and_pull_exit_6(gsm: GsmRunner, gsm_home: Path) -> None:
    _create_servers(gsm, "g1")
    for command in (("sync", "push"), ("sync", "pull")):
        result = gsm(*command)
        assert result.exit_code == 6, result.stderr
        assert "gsm auth login" in result.stderr
    assert _queue(gsm_home)[0][2] == 0


def test_unreachable_cloud_exits_7_and_keeps_the_queue(gsm: GsmRunner, gsm_home: Path) -> None:
    _create_servers(gsm, "h1", "h2", "h3")
    before = _queue(gsm_home)
    env = {"GSM_API_URL": f"http://127.0.0.1:{free_port()}", "GSM_TOKEN": "t"}
    result = gsm("sync", "push", "--batch-size", "2", env=env)
    assert result.exit_code == 7, result.stderr
    assert "3 operation(s) are still queued" in result.stderr
    after = _queue(gsm_home)
    assert [row[0] for row in after] == [row[0] for row in before]
    assert all(row[1] == "queued" and row[2] == 1 for row in after)
    assert gsm("sync", "status", "--json").json()["retrying"] == 3
    assert gsm("sync", "pull", env=env).exit_code == 7


def _sync_status(gsm: GsmRunner, name: str) -> str:
    return gsm("server", "show", name, "--json").json()["cloud_sync_status"]


def _set_sync_status(home: Path, name: str, value: str) -> None:
    with sqlite3.connect(home / "gsm.db") as conn:
        conn.execute("UPDATE local_servers SET cloud_sync_status = ? WHERE name = ?", (value, name))
    conn.close()


def test_cloud_sync_status_is_pending_whenever_a_change_is_queued(
    gsm: GsmRunner, gsm_home: Path
) -> None:
    from gsm_cli.services import lifecycle

    _create_servers(gsm, "p1")
    assert _sync_status(gsm, "p1") == "pending"
    _set_sync_status(gsm_home, "p1", "synced")  # as a push leaves it
    assert gsm("server", "update", "p1", "--max-players", "12").exit_code == 0
    assert _sync_status(gsm, "p1") == "pending"

    # A runtime status change is queued like any other change.
    _set_sync_status(gsm_home, "p1", "synced")
    server_id = gsm("server", "show", "p1", "--json").json()["id"]
    with Store.open(gsm_home / "gsm.db") as store:
        lifecycle.record(store, server_id, status="crashed", event="crash")
    assert _sync_status(gsm, "p1") == "pending"

    # What waits for the user is not hidden by a later change.
    for held in ("conflict", "rejected"):
        _set_sync_status(gsm_home, "p1", held)
        assert gsm("server", "update", "p1", "--max-players", "13").exit_code == 0
        assert _sync_status(gsm, "p1") == held


def test_resolving_retrying_and_dropping_settle_the_sync_status(
    gsm: GsmRunner, gsm_home: Path
) -> None:
    _create_servers(gsm, "q1")
    server_id = gsm("server", "show", "q1", "--json").json()["id"]
    with Store.open(gsm_home / "gsm.db") as store, store.write() as session:
        session.query(PendingSyncOperation).delete()
        session.add(
            SyncConflict(
                entity_type="game_server",
                entity_id=server_id,
                cloud_operation="upsert",
                cloud_data=None,
                reason="the cloud changed the command of q1",
            )
        )
    _set_sync_status(gsm_home, "q1", "conflict")
    assert gsm("sync", "resolve", "q1", "--keep", "local").exit_code == 0
    assert _sync_status(gsm, "q1") == "pending"  # its update is queued

    _reject(gsm_home, "conflict: the server belongs to device rig-b (x) now")
    _set_sync_status(gsm_home, "q1", "conflict")
    assert gsm("sync", "retry", "--all").exit_code == 0
    assert _sync_status(gsm, "q1") == "pending"

    _reject(gsm_home)
    _set_sync_status(gsm_home, "q1", "rejected")
    assert gsm("sync", "drop", "--all-rejected", "--yes").exit_code == 0
    assert _sync_status(gsm, "q1") == "synced"  # nothing of it is left to send
