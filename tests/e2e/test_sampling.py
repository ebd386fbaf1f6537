"""Performance samples for real: services/sampling.py reading real process trees (a parent
whose child burns a core) and querying the fake game server on 127.0.0.1, and the supervisor
of a started server writing `performance_history` rows every `metrics.interval` seconds while
its game runs, surviving a store that refuses the rows."""

import contextlib
import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from gsm_cli.services import sampling
from gsm_cli.store import Store
from tests.conftest import FAKE_GAME, GsmRunner, free_port, wait_for
from tests.e2e.test_server_lifecycle import logs, make_server, status

posix_only = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals used")

# A parent that starts a child spinning on one core, prints the child's pid and waits.
PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    print(child.pid, flush=True)
    try:
        time.sleep(600)
    finally:
        child.kill()
    """
)


@pytest.fixture
def busy_tree() -> Iterator[tuple[subprocess.Popen[str], int]]:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    yield parent, child_pid
    with contextlib.suppress(psutil.Error):
        psutil.Process(child_pid).kill()
    parent.kill()
    parent.wait()


@pytest.fixture
def fake_game(tmp_path: Path) -> Iterator[Callable[..., tuple[int, int]]]:
    """Start the fake game server; returns (its pid, its port) once it listens."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> tuple[int, int]:
        port = free_port()
        log = tmp_path / f"game-{port}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, str(FAKE_GAME), "--port", str(port), *args],
                stdin=subprocess.PIPE,
                stdout=out,
            )
        started.append(proc)
        wait_for(lambda: "started on port" in log.read_text())
        return proc.pid, port

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


# -- the sampler -----------------------------------------------------------------------------


def test_the_sampler_reads_the_whole_tree(busy_tree: tuple[subprocess.Popen[str], int]) -> None:
    parent, child_pid = busy_tree
    sampler = sampling.Sampler(parent.pid)
    first = sampler.measure()
    assert first.cpu_percent is None  # the first call primes
    assert first.processes == 2
    parent_rss = psutil.Process(parent.pid).memory_info().rss / sampling.MB
    assert first.memory_mb is not None and first.memory_mb > parent_rss  # the child counts too

    # The parent sleeps; only its child burns CPU, so a busy tree means the child was counted.
    busy = wait_for(lambda: (u := sampler.measure()).cpu_percent and u.cpu_percent > 50 and u, 20)
    assert busy.processes == 2
    assert busy.memory_mb > 0

    psutil.Process(child_pid).kill()
    wait_for(lambda: sampler.measure().processes == 1)  # a vanished child: skipped, no error
    assert sampler.measure().cpu_percent is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux start stamps")
def test_a_clock_step_does_not_change_the_cpu_measure(
    busy_tree: tuple[subprocess.Popen[str], int], mocker
) -> None:
    """psutil's create_time() moves with /proc/stat's btime when the clock is stepped; the
    sampler keys processes by their start since boot, so the busy child stays the same process:
    its CPU over the window counts, not all its CPU since it was born."""
    parent, child_pid = busy_tree
    child = psutil.Process(child_pid)
    sampler = sampling.Sampler(parent.pid)
    sampler.measure()
    # 2 s of CPU behind it: counted as newly born it would read 400% or more over 0.5 s
    wait_for(lambda: sum(child.cpu_times()[:2]) >= 2, 60)
    sampler.measure()
    mocker.patch("psutil._pslinux.boot_time", return_value=psutil.boot_time() + 7)
    time.sleep(0.5)  # a measuring window, not a wait for something to happen
    cpu = sampler.measure().cpu_percent
    # at most one busy core (about 100%, less on a loaded machine)
    assert cpu is not None and cpu < 150


def test_a_gone_process_gives_unknown_numbers(busy_tree: tuple[subprocess.Popen[str], int]) -> None:
    parent, child_pid = busy_tree
    sampler = sampling.Sampler(parent.pid)
    sampler.measure()
    psutil.Process(child_pid).kill()
    parent.kill()
    parent.wait()
    gone = sampler.measure()
    assert (gone.cpu_percent, gone.memory_mb, gone.processes) == (None, None, 0)


# -- a sample: tree and query --------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["minecraft", "a2s"])
def test_a_sample_takes_players_and_latency_from_the_query(
    fake_game: Callable[..., tuple[int, int]], protocol: str
) -> None:
    pid, port = fake_game("--query", protocol, "--players", "3", "--max-players", "8")
    sampler = sampling.Sampler(pid)
    sampler.measure()
    sample = sampling.take(sampler, protocol=protocol, port=port, timeout=2)
    assert sample.player_count == 3
    assert sample.network_latency is not None and sample.network_latency >= 0
    assert sample.query_error is None
    assert sample.cpu_usage is not None and sample.cpu_usage >= 0
    assert sample.memory_usage is not None and sample.memory_usage > 0


