"""A server's performance summary in the outbox (services/cloud_summary.py): coalesced to one
per server in a real SQLite store, after the server's create, dropped with the server, never
making a server pending, shown and handled by gsm sync status/retry/drop, and safe against a
push that is answering for the summary it replaced."""

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from gsm_cli.services import cloud_summary, device, sync
from gsm_cli.services.sampling import Sample
from gsm_cli.store import Store, outbox
from gsm_cli.store.models import LocalServer, PendingSyncOperation
from tests.cli.test_sync_local import _create_servers, _set_sync_status, _sync_status
from tests.conftest import GsmRunner

STARTED = 1_764_770_000.0  # when the game process started (epoch seconds)


def _sample(players: int | None, cpu: float = 10.0, max_players: int | None = 10) -> Sample:
    return Sample(
        cpu_usage=cpu,
        memory_usage=512.123,
        network_latency=0.456,
        player_count=players,
        max_players=max_players,
    )


def _ids(gsm: GsmRunner, *names: str) -> list[str]:
    return [gsm("server", "show", name, "--json").json()["id"] for name in names]


def _queue(home: Path) -> list[tuple]:
    with sqlite3.connect(home / "gsm.db") as conn:
        return conn.execute(
            "SELECT id, operation_type, entity_type, entity_id, data_payload, state "
            "FROM pending_sync_operations ORDER BY id"
        ).fetchall()


def _summaries(home: Path) -> list[tuple]:
    """The summaries waiting, each with its payload read."""
    return [
        (*row[:4], json.loads(row[4]), row[5]) for row in _queue(home) if row[2] == outbox.SUMMARY
    ]


@pytest.fixture
def store(gsm_home: Path, gsm: GsmRunner):  # type: ignore[no-untyped-def]
    _create_servers(gsm, "alpha", "beta")
    with Store.open(gsm_home / "gsm.db") as opened:
        yield opened


def test_the_summary_of_a_sample() -> None:
    summary = cloud_summary.summary_of_sample(
        _sample(4, cpu=123.456), STARTED, now=STARTED + 5400.9
    )
    assert summary == {
        "recorded_at": "2025-12-03T15:23:20.900Z",
        "player_count": 4,
        "uptime_seconds": 5400,
        "performance_metrics": {
            "cpu_usage": 123.46,
            "memory_usage": 512.12,
            "network_latency": 0.46,
            "player_count": 4,
            "max_players": 10,
        },
    }
    unknown = cloud_summary.summary_of_sample(Sample(None, None, None, None), None, now=STARTED)
    assert unknown["uptime_seconds"] is None and unknown["player_count"] is None
    assert "max_players" not in unknown["performance_metrics"]
    # a start time a little after the sample (clock steps) is an uptime of 0, never negative
    assert (
        cloud_summary.summary_of_sample(_sample(0), STARTED + 3, now=STARTED)["uptime_seconds"] == 0
    )


def test_a_hundred_summaries_of_two_servers_leave_two_operations(
    store: Store, gsm: GsmRunner, gsm_home: Path
) -> None:
    alpha, beta = _ids(gsm, "alpha", "beta")
    creates = _queue(gsm_home)
    _set_sync_status(gsm_home, "alpha", "synced")
    for i in range(100):
        with store.write() as session:
            server = alpha if i % 2 == 0 else beta
            cloud_summary.queue_summary_of_sample(session, server, _sample(i), STARTED)
    queue = _queue(gsm_home)
    assert queue[: len(creates)] == creates  # the creates go first, untouched
    summaries = _summaries(gsm_home)
    assert [(row[1], row[3], row[5]) for row in summaries] == [
        ("update", alpha, "queued"),
        ("update", beta, "queued"),
    ]
    latest = {row[3]: row for row in summaries}
    assert latest[alpha][4]["player_count"] == 98 and latest[beta][4]["player_count"] == 99
    assert latest[beta][4]["performance_metrics"]["player_count"] == 99
    assert all(row[0] > creates[-1][0] for row in summaries)
    # a summary is not a change of the server: it stays synced
    assert _sync_status(gsm, "alpha") == "synced"
    info = gsm("sync", "status", "--json").json()
    assert info["queued"] == len(creates) + 2
    dry = gsm("sync", "push", "--dry-run", "--json").json()
    assert {"entity_type": "server_summary", "operation_type": "update", "count": 2} in dry[
        "by_kind"
    ]


