"""The set-based paths of `server status --all`, `stop --all`, `restart --all` and `monitor
--once` (one read of all records, the run folder listed once, crashes found recorded in one
transaction, events and crash summaries read for all servers at once) tell and write what the
one-server paths do. A mix of servers: a real running fake game, one recorded running whose game
is long dead, a stopped one and a crashed one."""

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from gsm_cli.services import lifecycle
from tests.conftest import GsmRunner
from tests.e2e.test_server_lifecycle import make_server

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals used")

# A server found down queues its status update and a down summary for sync (lifecycle.record).
DOWN_OPS = 2
USAGE = ("uptime_seconds", "cpu_percent", "memory_bytes")  # measured anew by each status


def sql(home: Path, statement: str, *params: object) -> list[tuple]:
    with sqlite3.connect(home / "gsm.db") as conn:
        rows = conn.execute(statement, params).fetchall()
    conn.close()
    return rows


def writes(home: Path) -> tuple[int, int]:
    """Rows a reconcile writes: queued sync operations and events."""
    ((ops,),) = sql(home, "SELECT count(*) FROM pending_sync_operations")
    ((events,),) = sql(home, "SELECT count(*) FROM server_events")
    return ops, events


@pytest.fixture
def mixed(gsm: GsmRunner, gsm_home: Path) -> Iterator[dict[str, int]]:
    """alpha runs (a real fake game); bravo is recorded running, its game long dead, restarts
    off; charlie is stopped; delta crashed (exit code 3), restarts off. Returns alpha's pid."""
    make_server(gsm, "alpha")
    for name in ("bravo", "charlie", "delta"):
        make_server(gsm, name, *(("--no-restart",) if name != "charlie" else ()))
    started = gsm("server", "start", "alpha", "--json")
    assert started.exit_code == 0, started.stderr
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    stamp = psutil.Process(dead.pid).create_time()
    dead.wait()
    sql(
        gsm_home,
        "UPDATE local_servers SET status = 'running', process_id = ?, process_create_time = ?"
        " WHERE name = 'bravo'",
        dead.pid,
        stamp,
    )
    sql(gsm_home, "UPDATE local_servers SET status = 'crashed' WHERE name = 'delta'")
    sql(
        gsm_home,
        "INSERT INTO server_events (server_id, event, exit_code, detail)"
        " SELECT id, 'crash', 3, 'exited with code 3' FROM local_servers WHERE name = 'delta'",
    )
    yield {"alpha": started.json()["process_id"]}
    gsm("server", "stop", "--all", "--force")


def events_of(home: Path, name: str) -> list[tuple]:
    return sql(
        home,
        "SELECT e.event, e.exit_code, e.detail FROM server_events e"
        " JOIN local_servers s ON s.id = e.server_id WHERE s.name = ? ORDER BY e.id",
        name,
    )


def test_status_all_finds_and_records_the_dead_once_and_agrees_with_each_status(
    gsm: GsmRunner, gsm_home: Path, mixed: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle, "IDS_PER_QUERY", 2)  # several chunks over four servers
    ops, events = writes(gsm_home)
    result = gsm("server", "status", "--all", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {row["name"]: row for row in result.json()}
    assert {name: row["status"] for name, row in rows.items()} == {
        "alpha": "running",
        "bravo": "crashed",
        "charlie": "stopped",
        "delta": "crashed",
    }
    assert rows["alpha"]["process_id"] == mixed["alpha"] and rows["alpha"]["supervised"]
    # The dead one: what `status bravo` writes (status, down summary, one crash event).
    assert writes(gsm_home) == (ops + DOWN_OPS, events + 1)
    assert events_of(gsm_home, "bravo")[-1] == ("crash", None, lifecycle.FOUND_DEAD)
    assert (rows["delta"]["crashes"], rows["delta"]["last_exit_code"]) == (1, 3)
    assert (rows["bravo"]["crashes"], rows["bravo"]["last_exit_code"]) == (1, None)
    assert rows["charlie"]["crashes"] == 0 and rows["charlie"]["last_crash_at"] is None
    assert [e["event"] for e in rows["bravo"]["events"]] == ["crash"]
    assert rows["alpha"]["events"][0]["event"] == "start"

    # Each one's own status (the one-server path) says the same, and nothing more is written.
    for name, row in rows.items():
        single = gsm("server", "status", name, "--json").json()
        assert {k: v for k, v in single.items() if k not in USAGE} == {
            k: v for k, v in row.items() if k not in USAGE
        }
    assert writes(gsm_home) == (ops + DOWN_OPS, events + 1)


def test_stop_and_restart_all_act_only_on_what_is_up_and_write_nothing_else(
    gsm: GsmRunner, gsm_home: Path, mixed: dict[str, int]
) -> None:
    events = writes(gsm_home)[1]
    restarted = gsm("server", "restart", "--all", "--json")
    assert restarted.exit_code == 0, restarted.stderr
    actions = {row["name"]: row["action"] for row in restarted.json()}
    assert actions == {
        "alpha": "restarted",
        "bravo": "not running",
        "charlie": "not running",
        "delta": "not running",
    }
    assert [e[0] for e in events_of(gsm_home, "bravo")] == []  # not found dead by restart
    stopped = gsm("server", "stop", "--all", "--json")
    assert stopped.exit_code == 0, stopped.stderr
    how = {row["name"]: row["how"] for row in stopped.json()}
    assert how["alpha"] != "not running"
    assert {name: how[name] for name in ("bravo", "charlie", "delta")} == dict.fromkeys(
        ("bravo", "charlie", "delta"), "not running"
    )
    assert sql(gsm_home, "SELECT status FROM local_servers WHERE name = 'bravo'") == [("running",)]
    assert not psutil.pid_exists(mixed["alpha"]) or (
        psutil.Process(mixed["alpha"]).status() == psutil.STATUS_ZOMBIE
    )
    # Only alpha's own writes (stop, start, stop): the others were left as they were.
    assert [e for e in events_of(gsm_home, "charlie")] == []
    assert writes(gsm_home)[1] > events


def test_monitor_once_records_the_dead_and_leaves_the_rest(
    gsm: GsmRunner, gsm_home: Path, mixed: dict[str, int]
) -> None:
    ops, events = writes(gsm_home)
    result = gsm("server", "monitor", "--once", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {r["name"]: (r["status_before"], r["status"], r["action"]) for r in result.json()}
    assert rows == {
        "alpha": ("running", "running", "ok"),
        "bravo": ("running", "crashed", "down (restart policy off)"),
        "charlie": ("stopped", "stopped", "ok"),
        "delta": ("crashed", "crashed", "down (restart policy off)"),
    }
    assert writes(gsm_home) == (ops + DOWN_OPS, events + 1)
    assert events_of(gsm_home, "bravo") == [("crash", None, lifecycle.FOUND_DEAD)]
    assert psutil.Process(mixed["alpha"]).status() != psutil.STATUS_ZOMBIE
