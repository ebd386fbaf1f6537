"""kill -9 of a real `gsm plugin install` / `update` process at named moments (a test-only
pause, GSM_TEST_PLUGIN_PAUSE), then the next gsm command: the server folder is byte for byte
as before, or fully installed, and the store agrees; and a failure injected half-way through
the moves is undone by the failing process itself."""

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_plugin_install import package, tree
from tests.conftest import GsmRunner, fake_game_command, free_port, gsm_executable, wait_for

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals")

FILES = {f"Big/part-{n}.bin": bytes([n]) * 4096 for n in range(4)} | {"big.jar": b"jar"}
MOVES = len(FILES) + 1  # the dependency's one file, then these


def paused(home: Path, tmp: Path, step: str, *args: str) -> subprocess.Popen[bytes]:
    """Start gsm with the pause at ``step`` and wait until it gets there."""
    mark = tmp / f"paused-{step.replace(':', '-')}"
    env = {
        **os.environ,
        "GSM_HOME": str(home),
        "GSM_TEST_PLUGIN_PAUSE": step,
        "GSM_TEST_PLUGIN_PAUSE_MARK": str(mark),
    }
    proc = subprocess.Popen(
        [str(gsm_executable()), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    wait_for(lambda: mark.exists() or proc.poll() is not None, timeout=60)
    assert proc.poll() is None, proc.communicate()
    return proc


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def db(home: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(home / "gsm.db") as conn:
        return conn.execute(sql).fetchall()


def leftovers(home: Path, server: Path) -> list[str]:
    """Work folders anywhere gsm may put them."""
    found = [p.name for p in (home / "plugin-work").glob("*")]
    found += [p.name for p in server.parent.glob(f".{server.name}.gsm-plugins-*")]
    found += [p.name for p in server.glob(".gsm-plugin-work-*")]
    return found


@pytest.fixture
def setup(gsm: GsmRunner, gsm_home: Path, tmp_path: Path) -> tuple[Path, list[Path]]:
    made = gsm("server", "create", "mc", "--game", "minecraft", "--path", str(tmp_path / "mc"))
    assert made.exit_code == 0, made.stderr
    server = tmp_path / "mc"
    (server / "plugins").mkdir()
    (server / "plugins" / "someone-elses.jar").write_bytes(b"not gsm's")
    (server / "server.properties").write_text("motd=hello\n")
    dep = package(tmp_path, "lib", "1.0.0")
    big = package(tmp_path, "big", "1.0.0", deps={"lib": "^1.0.0"}, files=FILES)
    return server, [big, dep]


@pytest.mark.parametrize("step", ["journal", "staged", "moved:1", f"moved:{MOVES // 2}",
                                  f"moved:{MOVES}", "committed"])  # fmt: skip
def test_kill_during_install_then_the_next_command_recovers(
    gsm: GsmRunner, gsm_home: Path, tmp_path: Path, setup: tuple[Path, list[Path]], step: str
) -> None:
    server, packages = setup
    before = tree(server)
    proc = paused(gsm_home, tmp_path, step, "plugin", "install",
                  *map(str, packages), "--server", "mc")  # fmt: skip
    kill(proc)
    assert db(gsm_home, "SELECT count(*) FROM plugin_journal") == [(1,)]

    listed = gsm("plugin", "list", "--server", "mc", "--json")  # the next command
    assert listed.exit_code == 0, listed.stderr
    assert db(gsm_home, "SELECT count(*) FROM plugin_journal") == [(0,)]
    assert leftovers(gsm_home, server) == []
    if step == "committed":  # the commit happened: fully installed
        assert [(p["name"], p["version"]) for p in listed.json()] == [
            ("big", "1.0.0"), ("lib", "1.0.0"),
        ]  # fmt: skip
        expected = dict(before)
        expected |= {f"plugins/{rel}": data for rel, data in FILES.items()}
        expected |= {"plugins/Big": None, "plugins/lib.jar": b"lib 1.0.0"}
        assert tree(server) == expected
        assert gsm("plugin", "verify", "--server", "mc").exit_code == 0
    else:  # no commit: exactly as before, in the folder and in the store
        assert listed.json() == []
        assert tree(server) == before
        assert db(gsm_home, "SELECT count(*) FROM local_plugin_files") == [(0,)]
        assert db(gsm_home, "SELECT count(*) FROM pending_sync_operations "
                            "WHERE entity_type = 'plugin_installation'") == [(0,)]  # fmt: skip
    # And the install works afterwards.
    again = gsm("plugin", "install", *map(str, packages), "--server", "mc")
    assert again.exit_code == 0, again.stderr


def test_kill_during_update_leaves_the_old_version_byte_for_byte(
    gsm: GsmRunner, gsm_home: Path, tmp_path: Path, setup: tuple[Path, list[Path]]
) -> None:
    server, packages = setup
    assert gsm("plugin", "install", *map(str, packages), "--server", "mc").exit_code == 0
    before = tree(server)
    rows_before = db(gsm_home, "SELECT * FROM local_plugin_files ORDER BY id")
    newer = tmp_path / "newer"
    newer.mkdir()
    changed = {rel: data + b"-v2" for rel, data in FILES.items() if rel != "big.jar"}
    package(newer, "big", "1.1.0", deps={"lib": "^1.0.0"}, files=changed)
    # Old files out (5 moves), then new ones in: stop half-way through the new ones.
    proc = paused(gsm_home, tmp_path, "moved:7", "plugin", "update", "big", "--server", "mc",
                  "--from", str(newer / "packages"))  # fmt: skip
    kill(proc)
    assert tree(server) != before  # really half-way
    verify = gsm("plugin", "verify", "--server", "mc", "--json")  # the next command
    assert verify.exit_code == 0, verify.stdout + verify.stderr
    assert tree(server) == before
    assert db(gsm_home, "SELECT * FROM local_plugin_files ORDER BY id") == rows_before
    assert db(gsm_home, "SELECT version FROM local_plugins WHERE name = 'big'") == [("1.0.0",)]
    assert leftovers(gsm_home, server) == []


def test_server_start_finishes_recovery_first(
    gsm: GsmRunner, gsm_home: Path, tmp_path: Path
) -> None:
    made = gsm(
        "server", "create", "box", "--game", "custom", "--port", str(free_port()),
        "--command", fake_game_command(), "--settle-seconds", "0.2",
        "--path", str(tmp_path / "box"),
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    server = tmp_path / "box"
    pkg = package(tmp_path, "addon", games=("custom",), files=FILES)
    before = tree(server / "plugins") if (server / "plugins").exists() else {}
    proc = paused(gsm_home, tmp_path, "moved:3", "plugin", "install", str(pkg), "--server", "box")
    kill(proc)
    started = gsm("server", "start", "box")
    try:
        assert started.exit_code == 0, started.stderr
        assert db(gsm_home, "SELECT count(*) FROM plugin_journal") == [(0,)]
        now = tree(server / "plugins") if (server / "plugins").exists() else {}
        assert now == before
    finally:
        gsm("server", "stop", "box")


def test_a_failure_half_way_through_the_moves_is_undone_by_the_process(
    gsm: GsmRunner, gsm_home: Path, tmp_path: Path, setup: tuple[Path, list[Path]]
) -> None:
    """A real failure, not a mock: while gsm waits after its second move, the source of its
    third move disappears; the rename fails, and gsm puts back the two files it moved."""
    import json

    server, packages = setup
    before = tree(server)
    proc = paused(gsm_home, tmp_path, "moved:2", "plugin", "install",
                  *map(str, packages), "--server", "mc", "--json")  # fmt: skip
    steps = json.loads(db(gsm_home, "SELECT steps FROM plugin_journal")[0][0])
    Path(steps["moves"][2][0]).unlink()
    proc.send_signal(signal.SIGUSR1)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    error = json.loads(err.decode().strip().splitlines()[-1])["error"]
    assert error["code"] == "plugin_files_failed"
    assert tree(server) == before
    assert db(gsm_home, "SELECT count(*) FROM plugin_journal") == [(0,)]
    assert db(gsm_home, "SELECT count(*) FROM local_plugins") == [(0,)]
    assert leftovers(gsm_home, server) == []


def test_server_delete_finishes_recovery_first(
    gsm: GsmRunner, gsm_home: Path, tmp_path: Path, setup: tuple[Path, list[Path]]
) -> None:
    """A record deleted with a journal pending would leave that journal (and its work folder)
    with no server to recover it for: delete recovers first."""
    server, packages = setup
    before = tree(server)
    proc = paused(gsm_home, tmp_path, "moved:2", "plugin", "install",
                  *map(str, packages), "--server", "mc")  # fmt: skip
    kill(proc)
    deleted = gsm("server", "delete", "mc")
    assert deleted.exit_code == 0, deleted.stderr
    assert tree(server) == before  # the record went; the folder is kept, as it was
    assert db(gsm_home, "SELECT count(*) FROM plugin_journal") == [(0,)]
    assert leftovers(gsm_home, server) == []


def test_backup_and_restore_settle_a_killed_change_first(
    gsm: GsmRunner, gsm_home: Path, tmp_path: Path, setup: tuple[Path, list[Path]]
) -> None:
    import tarfile

    server, packages = setup
    before = tree(server)
    proc = paused(gsm_home, tmp_path, "moved:3", "plugin", "install",
                  *map(str, packages), "--server", "mc")  # fmt: skip
    kill(proc)
    made = gsm("server", "backup", "mc", "--json")
    assert made.exit_code == 0, made.stderr
    assert db(gsm_home, "SELECT count(*) FROM plugin_journal") == [(0,)]
    with tarfile.open(made.json()["path"]) as archive:  # no half-installed file in it
        names = {m.name.removeprefix("./") for m in archive.getmembers() if m.isfile()}
    assert names == {"plugins/someone-elses.jar", "server.properties"}
    assert tree(server) == before

    proc = paused(gsm_home, tmp_path, "moved:4", "plugin", "install",
                  *map(str, packages), "--server", "mc", "--force")  # fmt: skip
    kill(proc)
    restored = gsm("server", "restore", "mc", made.json()["id"], "--yes")
    assert restored.exit_code == 0, restored.stderr
    assert db(gsm_home, "SELECT count(*) FROM plugin_journal") == [(0,)]
    assert tree(server) == before
    assert leftovers(gsm_home, server) == []
