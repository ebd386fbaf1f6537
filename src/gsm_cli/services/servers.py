"""Game servers on this machine: create, list, show, update and delete (``local_servers``).

Every change is written with its sync operation through the outbox. Running, stopping and
supervising live in ``services.lifecycle``; this module is only about the records and files.
"""

import difflib
import math
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete as delete_rows
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gsm_cli.errors import ConflictError, GsmError, InvalidInputError, NotFoundError
from gsm_cli.paths import Paths, resolve_paths
from gsm_cli.services import device, folders, games, ports, processes, query
from gsm_cli.services.server_config import (  # pure rules, importable without SQLAlchemy
    DEFAULT_FREEZE_AFTER,  # noqa: F401 (re-exported: servers.DEFAULT_FREEZE_AFTER)
    DEFAULT_RESTART,
    MAX_FREEZE_AFTER,
    REMOTE,  # noqa: F401 (re-exported: servers.REMOTE)
    freeze_after,  # noqa: F401 (re-exported)
    freeze_off_because,
    is_remote,
    query_grace,  # noqa: F401 (re-exported)
    query_port,  # noqa: F401 (re-exported)
    query_protocol,  # noqa: F401 (re-exported)
    to_dict,  # noqa: F401 (re-exported: servers.to_dict)
)
from gsm_cli.store import Store, outbox
from gsm_cli.store.models import LocalPlugin, LocalServer, PerformanceSample

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ACTIVE_STATUSES = ("starting", "running", "stopping")


@dataclass
class ServerChanges:
    """What `create` and `update` may set; None means "leave as it is" (or the default)."""

    name: str | None = None
    path: str | None = None
    port: int | None = None
    query_port: int | None = None
    query_protocol: str | None = None  # "" goes back to the game's
    max_players: int | None = None
    args: list[str] | None = None
    env: list[str] | None = None  # K=V strings as typed
    command: str | None = None
    stop_command: str | None = None
    restart: bool | None = None
    max_restarts: int | None = None
    ready_pattern: str | None = None  # "" goes back to the game's
    settle_seconds: float | None = None
    plugin_dir: str | None = None  # "" goes back to the game's
    freeze_after: int | None = None  # 0: never a freeze restart
    query_grace: float | None = None
    community_id: str | None = None  # "" takes the server out of its community
    autostart: bool | None = None  # started by the gsm service when the machine starts
    warnings: list[str] = field(default_factory=list)


def plugin_dir(server: LocalServer) -> str:
    """The server's plugin folder relative to its folder: its own ``--plugin-dir``, else the
    catalog's for its game, else ``plugins/``."""
    own = (server.configuration or {}).get("plugin_dir")
    if isinstance(own, str) and own.strip():
        return games.check_plugin_dir(own)
    game = games.catalog().get((server.game_type or "").lower())
    return game.plugin_dir if game else games.DEFAULT_PLUGIN_DIR


def plugin_folder(server: LocalServer) -> Path:
    """Where the server's plugins go on this machine: its folder / its plugin folder. A server
    of another device has no folder here (exit 5, ``remote_server``)."""
    require_local(server, None)
    if not server.install_path:
        raise ConflictError(
            f"server {server.name} has no folder on this machine", code="remote_server"
        )
    return Path(server.install_path) / plugin_dir(server)


def require_local(server: LocalServer, this_device: str | None) -> None:
    """Refuse (exit 5, ``remote_server``) to act on this machine for a server of another
    device: its folder, process and status are that device's."""
    if is_remote(server, this_device):
        owner = server.device_name or server.device_id or "another device"
        raise ConflictError(
            f"server {server.name} belongs to device {owner}: it is not run or changed here",
            hint=f"to run it on this machine: gsm server adopt {server.name} --path DIR",
            code="remote_server",
        )


def find_local(session: Session, name_or_id: str) -> LocalServer:
    """``find``, refusing a remote server (``require_local``)."""
    server = find(session, name_or_id)
    require_local(server, device.device_id(session))
    return server


def get_local(store: Store, name_or_id: str) -> LocalServer:
    with store.read() as session:
        return find_local(session, name_or_id)


