"""Read commands answered without Typer, SQLAlchemy, Alembic, pydantic or httpx: the store read
with the standard library's sqlite3, the answer rendered by the same functions as the full
application (gsm_cli.views for the rows, gsm_cli.output for tables, JSON and CSV).

``answer(args)`` gives the exact stdout of the full application for a command it knows, or
None, and then the full application runs instead: for every command line it does not parse
exactly, a store that is missing, unwritable or at another schema revision (the full path
creates, upgrades or refuses it), anything that would be an error or a note on stderr, and
``gsm server list`` when a server's record says it is active (starting, running, stopping)
while neither its game nor its supervisor lives: ``services.lifecycle.observe`` records that
crash, a write the fast path leaves to it. Whether a game or supervisor lives is asked with
the functions lifecycle uses (services/liveness.py), so the statuses listed are as true as
the full path's.

It never writes and never prints: entry.py prints what it returns, and exits 0.
"""

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from gsm_cli import environment, output, views
from gsm_cli.errors import GsmError
from gsm_cli.paths import resolve_paths
from gsm_cli.store import files, revisions
from gsm_cli.timeutil import iso_utc

# Environment variables whose effect the fast path does not reproduce (--debug's logging).
FULL_PATH_VARIABLES = ("GSM_DEBUG",)
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
    environment.reset()  # this invocation's streams and variables, as the full path starts
    try:
        return handler(args[2:])
    except (FullPath, GsmError, sqlite3.Error, OSError, ValueError, TypeError):
        return None  # an error is the full application's to report, as it reports it


# --- the command line ------------------------------------------------------------------------


def _output_and_names(rest: list[str]) -> tuple[str | None, list[str]]:
    """The output format asked for (--json, -o/--output FORMAT; None for neither), and the
    positional arguments; FullPath for any other option, or an output option given twice."""
    asked: list[str] = []
    names: list[str] = []
    words = iter(rest)
    for word in words:
        if word == "--json":
            asked.append("json")
        elif word in ("-o", "--output"):
            value = next(words, None)
            if value is None:
                raise FullPath(f"{word} without its value")
            asked.append(output.check_format(value, "for --output"))
        elif word.startswith("--output="):
            asked.append(output.check_format(word.removeprefix("--output="), "for --output"))
        elif word.startswith("-"):
            raise FullPath(word)
        else:
            names.append(word)
    if len(asked) > 1:
        raise FullPath("an output option given twice")
    return (asked[0] if asked else None), names


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


def _format(asked: str | None, conn: sqlite3.Connection) -> str:
    """commands/_common.output_format: the option, else GSM_OUTPUT, else output.format."""
    from gsm_cli.services import settings

    env = environment.current().vars
    if asked is not None:
        fmt = asked
    elif env.get("GSM_OUTPUT"):
        fmt = output.check_format(env["GSM_OUTPUT"], "in GSM_OUTPUT")
    else:
        row = _setting_rows(conn, "output.format").get("output.format")
        fmt = settings.output_format_of(settings.resolve("output.format", row, env), env)
    if fmt == "table" and output.old_windows_console():
        raise FullPath("Rich draws tables on this console through its API")
    return fmt


# --- the store ---------------------------------------------------------------------------------


def _connect() -> sqlite3.Connection:
    """The store, read-only, when the full application would open it as it is: it exists, this
    user can write it, and its schema is this gsm's."""
    path = resolve_paths(os.environ).store_file
    if not path.is_file() or files.write_problems(path):
        raise FullPath("no store, or a read-only one")
    if not files.has_sqlite_header(path):
        raise FullPath("not an SQLite file")
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except BaseException:
        conn.close()
        raise
    if version != revisions.HEAD:
        conn.close()
        raise FullPath(f"schema {version}, not {revisions.HEAD}")
    return conn


def _servers(conn: sqlite3.Connection, where: str = "", params: tuple[Any, ...] = ()) -> list[Any]:
    """``local_servers`` rows with ``models.LocalServer``'s attributes."""
    from gsm_cli.supervisor_store import read_servers

    return read_servers(conn, where, params)


def _community_names(conn: sqlite3.Connection) -> dict[str, str]:
    """services.communities.cached_names."""
    rows = conn.execute("SELECT community_id, community_name FROM community_memberships")
    return {community_id: name for community_id, name in rows if name}


