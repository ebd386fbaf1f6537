"""Installing, updating and validating game files with SteamCMD; the ``game_installations`` table.

SteamCMD runs as a child process:

    steamcmd +force_install_dir DIR +login anonymous +app_update APPID [validate] +quit

Its output lines are parsed into progress reports (``report(done, total, label)``) and into
success or a typed error. The store learns of an installation only after SteamCMD succeeded, in
one transaction; an interrupted or failed run leaves ``game_installations`` as it was (except
that a failed validate marks the installation ``is_valid = 0``).
"""

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gsm_cli.errors import (
    InvalidInputError,
    NotFoundError,
    SteamCmdError,
    VerificationError,
)
from gsm_cli.paths import resolve_paths
from gsm_cli.services import busy, games
from gsm_cli.services.settings import effective_value
from gsm_cli.store import Store
from gsm_cli.store.models import GameInstallation
from gsm_cli.timeutil import iso_utc, utc_now_sql

log = logging.getLogger("gsm.steamcmd")

Report = Callable[[float, float | None, str | None], None]

DOCS_URL = "https://developer.valvesoftware.com/wiki/SteamCMD"
WINDOWS_ZIP = "https://steamcdn-a.akamaihd.net/client/installer/steamcmd.zip"
# Seconds SteamCMD gets to end after it was asked to (Ctrl-C), before it is killed.
TERMINATE_GRACE = 10.0

PROGRESS = re.compile(
    r"Update state \((?P<state>0x[0-9a-fA-F]+)\)\s*(?P<label>[^,]*?),\s*progress:\s*"
    r"(?P<percent>[\d.]+)\s*\((?P<done>\d+)\s*/\s*(?P<total>\d+)\)"
)
SUCCESS = re.compile(r"Success! App '(?P<app>\d+)' (?:fully installed|already up to date)")
STATE_ERROR = re.compile(
    r"Error! App '(?P<app>\d+)' state is (?P<state>0x[0-9a-fA-F]+) after update job"
)
INSTALL_ERROR = re.compile(r"ERROR! Failed to install app '(?P<app>\d+)' \((?P<reason>[^)]*)\)")
OTHER_ERROR = re.compile(r"^\s*(?:ERROR!|Error!|FAILED\b)\s*(?P<text>.*)$")
BUILD_ID = re.compile(r'"buildid"\s+"(?P<build>\d+)"', re.IGNORECASE)

# What the commonest failure states usually mean (SteamCMD prints only the number).
STATE_HINTS = {
    "0x202": "this state usually means not enough disk space, or a folder gsm cannot write to",
    "0x402": "this state usually means Steam's servers could not be reached; try again",
    "0x602": "this state usually means the download was cut short (network or Steam); try again",
}


@dataclass(frozen=True)
class Installation:
    """One ``game_installations`` row, as gsm shows it."""

    game_type: str
    install_path: str
    version: str | None
    last_updated: str | None
    steam_app_id: int | None
    is_valid: bool | None

    @classmethod
    def from_row(cls, row: GameInstallation) -> "Installation":
        return cls(
            game_type=row.game_type,
            install_path=row.install_path,
            version=row.version,
            last_updated=iso_utc(row.last_updated),
            steam_app_id=row.steam_app_id,
            is_valid=None if row.is_valid is None else bool(row.is_valid),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "game_type": self.game_type,
            "install_path": self.install_path,
            "version": self.version,
            "last_updated": self.last_updated,
            "steam_app_id": self.steam_app_id,
            "is_valid": self.is_valid,
        }


