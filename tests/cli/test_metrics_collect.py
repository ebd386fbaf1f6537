"""gsm metrics collect: samples on demand of real servers started through gsm (the fake game
server answering Minecraft pings and A2S on 127.0.0.1), written to `performance_history` as
the supervisor writes its own; several servers at once; the errors a user meets."""

import contextlib
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import GsmRunner, gsm_executable, wait_for
from tests.e2e.test_sampling import samples, server_id_of
from tests.e2e.test_server_lifecycle import make_server

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals used")

FIELDS = {
    "server",
    "recorded_at",
    "cpu_usage",
    "memory_usage",
    "network_latency",
    "player_count",
    "query_error",
}


@pytest.fixture(autouse=True)
def quiet_supervisors(gsm: GsmRunner) -> None:
    """The supervisors sample too, every metrics.interval: once a day here, so every row a test
    counts is one collect wrote."""
    assert gsm("config", "set", "metrics.interval", "86400").exit_code == 0


def start(gsm: GsmRunner, name: str, *extra: str, game_args: tuple = ()) -> None:
    make_server(gsm, name, *extra, game_args=game_args)
    started = gsm("server", "start", name, "--json")
    assert started.exit_code == 0, started.stderr


def minecraft(gsm: GsmRunner, name: str, players: int) -> None:
    start(
        gsm, name, "--query-protocol", "minecraft",
        game_args=("--query", "minecraft", "--players", str(players), "--max-players", "9"),
    )  # fmt: skip


def stored(home: Path, name: str) -> list[tuple]:
    columns = "recorded_at, cpu_usage, memory_usage, network_latency, player_count"
    return samples(home, server_id_of(home, name), columns)


def test_collect_records_a_real_sample_with_the_query(gsm: GsmRunner, gsm_home: Path) -> None:
    minecraft(gsm, "alpha", players=2)
    result = gsm("metrics", "collect", "alpha", "--json")
    assert result.exit_code == 0, result.stderr
    [row] = result.json()
    assert set(row) == FIELDS
    assert row["server"] == "alpha" and row["query_error"] is None
    assert row["cpu_usage"] is not None and row["cpu_usage"] >= 0  # primed: one interval's CPU
    assert row["memory_usage"] > 0
    assert row["player_count"] == 2
    assert row["network_latency"] is not None and row["network_latency"] >= 0

    # The very row written, as `gsm metrics show` and `export` read it.
    [(recorded_at, cpu, memory, latency, players)] = stored(gsm_home, "alpha")
    assert row["recorded_at"] == recorded_at.replace(" ", "T") + "Z"
    assert (round(cpu, 3), round(memory, 3), players) == (
        row["cpu_usage"], row["memory_usage"], 2
    )  # fmt: skip
    assert round(latency, 3) == row["network_latency"]

    table = gsm("metrics", "collect", "alpha", "--interval", "0.2")
    assert table.exit_code == 0, table.stderr
    header, line = table.stdout.splitlines()
    assert header.split()[:4] == ["SERVER", "RECORDED", "AT", "CPU"]
    assert line.split()[0] == "alpha" and line.split()[4] == "2"
    assert "recorded 1 samples" in table.stderr
    assert len(stored(gsm_home, "alpha")) == 2