def find(session: Session, name_or_id: str) -> LocalServer:
    server = session.scalars(
        select(LocalServer).where(
            (func.lower(LocalServer.name) == name_or_id.lower()) | (LocalServer.id == name_or_id)
        )
    ).first()
    if server is None:
        names = session.scalars(select(LocalServer.name)).all()
        close = difflib.get_close_matches(name_or_id, names, n=1)
        hint = f"did you mean {close[0]}?" if close else "run `gsm server list`"
        raise NotFoundError(f"no server named {name_or_id!r}", hint=hint, code="server_not_found")
    return server


def get(store: Store, name_or_id: str) -> LocalServer:
    with store.read() as session:
        return find(session, name_or_id)


def list_all(
    store: Store, *, status: str | None = None, game: str | None = None
) -> list[LocalServer]:
    query = select(LocalServer).order_by(LocalServer.name)
    if status:
        query = query.where(LocalServer.status == status)
    if game:
        query = query.where(LocalServer.game_type == game)
    with store.read() as session:
        return list(session.scalars(query))


def _check_name(session: Session, name: str, current_id: str | None = None) -> None:
    if not NAME_PATTERN.match(name):
        raise InvalidInputError(
            f"invalid server name {name!r}",
            hint="use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            code="invalid_name",
        )
    clash = session.scalars(
        select(LocalServer).where(func.lower(LocalServer.name) == name.lower())
    ).first()
    if clash is not None and clash.id != current_id:
        raise ConflictError(f"a server named {clash.name!r} already exists", code="name_taken")


def _check_port(session: Session, port: int, label: str, current_id: str | None) -> None:
    if not 1 <= port <= 65535:
        raise InvalidInputError(f"{label} {port} is not between 1 and 65535", code="invalid_port")
    for other in session.scalars(select(LocalServer)):
        if other.id == current_id:
            continue
        taken = {other.port, (other.configuration or {}).get("query_port")}
        if port in taken:
            raise ConflictError(
                f"{label} {port} is already used by server {other.name!r}",
                hint="choose another with --port",
                code="port_taken",
            )


def _parse_env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not ENV_NAME.match(key):
            raise InvalidInputError(
                f"invalid --env {pair!r}", hint="write it as NAME=value", code="invalid_env"
            )
        env[key] = value
    return env


def _positive(value: int | None, label: str, high: int = 100_000) -> None:
    if value is not None and not 1 <= value <= high:
        raise InvalidInputError(f"{label} must be from 1 to {high}, not {value}")


def _apply_start_checks(config: dict[str, Any], ch: ServerChanges) -> None:
    """--ready-pattern and --settle-seconds: how `start` tells that the game came up."""
    if ch.ready_pattern is not None:
        if ch.ready_pattern:
            try:
                re.compile(ch.ready_pattern)
            except re.error as exc:
                raise InvalidInputError(
                    f"--ready-pattern is not a valid regular expression: {exc}"
                ) from None
        if ch.ready_pattern:
            config["ready_pattern"] = ch.ready_pattern
        else:  # "" goes back to the game's own
            config.pop("ready_pattern", None)
    if ch.settle_seconds is not None:
        if not 0 <= ch.settle_seconds <= games.MAX_SETTLE_SECONDS:
            raise InvalidInputError(
                f"--settle-seconds must be from 0 to {games.MAX_SETTLE_SECONDS:g}, "
                f"not {ch.settle_seconds:g}"
            )
        config["settle_seconds"] = ch.settle_seconds


def _apply_query_protocol(config: dict[str, Any], protocol: str | None) -> None:
    """--query-protocol: one of ``query.PROTOCOLS``; "" goes back to the game's."""
    if protocol is None:
        return
    if protocol:
        config["query_protocol"] = query.check_protocol(protocol, "--query-protocol")
    else:
        config.pop("query_protocol", None)


