"""Frozen servers for real: a fake game server (tests/fixtures/fake_game_server.py) started by
gsm under its supervisor, frozen with SIGSTOP (its process lives, its query goes unanswered),
and restarted by its supervisor within ``freeze_after x metrics.interval`` seconds, or by
`gsm server monitor --once` run after run; while a slow starter in its grace period, a server
with --freeze-after 0 and a server busy with a backup are left alone."""

import contextlib
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from gsm_cli.paths import resolve_paths
from gsm_cli.services import (
    backups,
    busy,
    control,
    freeze,
    lifecycle,
    processes,
    query,
    servers,
    steamcmd,
)
from gsm_cli.store import Store
from tests.cli import test_game
from tests.cli.test_game import FakeSteamCmd
from tests.conftest import GsmRunner, wait_for
from tests.e2e.test_sampling import samples, server_id_of
from tests.e2e.test_server_lifecycle import gone, logs, make_server, status

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="SIGSTOP is POSIX")

MINECRAFT = ("--query", "minecraft")
fake_steamcmd = test_game.fake_steamcmd  # the fixture: a fake SteamCMD found on PATH


@pytest.fixture
def freezer() -> Iterator[Callable[[int], None]]:
    """SIGSTOP a process; whatever is still stopped at the end is continued and killed, so no
    stopped process outlives the test."""
    stopped: list[psutil.Process] = []

    def suspend(pid: int) -> None:
        proc = psutil.Process(pid)
        proc.suspend()  # SIGSTOP
        stopped.append(proc)

    yield suspend
    for proc in stopped:
        # psutil checks that the pid is still that process (its create time): a pid reused
        # by another program since is left alone.
        with contextlib.suppress(psutil.Error):
            proc.resume()
            proc.kill()


def fast_metrics(gsm: GsmRunner, seconds: int = 1) -> None:
    assert gsm("config", "set", "metrics.interval", str(seconds)).exit_code == 0


def start(gsm: GsmRunner, name: str = "alpha") -> int:
    started = gsm("server", "start", name, "--json")
    assert started.exit_code == 0, started.stderr
    return started.json()["process_id"]


def events(home: Path, server_id: str) -> list[tuple[str, str | None]]:
    """Every event of the server, oldest first: (event, detail)."""
    with contextlib.closing(sqlite3.connect(home / "gsm.db", timeout=30)) as conn:
        return conn.execute(
            "SELECT event, detail FROM server_events WHERE server_id = ? ORDER BY id",
            (server_id,),
        ).fetchall()


def named(home: Path, server_id: str, event: str) -> list[str | None]:
    return [detail for name, detail in events(home, server_id) if name == event]


def failed_queries(home: Path, server_id: str) -> int:
    """Samples whose query failed (a Minecraft query that works always gives players)."""
    return sum(1 for row in samples(home, server_id, "player_count") if row[0] is None)


def running_again(gsm: GsmRunner, old_pid: int) -> Callable[[], dict | None]:
    def check() -> dict | None:
        info = status(gsm)
        pid = info["process_id"]
        return info if info["status"] == "running" and pid and pid != old_pid else None

    return check


def answers(port: int) -> bool:
    return query.query("minecraft", "127.0.0.1", port, timeout=1).ok


# -- the supervisor ------------------------------------------------------------------------


