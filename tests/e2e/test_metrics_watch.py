"""gsm metrics watch with real servers started through gsm: JSON Lines for scripts, the frames
following servers that start, stop and are deleted, nothing written to the store, and the
live dashboard in a real terminal (tmux) that Ctrl-C leaves clean."""

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gsm_cli.paths import resolve_paths
from gsm_cli.services import watch
from gsm_cli.store import Store
from tests.conftest import GsmRunner, gsm_executable, wait_for
from tests.e2e.test_sampling import samples, server_id_of
from tests.e2e.test_server_lifecycle import make_server

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals used")

SERVER_FIELDS = {
    "server",
    "status",
    "process_id",
    "cpu_usage",
    "memory_usage",
    "player_count",
    "max_players",
    "network_latency",
    "query_error",
    "uptime_seconds",
    "cpu_history",
}


@pytest.fixture(autouse=True)
def quiet_supervisors(gsm: GsmRunner) -> None:
    """The supervisors sample once a day here, so the store holds only the rows a test put."""
    assert gsm("config", "set", "metrics.interval", "86400").exit_code == 0


def start_minecraft(gsm: GsmRunner, name: str = "alpha") -> None:
    make_server(
        gsm, name, "--query-protocol", "minecraft",
        game_args=("--query", "minecraft", "--players", "2", "--max-players", "6"),
    )  # fmt: skip
    started = gsm("server", "start", name, "--json")
    assert started.exit_code == 0, started.stderr


def all_samples(home: Path) -> int:
    return sum(len(samples(home, server_id_of(home, name))) for name in ("alpha", "beta"))


def test_json_lines_one_frame_per_refresh(gsm: GsmRunner, gsm_home: Path) -> None:
    start_minecraft(gsm)
    make_server(gsm, "beta")  # stopped
    collected = gsm("metrics", "collect", "alpha", "--interval", "0.2")  # some history
    assert collected.exit_code == 0, collected.stderr
    before = all_samples(gsm_home)

    result = gsm("metrics", "watch", "--all", "--json", "--count", "2", "--refresh", "1")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    frames = [json.loads(line) for line in lines]
    assert frames[0]["at"] <= frames[1]["at"]
    for frame in frames:
        alpha, beta = frame["servers"]
        assert set(alpha) == set(beta) == SERVER_FIELDS
        assert (alpha["server"], alpha["status"], beta["server"], beta["status"]) == (
            "alpha", "running", "beta", "stopped"
        )  # fmt: skip
        assert alpha["cpu_usage"] is not None and alpha["cpu_usage"] >= 0  # from the 1st frame
        assert alpha["memory_usage"] > 0
        assert (alpha["player_count"], alpha["max_players"]) == (2, 6)
        assert alpha["network_latency"] is not None and alpha["query_error"] is None
        assert alpha["uptime_seconds"] >= 0 and alpha["process_id"]
        assert len(alpha["cpu_history"]) == watch.HISTORY_BUCKETS
        assert any(v is not None for v in alpha["cpu_history"])  # the collected sample
        assert beta["cpu_usage"] is beta["player_count"] is beta["uptime_seconds"] is None
        assert beta["cpu_history"] == [None] * watch.HISTORY_BUCKETS
    assert all_samples(gsm_home) == before  # watch writes nothing

    # Off a terminal, JSON Lines without --json too.
    plain = gsm("metrics", "watch", "alpha", "--count", "1")
    assert plain.exit_code == 0, plain.stderr
    [frame] = [json.loads(line) for line in plain.stdout.splitlines()]
    assert [s["server"] for s in frame["servers"]] == ["alpha"]


