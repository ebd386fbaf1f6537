"""The OS side of running a game server: command lines, process identity, detaching, signals.

A pid alone never proves a server is running: pids are reused. A process is ours only when
its pid AND its start stamp (``create_time``) match what was recorded when it started.

On Linux the stamp is the process's start in seconds since boot (``/proc/PID/stat``
starttime), which never changes. psutil's ``create_time()`` adds the boot time that
``/proc/stat`` reports *now*, and that moves whenever the wall clock is stepped (NTP, a VM
resumed): a live game then looked dead and was recorded crashed. Elsewhere the stamp is
psutil's create time (Windows and macOS keep the start as an absolute time: it does not move).
A stamp recorded as seconds since the epoch (by an older gsm) is still compared that way.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from string import Formatter
from typing import TYPE_CHECKING, Any

import psutil

from gsm_cli.errors import InvalidInputError, NotFoundError
from gsm_cli.services import games

if TYPE_CHECKING:  # the supervisor imports this module without SQLAlchemy
    from gsm_cli.store.models import LocalServer

IS_WINDOWS = sys.platform.startswith("win")
CREATE_TIME_TOLERANCE = 0.05  # seconds; create_time is derived from clock ticks
BOOT_RELATIVE = sys.platform.startswith("linux")
# A stamp at or above this is seconds since the epoch (1973 onwards); below, seconds since boot.
EPOCH_STAMP_MIN = 1e8
_PROCESS_GONE = (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, ValueError)


def _seconds_since_boot(pid: int) -> float | None:
    """When the process started, in seconds since boot (Linux), or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    # Field 22, starttime, in clock ticks; the name in (...) may hold spaces and parentheses.
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        return int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError):
        return None


def create_time(pid: int | None) -> float | None:
    """The stamp that tells this process apart from a later one with the same pid."""
    if not pid:
        return None
    if BOOT_RELATIVE:
        return _seconds_since_boot(pid)
    try:
        return psutil.Process(pid).create_time()
    except _PROCESS_GONE:
        return None


def is_alive(pid: int | None, started: float | None) -> bool:
    """Is the process with this pid the very one whose stamp is ``started``?"""
    if not pid or started is None:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if BOOT_RELATIVE and started < EPOCH_STAMP_MIN:
            now = _seconds_since_boot(pid)
            return now is not None and abs(now - started) < CREATE_TIME_TOLERANCE
        return abs(proc.create_time() - started) < CREATE_TIME_TOLERANCE
    except _PROCESS_GONE:
        return False


def stamp_now() -> float:
    """Now, on the scale of ``create_time`` stamps (to tell a process started after a moment)."""
    return time.clock_gettime(time.CLOCK_BOOTTIME) if BOOT_RELATIVE else time.time()


def started_at(stamp: float | None) -> float | None:
    """A start stamp as seconds since the epoch (for uptimes), by the clock as it is now."""
    if stamp is None or stamp >= EPOCH_STAMP_MIN:
        return stamp
    return time.time() - (time.clock_gettime(time.CLOCK_BOOTTIME) - stamp)


# The {placeholders} a command line, an argument or a catalog launch may hold: the one list is
# games.PLACEHOLDERS; `gsm server create|update` checks --command and --arg against it.
PLACEHOLDER_HINT = (
    "known: " + " ".join(f"{{{name}}}" for name in games.PLACEHOLDERS) + "; write {{ for a brace"
)


def placeholders(server: LocalServer) -> dict[str, Any]:
    config = server.configuration or {}
    values = {
        "port": server.port or "",
        "query_port": config.get("query_port") or server.port or "",
        "max_players": config.get("max_players") or "",
        "name": server.name,
        "path": server.install_path or "",
    }
    return {name: values[name] for name in games.PLACEHOLDERS}


def template_problem(template: str) -> str | None:
    """Why a template cannot be filled in when its server starts, or None when it can."""
    try:
        fields = [
            field for _text, field, _spec, _conv in Formatter().parse(template) if field is not None
        ]
    except ValueError as exc:  # a single { or }
        return str(exc)
    for field in fields:
        if field not in games.PLACEHOLDERS:
            return f"unknown placeholder {{{field}}}"
    return None


def _fill(template: str, values: dict[str, Any]) -> str:
    problem = template_problem(template)
    if problem:
        raise InvalidInputError(f"cannot fill in {template!r}: {problem}", hint=PLACEHOLDER_HINT)
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:  # such as {port:d} of ""
        raise InvalidInputError(
            f"cannot fill in {template!r}: {exc}", hint=PLACEHOLDER_HINT
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


@dataclass(frozen=True)
class StartCheck:
    """How the supervisor tells that a launched game came up."""

    settle_seconds: float  # it must stay up this long...
    ready_pattern: str | None  # ...unless it prints a line matching this first


def start_check(server: LocalServer) -> StartCheck:
    """The server's own --settle-seconds / --ready-pattern, else its game's from the catalog.
    (create and update check both; a value that is not usable all the same, such as one from
    an older or hand-edited record, falls back to the game's.)"""
    config = server.configuration or {}
    game = games.get_game(server.game_type)
    settle = config.get("settle_seconds")
    if not isinstance(settle, int | float) or not 0 <= settle <= games.MAX_SETTLE_SECONDS:
        settle = game.settle_seconds
    pattern = config.get("ready_pattern")
    if not (isinstance(pattern, str) and pattern and _compiles(pattern)):
        pattern = game.ready_pattern
    return StartCheck(settle_seconds=float(settle), ready_pattern=pattern)


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


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
    """Wait until the process has ended. A zombie has ended, even when nobody reaps it (a game
    whose supervisor died is no longer our child)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                with contextlib.suppress(psutil.Error, ChildProcessError):
                    proc.wait(0)  # reap it when it is ours
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def resume_if_paused(pid: int) -> bool:
    """Continue the process and its children when they are stopped (SIGSTOP, a job-control
    stop): a stopped process acts on no console line and no signal but KILL until continued,
    so a stop asked for could only end in a kill, without the game saving. POSIX only; True
    when something was continued."""
    if IS_WINDOWS:
        return False
    resumed = False
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error, OSError):
                if proc.status() == psutil.STATUS_STOPPED:
                    os.kill(proc.pid, signal.SIGCONT)
                    resumed = True
    return resumed


def terminate_then_kill(
    pid: int, started: float | None, timeout: float, *, signal_name: str | None = None
) -> str:
    """Stop a process we cannot talk to: its stop signal (when it has one), then terminate,
    then kill, waiting ``timeout`` seconds at each step; a stopped (paused) process is
    continued first. Returns how it ended."""
    if not is_alive(pid, started):
        return "gone"
    proc = psutil.Process(pid)
    resume_if_paused(pid)
    if signal_name and timeout > 0:
        try:
            send_signal(pid, signal_name)
        except OSError:
            pass
        else:
            if wait_gone(proc, timeout):
                return "signal"
    proc.terminate()
    if wait_gone(proc, timeout):
        return "terminate"
    proc.kill()
    wait_gone(proc, timeout)
    return "kill"