def test_a_frozen_game_is_restarted_by_its_supervisor_within_its_budget(
    gsm: GsmRunner, gsm_home: Path, freezer: Callable[[int], None]
) -> None:
    fast_metrics(gsm)
    port = make_server(
        gsm, "alpha", "--query-protocol", "minecraft", "--freeze-after", "2",
        "--query-grace", "0", game_args=MINECRAFT,
    )  # fmt: skip
    first = start(gsm)
    server_id = server_id_of(gsm_home)
    wait_for(lambda: answers(port))

    freezer(first)
    frozen_at = time.monotonic()
    wait_for(lambda: gone(first), timeout=20)  # killed for real, though stopped
    detected = time.monotonic() - frozen_at
    # 2 failed queries 1 s apart, each waiting 0.25 s, and up to 1 s until the first one.
    assert detected < 2 * 1 + 1 + 0.25 * 2 + 1.5, f"restarted {detected:.1f}s after the freeze"

    info = wait_for(running_again(gsm, first), timeout=20)
    wait_for(lambda: answers(port))  # the new game answers again
    (frozen,) = named(gsm_home, server_id, "freeze")
    assert frozen is not None and frozen.startswith("2 failed queries in a row; the last: ")
    assert "no answer within 0.25s" in frozen
    assert named(gsm_home, server_id, "restart") == [f"after a freeze ({frozen})"]
    assert named(gsm_home, server_id, "crash")[0].startswith("killed as frozen; restarting in")
    assert (info["freezes"], info["crashes"], info["last_exit_code"]) == (1, 1, -signal.SIGKILL)
    assert info["last_freeze_at"] is not None
    assert [e["event"] for e in info["events"]][:4] == ["start", "restart", "crash", "freeze"]
    assert "frozen: 2 failed queries in a row" in logs(gsm)

    table = gsm("server", "status", "alpha").stdout
    assert "freeze" in table and "1 in 10m" in table
    assert gsm("server", "stop", "alpha").exit_code == 0


def test_a_slow_starter_is_not_restarted_during_its_grace_period(
    gsm: GsmRunner, gsm_home: Path
) -> None:
    fast_metrics(gsm)
    port = make_server(
        gsm, "alpha", "--query-protocol", "minecraft", "--freeze-after", "2",
        "--query-grace", "30", game_args=(*MINECRAFT, "--query-delay", "8"),
    )  # fmt: skip
    first = start(gsm)
    server_id = server_id_of(gsm_home)

    wait_for(lambda: "answering queries" in logs(gsm), timeout=20)
    wait_for(lambda: answers(port))
    # More failed queries than --freeze-after while it loaded (8 s of them at one a second,
    # so that a loaded machine still fits more than 2), yet nothing was counted.
    assert failed_queries(gsm_home, server_id) > 2
    count = len(samples(gsm_home, server_id))
    wait_for(lambda: len(samples(gsm_home, server_id)) >= count + 2)  # it answers: a sample
    info = status(gsm)
    assert (info["process_id"], info["status"], info["freezes"]) == (first, "running", 0)
    assert named(gsm_home, server_id, "freeze") == []
    assert "before a freeze restart" not in logs(gsm)
    assert gsm("server", "stop", "alpha").exit_code == 0


def test_freeze_after_0_never_restarts(
    gsm: GsmRunner, gsm_home: Path, freezer: Callable[[int], None]
) -> None:
    fast_metrics(gsm)
    make_server(
        gsm, "alpha", "--query-protocol", "minecraft", "--freeze-after", "0",
        "--query-grace", "0", game_args=MINECRAFT,
    )  # fmt: skip
    first = start(gsm)
    server_id = server_id_of(gsm_home)
    freezer(first)
    before = failed_queries(gsm_home, server_id)
    wait_for(lambda: failed_queries(gsm_home, server_id) >= before + 3, timeout=20)
    info = status(gsm)
    assert (info["process_id"], info["freezes"], info["crashes"]) == (first, 0, 0), logs(gsm)
    assert named(gsm_home, server_id, "freeze") == []


def test_a_stop_asked_for_is_never_a_freeze(
    gsm: GsmRunner, gsm_home: Path, freezer: Callable[[int], None]
) -> None:
    """A frozen (SIGSTOPped) game being stopped is continued first, so it stops on its console
    command and saves, rather than being killed; no freeze counts meanwhile."""
    fast_metrics(gsm)
    make_server(
        gsm, "alpha", "--query-protocol", "minecraft", "--freeze-after", "2",
        "--query-grace", "0", game_args=MINECRAFT,
    )  # fmt: skip
    first = start(gsm)
    server_id = server_id_of(gsm_home)
    freezer(first)
    stopped = gsm("server", "stop", "alpha", "--timeout", "20", "--json")
    assert stopped.exit_code == 0, stopped.stderr
    assert stopped.json()["how"] == "console"
    assert "Stopping the server" in logs(gsm)  # the game's own graceful stop
    info = status(gsm)
    assert (info["status"], info["freezes"], info["crashes"]) == ("stopped", 0, 0)
    assert named(gsm_home, server_id, "freeze") == []
    assert named(gsm_home, server_id, "restart") == []


