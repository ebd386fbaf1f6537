"""Alerts as an operator meets them: a real server (the fake game under its supervisor) that
crashes, crash-loops or is stopped, and a real HTTP receiver on 127.0.0.1 behind Apprise's
json:// URL. The supervisor only queues; a detached sender delivers (docs/alerts.md)."""

import os
import signal
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.cli.test_alerts import _add, _queue, _settle
from tests.conftest import GsmRunner, free_port, wait_for
from tests.e2e.test_server_lifecycle import make_server, status
from tests.receiver import Receiver, end_senders, receiving

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals used")


@pytest.fixture
def receiver(gsm_home: Path) -> Iterator[Receiver]:
    with receiving() as running:
        yield running
    end_senders(gsm_home)


def _events(home: Path) -> list[str]:
    with sqlite3.connect(home / "gsm.db") as conn:
        rows = conn.execute("SELECT event FROM server_events ORDER BY id").fetchall()
    conn.close()
    return [event for (event,) in rows]


def _supervisor_pid(home: Path) -> int:
    import json

    [state] = (home / "run").glob("*.json")
    return int(json.loads(state.read_text())["pid"])


def test_a_crash_sends_one_alert_naming_the_server_with_its_console(
    gsm: GsmRunner, gsm_home: Path, receiver: Receiver
) -> None:
    make_server(gsm)
    _add(gsm, "ops", receiver.url(), "crash,crash-loop,start")
    first = gsm("server", "start", "alpha", "--json").json()["process_id"]
    wait_for(lambda: receiver.titles() == ["gsm: alpha started"])
    os.kill(first, signal.SIGKILL)

    def restarted() -> dict[str, Any] | None:
        info = status(gsm)
        return info if info["status"] == "running" and info["process_id"] != first else None

    wait_for(restarted, timeout=20)
    wait_for(lambda: len(receiver.received()) == 2, timeout=20)
    crash = receiver.received()[1]
    assert crash["title"] == "gsm: alpha crashed"
    body = crash["message"]
    assert "Server: alpha (custom)" in body and f"exit code {-signal.SIGKILL}" in body
    assert "Last console lines:" in body and "Done (ready for connections)" in body
    assert "UTC" in body and "Z)" in body
    # The restart's launch is not another "started".
    assert gsm("server", "stop", "alpha").exit_code == 0
    assert [(r["event"], r["status"]) for r in _settle(gsm_home)] == [
        ("start", "sent"),
        ("crash", "sent"),
    ]
    assert len(receiver.received()) == 2


def test_a_crash_loop_sends_one_alert_and_one_summary(
    gsm: GsmRunner, gsm_home: Path, receiver: Receiver
) -> None:
    game = ("--exit-after", "0.3", "--exit-code", "7")
    make_server(gsm, "alpha", "--max-restarts", "3", game_args=game)
    _add(gsm, "ops", receiver.url())  # default events: crash and crash-loop among them
    assert gsm("server", "start", "alpha").exit_code == 0
    wait_for(lambda: status(gsm)["status"] == "failed", timeout=60)
    assert _events(gsm_home).count("crash") == 4
    rows = _settle(gsm_home)
    assert [(r["event"], r["status"]) for r in rows] == [
        ("crash", "sent"),
        ("crash", "suppressed"),
        ("crash-loop", "sent"),  # the summary the 2nd crash queued, sent when it gave up
        ("crash", "suppressed"),
    ]
    titles = receiver.titles()
    assert titles == ["gsm: alpha crashed", "gsm: alpha crash loop: restarts stopped"]
    summary = receiver.received()[1]["message"]
    assert "crashed 4 times in 10 min; restarts stopped after 3 restarts" in summary
    assert "fatal: giving up (exit 7)" in summary


def test_an_operator_stop_is_a_stop_alert_only_where_subscribed_never_a_crash(
    gsm: GsmRunner, gsm_home: Path, receiver: Receiver
) -> None:
    make_server(gsm)
    _add(gsm, "stops", receiver.url("/stops"), "crash,stop")
    _add(gsm, "crashes", receiver.url("/crashes"), "crash,crash-loop")
    assert gsm("server", "start", "alpha").exit_code == 0
    stopped = gsm("server", "stop", "alpha", "--json")
    assert stopped.exit_code == 0 and stopped.json()["how"] == "console"
    wait_for(lambda: receiver.titles() == ["gsm: alpha stopped"])
    assert receiver.paths == ["/stops"]
    rows = _settle(gsm_home)
    assert [(r["channel"], r["event"], r["status"]) for r in rows] == [("stops", "stop", "sent")]
    assert "crash" not in _events(gsm_home)
    # A forced stop (kill) is the operator's too.
    assert gsm("server", "start", "alpha").exit_code == 0
    assert gsm("server", "stop", "alpha", "--force", "--json").json()["how"] == "kill"
    wait_for(lambda: receiver.titles() == ["gsm: alpha stopped"] * 2)
    assert {r["event"] for r in _settle(gsm_home)} == {"stop"}


def test_a_receiver_that_is_down_gets_retries_then_failed_and_the_server_goes_on(
    gsm: GsmRunner, gsm_home: Path
) -> None:
    make_server(gsm)
    _add(gsm, "down", f"json://127.0.0.1:{free_port()}/hook", "crash")
    gsm("config", "set", "alerts.attempts", "3")
    gsm("config", "set", "alerts.retry_seconds", "1")
    first = gsm("server", "start", "alpha", "--json").json()["process_id"]
    supervisor = _supervisor_pid(gsm_home)
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: (s := status(gsm))["status"] == "running" and s["process_id"] != first)
    try:
        rows = wait_for(
            lambda: [r for r in _queue(gsm_home) if r["status"] == "failed"], timeout=30
        )
        [row] = rows
        assert row["attempts"] == 3 and "Connection error" in row["last_error"]
        # The supervisor never waited on it: the same one still runs the restarted game.
        assert psutil.pid_exists(supervisor) and _supervisor_pid(gsm_home) == supervisor
        assert status(gsm)["status"] == "running"
        assert gsm("server", "stop", "alpha").exit_code == 0
    finally:
        end_senders(gsm_home)
