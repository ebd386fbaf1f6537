"""The supervisor's sqlite3 store (gsm_cli/supervisor_store.py) writes what the ORM writes:
the same scenarios driven through both (services/lifecycle.record, services/sampling.record,
metrics.apply_retention) on two copies of one real store leave the same rows, byte for byte,
apart from what is made fresh per write (operation UUIDs, the store's now, the summary's
recorded_at)."""

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gsm_cli.services import lifecycle, metrics, processes, sampling, server_config, settings
from gsm_cli.services.sampling import Sample
from gsm_cli.store import Store, outbox
from gsm_cli.store.database import BUSY_TIMEOUT_SECONDS
from gsm_cli.store.models import LocalServer
from gsm_cli.supervisor_store import (
    BUSY_TIMEOUT_SECONDS as SMALL_BUSY_TIMEOUT,
)
from gsm_cli.supervisor_store import (
    HELD,
    LOCAL_COLUMNS,
    PENDING,
    SERVER_COLUMNS,
    SERVER_ENTITY,
    SUMMARY,
    SupervisorStore,
    run_retention,
)
from tests.cli.test_sync_local import _create_servers, _set_sync_status
from tests.conftest import GsmRunner

STAMP = 1_764_770_000.0  # a game's process_create_time (processes.create_time's stamp)
TABLES = {
    "local_servers": "id",
    "pending_sync_operations": "id",
    "server_events": "id",
    "performance_history": "id",
    "user_settings": "key",
}
# Made fresh by each write: compared for presence, not value.
FRESH_COLUMNS = {"operation_id", "created_at", "occurred_at", "recorded_at", "updated_at"}
FRESH_SETTINGS = {metrics.RETENTION_MARK}


def _sample(players: int | None, cpu: float = 12.5) -> Sample:
    return Sample(
        cpu_usage=cpu,
        memory_usage=812.123456,
        network_latency=1.23456,
        player_count=players,
        max_players=10,
    )


