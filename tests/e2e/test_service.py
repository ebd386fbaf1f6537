"""The gsm service for real: the installed gsm in child processes, real supervisors and fake
game servers. A reboot is simulated by what the machine's start runs (`gsm service run
--boot`), over records that say "running" for games that are gone."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.conftest import GsmRunner, gsm_executable, wait_for
from tests.e2e.test_server_lifecycle import make_server, status

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals used")


def run_file(home: Path) -> dict:
    try:
        return json.loads((home / "run" / "service.json").read_text())
    except (OSError, ValueError):
        return {}


def _duty(outcomes: list[dict], name: str) -> dict:
    """One duty's outcome in a round's JSON (every duty of the round is there)."""
    (found,) = [outcome for outcome in outcomes if outcome["name"] == name]
    return found


def test_boot_starts_the_autostart_servers_and_no_other(
    gsm: GsmRunner, gsm_process, gsm_home: Path
) -> None:
    make_server(gsm, "alpha", "--autostart")
    make_server(gsm, "beta")
    assert gsm("server", "update", "beta", "--autostart").exit_code == 0
    make_server(gsm, "gamma")  # not marked: stays down
    make_server(gsm, "delta", "--autostart")  # then another device's: never started here
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        conn.execute("UPDATE local_servers SET device_id = 'other' WHERE name = 'delta'")

    done = gsm_process("service", "run", "--boot", "--once", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    autostart = _duty(json.loads(done.stdout), "autostart")
    assert autostart["name"] == "autostart" and autostart["ok"]
    assert {(r["name"], r["action"]) for r in autostart["report"]} == {
        ("alpha", "started"),
        ("beta", "started"),
    }
    assert status(gsm, "alpha")["status"] == "running"
    assert status(gsm, "beta")["status"] == "running"
    assert status(gsm, "gamma")["status"] == "stopped"

    # The machine goes down: games and supervisors vanish, the records still say running.
    alpha = status(gsm, "alpha")
    for pid in (alpha["supervisor_pid"], alpha["process_id"]):
        psutil.Process(pid).kill()
    wait_for(lambda: not any(psutil.pid_exists(p) for p in (alpha["supervisor_pid"],)))
    wait_for(lambda: status(gsm, "alpha")["supervisor_pid"] is None)

    again = gsm_process("service", "run", "--boot", "--once", "--json", timeout=120)
    assert again.returncode == 0, again.stderr
    report = {
        r["name"]: r["action"] for r in _duty(json.loads(again.stdout), "autostart")["report"]
    }
    assert report == {"alpha": "started", "beta": "already running"}
    assert status(gsm, "alpha")["status"] == "running"
    assert status(gsm, "gamma")["status"] == "stopped"

    # Without --boot, a later run of this boot starts nothing: a server stopped on purpose
    # stays stopped.
    assert gsm("server", "stop", "beta").exit_code == 0
    later = gsm_process("service", "run", "--once", "--json", timeout=120)
    assert later.returncode == 0, later.stderr
    assert "autostart" not in [outcome["name"] for outcome in json.loads(later.stdout)]
    assert status(gsm, "beta")["status"] == "stopped"
    log = (gsm_home / "logs" / "service.log").read_text()
    assert "autostart: alpha started" in log and "autostart: beta started" in log
    for name in ("alpha", "beta", "gamma"):
        gsm("server", "stop", name)


def test_one_failing_server_does_not_stop_the_others(gsm: GsmRunner, gsm_process) -> None:
    make_server(gsm, "alpha", "--autostart", game_args=("--exit-at-start", "7"))
    make_server(gsm, "beta", "--autostart")
    done = gsm_process("service", "run", "--boot", "--once", "--json", timeout=120)
    assert done.returncode == 1
    error = json.loads(done.stderr.strip().splitlines()[-1])["error"]
    assert error["code"] == "duty_failed" and "alpha" in error["message"]
    autostart = _duty(json.loads(done.stdout), "autostart")
    assert not autostart["ok"]
    actions = {r["name"]: r["action"] for r in autostart["report"]}
    assert actions == {"alpha": "failed", "beta": "started"}
    assert status(gsm, "beta")["status"] == "running"
    assert gsm("server", "stop", "beta").exit_code == 0


def test_the_lock_refuses_a_second_service_and_sigterm_ends_it(
    gsm: GsmRunner, gsm_process, gsm_home: Path
) -> None:
    service = subprocess.Popen(
        [str(gsm_executable()), "service", "run", "--interval", "0.2"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: run_file(gsm_home).get("rounds", 0) >= 2, timeout=60)
        info = gsm("service", "status", "--json").json()
        assert info["running"] is True and info["pid"] == service.pid
        assert info["last_tick"] and info["duties"]["autostart"]["ok"] is True
        assert 0 <= info["last_tick_age_seconds"] < 30 and info["notes"] == [
            "not installed: gsm service install"
        ]

        second = gsm_process("service", "run", "--once", "--json")
        assert second.returncode == 5
        error = json.loads(second.stderr.strip().splitlines()[-1])["error"]
        assert error["code"] == "service_running"
        assert f"pid {service.pid}" in error["message"]

        service.send_signal(signal.SIGTERM)
        _out, err = service.communicate(timeout=30)
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
    assert service.returncode == 0, err
    assert "the gsm service stopped" in err
    state = run_file(gsm_home)
    assert state["stopped_at"] is not None
    assert "received SIGTERM" in (gsm_home / "logs" / "service.log").read_text()
    after = gsm("service", "status", "--json").json()
    assert after["running"] is False and after["pid"] is None
    assert os.path.exists(gsm_home / "run" / "service.lock")  # the file stays; the lock went