def _apply_freeze(config: dict[str, Any], ch: ServerChanges) -> None:
    """--freeze-after N (0 turns freeze restarts off) and --query-grace SECONDS; a negative or
    too large value is exit 4."""
    if ch.freeze_after is not None:
        if not 0 <= ch.freeze_after <= MAX_FREEZE_AFTER:
            raise InvalidInputError(
                f"--freeze-after must be from 0 to {MAX_FREEZE_AFTER}, not {ch.freeze_after}",
                hint="the failed queries in a row before a freeze restart; 0 turns it off",
            )
        config["freeze_after"] = ch.freeze_after
    if ch.query_grace is not None:
        if not (math.isfinite(ch.query_grace) and 0 <= ch.query_grace <= games.MAX_QUERY_GRACE):
            raise InvalidInputError(
                f"--query-grace must be from 0 to {games.MAX_QUERY_GRACE:g} seconds, "
                f"not {ch.query_grace:g}",
                hint="the seconds after a start during which failed queries do not count",
            )
        config["query_grace"] = ch.query_grace


def _apply(session: Session, server: LocalServer, game: games.Game, ch: ServerChanges) -> None:
    """Validate and apply changes to a server record (new or existing)."""
    config = dict(server.configuration or {})
    # While its game runs, the server's own ports are bound by it, not by "another program".
    own_ports = (
        {server.port, config.get("query_port")} - {None}
        if processes.is_alive(server.process_id, server.process_create_time)
        else set()
    )
    if ch.name is not None:
        _check_name(session, ch.name, server.id)
        server.name = ch.name
    if ch.port is not None:
        _check_port(session, ch.port, "port", server.id)
        server.port = ch.port
    if ch.query_port is not None:
        _check_port(session, ch.query_port, "query port", server.id)
        config["query_port"] = ch.query_port
    _positive(ch.max_players, "--max-players")
    _positive(ch.max_restarts, "--max-restarts", 1000)
    if ch.max_players is not None:
        config["max_players"] = ch.max_players
    if ch.args is not None:
        config["args"] = list(ch.args)
    if ch.env is not None:
        config["env"] = _parse_env(ch.env)
    if ch.command is not None:
        if not ch.command.strip():
            raise InvalidInputError("--command must not be empty")
        config["command"] = ch.command
    if ch.stop_command is not None:
        config["stop_command"] = ch.stop_command or None
    _apply_start_checks(config, ch)
    _apply_query_protocol(config, ch.query_protocol)
    _apply_freeze(config, ch)
    if ch.community_id is not None:
        server.community_id = ch.community_id or None
    if ch.autostart is not None:
        server.autostart = ch.autostart
    if ch.plugin_dir is not None:
        if ch.plugin_dir.strip():
            config["plugin_dir"] = games.check_plugin_dir(ch.plugin_dir, "--plugin-dir")
        else:  # "" goes back to the game's own
            config.pop("plugin_dir", None)
    restart = dict(config.get("restart") or DEFAULT_RESTART)
    if ch.restart is not None:
        restart["enabled"] = ch.restart
    if ch.max_restarts is not None:
        restart["max_restarts"] = ch.max_restarts
    config["restart"] = restart
    if game.id == games.CUSTOM and not config.get("command"):
        raise InvalidInputError(
            "a custom server needs --command", hint='e.g. --command "./run.sh --port 27015"'
        )
    server.configuration = config
    off = freeze_off_because(server)
    if config.get("freeze_after") and off is not None:
        turn_on = "--query-protocol" if off == "no query protocol" else "--restart"
        ch.warnings.append(
            f"--freeze-after has no effect while the server has {off}: set {turn_on}"
        )
    for port in {server.port, config.get("query_port")} - {None} - own_ports:
        if ports.in_use_by_another_program(port):
            ch.warnings.append(f"another program is using port {port} on this machine")