def test_repeated_freezes_hit_the_crash_loop_limit(
    gsm: GsmRunner, gsm_home: Path, freezer: Callable[[int], None]
) -> None:
    fast_metrics(gsm)
    make_server(
        gsm, "alpha", "--query-protocol", "minecraft", "--freeze-after", "2",
        "--query-grace", "0", "--max-restarts", "1", game_args=MINECRAFT,
    )  # fmt: skip
    pid = start(gsm)
    server_id = server_id_of(gsm_home)
    freezer(pid)
    pid = wait_for(running_again(gsm, pid), timeout=20)["process_id"]
    freezer(pid)  # the restarted game freezes too: 2 restarts in the window, 1 allowed

    info = wait_for(lambda: (s := status(gsm))["status"] == "failed" and s, timeout=20)
    assert (info["freezes"], info["crashes"], info["process_id"]) == (2, 2, None)
    assert gone(pid)
    assert named(gsm_home, server_id, "crash")[-1] == "killed as frozen; 2 crashes in 600s; gave up"
    assert len(named(gsm_home, server_id, "restart")) == 1
    assert "gave up" in logs(gsm)


def test_no_failed_query_counts_while_a_backup_runs(
    gsm: GsmRunner, gsm_home: Path, freezer: Callable[[int], None]
) -> None:
    """The busy mark a backup holds (services/busy.py; checked below that a real backup holds
    it) is honoured by the supervisor: a game stalled during it is left alone, and counted
    again from 0 once it is over."""
    fast_metrics(gsm)
    make_server(
        gsm, "alpha", "--query-protocol", "minecraft", "--freeze-after", "2",
        "--query-grace", "0", game_args=MINECRAFT,
    )  # fmt: skip
    first = start(gsm)
    server_id = server_id_of(gsm_home)
    paths = resolve_paths({"GSM_HOME": str(gsm_home)})
    with busy.marked(paths, busy.server_subject(server_id), "backup"):
        freezer(first)
        before = failed_queries(gsm_home, server_id)
        wait_for(lambda: failed_queries(gsm_home, server_id) >= before + 3, timeout=20)
        assert status(gsm)["process_id"] == first
        assert named(gsm_home, server_id, "freeze") == []
    wait_for(lambda: gone(first), timeout=20)  # the backup is over: now it counts
    wait_for(running_again(gsm, first), timeout=20)
    assert len(named(gsm_home, server_id, "freeze")) == 1


def test_a_backup_and_a_steamcmd_update_mark_their_server_busy(
    gsm: GsmRunner,
    gsm_home: Path,
    fake_steamcmd: FakeSteamCmd,
    tmp_path: Path,
) -> None:
    make_server(gsm, "alpha")
    assert gsm("server", "create", "vh", "--game", "valheim", "--port", "2999").exit_code == 0
    folder = Path(gsm("server", "show", "alpha", "--json").json()["install_path"])
    (folder / "world.db").write_bytes(b"x" * 100_000)
    paths = resolve_paths({"GSM_HOME": str(gsm_home)})
    env = {**os.environ, "GSM_HOME": str(gsm_home)}
    seen: list[list[str]] = []
    with Store.open(gsm_home / "gsm.db") as store:
        alpha = servers.get(store, "alpha")
        valheim = servers.get(store, "vh")

        def look(*_: object) -> None:
            seen.append(freeze.busy_with(paths, alpha))

        backups.create_backup(store, paths, env, "alpha", report=look)
        assert seen and all(found == ["backup"] for found in seen)
        assert freeze.busy_with(paths, alpha) == []  # over: the mark is gone

        seen.clear()
        assert gsm("game", "install", "valheim", "--path", str(tmp_path / "vh")).exit_code == 0

        def look_valheim(*_: object) -> None:
            seen.append(freeze.busy_with(paths, valheim))

        steamcmd.update(store, "valheim", env, report=look_valheim)
        assert seen and all(found == ["SteamCMD update"] for found in seen)
        assert freeze.busy_with(paths, valheim) == []
        assert freeze.busy_with(paths, alpha) == []  # another game's update


