"""The latest performance summary of a server, for gsm-cloud's ``game_servers`` row
(``performance_metrics``, ``player_count``, ``uptime_seconds``).

It goes through the outbox as operation ``update`` of entity ``server_summary`` (entity id: the
server's id), coalesced: at most one summary per server waits in the queue, a newer one
replaces it (``outbox.replace_summary``), so the queue never grows with the samples. The shape
(docs/sync-protocol.md, "server_summary")::

    {
      "recorded_at": "2026-12-03T15:00:00Z",
      "player_count": 3,                # null: unknown (the query failed or there is none)
      "uptime_seconds": 5400,           # since the game process started; null: unknown
      "performance_metrics": {"cpu_usage": 12.5, "memory_usage": 812.0,
                              "network_latency": 1.2, "player_count": 3, "max_players": 10},
      "device_id": "..."                # the device the server belongs to
    }

Usage, in the transaction that writes the sample::

    with store.write() as session:
        session.add(PerformanceSample(...))
        cloud_summary.queue_summary_of_sample(session, server_id, sample)
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gsm_cli.services import processes

# The supervisor uses summary_of_sample without SQLAlchemy (supervisor_store.py): the store's
# modules are imported where they are used. sampling may call this module: no import cycle.
if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from gsm_cli.services.sampling import Sample


def _rounded(value: float | None) -> float | None:
    # Two decimals say all a dashboard shows, and keep the payload small.
    return None if value is None else round(max(0.0, value), 2)


def summary_of_sample(
    sample: Sample, started_at: float | None, *, now: float | None = None
) -> dict[str, Any]:
    """The summary of one sample. ``started_at``: when the game process started (epoch
    seconds: ``processes.started_at()`` of ``local_servers.process_create_time``), None when
    unknown; ``now``: the sample's time (epoch seconds, default: now)."""
    now = time.time() if now is None else now
    uptime = None if started_at is None else max(0, int(now - started_at))
    metrics: dict[str, Any] = {
        "cpu_usage": _rounded(sample.cpu_usage),
        "memory_usage": _rounded(sample.memory_usage),
        "network_latency": _rounded(sample.network_latency),
        "player_count": sample.player_count,
    }
    if sample.max_players is not None:
        metrics["max_players"] = sample.max_players
    recorded_at = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
    return {
        "recorded_at": recorded_at.replace("+00:00", "Z"),
        "player_count": sample.player_count,
        "uptime_seconds": uptime,
        "performance_metrics": metrics,
    }


def queue_summary(session: Session, server_id: str, summary: dict[str, Any]) -> None:
    """Queue ``summary`` as the server's latest, in the caller's transaction, replacing the one
    that still waits. Nothing is queued for a server that is not here, or is another device's
    (that device sends its own), and none waits for a server held as ``conflict`` or
    ``rejected``: the cloud would refuse it again at every push until the user settles the
    server (``gsm sync retry|resolve``); summaries resume with the next sample after that."""
    from gsm_cli.services import device, servers
    from gsm_cli.store import outbox
    from gsm_cli.store.models import LocalServer

    server = session.get(LocalServer, server_id)
    if server is None or servers.is_remote(server, device.device_id(session)):
        return
    if server.cloud_sync_status in outbox.HELD:
        outbox.drop_summaries(session, server_id)
        return
    outbox.replace_summary(session, server_id, summary | {"device_id": server.device_id})


def queue_summary_of_sample(
    session: Session, server_id: str, sample: Sample, started_at: float | None = None
) -> None:
    """``queue_summary`` of ``summary_of_sample``: what the supervisor calls per sample.
    ``started_at`` defaults to the start of the server row's ``process_create_time``."""
    from gsm_cli.store.models import LocalServer

    if started_at is None:
        server = session.get(LocalServer, server_id)
        stamp = server.process_create_time if server is not None else None
        started_at = processes.started_at(stamp)
    queue_summary(session, server_id, summary_of_sample(sample, started_at))


# Statuses of a server whose game is not running: its summary is "nobody on it, not up".
DOWN_STATUSES = frozenset({"stopped", "crashed", "failed"})


def down_summary() -> dict[str, Any]:
    """The summary of a server whose game went down, now: 0 players, 0 uptime, no metrics."""
    recorded_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "recorded_at": recorded_at,
        "player_count": 0,
        "uptime_seconds": 0,
        "performance_metrics": None,
    }


def queue_down_summary(session: Session, server_id: str) -> None:
    """The server's game went down: queue a summary with 0 players, 0 uptime and no metrics,
    so the cloud does not keep showing the players and uptime of its last sample."""
    queue_summary(session, server_id, down_summary())
