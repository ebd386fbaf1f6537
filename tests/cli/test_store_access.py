"""A store or GSM_HOME this user cannot write: honest errors, and reads that still work.

Permission bits do not stop root, and the tests (and CI) run as root. So where a folder or file
must really be unwritable, the installed `gsm` runs as the unprivileged user 65534 (nobody)
through `setpriv`; when the tests do not run as root, permission bits work and gsm runs as the
current user. The files live in a folder of their own under the system's temporary folder, which
that user can traverse (pytest's tmp_path is private to root).
"""

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GSM_VARS, gsm_executable

UNPRIVILEGED = 65534
pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX permissions and setpriv")


class Gsm:
    """Runs the installed gsm as a user that permission bits do stop."""

    def __init__(self, prefix: list[str]) -> None:
        self.prefix = prefix

    def __call__(
        self, home: Path, *args: str, privileged: bool = False
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in GSM_VARS}
        env["GSM_HOME"] = str(home)
        return subprocess.run(
            [*([] if privileged else self.prefix), str(gsm_executable()), *args],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            env=env,
        )


@pytest.fixture(scope="module")
def gsm_user() -> Gsm:
    if os.geteuid() != 0:
        return Gsm([])  # not root: permission bits already stop this user
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and setpriv (util-linux) is not installed")
    prefix = [setpriv, f"--reuid={UNPRIVILEGED}", f"--regid={UNPRIVILEGED}", "--clear-groups"]
    probe = subprocess.run(
        [*prefix, str(gsm_executable()), "--version"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        pytest.skip(f"gsm cannot run as uid {UNPRIVILEGED} here: {probe.stderr.strip()}")
    return Gsm(prefix)


@pytest.fixture
def base() -> Iterator[Path]:
    """A folder the unprivileged user can traverse; removed afterwards whatever its modes."""
    folder = Path(tempfile.mkdtemp(prefix="gsm-store-access-"))
    folder.chmod(0o755)
    for parent in folder.parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            shutil.rmtree(folder)
            pytest.skip(f"{parent} cannot be traversed by other users")
    yield folder
    for root, dirs, _files in os.walk(folder):
        for name in dirs:
            (Path(root) / name).chmod(0o755)
    shutil.rmtree(folder)


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file and folder under ``folder``: its mode and (for a file) its sha256."""
    found = {}
    for path in sorted(folder.rglob("*")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        found[str(path.relative_to(folder))] = (stat.S_IMODE(path.stat().st_mode), digest)
    return found


def make_store(gsm_user: Gsm, home: Path) -> None:
    """A store with a stopped server and a setting, made by this (privileged) process."""
    for args in (
        ("server", "create", "alpha", "--game", "minecraft", "--port", "25601"),
        ("config", "set", "backup.retention", "7"),
    ):
        result = gsm_user(home, *args, privileged=True)
        assert result.returncode == 0, result.stderr
    assert not (home / "gsm.db-wal").exists()  # the last connection folded its log in


def error(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return json.loads(result.stderr.strip().splitlines()[-1])["error"]


def assert_honest(result: subprocess.CompletedProcess[str]) -> None:
    text = result.stderr.lower()
    for wrong in ("corrupt", "move the file aside", "unexpected", "traceback"):
        assert wrong not in text, result.stderr


def assert_reads_work(gsm_user: Gsm, home: Path) -> None:
    listed = gsm_user(home, "server", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(s["name"], s["status"]) for s in json.loads(listed.stdout)] == [("alpha", "stopped")]
    shown = gsm_user(home, "server", "show", "alpha", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["port"] == 25601
    status = gsm_user(home, "server", "status", "alpha", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["status"] == "stopped"
    settings = gsm_user(home, "config", "list", "--json")
    assert settings.returncode == 0, settings.stderr
    assert {s["key"]: s["value"] for s in json.loads(settings.stdout)}["backup.retention"] == "7"
    value = gsm_user(home, "config", "get", "backup.retention")
    assert (value.returncode, value.stdout) == (0, "7\n"), value.stderr
    sync = gsm_user(home, "sync", "status", "--json")
    assert sync.returncode == 0, sync.stderr
    assert json.loads(sync.stdout)["queued"] >= 1  # the server and setting wait to be pushed
    where = gsm_user(home, "config", "path", "--json")
    assert where.returncode == 0, where.stderr
    assert json.loads(where.stdout)["store"] == str(home / "gsm.db")


def assert_writes_refused(gsm_user: Gsm, home: Path, why: str) -> None:
    for args in (
        ("config", "set", "backup.retention", "3", "--json"),
        ("server", "create", "beta", "--game", "minecraft", "--json"),
    ):
        result = gsm_user(home, *args)
        assert result.returncode == 4, (args, result.stdout, result.stderr)
        assert_honest(result)
        err = error(result)
        assert err["code"] == "store_read_only"
        assert f"the store {home / 'gsm.db'} is read-only" in err["message"]
        assert why in err["message"]
        assert "GSM_HOME" in err["hint"] and "permissions" in err["hint"]


def test_a_read_only_folder_with_a_store_reads_and_refuses_writes(
    gsm_user: Gsm, base: Path
) -> None:
    home = base / "home"
    make_store(gsm_user, home)
    (home / "gsm.db").chmod(0o666)  # the file could be written: only the folder stops it
    home.chmod(0o555)
    before = snapshot(home)

    assert_reads_work(gsm_user, home)
    assert_writes_refused(gsm_user, home, f"its folder {home} is not writable")
    doctor = gsm_user(home, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert checks["store"]["status"] == "warn", doctor.stdout
    assert "opens read-only" in checks["store"]["detail"], doctor.stdout
    assert checks["store schema"]["status"] == "ok", doctor.stdout

    assert snapshot(home) == before  # not a byte changed, no -wal or -shm left behind


def test_a_read_only_store_file_in_a_writable_folder_leaves_no_files_behind(
    gsm_user: Gsm, base: Path
) -> None:
    home = base / "home"
    make_store(gsm_user, home)
    home.chmod(0o777)
    (home / "gsm.db").chmod(0o444)
    before = snapshot(home)

    assert_reads_work(gsm_user, home)
    assert_writes_refused(gsm_user, home, "the file is not writable")

    # SQLite's mode=ro would have made gsm.db-wal and gsm.db-shm here, read-only like the
    # store, and those would keep even its owner from writing after a chmod back.
    assert snapshot(home) == before


def test_a_read_only_folder_is_read_through_a_live_writers_log(gsm_user: Gsm, base: Path) -> None:
    home = base / "home"
    make_store(gsm_user, home)
    writer = sqlite3.connect(home / "gsm.db")
    try:
        writer.execute("UPDATE user_settings SET value = '9' WHERE key = 'backup.retention'")
        writer.commit()  # committed to gsm.db-wal; not in gsm.db until a checkpoint
        assert (home / "gsm.db-wal").stat().st_size > 0
        home.chmod(0o555)

        value = gsm_user(home, "config", "get", "backup.retention")
        assert (value.returncode, value.stdout) == (0, "9\n"), value.stderr
        refused = gsm_user(home, "config", "set", "backup.retention", "3", "--json")
        assert refused.returncode == 4 and error(refused)["code"] == "store_read_only"
    finally:
        writer.close()


def test_a_log_without_its_index_in_a_read_only_folder_is_refused_untouched(
    gsm_user: Gsm, base: Path
) -> None:
    home = base / "home"
    make_store(gsm_user, home)
    # A process that dies after a commit leaves gsm.db-wal (and -shm) behind; drop the -shm.
    crash = (
        "import os, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1])\n"
        "conn.execute(\"UPDATE user_settings SET value = '9' WHERE key = 'backup.retention'\")\n"
        "conn.commit()\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", crash, str(home / "gsm.db")], check=True)
    (home / "gsm.db-shm").unlink()
    assert (home / "gsm.db-wal").stat().st_size > 0
    home.chmod(0o555)
    before = snapshot(home)

    result = gsm_user(home, "server", "list", "--json")
    assert result.returncode == 4, result.stderr
    assert_honest(result)
    err = error(result)
    assert err["code"] == "store_read_only"
    assert "gsm.db-wal" in err["message"] and "gsm.db-shm" in err["message"]
    assert snapshot(home) == before


@pytest.mark.parametrize("old", ["0004_sync_state", "empty file"])
def test_a_store_that_needs_an_upgrade_but_cannot_be_written_is_left_as_it_is(
    gsm_user: Gsm, base: Path, old: str
) -> None:
    from gsm_cli.store import migrate
    from gsm_cli.store.database import make_engine

    home = base / "home"
    home.mkdir()
    if old == "empty file":
        (home / "gsm.db").touch()  # gsm would make it a new store, if it could write it
        wanted = f"and needs an upgrade to {migrate.HEAD} before this gsm can use it"
    else:
        engine = make_engine(home / "gsm.db")
        migrate.upgrade(engine, old)
        engine.dispose()
        wanted = f"and needs an upgrade from schema {old} to {migrate.HEAD} before this gsm"
    home.chmod(0o555)
    before = snapshot(home)

    for args in (("server", "list", "--json"), ("config", "set", "output.format", "csv", "--json")):
        result = gsm_user(home, *args)
        assert result.returncode == 4, (args, result.stderr)
        assert_honest(result)
        err = error(result)
        assert err["code"] == "store_read_only"
        assert f"the store {home / 'gsm.db'} is read-only" in err["message"]
        assert wanted in err["message"]
    assert snapshot(home) == before
    if old != "empty file":
        uri = f"{(home / 'gsm.db').as_uri()}?mode=ro&immutable=1"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        assert version == [(old,)]


COMMANDS = (
    ("server", "list", "--json"),
    ("config", "list", "--json"),
    ("config", "set", "backup.retention", "3", "--json"),
    ("server", "create", "beta", "--game", "minecraft", "--json"),
    ("sync", "status", "--json"),
)


def test_gsm_home_that_is_a_file_is_refused(gsm_user: Gsm, base: Path) -> None:
    home = base / "home"
    home.write_text("not a folder\n")
    before = snapshot(base)
    for args in COMMANDS:
        # Not even root can make a folder where a file is: run as this process's user.
        result = gsm_user(home, *args, privileged=True)
        assert result.returncode == 4, (args, result.stderr)
        assert_honest(result)
        err = error(result)
        assert err["code"] == "home_unusable"
        assert err["message"] == (
            f"gsm cannot create its GSM_HOME folder {home}: {home} is a file, not a folder"
        )
        assert "GSM_HOME" in err["hint"]
    assert snapshot(base) == before


@pytest.mark.parametrize("layout", ["parent read-only", "home read-only and empty"])
def test_gsm_home_that_cannot_be_made_or_written_is_refused(
    gsm_user: Gsm, base: Path, layout: str
) -> None:
    parent = base / "parent"
    parent.mkdir()
    home = parent / "home"
    if layout == "parent read-only":
        blocker, wanted = parent, f"its GSM_HOME folder {home}"
    else:
        home.mkdir()
        home.chmod(0o555)
        blocker, wanted = home, f"its store {home / 'gsm.db'}"
    parent.chmod(0o555)
    before = snapshot(base)
    for args in COMMANDS:
        result = gsm_user(home, *args)
        assert result.returncode == 4, (args, result.stderr)
        assert_honest(result)
        err = error(result)
        assert err["code"] == "home_unusable"
        assert err["message"] == f"gsm cannot create {wanted}: {blocker} is not writable"
    assert snapshot(base) == before


def test_commands_that_run_or_archive_a_server_are_refused_on_a_read_only_store(
    gsm_user: Gsm, base: Path
) -> None:
    """start, restart and backup write files (logs, run/, archives) before the store: on a
    read-only store they are refused up front, with the read-only message, and create nothing."""
    home = base / "home"
    make_store(gsm_user, home)
    (home / "gsm.db").chmod(0o666)
    home.chmod(0o555)
    before = snapshot(home)

    for args in (
        ("server", "start", "alpha", "--json"),
        ("server", "restart", "alpha", "--json"),
        ("server", "backup", "alpha", "--json"),
    ):
        result = gsm_user(home, *args)
        assert result.returncode == 4, (args, result.stdout, result.stderr)
        assert_honest(result)
        assert error(result)["code"] == "store_read_only", result.stderr
    assert snapshot(home) == before


def doctor_checks(gsm_user: Gsm, home: Path, **kwargs: Any) -> dict[str, dict[str, Any]]:
    result = gsm_user(home, "doctor", "--json", **kwargs)
    assert result.returncode == 8, (result.stdout, result.stderr)  # a failing check, no crash
    assert_honest(result)
    return {c["name"]: c for c in json.loads(result.stdout)}


def test_doctor_tells_the_truth_about_an_unusable_home(gsm_user: Gsm, base: Path) -> None:
    as_file = base / "file-home"
    as_file.write_text("not a folder\n")
    checks = doctor_checks(gsm_user, as_file, privileged=True)
    assert checks["store"]["status"] == "fail"
    assert f"{as_file} is a file, not a folder" in checks["store"]["detail"]
    assert checks["data folder"]["status"] == "fail"

    parent = base / "locked"
    (parent / "home").mkdir(parents=True)
    parent.chmod(0o700)  # the unprivileged user cannot even look inside
    checks = doctor_checks(gsm_user, parent / "home")
    assert checks["store"]["status"] == "fail"
    assert "cannot reach its store" in checks["store"]["detail"]


def test_doctor_fails_an_old_store_it_cannot_upgrade(gsm_user: Gsm, base: Path) -> None:
    from gsm_cli.store import migrate
    from gsm_cli.store.database import make_engine

    home = base / "home"
    home.mkdir()
    engine = make_engine(home / "gsm.db")
    migrate.upgrade(engine, "0004_sync_state")
    engine.dispose()
    home.chmod(0o555)
    checks = doctor_checks(gsm_user, home)
    assert checks["store"]["status"] == "warn"
    assert checks["store schema"]["status"] == "fail"
    assert "gsm cannot upgrade it" in checks["store schema"]["detail"]
    assert "upgrades it in place" not in json.dumps(checks)
