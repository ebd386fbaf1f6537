"""gsm server backup / backups / restore, as an operator runs them."""

import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import GsmRunner, fake_game_command, free_port, wait_for

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX paths and signals")


@pytest.fixture
def server_dir(gsm: GsmRunner) -> Path:
    # A Minecraft server whose command is the fake game, so the catalog's save command applies.
    created = gsm(
        "server", "create", "mc", "--game", "minecraft", "--port", str(free_port()),
        "--command", fake_game_command(), "--json",
    )  # fmt: skip
    assert created.exit_code == 0, created.stderr
    folder = Path(created.json()["install_path"])
    (folder / "world").mkdir()
    (folder / "world" / "level.dat").write_bytes(b"level-1" * 1000)
    (folder / "server.properties").write_text("motd=hello\n")
    (folder / "latest.log").write_text("excluded by default\n")
    return folder


def test_backup_then_restore_round_trip(gsm: GsmRunner, server_dir: Path) -> None:
    made = gsm("server", "backup", "mc", "--json")
    assert made.exit_code == 0, made.stderr
    backup = made.json()
    assert Path(backup["path"]).is_file() and len(backup["sha256"]) == 64
    assert gsm("server", "show", "mc", "--json").json()["last_backup"] == backup["created_at"]
    listed = gsm("server", "backups", "mc", "--json").json()
    assert [b["id"] for b in listed] == [backup["id"]]

    (server_dir / "world" / "level.dat").write_bytes(b"griefed")
    (server_dir / "new-junk.txt").write_text("junk")
    restored = gsm("server", "restore", "mc", backup["id"][:8], "--yes", "--json")
    assert restored.exit_code == 0, restored.stderr
    assert (server_dir / "world" / "level.dat").read_bytes() == b"level-1" * 1000
    assert not (server_dir / "new-junk.txt").exists()
    assert not (server_dir / "latest.log").exists()  # *.log is excluded from backups


def test_keep_removes_the_oldest(gsm: GsmRunner, server_dir: Path) -> None:
    ids = [gsm("server", "backup", "mc", "--keep", "2", "--json").json()["id"] for _ in range(3)]
    listed = gsm("server", "backups", "mc", "--json").json()
    assert [b["id"] for b in listed] == ids[:0:-1]  # the two newest, newest first
    assert len(list(Path(listed[0]["path"]).parent.glob("*.tar.gz"))) == 2


def test_restore_needs_yes_off_a_terminal(gsm: GsmRunner, server_dir: Path) -> None:
    backup_id = gsm("server", "backup", "mc", "--json").json()["id"]
    result = gsm("server", "restore", "mc", backup_id)
    assert result.exit_code == 2 and "--yes" in result.stderr


def test_a_corrupt_archive_fails_verification_and_changes_nothing(
    gsm: GsmRunner, server_dir: Path
) -> None:
    backup = gsm("server", "backup", "mc", "--json").json()
    archive = Path(backup["path"])
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])  # truncated
    (server_dir / "server.properties").write_text("motd=current\n")
    result = gsm("server", "restore", "mc", backup["id"], "--yes", "--json")
    assert result.exit_code == 8
    assert result.error()["code"] == "checksum_mismatch"
    assert (server_dir / "server.properties").read_text() == "motd=current\n"
    assert sorted(p.name for p in server_dir.parent.iterdir()) == ["mc"]


def test_backup_of_a_running_server_saves_first(gsm: GsmRunner, server_dir: Path) -> None:
    assert gsm("server", "start", "mc").exit_code == 0
    made = gsm("server", "backup", "mc", "--json")
    assert made.exit_code == 0, made.stderr
    assert "saving mc first" in made.stderr
    logs = gsm("server", "logs", "mc").stdout
    assert "console: save-all flush" in logs and "Saved the game" in logs

    refused = gsm("server", "restore", "mc", made.json()["id"], "--yes", "--json")
    assert refused.exit_code == 5
    assert (server_dir / "world" / "level.dat").exists()

    (server_dir / "world" / "level.dat").write_bytes(b"changed")
    restored = gsm("server", "restore", "mc", made.json()["id"], "--yes", "--stop")
    assert restored.exit_code == 0, restored.stderr
    assert (server_dir / "world" / "level.dat").read_bytes() == b"level-1" * 1000
    assert wait_for(lambda: gsm("server", "status", "mc", "--json").json()["status"] == "running")
    assert gsm("server", "stop", "mc").exit_code == 0


def test_unknown_backup_is_not_found(gsm: GsmRunner, server_dir: Path) -> None:
    result = gsm("server", "restore", "mc", "nosuchbackup", "--yes", "--json")
    assert result.exit_code == 3


def test_an_unknown_backup_is_reported_before_asking(gsm: GsmRunner, server_dir: Path) -> None:
    assert gsm("server", "restore", "mc", "nosuchbackup").exit_code == 3  # no --yes needed


def test_restore_with_stop_checks_the_archive_before_stopping(
    gsm: GsmRunner, server_dir: Path
) -> None:
    backup = gsm("server", "backup", "mc", "--json").json()
    Path(backup["path"]).write_bytes(b"tampered")
    assert gsm("server", "start", "mc").exit_code == 0
    result = gsm("server", "restore", "mc", backup["id"], "--yes", "--stop", "--json")
    assert result.exit_code == 8
    assert gsm("server", "status", "mc", "--json").json()["status"] == "running"
    gsm("server", "stop", "mc")


@pytest.mark.skipif(shutil.which("restic") is None, reason="restic is not installed")
def test_restic_backup_of_a_running_server_saves_first_and_restore_needs_it_stopped(
    gsm: GsmRunner, server_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESTIC_PASSWORD", "e2e-password-9c1")
    monkeypatch.setenv("RESTIC_CACHE_DIR", str(tmp_path / "restic-cache"))
    gsm("config", "set", "backup.backend", "restic")
    gsm("config", "set", "backup.repository", str(tmp_path / "repo"))
    assert gsm("server", "start", "mc").exit_code == 0

    made = gsm("server", "backup", "mc", "--json")

    assert made.exit_code == 0, made.stderr
    assert "saving mc first" in made.stderr
    assert "Saved the game" in gsm("server", "logs", "mc").stdout
    snap = made.json()["snapshot_id"]
    refused = gsm("server", "restore", "mc", snap[:8], "--yes", "--json")
    assert refused.exit_code == 5 and "running" in refused.error()["message"]

    (server_dir / "world" / "level.dat").write_bytes(b"changed")
    restored = gsm("server", "restore", "mc", snap[:8], "--yes", "--stop")
    assert restored.exit_code == 0, restored.stderr
    assert (server_dir / "world" / "level.dat").read_bytes() == b"level-1" * 1000
    assert not (server_dir / "latest.log").exists()
    assert wait_for(lambda: gsm("server", "status", "mc", "--json").json()["status"] == "running")
    assert gsm("server", "stop", "mc").exit_code == 0
