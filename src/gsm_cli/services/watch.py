"""What ``gsm metrics watch`` shows: each server's status and live numbers, refreshed.

Each frame observes the servers (``lifecycle.observe``: the truth from the OS), measures every
running game's process tree with its own ``sampling.Sampler`` (kept from frame to frame, so
the CPU is measured since the previous frame) and queries the games at the same time (threads,
each query's timeout a quarter of the refresh at most). The recent history comes from the
store (``metrics.series``). Nothing is written: the supervisors record the samples.

No typer, rich, printing or exiting: the command renders the frames.
"""

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from gsm_cli.errors import InvalidInputError, NotFoundError
from gsm_cli.paths import Paths
from gsm_cli.services import lifecycle, metrics, processes, sampling, servers
from gsm_cli.store import Store

DEFAULT_REFRESH = 2.0
MIN_REFRESH = 0.5
MAX_REFRESH = 3600.0
HISTORY = timedelta(hours=1)  # how far back the sparkline of stored samples goes
HISTORY_BUCKETS = 20
# A game seen running for the first time is measured over this short window, so that its CPU
# shows in the very first frame instead of one refresh later.
PRIME_SECONDS = 0.25
NOT_RUNNING = sampling.Sample(None, None, None, None)  # what a game that does not run shows


def check_refresh(refresh: float) -> None:
    """A --refresh from ``MIN_REFRESH`` to ``MAX_REFRESH`` seconds, else exit 4 with a hint."""
    if not MIN_REFRESH <= refresh <= MAX_REFRESH:
        raise InvalidInputError(
            f"invalid value {refresh:g} for --refresh: expected seconds from "
            f"{MIN_REFRESH:g} to {MAX_REFRESH:g}",
            hint=f"--refresh {DEFAULT_REFRESH:g} (the default) redraws every {DEFAULT_REFRESH:g}s",
        )


class Watch:
    """The servers named (None: every server, including those created meanwhile) and their
    samplers. A server deleted meanwhile leaves the frames; use it as a context manager."""

    def __init__(
        self, store: Store, paths: Paths, names: Sequence[str] | None, refresh: float
    ) -> None:
        check_refresh(refresh)
        self.store = store
        self.paths = paths
        self.refresh = refresh
        self.timeout = sampling.query_timeout(refresh)
        # Named servers are resolved once (unknown: exit 3), then followed by id, so a rename
        # does not lose them and a deletion drops them.
        self._ids = None if names is None else [servers.get(store, name).id for name in names]
        self._samplers: dict[str, sampling.Sampler] = {}
        self._pool = ThreadPoolExecutor(
            max_workers=sampling.MAX_AT_ONCE, thread_name_prefix="watch"
        )

    def __enter__(self) -> "Watch":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        # On Ctrl-C: queries in flight end within their timeout; none is waited for here.
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _observed(self) -> list[lifecycle.Observed]:
        if self._ids is None:
            return lifecycle.observe_all(self.store, self.paths)
        seen = []
        for server_id in self._ids:
            try:
                server = servers.get(self.store, server_id)
            except NotFoundError:  # deleted meanwhile
                continue
            seen.append(lifecycle.observe(self.store, self.paths, server))
        return seen

    def _samplers_for(self, running: list[sampling.Target]) -> dict[str, sampling.Sampler]:
        """One primed sampler per running game; a new game (or a new pid) gets a new one."""
        fresh = False
        kept: dict[str, sampling.Sampler] = {}
        for game in running:
            sampler = self._samplers.get(game.server_id)
            if sampler is None or sampler.pid != game.pid:
                sampler = sampling.Sampler(game.pid)
                sampler.measure()
                fresh = True
            kept[game.server_id] = sampler
        self._samplers = kept
        if fresh:
            time.sleep(PRIME_SECONDS)
        return kept

    def frame(self) -> dict[str, Any]:
        """The servers now: one dict each, in name order, under ``servers``."""
        seen = self._observed()
        targets = {o.server.id: t for o in seen if (t := sampling.target(o)) is not None}
        games = list(targets.values())
        samplers = self._samplers_for(games)
        taken = sampling.take_each(self._pool, samplers, games, self.timeout)
        sample_of = dict(zip(targets, taken, strict=True))
        now = metrics.now()
        rows = []
        for observed in seen:
            server = observed.server
            sample = sample_of.get(server.id, NOT_RUNNING)
            stamp = server.process_create_time if server.id in sample_of else None
            started = processes.started_at(stamp)
            history = metrics.series(self.store, server.id, now - HISTORY, now, HISTORY_BUCKETS)
            rows.append(
                {
                    "server": server.name,
                    "status": observed.status,
                    "process_id": observed.process_id,
                    "cpu_usage": sampling.rounded(sample.cpu_usage),
                    "memory_usage": sampling.rounded(sample.memory_usage),
                    "player_count": sample.player_count,
                    "max_players": sample.max_players,
                    "network_latency": sampling.rounded(sample.network_latency),
                    "query_error": sample.query_error,
                    "uptime_seconds": None if started is None else int(time.time() - started),
                    "cpu_history": [sampling.rounded(v) for v in history.values["cpu_usage"]],
                }
            )
        return {"at": metrics.iso(now), "servers": rows}


def frames(
    store: Store,
    paths: Paths,
    names: Sequence[str] | None,
    *,
    refresh: float = DEFAULT_REFRESH,
    count: int | None = None,
) -> Iterator[dict[str, Any]]:
    """A frame now, then one every ``refresh`` seconds (a slow frame delays the next, no
    catching up); ``count`` frames, or until the caller stops (Ctrl-C)."""
    if count is not None:
        sampling.check_count(count, "frame")
    with Watch(store, paths, names, refresh) as watch:
        due = time.monotonic()
        shown = 0
        while count is None or shown < count:
            if shown:
                time.sleep(max(0.0, due - time.monotonic()))
            due = max(due, time.monotonic()) + refresh
            yield watch.frame()
            shown += 1
