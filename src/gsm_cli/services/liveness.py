"""Whether a server's game and its supervisor live, asked of the OS (pid and create time),
never of the stored status alone; with nothing but the standard library and psutil, so that
the fast path (gsm_cli.fastpath) asks exactly what ``services/lifecycle.py`` asks, which
re-exports these and records the crashes they find.

``server`` is a ``LocalServer`` or anything with the same attributes (``ServerRow``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gsm_cli.paths import Paths
from gsm_cli.services import control, processes

if TYPE_CHECKING:
    from gsm_cli.store.models import LocalServer

ACTIVE = ("starting", "running", "stopping")


def game_alive(server: LocalServer) -> bool:
    return processes.is_alive(server.process_id, server.process_create_time)


def supervisor(paths: Paths, server: LocalServer) -> control.SupervisorState | None:
    # The state file's path alone: `files()` builds four paths, and list asks for every server.
    state = control.SupervisorState.load(paths.data_dir / "run" / f"{server.id}.json")
    if state and processes.is_alive(state.pid, state.create_time):
        return state
    return None


def is_up(paths: Paths, server: LocalServer) -> bool:
    """Running, or being run: its game lives, or its supervisor does (between restarts)."""
    return game_alive(server) or supervisor(paths, server) is not None


def state_files(paths: Paths) -> set[str]:
    """The names in the run folder, read once for many servers: a server without a state file
    there has no supervisor (``supervisor`` would find none), so its file is not opened."""
    try:
        return set(os.listdir(paths.data_dir / "run"))
    except OSError:  # no run folder yet: no supervisor ever ran
        return set()


def supervisor_of(
    paths: Paths, server: LocalServer, files: set[str] | None
) -> control.SupervisorState | None:
    if files is not None and f"{server.id}.json" not in files:
        return None
    return supervisor(paths, server)


def up_of(paths: Paths, found: list[LocalServer]) -> list[bool]:
    """``is_up`` of each server, in order, with the run folder read once. A server recorded
    without a pid is never asked of the OS (``game_alive`` is false without one)."""
    files = state_files(paths)
    return [
        game_alive(server) or supervisor_of(paths, server, files) is not None for server in found
    ]


def shown_status(status: str, game_alive: bool, supervised: bool, console: bool) -> str:
    """The status as a person reads it in a table: a running game without its supervisor, or
    without its console, says so."""
    if game_alive and not supervised:
        return f"{status} (unsupervised)"
    if game_alive and not console:
        return f"{status} (no console)"
    return status


@dataclass
class Observed:
    """The truth about one server at one moment: its record, reconciled with the OS."""

    server: LocalServer  # its status as it truly is
    game_alive: bool  # the recorded pid runs, with the recorded create time
    supervisor: control.SupervisorState | None  # its supervisor, when that lives

    @property
    def status(self) -> str:
        return self.server.status

    @property
    def supervised(self) -> bool:
        return self.supervisor is not None

    @property
    def unsupervised(self) -> bool:
        """Its game runs, but the supervisor that watched it died."""
        return self.game_alive and self.supervisor is None

    @property
    def console(self) -> bool:
        return self.game_alive and self.supervisor is not None and self.supervisor.console

    @property
    def process_id(self) -> int | None:
        return self.server.process_id if self.game_alive else None

    @property
    def shown_status(self) -> str:
        return shown_status(self.status, self.game_alive, self.supervised, self.console)

    @property
    def message(self) -> str | None:
        name = self.server.name
        if self.unsupervised:
            return (
                f"its supervisor died while the game runs: no crash restarts, no console; "
                f"`gsm server start {name}` attaches a new supervisor, "
                f"`gsm server restart {name}` also gets the console back"
            )
        if self.game_alive and not self.console:
            return (
                "supervised again after its first supervisor died, but without a console; "
                f"`gsm server restart {name}` gets it back"
            )
        return None


def look(paths: Paths, found: list[Any]) -> tuple[list[Observed], list[Any]]:
    """Each server as it is, in order, and those found dead: a record that says active while
    neither its game nor its supervisor lives (a crash, or a reboot; ``lifecycle.observe``
    records it). The run folder is listed once for many servers (no state file, no
    supervisor), and a server recorded without a pid is never asked of the OS."""
    files = state_files(paths) if len(found) > 1 else None
    seen, dead = [], []
    for server in found:
        alive = game_alive(server)
        state = supervisor_of(paths, server, files)
        if server.status in ACTIVE and not alive and state is None:
            dead.append(server)
        seen.append(Observed(server, alive, state))
    return seen, dead
