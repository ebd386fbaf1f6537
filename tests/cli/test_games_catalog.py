"""Every entry of the game catalog (data/games.toml) is complete and consistent."""

import re
import string

import pytest

from gsm_cli.services import games

CATALOG = games.catalog()
# Signals a graceful stop may use (the supervisor maps them to CTRL_BREAK on Windows).
SIGNALS = {"SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"}
# The popular dedicated servers the catalog must know (and their Steam apps, where anonymous).
EXPECTED = {
    "minecraft": None,
    "valheim": 896660,
    "cs2": 730,
    "rust": 258550,
    "ark": 376030,
    "terraria": None,
    "7dtd": 294420,
    "palworld": 2394010,
    "factorio": None,
    "satisfactory": 1690800,
    "pz": 380870,
    "vrising": 1829350,
    "enshrouded": 2278520,
    "gmod": 4020,
    "tf2": 232250,
    "dst": 343050,
    "l4d2": 222860,
    "unturned": 1110390,
    "corekeeper": 1963720,
}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_catalog_knows_the_popular_games() -> None:
    assert len(CATALOG) >= 18  # 17 games and "custom"
    assert games.CUSTOM in CATALOG
    for game_id, app_id in EXPECTED.items():
        assert game_id in CATALOG, game_id
        assert CATALOG[game_id].steam_app_id == app_id, game_id


def test_ids_are_lowercase_words() -> None:
    for game_id in CATALOG:
        assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*", game_id), game_id


def test_names_are_unique() -> None:
    names = [g.name for g in CATALOG.values()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("game", CATALOG.values(), ids=list(CATALOG))
def test_entry_is_valid(game: games.Game) -> None:
    assert game.name.strip()
    assert game.query_protocol in games.QUERY_PROTOCOLS
    assert 1 <= game.max_players <= 1000

    for port in (game.game_port, game.query_port):
        assert port is None or (isinstance(port, int) and 1 <= port <= 65535)
    if game.query_protocol != "none":
        assert game.query_port is not None, "a queried game needs its query port"
    if game.id != games.CUSTOM:
        assert game.game_port is not None

    # Either console commands or a signal that exists.
    assert bool(game.stop_commands) != bool(game.stop_signal), "stop: commands or a signal"
    assert game.stop_signal is None or game.stop_signal in SIGNALS
    assert all(c.strip() for c in game.stop_commands)

    if game.save_done_pattern is not None:
        assert game.save_command, "a save pattern without a save command"
        re.compile(game.save_done_pattern)

    if game.steam_app_id is not None:
        assert type(game.steam_app_id) is int and game.steam_app_id > 0
    else:
        assert game.install_hint, "a game SteamCMD cannot install says how to get it by hand"
    assert game.steam_platform in (None, *games.PLATFORMS)


@pytest.mark.parametrize(
    "game", [g for g in CATALOG.values() if g.id != games.CUSTOM], ids=lambda g: g.id
)
def test_launch_for_both_platforms(game: games.Game) -> None:
    assert set(game.launch) == set(games.PLATFORMS)
    for platform in games.PLATFORMS:
        launch = game.launch_for(platform)
        assert launch is not None and launch.executable.strip()
        assert not launch.executable.startswith(("/", "\\")), "relative to the server folder"
        for arg in launch.args:
            assert isinstance(arg, str)
            unknown = placeholders(arg) - set(games.PLACEHOLDERS)
            assert not unknown, f"{platform}: unknown placeholder(s) {unknown} in {arg!r}"
        assert launch.workdir is None or not launch.workdir.startswith(("/", "\\"))
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in launch.env.items())
    windows = game.launch_for("windows")
    assert windows is not None
    if game.steam_platform == "windows":
        assert windows.executable.endswith(".exe")


def test_args_fill_in_with_str_format() -> None:
    values = {"port": 1, "query_port": 2, "max_players": 3, "name": "n", "path": "/p"}
    for game in CATALOG.values():
        for launch in game.launch.values():
            for arg in launch.args:
                arg.format(**values)  # no stray braces


def test_to_dict_keeps_its_keys() -> None:
    data = CATALOG["valheim"].to_dict()
    for key in (
        "id",
        "name",
        "steam_app_id",
        "game_port",
        "query_port",
        "query_protocol",
        "max_players",
        "stop_commands",
        "stop_signal",
        "save_command",
        "save_done_pattern",
        "launch",
    ):
        assert key in data
    assert data["launch"]["linux"]["executable"] == "valheim_server.x86_64"
    assert "{port}" in data["launch"]["windows"]["args"]


@pytest.mark.parametrize("game", CATALOG.values(), ids=list(CATALOG))
def test_say_commands_hold_the_message(game: games.Game) -> None:
    if game.say_command is None:
        return
    assert placeholders(game.say_command) == {"message"}, "only {message} in say_command"
    assert game.say_command.format(message="hi").strip() != ""
    assert game.stop_commands or game.save_command, "a say command needs a console to go to"


def test_the_games_with_a_console_say_command_have_one() -> None:
    for game_id in ("minecraft", "cs2", "terraria", "tf2", "gmod", "l4d2"):
        assert CATALOG[game_id].say_command == "say {message}", game_id
    assert CATALOG["valheim"].say_command is None  # no console: stopped by a signal
    assert CATALOG["custom"].say_command is None
    assert "say_command" in CATALOG["minecraft"].to_dict()
