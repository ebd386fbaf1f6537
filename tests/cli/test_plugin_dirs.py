"""Where plugins go: the catalog's plugin_dir per game, a server's own --plugin-dir (relative,
no '..', no absolute path: exit 4), servers.plugin_folder, and `gsm game info` showing it."""

import re
from pathlib import Path

import pytest

from gsm_cli.errors import InvalidInputError
from gsm_cli.services import games, servers
from gsm_cli.store.models import LocalServer
from tests.conftest import GsmRunner

# The folders the games (or their usual mod loaders) document.
DOCUMENTED = {
    "minecraft": "plugins/",  # Paper / Spigot
    "valheim": "BepInEx/plugins/",
    "rust": "oxide/plugins/",  # Oxide / uMod
    "7dtd": "Mods/",
    "ark": "ShooterGame/Binaries/Win64/ArkApi/Plugins/",  # ARK Server API
    "tf2": "tf/addons/sourcemod/plugins/",
    "factorio": "mods/",
    "custom": "plugins/",
}


@pytest.mark.parametrize(("game_id", "folder"), DOCUMENTED.items())
def test_the_catalog_names_each_games_plugin_folder(game_id: str, folder: str) -> None:
    assert games.get_game(game_id).plugin_dir == folder


@pytest.mark.parametrize("game", games.catalog().values(), ids=list(games.catalog()))
def test_every_plugin_dir_is_relative_and_normalised(game: games.Game) -> None:
    assert game.plugin_dir.endswith("/")
    assert not game.plugin_dir.startswith("/")
    assert ".." not in game.plugin_dir.split("/")
    assert "\\" not in game.plugin_dir
    assert games.check_plugin_dir(game.plugin_dir) == game.plugin_dir
    assert game.to_dict()["plugin_dir"] == game.plugin_dir


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("plugins", "plugins/"),
        ("BepInEx\\plugins", "BepInEx/plugins/"),
        ("./mods/", "mods/"),
        ("a//b/./c", "a/b/c/"),
    ],
)
def test_check_plugin_dir_normalises(typed: str, kept: str) -> None:
    assert games.check_plugin_dir(typed) == kept


@pytest.mark.parametrize(
    "bad", ["/srv/x", "\\\\host\\share", "C:\\mods", "c:mods", "a/../../b", "..", " "]
)
def test_check_plugin_dir_refuses_paths_that_leave_the_server(bad: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        games.check_plugin_dir(bad)
    assert caught.value.code == "invalid_plugin_dir"
    assert caught.value.exit_code == 4


def test_game_info_shows_the_plugin_folder(gsm: GsmRunner) -> None:
    shown = gsm("game", "info", "valheim", "--json")
    assert shown.exit_code == 0, shown.stderr
    assert shown.json()["plugin_dir"] == "BepInEx/plugins/"
    table = gsm("game", "info", "rust")
    assert re.search(r"^plugin_dir +oxide/plugins/$", table.stdout, re.MULTILINE)


def test_create_and_update_keep_a_servers_own_plugin_folder(gsm: GsmRunner, tmp_path: Path) -> None:
    made = gsm(
        "server", "create", "mc", "--game", "minecraft", "--path", str(tmp_path / "mc"),
        "--plugin-dir", "mods\\paper", "--json",
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    assert made.json()["configuration"]["plugin_dir"] == "mods/paper/"
    changed = gsm("server", "update", "mc", "--plugin-dir", "extra/plugins", "--json")
    assert changed.json()["configuration"]["plugin_dir"] == "extra/plugins/"
    back = gsm("server", "update", "mc", "--plugin-dir", "", "--json")
    assert back.exit_code == 0, back.stderr
    assert "plugin_dir" not in back.json()["configuration"]


@pytest.mark.parametrize("bad", ["../outside", "/etc", "C:\\plugins", "plugins/../../x"])
def test_a_plugin_dir_outside_the_server_is_refused_with_exit_4(
    gsm: GsmRunner, tmp_path: Path, bad: str
) -> None:
    made = gsm(
        "server", "create", "mc", "--game", "minecraft", "--path", str(tmp_path / "mc"),
        "--plugin-dir", bad, "--json",
    )  # fmt: skip
    assert made.exit_code == 4
    assert made.error()["code"] == "invalid_plugin_dir"
    assert not (tmp_path / "mc").exists()
    listed = gsm("server", "list", "--json")
    assert listed.json() == []
    ok = gsm("server", "create", "mc", "--game", "minecraft", "--path", str(tmp_path / "mc"))
    assert ok.exit_code == 0, ok.stderr
    refused = gsm("server", "update", "mc", "--plugin-dir", bad, "--json")
    assert refused.exit_code == 4
    assert refused.error()["code"] == "invalid_plugin_dir"


def test_plugin_folder_is_the_servers_own_else_the_games(tmp_path: Path) -> None:
    server = LocalServer(
        id="x", name="v", game_type="valheim", status="stopped", install_path=str(tmp_path)
    )
    server.configuration = {}
    assert servers.plugin_folder(server) == tmp_path / "BepInEx" / "plugins"
    server.configuration = {"plugin_dir": "custom/dir/"}
    assert servers.plugin_folder(server) == tmp_path / "custom" / "dir"
    server.game_type = "custom"
    server.configuration = {"command": "x"}
    assert servers.plugin_folder(server) == tmp_path / "plugins"


def test_plugin_folder_of_a_remote_server_is_refused() -> None:
    from gsm_cli.errors import ConflictError

    server = LocalServer(id="x", name="v", game_type="valheim", status="remote")
    server.configuration = {}
    with pytest.raises(ConflictError):
        servers.plugin_folder(server)