def _setting_rows(conn: sqlite3.Connection, key: str | None = None) -> dict[str, Any]:
    """``user_settings`` rows by key, as objects with ``models.UserSetting``'s attributes."""
    query = "SELECT key, value, updated_at FROM user_settings"
    rows = (
        conn.execute(query, ()) if key is None else conn.execute(f"{query} WHERE key = ?", (key,))
    )
    return {k: SimpleNamespace(value=v, updated_at=at) for k, v, at in rows}


# --- the commands ------------------------------------------------------------------------------


def server_list(rest: list[str]) -> str:
    """``gsm server list`` (no --status or --game filter), each server as
    ``lifecycle.observe`` finds it, asked with the same ``liveness.look``."""
    from gsm_cli.services import liveness

    asked, names = _output_and_names(rest)
    if names:
        raise FullPath("server list takes no argument")
    conn = _connect()
    try:
        fmt = _format(asked, conn)
        found = _servers(conn, "ORDER BY name")
        communities = _community_names(conn)
    finally:
        conn.close()
    seen, dead = liveness.look(resolve_paths(os.environ), found)
    if dead:  # lifecycle.observe records the crash: that write is the full path's
        raise FullPath(f"{dead[0].name} is recorded {dead[0].status} but is gone")
    return output.render(views.listed_servers(seen, communities, fmt), fmt, views.SERVER_COLUMNS)


def server_show(rest: list[str]) -> str:
    """``gsm server show NAME``: the stored record, as the full path shows it."""
    asked, given = _output_and_names(rest)
    if len(given) != 1:
        raise FullPath("server show takes one name")
    conn = _connect()
    try:
        fmt = _format(asked, conn)
        # services.servers.find: the same condition, the argument lowered in Python.
        found = _servers(conn, "WHERE lower(name) = ? OR id = ?", (given[0].lower(), given[0]))
        if len(found) != 1:  # none is an error with a suggestion; two, an order to settle
            raise FullPath("not exactly one server")
        communities = _community_names(conn)
    finally:
        conn.close()
    shown = views.shown_server(found[0], communities, fmt)
    return output.render(shown, fmt, views.DETAIL_COLUMNS)


def config_list(rest: list[str]) -> str:
    """``gsm config list``: settings.resolve_all over the rows read here."""
    from gsm_cli.services import settings

    asked, names = _output_and_names(rest)
    if names:
        raise FullPath("config list takes no argument")
    conn = _connect()
    try:
        fmt = _format(asked, conn)
        rows = _setting_rows(conn)
    finally:
        conn.close()
    resolved = settings.resolve_all(rows, environment.current().vars)
    shown = [setting.to_dict() for setting in resolved]
    return output.render(shown, fmt, views.SETTING_COLUMNS)


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
    setting = settings.resolve(key, row, environment.current().vars)  # settings.get_setting
    if as_json:
        return output.render(setting.to_dict(), "json", views.SETTING_COLUMNS)
    return ("" if setting.value is None else output.clean(setting.value)) + "\n"  # emit_value


def sync_status(rest: list[str]) -> str:
    """``gsm sync status`` while nothing was rejected and no conflict waits (listing those is
    services/sync.py's, with the entities they name), nor, in a table, anything the last pull
    skipped (noted on stderr)."""
    asked, names = _output_and_names(rest)
    if names:
        raise FullPath("sync status takes no argument")
    conn = _connect()
    try:
        fmt = _format(asked, conn)
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
    info = {  # services.sync.status
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
    if fmt != "table":  # commands/sync.status: JSON and CSV carry everything
        return output.render(info, fmt, ())
    if (info["last_pull"] or {}).get("invalid"):
        raise FullPath("what the last pull skipped is noted on stderr")
    return output.render(views.sync_summary(info), "table", views.SYNC_STATUS_COLUMNS)


COMMANDS: dict[tuple[str, ...], Callable[[list[str]], str]] = {
    ("server", "list"): server_list,
    ("server", "show"): server_show,
    ("config", "list"): config_list,
    ("config", "get"): config_get,
    ("sync", "status"): sync_status,
}