@dataclass
class RunResult:
    """What one SteamCMD run said about itself."""

    returncode: int
    succeeded: bool = False
    state: str | None = None  # "0x202" from "Error! App '...' state is 0x202 after update job"
    reason: str | None = None  # "No subscription" from "ERROR! Failed to install app ..."
    errors: list[str] = field(default_factory=list)  # other ERROR! lines
    tail: list[str] = field(default_factory=list)  # the last lines, for the error message

    @property
    def ok(self) -> bool:
        return self.succeeded and self.returncode == 0 and self.state is None

    def describe(self) -> str:
        if self.reason:
            return self.reason
        if self.state:
            return f"state {self.state} after the update job"
        if self.errors:
            return self.errors[-1]
        if self.returncode != 0:
            return f"steamcmd exited with code {self.returncode}"
        return "steamcmd did not report success"


# ---------------------------------------------------------------------------------------------
# Finding SteamCMD


def install_hint() -> str:
    if sys.platform.startswith("win"):
        return (
            f"download {WINDOWS_ZIP}, unpack it (for example to C:\\steamcmd), then run "
            "`gsm config set steamcmd.path C:\\steamcmd\\steamcmd.exe`"
        )
    return (
        "install steamcmd (Debian/Ubuntu: `sudo apt install steamcmd`; others: "
        f"{DOCS_URL}), or point gsm at it: `gsm config set steamcmd.path /path/to/steamcmd.sh`"
    )


def program_names() -> tuple[str, ...]:
    if sys.platform.startswith("win"):
        return ("steamcmd.exe", "steamcmd")
    return ("steamcmd", "steamcmd.sh")


def find_steamcmd(configured: str | None, env: Mapping[str, str]) -> Path:
    """The steamcmd program: the ``steamcmd.path`` setting, else the first one on PATH."""
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise NotFoundError(
                f"steamcmd not found at {configured} (the steamcmd.path setting)",
                hint="fix it with `gsm config set steamcmd.path ...`, or "
                "`gsm config unset steamcmd.path` to look on PATH",
                code="steamcmd_not_found",
            )
        return path
    search_path = env.get("PATH", os.defpath)
    for name in program_names():
        found = shutil.which(name, path=search_path)
        if found:
            return Path(found)
    raise NotFoundError(
        "steamcmd not found on PATH; it is needed to install Steam game files",
        hint=install_hint(),
        code="steamcmd_not_found",
    )


def steamcmd_for(store: Store, env: Mapping[str, str]) -> Path:
    return find_steamcmd(effective_value(store, "steamcmd.path", env), env)


# ---------------------------------------------------------------------------------------------
# Running SteamCMD


def build_command(
    steamcmd: Path,
    app_id: int,
    install_dir: Path,
    *,
    validate: bool = False,
    platform: str | None = None,
) -> list[str]:
    """The argument list; +force_install_dir must come before +login."""
    command = [str(steamcmd)]
    if platform:
        command += ["+@sSteamCmdForcePlatformType", platform]
    command += ["+force_install_dir", str(install_dir), "+login", "anonymous"]
    command += ["+app_update", str(app_id)]
    if validate:
        command.append("validate")
    command.append("+quit")
    return command


def parse_line(line: str, result: RunResult, report: Report | None) -> None:
    """Fold one line of SteamCMD's output into the result, and report progress."""
    match = PROGRESS.search(line)
    if match:
        total = int(match["total"])
        label = match["label"].strip() or None
        if report is not None:
            report(float(match["done"]), float(total) if total else None, label)
        return
    if SUCCESS.search(line):
        result.succeeded = True
        return
    match = STATE_ERROR.search(line)
    if match:
        result.state = match["state"].lower()
        return
    match = INSTALL_ERROR.search(line)
    if match:
        result.reason = match["reason"].strip() or None
        return
    match = OTHER_ERROR.match(line)
    if match:
        result.errors.append(line.strip())


