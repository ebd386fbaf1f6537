"""Server folders: which folders create and update --path refuse, and what delete --purge may
remove (only what is inside the server's own folder), with real files, links and mounts."""

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import GsmRunner, fake_game_command, free_port

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX paths and links")


def create(gsm: GsmRunner, name: str, *extra: str):
    return gsm(
        "server", "create", name, "--game", "custom", "--command", fake_game_command(),
        "--port", str(free_port()), "--json", *extra,
    )  # fmt: skip


def insert_record(home: Path, name: str, install_path: Path) -> None:
    """A server record as an older gsm wrote it, without any of today's checks."""
    with closing(sqlite3.connect(home / "gsm.db")) as conn, conn:
        conn.execute(
            "INSERT INTO local_servers (id, name, game_type, status, configuration, port, "
            "install_path) VALUES (?, ?, 'custom', 'stopped', ?, ?, ?)",
            (
                str(uuid.uuid4()),
                name,
                json.dumps({"command": "sleep 1"}),
                free_port(),
                str(install_path),
            ),
        )


def snapshot(root: Path) -> dict[str, str]:
    """Every file under a folder with the sha256 of its bytes."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def fill(folder: Path) -> None:
    (folder / "world").mkdir(parents=True, exist_ok=True)
    (folder / "world" / "level.dat").write_bytes(b"level" * 200)
    (folder / "server.properties").write_text("motd=hello\n")


@pytest.fixture
def home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's home folder, apart from GSM_HOME's parent so each rule is seen alone."""
    folder = tmp_path_factory.mktemp("user-home")
    monkeypatch.setenv("HOME", str(folder))
    return folder


# --- create and update --path -----------------------------------------------------------------


@dataclass
class Setup:
    gsm_home: Path
    home: Path
    backup_dir: Path  # the backup.dir setting
    other: Path  # the folder of server 'other'


@pytest.fixture
def setup(gsm: GsmRunner, gsm_home: Path, home: Path, tmp_path: Path) -> Setup:
    backup_dir = tmp_path / "bk-area" / "backups"
    assert gsm("config", "set", "backup.dir", str(backup_dir)).exit_code == 0
    other = tmp_path / "srv" / "other"
    made = create(gsm, "other", "--path", str(other))
    assert made.exit_code == 0, made.stderr
    return Setup(gsm_home, home, backup_dir, other)


# name: (the folder, its JSON code, what the message says)
REFUSED: dict[str, Callable[[Setup], tuple[Path, str, str]]] = {
    "root": lambda s: (Path("/"), "unsafe_path", "it is the root of a file system"),
    "home": lambda s: (s.home, "unsafe_path", "it is your home folder"),
    "contains home": lambda s: (s.home.parent, "unsafe_path", "contains your home folder"),
    "GSM_HOME": lambda s: (s.gsm_home, "unsafe_path", "it is GSM_HOME"),
    "inside GSM_HOME": lambda s: (
        s.gsm_home / "games" / "x",
        "unsafe_path",
        f"lies inside GSM_HOME {s.gsm_home}",
    ),
    "the servers area": lambda s: (s.gsm_home / "servers", "unsafe_path", "lies inside GSM_HOME"),
    "contains GSM_HOME": lambda s: (
        s.gsm_home.parent,
        "unsafe_path",
        f"contains GSM_HOME {s.gsm_home}",
    ),
    "logs": lambda s: (s.gsm_home / "logs", "unsafe_path", "it is gsm's logs folder"),
    "inside logs": lambda s: (
        s.gsm_home / "logs" / "servers" / "x",
        "unsafe_path",
        "lies inside gsm's logs folder",
    ),
    "config": lambda s: (s.gsm_home / "config", "unsafe_path", "it is gsm's config folder"),
    "backups": lambda s: (s.gsm_home / "backups", "unsafe_path", "it is gsm's backups folder"),
    "backup.dir": lambda s: (s.backup_dir, "unsafe_path", "it is the backup.dir folder"),
    "inside backup.dir": lambda s: (
        s.backup_dir / "x",
        "unsafe_path",
        "lies inside the backup.dir folder",
    ),
    "contains backup.dir": lambda s: (
        s.backup_dir.parent,
        "unsafe_path",
        "contains the backup.dir folder",
    ),
    "another server's folder": lambda s: (
        s.other,
        "path_taken",
        "it is the folder of server 'other'",
    ),
    "inside another server's folder": lambda s: (
        s.other / "sub",
        "path_taken",
        "lies inside the folder of server 'other'",
    ),
    "contains another server's folder": lambda s: (
        s.other.parent,
        "path_taken",
        "contains the folder of server 'other'",
    ),
    "a link to another server's folder": lambda s: (
        _link(s.other, s.home / "link-to-other"),
        "path_taken",
        "it is the folder of server 'other'",
    ),
}


