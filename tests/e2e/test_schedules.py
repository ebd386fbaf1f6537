"""Schedules against a running (fake) game server, end to end: a firing found by fire_due runs
its chain in a detached runner process (countdown lines in the game's console, a backup made,
a restart done); --when-empty waits for the players the game's query reports, for a schedule
and for `gsm server restart`."""

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gsm_cli.services import schedules
from gsm_cli.store import Store
from tests.conftest import GsmRunner, fake_game_command, free_port, gsm_executable, wait_for

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX paths and signals")


@pytest.fixture
def running(gsm: GsmRunner) -> str:
    """A Minecraft server (its say and save commands) whose game is the fake one, answering
    the Minecraft ping with 2 players online; started."""
    port = free_port()
    created = gsm(
        "server", "create", "mc", "--game", "minecraft", "--port", str(port),
        "--command", fake_game_command("--query", "minecraft", "--players", "2"),
    )  # fmt: skip
    assert created.exit_code == 0, created.stderr
    started = gsm("server", "start", "mc")
    assert started.exit_code == 0, started.stderr
    return "mc"


@pytest.fixture
def store(gsm_home: Path, running: str) -> Iterator[Store]:
    with Store.open(gsm_home / "gsm.db") as opened:
        yield opened


def pid_of(gsm: GsmRunner) -> int:
    return gsm("server", "show", "mc", "--json").json()["process_id"]


def console(gsm: GsmRunner) -> str:
    return gsm("server", "logs", "mc", "-n", "500").stdout


def finished(store: Store, run_id: int, timeout: float = 60) -> dict:
    return wait_for(
        lambda: (r := schedules.get_run(store, run_id))["status"] != "processing" and r,
        timeout=timeout,
    )


def test_a_firing_warns_backs_up_and_restarts(gsm: GsmRunner, store: Store) -> None:
    before = pid_of(gsm)
    added = gsm(
        "schedule", "add", "nightly", "--server", "mc", "--cron", "0 4 * * *",
        "--task", "countdown 11s", "--task", "backup", "--task", "restart", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    due = datetime.fromisoformat(added.json()["next_due_at"].replace("Z", "+00:00"))
    # The clock of the scheduler is injected (04:00 and 5 seconds); everything else is real.
    (firing,) = schedules.fire_due(store, due + timedelta(seconds=5))
    assert firing.status == "processing"
    run = finished(store, firing.run_id)
    assert run["status"] == "succeeded", run
    assert [t["status"] for t in run["tasks"]] == ["succeeded"] * 3
    log = console(gsm)
    assert "[Server] Server restart in 11 seconds" in log
    assert "[Server] Server restart in 10 seconds" in log
    assert "Saved the game" in log  # the save command before the backup
    backups = gsm("server", "backups", "mc", "--json").json()
    assert len(backups) == 1 and Path(backups[0]["path"]).is_file()
    after = gsm("server", "status", "mc", "--json").json()
    assert after["status"] == "running" and after["process_id"] not in (None, before)
    history = gsm("schedule", "history", "nightly", "--json").json()
    assert [(h["trigger"], h["status"]) for h in history] == [("cron", "succeeded")]


def test_when_empty_waits_for_the_players_to_leave(gsm: GsmRunner, store: Store) -> None:
    before = pid_of(gsm)
    gsm(
        "schedule", "add", "empty", "--server", "mc", "--cron", "0 4 * * *", "--task", "restart",
        "--when-empty", "--max-wait", "5m",
    )  # fmt: skip
    due = datetime.fromisoformat(
        gsm("schedule", "show", "empty", "--json").json()["next_due_at"].replace("Z", "+00:00")
    )
    (firing,) = schedules.fire_due(store, due + timedelta(seconds=5))
    wait_for(lambda: "once everyone has left" in console(gsm), timeout=30)
    assert schedules.get_run(store, firing.run_id)["status"] == "processing"
    assert pid_of(gsm) == before  # not restarted while players are on
    assert gsm("server", "send", "mc", "players 0").exit_code == 0
    run = finished(store, firing.run_id)
    assert run["status"] == "succeeded", run
    assert "when-empty: empty" in (run["message"] or "")
    assert pid_of(gsm) != before


def test_restart_when_empty_goes_on_after_max_wait_with_a_countdown(
    gsm: GsmRunner, running: str
) -> None:
    before = pid_of(gsm)
    result = gsm("server", "restart", "mc", "--when-empty", "--max-wait", "3s", "--json")
    assert result.exit_code == 0, result.stderr
    assert "still has players" in result.stderr, result.stderr
    assert result.json()["action"] == "restarted" and result.json()["process_id"] != before
    log = console(gsm)
    assert "[Server] Server restart once everyone has left, in 3 seconds at most" in log, (
        result.stderr,
        log,
    )
    assert "[Server] Server restart in 3 seconds" in log, (result.stderr, log)


def test_restart_when_empty_restarts_once_the_server_empties(
    gsm: GsmRunner, running: str, gsm_home: Path
) -> None:
    before = pid_of(gsm)
    restart = subprocess.Popen(
        [str(gsm_executable()), "server", "restart", "mc", "--when-empty", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: "once everyone has left" in console(gsm), timeout=30)
        assert restart.poll() is None and pid_of(gsm) == before
        assert gsm("server", "send", "mc", "players 0").exit_code == 0
        _out, err = restart.communicate(timeout=60)
    finally:
        if restart.poll() is None:
            restart.kill()
    assert restart.returncode == 0, err
    assert "mc is empty" in err
    assert pid_of(gsm) != before
