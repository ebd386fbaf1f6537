"""Performance samples of a running game: what goes into ``performance_history``.

- ``Sampler(pid)`` measures one game's whole process tree (the process and its children,
  recursively): CPU percent between two calls, and resident memory (RSS) in MB (MiB,
  1024 x 1024 bytes). The CPU percent follows psutil's convention: percent of **one core**, so
  a game busy on several cores reads more than 100 (two busy cores: about 200). It is the CPU
  time the tree used between two calls over the wall time between them; the first call only
  primes (its CPU is None). A process that ends between two calls (or is a zombie: ended, not
  yet reaped) is skipped, a child started between them counts with all its CPU time; nothing
  here raises for a process that vanished.
- ``take(sampler, protocol=..., port=...)`` adds a query (``services/query.py``) of the game on
  127.0.0.1: the player count and latency when it answers; None (NULL, "unknown", never 0)
  when the protocol is ``none``, no port is known or the query failed.
- ``record(store, server_id, sample)`` writes one row in its own short transaction.

No typer, rich, printing or exiting: the supervisor calls this from its own process.
"""

import contextlib
import time
from dataclasses import dataclass

import psutil

from gsm_cli.services import query as query_service
from gsm_cli.store import Store
from gsm_cli.store.models import PerformanceSample

LOOPBACK = "127.0.0.1"
MB = 1024 * 1024
# The longest a sample's query may wait for each step; callers pass less for short intervals.
MAX_QUERY_TIMEOUT = query_service.DEFAULT_TIMEOUT


@dataclass(frozen=True)
class TreeUsage:
    """One measure of a process tree. ``cpu_percent`` is None on a sampler's first call (it
    primes) and when the tree is gone; ``memory_mb`` is None when the tree is gone."""

    cpu_percent: float | None
    memory_mb: float | None
    processes: int


@dataclass(frozen=True)
class Sample:
    """One row of ``performance_history``, before it is written. None is "unknown"."""

    cpu_usage: float | None
    memory_usage: float | None
    network_latency: float | None
    player_count: int | None
    query_error: str | None = None  # why the query failed; None when it worked or was not asked


class Sampler:
    """The CPU and memory of the process ``pid`` and all its descendants."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._root: psutil.Process | None = None
        # CPU seconds (user + system) each process of the tree had used at the last call, by
        # (pid, create time) so a reused pid is a new process.
        self._cpu_seconds: dict[tuple[int, float], float] = {}
        self._last_wall: float | None = None  # time.time() of the last call
        self._last_mono: float | None = None

    def _tree(self) -> list[psutil.Process]:
        if self._root is None:
            self._root = psutil.Process(self.pid)
        if not self._root.is_running():
            raise psutil.NoSuchProcess(self.pid)
        procs = [self._root]
        with contextlib.suppress(psutil.Error):
            procs += self._root.children(recursive=True)
        return procs

    def measure(self) -> TreeUsage:
        """The tree now: memory, and CPU since the previous call (None on the first)."""
        wall, mono = time.time(), time.monotonic()
        try:
            procs = self._tree()
        except psutil.Error:  # the game itself is gone (or not ours to read)
            self._cpu_seconds.clear()
            self._last_wall = self._last_mono = None
            return TreeUsage(cpu_percent=None, memory_mb=None, processes=0)
        seen: dict[tuple[int, float], float] = {}
        rss = 0
        used = 0.0  # CPU seconds the tree used since the last call
        for proc in procs:
            try:
                with proc.oneshot():
                    if proc.status() == psutil.STATUS_ZOMBIE:  # ended, not reaped yet
                        continue
                    key = (proc.pid, proc.create_time())
                    times = proc.cpu_times()
                    memory = proc.memory_info().rss
            except psutil.Error:  # ended while we looked: skipped
                continue
            cpu = times.user + times.system
            seen[key] = cpu
            rss += memory
            before = self._cpu_seconds.get(key)
            if before is not None:
                used += max(0.0, cpu - before)
            elif self._last_wall is not None and key[1] >= self._last_wall:
                used += cpu  # born since the last call: all its CPU time is in this window
        elapsed = None if self._last_mono is None else mono - self._last_mono
        self._cpu_seconds = seen
        self._last_wall, self._last_mono = wall, mono
        if not seen:
            return TreeUsage(cpu_percent=None, memory_mb=None, processes=0)
        cpu_percent = None if not elapsed or elapsed <= 0 else used / elapsed * 100
        return TreeUsage(cpu_percent=cpu_percent, memory_mb=rss / MB, processes=len(seen))


def take(
    sampler: Sampler,
    *,
    protocol: str,
    port: int | None,
    timeout: float = MAX_QUERY_TIMEOUT,
    host: str = LOOPBACK,
) -> Sample:
    """Measure the tree and query the game at ``host``:``port`` with ``protocol``."""
    usage = sampler.measure()
    players: int | None = None
    latency: float | None = None
    error: str | None = None
    if protocol != query_service.NONE and port:
        result = query_service.query(protocol, host, port, timeout)
        if result.ok:
            players, latency = result.players, result.latency_ms
        else:
            error = result.error
    return Sample(
        cpu_usage=usage.cpu_percent,
        memory_usage=usage.memory_mb,
        network_latency=latency,
        player_count=players,
        query_error=error,
    )


def query_timeout(interval: float) -> float:
    """A query timeout well below the sampling interval: a quarter of it, at most 2 s."""
    return min(MAX_QUERY_TIMEOUT, interval / 4)


def record(store: Store, server_id: str, sample: Sample) -> None:
    """Insert the sample as one row of ``performance_history`` (``recorded_at``: the store's
    UTC now), in its own transaction. Store errors (busy, read-only) are raised."""
    with store.write() as session:
        session.add(
            PerformanceSample(
                server_id=server_id,
                cpu_usage=sample.cpu_usage,
                memory_usage=sample.memory_usage,
                network_latency=sample.network_latency,
                player_count=sample.player_count,
            )
        )
