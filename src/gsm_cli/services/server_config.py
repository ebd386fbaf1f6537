"""Rules read off a server row alone (its configuration, game and status): how it is
queried, when it counts as frozen, whether it is another device's, its restart policy.

Pure functions with no store access, so that the supervisor process can use them without
SQLAlchemy (``services/servers.py`` re-exports them for everyone else). ``server`` is a
``LocalServer`` or anything with the same attributes (the supervisor's ``ServerRow``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gsm_cli.services import games, query
from gsm_cli.timeutil import iso_utc

if TYPE_CHECKING:
    from gsm_cli.store.models import LocalServer

# A server of another device, known here through sync: listed, never run or touched here.
REMOTE = "remote"
DEFAULT_RESTART = {"enabled": True, "max_restarts": 5, "window_seconds": 600, "backoff_seconds": 1}
# Failed queries in a row before a freeze restart, for a server that is queried (its query
# protocol is not `none`) and sets no --freeze-after of its own; and the most it may set.
DEFAULT_FREEZE_AFTER = 4
MAX_FREEZE_AFTER = 1000


def query_protocol(server: LocalServer) -> str:
    """How the server is queried: its own ``--query-protocol``, else its game's from the
    catalog, else ``none``."""
    own = (server.configuration or {}).get("query_protocol")
    if own in query.PROTOCOLS:
        return own
    game = games.catalog().get((server.game_type or "").lower())
    return game.query_protocol if game else query.NONE


def query_port(server: LocalServer) -> int | None:
    """The port a query goes to, the one ``{query_port}`` is filled with at launch: its own
    ``--query-port`` (set from the catalog's when the game has a separate one), else its
    game port."""
    return (server.configuration or {}).get("query_port") or server.port


def freeze_off_because(server: LocalServer) -> str | None:
    """Why the server can never be restarted as frozen, whatever its ``--freeze-after``: it is
    not queried (protocol ``none``, or no port to ask), so nothing can tell a freeze; or its
    restarts are off (a freeze restart is a restart). None when it can be."""
    if query_protocol(server) == query.NONE or query_port(server) is None:
        return "no query protocol"
    if not ((server.configuration or {}).get("restart") or DEFAULT_RESTART).get("enabled", True):
        return "restarts off"
    return None


def freeze_after(server: LocalServer) -> int:
    """Failed queries in a row that make its supervisor (or `gsm server monitor`) restart it
    as frozen; 0 is never. Its own ``--freeze-after``, else 4; 0 when ``freeze_off_because``
    says so."""
    if freeze_off_because(server) is not None:
        return 0
    own = (server.configuration or {}).get("freeze_after")
    return own if _whole(own) and 0 <= own <= MAX_FREEZE_AFTER else DEFAULT_FREEZE_AFTER


def query_grace(server: LocalServer) -> float:
    """Seconds after its game's launch during which failed queries do not count toward a
    freeze: its own ``--query-grace``, else its game's from the catalog, else 120."""
    own = (server.configuration or {}).get("query_grace")
    if isinstance(own, int | float) and not isinstance(own, bool) and own >= 0:
        return float(min(own, games.MAX_QUERY_GRACE))
    game = games.catalog().get((server.game_type or "").lower())
    return game.query_grace if game else games.DEFAULT_QUERY_GRACE


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_remote(server: LocalServer, this_device: str | None = None) -> bool:
    """A server of another device: pulled from the cloud, not adopted here. Pull stores such
    a server with status 'remote'; a device id other than this store's (when given) is
    remote too, whatever the status says."""
    if server.status == REMOTE:
        return True
    return this_device is not None and server.device_id not in (None, this_device)


def to_dict(server: LocalServer) -> dict[str, Any]:
    """A server as scripts see it: the schema's column names, ISO 8601 UTC times."""
    config = server.configuration or {}
    return {
        "id": server.id,
        "name": server.name,
        "game_type": server.game_type,
        "status": server.status,
        "port": server.port,
        "query_protocol": query_protocol(server),
        "query_port": query_port(server),
        "freeze_after": freeze_after(server),
        "freeze_after_from": _source(config, "freeze_after"),
        "freeze_off_because": freeze_off_because(server),
        "query_grace": query_grace(server),
        "query_grace_from": _source(config, "query_grace"),
        "max_players": config.get("max_players"),
        "process_id": server.process_id,
        "install_path": server.install_path,
        "last_backup": iso_utc(server.last_backup),
        "created_at": iso_utc(server.created_at),
        "cloud_sync_status": server.cloud_sync_status,
        "device_id": server.device_id,
        "device_name": server.device_name,
        "community_id": server.community_id,
        "autostart": bool(server.autostart),
        "remote": is_remote(server),
        "configuration": config,
    }


def _source(config: dict[str, Any], key: str) -> str:
    """Where an effective setting comes from: the server's own value, or its game's default."""
    return "server" if key in config else "game"
