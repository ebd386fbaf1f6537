"""The OS side of running a game server: command lines, process identity, detaching, signals.

A pid alone never proves a server is running: pids are reused. A process is ours only when
its pid AND its create time (psutil) match what was recorded when it started.
"""

import os
import shlex
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from gsm_cli.errors import InvalidInputError, NotFoundError
from gsm_cli.services import games
from gsm_cli.store.models import LocalServer

IS_WINDOWS = sys.platform.startswith("win")
CREATE_TIME_TOLERANCE = 0.05  # seconds; create_time is derived from clock ticks


def create_time(pid: int | None) -> float | None:
    if not pid:
        return None
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, ValueError):
        return None


def is_alive(pid: int | None, started: float | None) -> bool:
    """Is the process with this pid the very one that started at ``started``?"""
    if not pid or started is None:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return abs(proc.create_time() - started) < CREATE_TIME_TOLERANCE
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, ValueError):
        return False


def placeholders(server: LocalServer) -> dict[str, Any]:
    config = server.configuration or {}
    return {
        "port": server.port or "",
        "query_port": config.get("query_port") or server.port or "",
        "max_players": config.get("max_players") or "",
        "name": server.name,
        "path": server.install_path or "",
    }


def _fill(template: str, values: dict[str, Any]) -> str:
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise InvalidInputError(
            f"cannot fill in {template!r}: unknown placeholder {exc}",
            hint="known: {port} {query_port} {max_players} {name} {path}; write {{ for a brace",
        ) from None


def _resolve_program(program: str, folder: Path, game_id: str) -> str:
    candidate = Path(program)
    if not candidate.is_absolute():
        candidate = folder / program
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(program)
    if found:
        return found
    hint = (
        f"gsm game install {game_id} --path {folder}"
        if game_id != games.CUSTOM
        else "check --command with gsm server update NAME --command ..."
    )
    raise NotFoundError(
        f"the server's program {program!r} was not found in {folder} or on PATH",
        hint=hint,
        code="executable_missing",
    )


@dataclass(frozen=True)
class LaunchPlan:
    argv: list[str]
    cwd: Path
    env: dict[str, str]  # added to gsm's own environment


def launch_plan(server: LocalServer) -> LaunchPlan:
    """How to run this server's game: command (placeholders filled in), folder, environment.

    The catalog gives the command, its folder and the variables the game needs; the server's
    own --command, --arg and --env come on top.
    """
    game = games.get_game(server.game_type)
    config = server.configuration or {}
    values = placeholders(server)
    folder = Path(server.install_path or ".")
    launch = game.launch_for()
    cwd, env = folder, {}
    if launch is not None:
        cwd = folder / launch.workdir if launch.workdir else folder
        env = {key: _fill(value, values) for key, value in launch.env.items()}
    if config.get("command"):
        argv = shlex.split(_fill(config["command"], values), posix=not IS_WINDOWS)
    elif launch is not None:
        argv = [launch.executable, *(_fill(arg, values) for arg in launch.args)]
    else:
        raise InvalidInputError(f"{game.name} has no launch command for this platform")
    if not argv:
        raise InvalidInputError("the server's command is empty")
    argv += [_fill(arg, values) for arg in config.get("args", [])]
    argv[0] = _resolve_program(argv[0], folder, game.id)
    if not cwd.is_dir():
        raise NotFoundError(
            f"the folder {cwd} to start {server.name} in does not exist",
            hint=f"gsm game install {game.id} --path {folder}",
            code="executable_missing",
        )
    env |= {key: str(value) for key, value in config.get("env", {}).items()}
    return LaunchPlan(argv=argv, cwd=cwd, env=env)


def stop_plan(server: LocalServer) -> tuple[list[str], str | None]:
    """Console lines to write, or a signal name, for a graceful stop."""
    config = server.configuration or {}
    if config.get("stop_command"):
        return [line for line in config["stop_command"].split(";") if line.strip()], None
    game = games.get_game(server.game_type)
    return list(game.stop_commands), game.stop_signal


def send_signal(pid: int, name: str) -> None:
    if IS_WINDOWS:
        # No POSIX signals: CTRL_BREAK reaches a process started in its own group; else terminate.
        if name in ("SIGINT", "SIGBREAK"):
            os.kill(pid, signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
        else:
            psutil.Process(pid).terminate()
        return
    os.kill(pid, getattr(signal, name, signal.SIGTERM))


def detached_popen_kwargs() -> dict[str, Any]:
    """Popen arguments for a process that outlives gsm and ignores the terminal's Ctrl-C."""
    if IS_WINDOWS:
        flags = (
            subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
            | subprocess.DETACHED_PROCESS  # type: ignore[attr-defined]
            | subprocess.CREATE_NO_WINDOW  # type: ignore[attr-defined]
        )
        return {"creationflags": flags, "close_fds": True}
    return {"start_new_session": True, "close_fds": True}


def game_popen_kwargs() -> dict[str, Any]:
    """The game runs in its own process group, so a signal meant for it reaches only it."""
    if IS_WINDOWS:
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]
    return {"start_new_session": True}


def wait_gone(proc: psutil.Process, timeout: float) -> bool:
    try:
        proc.wait(timeout=timeout)
        return True
    except psutil.TimeoutExpired:
        return False
    except psutil.NoSuchProcess:
        return True


def terminate_then_kill(pid: int, started: float | None, timeout: float) -> str:
    """Stop a process we cannot talk to: terminate, then kill. Returns how it ended."""
    if not is_alive(pid, started):
        return "gone"
    proc = psutil.Process(pid)
    proc.terminate()
    if wait_gone(proc, timeout):
        return "terminate"
    proc.kill()
    wait_gone(proc, timeout)
    return "kill"
