"""Frozen servers: a game whose process lives but that no longer answers its query.

One rule, shared by a server's supervisor (it queries its game every ``metrics.interval``
seconds) and `gsm server monitor --once` (one query per run, its count kept in a file between
runs):

- only a server that is queried counts (``servers.freeze_after`` > 0: a query protocol other
  than ``none``, and ``--freeze-after`` not 0);
- a failed query does not count during the game's grace period (``servers.query_grace``
  seconds after its launch, or after a supervisor attached to it), nor while a backup or a
  SteamCMD update of it runs (``services/busy.py``): such a failure also ends a streak, so
  the count starts again from 0 after it;
- a successful query resets the count; ``freeze_after`` failed queries in a row make it frozen.

A frozen game is killed for real with its whole process tree (``kill_tree``: SIGKILL, which a
stopped process cannot ignore or postpone, where SIGTERM waits until it is continued) and then
restarted like a crashed one, so the restart counts toward the crash-loop limit.
No printing, no exiting: the supervisor calls this from its own process.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from gsm_cli.paths import Paths
from gsm_cli.services import busy, processes, server_config

if TYPE_CHECKING:  # the supervisor imports this module without SQLAlchemy
    from gsm_cli.store.models import LocalServer

KILL_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class Rule:
    """A server's freeze settings, as in effect: ``freeze_after`` 0 is never frozen."""

    freeze_after: int
    grace_seconds: float

    @property
    def enabled(self) -> bool:
        return self.freeze_after > 0


def rule_for(server: LocalServer) -> Rule:
    return Rule(server_config.freeze_after(server), server_config.query_grace(server))


class Counter:
    """Consecutive failed queries of one game, launched (or attached to) at ``started_at``.
    Times are in any one clock, as long as ``observe`` is given the same one."""

    def __init__(
        self, rule: Rule, started_at: float, failures: int = 0, last_error: str | None = None
    ) -> None:
        self.rule = rule
        self.started_at = started_at
        self.failures = failures
        self.last_error = last_error

    def in_grace(self, now: float) -> bool:
        return now < self.started_at + self.rule.grace_seconds

    def observe(
        self, ok: bool, now: float, *, error: str | None = None, busy: bool = False
    ) -> bool:
        """Count one query; True when it makes the game frozen (and the count starts again)."""
        if ok or not self.rule.enabled or busy or self.in_grace(now):
            self.failures, self.last_error = 0, None
            return False
        self.failures += 1
        self.last_error = error
        if self.failures < self.rule.freeze_after:
            return False
        self.failures = 0
        return True

    def detail(self, failures: int | None = None) -> str:
        """What a ``freeze`` event says: how many failed queries, and the last one's error."""
        count = self.rule.freeze_after if failures is None else failures
        last = f"; the last: {self.last_error}" if self.last_error else ""
        return f"{count} failed queries in a row{last}"


def busy_with(paths: Paths, server: LocalServer) -> list[str]:
    """What runs now that may slow the server's game: a backup of it, an update of its game's
    files. Empty when nothing does."""
    subjects = [busy.server_subject(server.id)]
    if server.game_type:
        subjects.append(busy.game_subject(server.game_type))
    return busy.running(paths, subjects)


def kill_tree(pid: int, create_time: float | None) -> int:
    """Kill the process ``pid`` (only when it is still the one started at ``create_time``)
    and all its descendants, and wait until each has ended. Returns how many were killed.

    SIGKILL, not SIGTERM: a frozen game may be stopped (SIGSTOP), and a stopped process does
    not act on SIGTERM until it is continued, while SIGKILL ends it as it is. The game itself
    is left for its parent to reap (the supervisor's wait learns its exit status); its
    descendants, no longer anyone's children once it is gone, are reaped by the system."""
    if not processes.is_alive(pid, create_time):
        return 0
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for proc in tree:  # the game first: a frozen parent starts no new child meanwhile
        with contextlib.suppress(psutil.Error):
            proc.kill()
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    for proc in tree:
        while not _ended(proc) and time.monotonic() < deadline:
            time.sleep(0.02)
    return len(tree)


def _ended(proc: psutil.Process) -> bool:
    """Gone, or a zombie (ended, not yet reaped); never reaps it."""
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


# -- the count of `gsm server monitor --once`, kept between runs ----------------------------


@dataclass(frozen=True)
class Streak:
    """Failed queries in a row of one game (by pid and create time), between monitor runs."""

    pid: int
    create_time: float
    failures: int
    last_error: str | None = None

    def of(self, pid: int | None, create_time: float | None) -> bool:
        """Is this the count of that very process (not of an earlier game with its pid)?"""
        return (
            pid == self.pid
            and create_time is not None
            and abs(create_time - self.create_time) < processes.CREATE_TIME_TOLERANCE
        )


def load_streak(path: Path) -> Streak | None:
    try:
        return Streak(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def save_streak(path: Path, streak: Streak | None) -> None:
    """Write the count atomically (a reader sees the old one or the new one), or remove it."""
    if streak is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(streak)), encoding="utf-8")
    os.replace(tmp, path)