# -- gsm server monitor --once -------------------------------------------------------------


def test_monitor_once_restarts_a_frozen_game_on_the_nth_run(
    gsm: GsmRunner, gsm_home: Path, freezer: Callable[[int], None]
) -> None:
    # The supervisor samples once an hour: only the monitor counts here.
    fast_metrics(gsm, 3600)
    port = make_server(
        gsm, "alpha", "--query-protocol", "minecraft", "--freeze-after", "3",
        "--query-grace", "0", game_args=MINECRAFT,
    )  # fmt: skip
    first = start(gsm)
    server_id = server_id_of(gsm_home)
    wait_for(lambda: answers(port))

    def monitor() -> dict:
        ran = gsm("server", "monitor", "--once", "--json")
        assert ran.exit_code == 0, ran.stderr
        (row,) = ran.json()
        return row

    assert monitor()["action"] == "ok"  # it answers
    freezer(first)
    assert monitor()["action"] == "query failed (1 of 3): no answer within 2s"
    assert monitor()["action"] == "query failed (2 of 3): no answer within 2s"
    assert status(gsm)["process_id"] == first
    row = monitor()
    last = "the last: no answer within 2s"
    assert row["action"] == f"restarted (frozen: 3 failed queries in a row; {last})"
    assert gone(first)
    wait_for(running_again(gsm, first), timeout=20)
    wait_for(lambda: answers(port))
    (frozen,) = named(gsm_home, server_id, "freeze")
    assert frozen is not None and frozen.endswith("(found by gsm server monitor)")
    assert named(gsm_home, server_id, "restart") == [f"after a freeze ({frozen})"]
    assert status(gsm)["freezes"] == 1
    assert monitor()["action"] == "ok"  # the new game answers: counted from 0
    paths = resolve_paths({"GSM_HOME": str(gsm_home)})
    assert not lifecycle.files(paths, server_id).freeze_count.exists()


def test_monitor_once_leaves_a_game_in_its_grace_period_alone(
    gsm: GsmRunner, gsm_home: Path, freezer: Callable[[int], None]
) -> None:
    fast_metrics(gsm, 3600)
    make_server(
        gsm, "alpha", "--query-protocol", "minecraft", "--freeze-after", "1",
        "--query-grace", "600", game_args=MINECRAFT,
    )  # fmt: skip
    first = start(gsm)
    freezer(first)
    for _ in range(3):  # not even asked: no 2 s query timeout, and nothing counted
        ran = gsm("server", "monitor", "--once", "--json")
        assert ran.exit_code == 0, ran.stderr
        assert ran.json()[0]["action"] == "ok"
    info = status(gsm)
    assert (info["process_id"], info["freezes"]) == (first, 0)


def test_the_supervisor_does_not_restart_a_game_twice(
    gsm: GsmRunner, gsm_home: Path, freezer: Callable[[int], None]
) -> None:
    """A monitor that counted a game its supervisor has already restarted asks for a freeze
    restart of the old pid: the supervisor sees it is not its game any more, and does nothing."""
    fast_metrics(gsm)
    make_server(
        gsm, "alpha", "--query-protocol", "minecraft", "--freeze-after", "2",
        "--query-grace", "0", game_args=MINECRAFT,
    )  # fmt: skip
    first = start(gsm)
    server_id = server_id_of(gsm_home)
    started = processes.create_time(first)
    freezer(first)
    second = wait_for(running_again(gsm, first), timeout=20)["process_id"]

    state = control.SupervisorState.load(
        lifecycle.files(resolve_paths({"GSM_HOME": str(gsm_home)}), server_id).state
    )
    assert state is not None
    late = {"op": "freeze", "pid": first, "create_time": started, "detail": "late"}
    assert control.request(state, late, timeout=20) == {"ok": True, "restarted": False}
    assert status(gsm)["process_id"] == second
    assert len(named(gsm_home, server_id, "freeze")) == 1
