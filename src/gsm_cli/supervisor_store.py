"""The supervisor's own store access: the standard library's sqlite3, no SQLAlchemy.

A supervisor lives as long as its game, one per running server, so what it imports is memory
held for hours (docs/performance.md, "Supervisor"). It needs a handful of statements: read its
server row and a few settings, and write what ``services/lifecycle.record`` and
``services/sampling.record`` write through the ORM, with the same transactions (``BEGIN
IMMEDIATE``, the same busy timeout) and the same rows, byte for byte:

- a status change: the server row (``cloud_sync_status`` set to ``pending`` unless held as
  ``conflict`` or ``rejected``), its outbox operation (the synced columns as compact sorted
  JSON, as ``models.JSONText`` writes them), and for a game that went down the server's summary
  replaced by a "down" one (``services/cloud_summary.py``);
- a lifecycle event (``server_events``), in the same transaction as the status;
- a sample (``performance_history``) and the server's summary replacing the one that waits.

tests/cli/test_supervisor_store.py drives this and the ORM over the same scenarios and compares
the rows. Retention (``metrics.apply_retention``) runs rarely (once an hour) and is long:
``run_retention`` runs the existing one in a child process (``python -m
gsm_cli.supervisor_store retention STORE``), so its SQL lives in one place.
"""

import json
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gsm_cli.errors import GsmError, StoreError
from gsm_cli.services import cloud_summary, processes, server_config, settings
from gsm_cli.store.files import BUSY_TIMEOUT_SECONDS  # the store's, without SQLAlchemy
from gsm_cli.timeutil import iso_utc

# store/outbox.py's PENDING, HELD and SUMMARY (a test checks they agree).
PENDING = "pending"
HELD = ("conflict", "rejected")
SUMMARY = "server_summary"
SERVER_ENTITY = "game_server"  # LocalServer.__sync_entity__
# The columns of local_servers in models.LocalServer's order, and those a sync payload leaves
# out (LocalServer.__sync_local__); a test checks both against the model.
SERVER_COLUMNS = (
    "id",
    "name",
    "game_type",
    "status",
    "configuration",
    "process_id",
    "port",
    "install_path",
    "last_backup",
    "created_at",
    "cloud_sync_status",
    "process_create_time",
    "device_id",
    "device_name",
    "community_id",
    "autostart",
)
LOCAL_COLUMNS = frozenset({"process_id", "process_create_time", "cloud_sync_status", "autostart"})
RETENTION_TIMEOUT_SECONDS = 120.0  # lock wait and work budget are 2 s each: a generous bound


@dataclass(frozen=True)
class ServerRow:
    """A ``local_servers`` row with the attributes of ``models.LocalServer`` (configuration
    parsed), for the services that read a server (processes, freeze, server_config)."""

    id: str
    name: str
    game_type: str
    status: str
    configuration: Any
    process_id: int | None
    port: int | None
    install_path: str | None
    last_backup: str | None
    created_at: str | None
    cloud_sync_status: str | None
    process_create_time: float | None
    device_id: str | None
    device_name: str | None
    community_id: str | None
    autostart: bool

    def payload(self) -> dict[str, Any]:
        """The row as a sync operation carries it (``outbox.entity_payload``)."""
        return {name: getattr(self, name) for name in SERVER_COLUMNS if name not in LOCAL_COLUMNS}


@dataclass(frozen=True)
class StoredSetting:
    value: str | None
    updated_at: str | None


def dump_json(value: Any) -> str | None:
    """A JSON column's text, as ``models.JSONText`` writes it."""
    return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)


class SupervisorStore:
    """An existing, migrated store, one connection per thread of the supervisor (as the ORM's
    pool gave each its own): a sampling thread waiting on a busy store holds up no other."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._connection()  # fails now, not at the first write, when the store is unusable

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # mode=rw: never create a store (gsm made and migrated it before starting us).
            conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=rw",
                uri=True,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,  # we issue BEGIN ourselves, as store/database.py does
            )
            # The same set-up as store/database.py's _set_up.
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection; other threads' close when those threads end."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def __enter__(self) -> "SupervisorStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, mode: str) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        conn.execute(f"BEGIN {mode}")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` (store/database.py says why)."""
        with self._transaction("IMMEDIATE") as conn:
            yield conn

    # -- reads ------------------------------------------------------------------------------

    def server(self, server_id: str) -> ServerRow | None:
        with self._transaction("DEFERRED") as conn:
            return _server(conn, server_id)

    def effective_value(self, key: str, env: Mapping[str, str]) -> str | None:
        """``settings.effective_value``: the environment's override, the stored value or the
        default."""
        with self._transaction("DEFERRED") as conn:
            row = conn.execute(
                "SELECT value, updated_at FROM user_settings WHERE key = ?", (key,)
            ).fetchone()
        stored = None if row is None else StoredSetting(row[0], row[1])
        return settings.resolve(key, stored, env).value  # type: ignore[arg-type]

    # -- writes -----------------------------------------------------------------------------

    def record(
        self,
        server_id: str,
        *,
        status: str | None = None,
        pid: int | None = None,
        started: float | None = None,
        event: str | None = None,
        exit_code: int | None = None,
        detail: str | None = None,
    ) -> None:
        """``lifecycle.record``: a status change (queued for sync) and/or a lifecycle event,
        in one transaction with the event's alerts queued (``alerts.queue_event``; a sender
        is started for them after the commit); nothing for a server that is gone."""
        queued = 0
        with self.write() as conn:
            server = _server(conn, server_id)
            if server is None:
                return
            if status is not None:
                sync_status = server.cloud_sync_status
                if sync_status not in HELD:
                    sync_status = PENDING
                conn.execute(
                    "UPDATE local_servers SET status = ?, process_id = ?, "
                    "process_create_time = ?, cloud_sync_status = ? WHERE id = ?",
                    (status, pid, started, sync_status, server_id),
                )
                server = _server(conn, server_id)  # read back, as the ORM refreshes it
                assert server is not None
                _enqueue(conn, "update", SERVER_ENTITY, server_id, server.payload())
                if status in cloud_summary.DOWN_STATUSES:
                    _queue_summary(conn, server, cloud_summary.down_summary())
            if event is not None:
                conn.execute(
                    "INSERT INTO server_events (server_id, event, exit_code, detail) "
                    "VALUES (?, ?, ?, ?)",
                    (server_id, event, exit_code, detail),
                )
                from gsm_cli.services import alerts  # here: read commands never need it

                queued = alerts.queue_event(
                    conn, server_id, event, status=status, exit_code=exit_code, detail=detail
                )
        if queued:
            alerts.spawn_sender(self.path)

    def record_sample(self, server_id: str, sample: Any) -> str | None:
        """``sampling.record``: one ``performance_history`` row and the server's summary in
        its place in the queue, in one transaction; the row's ``recorded_at`` in ISO 8601."""
        with self.write() as conn:
            cursor = conn.execute(
                "INSERT INTO performance_history "
                "(server_id, cpu_usage, memory_usage, network_latency, player_count) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    server_id,
                    sample.cpu_usage,
                    sample.memory_usage,
                    sample.network_latency,
                    sample.player_count,
                ),
            )
            (recorded_at,) = conn.execute(
                "SELECT recorded_at FROM performance_history WHERE id = ?", (cursor.lastrowid,)
            ).fetchone()
            server = _server(conn, server_id)
            started_at = processes.started_at(server.process_create_time if server else None)
            if server is not None:
                _queue_summary(conn, server, cloud_summary.summary_of_sample(sample, started_at))
        return iso_utc(recorded_at)


