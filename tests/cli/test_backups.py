"""Server backups: archives with their sha256, excludes, retention, and safe, atomic restores."""

import gzip
import hashlib
import io
import os
import re
import shutil
import tarfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gsm_cli.errors import (
    ConflictError,
    ExitCode,
    InvalidInputError,
    NotFoundError,
    VerificationError,
)
from gsm_cli.paths import Paths, resolve_paths
from gsm_cli.services import backups, servers, settings
from gsm_cli.services.servers import ServerChanges
from gsm_cli.store import Store
from gsm_cli.store.models import LocalServer, PendingSyncOperation, ServerBackup

needs_symlinks = pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges")


@dataclass
class Setup:
    home: Path
    env: dict[str, str]
    paths: Paths
    store: Store
    server: LocalServer

    @property
    def install(self) -> Path:
        assert self.server.install_path
        return Path(self.server.install_path)

    def backup(self, **kwargs: Any) -> backups.Backup:
        return backups.create_backup(self.store, self.paths, self.env, "s1", **kwargs)

    def restore(self, ref: str, **kwargs: Any) -> backups.Backup:
        kwargs.setdefault("is_running", lambda server: False)
        return backups.restore_backup(self.store, "s1", ref, **kwargs)

    def rows(self) -> list[ServerBackup]:
        with self.store.read() as session:
            return list(session.scalars(select(ServerBackup)))


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    env = {"GSM_HOME": str(tmp_path)}
    paths = resolve_paths(env)
    store = Store.open(tmp_path / "gsm.db")
    server = servers.create(store, paths, "custom", ServerChanges(name="s1", command="sleep 1"))
    install = Path(server.install_path or "")
    (install / "world").mkdir()
    (install / "world" / "level.dat").write_bytes(bytes(range(256)) * 40)
    (install / "world" / "region").mkdir()
    (install / "world" / "region" / "r.0.0.mca").write_bytes(os.urandom(200_000))
    (install / "config.ini").write_text("port = 2456\nname = Valhalla\n")
    (install / "empty-folder").mkdir()
    (install / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (install / "run.sh").chmod(0o755)
    try:
        yield Setup(tmp_path, env, paths, store, server)
    finally:
        store.close()


def snapshot(folder: Path) -> dict[str, object]:
    """Every file's bytes, every folder and every link target, by relative path."""
    found: dict[str, object] = {}
    for current, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(current, name)
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                found[rel] = "folder"
            else:
                found[rel] = path.read_bytes()
    return found


def tree(home: Path) -> set[str]:
    """Every path under the test's home except the store's own files."""
    return {
        p.relative_to(home).as_posix() for p in home.rglob("*") if not p.name.startswith("gsm.db")
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def members(archive: Path) -> set[str]:
    with tarfile.open(archive, "r:gz") as tar:
        return set(tar.getnames())


def clock(*times: datetime) -> Callable[[], datetime]:
    queue = list(times)
    return lambda: queue.pop(0)


T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


# --- backup, list, restore -----------------------------------------------------------------------


def test_backup_list_and_restore_round_trip(setup: Setup) -> None:
    before = snapshot(setup.install)
    progress: list[tuple[int, int | None, str | None]] = []

    backup = setup.backup(report=lambda done, total, label: progress.append((done, total, label)))

    archive = Path(backup.path)
    assert archive.parent == setup.paths.backup_dir / "s1"
    assert re.fullmatch(r"s1-\d{8}T\d{6}Z\.tar\.gz", archive.name)
    assert backup.sha256 == sha256(archive)
    assert backup.size_bytes == archive.stat().st_size
    assert backup.server_name == "s1" and backup.server_id == setup.server.id
    assert backup.created_at and backup.created_at.endswith("Z")
    [row] = setup.rows()
    assert (row.id, row.path, row.sha256, row.size_bytes) == (
        backup.id,
        str(archive),
        backup.sha256,
        backup.size_bytes,
    )
    assert not list(archive.parent.glob("*.partial"))
    file_bytes = sum(len(v) for v in before.values() if isinstance(v, bytes))
    assert progress[0] == (0, file_bytes, "backing up s1")
    assert progress[-1][:2] == (file_bytes, file_bytes)
    assert [b.to_dict() for b in backups.list_backups(setup.store, "s1")] == [backup.to_dict()]
    assert (backup.backend, backup.snapshot_id) == ("archive", None)
    assert set(backup.to_dict()) == {
        "id",
        "server_id",
        "server_name",
        "backend",
        "path",
        "snapshot_id",
        "sha256",
        "size_bytes",
        "created_at",
    }

    (setup.install / "config.ini").write_text("port = 9999\n")
    (setup.install / "world" / "level.dat").unlink()
    (setup.install / "added-later.txt").write_text("should disappear")
    layout = tree(setup.home)
    progress.clear()

    restored = setup.restore(backup.id, report=lambda d, t, label: progress.append((d, t, label)))

    assert restored == backup
    assert snapshot(setup.install) == before
    if os.name != "nt":
        assert os.access(setup.install / "run.sh", os.X_OK)
    assert tree(setup.home) == layout - {"servers/s1/added-later.txt"} | {
        "servers/s1/world/level.dat"
    }
    assert progress[-1] == (archive.stat().st_size, archive.stat().st_size, "restoring s1")
    assert any(label and label.startswith("verifying") for _, _, label in progress)


def test_restore_finds_a_backup_by_id_prefix_or_file_name(setup: Setup) -> None:
    backup = setup.backup()
    (setup.install / "config.ini").write_text("changed")
    assert setup.restore(backup.id[:6]).id == backup.id
    assert (setup.install / "config.ini").read_text().startswith("port = 2456")

    (setup.install / "config.ini").write_text("changed again")
    assert setup.restore(Path(backup.path).name).id == backup.id
    assert (setup.install / "config.ini").read_text().startswith("port = 2456")

    with pytest.raises(NotFoundError) as short:
        setup.restore(backup.id[:5])  # too short to be taken as a prefix
    assert short.value.exit_code == ExitCode.NOT_FOUND
    with pytest.raises(NotFoundError):
        backups.delete_backup(setup.store, "s1", "no-such-backup")
    with pytest.raises(NotFoundError):
        backups.list_backups(setup.store, "nope")


def test_an_ambiguous_id_prefix_is_refused(setup: Setup) -> None:
    first, second = setup.backup(), setup.backup()
    with setup.store.write() as session:  # give both ids the same first 8 characters
        for backup, tail in ((first, "1"), (second, "2")):
            row = session.get(ServerBackup, backup.id)
            assert row is not None
            row.id = f"abcdef00-0000-0000-0000-00000000000{tail}"
    with pytest.raises(InvalidInputError, match="matches 2 backups"):
        setup.restore("abcdef00")
    assert setup.restore("abcdef00-0000-0000-0000-000000000002").path == second.path


@needs_symlinks
def test_links_inside_the_folder_are_kept(setup: Setup) -> None:
    (setup.install / "latest").symlink_to("world/level.dat")
    (setup.install / "maps").symlink_to("world", target_is_directory=True)
    before = snapshot(setup.install)
    backup = setup.backup()
    (setup.install / "latest").unlink()
    setup.restore(backup.id)
    assert snapshot(setup.install) == before
    assert (setup.install / "latest").is_symlink()


def test_hard_links_come_back_as_hard_links_and_progress_reaches_the_total(setup: Setup) -> None:
    os.link(setup.install / "config.ini", setup.install / "config-copy.ini")
    before = snapshot(setup.install)
    progress: list[tuple[int, int | None, str | None]] = []
    backup = setup.backup(report=lambda done, total, label: progress.append((done, total, label)))
    assert progress[-1][0] == progress[-1][1]
    (setup.install / "config-copy.ini").unlink()

    setup.restore(backup.id)

    assert snapshot(setup.install) == before
    assert os.path.samefile(setup.install / "config.ini", setup.install / "config-copy.ini")


# --- what goes into an archive -------------------------------------------------------------------


def test_excluded_patterns_are_left_out(setup: Setup) -> None:
    (setup.install / "cache").mkdir()
    (setup.install / "cache" / "a.bin").write_bytes(b"x" * 100)
    (setup.install / "server.log").write_text("log")
    (setup.install / "world" / "deep.log").write_text("log")
    (setup.install / "world" / "keep.txt").write_text("kept")
    settings.set_setting(setup.store, "backup.exclude", "cache/*,*.log")

    names = members(Path(setup.backup().path))

    assert "world/keep.txt" in names and "config.ini" in names
    assert "cache/a.bin" not in names
    assert "server.log" not in names and "world/deep.log" not in names


def test_default_exclude_drops_logs_and_backup_dir_setting_is_used(setup: Setup) -> None:
    (setup.install / "server.log").write_text("log")
    elsewhere = setup.home / "elsewhere"
    settings.set_setting(setup.store, "backup.dir", str(elsewhere))

    backup = setup.backup()

    assert Path(backup.path).parent == elsewhere / "s1"
    names = members(Path(backup.path))
    assert "server.log" not in names and "world/level.dat" in names


def test_a_backup_folder_inside_the_server_folder_is_not_archived_into_itself(
    setup: Setup,
) -> None:
    settings.set_setting(setup.store, "backup.dir", str(setup.install / "backups"))
    setup.backup()
    second = setup.backup()
    assert not any(name.startswith("backups") for name in members(Path(second.path)))


def test_backup_of_a_missing_folder_fails_clearly_and_leaves_nothing(setup: Setup) -> None:
    shutil.rmtree(setup.install)

    with pytest.raises(NotFoundError, match="missing") as err:
        setup.backup()

    assert err.value.exit_code == ExitCode.NOT_FOUND
    assert setup.rows() == []
    folder = setup.paths.backup_dir / "s1"
    assert not folder.exists() or not any(folder.iterdir())


def test_two_backups_in_the_same_second_do_not_collide(setup: Setup, mocker) -> None:
    mocker.patch.object(backups, "_utc_now", return_value=T0)
    first = setup.backup()
    second = setup.backup()
    assert first.path != second.path
    assert Path(first.path).name == "s1-20260301T120000Z.tar.gz"
    assert Path(second.path).name == "s1-20260301T120000Z-2.tar.gz"
    assert Path(first.path).exists() and Path(second.path).exists()
    assert [b.id for b in backups.list_backups(setup.store, "s1")] == [second.id, first.id]


# --- the store: last_backup, the outbox, retention -----------------------------------------------


def test_backup_sets_last_backup_and_queues_a_sync_update(setup: Setup, mocker) -> None:
    mocker.patch.object(backups, "_utc_now", return_value=T0)
    backup = setup.backup()

    with setup.store.read() as session:
        server = session.get(LocalServer, setup.server.id)
        ops = session.scalars(
            select(PendingSyncOperation).where(
                PendingSyncOperation.entity_id == setup.server.id,
                PendingSyncOperation.operation_type == "update",
            )
        ).all()
    assert server is not None and server.last_backup == "2026-03-01 12:00:00"
    assert servers.to_dict(server)["last_backup"] == "2026-03-01T12:00:00Z"
    assert backup.created_at == "2026-03-01T12:00:00Z"
    assert len(ops) == 1
    assert ops[0].entity_type == "game_server"
    assert ops[0].data_payload["last_backup"] == "2026-03-01 12:00:00"


def test_retention_keeps_the_newest_and_deletes_older_rows_and_files(setup: Setup, mocker) -> None:
    times = [T0 + timedelta(minutes=i) for i in range(4)]
    mocker.patch.object(backups, "_utc_now", side_effect=clock(*times))
    made = [setup.backup(keep=3) for _ in range(3)]
    assert len(setup.rows()) == 3

    newest = setup.backup(keep=2)

    kept = backups.list_backups(setup.store, "s1")
    assert [b.id for b in kept] == [newest.id, made[2].id]
    assert not Path(made[0].path).exists() and not Path(made[1].path).exists()
    assert Path(made[2].path).exists() and Path(newest.path).exists()
    assert {r.id for r in setup.rows()} == {newest.id, made[2].id}


def test_retention_setting_applies_when_keep_is_not_given(setup: Setup, mocker) -> None:
    settings.set_setting(setup.store, "backup.retention", "1")
    mocker.patch.object(backups, "_utc_now", side_effect=clock(T0, T0 + timedelta(seconds=1)))
    old = setup.backup()
    new = setup.backup()
    assert [b.id for b in backups.list_backups(setup.store, "s1")] == [new.id]
    assert not Path(old.path).exists()
    assert sorted(p.name for p in Path(new.path).parent.iterdir()) == [Path(new.path).name]
    with pytest.raises(InvalidInputError):
        setup.backup(keep=0)


def test_delete_backup_removes_the_row_and_the_file(setup: Setup) -> None:
    keep, drop = setup.backup(), setup.backup()
    assert backups.delete_backup(setup.store, "s1", drop.id).id == drop.id
    assert not Path(drop.path).exists() and Path(keep.path).exists()
    assert [r.id for r in setup.rows()] == [keep.id]


# --- interruptions while backing up --------------------------------------------------------------


def test_an_interrupted_backup_leaves_no_archive_and_no_row(setup: Setup) -> None:
    def interrupt(done: int, total: int | None, label: str | None) -> None:
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        setup.backup(report=interrupt)

    assert setup.rows() == []
    assert list((setup.paths.backup_dir / "s1").iterdir()) == []
    assert setup.backup().sha256  # and the next backup works


def test_a_file_that_shrinks_while_archived_is_a_conflict(setup: Setup) -> None:
    big = setup.install / "a-big.bin"
    big.write_bytes(os.urandom(3 * backups.CHUNK))

    def shrink(done: int, total: int | None, label: str | None) -> None:
        if done >= backups.CHUNK and big.stat().st_size > 10:
            big.write_bytes(b"tiny")  # the game rewrote its file meanwhile

    with pytest.raises(ConflictError, match=r"a-big\.bin shrank"):
        setup.backup(report=shrink)

    assert setup.rows() == []
    assert list((setup.paths.backup_dir / "s1").iterdir()) == []


def test_a_failing_store_write_removes_the_archive(setup: Setup, mocker) -> None:
    mocker.patch("gsm_cli.store.outbox.record", side_effect=RuntimeError("disk I/O error"))
    with pytest.raises(RuntimeError):
        setup.backup()
    assert setup.rows() == []
    assert list((setup.paths.backup_dir / "s1").iterdir()) == []
    with setup.store.read() as session:
        server = session.get(LocalServer, setup.server.id)
    assert server is not None and server.last_backup is None


# --- restores that must be refused, leaving the old files as they were ---------------------------


def assert_untouched(setup: Setup, before: dict[str, object], layout: set[str]) -> None:
    assert snapshot(setup.install) == before
    assert tree(setup.home) == layout  # no temp or .old folder, nothing written outside


def test_restore_is_refused_while_the_server_runs(setup: Setup) -> None:
    backup = setup.backup()
    (setup.install / "config.ini").write_text("live change")
    before, layout = snapshot(setup.install), tree(setup.home)
    seen: list[str] = []

    def running(server: LocalServer) -> bool:
        seen.append(server.name)
        return True

    with pytest.raises(ConflictError, match="running") as err:
        setup.restore(backup.id, is_running=running)

    assert err.value.exit_code == ExitCode.CONFLICT == 5
    assert seen == ["s1"]
    assert_untouched(setup, before, layout)


def damage_and_rerecord(setup: Setup, backup: backups.Backup, data: bytes) -> None:
    """Replace the archive's bytes and record their sha256, so only the archive check is left."""
    Path(backup.path).write_bytes(data)
    with setup.store.write() as session:
        row = session.get(ServerBackup, backup.id)
        assert row is not None
        row.sha256 = hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: b"this is not a gzip file" * 50, id="not-gzip"),
        pytest.param(lambda data: data[: len(data) // 2], id="truncated-half"),
        pytest.param(lambda data: data[:-4], id="truncated-trailer"),
        pytest.param(
            lambda data: data[:2000] + bytes(b ^ 0xFF for b in data[2000:2400]) + data[2400:],
            id="corrupt-middle",
        ),
        pytest.param(
            lambda data: gzip.compress(b"not a tar archive, just text\n" * 100), id="gzip-not-tar"
        ),
    ],
)
def test_a_damaged_archive_is_refused_and_the_old_files_stay(
    setup: Setup, damage: Callable[[bytes], bytes]
) -> None:
    backup = setup.backup()
    damage_and_rerecord(setup, backup, damage(Path(backup.path).read_bytes()))
    (setup.install / "config.ini").write_text("current")
    before, layout = snapshot(setup.install), tree(setup.home)

    with pytest.raises(VerificationError) as err:
        setup.restore(backup.id)

    assert err.value.exit_code == ExitCode.VERIFICATION_FAILED == 8
    assert_untouched(setup, before, layout)


def test_an_archive_changed_after_the_backup_fails_its_checksum(setup: Setup) -> None:
    backup = setup.backup()
    data = bytearray(Path(backup.path).read_bytes())
    data[len(data) // 2] ^= 0x01
    Path(backup.path).write_bytes(bytes(data))
    (setup.install / "config.ini").write_text("current")
    before, layout = snapshot(setup.install), tree(setup.home)

    with pytest.raises(VerificationError, match="changed since the backup") as err:
        setup.restore(backup.id)

    assert err.value.code == "checksum_mismatch"
    assert_untouched(setup, before, layout)


def test_a_missing_archive_fails_verification(setup: Setup) -> None:
    backup = setup.backup()
    Path(backup.path).unlink()
    before, layout = snapshot(setup.install), tree(setup.home)
    with pytest.raises(VerificationError, match="missing"):
        setup.restore(backup.id)
    assert_untouched(setup, before, layout)


def handmade(setup: Setup, add: Callable[[tarfile.TarFile], None]) -> str:
    """A .tar.gz of our own making, recorded as a backup of s1 with its true sha256."""
    archive = setup.paths.backup_dir / "s1" / f"handmade-{uuid.uuid4().hex[:6]}.tar.gz"
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        put_file(tar, "ok.txt", b"a harmless file first")
        add(tar)
    backup_id = str(uuid.uuid4())
    with setup.store.write() as session:
        session.add(
            ServerBackup(
                id=backup_id,
                server_id=setup.server.id,
                path=str(archive),
                sha256=sha256(archive),
                size_bytes=archive.stat().st_size,
                created_at="2026-01-01 00:00:00",
            )
        )
    return backup_id


def put_file(tar: tarfile.TarFile, name: str, data: bytes = b"payload") -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def put_link(tar: tarfile.TarFile, name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    tar.addfile(info)


def put_device(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    info.devmajor, info.devminor = 1, 3
    tar.addfile(info)


UNSAFE = {
    "dotdot-file": lambda tar: put_file(tar, "../escape.txt"),
    "dotdot-inside-path": lambda tar: put_file(tar, "world/../../escape.txt"),
    "absolute-path": lambda tar: put_file(tar, "/tmp/gsm-test-absolute-escape.txt"),
    "symlink-outside": lambda tar: put_link(tar, "up", "../../outside"),
    "symlink-absolute": lambda tar: put_link(tar, "etc", "/etc"),
    "symlink-then-write-through-it": lambda tar: (
        put_link(tar, "d", "ok-folder"),
        put_file(tar, "d/x.txt"),
    ),
    "symlink-via-self-link": lambda tar: (
        put_link(tar, "a", "."),
        put_link(tar, "x", "a/.."),
    ),
    "symlink-defined-before-its-step": lambda tar: (
        put_link(tar, "x", "a/.."),
        put_link(tar, "a", "."),
    ),
    "hardlink-outside": lambda tar: put_link(tar, "h", "../outside.txt", tarfile.LNKTYPE),
    "device": lambda tar: put_device(tar, "null"),
}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=[needs_symlinks] if "link" in n else []) for n in UNSAFE]
)
def test_an_archive_that_reaches_outside_is_refused(setup: Setup, name: str) -> None:
    (setup.home / "outside.txt").write_text("secret")
    backup_id = handmade(setup, UNSAFE[name])
    before, layout = snapshot(setup.install), tree(setup.home)

    with pytest.raises(VerificationError) as err:
        setup.restore(backup_id)

    assert err.value.exit_code == ExitCode.VERIFICATION_FAILED
    assert_untouched(setup, before, layout)
    assert not Path("/tmp/gsm-test-absolute-escape.txt").exists()
    assert (setup.home / "outside.txt").read_text() == "secret"


def test_a_handmade_archive_without_tricks_restores(setup: Setup) -> None:
    """The refusals above come from the tricks, not from the archive being hand-made."""
    backup_id = handmade(setup, lambda tar: put_file(tar, "world/data.txt", b"fine"))
    setup.restore(backup_id)
    assert snapshot(setup.install) == {
        "ok.txt": b"a harmless file first",
        "world": "folder",
        "world/data.txt": b"fine",
    }


# --- the swap ------------------------------------------------------------------------------------


def failing_replace(mocker, when: Callable[[str, str], bool], error: BaseException) -> None:
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if when(os.fspath(src), os.fspath(dst)):
            raise error
        real(src, dst)

    mocker.patch("os.replace", side_effect=replace)


@pytest.mark.parametrize(
    "error",
    [PermissionError(13, "Access is denied"), KeyboardInterrupt()],
    ids=["os-error", "interrupt"],
)
def test_a_failure_mid_swap_puts_the_old_folder_back(setup: Setup, mocker, error) -> None:
    backup = setup.backup()
    (setup.install / "config.ini").write_text("current")
    before, layout = snapshot(setup.install), tree(setup.home)
    # The old folder has been moved aside; moving the restored one into place fails.
    failing_replace(mocker, lambda src, dst: ".gsm-restore-" in src, error)

    expected = KeyboardInterrupt if isinstance(error, KeyboardInterrupt) else ConflictError
    with pytest.raises(expected):
        setup.restore(backup.id)

    assert_untouched(setup, before, layout)


def test_a_folder_that_cannot_be_moved_aside_is_left_alone(setup: Setup, mocker) -> None:
    backup = setup.backup()
    (setup.install / "config.ini").write_text("current")
    before, layout = snapshot(setup.install), tree(setup.home)
    failing_replace(mocker, lambda src, dst: ".gsm-old-" in dst, PermissionError(13, "in use"))

    with pytest.raises(ConflictError, match="cannot move"):
        setup.restore(backup.id)

    assert_untouched(setup, before, layout)


def test_restore_recreates_a_deleted_server_folder(setup: Setup) -> None:
    before = snapshot(setup.install)
    backup = setup.backup()
    shutil.rmtree(setup.install)

    setup.restore(backup.id)

    assert snapshot(setup.install) == before
    assert sorted(p.name for p in setup.install.parent.iterdir()) == ["s1"]
