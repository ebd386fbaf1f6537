"""Read commands answered without Typer, Rich or the ORM: the store read with the standard
library's sqlite3, the answer printed by the same renderers as the full application.

``answer(args)`` gives the exact stdout of the full application for a command it knows, or
None, and then the full application runs instead: for every command line it does not parse
exactly, every output that is not JSON (tables are Rich's; rendering them the same way would
cost what the fast path saves), a store that is missing, unwritable or at another schema
revision (the full path creates, upgrades or refuses it), anything that would be an error, and
``gsm server list`` when a server's record says it is active (starting, running, stopping)
while neither its game nor its supervisor lives: ``services.lifecycle.observe`` records that
crash, a write the fast path leaves to it. Whether a game or supervisor lives is asked with
lifecycle's own functions (pid and start stamp), so the statuses listed are as true as the
full path's.

It never writes and never prints: entry.py prints what it returns, and exits 0.
"""

import json
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from gsm_cli import output
from gsm_cli.errors import GsmError
from gsm_cli.paths import resolve_paths
from gsm_cli.supervisor_store import SERVER_COLUMNS
from gsm_cli.timeutil import iso_utc

# Environment variables whose effect the fast path does not reproduce (--debug's logging).
FULL_PATH_VARIABLES = ("GSM_DEBUG",)
ACTIVE_STATUSES = ("starting", "running", "stopping")
# services/sync.py's QUEUED and REJECTED (importing it would load the cloud client).
QUEUED, REJECTED = "queued", "rejected"


class FullPath(Exception):
    """This command line, environment or store is for the full application."""


def answer(args: list[str]) -> str | None:
    """The full application's stdout for ``gsm ARGS`` when it ends with exit 0 and nothing on
    stderr; None when the full application must run."""
    handler = COMMANDS.get(tuple(args[:2]))
    if handler is None or any(os.environ.get(name) for name in FULL_PATH_VARIABLES):
        return None
    try:
        return handler(args[2:])
    except (FullPath, GsmError, sqlite3.Error, OSError, ValueError, TypeError):
        return None  # an error is the full application's to report, as it reports it


# --- the command line ------------------------------------------------------------------------


def _json_and_names(rest: list[str]) -> tuple[bool, list[str]]:
    """Whether JSON was asked for (--json, -o/--output json), and the positional arguments;
    FullPath for any other option, or an option given twice."""
    asked: list[str] = []
    names: list[str] = []
    words = iter(rest)
    for word in words:
        if word == "--json":
            asked.append("json")
        elif word in ("-o", "--output"):
            asked.append(next(words, ""))
        elif word.startswith("--output="):
            asked.append(word.removeprefix("--output="))
        elif word.startswith("-"):
            raise FullPath(word)
        else:
            names.append(word)
    if len(asked) > 1:
        raise FullPath("an output option given twice")
    return bool(asked) and asked[0].strip().lower() == "json", names


def _json_only(rest: list[str], names: int) -> list[str]:
    as_json, given = _json_and_names(rest)
    if not as_json or len(given) != names:
        raise FullPath("not JSON, or not the arguments the command takes")
    return given


def _json_flag(rest: list[str], names: int) -> tuple[bool, list[str]]:
    """For ``config get``: --json or nothing (it has no --output)."""
    if any(word not in ("--json",) and word.startswith("-") for word in rest):
        raise FullPath("an option other than --json")
    if rest.count("--json") > 1:
        raise FullPath("--json given twice")
    given = [word for word in rest if word != "--json"]
    if len(given) != names:
        raise FullPath("not the arguments the command takes")
    return "--json" in rest, given


def _render(data: Any) -> str:
    return output.json_text(data, terminal=sys.stdout.isatty())


# --- the store ---------------------------------------------------------------------------------


def _connect() -> sqlite3.Connection:
    """The store, read-only, when the full application would open it as it is: it exists, this
    user can write it, and its schema is this gsm's."""
    from gsm_cli.store import database, migrate

    path = resolve_paths(os.environ).store_file
    if not path.is_file() or database.write_problems(path):
        raise FullPath("no store, or a read-only one")
    with path.open("rb") as fh:
        if fh.read(len(database.SQLITE_HEADER)) != database.SQLITE_HEADER:
            raise FullPath("not an SQLite file")
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except BaseException:
        conn.close()
        raise
    if version != migrate.HEAD:
        conn.close()
        raise FullPath(f"schema {version}, not {migrate.HEAD}")
    return conn


def _servers(conn: sqlite3.Connection, where: str = "", params: tuple[Any, ...] = ()) -> list[Any]:
    """``local_servers`` rows as objects with ``models.LocalServer``'s attributes."""
    query = f"SELECT {', '.join(SERVER_COLUMNS)} FROM local_servers {where}"
    rows = []
    for values in conn.execute(query, params):
        row = dict(zip(SERVER_COLUMNS, values, strict=True))
        if row["configuration"] is not None:  # models.JSONText
            row["configuration"] = json.loads(row["configuration"])
        rows.append(SimpleNamespace(**row))
    return rows


def _community_names(conn: sqlite3.Connection) -> dict[str, str]:
    """services.communities.cached_names."""
    rows = conn.execute("SELECT community_id, community_name FROM community_memberships")
    return {community_id: name for community_id, name in rows if name}