def _server(conn: sqlite3.Connection, server_id: str) -> ServerRow | None:
    found = read_servers(conn, "WHERE id = ?", (server_id,))
    return found[0] if found else None


def read_servers(
    conn: sqlite3.Connection, where: str = "", params: tuple[Any, ...] = ()
) -> list[ServerRow]:
    """``local_servers`` rows (``SELECT ... FROM local_servers WHERE``), as ``ServerRow``; the
    fast path (gsm_cli.fastpath) reads them here too."""
    rows = []
    for row in conn.execute(
        f"SELECT {', '.join(SERVER_COLUMNS)} FROM local_servers {where}", params
    ):
        values = dict(zip(SERVER_COLUMNS, row, strict=True))
        if values["configuration"] is not None:  # models.JSONText
            values["configuration"] = json.loads(values["configuration"])
        values["autostart"] = bool(values["autostart"])
        rows.append(ServerRow(**values))
    return rows


def _device_id(conn: sqlite3.Connection) -> str:
    """``device.device_id``: this store's device id."""
    row = conn.execute("SELECT device_id FROM local_device WHERE id = 1").fetchone()
    if row is None:
        raise StoreError("the store has no device id (table local_device is empty)")
    return str(row[0])


def _enqueue(
    conn: sqlite3.Connection,
    operation_type: str,
    entity_type: str,
    entity_id: str,
    payload: dict[str, Any] | None,
) -> None:
    """``outbox.enqueue``: one operation with a fresh client-side UUID."""
    conn.execute(
        "INSERT INTO pending_sync_operations "
        "(operation_type, entity_type, entity_id, data_payload, operation_id) "
        "VALUES (?, ?, ?, ?, ?)",
        (operation_type, entity_type, entity_id, dump_json(payload), str(uuid.uuid4())),
    )


def _queue_summary(conn: sqlite3.Connection, server: ServerRow, summary: dict[str, Any]) -> None:
    """``cloud_summary.queue_summary``: none for another device's server; none waits for a
    held one; otherwise this one replaces the one that waits."""
    if server_config.is_remote(server, _device_id(conn)):  # type: ignore[arg-type]
        return
    conn.execute(
        "DELETE FROM pending_sync_operations WHERE entity_type = ? AND entity_id = ?",
        (SUMMARY, server.id),
    )
    if server.cloud_sync_status in HELD:
        return
    _enqueue(conn, "update", SUMMARY, server.id, summary | {"device_id": server.device_id})


# -- retention, in a child process ---------------------------------------------------------


def run_retention(store_file: Path) -> dict[str, Any] | None:
    """``metrics.apply_retention`` of the store, in a child process (it loads SQLAlchemy; the
    supervisor does not): its ``RetentionResult.to_dict()``, or None when it did nothing.
    Raises GsmError with the child's last error line when it failed."""
    done = subprocess.run(
        [sys.executable, "-m", "gsm_cli.supervisor_store", "retention", str(store_file)],
        capture_output=True,
        text=True,
        timeout=RETENTION_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise GsmError(lines[-1] if lines else f"exit code {done.returncode}")
    result: dict[str, Any] | None = json.loads(done.stdout)
    return result


def _retention_main(store_file: str) -> int:
    from gsm_cli.environment import Environment
    from gsm_cli.services import metrics
    from gsm_cli.store import Store

    try:
        with Store.open(Path(store_file), upgrade=False) as store:
            done = metrics.apply_retention(store, Environment().vars)
    except GsmError as err:
        print(err.message, file=sys.stderr)
        return int(err.exit_code)
    print(json.dumps(None if done is None else done.to_dict()))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "retention":
        print("usage: python -m gsm_cli.supervisor_store retention STORE_FILE", file=sys.stderr)
        sys.exit(2)
    sys.exit(_retention_main(sys.argv[2]))