def run(command: list[str], env: Mapping[str, str], report: Report | None = None) -> RunResult:
    """Run SteamCMD to the end and parse what it says.

    On Ctrl-C (or any other exception while it runs) SteamCMD and its children are ended before
    the exception goes on, so nothing keeps writing into the game folder behind gsm's back.
    """
    popen_kwargs: dict[str, Any] = {}
    if os.name == "nt":
        # Its own group: the terminal's Ctrl-C reaches gsm, which then ends SteamCMD itself.
        popen_kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        popen_kwargs["start_new_session"] = True
    log.debug("running %s", " ".join(command))
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(env),
            text=True,  # universal newlines: SteamCMD's "\r" progress updates become lines too
            encoding="utf-8",
            errors="replace",
            **popen_kwargs,
        )
    except OSError as exc:
        raise SteamCmdError(
            f"could not run {command[0]}: {exc.strerror or exc}",
            hint=install_hint(),
            code="steamcmd_failed",
        ) from exc
    log.info("steamcmd started (pid %d)", process.pid)
    result = RunResult(returncode=-1)
    tail: deque[str] = deque(maxlen=20)
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip("\n")
            if not line.strip():
                continue
            log.debug("steamcmd: %s", line)
            tail.append(line.strip())
            parse_line(line, result, report)
        result.returncode = process.wait()
    except BaseException:
        _terminate(process)
        log.info("steamcmd (pid %d) ended: gsm was interrupted", process.pid)
        raise
    finally:
        if process.stdout is not None:
            process.stdout.close()
    result.tail = list(tail)
    return result


def _terminate(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    try:
        if os.name == "nt":
            process.terminate()
        else:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=TERMINATE_GRACE)
    except subprocess.TimeoutExpired:
        if os.name == "nt":
            process.kill()
        else:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


def read_build_id(install_dir: Path, app_id: int) -> str | None:
    """The build id from steamapps/appmanifest_APPID.acf, when SteamCMD left one."""
    manifest = install_dir / "steamapps" / f"appmanifest_{app_id}.acf"
    try:
        text = manifest.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = BUILD_ID.search(text)
    return match["build"] if match else None


# ---------------------------------------------------------------------------------------------
# Installations


def steam_game(game_id: str) -> games.Game:
    """The catalog game, refused with a clear way out when SteamCMD cannot install it."""
    game = games.get_game(game_id)
    if game.steam_app_id is None:
        how = game.install_hint or "get its server files from the game's makers"
        raise InvalidInputError(
            f"{game.name} ({game.id}) cannot be installed with SteamCMD",
            hint=f"install it by hand: {how}",
            code="not_on_steam",
        )
    return game


def list_installations(store: Store) -> list[Installation]:
    with store.read() as session:
        rows = session.scalars(select(GameInstallation).order_by(GameInstallation.game_type))
        return [Installation.from_row(row) for row in rows]


def get_installation(store: Store, game_id: str) -> Installation | None:
    with store.read() as session:
        row = session.get(GameInstallation, game_id)
        return Installation.from_row(row) if row else None


def _recorded(store: Store, game: games.Game) -> Installation:
    installation = get_installation(store, game.id)
    if installation is None:
        raise NotFoundError(
            f"{game.name} ({game.id}) is not installed",
            hint=f"install it first: `gsm game install {game.id} --path DIR`",
            code="not_installed",
        )
    return installation


def _platform_flag(game: games.Game) -> str | None:
    if game.steam_platform and game.steam_platform != games.current_platform():
        return game.steam_platform
    return None


def _install_dir(path: Path) -> Path:
    folder = path.expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"{folder} exists and is not a folder", code="invalid_path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(
            f"cannot create the folder {folder}: {exc.strerror or exc}", code="invalid_path"
        ) from exc
    return folder


def _failure(game: games.Game, result: RunResult, action: str) -> SteamCmdError:
    message = f"steamcmd could not {action} {game.name} (app {game.steam_app_id}): "
    message += result.describe()
    if result.reason and "subscription" in result.reason.lower():
        hint = (
            "this app cannot be installed with an anonymous login; it needs a Steam account "
            "that owns it"
        )
    elif result.state and result.state in STATE_HINTS:
        hint = STATE_HINTS[result.state]
    else:
        last = "; ".join(result.tail[-3:])
        hint = f"steamcmd said: {last}" if last else "run again with --debug to see its output"
    return SteamCmdError(message, hint=hint, code="steamcmd_failed")


