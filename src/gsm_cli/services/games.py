"""The game catalog (data/games.toml): what each game needs to be installed, run and stopped."""

import difflib
import re
import sys
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from gsm_cli.errors import InvalidInputError, NotFoundError
from gsm_cli.services import query

CUSTOM = "custom"
# How a catalog game may be queried (`services.query`).
QUERY_PROTOCOLS = query.PROTOCOLS
PLATFORMS = ("linux", "windows")
# What a launch's args may contain; filled in when a server starts.
PLACEHOLDERS = ("port", "query_port", "max_players", "name", "path")
# How long a game must stay up after launch before gsm calls it running (unless it prints
# its ready line first), and the largest settle time a server may ask for.
DEFAULT_SETTLE_SECONDS = 3.0
MAX_SETTLE_SECONDS = 600.0
# Where a game's plugins go, relative to the server folder, when the catalog names no folder.
DEFAULT_PLUGIN_DIR = "plugins/"
# Seconds after a launch during which failed queries do not count toward a freeze restart,
# when the catalog names none for a game; and the longest grace a server or game may have.
DEFAULT_QUERY_GRACE = 120.0
MAX_QUERY_GRACE = 86400.0
_DRIVE = re.compile(r"^[A-Za-z]:")


def current_platform() -> str:
    return "windows" if sys.platform.startswith("win") else "linux"


@dataclass(frozen=True)
class Launch:
    executable: str
    args: tuple[str, ...] = ()
    # Folder to start in, relative to the server folder (None: the server folder itself).
    workdir: str | None = None
    # Extra environment variables the server needs (Valheim's SteamAppId, library paths).
    env: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "executable": self.executable,
            "args": list(self.args),
            "workdir": self.workdir,
            "env": dict(self.env),
        }


@dataclass(frozen=True)
class Game:
    id: str
    name: str
    query_protocol: str
    max_players: int
    stop_commands: tuple[str, ...] = ()
    stop_signal: str | None = None
    steam_app_id: int | None = None
    game_port: int | None = None
    query_port: int | None = None
    save_command: str | None = None
    save_done_pattern: str | None = None
    # Console line that shows {message} to the players (schedules' say and countdown tasks).
    say_command: str | None = None
    launch: dict[str, Launch] = field(default_factory=dict)
    # "windows" when the server exists only for Windows (SteamCMD fetches the Windows files).
    steam_platform: str | None = None
    # How to get the files by hand when SteamCMD cannot install them.
    install_hint: str | None = None
    # Seconds the game must stay up after launch before it counts as running...
    settle_seconds: float = DEFAULT_SETTLE_SECONDS
    # ...unless it prints a console line matching this regular expression first.
    ready_pattern: str | None = None
    # Folder the game's plugins or mods load from, relative to the server folder.
    plugin_dir: str = DEFAULT_PLUGIN_DIR
    # Seconds after launch during which failed queries do not count toward a freeze restart.
    query_grace: float = DEFAULT_QUERY_GRACE

    def launch_for(self, platform: str | None = None) -> Launch | None:
        return self.launch.get(platform or current_platform())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "steam_app_id": self.steam_app_id,
            "game_port": self.game_port,
            "query_port": self.query_port,
            "query_protocol": self.query_protocol,
            "max_players": self.max_players,
            "stop_commands": list(self.stop_commands),
            "stop_signal": self.stop_signal,
            "save_command": self.save_command,
            "save_done_pattern": self.save_done_pattern,
            "say_command": self.say_command,
            "steam_platform": self.steam_platform,
            "install_hint": self.install_hint,
            "settle_seconds": self.settle_seconds,
            "ready_pattern": self.ready_pattern,
            "plugin_dir": self.plugin_dir,
            "query_grace": self.query_grace,
            "launch": {platform: launch.to_dict() for platform, launch in self.launch.items()},
        }


def _game(game_id: str, data: dict[str, Any]) -> Game:
    stop = data.get("stop", {})
    return Game(
        id=game_id,
        name=data["name"],
        query_protocol=data.get("query_protocol", "none"),
        max_players=int(data.get("max_players", 10)),
        stop_commands=tuple(stop.get("commands", ())),
        stop_signal=stop.get("signal"),
        steam_app_id=data.get("steam_app_id"),
        game_port=data.get("game_port"),
        query_port=data.get("query_port"),
        save_command=data.get("save_command"),
        save_done_pattern=data.get("save_done_pattern"),
        say_command=data.get("say_command"),
        launch={
            platform: Launch(
                data[platform]["executable"],
                tuple(data[platform].get("args", ())),
                data[platform].get("workdir"),
                {str(k): str(v) for k, v in data[platform].get("env", {}).items()},
            )
            for platform in PLATFORMS
            if platform in data
        },
        steam_platform=data.get("steam_platform"),
        install_hint=data.get("install_hint"),
        settle_seconds=float(data.get("settle_seconds", DEFAULT_SETTLE_SECONDS)),
        ready_pattern=data.get("ready_pattern"),
        plugin_dir=check_plugin_dir(data.get("plugin_dir", DEFAULT_PLUGIN_DIR)),
        query_grace=float(data.get("query_grace", DEFAULT_QUERY_GRACE)),
    )


@cache
def catalog() -> dict[str, Game]:
    text = resources.files("gsm_cli").joinpath("data/games.toml").read_text(encoding="utf-8")
    return {game_id: _game(game_id, data) for game_id, data in tomllib.loads(text)["games"].items()}


def get_game(game_id: str) -> Game:
    game = catalog().get(game_id.lower())
    if game is None:
        close = difflib.get_close_matches(game_id.lower(), catalog(), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "run `gsm game list`"
        raise NotFoundError(f"unknown game {game_id!r}", hint=hint, code="unknown_game")
    return game


def check_plugin_dir(text: str, label: str = "plugin folder") -> str:
    """A plugin folder as gsm keeps it: relative to the server folder, '/'-separated, ending in
    '/' (``BepInEx\\plugins`` becomes ``BepInEx/plugins/``). An absolute path, a drive letter or
    a '..' segment is refused (exit 4, ``invalid_plugin_dir``): plugins stay inside the server's
    own folder."""
    raw = text.strip()
    parts = [part for part in re.split(r"[/\\]", raw) if part not in ("", ".")]
    problem = None
    if not raw:
        problem = "it is empty"
    elif raw.startswith(("/", "\\")) or _DRIVE.match(raw):
        problem = "it must be relative to the server folder, not absolute"
    elif ".." in parts:
        problem = "'..' would leave the server folder"
    elif any(ord(ch) < 32 for ch in raw):
        problem = "it holds a control character"
    if problem:
        raise InvalidInputError(
            f"invalid {label} {text!r}: {problem}",
            hint="give a folder inside the server folder, such as plugins or BepInEx/plugins",
            code="invalid_plugin_dir",
        )
    return "/".join(parts) + "/" if parts else "./"