def _link(target: Path, link: Path) -> Path:
    link.symlink_to(target, target_is_directory=True)
    return link


@pytest.mark.parametrize("case", REFUSED)
def test_create_refuses(gsm: GsmRunner, setup: Setup, case: str) -> None:
    folder, code, reason = REFUSED[case](setup)
    existed = folder.exists()
    result = create(gsm, "new", "--path", str(folder))
    assert result.exit_code == 4, result.stderr
    error = result.error()
    assert error["code"] == code
    assert "cannot be a server's folder" in error["message"] and reason in error["message"]
    assert gsm("server", "show", "new").exit_code == 3
    assert folder.exists() == existed  # not even created


@pytest.mark.parametrize("case", REFUSED)
def test_update_path_refuses(gsm: GsmRunner, setup: Setup, case: str) -> None:
    before = create(gsm, "victim").json()
    folder, code, reason = REFUSED[case](setup)
    existed = folder.exists()
    result = gsm("server", "update", "victim", "--path", str(folder), "--json")
    assert result.exit_code == 4, result.stderr
    assert result.error()["code"] == code and reason in result.error()["message"]
    after = gsm("server", "show", "victim", "--json").json()
    assert after["install_path"] == before["install_path"]
    assert folder.exists() == existed


def test_the_default_folder_and_folders_of_their_own_are_allowed(
    gsm: GsmRunner, setup: Setup, tmp_path: Path
) -> None:
    made = create(gsm, "alpha")
    assert made.exit_code == 0, made.stderr
    assert made.json()["install_path"] == str(setup.gsm_home / "servers" / "alpha")
    moved = gsm("server", "update", "alpha", "--path", str(setup.gsm_home / "servers" / "a2"))
    assert moved.exit_code == 0, moved.stderr
    beside = create(gsm, "beside", "--path", str(setup.other.parent / "beside"))
    assert beside.exit_code == 0, beside.stderr
    # The server's own folder is not "another server's": updating to a folder inside it is fine.
    inner = gsm("server", "update", "other", "--path", str(setup.other / "inner"))
    assert inner.exit_code == 0, inner.stderr


def test_a_renamed_servers_old_default_folder_is_not_given_to_a_new_server(
    gsm: GsmRunner, gsm_home: Path, home: Path
) -> None:
    assert create(gsm, "alpha").exit_code == 0
    assert gsm("server", "update", "alpha", "--name", "beta").exit_code == 0
    again = create(gsm, "alpha")  # its default folder servers/alpha is beta's
    assert again.exit_code == 4
    assert again.error()["code"] == "path_taken" and "'beta'" in again.error()["message"]


# --- delete --purge ---------------------------------------------------------------------------


def test_a_record_holding_gsm_home_purges_nothing(
    gsm: GsmRunner, gsm_home: Path, home: Path
) -> None:
    """Seen in practice: an older gsm accepted --path $GSM_HOME; the purge wiped the store and
    every backup."""
    made = create(gsm, "mc")
    fill(Path(made.json()["install_path"]))
    assert gsm("server", "backup", "mc", "--json").exit_code == 0
    insert_record(gsm_home, "old", gsm_home)
    before = snapshot(gsm_home)
    assert any(name.endswith(".tar.gz") for name in before) and "gsm.db" in before

    result = gsm("server", "delete", "old", "--purge", "--yes", "--json")
    assert result.exit_code == 4, result.stderr
    assert result.error()["code"] == "unsafe_path"
    assert result.error()["message"] == (
        f"will not purge server old: its folder {gsm_home} is GSM_HOME"
    )
    assert "without --purge" in result.error()["hint"]
    assert snapshot(gsm_home) == before  # the store and every backup, byte for byte

    plain = gsm("server", "delete", "old", "--json")  # the record alone can still go
    assert plain.exit_code == 0, plain.stderr
    assert plain.json()["purged"] is False
    after = snapshot(gsm_home)
    assert {k: v for k, v in after.items() if k != "gsm.db"} == {
        k: v for k, v in before.items() if k != "gsm.db"
    }


