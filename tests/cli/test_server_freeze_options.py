"""gsm server create|update --freeze-after N / --query-grace SECONDS: defaults from the game
(and its query protocol), the server's own values, how `show` tells them apart, bad values;
and the rule itself (services/freeze.py) and the busy marks (services/busy.py) it reads."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gsm_cli.paths import resolve_paths
from gsm_cli.services import busy, freeze, games, servers
from gsm_cli.store.models import LocalServer
from tests.conftest import GsmRunner


def show(gsm: GsmRunner, name: str) -> dict:
    shown = gsm("server", "show", name, "--json")
    assert shown.exit_code == 0, shown.stderr
    return shown.json()


def settings_of(row: dict) -> tuple:
    return (
        row["freeze_after"],
        row["freeze_after_from"],
        row["query_grace"],
        row["query_grace_from"],
    )


def test_defaults_come_from_the_game_and_its_query_protocol(gsm: GsmRunner) -> None:
    assert gsm("server", "create", "mc", "--game", "minecraft").exit_code == 0
    assert gsm("server", "create", "ark", "--game", "ark").exit_code == 0
    assert gsm("server", "create", "c", "--game", "custom", "--command", "x").exit_code == 0
    made = gsm(
        "server", "create", "q", "--game", "custom", "--command", "x", "--port", "27100",
        "--query-protocol", "tcp",
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    assert settings_of(show(gsm, "mc")) == (4, "game", 120.0, "game")
    assert settings_of(show(gsm, "ark")) == (4, "game", games.get_game("ark").query_grace, "game")
    assert games.get_game("ark").query_grace > games.DEFAULT_QUERY_GRACE  # a slow starter
    assert settings_of(show(gsm, "c")) == (0, "game", 120.0, "game")  # no query: never frozen
    assert settings_of(show(gsm, "q")) == (4, "game", 120.0, "game")
    assert "freeze_after" not in show(gsm, "mc")["configuration"]


def test_slow_games_get_a_longer_grace_in_the_catalog() -> None:
    catalog = games.catalog()
    for slow in ("ark", "rust", "valheim", "7dtd", "satisfactory"):
        assert catalog[slow].query_grace > games.DEFAULT_QUERY_GRACE, slow
    assert catalog["minecraft"].query_grace == games.DEFAULT_QUERY_GRACE
    assert all(0 <= g.query_grace <= games.MAX_QUERY_GRACE for g in catalog.values())


def test_game_info_shows_the_query_grace(gsm: GsmRunner) -> None:
    info = gsm("game", "info", "ark", "--json")
    assert info.exit_code == 0, info.stderr
    assert info.json()["query_grace"] == games.get_game("ark").query_grace


def test_own_values_are_stored_and_shown_as_the_servers(gsm: GsmRunner) -> None:
    made = gsm(
        "server", "create", "mc", "--game", "minecraft", "--freeze-after", "2",
        "--query-grace", "30.5", "--json",
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    assert settings_of(made.json()) == (2, "server", 30.5, "server")
    assert made.json()["configuration"]["freeze_after"] == 2
    assert made.json()["configuration"]["query_grace"] == 30.5

    updated = gsm("server", "update", "mc", "--freeze-after", "0", "--json")
    assert updated.exit_code == 0, updated.stderr
    assert settings_of(updated.json()) == (0, "server", 30.5, "server")  # grace kept

    table = gsm("server", "show", "mc").stdout
    assert "freeze_after       off" in table
    assert "query_grace        30.5s" in table
    assert gsm("server", "update", "mc", "--freeze-after", "5").exit_code == 0
    assert gsm("server", "create", "vh", "--game", "valheim").exit_code == 0
    table = gsm("server", "show", "mc").stdout
    assert (
        "5 failed queries" in table and "(the game's default)" not in table.split("query_grace")[0]
    )
    valheim = gsm("server", "show", "vh").stdout
    assert "4 failed queries (the game's default)" in valheim
    assert f"{games.get_game('valheim').query_grace:g}s (the game's default)" in valheim


def test_freeze_after_without_a_query_protocol_warns(gsm: GsmRunner) -> None:
    made = gsm(
        "server", "create", "c", "--game", "custom", "--command", "x", "--freeze-after", "3",
        "--json",
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    assert "no effect while the server has no query protocol" in made.stderr
    assert made.json()["freeze_after"] == 0
    table = gsm("server", "show", "c").stdout
    assert "freeze_after       off (no query protocol)" in table
    assert "query_grace        120s (the game's default)" in table
    assert gsm("server", "update", "c", "--query-protocol", "tcp", "--port", "27101").exit_code == 0
    assert show(gsm, "c")["freeze_after"] == 3  # its own value, once it is queried


def test_no_freeze_restart_without_restarts(gsm: GsmRunner) -> None:
    """A freeze restart is a restart: with --no-restart, a frozen game is left as it is."""
    made = gsm("server", "create", "mc", "--game", "minecraft", "--no-restart", "--json")
    assert made.exit_code == 0, made.stderr
    assert (made.json()["freeze_after"], made.json()["freeze_off_because"]) == (0, "restarts off")
    assert "off (restarts off)" in gsm("server", "show", "mc").stdout
    warned = gsm("server", "update", "mc", "--freeze-after", "2")
    assert "--freeze-after has no effect while the server has restarts off: set --restart" in (
        warned.stderr
    )
    turned_on = gsm("server", "update", "mc", "--restart", "--json")
    assert (turned_on.json()["freeze_after"], turned_on.json()["freeze_off_because"]) == (2, None)


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--freeze-after", "-1", "--freeze-after must be from 0 to 1000, not -1"),
        ("--freeze-after", "1001", "--freeze-after must be from 0 to 1000, not 1001"),
        ("--query-grace", "-5", "--query-grace must be from 0 to 86400 seconds, not -5"),
        ("--query-grace", "100000", "--query-grace must be from 0 to 86400 seconds"),
        ("--query-grace", "nan", "--query-grace must be from 0 to 86400 seconds, not nan"),
    ],
)
def test_bad_values_are_refused_with_a_hint(
    gsm: GsmRunner, option: str, value: str, says: str
) -> None:
    assert gsm("server", "create", "mc", "--game", "minecraft").exit_code == 0
    for attempt in (
        gsm("server", "update", "mc", option, value, "--json"),
        gsm(
            "server",
            "create",
            "other",
            "--game",
            "minecraft",
            "--port",
            "25570",
            option,
            value,
            "--json",
        ),
    ):
        assert attempt.exit_code == 4, attempt.stderr
        error = attempt.error()
        assert error["code"] == "invalid_input"
        assert says in error["message"]
        assert error["hint"]
    assert "freeze_after" not in show(gsm, "mc")["configuration"]  # nothing was changed
    assert gsm("server", "show", "other").exit_code == 3


def test_a_value_that_is_not_a_number_is_a_usage_error(gsm: GsmRunner) -> None:
    assert gsm("server", "create", "mc", "--game", "minecraft").exit_code == 0
    assert gsm("server", "update", "mc", "--freeze-after", "many").exit_code == 2
    assert gsm("server", "update", "mc", "--freeze-after", "1.5").exit_code == 2


def test_values_from_elsewhere_fall_back_to_the_defaults() -> None:
    """A record pulled from a newer gsm or edited by hand: unusable values count as unset."""
    server = LocalServer(name="x", game_type="minecraft", port=25565)
    server.configuration = {"freeze_after": "four", "query_grace": -3}
    assert (servers.freeze_after(server), servers.query_grace(server)) == (4, 120.0)
    server.configuration = {"freeze_after": True, "query_grace": True}
    assert (servers.freeze_after(server), servers.query_grace(server)) == (4, 120.0)
    server.configuration = {"freeze_after": 7, "query_grace": 10**9}
    assert (servers.freeze_after(server), servers.query_grace(server)) == (7, games.MAX_QUERY_GRACE)


# -- the rule --------------------------------------------------------------------------------


def test_the_counter_restarts_after_n_failures_in_a_row() -> None:
    counter = freeze.Counter(freeze.Rule(freeze_after=3, grace_seconds=0), started_at=0)
    assert not counter.observe(False, 1, error="refused")
    assert not counter.observe(False, 2, error="refused")
    assert not counter.observe(True, 3)  # an answer: counted from 0 again
    assert counter.failures == 0
    assert not counter.observe(False, 4, error="a")
    assert not counter.observe(False, 5, error="b")
    assert counter.observe(False, 6, error="no answer within 2s")
    assert counter.detail(3) == "3 failed queries in a row; the last: no answer within 2s"
    assert counter.failures == 0  # after a freeze, a new count


def test_the_counter_ignores_the_grace_period_and_busy_times() -> None:
    counter = freeze.Counter(freeze.Rule(freeze_after=2, grace_seconds=100), started_at=1000)
    for now in range(1000, 1100, 10):
        assert not counter.observe(False, now)
    assert counter.failures == 0
    assert not counter.observe(False, 1100)  # the grace is over: this one counts
    assert not counter.observe(False, 1101, busy=True)  # a backup began: not counted...
    assert counter.failures == 0  # ...and the streak starts again after it
    assert not counter.observe(False, 1102)
    assert counter.observe(False, 1103)


def test_freeze_after_0_never_freezes() -> None:
    counter = freeze.Counter(freeze.Rule(freeze_after=0, grace_seconds=0), started_at=0)
    assert not any(counter.observe(False, now) for now in range(100))


def test_the_monitor_streak_belongs_to_one_process(tmp_path: Path) -> None:
    path = tmp_path / "run" / "x.freeze-count"
    assert freeze.load_streak(path) is None
    freeze.save_streak(path, freeze.Streak(pid=123, create_time=1000.0, failures=2))
    streak = freeze.load_streak(path)
    assert streak == freeze.Streak(pid=123, create_time=1000.0, failures=2)
    assert streak.of(123, 1000.01) and not streak.of(123, 1001.0) and not streak.of(124, 1000.0)
    assert [p.name for p in path.parent.iterdir()] == ["x.freeze-count"]  # no temporary left
    freeze.save_streak(path, None)
    assert not path.exists()
    path.write_text("{not json")
    assert freeze.load_streak(path) is None


# -- the busy marks --------------------------------------------------------------------------


def test_a_busy_mark_lasts_while_its_work_runs(gsm_home: Path) -> None:
    paths = resolve_paths({"GSM_HOME": str(gsm_home)})
    subject = busy.server_subject("s1")
    assert busy.running(paths, [subject]) == []
    with busy.marked(paths, subject, "backup"):
        assert busy.running(paths, [subject]) == ["backup"]
        assert busy.running(paths, [busy.server_subject("s2")]) == []
        with busy.marked(paths, busy.game_subject("valheim"), "SteamCMD update"):
            both = busy.running(paths, [subject, busy.game_subject("valheim")])
            assert sorted(both) == ["SteamCMD update", "backup"]
    assert busy.running(paths, [subject]) == []
    assert list(busy.folder(paths).iterdir()) == []


def test_the_mark_of_a_process_that_died_counts_for_nothing(gsm_home: Path) -> None:
    """A backup killed half-way leaves its mark behind: it is ignored, and removed."""
    paths = resolve_paths({"GSM_HOME": str(gsm_home)})
    code = (
        "import os, sys\n"
        "from gsm_cli.paths import resolve_paths\n"
        "from gsm_cli.services import busy\n"
        "paths = resolve_paths({'GSM_HOME': sys.argv[1]})\n"
        "with busy.marked(paths, busy.server_subject('s1'), 'backup'):\n"
        "    os._exit(9)\n"
    )
    died = subprocess.run([sys.executable, "-c", code, str(gsm_home)], check=False)
    assert died.returncode == 9
    (left,) = busy.folder(paths).glob("*.json")
    assert json.loads(left.read_text())["what"] == "backup"
    assert busy.running(paths, [busy.server_subject("s1")]) == []
    assert not left.exists()
