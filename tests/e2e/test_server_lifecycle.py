"""A server's life as an operator lives it: start, outlive gsm, console, logs, crash and
restart, graceful and forced stops, monitor. Real processes throughout: the supervisor and a
fake game server (tests/fixtures/fake_game_server.py)."""

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.conftest import GsmRunner, fake_game_command, free_port, wait_for

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals used")


def gone(pid: int) -> bool:
    """Exited (a zombie child of this test process counts: it no longer runs)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# The fake game's ready line: with it, a start is over as soon as the game prints it, instead
# of after the settle time (3 s by default), which keeps these tests fast.
READY = r"Done \(ready"


def make_server(gsm: GsmRunner, name: str = "alpha", *extra: str, game_args: tuple = ()) -> int:
    port = free_port()
    result = gsm(
        "server", "create", name, "--game", "custom", "--port", str(port),
        "--command", fake_game_command(*game_args), "--stop-command", "stop",
        "--ready-pattern", READY, *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return port


def status(gsm: GsmRunner, name: str = "alpha") -> dict:
    result = gsm("server", "status", name, "--json")
    assert result.exit_code == 0, result.stderr
    return result.json()


def logs(gsm: GsmRunner, name: str = "alpha", lines: int = 200) -> str:
    return gsm("server", "logs", name, "-n", str(lines)).stdout


def test_started_server_outlives_gsm_and_takes_console_lines(gsm: GsmRunner, gsm_process) -> None:
    port = make_server(gsm)
    started = gsm_process("server", "start", "alpha", "--json")
    assert started.returncode == 0, started.stderr
    pid = __import__("json").loads(started.stdout)["process_id"]
    # The gsm process has exited; the game lives on and serves its port.
    assert psutil.pid_exists(pid)
    wait_for(lambda: "Done (ready for connections)" in logs(gsm))
    with __import__("socket").create_connection(("127.0.0.1", port), timeout=5):
        pass

    sent = gsm("server", "send", "alpha", "say hello there", "--json")
    assert sent.exit_code == 0, sent.stderr
    wait_for(lambda: "[Server] hello there" in logs(gsm))
    waited = gsm("server", "send", "alpha", "save", "--wait-for", "Saved the game", "--json")
    assert waited.json()["matched"] is True

    again = gsm("server", "start", "alpha")
    assert again.exit_code == 5 and "already running" in again.stderr

    stopped = gsm("server", "stop", "alpha", "--json")
    assert stopped.exit_code == 0, stopped.stderr
    assert stopped.json() == {"name": "alpha", "how": "console", "exit_code": 0}
    assert gone(pid)
    assert status(gsm)["status"] == "stopped"
    assert "Stopping the server" in logs(gsm)

    twice = gsm("server", "stop", "alpha", "--json")
    assert twice.exit_code == 5
    assert twice.error()["code"] == "not_running"


def test_a_killed_game_is_restarted_and_the_crash_recorded(gsm: GsmRunner) -> None:
    make_server(gsm)
    first = gsm("server", "start", "alpha", "--json").json()["process_id"]
    os.kill(first, signal.SIGKILL)

    def restarted() -> dict | None:
        info = status(gsm)
        new_pid = info["process_id"]
        return info if info["status"] == "running" and new_pid and new_pid != first else None

    info = wait_for(restarted, timeout=20)
    assert info["crashes"] == 1
    assert info["last_exit_code"] == -signal.SIGKILL
    assert [e["event"] for e in info["events"]][:3] == ["start", "restart", "crash"]
    assert "crashed with exit code -9" in logs(gsm)
    assert gsm("server", "stop", "alpha").exit_code == 0


def test_restarts_stop_after_the_limit(gsm: GsmRunner) -> None:
    # It comes up (prints its ready line), then dies after a moment, every time.
    game = ("--exit-after", "0.3", "--exit-code", "7")
    make_server(gsm, "alpha", "--max-restarts", "1", game_args=game)
    assert gsm("server", "start", "alpha").exit_code == 0
    info = wait_for(lambda: (s := status(gsm))["status"] == "failed" and s, timeout=30)
    assert info["last_exit_code"] == 7
    assert info["crashes"] == 2
    assert info["process_id"] is None
    assert "gave up" in logs(gsm)


def test_a_game_that_ignores_stop_is_terminated_then_killed(gsm: GsmRunner) -> None:
    make_server(gsm, game_args=("--ignore-stop",))
    gsm("server", "start", "alpha")
    result = gsm("server", "stop", "alpha", "--timeout", "0.5", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["how"] == "kill"
    text = logs(gsm)
    assert "ignoring stop" in text and "ignoring SIGTERM" in text
    assert status(gsm)["status"] == "stopped"


def test_force_kills_at_once(gsm: GsmRunner) -> None:
    make_server(gsm)
    gsm("server", "start", "alpha")
    result = gsm("server", "stop", "alpha", "--force", "--json")
    assert result.json()["how"] == "kill"
    assert "asked to stop" not in logs(gsm)


def test_a_reused_pid_is_not_taken_for_a_running_server(gsm: GsmRunner, gsm_home: Path) -> None:
    make_server(gsm)
    # Recorded as running with a pid that now belongs to another process (this one).
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        conn.execute(
            "UPDATE local_servers SET status = 'running', process_id = ?, "
            "process_create_time = 12345.0",
            (os.getpid(),),
        )
    conn.close()
    info = status(gsm)
    assert info["status"] == "crashed"
    assert info["process_id"] is None
    stop = gsm("server", "stop", "alpha")
    assert stop.exit_code == 5
    assert psutil.pid_exists(os.getpid())  # and nothing was done to the innocent process


def test_a_missing_program_fails_start_with_exit_3(gsm: GsmRunner) -> None:
    gsm("server", "create", "ghost", "--game", "custom", "--command", "/no/such/program --x")
    result = gsm("server", "start", "ghost", "--json")
    assert result.exit_code == 3
    assert result.error()["code"] == "executable_missing"


def test_send_to_a_stopped_server_is_refused(gsm: GsmRunner) -> None:
    make_server(gsm)
    assert gsm("server", "send", "alpha", "say x").exit_code == 5


def test_monitor_restarts_a_server_whose_supervisor_died(gsm: GsmRunner) -> None:
    make_server(gsm)
    info = gsm("server", "start", "alpha", "--json").json()
    state = status(gsm)
    os.kill(state["supervisor_pid"], signal.SIGKILL)
    os.kill(info["process_id"], signal.SIGKILL)
    wait_for(lambda: gone(state["supervisor_pid"]) and gone(info["process_id"]))
    result = gsm("server", "monitor", "--once", "--json")
    assert result.exit_code == 0, result.stderr
    row = result.json()[0]
    assert (row["status_before"], row["action"], row["status"]) == (
        "running",
        "restarted",
        "running",
    )
    assert status(gsm)["process_id"] not in (None, info["process_id"])
    assert gsm("server", "monitor", "--once", "--json").json()[0]["action"] == "ok"


def test_start_and_stop_all(gsm: GsmRunner) -> None:
    make_server(gsm, "one")
    make_server(gsm, "two")
    started = gsm("server", "start", "--all", "--json")
    assert started.exit_code == 0, started.stderr
    assert sorted(r["name"] for r in started.json()) == ["one", "two"]
    assert all(r["status"] == "running" for r in gsm("server", "status", "--all", "--json").json())
    stopped = gsm("server", "stop", "--all", "--json")
    assert [r["how"] for r in stopped.json()] == ["console", "console"]
    assert gsm("server", "start").exit_code == 4  # neither NAME nor --all


def test_logs_rotate_by_size_and_tail(gsm: GsmRunner, gsm_home: Path) -> None:
    gsm("config", "set", "server.log_max_bytes", "20000")
    make_server(gsm)
    server_id = gsm("server", "show", "alpha", "--json").json()["id"]
    gsm("server", "start", "alpha")
    gsm("server", "send", "alpha", "spam 600")
    wait_for(lambda: "filler line 000599" in logs(gsm, lines=5))
    folder = gsm_home / "logs" / "servers" / server_id
    assert (folder / "console.log.1").exists()
    assert all(p.stat().st_size <= 20000 for p in folder.glob("console.log*"))
    assert len(logs(gsm, lines=5).splitlines()) == 5


def test_logs_follow_prints_new_lines(gsm: GsmRunner) -> None:
    import threading

    make_server(gsm)
    gsm("server", "start", "alpha")
    exe = Path(sys.executable).parent / "gsm"
    follower = subprocess.Popen(
        [str(exe), "server", "logs", "alpha", "-f", "-n", "1000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    seen: list[str] = []
    threading.Thread(target=lambda: seen.extend(follower.stdout), daemon=True).start()
    try:
        wait_for(lambda: any("Done (ready" in line for line in seen))
        assert gsm("server", "send", "alpha", "say followed").exit_code == 0
        wait_for(lambda: any("[Server] followed" in line for line in seen))
        assert follower.poll() is None  # still following
    finally:
        follower.terminate()
        follower.wait(timeout=10)


def test_a_catalog_game_starts_with_its_folder_and_environment(gsm: GsmRunner) -> None:
    # Valheim from the catalog, with a stand-in for its real program: a script that reports
    # the folder it runs in and the variables the catalog gives it, then waits on its console.
    created = gsm(
        "server", "create", "vh", "--game", "valheim", "--port", str(free_port()), "--json"
    )
    folder = Path(created.json()["install_path"])
    program = folder / "valheim_server.x86_64"
    program.write_text(
        "#!/bin/sh\n"
        'echo "cwd=$(pwd) app=$SteamAppId lib=$LD_LIBRARY_PATH args=$*"\n'
        'echo "02/20/2024 22:06:58: Game server connected"\n'  # the catalog's ready line
        'while read line; do echo "got $line"; done\n'
    )
    program.chmod(0o755)
    assert gsm("server", "start", "vh").exit_code == 0
    text = wait_for(lambda: "cwd=" in (t := logs(gsm, "vh")) and t)
    assert f"cwd={folder} app=892970 lib=./linux64" in text
    assert "-name vh -port" in text
    assert gsm("server", "stop", "vh", "--timeout", "2", "--json").json()["how"] in (
        "signal", "terminate",
    )  # fmt: skip


def test_a_program_that_cannot_run_marks_the_server_failed(gsm: GsmRunner) -> None:
    created = gsm(
        "server", "create", "vh", "--game", "valheim", "--port", str(free_port()), "--json"
    )
    program = Path(created.json()["install_path"]) / "valheim_server.x86_64"
    program.write_text("not a program\n")  # present but not executable
    result = gsm("server", "start", "vh", "--json")
    assert result.exit_code == 1
    assert "cannot run" in result.error()["message"]
    assert status(gsm, "vh")["status"] == "failed"


def test_bad_console_input_is_invalid_input(gsm: GsmRunner) -> None:
    make_server(gsm)
    gsm("server", "start", "alpha")
    assert gsm("server", "send", "alpha", "two\nlines").exit_code == 4
    bad_regex = gsm("server", "send", "alpha", "save", "--wait-for", "(", "--json")
    assert bad_regex.exit_code == 4
    assert "regular expression" in bad_regex.error()["message"]


def test_restart_all_restarts_only_running_servers(gsm: GsmRunner) -> None:
    make_server(gsm, "up")
    make_server(gsm, "down")
    gsm("server", "start", "up")
    result = gsm("server", "restart", "--all", "--json")
    assert result.exit_code == 0, result.stderr
    actions = {row["name"]: row["action"] for row in result.json()}
    assert actions == {"up": "restarted", "down": "not running"}
    assert status(gsm, "down")["status"] == "stopped"
    # Each row is the server as `gsm server list` gives it (its community's name too), plus
    # what was done to it.
    listed = {row["name"]: row for row in gsm("server", "list", "--json").json()}
    for row in result.json():
        assert set(row) == set(listed[row["name"]]) | {"action"}
    started = gsm("server", "start", "down", "--json").json()
    assert set(started) == set(listed["down"]) | {"action"}