def test_a_failed_or_absent_query_is_unknown_not_zero(
    fake_game: Callable[..., tuple[int, int]],
) -> None:
    pid, _port = fake_game()
    sampler = sampling.Sampler(pid)
    dead = sampling.take(sampler, protocol="minecraft", port=free_port(), timeout=0.5)
    assert dead.player_count is None and dead.network_latency is None
    assert dead.query_error == "connection refused"
    assert dead.memory_usage is not None and dead.memory_usage > 0

    none = sampling.take(sampler, protocol="none", port=free_port())
    assert none.player_count is None and none.network_latency is None
    assert none.query_error is None  # nothing was asked: not a failure
    assert none.cpu_usage is not None


def test_query_timeout_stays_well_below_the_interval() -> None:
    assert sampling.query_timeout(1) == 0.25
    assert sampling.query_timeout(30) == sampling.MAX_QUERY_TIMEOUT


def test_record_writes_one_row_with_nulls_for_unknown(gsm: GsmRunner, gsm_home: Path) -> None:
    make_server(gsm)
    with Store.open(gsm_home / "gsm.db") as store:
        server_id = server_id_of(gsm_home)
        sampling.record(store, server_id, sampling.Sample(12.5, 300.25, None, None))
    assert samples(gsm_home, server_id) == [(12.5, 300.25, None, None)]


# -- the supervisor --------------------------------------------------------------------------


def server_id_of(home: Path, name: str = "alpha") -> str:
    with contextlib.closing(sqlite3.connect(home / "gsm.db")) as conn:
        return conn.execute("SELECT id FROM local_servers WHERE name = ?", (name,)).fetchone()[0]


def samples(home: Path, server_id: str, columns: str = "") -> list[tuple]:
    what = columns or "cpu_usage, memory_usage, network_latency, player_count"
    with contextlib.closing(sqlite3.connect(home / "gsm.db", timeout=30)) as conn:
        return conn.execute(
            f"SELECT {what} FROM performance_history WHERE server_id = ? ORDER BY id",
            (server_id,),
        ).fetchall()


@posix_only
def test_the_supervisor_samples_while_the_game_runs(gsm: GsmRunner, gsm_home: Path) -> None:
    assert gsm("config", "set", "metrics.interval", "1").exit_code == 0
    make_server(
        gsm, "alpha", "--query-protocol", "minecraft",
        game_args=("--query", "minecraft", "--players", "2"),
    )  # fmt: skip
    started = gsm("server", "start", "alpha", "--json")
    assert started.exit_code == 0, started.stderr
    server_id = server_id_of(gsm_home)
    supervisor = psutil.Process(status(gsm)["supervisor_pid"])

    rows = wait_for(lambda: len(r := samples(gsm_home, server_id)) >= 3 and r, timeout=15)
    for cpu, memory, latency, players in rows:
        assert cpu is not None and cpu >= 0
        assert memory is not None and memory > 0
        assert latency is not None and latency >= 0
        assert players == 2

    stopped = gsm("server", "stop", "alpha", "--json")
    assert stopped.exit_code == 0, stopped.stderr
    wait_for(lambda: not supervisor.is_running() or supervisor.status() == psutil.STATUS_ZOMBIE)
    # No sample after the stop was asked for: every row is no later than the stop event.
    with contextlib.closing(sqlite3.connect(gsm_home / "gsm.db")) as conn:
        (stop_at,) = conn.execute(
            "SELECT max(occurred_at) FROM server_events WHERE server_id = ? AND event = 'stop'",
            (server_id,),
        ).fetchone()
        (late,) = conn.execute(
            "SELECT count(*) FROM performance_history WHERE server_id = ? AND recorded_at > ?",
            (server_id, stop_at),
        ).fetchone()
    assert late == 0
    assert "metrics:" not in logs(gsm)  # no failed sample


