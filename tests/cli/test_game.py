"""gsm game: the catalog, and installing, updating and validating through a fake SteamCMD.

The fake (tests/fixtures/fake_steamcmd.py) is a real program, found the way the real one is:
first on PATH as `steamcmd`, or through the steamcmd.path setting.
"""

import csv
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy import select

from gsm_cli.paths import resolve_paths
from gsm_cli.services import games, steamcmd
from gsm_cli.store import Store
from gsm_cli.store.models import GameInstallation
from tests.conftest import GsmRunner, gsm_executable

FAKE = Path(__file__).resolve().parents[1] / "fixtures" / "fake_steamcmd.py"


@dataclass
class FakeSteamCmd:
    program: Path
    log: Path

    def runs(self) -> list[dict[str, Any]]:
        """The arguments of every run, oldest first."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


def write_wrapper(folder: Path) -> Path:
    """An executable named steamcmd that runs the fake with this Python."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.name == "nt":
        program = folder / "steamcmd.cmd"
        program.write_text(f'@"{sys.executable}" "{FAKE}" %*\r\n')
    else:
        program = folder / "steamcmd"
        program.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
        program.chmod(0o755)
    return program


@pytest.fixture
def fake_steamcmd(tmp_path: Path, gsm_home: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSteamCmd:
    """The fake SteamCMD, first on PATH."""
    program = write_wrapper(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{program.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    log = tmp_path / "steamcmd-runs.jsonl"
    monkeypatch.setenv("FAKE_STEAMCMD_LOG", str(log))
    for var in ("FAKE_STEAMCMD_MODE", "FAKE_STEAMCMD_BUILDID"):
        monkeypatch.delenv(var, raising=False)
    return FakeSteamCmd(program, log)


@pytest.fixture
def no_steamcmd(tmp_path: Path, gsm_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH on which there is no steamcmd."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def store_rows(gsm_home: Path) -> dict[str, dict[str, Any]]:
    """game_installations as stored, read straight from the file."""
    store_file = resolve_paths({"GSM_HOME": str(gsm_home)}).store_file
    with Store.open(store_file) as store, store.read() as session:
        return {
            row.game_type: {
                "install_path": row.install_path,
                "version": row.version,
                "last_updated": row.last_updated,
                "steam_app_id": row.steam_app_id,
                "is_valid": row.is_valid,
            }
            for row in session.scalars(select(GameInstallation))
        }


def install(gsm: GsmRunner, game: str, folder: Path, *extra: str) -> Any:
    result = gsm("game", "install", game, "--path", str(folder), "--json", *extra)
    assert result.exit_code == 0, result.stderr
    return result.json()


# --- the catalog -------------------------------------------------------------------------------


def test_list_json_has_every_game(gsm: GsmRunner) -> None:
    result = gsm("game", "list", "--json")
    assert result.exit_code == 0, result.stderr
    rows = result.json()
    assert [row["id"] for row in rows] == sorted(games.catalog())
    valheim = next(row for row in rows if row["id"] == "valheim")
    assert valheim["steam_app_id"] == 896660
    assert valheim["game_port"] == 2456 and valheim["query_protocol"] == "a2s"
    assert valheim["stop_signal"] == "SIGINT"
    assert set(valheim["launch"]) == {"linux", "windows"}


def test_list_table_and_csv(gsm: GsmRunner) -> None:
    table = gsm("game", "list")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0].split()[:2] == ["ID", "NAME"]
    assert "Counter-Strike 2" in table.stdout
    csv_out = gsm("game", "list", "-o", "csv")
    # CSV carries every JSON key, in the same order (docs/commands.md, "Output formats").
    keys = list(gsm("game", "list", "--json").json()[0])
    assert csv_out.stdout.splitlines()[0] == ",".join(keys)
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(csv_out.stdout))}
    cs2 = rows["cs2"]
    assert (cs2["name"], cs2["steam_app_id"], cs2["game_port"]) == (
        "Counter-Strike 2",
        "730",
        "27015",
    )
    assert json.loads(cs2["launch"])["linux"]["executable"]  # nested values: compact JSON
    assert cs2["installation"] == ""  # not installed: null


def test_info_json(gsm: GsmRunner) -> None:
    result = gsm("game", "info", "valheim", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["id"] == "valheim" and data["name"] == "Valheim"
    assert data["installation"] is None
    assert data["launch"]["linux"]["env"]["SteamAppId"] == "892970"


def test_info_table_shows_the_launch_for_this_platform(gsm: GsmRunner) -> None:
    result = gsm("game", "info", "minecraft")
    assert result.exit_code == 0, result.stderr
    assert "java" in result.stdout and "stop" in result.stdout
    assert "server.jar" in result.stdout


def test_game_ids_are_case_insensitive(gsm: GsmRunner) -> None:
    assert gsm("game", "info", "Valheim", "--json").json()["id"] == "valheim"


@pytest.mark.parametrize("command", ["info", "install", "update", "validate"])
def test_unknown_game_exits_3_with_a_suggestion(gsm: GsmRunner, command: str) -> None:
    result = gsm("game", command, "valhiem")
    assert result.exit_code == 3
    assert "unknown game 'valhiem'" in result.stderr
    assert "did you mean valheim?" in result.stderr


def test_unknown_game_in_json_mode(gsm: GsmRunner) -> None:
    result = gsm("game", "info", "nosuchgame", "--json")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.error()["code"] == "unknown_game"


@pytest.mark.parametrize("sub", ["list", "info", "install", "update", "validate", "installations"])
def test_every_game_subcommand_has_help(gsm: GsmRunner, sub: str) -> None:
    result = gsm("game", sub, "--help")
    assert result.exit_code == 0, result.stderr


# --- installing ---------------------------------------------------------------------------------


def test_install_records_the_installation(
    gsm: GsmRunner, gsm_home: Path, fake_steamcmd: FakeSteamCmd, tmp_path: Path
) -> None:
    folder = tmp_path / "servers" / "valheim"
    data = install(gsm, "valheim", folder)
    assert data == {
        "game_type": "valheim",
        "install_path": str(folder.resolve()),
        "version": "1234567",
        "last_updated": data["last_updated"],
        "steam_app_id": 896660,
        "is_valid": True,
    }
    assert data["last_updated"].endswith("Z")
    assert (folder / "server.bin").is_file()
    assert (folder / "steamapps" / "appmanifest_896660.acf").is_file()

    row = store_rows(gsm_home)["valheim"]
    assert row["install_path"] == str(folder.resolve())
    assert row["version"] == "1234567" and row["steam_app_id"] == 896660
    assert row["is_valid"] is True
    assert len(row["last_updated"]) == 19  # '2026-11-25 14:00:00', as datetime('now') writes

    (run,) = fake_steamcmd.runs()
    assert run["argv"] == [
        "+force_install_dir",
        str(folder.resolve()),
        "+login",
        "anonymous",
        "+app_update",
        "896660",
        "+quit",
    ]

    listed = gsm("game", "installations", "--json").json()
    assert listed == [data]
    assert gsm("game", "info", "valheim", "--json").json()["installation"] == data


def test_install_text_output_goes_to_stderr(
    gsm: GsmRunner, fake_steamcmd: FakeSteamCmd, tmp_path: Path
) -> None:
    result = gsm("game", "install", "cs2", "--path", str(tmp_path / "cs2"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "installed Counter-Strike 2 (build 1234567) in" in result.stderr


def test_install_without_path_uses_the_data_folder(
    gsm: GsmRunner, gsm_home: Path, fake_steamcmd: FakeSteamCmd
) -> None:
    result = gsm("game", "install", "rust", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["install_path"] == str((gsm_home / "games" / "rust").resolve())


def test_install_with_validate(gsm: GsmRunner, fake_steamcmd: FakeSteamCmd, tmp_path: Path) -> None:
    install(gsm, "tf2", tmp_path / "tf2", "--validate")
    (run,) = fake_steamcmd.runs()
    assert run["argv"][-3:] == ["232250", "validate", "+quit"]


def test_windows_only_server_is_fetched_for_windows(
    gsm: GsmRunner, fake_steamcmd: FakeSteamCmd, tmp_path: Path
) -> None:
    install(gsm, "vrising", tmp_path / "vrising")
    (run,) = fake_steamcmd.runs()
    if games.current_platform() == "windows":
        assert run["argv"][0] == "+force_install_dir"
    else:
        assert run["argv"][:2] == ["+@sSteamCmdForcePlatformType", "windows"]
        assert run["argv"].index("+force_install_dir") < run["argv"].index("+login")


def test_steamcmd_from_the_setting(
    gsm: GsmRunner, fake_steamcmd: FakeSteamCmd, no_steamcmd: None, tmp_path: Path
) -> None:
    program = write_wrapper(tmp_path / "elsewhere")
    assert gsm("config", "set", "steamcmd.path", str(program)).exit_code == 0
    install(gsm, "unturned", tmp_path / "unturned")
    assert len(fake_steamcmd.runs()) == 1


def test_install_into_a_file_is_refused(
    gsm: GsmRunner, fake_steamcmd: FakeSteamCmd, tmp_path: Path
) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    result = gsm("game", "install", "valheim", "--path", str(target))
    assert result.exit_code == 4
    assert "is not a folder" in result.stderr
    assert fake_steamcmd.runs() == []


# --- games SteamCMD cannot install --------------------------------------------------------------


@pytest.mark.parametrize("game", ["minecraft", "factorio", "terraria", "custom"])
@pytest.mark.parametrize("command", ["install", "update", "validate"])
def test_game_without_app_id_says_how_to_install_by_hand(
    gsm: GsmRunner, fake_steamcmd: FakeSteamCmd, game: str, command: str
) -> None:
    result = gsm("game", command, game)
    assert result.exit_code == 4
    assert "cannot be installed with SteamCMD" in result.stderr
    assert "hint: install it by hand:" in result.stderr
    assert fake_steamcmd.runs() == []


def test_minecraft_hint_names_the_download(gsm: GsmRunner) -> None:
    result = gsm("game", "install", "minecraft", "--json")
    assert result.exit_code == 4
    error = result.error()
    assert error["code"] == "not_on_steam"
    assert "server.jar" in error["hint"]


# --- SteamCMD missing ---------------------------------------------------------------------------


def test_steamcmd_missing(
    gsm: GsmRunner, gsm_home: Path, no_steamcmd: None, tmp_path: Path
) -> None:
    folder = tmp_path / "valheim"
    result = gsm("game", "install", "valheim", "--path", str(folder))
    assert result.exit_code == 3
    assert "error: steamcmd not found on PATH" in result.stderr
    assert "hint:" in result.stderr and "steamcmd.path" in result.stderr
    assert not folder.exists()
    assert store_rows(gsm_home) == {}


def test_steamcmd_missing_json(gsm: GsmRunner, no_steamcmd: None, tmp_path: Path) -> None:
    result = gsm("game", "install", "valheim", "--path", str(tmp_path / "v"), "--json")
    assert result.exit_code == 3
    assert result.error()["code"] == "steamcmd_not_found"


def test_steamcmd_path_setting_pointing_at_a_removed_file(
    gsm: GsmRunner, tmp_path: Path, no_steamcmd: None
) -> None:
    program = write_wrapper(tmp_path / "gone")
    gsm("config", "set", "steamcmd.path", str(program))
    program.unlink()
    result = gsm("game", "install", "valheim", "--path", str(tmp_path / "v"))
    assert result.exit_code == 3
    assert f"steamcmd not found at {program}" in result.stderr
    assert "steamcmd.path" in result.stderr


# --- failures -----------------------------------------------------------------------------------


def test_failed_install_records_nothing(
    gsm: GsmRunner,
    gsm_home: Path,
    fake_steamcmd: FakeSteamCmd,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_STEAMCMD_MODE", "fail")
    result = gsm("game", "install", "valheim", "--path", str(tmp_path / "v"), "--json")
    assert result.exit_code == 1
    error = result.error()
    assert error["code"] == "steamcmd_failed"
    assert "state 0x202" in error["message"]
    assert "disk space" in error["hint"]
    assert store_rows(gsm_home) == {}


def test_no_subscription(
    gsm: GsmRunner,
    gsm_home: Path,
    fake_steamcmd: FakeSteamCmd,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_STEAMCMD_MODE", "no_subscription")
    result = gsm("game", "install", "ark", "--path", str(tmp_path / "ark"))
    assert result.exit_code == 1
    assert "No subscription" in result.stderr
    assert "needs a Steam account that owns it" in result.stderr
    assert store_rows(gsm_home) == {}


def test_failed_update_keeps_the_record(
    gsm: GsmRunner,
    gsm_home: Path,
    fake_steamcmd: FakeSteamCmd,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install(gsm, "valheim", tmp_path / "v")
    before = store_rows(gsm_home)
    monkeypatch.setenv("FAKE_STEAMCMD_MODE", "fail")
    assert gsm("game", "update", "valheim").exit_code == 1
    assert store_rows(gsm_home) == before


# --- update and validate ------------------------------------------------------------------------


def test_update_uses_the_recorded_path_and_new_build(
    gsm: GsmRunner,
    gsm_home: Path,
    fake_steamcmd: FakeSteamCmd,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "pal"
    install(gsm, "palworld", folder)
    monkeypatch.setenv("FAKE_STEAMCMD_BUILDID", "7654321")
    result = gsm("game", "update", "palworld", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["version"] == "7654321"
    assert store_rows(gsm_home)["palworld"]["version"] == "7654321"
    runs = fake_steamcmd.runs()
    assert len(runs) == 2
    assert runs[1]["argv"][:2] == ["+force_install_dir", str(folder.resolve())]
    assert "validate" not in runs[1]["argv"]


def test_update_with_validate(gsm: GsmRunner, fake_steamcmd: FakeSteamCmd, tmp_path: Path) -> None:
    install(gsm, "gmod", tmp_path / "gmod")
    assert gsm("game", "update", "gmod", "--validate").exit_code == 0
    assert "validate" in fake_steamcmd.runs()[-1]["argv"]


@pytest.mark.parametrize("command", ["update", "validate"])
def test_update_or_validate_a_game_not_installed(
    gsm: GsmRunner, fake_steamcmd: FakeSteamCmd, command: str
) -> None:
    result = gsm("game", command, "valheim")
    assert result.exit_code == 3
    assert "Valheim (valheim) is not installed" in result.stderr
    assert "gsm game install valheim --path DIR" in result.stderr
    assert fake_steamcmd.runs() == []


def test_validate_ok(gsm: GsmRunner, fake_steamcmd: FakeSteamCmd, tmp_path: Path) -> None:
    install(gsm, "satisfactory", tmp_path / "sf")
    result = gsm("game", "validate", "satisfactory")
    assert result.exit_code == 0, result.stderr
    assert "is valid" in result.stderr
    assert "validate" in fake_steamcmd.runs()[-1]["argv"]


def test_validate_fail_exits_8_and_marks_invalid(
    gsm: GsmRunner,
    gsm_home: Path,
    fake_steamcmd: FakeSteamCmd,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install(gsm, "valheim", tmp_path / "v")
    monkeypatch.setenv("FAKE_STEAMCMD_MODE", "validate_fail")
    result = gsm("game", "validate", "valheim", "--json")
    assert result.exit_code == 8
    assert result.stdout == ""
    error = result.error()
    assert error["code"] == "validation_failed"
    assert "failed validation" in error["message"]
    assert store_rows(gsm_home)["valheim"]["is_valid"] is False
    listed = gsm("game", "installations", "--json").json()
    assert listed[0]["is_valid"] is False

    # A later good validate makes it valid again.
    monkeypatch.delenv("FAKE_STEAMCMD_MODE")
    assert gsm("game", "validate", "valheim").exit_code == 0
    assert store_rows(gsm_home)["valheim"]["is_valid"] is True


def test_installations_empty_and_csv(
    gsm: GsmRunner, fake_steamcmd: FakeSteamCmd, tmp_path: Path
) -> None:
    assert gsm("game", "installations", "--json").json() == []
    install(gsm, "l4d2", tmp_path / "l4d2")
    lines = gsm("game", "installations", "-o", "csv").stdout.splitlines()
    assert lines[0] == "game_type,install_path,version,last_updated,steam_app_id,is_valid"
    assert lines[1].startswith("l4d2,") and lines[1].endswith(",222860,true")


# --- interruption -------------------------------------------------------------------------------


def test_interrupted_install_ends_steamcmd_and_records_nothing(
    gsm_home: Path, fake_steamcmd: FakeSteamCmd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while SteamCMD downloads: the service ends it and the store is untouched."""
    monkeypatch.setenv("FAKE_STEAMCMD_MODE", "hang")
    reports: list[tuple[float, float | None, str | None]] = []

    def ctrl_c(done: float, total: float | None, label: str | None) -> None:
        reports.append((done, total, label))
        raise KeyboardInterrupt

    store_file = resolve_paths(os.environ).store_file
    with Store.open(store_file) as store, pytest.raises(KeyboardInterrupt):
        steamcmd.install(store, "valheim", tmp_path / "v", os.environ, report=ctrl_c)
    assert reports == [(0.0, 2_730_000_000.0, "downloading")]
    (run,) = fake_steamcmd.runs()
    assert not psutil.pid_exists(run["pid"])
    assert store_rows(gsm_home) == {}


@pytest.fixture
def gsm_child(gsm_home: Path) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
@pytest.mark.skipif(os.name == "nt", reason="sends SIGINT")
def test_ctrl_c_on_the_real_program(
    gsm_home: Path,
    fake_steamcmd: FakeSteamCmd,
    tmp_path: Path,
    gsm_child: list[subprocess.Popen[str]],
) -> None:
    env = {**os.environ, "FAKE_STEAMCMD_MODE": "hang"}
    command = [str(gsm_executable()), "--debug", "game", "install", "rust"]
    process = subprocess.Popen(
        [*command, "--path", str(tmp_path / "rust")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    gsm_child.append(process)
    assert process.stderr is not None
    for line in process.stderr:  # wait until SteamCMD is downloading (gsm logs its lines)
        if "downloading, progress" in line:
            break
    else:
        pytest.fail("steamcmd never reported progress")
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "interrupted" in err
    (run,) = fake_steamcmd.runs()
    assert not psutil.pid_exists(run["pid"])
    assert store_rows(gsm_home) == {}


# --- parsing SteamCMD's output ------------------------------------------------------------------


def test_parse_progress_and_outcome_lines() -> None:
    reports: list[tuple[float, float | None, str | None]] = []
    result = steamcmd.RunResult(returncode=0)

    def report(done: float, total: float | None, label: str | None) -> None:
        reports.append((done, total, label))

    for line in (
        " Update state (0x3) reconfiguring, progress: 0.00 (0 / 0)",
        " Update state (0x61) downloading, progress: 45.23 (1234567 / 2730000000)",
        " Update state (0x81) verifying update, progress: 12.00 (327600000 / 2730000000)",
        "Success! App '896660' fully installed.",
    ):
        steamcmd.parse_line(line, result, report)
    assert reports == [
        (0.0, None, "reconfiguring"),
        (1234567.0, 2730000000.0, "downloading"),
        (327600000.0, 2730000000.0, "verifying update"),
    ]
    assert result.ok


@pytest.mark.parametrize(
    ("line", "field", "value"),
    [
        ("Error! App '896660' state is 0x202 after update job.", "state", "0x202"),
        ("ERROR! Failed to install app '376030' (No subscription)", "reason", "No subscription"),
    ],
)
def test_parse_failures(line: str, field: str, value: str) -> None:
    result = steamcmd.RunResult(returncode=8)
    steamcmd.parse_line(line, result, None)
    assert getattr(result, field) == value
    assert not result.ok


def test_success_with_a_bad_state_is_not_ok() -> None:
    result = steamcmd.RunResult(returncode=0, succeeded=True, state="0x602")
    assert not result.ok


def test_read_build_id(tmp_path: Path) -> None:
    assert steamcmd.read_build_id(tmp_path, 730) is None
    (tmp_path / "steamapps").mkdir()
    (tmp_path / "steamapps" / "appmanifest_730.acf").write_text(
        '"AppState"\n{\n\t"appid"\t\t"730"\n\t"buildid"\t\t"15012345"\n}\n'
    )
    assert steamcmd.read_build_id(tmp_path, 730) == "15012345"