def test_two_records_on_one_folder_purge_neither(
    gsm: GsmRunner, gsm_home: Path, home: Path, tmp_path: Path
) -> None:
    """Seen in practice: two servers on one folder; the purge of one deleted the other's files."""
    shared = tmp_path / "srv" / "shared"
    assert create(gsm, "alpha", "--path", str(shared)).exit_code == 0
    insert_record(gsm_home, "beta", shared)
    fill(shared)
    files = snapshot(shared)

    for name, other in (("alpha", "beta"), ("beta", "alpha")):
        result = gsm("server", "delete", name, "--purge", "--yes", "--json")
        assert result.exit_code == 4, result.stderr
        assert result.error()["code"] == "path_taken"
        assert result.error()["message"] == (
            f"will not purge server {name}: its folder {shared} is the folder of server {other!r}"
        )
    assert snapshot(shared) == files
    assert {s["name"] for s in gsm("server", "list", "--json").json()} == {"alpha", "beta"}

    # Once the folder is alpha's alone, its purge goes through.
    assert gsm("server", "delete", "beta").exit_code == 0
    done = gsm("server", "delete", "alpha", "--purge", "--yes", "--json")
    assert done.exit_code == 0, done.stderr
    assert not shared.exists()


def test_a_folder_inside_another_servers_folder_is_not_purged(
    gsm: GsmRunner, gsm_home: Path, home: Path, tmp_path: Path
) -> None:
    outer = tmp_path / "srv" / "outer"
    assert create(gsm, "outer", "--path", str(outer)).exit_code == 0
    insert_record(gsm_home, "inner", outer / "inner")
    fill(outer / "inner")
    for name, phrase in (("inner", "lies inside"), ("outer", "contains")):
        result = gsm("server", "delete", name, "--purge", "--yes", "--json")
        assert result.exit_code == 4
        assert result.error()["code"] == "path_taken" and phrase in result.error()["message"]
    assert (outer / "inner" / "server.properties").is_file()


def test_a_folder_holding_recorded_backups_is_not_purged(
    gsm: GsmRunner, home: Path, tmp_path: Path
) -> None:
    """backup.dir once pointed inside a server's folder: the archives made then stay safe after
    the setting changed."""
    host = tmp_path / "srv" / "host"
    assert create(gsm, "host", "--path", str(host)).exit_code == 0
    made = create(gsm, "other")
    fill(Path(made.json()["install_path"]))
    assert gsm("config", "set", "backup.dir", str(host / "bk")).exit_code == 0
    archive = Path(gsm("server", "backup", "other", "--json").json()["path"])
    assert gsm("config", "unset", "backup.dir").exit_code == 0

    result = gsm("server", "delete", "host", "--purge", "--yes", "--json")
    assert result.exit_code == 4
    assert result.error()["code"] == "unsafe_path"
    assert "holds backup archives" in result.error()["message"]
    assert archive.is_file()


def test_the_current_backup_dir_inside_a_servers_folder_is_not_purged(
    gsm: GsmRunner, home: Path, tmp_path: Path
) -> None:
    host = tmp_path / "srv" / "host"
    assert create(gsm, "host", "--path", str(host)).exit_code == 0
    assert gsm("config", "set", "backup.dir", str(host / "bk")).exit_code == 0
    result = gsm("server", "delete", "host", "--purge", "--yes", "--json")
    assert result.exit_code == 4
    assert result.error()["message"] == (
        f"will not purge server host: its folder {host} contains the backup.dir folder "
        f"{host / 'bk'}"
    )
    assert host.is_dir()


def test_purge_lists_what_it_will_delete_before_asking(gsm: GsmRunner, home: Path) -> None:
    folder = Path(create(gsm, "alpha").json()["install_path"])
    for index in range(7):
        (folder / f"file{index}.txt").write_bytes(b"x" * 1000)
    (folder / "world").mkdir()
    (folder / "world" / "level.dat").write_bytes(b"y" * 500)

    asked = gsm("server", "delete", "alpha", "--purge")  # no terminal: --yes is required
    assert asked.exit_code == 2
    lines = asked.stderr.splitlines()
    assert lines[0] == f"will delete {folder}: 8 files in 2 folders, 7.5 kB"
    assert lines[1] == "  file0.txt  file1.txt  file2.txt  file3.txt  file4.txt  ... and 3 more"
    assert "Pass --yes to confirm" in asked.stderr
    assert len(list(folder.iterdir())) == 8  # nothing deleted

    done = gsm("server", "delete", "alpha", "--purge", "--yes", "--json")
    assert done.exit_code == 0, done.stderr
    assert f"will delete {folder}: 8 files" in done.stderr
    result = done.json()
    assert (result["files_deleted"], result["folders_deleted"]) == (8, 1)
    assert (result["bytes_deleted"], result["kept"]) == (7500, [])
    assert not folder.exists()