def _record(
    store: Store, game: games.Game, install_dir: Path, *, is_valid: bool = True
) -> Installation:
    assert game.steam_app_id is not None
    version = read_build_id(install_dir, game.steam_app_id)
    with store.write() as session:
        row = session.get(GameInstallation, game.id)
        if row is None:
            row = GameInstallation(game_type=game.id, install_path=str(install_dir))
            session.add(row)
        row.install_path = str(install_dir)
        row.version = version
        row.last_updated = utc_now_sql()
        row.steam_app_id = game.steam_app_id
        row.is_valid = is_valid
        session.flush()
        return Installation.from_row(row)


def _mark_invalid(store: Store, game: games.Game) -> None:
    with store.write() as session:
        row = session.get(GameInstallation, game.id)
        if row is not None:
            row.is_valid = False


def _app_update(
    steamcmd: Path,
    game: games.Game,
    folder: Path,
    env: Mapping[str, str],
    *,
    validate: bool,
    report: Report | None,
) -> "RunResult":
    """One `+app_update` run of SteamCMD for this game into ``folder``, marked busy for the
    game's servers while it runs (``services/busy.py``): a server slowed by its files being
    rewritten is not taken for frozen."""
    assert game.steam_app_id is not None
    command = build_command(
        steamcmd,
        game.steam_app_id,
        folder,
        validate=validate,
        platform=_platform_flag(game),
    )
    with busy.marked(resolve_paths(env), busy.game_subject(game.id), "SteamCMD update"):
        return run(command, env, report)


def install(
    store: Store,
    game_id: str,
    path: Path,
    env: Mapping[str, str],
    *,
    validate: bool = False,
    report: Report | None = None,
) -> Installation:
    """Install (or bring up to date) a game's files in ``path`` and record the installation."""
    game = steam_game(game_id)
    steamcmd = steamcmd_for(
        store, env
    )  # before creating any folder: a missing tool changes nothing
    folder = _install_dir(path)
    result = _app_update(steamcmd, game, folder, env, validate=validate, report=report)
    if not result.ok:
        raise _failure(game, result, "install")
    return _record(store, game, folder)


def update(
    store: Store,
    game_id: str,
    env: Mapping[str, str],
    *,
    validate: bool = False,
    report: Report | None = None,
) -> Installation:
    """Update an installed game where it was installed."""
    game = steam_game(game_id)
    installation = _recorded(store, game)
    steamcmd = steamcmd_for(store, env)
    folder = _install_dir(Path(installation.install_path))
    result = _app_update(steamcmd, game, folder, env, validate=validate, report=report)
    if not result.ok:
        raise _failure(game, result, "update")
    installed = _record(store, game, folder)
    from gsm_cli.services import lifecycle  # an update event per server: docs/alerts.md

    build = f" (build {installed.version})" if installed.version else ""
    lifecycle.record_game_update(store, game.id, f"{game.name} files updated by SteamCMD{build}")
    return installed


def validate(
    store: Store, game_id: str, env: Mapping[str, str], *, report: Report | None = None
) -> Installation:
    """Check an installed game's files (SteamCMD fetches again what is missing or damaged).

    When SteamCMD cannot make the files whole, the installation is marked ``is_valid = 0`` and
    a VerificationError (exit 8) says so.
    """
    game = steam_game(game_id)
    installation = _recorded(store, game)
    steamcmd = steamcmd_for(store, env)
    folder = _install_dir(Path(installation.install_path))
    result = _app_update(steamcmd, game, folder, env, validate=True, report=report)
    if not result.ok:
        _mark_invalid(store, game)
        failure = _failure(game, result, "validate")
        raise VerificationError(
            f"the files of {game.name} in {folder} failed validation: {result.describe()}",
            hint=failure.hint,
            code="validation_failed",
        )
    return _record(store, game, folder)
