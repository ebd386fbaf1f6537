"""Issue 14's "done when", end to end with real parts and real time: a nightly-style chain
(warn the players, wait, back up to restic, restart) fired by the cron of a running
`gsm service run` (a one-minute cron, not an injected clock), one alert at a real HTTP receiver
when the game crashes, and the server running again after a simulated reboot (the service's
boot round)."""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import GsmRunner, fake_game_command, free_port, gsm_executable, wait_for
from tests.receiver import Receiver, end_senders, receiving

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals used"),
]

PASSWORD = "unattended-e2e-7f3"


@pytest.fixture
def receiver(gsm_home: Path) -> Iterator[Receiver]:
    with receiving() as running:
        yield running
    end_senders(gsm_home)


@pytest.fixture
def service(gsm_home: Path) -> Iterator[Any]:
    """`gsm service run` as the installed unit runs it, in a child process; ended by SIGTERM."""
    started: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [str(gsm_executable()), "service", "run", "--interval", "2"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _show(gsm: GsmRunner) -> dict[str, Any]:
    return gsm("server", "status", "mc", "--json").json()


def _kill_everything_of(home: Path) -> None:
    """A power cut: the game and its supervisor die at once (SIGKILL), nothing is recorded."""
    for state_file in (home / "run").glob("*.json"):
        if state_file.name == "service.json":
            continue
        pid = json.loads(state_file.read_text())["pid"]
        proc = psutil.Process(pid)
        for each in [*proc.children(recursive=True), proc]:
            each.kill()


def test_a_nightly_chain_an_alert_and_a_reboot(
    gsm: GsmRunner,
    gsm_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    receiver: Receiver,
    service: Any,
) -> None:
    monkeypatch.setenv("RESTIC_PASSWORD", PASSWORD)
    repository = tmp_path / "restic-repo"
    for key, value in (("backup.backend", "restic"), ("backup.repository", str(repository))):
        assert gsm("config", "set", key, value).exit_code == 0
    made = gsm(
        "server", "create", "mc", "--game", "minecraft", "--port", str(free_port()),
        "--command", fake_game_command("--query", "minecraft", "--players", "1"), "--autostart",
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    (gsm_home / "servers" / "mc").mkdir(parents=True, exist_ok=True)
    (gsm_home / "servers" / "mc" / "world.dat").write_bytes(b"the world\n" * 1000)
    added = gsm("alert", "add", "discord", "--url", receiver.url(), "--on", "crash,crash-loop")
    assert added.exit_code == 0, added.stderr
    assert gsm("server", "start", "mc").exit_code == 0
    first_pid = _show(gsm)["process_id"]
    chain = gsm(
        "schedule", "add", "nightly", "--server", "mc", "--cron", "* * * * *",
        "--task", "countdown 11s", "--task", "wait 1s", "--task", "backup", "--task", "restart",
    )  # fmt: skip
    assert chain.exit_code == 0, chain.stderr

    # Nobody runs gsm now: the service fires the chain at the next minute.
    running = service()

    def chain_done() -> list[dict[str, Any]]:
        return [
            h
            for h in gsm("schedule", "history", "nightly", "--json").json()
            if h["status"] != "processing"
        ]

    (run,) = wait_for(chain_done, timeout=150, interval=1)
    assert (run["trigger"], run["status"]) == ("cron", "succeeded"), run
    log = gsm("server", "logs", "mc", "-n", "500").stdout
    assert "[Server] Server restart in 11 seconds" in log
    assert "[Server] Server restart in 10 seconds" in log
    (backup,) = gsm("server", "backups", "mc", "--json").json()
    assert backup["backend"] == "restic" and backup["snapshot_id"]
    snapshots = subprocess.run(
        ["restic", "-r", str(repository), "snapshots", "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert [s["id"] for s in json.loads(snapshots.stdout)] == [backup["snapshot_id"]]
    restarted = _show(gsm)
    assert restarted["status"] == "running" and restarted["process_id"] != first_pid
    assert PASSWORD not in log + json.dumps(backup)

    # The game crashes: its supervisor restarts it, and one alert names the server.
    os.kill(restarted["process_id"], signal.SIGKILL)
    wait_for(
        lambda: (
            (s := _show(gsm))["status"] == "running" and s["process_id"] != restarted["process_id"]
        ),
        timeout=30,
    )
    wait_for(lambda: len(receiver.received()) == 1, timeout=30)
    (alert,) = receiver.received()
    assert "mc" in alert["title"] and "crash" in alert["title"].lower(), alert

    # A reboot: the service, the game and its supervisor all gone at once...
    running.send_signal(signal.SIGTERM)
    assert running.wait(30) == 0, running.stderr.read() if running.stderr else ""
    _kill_everything_of(gsm_home)
    # ...then the machine starts and runs the service's boot round.
    boot = subprocess.run(
        [str(gsm_executable()), "service", "run", "--boot", "--once", "--json"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert boot.returncode == 0, boot.stderr
    back = wait_for(lambda: (s := _show(gsm))["status"] == "running" and s, timeout=30)
    assert psutil.pid_exists(back["process_id"])
    # The game found dead at boot is a crash in the same rate-limit window: no second alert.
    assert len(receiver.received()) == 1