def test_the_uptime_counts_from_the_process_start_the_store_knows(
    store: Store, gsm: GsmRunner, gsm_home: Path
) -> None:
    [alpha] = _ids(gsm, "alpha")
    with store.write() as session:
        session.get(LocalServer, alpha).process_create_time = time.time() - 3600
    with store.write() as session:
        cloud_summary.queue_summary_of_sample(session, alpha, _sample(1))
    [row] = _summaries(gsm_home)
    assert 3600 <= row[4]["uptime_seconds"] <= 3600 + 60


def test_nothing_is_queued_for_a_server_not_here_or_of_another_device(
    store: Store, gsm: GsmRunner, gsm_home: Path
) -> None:
    [alpha] = _ids(gsm, "alpha")
    with store.write() as session:
        session.get(LocalServer, alpha).device_id = "another-device"
    with store.write() as session:
        cloud_summary.queue_summary_of_sample(session, alpha, _sample(1), STARTED)
        cloud_summary.queue_summary_of_sample(session, "no-such-server", _sample(1), STARTED)
    assert _summaries(gsm_home) == []


def test_none_waits_for_a_server_held_for_the_user(
    store: Store, gsm: GsmRunner, gsm_home: Path
) -> None:
    [alpha] = _ids(gsm, "alpha")
    with store.write() as session:
        cloud_summary.queue_summary_of_sample(session, alpha, _sample(1), STARTED)
    for held in ("rejected", "conflict"):
        _set_sync_status(gsm_home, "alpha", held)
        with store.write() as session:
            cloud_summary.queue_summary_of_sample(session, alpha, _sample(2), STARTED)
        assert _summaries(gsm_home) == []
    _set_sync_status(gsm_home, "alpha", "pending")  # settled: summaries resume
    with store.write() as session:
        cloud_summary.queue_summary_of_sample(session, alpha, _sample(3), STARTED)
    [row] = _summaries(gsm_home)
    assert row[4]["player_count"] == 3


def test_deleting_the_server_drops_its_summary(
    store: Store, gsm: GsmRunner, gsm_home: Path
) -> None:
    alpha, beta = _ids(gsm, "alpha", "beta")
    with store.write() as session:
        for server in (alpha, beta):
            cloud_summary.queue_summary_of_sample(session, server, _sample(3), STARTED)
    assert gsm("server", "delete", "alpha", "--yes").exit_code == 0
    assert [row[3] for row in _summaries(gsm_home)] == [beta]
    assert _queue(gsm_home)[-1][1:4] == ("delete", "game_server", alpha)


def test_a_pulled_deletion_drops_its_summary(store: Store, gsm: GsmRunner, gsm_home: Path) -> None:
    alpha, beta = _ids(gsm, "alpha", "beta")
    with store.write() as session:
        session.query(PendingSyncOperation).delete()  # as a push leaves it
        for server in (alpha, beta):
            cloud_summary.queue_summary_of_sample(session, server, _sample(3), STARTED)
        change = {"entity_type": "game_server", "entity_id": alpha, "operation": "delete"}
        pending = sync._pending_entities(session)
        outcome = sync.apply_change(session, change, pending, device.device_id(session))
    assert outcome.kind == "deleted"
    assert [row[3] for row in _summaries(gsm_home)] == [beta]


