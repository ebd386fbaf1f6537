"""An honest `gsm server start`: it returns only once the game is up (its ready line, or its
settle time with the game alive), reports a game that dies on the way at once, and refuses a
port that another program holds. Real processes: the supervisor and the fake game server."""

import socket
import sys
import threading
import time

import pytest

from tests.conftest import GsmRunner, fake_game_command, free_port, wait_for
from tests.e2e.test_server_lifecycle import READY, logs, make_server, status

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals used")


def make_slow_server(gsm: GsmRunner, settle: float, *game_args: str) -> int:
    """A server with no ready line to wait for: only its settle time says it is up."""
    port = free_port()
    result = gsm(
        "server", "create", "alpha", "--game", "custom", "--port", str(port),
        "--command", fake_game_command(*game_args), "--stop-command", "stop",
        "--settle-seconds", str(settle),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return port


def event_names(gsm: GsmRunner) -> list[str]:
    return [e["event"] for e in status(gsm)["events"]]


def test_start_returns_only_after_the_settle_time(gsm: GsmRunner) -> None:
    make_slow_server(gsm, 1.5, "--no-ready")
    began = time.monotonic()
    result = gsm("server", "start", "alpha", "--json")
    took = time.monotonic() - began
    assert result.exit_code == 0, result.stderr
    assert took >= 1.5
    assert result.json()["status"] == "running"
    assert "running: the game stayed up for 1.5s" in logs(gsm)
    assert gsm("server", "stop", "alpha").exit_code == 0


def test_a_ready_line_ends_the_wait_before_the_settle_time(gsm: GsmRunner) -> None:
    make_server(gsm, "alpha", "--settle-seconds", "60")
    began = time.monotonic()
    result = gsm("server", "start", "alpha", "--json")
    assert result.exit_code == 0, result.stderr
    assert time.monotonic() - began < 30
    assert result.json()["status"] == "running"
    assert "running: the game printed its ready line" in logs(gsm)
    assert gsm("server", "stop", "alpha").exit_code == 0


def test_the_status_is_starting_until_the_game_is_up(gsm: GsmRunner, gsm_process) -> None:
    make_slow_server(gsm, 30, "--ready-after", "1.5")
    gsm("server", "update", "alpha", "--ready-pattern", READY)
    done: list = []
    threading.Thread(target=lambda: done.append(gsm_process("server", "start", "alpha"))).start()
    seen = wait_for(lambda: (s := status(gsm))["status"] == "starting" and s)
    assert seen["process_id"] is not None  # the game runs; it is just not up yet
    wait_for(lambda: done)
    assert done[0].returncode == 0, done[0].stderr
    assert status(gsm)["status"] == "running"
    assert gsm("server", "stop", "alpha").exit_code == 0


def test_a_game_that_exits_at_once_fails_at_once(gsm: GsmRunner) -> None:
    make_slow_server(gsm, 30, "--exit-at-start", "7")
    began = time.monotonic()
    result = gsm("server", "start", "alpha", "--timeout", "60", "--json")
    assert time.monotonic() - began < 20  # not the 30 s settle time, nor the 60 s timeout
    assert result.exit_code == 1
    error = result.error()
    assert error["code"] == "start_failed"
    assert "exited with code 7" in error["message"]
    assert "fatal: cannot start (exit 7)" in error["message"]  # its last console lines
    info = status(gsm)
    assert info["status"] == "failed"
    assert info["process_id"] is None and info["supervisor_pid"] is None
    assert info["events"][0]["event"] == "start_failed"
    assert info["events"][0]["exit_code"] == 7
    assert info["last_exit_code"] == 7
    # A start that never came up is not restarted, and is not a crash.
    assert "restart" not in event_names(gsm) and info["crashes"] == 0


def test_a_game_that_exits_during_the_settle_time_fails(gsm: GsmRunner) -> None:
    make_slow_server(gsm, 30, "--no-ready", "--exit-after", "0.5", "--exit-code", "4")
    began = time.monotonic()
    result = gsm("server", "start", "alpha", "--json")
    assert time.monotonic() - began < 20
    assert result.exit_code == 1
    error = result.error()
    assert error["code"] == "start_failed"
    assert "exited with code 4" in error["message"]
    assert "fatal: giving up (exit 4)" in error["message"]
    assert "Server fake started on port" in error["message"]
    assert status(gsm)["status"] == "failed"
    assert event_names(gsm)[:2] == ["start_failed", "start"]

    text = gsm("server", "start", "alpha")  # and in words, for a person
    assert text.exit_code == 1
    assert "error: server alpha failed to start: the game exited with code 4" in text.stderr
    assert "  fatal: giving up (exit 4)" in text.stderr


def test_a_start_that_is_not_up_in_time_is_stopped(gsm: GsmRunner) -> None:
    make_slow_server(gsm, 30, "--no-ready")
    result = gsm("server", "start", "alpha", "--timeout", "1", "--json")
    assert result.exit_code == 1
    assert result.error()["code"] == "start_timeout"
    assert "gsm stopped it" in result.error()["message"]
    info = status(gsm)
    assert info["status"] == "stopped"
    assert info["process_id"] is None and info["supervisor_pid"] is None


@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_a_port_another_program_holds_is_refused(gsm: GsmRunner, protocol: str) -> None:
    port = make_server(gsm)
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    holder = socket.socket(socket.AF_INET, kind)
    holder.bind(("127.0.0.1", port))
    if protocol == "tcp":
        holder.listen()
    with holder:
        result = gsm("server", "start", "alpha", "--json")
        assert result.exit_code == 5
        error = result.error()
        assert error["code"] == "port_in_use"
        assert f"game port {port} ({protocol})" in error["message"]
        assert status(gsm)["status"] == "stopped"
        assert not logs(gsm)  # nothing was launched
    assert gsm("server", "start", "alpha").exit_code == 0
    assert gsm("server", "stop", "alpha").exit_code == 0


def test_a_held_query_port_is_refused(gsm: GsmRunner) -> None:
    query = free_port()
    make_server(gsm, "alpha", "--query-port", str(query))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", query))
        result = gsm("server", "start", "alpha", "--json")
    assert result.exit_code == 5
    assert f"query port {query} (udp)" in result.error()["message"]


def test_a_restart_is_not_refused_for_the_games_own_port(gsm: GsmRunner) -> None:
    # The game listens on TCP and UDP; a client connection leaves TIME_WAIT behind when the
    # game closes it, which must not count as another program at the next start.
    port = make_server(gsm, game_args=("--udp",))
    assert gsm("server", "start", "alpha").exit_code == 0
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.recv(1)  # the game accepts and closes at once
    result = gsm("server", "restart", "alpha", "--json")
    assert result.exit_code == 0, result.stderr
    again = gsm("server", "restart", "alpha", "--json")
    assert again.exit_code == 0, again.stderr
    assert gsm("server", "stop", "alpha").exit_code == 0


def test_monitor_does_not_restart_a_server_that_failed_to_start(gsm: GsmRunner) -> None:
    make_slow_server(gsm, 30, "--exit-at-start", "2")
    assert gsm("server", "start", "alpha").exit_code == 1
    row = gsm("server", "monitor", "--once", "--json").json()[0]
    assert (row["status"], row["action"]) == ("failed", "down (failed; see gsm server status)")
    assert event_names(gsm).count("start") == 1  # the failed one; monitor started nothing