def test_count_and_interval_and_all_skip_stopped_servers(gsm: GsmRunner, gsm_home: Path) -> None:
    minecraft(gsm, "alpha", players=1)
    start(gsm, "beta", "--query-protocol", "a2s", game_args=("--query", "a2s", "--players", "4"))
    make_server(gsm, "gamma")  # never started

    began = time.monotonic()
    result = gsm("metrics", "collect", "--all", "--count", "3", "--interval", "0.2", "--json")
    took = time.monotonic() - began
    assert result.exit_code == 0, result.stderr
    rows = result.json()
    assert {"server": "gamma", "skipped": "stopped"} in rows
    written = [row for row in rows if "skipped" not in row]
    assert sorted(row["server"] for row in written) == ["alpha"] * 3 + ["beta"] * 3
    assert {row["player_count"] for row in written if row["server"] == "beta"} == {4}
    assert all(row["cpu_usage"] is not None and row["memory_usage"] > 0 for row in written)
    assert took >= 0.6  # three intervals: the first sample too waits one, for its CPU
    assert len(stored(gsm_home, "alpha")) == len(stored(gsm_home, "beta")) == 3
    assert stored(gsm_home, "gamma") == []

    table = gsm("metrics", "collect", "--all")
    assert table.exit_code == 0, table.stderr
    assert "skipped gamma: not running (stopped)" in table.stderr
    assert "gamma" not in table.stdout and "alpha" in table.stdout and "beta" in table.stdout


def test_servers_of_a_round_are_sampled_at_the_same_time(gsm: GsmRunner) -> None:
    """Four games whose query never answers (A2S to a UDP port that swallows datagrams): each
    query waits its whole timeout (0.5 s), at the same time, not one after another."""
    names = ["q1", "q2", "q3", "q4"]
    for name in names:
        start(gsm, name, "--query-protocol", "a2s", game_args=("--udp",))
    began = time.monotonic()
    result = gsm("metrics", "collect", "--all", "--interval", "0.2", "--json")
    took = time.monotonic() - began
    assert result.exit_code == 0, result.stderr
    rows = result.json()
    assert sorted(row["server"] for row in rows) == names
    for row in rows:
        assert row["player_count"] is None and row["network_latency"] is None  # unknown, not 0
        assert row["query_error"] and row["memory_usage"] > 0
    assert took < 1.6, f"{took:.2f}s: one after another would take over 2.2s"


def test_collect_errors(gsm: GsmRunner, gsm_home: Path) -> None:
    make_server(gsm, "alpha")
    helped = gsm("metrics", "collect", "--help")
    assert helped.exit_code == 0 and "--interval" in helped.stdout and "--count" in helped.stdout

    unknown = gsm("metrics", "collect", "nope", "--json")
    assert unknown.exit_code == 3 and unknown.error()["code"] == "server_not_found"

    stopped = gsm("metrics", "collect", "alpha")
    assert stopped.exit_code == 5
    assert "error: server alpha is not running (it is stopped)" in stopped.stderr
    assert "hint: gsm server start alpha" in stopped.stderr
    assert gsm("metrics", "collect", "alpha", "--json").error()["code"] == "not_running"

    for args in (
        ["--count", "0"],
        ["--count", "100001"],
        ["--interval", "0"],
        ["--interval", "0.05"],
        ["--interval", "nan"],
        ["--interval", "-1"],
    ):
        bad = gsm("metrics", "collect", "alpha", *args)
        assert bad.exit_code == 4, (args, bad.stderr)
        assert "invalid value" in bad.stderr and "hint:" in bad.stderr, bad.stderr

    for args in ([], ["alpha", "--all"]):
        neither = gsm("metrics", "collect", *args)
        assert neither.exit_code == 4 and "--all" in neither.stderr

    nothing = gsm("metrics", "collect", "--all", "--json")
    assert nothing.exit_code == 0
    assert nothing.json() == [{"server": "alpha", "skipped": "stopped"}]
    assert stored(gsm_home, "alpha") == []


def test_ctrl_c_keeps_the_rows_written_and_exits_130(gsm: GsmRunner, gsm_home: Path) -> None:
    minecraft(gsm, "alpha", players=0)
    server_id = server_id_of(gsm_home)
    proc = subprocess.Popen(
        [str(gsm_executable()), "metrics", "collect", "alpha", "--count", "1000",
         "--interval", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: len(samples(gsm_home, server_id)) >= 2)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=15)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    kept = len(samples(gsm_home, server_id))
    assert kept >= 2
    with contextlib.closing(sqlite3.connect(gsm_home / "gsm.db")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
