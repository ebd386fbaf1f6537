"""A server's query protocol and port: the catalog's per game, a server's own through
`gsm server create|update --query-protocol ... --query-port P` (bad values exit 4), and
`gsm server show` giving the effective ones."""

import re

import pytest

from gsm_cli.services import games, query, servers
from gsm_cli.store.models import LocalServer
from tests.conftest import GsmRunner

# Whether a `tcp` check is honest depends on the game's port being TCP.
CATALOG_PROTOCOLS = {
    "minecraft": "minecraft",
    "valheim": "a2s",
    "cs2": "a2s",
    "terraria": "tcp",  # plays over TCP
    "satisfactory": "tcp",  # its server API listens on TCP at the game port
    "factorio": "none",  # UDP only
    "dst": "none",  # UDP only
    "custom": "none",
}


@pytest.mark.parametrize(("game_id", "protocol"), CATALOG_PROTOCOLS.items())
def test_the_catalog_names_each_games_protocol(game_id: str, protocol: str) -> None:
    game = games.get_game(game_id)
    assert game.query_protocol == protocol
    if protocol == "tcp":
        assert game.query_port == game.game_port, "a tcp check goes to the game's own port"


def test_every_catalog_protocol_is_one_the_service_speaks() -> None:
    assert {g.query_protocol for g in games.catalog().values()} <= set(query.PROTOCOLS)


def show(gsm: GsmRunner, name: str) -> dict:
    shown = gsm("server", "show", name, "--json")
    assert shown.exit_code == 0, shown.stderr
    return shown.json()


def test_show_gives_the_games_protocol_and_port(gsm: GsmRunner) -> None:
    assert gsm("server", "create", "mc", "--game", "minecraft").exit_code == 0
    assert gsm("server", "create", "vh", "--game", "valheim").exit_code == 0
    assert gsm("server", "create", "tr", "--game", "terraria").exit_code == 0
    mc, vh, tr = show(gsm, "mc"), show(gsm, "vh"), show(gsm, "tr")
    assert (mc["query_protocol"], mc["query_port"]) == ("minecraft", 25565)
    assert (vh["query_protocol"], vh["query_port"]) == ("a2s", 2457)
    assert (tr["query_protocol"], tr["query_port"]) == ("tcp", 7777)
    assert "query_protocol" not in mc["configuration"]


def test_a_custom_server_is_not_queried_unless_it_says_how(gsm: GsmRunner) -> None:
    made = gsm("server", "create", "c", "--game", "custom", "--command", "./run", "--json")
    assert made.exit_code == 0, made.stderr
    assert (made.json()["query_protocol"], made.json()["query_port"]) == ("none", None)


def test_create_and_update_keep_a_servers_own_protocol(gsm: GsmRunner) -> None:
    made = gsm(
        "server", "create", "c", "--game", "custom", "--command", "./run", "--port", "27016",
        "--query-protocol", "a2s", "--query-port", "27015", "--json",
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    assert made.json()["configuration"]["query_protocol"] == "a2s"
    assert (made.json()["query_protocol"], made.json()["query_port"]) == ("a2s", 27015)
    changed = gsm("server", "update", "c", "--query-protocol", "tcp", "--json")
    assert changed.exit_code == 0, changed.stderr
    assert (show(gsm, "c")["query_protocol"], show(gsm, "c")["query_port"]) == ("tcp", 27015)
    assert gsm("server", "update", "c", "--query-port", "27020").exit_code == 0
    assert show(gsm, "c")["query_port"] == 27020


def test_an_empty_protocol_goes_back_to_the_games(gsm: GsmRunner) -> None:
    made = gsm("server", "create", "mc", "--game", "minecraft", "--query-protocol", "tcp")
    assert made.exit_code == 0, made.stderr
    assert show(gsm, "mc")["query_protocol"] == "tcp"
    back = gsm("server", "update", "mc", "--query-protocol", "")
    assert back.exit_code == 0, back.stderr
    assert show(gsm, "mc")["query_protocol"] == "minecraft"
    assert "query_protocol" not in show(gsm, "mc")["configuration"]


def test_the_table_shows_them(gsm: GsmRunner) -> None:
    assert gsm("server", "create", "vh", "--game", "valheim").exit_code == 0
    table = gsm("server", "show", "vh").stdout
    assert re.search(r"^query_protocol +a2s$", table, re.MULTILINE), table
    assert re.search(r"^query_port +2457$", table, re.MULTILINE), table


@pytest.mark.parametrize("bad", ["gamespy", "A2S", "udp", " "])
def test_an_unknown_protocol_exits_4_with_the_allowed_list(gsm: GsmRunner, bad: str) -> None:
    made = gsm(
        "server", "create", "c", "--game", "custom", "--command", "./run",
        "--query-protocol", bad, "--json",
    )  # fmt: skip
    assert made.exit_code == 4
    assert made.error()["code"] == "invalid_query_protocol"
    assert "minecraft, a2s, tcp, none" in made.error()["message"]
    assert gsm("server", "list", "--json").json() == []
    assert gsm("server", "create", "c", "--game", "custom", "--command", "./run").exit_code == 0
    refused = gsm("server", "update", "c", "--query-protocol", bad)
    assert refused.exit_code == 4
    assert "expected one of minecraft, a2s, tcp, none" in refused.stderr


@pytest.mark.parametrize("bad", ["0", "65536", "-1"])
def test_a_query_port_out_of_range_exits_4(gsm: GsmRunner, bad: str) -> None:
    made = gsm("server", "create", "vh", "--game", "valheim", f"--query-port={bad}")
    assert made.exit_code == 4, made.stderr
    assert "between 1 and 65535" in made.stderr
    assert gsm("server", "create", "vh", "--game", "valheim").exit_code == 0
    assert gsm("server", "update", "vh", f"--query-port={bad}").exit_code == 4
    assert show(gsm, "vh")["query_port"] == 2457


def test_the_effective_values_without_the_store() -> None:
    server = LocalServer(id="x", name="t", game_type="terraria", status="stopped", port=7790)
    server.configuration = {}
    assert (servers.query_protocol(server), servers.query_port(server)) == ("tcp", 7790)
    server.configuration = {"query_protocol": "a2s", "query_port": 27015}
    assert (servers.query_protocol(server), servers.query_port(server)) == ("a2s", 27015)
    server.configuration = {"query_protocol": "not-one"}  # e.g. pulled from a newer gsm
    assert servers.query_protocol(server) == "tcp"
    server.game_type = "a-game-this-gsm-does-not-know"
    assert servers.query_protocol(server) == "none"