def create(
    store: Store,
    paths: Paths,
    game_type: str,
    changes: ServerChanges,
    *,
    env: Mapping[str, str] | None = None,
) -> LocalServer:
    """A new server record and its folder: ``changes.path``, or ``<data>/servers/NAME``; the
    folder must pass ``folders.check_server_folder`` (``env``: for the home folder)."""
    game = games.get_game(game_type)
    if changes.name is None:
        raise InvalidInputError("a server needs a name")
    this_name = device.device_name(store, {})  # device.name has no environment override
    with store.write() as session:
        server = LocalServer(id=str(uuid.uuid4()), name="", game_type=game.id, status="stopped")
        server.device_id, server.device_name = device.device_id(session), this_name
        defaults = ServerChanges(
            port=game.game_port,
            query_port=game.query_port if game.query_port != game.game_port else None,
            max_players=game.max_players,
            args=[],
            env=[],
        )
        for attr in ("port", "query_port", "max_players", "args", "env"):
            if getattr(changes, attr) is None:
                setattr(changes, attr, getattr(defaults, attr))
        _apply(session, server, game, changes)
        install = folders.check_server_folder(
            session,
            paths,
            os.environ if env is None else env,
            changes.path or paths.data_dir / folders.SERVERS_AREA / server.name,
            server.id,
        )
        if install.exists() and not install.is_dir():
            raise InvalidInputError(f"--path {install} exists and is not a folder")
        server.install_path = str(install)
        install.mkdir(parents=True, exist_ok=True)
        outbox.record(session, server, "create")
    return server


def update(
    store: Store,
    name_or_id: str,
    changes: ServerChanges,
    *,
    paths: Paths | None = None,
    env: Mapping[str, str] | None = None,
) -> LocalServer:
    """Change a server's record; a new ``--path`` must pass ``folders.check_server_folder``."""
    env = os.environ if env is None else env
    with store.write() as session:
        server = find_local(session, name_or_id)
        if changes.path is not None:
            if server.status in ACTIVE_STATUSES:
                raise ConflictError(f"stop {server.name} before moving its folder")
            new_path = folders.check_server_folder(
                session, paths or resolve_paths(env), env, changes.path, server.id
            )
            if new_path.exists() and not new_path.is_dir():
                raise InvalidInputError(f"--path {new_path} exists and is not a folder")
            new_path.mkdir(parents=True, exist_ok=True)
            server.install_path = str(new_path)
        synced = outbox.entity_payload(server)
        _apply(session, server, games.get_game(server.game_type), changes)
        if changes.autostart is not None and outbox.entity_payload(server) == synced:
            session.add(server)  # autostart alone is this machine's: nothing to sync
        else:
            outbox.record(session, server, "update")
    return server


KEEP_FILES_HINT = (
    "`gsm server delete {name}` without --purge deletes the record and keeps the files; "
    "delete what is truly this server's by hand"
)


@dataclass
class Deleted:
    """A deleted server, and what its purge removed (None without --purge)."""

    server: LocalServer
    purge: folders.PurgeResult | None = None

    def to_dict(self) -> dict[str, Any]:
        folder = Path(self.server.install_path) if self.server.install_path else None
        done = self.purge or folders.PurgeResult(folder)
        return {
            "id": self.server.id,
            "name": self.server.name,
            "purged": self.purge is not None,
            **done.to_dict(),
        }


def _refuse_running(server: LocalServer, is_running: Any) -> None:
    if is_running(server):
        raise ConflictError(
            f"server {server.name} is running", hint=f"gsm server stop {server.name}"
        )


def _purge_folder(
    session: Session, paths: Paths, env: Mapping[str, str], server: LocalServer
) -> Path | None:
    """The folder a purge of ``server`` may delete, checked now, against the records and
    settings as they are (an older gsm may have recorded GSM_HOME, or one folder for two
    servers); None when the record has no folder. Refusals are exit 4."""
    if not server.install_path:
        return None
    hint = KEEP_FILES_HINT.format(name=server.name)
    folder = Path(server.install_path)
    if not folder.is_absolute():
        raise folders.UnsafePathError(
            f"will not purge server {server.name}: its folder {folder} is not an absolute path",
            hint=hint,
        )
    _target, problem = folders.folder_problem(session, paths, env, folder, server.id)
    if problem is not None:
        reason = problem.message.removeprefix("it ")
        raise type(problem)(
            f"will not purge server {server.name}: its folder {folder} {reason}", hint=hint
        )
    if os.path.lexists(folder) and not (folder.is_dir() or folder.is_symlink()):
        raise folders.UnsafePathError(
            f"will not purge server {server.name}: {folder} is not a folder", hint=hint
        )
    return folder


