"""One truth about each server: list, status, start, stop, send and monitor agree on it, read
from the processes themselves; a supervisor killed for real (SIGKILL) while its game runs is
seen by every command. Real processes: the supervisor and the fake game server."""

import os
import re
import signal
import sqlite3
import sys
from pathlib import Path

import psutil
import pytest

from gsm_cli.paths import resolve_paths
from gsm_cli.services import lifecycle
from gsm_cli.store import Store
from tests.conftest import GsmRunner, wait_for
from tests.e2e.test_server_lifecycle import gone, logs, make_server, status

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals used")


def store_counts(home: Path) -> tuple[int, int, str]:
    """Rows that a reconcile writes: queued sync operations, events, and the status."""
    with sqlite3.connect(home / "gsm.db") as conn:
        ops = conn.execute("SELECT count(*) FROM pending_sync_operations").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM server_events").fetchone()[0]
        (state,) = conn.execute("SELECT status FROM local_servers").fetchone()
    conn.close()
    return ops, events, state


def kill_supervisor(gsm: GsmRunner) -> dict:
    info = status(gsm)
    os.kill(info["supervisor_pid"], signal.SIGKILL)
    wait_for(lambda: gone(info["supervisor_pid"]))
    return info


def games_on(port: int) -> list[int]:
    """Fake game processes serving this port (there must never be two)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmd = proc.info["cmdline"] or []
        if proc.info["status"] == psutil.STATUS_ZOMBIE or "fake_game_server.py" not in " ".join(
            cmd
        ):
            continue
        if "--port" in cmd and cmd[cmd.index("--port") + 1] == str(port):
            found.append(proc.pid)
    return found


def test_list_reconciles_like_status_and_writes_only_changes(
    gsm: GsmRunner, gsm_home: Path
) -> None:
    make_server(gsm)
    info = gsm("server", "start", "alpha", "--json").json()
    sup = status(gsm)["supervisor_pid"]
    os.kill(sup, signal.SIGKILL)
    os.kill(info["process_id"], signal.SIGKILL)
    wait_for(lambda: gone(sup) and gone(info["process_id"]))

    rows = gsm("server", "list", "--json").json()
    assert (rows[0]["status"], rows[0]["process_id"]) == ("crashed", None)
    assert gsm("server", "list", "--status", "running", "--json").json() == []
    after_first = store_counts(gsm_home)
    assert after_first[2] == "crashed"
    # Nothing changed since: a second list (and status) writes nothing.
    assert gsm("server", "list", "--json").json()[0]["status"] == "crashed"
    assert status(gsm)["status"] == "crashed"
    assert store_counts(gsm_home) == after_first
    # Asked to stop, a crashed server stays down: stopped, so monitor does not restart it.
    stopped = gsm("server", "stop", "alpha", "--json")
    assert (stopped.exit_code, stopped.error()["code"]) == (5, "not_running")
    assert status(gsm)["status"] == "stopped"
    assert gsm("server", "monitor", "--once", "--json").json()[0]["action"] == "ok"


def test_a_read_only_store_is_reconciled_in_memory_only(gsm: GsmRunner, gsm_home: Path) -> None:
    make_server(gsm)
    with sqlite3.connect(gsm_home / "gsm.db") as conn:  # recorded running; nothing runs
        conn.execute("UPDATE local_servers SET status = 'running', process_id = 999999")
    conn.close()
    before = store_counts(gsm_home)
    opened = Store.open(gsm_home / "gsm.db")
    store = Store(opened.path, opened.engine, read_only=True)
    try:
        paths = resolve_paths({"GSM_HOME": str(gsm_home)})
        seen = lifecycle.observe_all(store, paths)
        assert [(s.status, s.process_id) for s in seen] == [("crashed", None)]
        assert lifecycle.status(store, paths, "alpha")["status"] == "crashed"
    finally:
        opened.close()
    assert store_counts(gsm_home) == before  # told the truth, recorded nothing


def test_a_killed_supervisor_is_seen_by_every_command(gsm: GsmRunner) -> None:
    port = make_server(gsm)
    info = gsm("server", "start", "alpha", "--json").json()
    game = info["process_id"]
    kill_supervisor(gsm)
    assert psutil.Process(game).is_running()

    # status: running, but unsupervised, and says what to do.
    seen = status(gsm)
    assert (seen["status"], seen["process_id"], seen["supervised"]) == ("running", game, False)
    assert seen["supervisor_pid"] is None
    assert "gsm server start alpha" in seen["message"]
    table = gsm("server", "status", "alpha").stdout
    assert "running (unsupervised)" in table
    assert "running (unsupervised)" in gsm("server", "list").stdout
    assert gsm("server", "list", "--json").json()[0]["process_id"] == game

    # send: refused, saying why and what to do.
    sent = gsm("server", "send", "alpha", "say hi", "--json")
    assert sent.exit_code == 5
    assert sent.error()["code"] == "console_lost"
    assert "supervisor died" in sent.error()["message"]
    assert "gsm server restart alpha" in sent.error()["hint"]

    # monitor: attaches a supervisor; never a second copy of the game.
    row = gsm("server", "monitor", "--once", "--json").json()[0]
    assert (row["action"], row["status"]) == ("supervisor attached", "running")
    assert games_on(port) == [game]
    again = status(gsm)
    assert (again["process_id"], again["supervised"], again["console"]) == (game, True, False)
    assert "running (no console)" in gsm("server", "status", "alpha").stdout
    assert gsm("server", "send", "alpha", "say hi", "--json").error()["code"] == "console_lost"
    assert gsm("server", "monitor", "--once", "--json").json()[0]["action"] == "ok"
    assert gsm("server", "start", "alpha").exit_code == 5  # already running

    # stop: no console for "stop", so terminate; the game is gone and so is its supervisor.
    stopped = gsm("server", "stop", "alpha", "--timeout", "5", "--json")
    assert stopped.exit_code == 0, stopped.stderr
    assert stopped.json()["how"] == "terminate"
    assert gone(game)
    assert status(gsm)["status"] == "stopped"
    assert "no console to write stop to" in logs(gsm)


def test_start_attaches_a_supervisor_that_watches_and_restarts_the_game(gsm: GsmRunner) -> None:
    port = make_server(gsm)
    game = gsm("server", "start", "alpha", "--json").json()["process_id"]
    kill_supervisor(gsm)

    started = gsm("server", "start", "alpha", "--json")
    assert started.exit_code == 0, started.stderr
    assert (started.json()["action"], started.json()["process_id"]) == (
        "supervisor attached",
        game,
    )
    assert "its console is lost" in started.stderr
    assert games_on(port) == [game]
    assert status(gsm)["events"][0]["event"] == "attach"

    # The new supervisor sees the game die, records the crash and restarts it, with a console.
    os.kill(game, signal.SIGKILL)
    restarted = wait_for(
        lambda: (
            (s := status(gsm))["status"] == "running" and s["process_id"] not in (None, game) and s
        ),
        timeout=20,
    )
    assert restarted["console"] is True and restarted["crashes"] == 1
    assert restarted["last_exit_code"] is None  # not its child: the exit code is unknown
    assert "crashed with exit code unknown" in logs(gsm)
    assert gsm("server", "send", "alpha", "say back").exit_code == 0
    wait_for(lambda: "[Server] back" in logs(gsm))
    assert gsm("server", "stop", "alpha").exit_code == 0


def test_status_shows_human_units_cpu_and_recent_events(gsm: GsmRunner) -> None:
    make_server(gsm)
    assert gsm("server", "start", "alpha").exit_code == 0
    raw = status(gsm)
    assert isinstance(raw["uptime_seconds"], int) and raw["memory_bytes"] > 1024 * 1024
    assert isinstance(raw["cpu_percent"], float)
    assert [e["event"] for e in raw["events"]][:1] == ["start"]

    table = gsm("server", "status", "alpha").stdout
    assert re.search(r"uptime_seconds\s+\d+s\n", table), table
    assert re.search(r"memory_bytes\s+\d+ MiB\n", table), table
    assert re.search(r"cpu_percent\s+[\d.]+%\n", table), table
    assert re.search(r"crashes\s+0 in 10m\n", table), table
    assert re.search(r"WHEN\s+EVENT\s+EXIT\s+DETAIL", table), table  # the events, too
    assert re.search(r"\sstart\s+-\s+.*fake_game_server\.py", table), table

    every = gsm("server", "status", "--all").stdout
    assert re.search(r"alpha\s+running\s+\d+\s+\d+s\s+\d+ MiB\s+[\d.]+%", every), every
    assert gsm("server", "stop", "alpha").exit_code == 0


def test_the_crash_count_counts_every_crash_in_the_restart_window(
    gsm: GsmRunner, gsm_home: Path
) -> None:
    make_server(gsm)
    server_id = gsm("server", "show", "alpha", "--json").json()["id"]
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        for code in range(12):  # twelve crashes, with other events between them
            conn.execute(
                "INSERT INTO server_events (server_id, event, exit_code) VALUES (?, 'crash', ?)",
                (server_id, code),
            )
            conn.execute(
                "INSERT INTO server_events (server_id, event) VALUES (?, 'restart')", (server_id,)
            )
        conn.execute(  # and one long before the window (600 s)
            "INSERT INTO server_events (server_id, event, exit_code, occurred_at) "
            "VALUES (?, 'crash', 99, datetime('now', '-2 hours'))",
            (server_id,),
        )
    conn.close()
    info = status(gsm)
    assert info["crashes"] == 12
    assert info["crash_window_seconds"] == 600
    assert info["last_exit_code"] == 99  # the last one recorded
    assert len(info["events"]) == 10

    gsm("server", "update", "alpha", "--max-restarts", "3")  # the window stays the policy's
    assert status(gsm)["crashes"] == 12