def _rows(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables the supervisor writes, fresh values masked."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    dump: dict[str, list[dict[str, Any]]] = {}
    try:
        for table, order in TABLES.items():
            rows = []
            for raw in conn.execute(f"SELECT * FROM {table} ORDER BY {order}"):
                row = dict(raw)
                if table == "user_settings" and row["key"] in FRESH_SETTINGS:
                    row["value"] = row["value"] is not None
                if row.get("entity_type") == SUMMARY:
                    payload = json.loads(row["data_payload"])
                    assert payload.pop("recorded_at")
                    row["data_payload"] = payload  # the rest of it: compared as written below
                    row["payload_text_keys"] = sorted(payload)
                for column in FRESH_COLUMNS & row.keys():
                    row[column] = row[column] is not None
                rows.append(row)
            dump[table] = rows
    finally:
        conn.close()
    return dump


@pytest.fixture
def stores(gsm: GsmRunner, gsm_home: Path, tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """Two copies of one store with servers alpha, beta (held) and gamma (another device's),
    and their ids by name."""
    _create_servers(gsm, "alpha", "beta", "gamma")
    _set_sync_status(gsm_home, "beta", "conflict")
    source = sqlite3.connect(gsm_home / "gsm.db")
    source.execute("UPDATE local_servers SET device_id = 'another-device' WHERE name = 'gamma'")
    source.commit()
    ids = dict(source.execute("SELECT name, id FROM local_servers"))
    copies = (tmp_path / "orm.db", tmp_path / "small.db")
    for copy in copies:
        target = sqlite3.connect(copy)
        source.backup(target)
        target.execute("PRAGMA journal_mode = WAL").fetchone()
        target.close()
    source.close()
    return copies[0], copies[1], ids


def _scenario(
    record: Callable[..., None], sample: Callable[[str, Sample], str | None], ids: dict[str, str]
) -> None:
    alpha, beta, gamma = ids["alpha"], ids["beta"], ids["gamma"]
    record(alpha, status="starting", pid=4242, started=STAMP, event="start", detail="./game -x")
    record(alpha, status="running", pid=4242, started=STAMP)
    assert sample(alpha, _sample(3))
    assert sample(alpha, _sample(None, cpu=250.0))  # replaces the summary that waits
    record(alpha, event="freeze", detail="4 failed queries in a row")  # an event alone
    record(alpha, status="starting", event="crash", exit_code=-9, detail="restarting in 1s")
    record(alpha, event="restart", detail="after exit code -9")
    record(alpha, status="stopped", event="stop", exit_code=0, detail="console")  # down summary
    record(beta, status="running", pid=5151, started=STAMP)  # held: stays conflict
    sample(beta, _sample(1))
    record(beta, status="crashed", event="crash", exit_code=1, detail="restart policy off")
    record(gamma, status="running", pid=6161, started=STAMP)  # another device's: no summary
    sample(gamma, _sample(2))
    record(gamma, status="failed", event="start_failed", detail="the game exited")
    record("no-such-server", status="running", pid=1, started=STAMP, event="start")


def test_the_constants_agree_with_the_orm_and_the_store() -> None:
    assert SMALL_BUSY_TIMEOUT == BUSY_TIMEOUT_SECONDS
    assert (PENDING, HELD, SUMMARY) == (outbox.PENDING, outbox.HELD, outbox.SUMMARY)
    assert LocalServer.__sync_entity__ == SERVER_ENTITY
    assert tuple(column.key for column in LocalServer.__table__.columns) == SERVER_COLUMNS
    assert LocalServer.__sync_local__ == LOCAL_COLUMNS


def test_both_stores_leave_the_same_rows(
    stores: tuple[Path, Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    orm_file, small_file, ids = stores
    # The summary's uptime counts to now: one now for both runs.
    monkeypatch.setattr("gsm_cli.services.cloud_summary.time.time", lambda: STAMP + 5400.5)
    with Store.open(orm_file) as store:
        _scenario(
            lambda *a, **kw: lifecycle.record(store, *a, **kw),
            lambda server_id, s: sampling.record(store, server_id, s),
            ids,
        )
    with SupervisorStore(small_file) as small:
        _scenario(small.record, small.record_sample, ids)
    orm, mine = _rows(orm_file), _rows(small_file)
    assert mine == orm
    # What the scenario should have left, so that equal rows are not equally empty ones.
    ops = [(op["entity_type"], op["entity_id"]) for op in orm["pending_sync_operations"]]
    assert ops.count((SUMMARY, ids["alpha"])) == 1  # replaced, not added
    assert (SUMMARY, ids["beta"]) not in ops and (SUMMARY, ids["gamma"]) not in ops
    statuses = {row["id"]: row["cloud_sync_status"] for row in orm["local_servers"]}
    assert statuses[ids["beta"]] == "conflict" and statuses[ids["alpha"]] == "pending"
    [down] = [op for op in orm["pending_sync_operations"] if op["entity_type"] == SUMMARY]
    assert down["data_payload"]["player_count"] == 0
    assert len(orm["server_events"]) == 7 and len(orm["performance_history"]) == 4


def test_the_payload_text_is_the_orms_byte_for_byte(
    stores: tuple[Path, Path, dict[str, str]],
) -> None:
    orm_file, small_file, ids = stores
    with Store.open(orm_file) as store:
        lifecycle.record(store, ids["alpha"], status="running", pid=7, started=STAMP)
    with SupervisorStore(small_file) as small:
        small.record(ids["alpha"], status="running", pid=7, started=STAMP)
    query = "SELECT data_payload FROM pending_sync_operations ORDER BY id DESC LIMIT 1"
    texts = [sqlite3.connect(path).execute(query).fetchone()[0] for path in (orm_file, small_file)]
    assert texts[0] == texts[1]
    assert json.loads(texts[0])["status"] == "running"


def test_retention_in_a_child_process_removes_what_the_orm_removes(
    stores: tuple[Path, Path, dict[str, str]],
) -> None:
    orm_file, small_file, ids = stores
    for path in (orm_file, small_file):
        with sqlite3.connect(path) as conn:
            conn.executemany(  # 40 and 10 days old: the default 30 days takes the first
                "INSERT INTO performance_history (server_id, cpu_usage, recorded_at) "
                "VALUES (?, ?, datetime('now', ?))",
                [(ids["alpha"], 1.0, "-40 days"), (ids["alpha"], 2.0, "-10 days")],
            )
        conn.close()
    with Store.open(orm_file) as store:
        done = metrics.apply_retention(store, {})
    assert done is not None and done.deleted == 1
    result = run_retention(small_file)
    assert result is not None
    expected = done.to_dict()
    assert result.pop("older_than") and expected.pop("older_than")  # each run's own now
    assert result == expected
    assert run_retention(small_file) is None  # at most once an hour
    assert _rows(small_file) == _rows(orm_file)


def test_reads_see_the_row_and_settings_as_the_orm_does(
    stores: tuple[Path, Path, dict[str, str]], gsm: GsmRunner
) -> None:
    orm_file, small_file, ids = stores
    with sqlite3.connect(small_file) as conn:
        conn.execute("INSERT INTO user_settings (key, value) VALUES ('metrics.interval', '7')")
    conn.close()
    with sqlite3.connect(orm_file) as conn:
        conn.execute("INSERT INTO user_settings (key, value) VALUES ('metrics.interval', '7')")
    conn.close()
    with Store.open(orm_file) as store, SupervisorStore(small_file) as small:
        with store.read() as session:
            orm_server = session.get(LocalServer, ids["alpha"])
        row = small.server(ids["alpha"])
        assert row is not None and small.server("no-such-server") is None
        for column in SERVER_COLUMNS:
            assert getattr(row, column) == getattr(orm_server, column), column
        for read in (processes.start_check, processes.stop_plan, server_config.query_protocol):
            assert read(row) == read(orm_server)  # type: ignore[arg-type]
        assert server_config.query_port(row) == server_config.query_port(orm_server)  # type: ignore[arg-type]
        for env in ({}, {"GSM_OUTPUT": "json"}):
            for key in ("metrics.interval", "output.format", "server.log_max_bytes"):
                assert small.effective_value(key, env) == settings.effective_value(store, key, env)
