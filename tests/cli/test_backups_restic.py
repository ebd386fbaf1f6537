"""Backups through restic (backup.backend = restic), against a real local repository.

Every test runs the real restic binary (installed by .ci/run) on a repository in tmp_path, with
the password in the test's own environment.
"""

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gsm_cli.errors import (
    ConflictError,
    ExitCode,
    InvalidInputError,
    NotAllowedError,
    NotFoundError,
    VerificationError,
)
from gsm_cli.paths import Paths, resolve_paths
from gsm_cli.services import backups, doctor, restic, servers, settings
from gsm_cli.services.servers import ServerChanges
from gsm_cli.store import Store
from gsm_cli.store.models import LocalServer, ServerBackup
from tests.cli.test_backups import snapshot, tree
from tests.conftest import GsmRunner

pytestmark = pytest.mark.skipif(shutil.which("restic") is None, reason="restic is not installed")
posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")

PASSWORD = "correct horse battery staple 7f3a"


@dataclass
class Setup:
    home: Path
    env: dict[str, str]
    paths: Paths
    store: Store
    server: LocalServer
    repo: Path

    @property
    def install(self) -> Path:
        assert self.server.install_path
        return Path(self.server.install_path)

    def backup(self, **kwargs: Any) -> backups.Backup:
        return backups.create_backup(self.store, self.paths, self.env, "s1", **kwargs)

    def restore(self, ref: str, **kwargs: Any) -> backups.Backup:
        kwargs.setdefault("is_running", lambda server: False)
        kwargs.setdefault("env", self.env)
        return backups.restore_backup(self.store, "s1", ref, **kwargs)

    def rows(self) -> list[ServerBackup]:
        with self.store.read() as session:
            return list(session.scalars(select(ServerBackup)))

    def restic(self, *args: str, env: dict[str, str] | None = None) -> str:
        """restic itself on the test repository, as an operator would run it."""
        done = subprocess.run(
            ["restic", *args],
            env={
                **self.env,
                "RESTIC_REPOSITORY": str(self.repo),
                "RESTIC_PASSWORD": PASSWORD,
                **(env or {}),
            },
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def snapshot_ids(self) -> set[str]:
        return {s["id"] for s in json.loads(self.restic("snapshots", "--json") or "[]")}


def restic_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "RESTIC_CACHE_DIR": str(tmp_path / "restic-cache"),
        "RESTIC_PASSWORD": PASSWORD,
    }


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    env = {"GSM_HOME": str(tmp_path / "home"), **restic_env(tmp_path)}
    paths = resolve_paths(env)
    store = Store.open(tmp_path / "gsm.db")
    server = servers.create(store, paths, "custom", ServerChanges(name="s1", command="sleep 1"))
    install = Path(server.install_path or "")
    (install / "world" / "region").mkdir(parents=True)
    (install / "world" / "level.dat").write_bytes(bytes(range(256)) * 40)
    (install / "world" / "region" / "r.0.0.mca").write_bytes(os.urandom(300_000))
    (install / "config.ini").write_text("port = 2456\n")
    (install / "empty-folder").mkdir()
    (install / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (install / "run.sh").chmod(0o755)
    if os.name != "nt":
        (install / "current-world").symlink_to("world")
    repo = tmp_path / "repo"
    settings.set_setting(store, "backup.backend", "restic")
    settings.set_setting(store, "backup.repository", str(repo))
    try:
        yield Setup(tmp_path, env, paths, store, server, repo)
    finally:
        store.close()


def test_round_trip_restores_identical_bytes_and_makes_the_repository(setup: Setup) -> None:
    (setup.install / "server.log").write_text("left out by backup.exclude\n")
    before = snapshot(setup.install)
    del before["server.log"]
    progress: list[tuple[int, int | None, str | None]] = []
    told: list[str] = []

    backup = setup.backup(
        report=lambda d, t, label: progress.append((d, t, label)), notify=told.append
    )

    assert told == [f"created the restic repository {setup.repo} (keep its password safe)"]
    assert (setup.repo / "config").is_file()
    assert backup.backend == "restic" and backup.path == str(setup.repo)
    assert backup.snapshot_id in setup.snapshot_ids() and len(backup.snapshot_id) == 64
    file_bytes = sum(len(v) for v in before.values() if isinstance(v, bytes))
    assert backup.size_bytes == file_bytes  # the log is not in it
    assert progress[0] == (0, None, "backing up s1")
    assert progress[-1] == (file_bytes, file_bytes, "backing up s1")
    [row] = setup.rows()
    assert (row.backend, row.snapshot_id, row.path, row.sha256) == (
        "restic",
        backup.snapshot_id,
        str(setup.repo),
        "",
    )
    info = json.loads(setup.restic("snapshots", "--json", backup.snapshot_id))[0]
    assert set(info["tags"]) == {"gsm", f"gsm-server-{setup.server.id}"}

    (setup.install / "config.ini").write_text("port = 9999\n")
    (setup.install / "world" / "level.dat").unlink()
    shutil.rmtree(setup.install / "empty-folder")
    (setup.install / "added-later.txt").write_text("should disappear")
    layout = tree(setup.home / "home")

    restored = setup.restore(backup.snapshot_id[:8])

    assert restored == backup
    assert snapshot(setup.install) == before
    if os.name != "nt":
        assert os.access(setup.install / "run.sh", os.X_OK)
    assert tree(setup.home / "home") == (
        layout - {"servers/s1/added-later.txt", "servers/s1/server.log"}
    ) | {"servers/s1/world/level.dat", "servers/s1/empty-folder"}


def test_retention_forgets_the_oldest_of_this_server_only(setup: Setup) -> None:
    first = setup.backup()
    # A snapshot gsm did not take, in the same repository: never gsm's to forget.
    other = setup.home / "other"
    other.mkdir()
    (other / "f").write_text("not gsm's")
    setup.restic("backup", "--tag", "gsm-server-someone-else", str(other))
    foreign = setup.snapshot_ids() - {first.snapshot_id}
    (setup.install / "config.ini").write_text("second\n")
    second = setup.backup(keep=2)
    (setup.install / "config.ini").write_text("third\n")

    third = setup.backup(keep=2)

    assert {r.snapshot_id for r in setup.rows()} == {second.snapshot_id, third.snapshot_id}
    assert setup.snapshot_ids() == {second.snapshot_id, third.snapshot_id} | foreign
    settings.set_setting(setup.store, "backup.retention", "1")
    fourth = setup.backup()
    assert [b.id for b in backups.list_backups(setup.store, "s1")] == [fourth.id]
    assert setup.snapshot_ids() == {fourth.snapshot_id} | foreign


def test_keep_daily_keeps_more_than_keep_last(setup: Setup) -> None:
    settings.set_setting(setup.store, "backup.keep_daily", "7")
    first = setup.backup(keep=1)
    second = setup.backup(keep=1)
    # Both were taken today: --keep-daily 7 keeps the newest of today, which is the second.
    assert {r.snapshot_id for r in setup.rows()} == {second.snapshot_id}
    assert first.snapshot_id not in setup.snapshot_ids()


def test_list_shows_both_backends_and_each_keeps_its_own_retention(setup: Setup) -> None:
    settings.set_setting(setup.store, "backup.backend", "archive")
    archive = setup.backup()
    settings.set_setting(setup.store, "backup.backend", "restic")
    snap = setup.backup(keep=1)
    settings.set_setting(setup.store, "backup.backend", "archive")
    archive2 = setup.backup(keep=1)

    listed = [b.to_dict() for b in backups.list_backups(setup.store, "s1")]
    assert [(b["id"], b["backend"]) for b in listed] == [
        (archive2.id, "archive"),
        (snap.id, "restic"),
    ]
    assert listed[1]["snapshot_id"] == snap.snapshot_id and listed[0]["snapshot_id"] is None
    assert not Path(archive.path).exists() and Path(archive2.path).is_file()
    assert snap.snapshot_id in setup.snapshot_ids()  # not touched by the archives' retention
    # A restic backup restores whatever the backend in force.
    (setup.install / "config.ini").write_text("changed\n")
    setup.restore(snap.id)
    assert (setup.install / "config.ini").read_text() == "port = 2456\n"


def test_delete_forgets_the_snapshot(setup: Setup) -> None:
    keep = setup.backup()
    drop = setup.backup()
    assert backups.delete_backup(setup.store, "s1", drop.id, env=setup.env).id == drop.id
    assert [r.id for r in setup.rows()] == [keep.id]
    assert setup.snapshot_ids() == {keep.snapshot_id}


def test_restore_refuses_a_running_server_and_changes_nothing(setup: Setup) -> None:
    backup = setup.backup()
    (setup.install / "config.ini").write_text("live change")
    before, layout = snapshot(setup.install), tree(setup.home / "home")

    with pytest.raises(ConflictError, match="running") as err:
        setup.restore(backup.id, is_running=lambda server: True)

    assert err.value.exit_code == ExitCode.CONFLICT
    assert snapshot(setup.install) == before and tree(setup.home / "home") == layout


def test_a_snapshot_gone_from_the_repository_fails_verification_and_changes_nothing(
    setup: Setup,
) -> None:
    backup = setup.backup()
    setup.restic("forget", backup.snapshot_id or "")
    before = snapshot(setup.install)
    with pytest.raises(VerificationError) as err:
        setup.restore(backup.id)
    assert err.value.code == "snapshot_missing"
    assert snapshot(setup.install) == before
    assert not [p for p in setup.install.parent.iterdir() if p.name != "s1"]


def test_a_backup_of_another_repository_is_not_looked_for_in_this_one(setup: Setup) -> None:
    backup = setup.backup()
    settings.set_setting(setup.store, "backup.repository", str(setup.home / "elsewhere"))
    with pytest.raises(ConflictError) as err:
        setup.restore(backup.id)
    assert err.value.code == "restic_other_repository"
    assert str(setup.repo) in (err.value.hint or "")


def test_wrong_password_is_a_clear_error_without_the_password(setup: Setup) -> None:
    setup.backup()
    wrong = "wrong-password-d41d8cd9"
    setup.env["RESTIC_PASSWORD"] = wrong
    with pytest.raises(NotAllowedError) as err:
        setup.backup()
    assert err.value.code == "restic_wrong_password"
    assert err.value.exit_code == ExitCode.NOT_ALLOWED
    text = f"{err.value.message} {err.value.hint} {err.value!r}"
    assert "wrong password" in text
    assert wrong not in text and PASSWORD not in text
    assert len(setup.rows()) == 1


def test_no_password_at_all_is_refused_before_restic_runs(setup: Setup) -> None:
    del setup.env["RESTIC_PASSWORD"]
    with pytest.raises(InvalidInputError) as err:
        setup.backup()
    assert err.value.code == "restic_not_configured"
    assert not setup.repo.exists()


@posix_only
def test_the_password_file_must_be_owner_only(setup: Setup) -> None:
    del setup.env["RESTIC_PASSWORD"]
    secret = setup.home / "restic-password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o644)
    settings.set_setting(setup.store, "backup.password_file", str(secret))

    with pytest.raises(NotAllowedError) as err:
        setup.backup()
    assert err.value.code == "password_file_unsafe"
    assert err.value.hint == f"chmod 600 {secret}"
    assert not setup.repo.exists()

    secret.chmod(0o600)
    made = setup.backup()
    assert made.snapshot_id in setup.snapshot_ids()  # the same password as RESTIC_PASSWORD
    # restic's own variable is checked the same way, and wins over the setting.
    loose = setup.home / "loose"
    loose.write_text("x\n")
    loose.chmod(0o640)
    setup.env["RESTIC_PASSWORD_FILE"] = str(loose)
    with pytest.raises(NotAllowedError, match="RESTIC_PASSWORD_FILE"):
        setup.backup()
    setup.env["RESTIC_PASSWORD_FILE"] = str(setup.home / "missing")
    with pytest.raises(NotFoundError) as missing:
        setup.backup()
    assert missing.value.code == "password_file_missing"


def test_a_repository_url_with_a_password_is_not_stored(setup: Setup) -> None:
    with pytest.raises(InvalidInputError, match="in the clear"):
        settings.set_setting(setup.store, "backup.repository", "rest:https://ana:s3cret@h:8000/r")
    assert restic.redact("rest:https://ana:s3cret@h:8000/r") == "rest:https://ana:***@h:8000/r"


def test_a_remote_repository_that_does_not_exist_is_not_created(setup: Setup) -> None:
    folder = setup.home / "has-files"
    folder.mkdir()
    (folder / "something").write_text("not a repository")
    settings.set_setting(setup.store, "backup.repository", str(folder))
    with pytest.raises(NotFoundError) as err:
        setup.backup()
    assert err.value.code == "restic_no_repository" and "restic init" in (err.value.hint or "")
    assert sorted(p.name for p in folder.iterdir()) == ["something"]
    assert setup.rows() == []


def test_a_repository_inside_the_server_folder_is_not_backed_up_into_itself(
    setup: Setup,
) -> None:
    inside = setup.install / "restic-repo"
    settings.set_setting(setup.store, "backup.repository", str(inside))
    made = setup.backup()
    listed = setup.restic(
        "ls", "--json", made.snapshot_id or "", env={"RESTIC_REPOSITORY": str(inside)}
    )
    paths = [json.loads(line).get("path", "") for line in listed.splitlines() if line.strip()]
    assert any(p.endswith("/config.ini") for p in paths)
    assert not any("restic-repo" in p for p in paths)


def test_a_failing_store_write_forgets_the_snapshot(setup: Setup, mocker) -> None:
    setup.backup()
    kept = setup.snapshot_ids()
    mocker.patch("gsm_cli.store.outbox.record", side_effect=RuntimeError("disk I/O error"))
    with pytest.raises(RuntimeError):
        setup.backup()
    assert setup.snapshot_ids() == kept
    assert len(setup.rows()) == 1


# --- gsm doctor -----------------------------------------------------------------------------


def doctor_values(setup: Setup, **changes: str | None) -> dict[str, str | None]:
    values: dict[str, str | None] = {
        "backup.backend": "restic",
        "backup.repository": str(setup.repo),
        "backup.password_file": None,
    }
    values.update(changes)
    return values


def test_doctor_checks_restic_and_the_repository(setup: Setup) -> None:
    assert doctor.check_restic({"backup.backend": "archive"}, setup.env) == []

    missing = {c.name: c for c in doctor.check_restic(doctor_values(setup), setup.env)}
    assert missing["restic"].status == "ok" and missing["restic"].detail.startswith("restic 0.")
    assert missing["restic repository"].status == "fail"
    assert "creates it" in (missing["restic repository"].hint or "")

    setup.backup()
    good = {c.name: c for c in doctor.check_restic(doctor_values(setup), setup.env)}
    assert good["restic repository"].status == "ok"
    assert good["restic repository"].detail == f"{setup.repo} opens (password from RESTIC_PASSWORD)"

    wrong = {**setup.env, "RESTIC_PASSWORD": "nope-31415"}
    bad = {c.name: c for c in doctor.check_restic(doctor_values(setup), wrong)}
    assert bad["restic repository"].status == "fail"
    assert "wrong password" in bad["restic repository"].detail
    assert "nope-31415" not in json.dumps([c.to_dict() for c in bad.values()])

    no_restic = doctor.check_restic(doctor_values(setup), {**setup.env, "PATH": str(setup.home)})
    assert [(c.name, c.status) for c in no_restic] == [("restic", "fail")]
    assert "apt install restic" in (no_restic[0].hint or "")


# --- through the command line ---------------------------------------------------------------


def test_cli_backup_backups_restore_and_a_wrong_password(
    gsm: GsmRunner, gsm_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in restic_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    repo = tmp_path / "cli-repo"
    assert gsm("server", "create", "s1", "--game", "custom", "--command", "sleep 1").exit_code == 0
    assert gsm("config", "set", "backup.repository", str(repo)).exit_code == 0
    archive = gsm("server", "backup", "s1", "--json")
    assert archive.exit_code == 0 and archive.json()["backend"] == "archive"
    install = gsm_home / "servers" / "s1"
    (install / "world.dat").write_bytes(b"\x00\x01world" * 1000)
    assert gsm("config", "set", "backup.backend", "restic").exit_code == 0

    made = gsm("server", "backup", "s1", "--json")

    assert made.exit_code == 0, made.stderr
    snap = made.json()
    assert snap["backend"] == "restic" and snap["path"] == str(repo)
    assert f"created the restic repository {repo}" in made.stderr
    assert f"(snapshot {snap['snapshot_id'][:8]})" in made.stderr
    table = gsm("server", "backups", "s1", "-o", "table")
    assert "BACKEND" in table.stdout and "restic" in table.stdout and "archive" in table.stdout
    listed = gsm("server", "backups", "s1", "--json").json()
    assert [b["backend"] for b in listed] == ["restic", "archive"]

    (install / "world.dat").write_bytes(b"changed")
    restored = gsm("server", "restore", "s1", snap["snapshot_id"][:10], "--yes", "--json")
    assert restored.exit_code == 0, restored.stderr
    assert (install / "world.dat").read_bytes() == b"\x00\x01world" * 1000

    wrong = "not-the-password-2718"
    failed = gsm("server", "backup", "s1", "--json", env={"RESTIC_PASSWORD": wrong})
    assert failed.exit_code == ExitCode.NOT_ALLOWED
    assert failed.error()["code"] == "restic_wrong_password"
    assert wrong not in failed.stdout + failed.stderr
    assert PASSWORD not in failed.stdout + failed.stderr
    assert PASSWORD not in gsm("config", "list", "--json").stdout


def test_without_the_setting_restics_own_repository_variable_is_used(setup: Setup) -> None:
    settings.unset_setting(setup.store, "backup.repository")
    setup.env["RESTIC_REPOSITORY"] = str(setup.repo)
    made = setup.backup()
    assert made.path == str(setup.repo) and made.snapshot_id in setup.snapshot_ids()
    del setup.env["RESTIC_REPOSITORY"]
    with pytest.raises(InvalidInputError) as err:
        setup.backup()
    assert err.value.code == "restic_not_configured"
