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
- ``collect(store, paths, names, count=..., interval=...)`` is ``gsm metrics collect``: the
  same samples, on demand, of named servers or of every running one, several servers at once.

No typer, rich, printing or exiting: the supervisor calls this from its own process.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psutil

from gsm_cli.errors import ConflictError, InvalidInputError
from gsm_cli.paths import Paths
from gsm_cli.services import processes, server_config
from gsm_cli.services import query as query_service
from gsm_cli.timeutil import iso_utc

if TYPE_CHECKING:  # the supervisor imports this module without SQLAlchemy (it has its own store)
    from gsm_cli.services import lifecycle
    from gsm_cli.store import Store

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
    max_players: int | None = None  # the game's player slots; shown live, not stored


class Sampler:
    """The CPU and memory of the process ``pid`` and all its descendants."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._root: psutil.Process | None = None
        # CPU seconds (user + system) each process of the tree had used at the last call, by
        # (pid, start stamp) so a reused pid is a new process. The stamp (processes.create_time)
        # does not move when the wall clock is stepped; psutil's create_time() does.
        self._cpu_seconds: dict[tuple[int, float], float] = {}
        self._last_stamp: float | None = None  # processes.stamp_now() at the last call
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
        stamp_now, mono = processes.stamp_now(), time.monotonic()
        try:
            procs = self._tree()
        except psutil.Error:  # the game itself is gone (or not ours to read)
            self._cpu_seconds.clear()
            self._last_stamp = self._last_mono = None
            return TreeUsage(cpu_percent=None, memory_mb=None, processes=0)
        seen: dict[tuple[int, float], float] = {}
        rss = 0
        used = 0.0  # CPU seconds the tree used since the last call
        for proc in procs:
            try:
                with proc.oneshot():
                    if proc.status() == psutil.STATUS_ZOMBIE:  # ended, not reaped yet
                        continue
                    started = processes.create_time(proc.pid)
                    if started is None:  # ended while we looked
                        continue
                    key = (proc.pid, started)
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
            elif self._last_stamp is not None and key[1] >= self._last_stamp:
                used += cpu  # born since the last call: all its CPU time is in this window
        elapsed = None if self._last_mono is None else mono - self._last_mono
        self._cpu_seconds = seen
        self._last_stamp, self._last_mono = stamp_now, mono
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
    slots: int | None = None
    latency: float | None = None
    error: str | None = None
    if protocol != query_service.NONE and port:
        result = query_service.query(protocol, host, port, timeout)
        if result.ok:
            players, latency, slots = result.players, result.latency_ms, result.max_players
        else:
            error = result.error
    return Sample(
        cpu_usage=usage.cpu_percent,
        memory_usage=usage.memory_mb,
        network_latency=latency,
        player_count=players,
        query_error=error,
        max_players=slots,
    )


def query_timeout(interval: float) -> float:
    """A query timeout well below the sampling interval: a quarter of it, at most 2 s."""
    return min(MAX_QUERY_TIMEOUT, interval / 4)


def record(store: Store, server_id: str, sample: Sample) -> str | None:
    """Insert the sample as one row of ``performance_history`` (``recorded_at``: the store's
    UTC now) and queue it as the server's latest cloud summary (replacing the one still
    waiting: ``services/cloud_summary.py``), in one transaction; return that ``recorded_at``
    in ISO 8601. Store errors (busy, read-only) are raised."""
    from gsm_cli.services import cloud_summary
    from gsm_cli.store.models import PerformanceSample

    row = PerformanceSample(
        server_id=server_id,
        cpu_usage=sample.cpu_usage,
        memory_usage=sample.memory_usage,
        network_latency=sample.network_latency,
        player_count=sample.player_count,
    )
    with store.write() as session:
        session.add(row)
        session.flush()
        recorded_at = row.recorded_at  # the store's own default, read back in the transaction
        cloud_summary.queue_summary_of_sample(session, server_id, sample)
    return iso_utc(recorded_at)


# -- on demand: gsm metrics collect --------------------------------------------------------

# Bounds of --count and --interval (the CLI checks them when the command line is read).
MAX_COUNT = 100_000
MIN_INTERVAL = 0.1  # below this the CPU window is a few clock ticks: noise, not a measure
MAX_INTERVAL = 3600.0
# A query on demand waits a quarter of the interval like the supervisor's, but never less
# than this: a short --interval must not turn a loaded machine's slow answer into a failure.
MIN_COLLECT_QUERY_TIMEOUT = 0.5
# Servers measured and queried at the same time (threads; a query mostly waits on the network).
MAX_AT_ONCE = 32
Report = Callable[[float, float | None, str | None], None]


@dataclass(frozen=True)
class Target:
    """A running server to sample: its game's pid and create time (a reused pid is not it)."""

    server_id: str
    name: str
    pid: int
    started: float | None
    protocol: str
    port: int | None


@dataclass(frozen=True)
class Skipped:
    """A server that was not sampled: ``status`` is its status (``stopped``, ``crashed``...),
    or ``ended`` when its game ended during the collection."""

    name: str
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {"server": self.name, "skipped": self.status}


@dataclass(frozen=True)
class Collected:
    """One sample written to ``performance_history``."""

    name: str
    server_id: str
    recorded_at: str | None
    sample: Sample

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.name,
            "recorded_at": self.recorded_at,
            "cpu_usage": rounded(self.sample.cpu_usage),
            "memory_usage": rounded(self.sample.memory_usage),
            "network_latency": rounded(self.sample.network_latency),
            "player_count": self.sample.player_count,
            "query_error": self.sample.query_error,
        }


