"""What the read commands show, for the commands (server, config, sync) and the fast path
(gsm_cli.fastpath) alike: the columns of their tables and the rows they give, built from a
record by pure functions. No Typer, no SQLAlchemy: the fast path renders the same rows through
the same renderer (gsm_cli.output), byte for byte."""

from typing import Any

from gsm_cli.output import Column
from gsm_cli.services.server_config import to_dict

SERVER_COLUMNS = (
    Column("name"),
    Column("game_type", "GAME"),
    Column("status"),
    Column("port"),
    Column("process_id", "PID"),
    Column("install_path", "PATH"),
    Column("device_name", "DEVICE"),
)
DETAIL_COLUMNS = (
    Column("id"),
    Column("name"),
    Column("game_type"),
    Column("status"),
    Column("port"),
    Column("query_protocol"),
    Column("query_port"),
    Column("freeze_after"),
    Column("query_grace"),
    Column("max_players"),
    Column("process_id"),
    Column("install_path"),
    Column("last_backup"),
    Column("created_at"),
    Column("cloud_sync_status"),
    Column("device_id"),
    Column("device_name"),
    Column("community_name", "community"),
    Column("community_id"),
    Column("autostart"),
    Column("remote"),
    Column("configuration"),
)
SETTING_COLUMNS = (
    Column("key"),
    Column("value"),
    Column("source"),
    Column("default"),
    Column("description"),
)
SYNC_STATUS_COLUMNS = (
    Column("queued"),
    Column("retrying"),
    Column("rejected"),
    Column("conflicts"),
    Column("last_push_at"),
    Column("last_pull_at"),
)


def server_row(server: Any, names: dict[str, str]) -> dict[str, Any]:
    """A server as list and show give it: its record, and its community's name when the
    membership cache knows it (``names``: ``communities.cached_names``)."""
    shown: dict[str, Any] = {}
    for key, value in to_dict(server).items():
        if key == "community_id":
            shown["community_name"] = names.get(value) if value else None
        shown[key] = value
    return shown


def listed_servers(seen: list[Any], names: dict[str, str], fmt: str) -> list[dict[str, Any]]:
    """``gsm server list``'s rows from ``liveness.Observed`` servers: the process id only of a
    game that lives; in a table, the status as a person reads it."""
    rows = [{**server_row(s.server, names), "process_id": s.process_id} for s in seen]
    if fmt == "table":
        rows = [{**row, "status": s.shown_status} for row, s in zip(rows, seen, strict=True)]
    return rows


def shown_server(server: Any, names: dict[str, str], fmt: str) -> dict[str, Any]:
    """``gsm server show``'s record (and create's, update's): in a table, the freeze settings
    as a person reads them."""
    row = server_row(server, names)
    return shown_freeze(row) if fmt == "table" else row


def shown_freeze(row: dict[str, Any]) -> dict[str, Any]:
    """The freeze settings as a person reads them: with their unit, and whether they are the
    game's defaults (JSON has ``freeze_after_from`` and ``query_grace_from`` for that)."""

    def origin(key: str) -> str:
        return " (the game's default)" if row[f"{key}_from"] == "game" else ""

    after, off = row["freeze_after"], row["freeze_off_because"]
    if off:
        shown = f"off ({off})"
    else:
        shown = ("off" if after == 0 else f"{after} failed queries") + origin("freeze_after")
    return {
        **row,
        "freeze_after": shown,
        "query_grace": f"{row['query_grace']:g}s" + origin("query_grace"),
    }


def sync_summary(info: dict[str, Any]) -> dict[str, Any]:
    """``gsm sync status``'s table: counts and the times of the last push and pull."""
    return {
        "queued": info["queued"],
        "retrying": info["retrying"],
        "rejected": len(info["rejected"]),
        "conflicts": len(info["conflicts"]),
        "last_push_at": info["last_push_at"],
        "last_pull_at": info["last_pull_at"],
    }