@posix_only
def test_a_store_that_refuses_samples_does_not_end_the_supervisor(
    gsm: GsmRunner, gsm_home: Path
) -> None:
    assert gsm("config", "set", "metrics.interval", "1").exit_code == 0
    make_server(gsm)  # no query protocol: players and latency are unknown
    started = gsm("server", "start", "alpha", "--json")
    assert started.exit_code == 0, started.stderr
    server_id = server_id_of(gsm_home)
    wait_for(lambda: samples(gsm_home, server_id))

    # A real failure of the INSERT: the table is not there for a while.
    with contextlib.closing(sqlite3.connect(gsm_home / "gsm.db", timeout=30)) as conn:
        conn.execute("ALTER TABLE performance_history RENAME TO performance_history_away")
        conn.commit()
        wait_for(lambda: "metrics: a sample was not recorded" in logs(gsm))
        assert "no such table: performance_history" in logs(gsm)
        conn.execute("ALTER TABLE performance_history_away RENAME TO performance_history")
        conn.commit()
    before = len(samples(gsm_home, server_id))
    wait_for(lambda: len(samples(gsm_home, server_id)) > before)
    assert "metrics: samples are recorded again" in logs(gsm)
    assert all(players is None and latency is None for _, _, latency, players in samples(
        gsm_home, server_id
    ))  # fmt: skip

    info = status(gsm)
    assert info["status"] == "running" and info["supervisor_pid"] is not None
    sent = gsm("server", "send", "alpha", "say still here", "--json")
    assert sent.exit_code == 0, sent.stderr
    stopped = gsm("server", "stop", "alpha", "--json")
    assert stopped.exit_code == 0, stopped.stderr
    assert stopped.json()["how"] == "console"


def test_the_sampling_thread_idles_while_no_game_runs(gsm: GsmRunner, gsm_home: Path) -> None:
    """Before a launch and between a crash and its restart there is no game: the thread waits
    on its poll, it does not spin."""
    from gsm_cli.environment import Environment
    from gsm_cli.supervisor import Supervisor

    make_server(gsm)
    with Store.open(gsm_home / "gsm.db") as store:
        sup = Supervisor(store, server_id_of(gsm_home), Environment())
        assert sup.metrics_interval == 30  # the default
        thread = sup.start_metrics()
        me = psutil.Process()

        def cpu_seconds() -> float:
            times = {t.id: t for t in me.threads()}[thread.native_id]
            return times.user_time + times.system_time

        before = cpu_seconds()
        assert not sup.finished.wait(1.0)  # a window to measure over, not a synchronisation
        used = cpu_seconds() - before
        sup.finished.set()
        thread.join(5)
    assert not thread.is_alive()
    assert used < 0.1, f"the idle sampling thread used {used:.2f}s of CPU in 1s"


def queued_summaries(home: Path, server_id: str) -> list[dict]:
    with contextlib.closing(sqlite3.connect(home / "gsm.db", timeout=30)) as conn:
        rows = conn.execute(
            "SELECT data_payload FROM pending_sync_operations"
            " WHERE entity_type = 'server_summary' AND entity_id = ?",
            (server_id,),
        ).fetchall()
    return [json.loads(payload) for (payload,) in rows]


@posix_only
def test_the_supervisor_queues_one_summary_applies_retention_and_says_down_on_stop(
    gsm: GsmRunner, gsm_home: Path
) -> None:
    assert gsm("config", "set", "metrics.interval", "1").exit_code == 0
    make_server(
        gsm, "alpha", "--query-protocol", "minecraft",
        game_args=("--query", "minecraft", "--players", "3"),
    )  # fmt: skip
    server_id = server_id_of(gsm_home)
    with contextlib.closing(sqlite3.connect(gsm_home / "gsm.db")) as conn, conn:
        conn.executemany(  # 40 and 10 days old: retention (30 days by default) takes the first
            "INSERT INTO performance_history (server_id, cpu_usage, recorded_at)"
            " VALUES (?, 1.0, datetime('now', ?))",
            [(server_id, "-40 days"), (server_id, "-10 days")],
        )
    assert gsm("server", "start", "alpha").exit_code == 0

    wait_for(lambda: len(samples(gsm_home, server_id)) >= 4, timeout=20)
    with contextlib.closing(sqlite3.connect(gsm_home / "gsm.db", timeout=30)) as conn:
        old = conn.execute(
            "SELECT count(*) FROM performance_history"
            " WHERE server_id = ? AND recorded_at < datetime('now', '-1 days')",
            (server_id,),
        ).fetchone()[0]
    assert old == 1  # the 10-day-old sample stays; the 40-day-old one went
    # many samples, one summary waiting: the latest
    summaries = queued_summaries(gsm_home, server_id)
    assert len(summaries) == 1
    assert summaries[0]["player_count"] == 3
    assert summaries[0]["performance_metrics"]["memory_usage"] > 0
    assert summaries[0]["uptime_seconds"] >= 0
    assert "retention: 1 samples" in logs(gsm)

    assert gsm("server", "stop", "alpha").exit_code == 0
    summaries = queued_summaries(gsm_home, server_id)
    assert len(summaries) == 1  # the down summary replaced the last sample's
    assert summaries[0]["player_count"] == 0 and summaries[0]["uptime_seconds"] == 0
    assert summaries[0]["performance_metrics"] is None