@pytest.fixture(params=["fd", "paths"])
def removal(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of removing: through directory descriptors (POSIX), and by path (Windows)."""
    from gsm_cli.services import folders

    if request.param == "paths":
        monkeypatch.setattr(folders, "_FD_REMOVAL", False)
    elif not folders._FD_REMOVAL:
        pytest.skip("this platform removes by path")
    return request.param


def test_purge_removes_links_not_what_they_point_to(
    gsm: GsmRunner, home: Path, tmp_path: Path, removal: str
) -> None:
    folder = Path(create(gsm, "alpha").json()["install_path"])
    outside = tmp_path / "outside"
    (outside / "saves").mkdir(parents=True)
    (outside / "saves" / "precious.dat").write_text("precious")
    (outside / "notes.txt").write_text("mine")
    (folder / "saves").symlink_to(outside / "saves", target_is_directory=True)
    (folder / "deep").mkdir()
    (folder / "deep" / "notes.txt").symlink_to(outside / "notes.txt")
    (folder / "deep" / "up").symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)

    done = gsm("server", "delete", "alpha", "--purge", "--yes", "--json")
    assert done.exit_code == 0, done.stderr
    assert "3 symbolic links inside: removed as links" in done.stderr
    assert snapshot(outside) == before
    assert not folder.exists() and not os.path.lexists(folder)
    assert done.json()["files_deleted"] == 3


def test_a_symlinked_server_folder_loses_only_its_link(
    gsm: GsmRunner, home: Path, tmp_path: Path
) -> None:
    folder = Path(
        create(gsm, "alpha", "--path", str(tmp_path / "srv" / "alpha")).json()["install_path"]
    )
    real = tmp_path / "disk" / "alpha"
    real.parent.mkdir()
    folder.rename(real)
    folder.symlink_to(real, target_is_directory=True)
    fill(real)
    before = snapshot(real)

    done = gsm("server", "delete", "alpha", "--purge", "--yes", "--json")
    assert done.exit_code == 0, done.stderr
    assert f"{folder} is a symbolic link to {real}: only the link will be removed" in done.stderr
    assert done.json()["link_only"] is True
    assert not os.path.lexists(folder)
    assert snapshot(real) == before


# --- another file system inside the folder (needs root to mount) -------------------------------


@pytest.fixture
def tmpfs() -> Iterator[Callable[[Path], Path]]:
    """Mount small tmpfs file systems; each is unmounted afterwards wherever it ended up."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root on Linux")
    source = f"gsm-test-{uuid.uuid4().hex[:12]}"

    def mount(point: Path) -> Path:
        point.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", source, str(point)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        return point

    yield mount
    for point in reversed(_mounts_of(source)):
        subprocess.run(["umount", "-l", point], check=False)


def _mounts_of(source: str) -> list[str]:
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        return [line.split()[1] for line in mounts if line.split()[0] == source]


def _mount_now_at(point: Path) -> bool:
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        return any(line.split()[1] == str(point) for line in mounts)


def test_purge_does_not_cross_into_another_file_system(
    gsm: GsmRunner, home: Path, tmp_path: Path, tmpfs: Callable[[Path], Path], removal: str
) -> None:
    folder = Path(
        create(gsm, "alpha", "--path", str(tmp_path / "srv" / "alpha")).json()["install_path"]
    )
    fill(folder)
    mounted = tmpfs(folder / "world" / "backups-disk")
    (mounted / "week1.tar").write_text("on another disk")

    done = gsm("server", "delete", "alpha", "--purge", "--yes", "--json")
    assert done.exit_code == 0, done.stderr
    assert (mounted / "week1.tar").read_text() == "on another disk"
    assert f"kept: {mounted} (another file system)" in done.stderr
    assert done.json()["kept"] == [{"path": str(mounted), "reason": "another file system"}]
    assert _mount_now_at(mounted)  # still mounted where it was, not under a trash name
    assert not (folder / "server.properties").exists()
    assert sorted(p.name for p in folder.rglob("*")) == ["backups-disk", "week1.tar", "world"]


def test_a_server_folder_that_is_a_mount_point_is_emptied_not_removed(
    gsm: GsmRunner, home: Path, tmp_path: Path, tmpfs: Callable[[Path], Path]
) -> None:
    folder = tmpfs(tmp_path / "srv" / "alpha")
    assert create(gsm, "alpha", "--path", str(folder)).exit_code == 0
    fill(folder)

    done = gsm("server", "delete", "alpha", "--purge", "--yes", "--json")
    assert done.exit_code == 0, done.stderr
    assert done.json()["folder_kept"] is True and done.json()["files_deleted"] == 2
    assert _mount_now_at(folder)
    assert list(folder.iterdir()) == []