def test_frames_follow_servers_starting_stopping_and_deleted(
    gsm: GsmRunner, gsm_home: Path
) -> None:
    start_minecraft(gsm)
    make_server(gsm, "beta", game_args=("--ready-after", "3"))
    with Store.open(gsm_home / "gsm.db") as store, watch.Watch(
        store, resolve_paths(os.environ), None, refresh=1
    ) as watching:  # fmt: skip

        def statuses() -> dict[str, str]:
            return {s["server"]: s["status"] for s in watching.frame()["servers"]}

        assert statuses() == {"alpha": "running", "beta": "stopped"}
        # A start that waits for the game's ready line, in a process of its own.
        starting = subprocess.Popen(
            [str(gsm_executable()), "server", "start", "beta"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            seen = wait_for(lambda: (s := watching.frame()["servers"])[1]["status"] == "starting"
                            and s)  # fmt: skip
            assert seen[1]["memory_usage"] > 0  # a starting game is measured too
            assert starting.wait(timeout=30) == 0
        finally:
            with contextlib.suppress(ProcessLookupError):
                starting.kill()
        assert statuses() == {"alpha": "running", "beta": "running"}

        assert gsm("server", "stop", "beta").exit_code == 0
        assert statuses() == {"alpha": "running", "beta": "stopped"}
        assert gsm("server", "delete", "beta", "--yes").exit_code == 0
        assert statuses() == {"alpha": "running"}

    named = gsm("metrics", "watch", "alpha", "--json", "--count", "1")
    assert [s["server"] for s in named.json()["servers"]] == ["alpha"]


def test_watch_errors(gsm: GsmRunner) -> None:
    make_server(gsm, "alpha")
    helped = gsm("metrics", "watch", "--help")
    assert helped.exit_code == 0 and "--refresh" in helped.stdout and "--json" in helped.stdout
    unknown = gsm("metrics", "watch", "nope", "--json", "--count", "1")
    assert unknown.exit_code == 3 and unknown.error()["code"] == "server_not_found"
    for args in (["--refresh", "0"], ["--refresh", "0.1"], ["--refresh", "inf"], ["--count", "0"]):
        bad = gsm("metrics", "watch", "alpha", *args)
        assert bad.exit_code == 4, (args, bad.stderr)
        assert "invalid value" in bad.stderr and "hint:" in bad.stderr
    for args in ([], ["alpha", "--all"]):
        neither = gsm("metrics", "watch", *args, "--count", "1")
        assert neither.exit_code == 4 and "--all" in neither.stderr


def test_ctrl_c_ends_json_lines_with_exit_0(gsm: GsmRunner) -> None:
    start_minecraft(gsm)
    proc = subprocess.Popen(
        [str(gsm_executable()), "metrics", "watch", "--all", "--refresh", "0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())  # a frame came out: the loop runs
        assert first["servers"][0]["server"] == "alpha"
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=15)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


# -- the dashboard in a real terminal ---------------------------------------------------------


@pytest.fixture
def terminal(gsm_home: Path) -> Iterator[tuple[list[str], str]]:
    """A tmux session 120x30 running an interactive bash with the prompt `PROMPT$ `; yields
    the tmux command prefix and the session's target."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    tmux = ["tmux", "-L", f"gsm-test-{uuid.uuid4().hex[:8]}"]
    shell = (
        f"env -u CI GSM_HOME={shlex.quote(str(gsm_home))} PS1='PROMPT$ ' TERM=xterm-256color "
        "bash --norc --noprofile -i"
    )
    subprocess.run(
        [*tmux, "new-session", "-d", "-x", "120", "-y", "30", "-s", "w", shell], check=True
    )
    try:
        yield tmux, "w"
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def screen(tmux: list[str], target: str) -> str:
    return subprocess.run(
        [*tmux, "capture-pane", "-p", "-t", target], capture_output=True, text=True, check=True
    ).stdout


def pane(tmux: list[str], target: str, what: str) -> str:
    return subprocess.run(
        [*tmux, "display", "-p", "-t", target, what], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_dashboard_in_a_terminal_leaves_it_clean(
    gsm: GsmRunner, terminal: tuple[list[str], str]
) -> None:
    tmux, target = terminal
    start_minecraft(gsm, "alpha")
    make_server(gsm, "beta")
    wait_for(lambda: "PROMPT$" in screen(tmux, target))
    command = f"{shlex.quote(str(gsm_executable()))} metrics watch --all --refresh 0.5"
    subprocess.run([*tmux, "send-keys", "-t", target, command, "Enter"], check=True)

    def dashboard() -> str | None:
        text = screen(tmux, target)
        rows = {line.split()[0]: line.split() for line in text.splitlines() if line.split()}
        return text if "alpha" in rows and "2/6" in rows["alpha"] and "beta" in rows else None

    shown = wait_for(dashboard)
    assert "SERVER" in shown and "STATUS" in shown and "stopped" in shown
    assert pane(tmux, target, "#{cursor_flag}") == "0"  # rich hides it while it draws

    subprocess.run([*tmux, "send-keys", "-t", target, "C-c"], check=True)
    # The prompt comes back below the last frame.
    wait_for(lambda: screen(tmux, target).rstrip().endswith("PROMPT$"))
    subprocess.run([*tmux, "send-keys", "-t", target, "echo rc=$?", "Enter"], check=True)
    after = wait_for(lambda: "rc=" in (t := screen(tmux, target)).split("PROMPT$ echo")[-1] and t)
    assert "rc=0" in after
    assert "Traceback" not in after and "interrupted" not in after
    assert "alpha" in after  # the last frame stays on the screen
    assert pane(tmux, target, "#{cursor_flag}") == "1"  # the cursor is shown again
    assert pane(tmux, target, "#{alternate_on}") == "0"  # no alternate screen left behind
