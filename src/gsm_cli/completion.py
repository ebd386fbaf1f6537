"""``gsm __complete KIND [PREFIX] [--server NAME]``: names for the shell completion scripts in
completions/, one a line, read from the local store with the standard library's sqlite3.

A hidden command, answered by entry.py before anything else is imported: a shell runs it on
every Tab, so it must start about as fast as Python itself (docs/performance.md, "Start-up").
It never writes, never creates the store, never asks the cloud, and never fails: on any error
(no store, a locked or broken one, an unknown kind) the answer is empty, and the shell offers
nothing more than its static lists.

Kinds:

- ``servers``: server names;
- ``backups``: the ids of a server's backups (``--server NAME``), newest first;
- ``plugins``: the names of the plugins installed on a server (``--server NAME``);
- ``communities``: community names from the local membership cache (``gsm community list``
  fills it);
- ``schedules``: schedule names;
- ``alerts``: alert channel names (never their URLs, which are secrets);
- ``settings``: setting keys.
"""

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from gsm_cli.errors import GsmError

# The server named by --server, as services.servers.find finds it: its name (any case) or id.
_SERVER = "(SELECT id FROM local_servers WHERE lower(name) = lower(?) OR id = ? LIMIT 1)"


def answer(args: list[str]) -> str:
    """The lines to print for ``gsm __complete ARGS``: the names of KIND that start with
    PREFIX (in any case), one a line; empty on any error."""
    try:
        kind, prefix, server = _parse(args)
        found = KINDS[kind](server)
    except (KeyError, ValueError, OSError, sqlite3.Error, ImportError, GsmError):
        return ""  # GsmError: a read-only store whose log cannot be read without writing
    lowered = prefix.lower()
    shown = [name for name in found if name.lower().startswith(lowered) and _safe(name)]
    return "".join(f"{name}\n" for name in shown)


def _parse(args: list[str]) -> tuple[str, str, str | None]:
    """KIND, PREFIX ('' when absent) and --server's value (None when absent)."""
    server = None
    words: list[str] = []
    rest = iter(args)
    for word in rest:
        if word == "--server":
            server = next(rest)
        elif word.startswith("--server="):
            server = word.removeprefix("--server=")
        else:
            words.append(word)
    if not 1 <= len(words) <= 2:
        raise ValueError("KIND [PREFIX]")
    return words[0], (words[1] if len(words) == 2 else ""), server


def _safe(name: str) -> bool:
    """A name a shell can take as one line: no newline, no control character, not empty."""
    return bool(name) and name.isprintable()


def _query(sql: str, params: tuple[str, ...] = ()) -> list[str]:
    """The first column of ``sql`` over the store, read-only; no store, no names."""
    from gsm_cli.datadir import store_file

    path = store_file(os.environ)
    if not path.is_file():
        return []
    conn = sqlite3.connect(_read_only_uri(path), uri=True, timeout=0.5)
    try:
        return [str(value) for (value,) in conn.execute(sql, params) if value is not None]
    finally:
        conn.close()


def _read_only_uri(path: Path) -> str:
    """store/files.read_only_uri, with the check of whether this user may write the store."""
    from gsm_cli.store import files

    return files.read_only_uri(path, writable=not files.write_problems(path))


def _servers(_server: str | None) -> list[str]:
    return _query("SELECT name FROM local_servers ORDER BY name")


def _backups(server: str | None) -> list[str]:
    if not server:
        return []
    return _query(
        f"SELECT id FROM server_backups WHERE server_id = {_SERVER} ORDER BY created_at DESC",
        (server, server),
    )


def _plugins(server: str | None) -> list[str]:
    if not server:
        return []
    return _query(
        f"SELECT name FROM local_plugins WHERE server_id = {_SERVER} ORDER BY name",
        (server, server),
    )


def _communities(_server: str | None) -> list[str]:
    return _query(
        "SELECT community_name FROM community_memberships"
        " WHERE community_name IS NOT NULL ORDER BY community_name"
    )


def _schedules(_server: str | None) -> list[str]:
    return _query("SELECT name FROM schedules ORDER BY name")


def _alert_channels(_server: str | None) -> list[str]:
    return _query("SELECT name FROM alert_channels ORDER BY name")


def _settings(_server: str | None) -> list[str]:
    from gsm_cli.services.settings import SPECS

    return sorted(SPECS)


KINDS: dict[str, Callable[[str | None], list[str]]] = {
    "servers": _servers,
    "backups": _backups,
    "plugins": _plugins,
    "communities": _communities,
    "schedules": _schedules,
    "alerts": _alert_channels,
    "settings": _settings,
}