def purge_plan(
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    name_or_id: str,
    *,
    is_running: Any,
) -> tuple[LocalServer, folders.PurgePlan | None]:
    """What `delete --purge` would remove, after the same checks as ``delete`` (nothing is
    changed); the plan is None when the record has no folder."""
    with store.read() as session:
        server = find_local(session, name_or_id)
        _refuse_running(server, is_running)
        folder = _purge_folder(session, paths, env, server)
    return server, folders.plan_purge(folder) if folder else None


def delete(
    store: Store,
    name_or_id: str,
    *,
    purge: bool,
    is_running: Any,
    paths: Paths | None = None,
    env: Mapping[str, str] | None = None,
) -> Deleted:
    """Delete a stopped server; with ``purge`` also its folder, after ``_purge_folder``'s
    checks. The folder is first moved aside, so a failure on either side leaves both the
    record and the files as they were; the files are deleted after the commit, without
    following links or entering another file system (``folders.remove_aside``)."""
    env = os.environ if env is None else env
    aside = folder = None
    from gsm_cli.services import plugins  # a plugin change killed half-way: undo or finish it

    plugins.recover_server(store, paths or resolve_paths(env), get_local(store, name_or_id))
    try:
        with store.write() as session:
            server = find_local(session, name_or_id)
            _refuse_running(server, is_running)
            if purge:
                folder = _purge_folder(session, paths or resolve_paths(env), env, server)
            if folder is not None:
                try:
                    aside = folders.move_aside(folder)
                except OSError as exc:
                    raise GsmError(
                        f"could not move {folder} aside to delete it, so nothing was deleted: "
                        f"{exc.strerror or exc}"
                    ) from exc
            plugins = select(LocalPlugin).where(LocalPlugin.server_id == server.id)
            for plugin in session.scalars(plugins).all():
                outbox.record(session, plugin, "delete")
            forget_history(session, server.id)
            outbox.record(session, server, "delete")
    except BaseException:
        if aside is not None:
            folders.put_back(aside)
        raise
    if not purge:
        return Deleted(server)
    if aside is None:
        return Deleted(server, folders.PurgeResult(folder))
    return Deleted(server, folders.remove_aside(aside))


def forget_history(session: Session, server_id: str) -> None:
    """Delete a server's performance samples, in the transaction that deletes the server: the
    seed's performance_history.server_id references local_servers without ON DELETE, so the
    server's row cannot go while they remain."""
    session.execute(delete_rows(PerformanceSample).where(PerformanceSample.server_id == server_id))


def _require_remote(server: LocalServer, this_device: str) -> None:
    if not is_remote(server, this_device):
        raise ConflictError(
            f"server {server.name} already belongs to this device",
            hint=f"gsm server update {server.name} --path DIR moves its folder",
            code="not_remote",
        )


def get_remote(store: Store, name_or_id: str, this_device: str) -> LocalServer:
    """A remote server (one ``adopt`` can take); exit 5 ``not_remote`` for a local one."""
    with store.read() as session:
        server = find(session, name_or_id)
    _require_remote(server, this_device)
    return server


def adopt(
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    name_or_id: str,
    path: str,
    this: device.Device,
) -> LocalServer:
    """Make a remote server this device's: its folder here (created; the same rules as
    ``create``), this device as its owner, status 'stopped', and an update queued that tells
    the cloud about the new owner."""
    with store.write() as session:
        server = find(session, name_or_id)
        _require_remote(server, this.id)
        games.get_game(server.game_type)  # a game this gsm cannot run cannot be adopted
        _check_name(session, server.name, server.id)
        config = server.configuration or {}
        for port, label in ((server.port, "port"), (config.get("query_port"), "query port")):
            if port is not None:
                _check_port(session, port, label, server.id)
        folder = folders.check_server_folder(session, paths, env, path, server.id)
        if folder.exists() and not folder.is_dir():
            raise InvalidInputError(f"--path {folder} exists and is not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        server.install_path = str(folder)
        server.device_id, server.device_name = this.id, this.name
        server.status = "stopped"
        server.process_id = server.process_create_time = None
        outbox.record(session, server, "update", claim=True)
    return server