def test_status_retry_and_drop_of_a_kept_aside_summary(
    store: Store, gsm: GsmRunner, gsm_home: Path
) -> None:
    [alpha] = _ids(gsm, "alpha")
    _set_sync_status(gsm_home, "alpha", "synced")
    with store.write() as session:
        session.query(PendingSyncOperation).delete()  # as a push leaves it
        cloud_summary.queue_summary_of_sample(session, alpha, _sample(3), STARTED)
        op = session.scalars(
            select(PendingSyncOperation).where(PendingSyncOperation.entity_type == outbox.SUMMARY)
        ).one()
        op.state, op.last_error = "rejected", f"server {alpha} is not in the cloud: push it first"
        old_id = op.operation_id
    [shown] = gsm("sync", "status", "--json").json()["rejected"]
    assert shown["name"] == "alpha" and shown["entity_type"] == "server_summary"
    table = gsm("sync", "status")
    assert "server_summary" in table.stdout and "alpha" in table.stdout

    # retry: the same summary again under a new id
    [done] = gsm("sync", "retry", old_id[:8], "--json").json()
    [row] = _summaries(gsm_home)
    assert row[5] == "queued" and row[4]["player_count"] == 3
    assert done["new_operation_id"] != old_id
    assert _sync_status(gsm, "alpha") == "synced"

    # retry while a newer summary waits: the newer one stands, the old one goes
    with store.write() as session:
        op = session.scalars(
            select(PendingSyncOperation).where(PendingSyncOperation.entity_type == outbox.SUMMARY)
        ).one()
        op.state, op.last_error = "rejected", "kept aside"
        old_id = op.operation_id
    with store.write() as session:  # a newer summary replaces the kept-aside one too
        cloud_summary.queue_summary_of_sample(session, alpha, _sample(8), STARTED)
    [row] = _summaries(gsm_home)
    assert row[5] == "queued" and row[4]["player_count"] == 8
    assert gsm("sync", "retry", old_id[:8]).exit_code == 3  # it is gone already

    # drop forgets a kept-aside summary
    with store.write() as session:
        op = session.scalars(
            select(PendingSyncOperation).where(PendingSyncOperation.entity_type == outbox.SUMMARY)
        ).one()
        op.state, op.last_error = "rejected", "kept aside"
        old_id = op.operation_id
    assert gsm("sync", "drop", old_id[:8], "--yes").exit_code == 0
    assert _summaries(gsm_home) == []
    assert _sync_status(gsm, "alpha") == "synced"


def test_a_queued_summary_does_not_hold_off_pulled_changes(
    store: Store, gsm: GsmRunner, gsm_home: Path
) -> None:
    [alpha] = _ids(gsm, "alpha")
    with store.write() as session:
        session.query(PendingSyncOperation).delete()
        cloud_summary.queue_summary_of_sample(session, alpha, _sample(3), STARTED)
        assert alpha not in sync._pending_entities(session)


@pytest.mark.parametrize("answer", ["applied", "rejected"])
def test_a_push_answering_for_a_replaced_summary_keeps_the_newer_one(
    store: Store, gsm: GsmRunner, gsm_home: Path, answer: str
) -> None:
    """The push's own steps (read a batch, answer for it) in one thread; a summary replaced in
    another thread, on its own store handle, while the batch is "in flight"."""
    [alpha] = _ids(gsm, "alpha")
    with store.write() as session:
        session.query(PendingSyncOperation).delete()
        cloud_summary.queue_summary_of_sample(session, alpha, _sample(1), STARTED)
    in_flight, replaced = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def pusher() -> None:
        try:
            with store.read() as session:
                rows = sync._next_batch(session, 0, 100)
            batch = [{"row_id": r.id, "wire": sync.wire_operation(r)} for r in rows]
            in_flight.set()
            assert replaced.wait(10)
            results = [{"id": b["wire"]["id"], "status": answer} for b in batch]
            summary = sync.PushSummary()
            with store.write() as session:
                sync._apply_answers(session, batch, results, summary)
            outcome["summary"] = summary
        except BaseException as exc:  # reported by the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=pusher)
    thread.start()
    assert in_flight.wait(10)
    with Store.open(gsm_home / "gsm.db") as other, other.write() as session:
        cloud_summary.queue_summary_of_sample(session, alpha, _sample(2), STARTED)
    replaced.set()
    thread.join(10)
    assert "error" not in outcome, outcome.get("error")
    summary = outcome["summary"]
    assert summary.rejected_reasons == []  # type: ignore[attr-defined]
    [row] = _summaries(gsm_home)
    assert row[5] == "queued" and row[4]["player_count"] == 2
