"""How `gsm server start` tells that a game came up: the catalog's settle_seconds and
ready_pattern, and a server's own --settle-seconds and --ready-pattern (checked when given)."""

import re

import pytest

from gsm_cli.services import games, processes
from gsm_cli.store.models import LocalServer
from tests.conftest import GsmRunner

# Ready lines as the games print them (Minecraft: Mojang's server.jar; Valheim: the dedicated
# server's "Game server connected"; Rust: RustDedicated; Terraria: TerrariaServer).
READY_LINES = {
    "minecraft": '[12:01:07] [Server thread/INFO]: Done (6.212s)! For help, type "help"',
    "valheim": "02/20/2024 22:06:58: Game server connected",
    "rust": "Server startup complete",
    "terraria": "Server started",
}


@pytest.mark.parametrize("game", games.catalog().values(), ids=list(games.catalog()))
def test_every_catalog_entry_has_a_sound_start_check(game: games.Game) -> None:
    assert 0 <= game.settle_seconds <= games.MAX_SETTLE_SECONDS
    if game.ready_pattern is not None:
        re.compile(game.ready_pattern)
        assert game.id in READY_LINES, "a ready pattern needs a real line in READY_LINES"
    info = game.to_dict()
    assert info["settle_seconds"] == game.settle_seconds
    assert info["ready_pattern"] == game.ready_pattern


@pytest.mark.parametrize("game_id", READY_LINES)
def test_ready_patterns_match_the_games_own_ready_lines(game_id: str) -> None:
    pattern = games.get_game(game_id).ready_pattern
    assert pattern is not None and re.search(pattern, READY_LINES[game_id])
    assert not re.search(pattern, "Starting up the server...")


def test_the_server_setting_wins_over_the_catalog() -> None:
    server = LocalServer(id="x", name="mc", game_type="minecraft", status="stopped")
    server.configuration = {}
    check = processes.start_check(server)
    assert (check.settle_seconds, check.ready_pattern) == (3.0, r"Done \(")
    server.configuration = {"settle_seconds": 0, "ready_pattern": "Listening"}
    check = processes.start_check(server)
    assert (check.settle_seconds, check.ready_pattern) == (0, "Listening")


def create(gsm: GsmRunner, *extra: str) -> object:
    return gsm(
        "server", "create", "alpha", "--game", "custom", "--command", "x", "--json", *extra
    )  # fmt: skip


def test_create_and_update_store_the_start_check(gsm: GsmRunner) -> None:
    made = create(gsm, "--ready-pattern", r"Listening on \d+", "--settle-seconds", "12.5")
    assert made.exit_code == 0, made.stderr
    config = made.json()["configuration"]
    assert (config["ready_pattern"], config["settle_seconds"]) == (r"Listening on \d+", 12.5)

    changed = gsm("server", "update", "alpha", "--settle-seconds", "0", "--json")
    assert changed.json()["configuration"]["settle_seconds"] == 0
    back = gsm("server", "update", "alpha", "--ready-pattern", "", "--json")
    assert "ready_pattern" not in back.json()["configuration"]  # the game's own again


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        (["--ready-pattern", "Done ("], "--ready-pattern is not a valid regular expression"),
        (["--settle-seconds", "-1"], "--settle-seconds must be from 0 to 600, not -1"),
        (["--settle-seconds", "601"], "--settle-seconds must be from 0 to 600, not 601"),
        (["--settle-seconds", "nan"], "--settle-seconds must be from 0 to 600"),
    ],
)
def test_bad_start_checks_are_refused_with_exit_4(
    gsm: GsmRunner, extra: list[str], text: str
) -> None:
    made = create(gsm, *extra)
    assert made.exit_code == 4
    assert text in made.error()["message"]
    assert gsm("server", "list", "--json").json() == []  # nothing was created
    assert create(gsm).exit_code == 0
    changed = gsm("server", "update", "alpha", *extra, "--json")
    assert changed.exit_code == 4
    assert text in changed.error()["message"]