@dataclass
class Collection:
    samples: list[Collected]
    skipped: list[Skipped]


def rounded(value: float | None) -> float | None:
    """A measure as gsm shows it: 3 decimals."""
    return None if value is None else round(value, 3)


def take_each(
    pool: ThreadPoolExecutor,
    samplers: Mapping[str, Sampler],
    games: Sequence[Target],
    timeout: float,
) -> list[Sample]:
    """A sample of each game (its sampler by server id), all taken at the same time in the
    pool's threads: the wait is the slowest query's, not the sum of them."""

    def sample_of(game: Target) -> Sample:
        return take(
            samplers[game.server_id], protocol=game.protocol, port=game.port, timeout=timeout
        )

    return list(pool.map(sample_of, games))


def check_count(count: int, what: str = "sample per server") -> None:
    """A --count from 1 to ``MAX_COUNT``, else InvalidInputError (exit 4) with a hint."""
    if not 1 <= count <= MAX_COUNT:
        raise InvalidInputError(
            f"invalid value {count} for --count: expected a whole number from 1 to {MAX_COUNT}",
            hint=f"--count 1 takes one {what} (the default)",
        )


def check_interval(interval: float) -> None:
    """A --interval from ``MIN_INTERVAL`` to ``MAX_INTERVAL`` seconds, else exit 4 with a hint."""
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:  # NaN too: no comparison holds
        raise InvalidInputError(
            f"invalid value {interval:g} for --interval: expected seconds from "
            f"{MIN_INTERVAL:g} to {MAX_INTERVAL:g}",
            hint="the CPU is measured over the interval: 1 (the default) or more reads well",
        )


def target(observed: lifecycle.Observed) -> Target | None:
    """What to sample of an observed server: None when its game does not run."""
    server = observed.server
    if observed.process_id is None:
        return None
    return Target(
        server_id=server.id,
        name=server.name,
        pid=observed.process_id,
        started=server.process_create_time,
        protocol=server_config.query_protocol(server),
        port=server_config.query_port(server),
    )


def targets(
    store: Store, paths: Paths, names: Sequence[str] | None
) -> tuple[list[Target], list[Skipped]]:
    """The running servers among ``names`` (None: every server), and the others skipped.

    A named server that does not exist is NotFoundError (exit 3); one named that does not run
    is ConflictError ``not_running`` (exit 5), as ``gsm server send`` answers."""
    from gsm_cli.services import lifecycle, servers

    if names is None:
        seen = lifecycle.observe_all(store, paths)
    else:
        seen = [lifecycle.observe(store, paths, servers.get(store, name)) for name in names]
    found: list[Target] = []
    skipped: list[Skipped] = []
    for observed in seen:
        running = target(observed)
        if running is not None:
            found.append(running)
            continue
        name = observed.server.name
        if names is not None:
            raise ConflictError(
                f"server {name} is not running (it is {observed.status}): "
                "only a running game can be sampled",
                hint=f"gsm server start {name}; or gsm metrics show {name} for its history",
                code="not_running",
            )
        skipped.append(Skipped(name, observed.status))
    return found, skipped


def collect(
    store: Store,
    paths: Paths,
    names: Sequence[str] | None,
    *,
    count: int = 1,
    interval: float = 1.0,
    report: Report | None = None,
) -> Collection:
    """``count`` samples of each running server among ``names`` (None: every server),
    ``interval`` seconds apart, each recorded as the supervisor records its own.

    Each server's tree is primed first, so its first sample has a CPU measured over one
    interval. The servers of a round are measured and queried at the same time (threads), so
    a round waits for its slowest query, not for the sum of them. Each sample is written in
    its own transaction as soon as its round ends: an interruption keeps the rows written. A
    game that ends meanwhile is not sampled any more (and not recorded: its last measure
    would not be one of a running game); it is listed as skipped, ``ended``. ``report(done,
    total, label)`` is told of each sample written."""
    check_count(count)
    check_interval(interval)
    found, skipped = targets(store, paths, names)
    collection = Collection(samples=[], skipped=skipped)
    if not found:
        return collection
    timeout = min(MAX_QUERY_TIMEOUT, max(MIN_COLLECT_QUERY_TIMEOUT, query_timeout(interval)))
    samplers = {t.server_id: Sampler(t.pid) for t in found}
    total = count * len(found)
    pool = ThreadPoolExecutor(
        max_workers=min(MAX_AT_ONCE, len(found)), thread_name_prefix="collect"
    )
    try:
        for sampler in samplers.values():
            sampler.measure()  # primes the CPU measure
        due = time.monotonic()
        active = list(found)
        for round_ in range(count):
            due += interval
            time.sleep(max(0.0, due - time.monotonic()))
            due = max(due, time.monotonic())  # fell behind (slow queries): no catching up
            taken = take_each(pool, samplers, active, timeout)
            for running, sample in zip(list(active), taken, strict=True):
                if not processes.is_alive(running.pid, running.started):
                    active.remove(running)
                    collection.skipped.append(Skipped(running.name, "ended"))
                    total -= count - round_
                    continue
                recorded_at = record(store, running.server_id, sample)
                collection.samples.append(
                    Collected(running.name, running.server_id, recorded_at, sample)
                )
                if report is not None:
                    report(len(collection.samples), total, f"sampled {running.name}")
            if not active:
                break
    finally:
        # On Ctrl-C: queries in flight end within their timeout; none is waited for here.
        pool.shutdown(wait=False, cancel_futures=True)
    return collection