def _server_row(server: Any, names: dict[str, str]) -> dict[str, Any]:
    """commands/server.py's ``_row``: the record with its community's name before its id."""
    from gsm_cli.services import servers

    shown: dict[str, Any] = {}
    for key, value in servers.to_dict(server).items():
        if key == "community_id":
            shown["community_name"] = names.get(value) if value else None
        shown[key] = value
    return shown


def _setting_rows(conn: sqlite3.Connection, key: str | None = None) -> dict[str, Any]:
    """``user_settings`` rows by key, as objects with ``models.UserSetting``'s attributes."""
    query = "SELECT key, value, updated_at FROM user_settings"
    rows = (
        conn.execute(query, ()) if key is None else conn.execute(f"{query} WHERE key = ?", (key,))
    )
    return {k: SimpleNamespace(value=v, updated_at=at) for k, v, at in rows}


# --- the commands ------------------------------------------------------------------------------


def server_list(rest: list[str]) -> str:
    """``gsm server list --json`` (no --status or --game filter), each server as
    ``lifecycle.observe`` finds it, asked with its own ``game_alive`` and ``supervisor``."""
    from gsm_cli.services import lifecycle

    _json_only(rest, names=0)
    conn = _connect()
    try:
        found = _servers(conn, "ORDER BY name")
        names = _community_names(conn)
    finally:
        conn.close()
    where = resolve_paths(os.environ)
    rows = []
    for server in found:
        # No pid recorded, no game to ask the OS about (lifecycle.observe_many's shortcut).
        alive = server.process_id is not None and lifecycle.game_alive(server)
        if (
            server.status in ACTIVE_STATUSES
            and not alive
            and lifecycle.supervisor(where, server) is None
        ):
            # lifecycle.observe records the crash: that write is the full path's.
            raise FullPath(f"{server.name} is recorded {server.status} but is gone")
        rows.append(
            {**_server_row(server, names), "process_id": server.process_id if alive else None}
        )
    return _render(rows)


def server_show(rest: list[str]) -> str:
    """``gsm server show NAME --json``: the stored record, as the full path shows it."""
    (name_or_id,) = _json_only(rest, names=1)
    conn = _connect()
    try:
        # services.servers.find: the same condition, the argument lowered in Python.
        found = _servers(conn, "WHERE lower(name) = ? OR id = ?", (name_or_id.lower(), name_or_id))
        if len(found) != 1:  # none is an error with a suggestion; two, an order to settle
            raise FullPath("not exactly one server")
        names = _community_names(conn)
    finally:
        conn.close()
    return _render(_server_row(found[0], names))


def config_list(rest: list[str]) -> str:
    """``gsm config list --json``: settings.list_settings over the rows read here."""
    from gsm_cli.services import settings

    _json_only(rest, names=0)
    conn = _connect()
    try:
        rows = _setting_rows(conn)
    finally:
        conn.close()
    env = dict(os.environ)  # environment.Environment.vars
    # settings.list_settings without its ORM session: the same resolution of each row.
    shown = [settings.resolve(key, rows.get(key), env).to_dict() for key in sorted(settings.SPECS)]
    return _render(shown)


def config_get(rest: list[str]) -> str:
    """``gsm config get KEY [--json]``: the bare value, or its record in JSON."""
    from gsm_cli.services import settings

    as_json, (key,) = _json_flag(rest, names=1)
    settings.spec_for(key)  # an unknown key is the full path's error, with its suggestion
    conn = _connect()
    try:
        row = _setting_rows(conn, key).get(key)
    finally:
        conn.close()
    setting = settings.resolve(key, row, dict(os.environ))  # settings.get_setting
    if as_json:
        return _render(setting.to_dict())
    return ("" if setting.value is None else output.clean(setting.value)) + "\n"  # emit_value


def sync_status(rest: list[str]) -> str:
    """``gsm sync status --json`` while nothing was rejected and no conflict waits (listing
    those is services/sync.py's, with the entities they name)."""
    _json_only(rest, names=0)
    conn = _connect()
    try:
        queued, retrying, rejected = conn.execute(
            "SELECT coalesce(sum(state = ?), 0),"
            " coalesce(sum(state = ? AND coalesce(retry_count, 0) > 0), 0),"
            " coalesce(sum(state = ?), 0) FROM pending_sync_operations",
            (QUEUED, QUEUED, REJECTED),
        ).fetchone()
        (conflicts,) = conn.execute("SELECT count(*) FROM sync_conflicts").fetchone()
        state = conn.execute(
            "SELECT cursor, last_push_at, last_push_result, last_pull_at, last_pull_result"
            " FROM sync_state WHERE id = 1"
        ).fetchone()
    finally:
        conn.close()
    if rejected or conflicts:
        raise FullPath("rejected operations or conflicts to list")
    cursor, push_at, push, pull_at, pull = state or (0, None, None, None, None)
    return _render(
        {
            "queued": queued,
            "retrying": retrying,
            "rejected": [],
            "conflicts": [],
            "cursor": cursor,
            "last_push_at": iso_utc(push_at),
            "last_push": None if push is None else json.loads(push),  # models.JSONText
            "last_pull_at": iso_utc(pull_at),
            "last_pull": None if pull is None else json.loads(pull),
        }
    )


COMMANDS: dict[tuple[str, ...], Callable[[list[str]], str]] = {
    ("server", "list"): server_list,
    ("server", "show"): server_show,
    ("config", "list"): config_list,
    ("config", "get"): config_get,
    ("sync", "status"): sync_status,
}
