"""Game servers on this machine: create, list, show, update and delete (``local_servers``).

Every change is written with its sync operation through the outbox. Running, stopping and
supervising live in ``services.lifecycle``; this module is only about the records and files.
"""

import difflib
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gsm_cli.errors import ConflictError, InvalidInputError, NotFoundError
from gsm_cli.paths import Paths
from gsm_cli.services import games, ports
from gsm_cli.store import Store, outbox
from gsm_cli.store.models import LocalPlugin, LocalServer
from gsm_cli.timeutil import iso_utc

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ACTIVE_STATUSES = ("starting", "running", "stopping")
DEFAULT_RESTART = {"enabled": True, "max_restarts": 5, "window_seconds": 600, "backoff_seconds": 1}


@dataclass
class ServerChanges:
    """What `create` and `update` may set; None means "leave as it is" (or the default)."""

    name: str | None = None
    path: str | None = None
    port: int | None = None
    query_port: int | None = None
    max_players: int | None = None
    args: list[str] | None = None
    env: list[str] | None = None  # K=V strings as typed
    command: str | None = None
    stop_command: str | None = None
    restart: bool | None = None
    max_restarts: int | None = None
    warnings: list[str] = field(default_factory=list)


def to_dict(server: LocalServer) -> dict[str, Any]:
    """A server as scripts see it: the schema's column names, ISO 8601 UTC times."""
    config = server.configuration or {}
    return {
        "id": server.id,
        "name": server.name,
        "game_type": server.game_type,
        "status": server.status,
        "port": server.port,
        "query_port": config.get("query_port"),
        "max_players": config.get("max_players"),
        "process_id": server.process_id,
        "install_path": server.install_path,
        "last_backup": iso_utc(server.last_backup),
        "created_at": iso_utc(server.created_at),
        "cloud_sync_status": server.cloud_sync_status,
        "configuration": config,
    }


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


def _apply(session: Session, server: LocalServer, game: games.Game, ch: ServerChanges) -> None:
    """Validate and apply changes to a server record (new or existing)."""
    config = dict(server.configuration or {})
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
    for port in {server.port, config.get("query_port")} - {None}:
        if ports.in_use_by_another_program(port):
            ch.warnings.append(f"another program is using port {port} on this machine")


def create(store: Store, paths: Paths, game_type: str, changes: ServerChanges) -> LocalServer:
    game = games.get_game(game_type)
    if changes.name is None:
        raise InvalidInputError("a server needs a name")
    install = Path(changes.path).expanduser().resolve() if changes.path else None
    with store.write() as session:
        server = LocalServer(id=str(uuid.uuid4()), name="", game_type=game.id, status="stopped")
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
        install = install or (paths.data_dir / "servers" / server.name)
        if install.exists() and not install.is_dir():
            raise InvalidInputError(f"--path {install} exists and is not a folder")
        server.install_path = str(install)
        install.mkdir(parents=True, exist_ok=True)
        outbox.record(session, server, "create")
    return server


def update(store: Store, name_or_id: str, changes: ServerChanges) -> LocalServer:
    with store.write() as session:
        server = find(session, name_or_id)
        if changes.path is not None:
            if server.status in ACTIVE_STATUSES:
                raise ConflictError(f"stop {server.name} before moving its folder")
            new_path = Path(changes.path).expanduser().resolve()
            if new_path.exists() and not new_path.is_dir():
                raise InvalidInputError(f"--path {new_path} exists and is not a folder")
            new_path.mkdir(parents=True, exist_ok=True)
            server.install_path = str(new_path)
        _apply(session, server, games.get_game(server.game_type), changes)
        outbox.record(session, server, "update")
    return server


def delete(store: Store, name_or_id: str, *, purge: bool, is_running: Any) -> LocalServer:
    """Delete a stopped server; with ``purge`` also its folder. The folder is first moved aside,
    so a failure on either side leaves both the record and the files as they were."""
    folder = trash = None
    try:
        with store.write() as session:
            server = find(session, name_or_id)
            if is_running(server):
                raise ConflictError(
                    f"server {server.name} is running", hint=f"gsm server stop {server.name}"
                )
            folder = Path(server.install_path) if server.install_path else None
            if purge and folder and folder.exists():
                trash = folder.with_name(f".{folder.name}.gsm-deleting-{os.getpid()}")
                folder.rename(trash)
            plugins = select(LocalPlugin).where(LocalPlugin.server_id == server.id)
            for plugin in session.scalars(plugins).all():
                outbox.record(session, plugin, "delete")
            outbox.record(session, server, "delete")
    except BaseException:
        if trash is not None and folder is not None:
            trash.rename(folder)
        raise
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
    return server
