"""The static completion scripts in completions/: in step with gsm, and working in real shells."""

import os
import re
import select
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gsm_cli.app import COMMANDS
from gsm_cli.services.settings import SPECS
from tests.conftest import GsmRunner, gsm_executable

COMPLETIONS = Path(__file__).resolve().parents[2] / "completions"
SCRIPTS = ("gsm.bash", "gsm.zsh", "gsm.fish", "gsm.ps1")
CONFIG_SUBCOMMANDS = ("list", "get", "set", "unset", "path")
FORMATS = ("table", "json", "csv")
OPTIONS = ("--json", "--output", "-o", "--help", "--version", "--verbose", "--debug")


def shell_env(home: Path | None = None) -> dict[str, str]:
    """The shells' environment: the installed `gsm` first on PATH (the scripts run `gsm
    __complete`), and GSM_HOME at ``home``; by default at a folder that does not exist, so
    that no store of the machine's answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GSM_")}
    env["PATH"] = f"{gsm_executable().parent}{os.pathsep}{env.get('PATH', '')}"
    env["GSM_HOME"] = str(home or COMPLETIONS / "no-such-gsm-home")
    return env


def run_shell(
    argv: list[str], script: str, home: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*argv, script],
        capture_output=True,
        text=True,
        timeout=10,
        cwd=COMPLETIONS,
        stdin=subprocess.DEVNULL,
        env=shell_env(home),
    )


@pytest.fixture(params=SCRIPTS)
def script_text(request: pytest.FixtureRequest) -> str:
    lines = (COMPLETIONS / request.param).read_text(encoding="utf-8").splitlines()
    # Only code counts: a name that appears in a comment alone is not completed.
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    if request.param.endswith(".fish"):
        # fish names options as `-s o -l output`; spell them as typed: `-o --output`.
        text = re.sub(r"(?<!\S)-l (\S+)", r"--\1", text)
        text = re.sub(r"(?<!\S)-s (\S)\b", r"-\1", text)
    return text


def has_word(text: str, word: str) -> bool:
    """`word` stands alone in `text`, not as part of a longer name (`path` in `steamcmd.path`)."""
    return re.search(rf"(?<![\w.-]){re.escape(word)}(?![\w.-])", text) is not None


def test_every_command_is_completed(script_text: str) -> None:
    missing = [name for name in COMMANDS if not has_word(script_text, name)]
    assert not missing


def test_every_setting_key_is_completed(script_text: str) -> None:
    missing = [key for key in SPECS if not has_word(script_text, key)]
    assert not missing


def test_config_subcommands_formats_and_options_are_completed(script_text: str) -> None:
    words = (*CONFIG_SUBCOMMANDS, *FORMATS, *OPTIONS)
    missing = [word for word in words if not has_word(script_text, word)]
    assert not missing


def bash_complete(*words: str, home: Path | None = None) -> list[str]:
    """The candidates the bash script offers with the cursor at the end of the last word."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    script = (
        "source ./gsm.bash\n"
        'COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n'
        '_gsm\nprintf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    # `bash -c SCRIPT NAME ARGS...`: the words follow a $0 placeholder.
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script, "gsm-test", *words],
        capture_output=True,
        text=True,
        timeout=10,
        cwd=COMPLETIONS,
        stdin=subprocess.DEVNULL,
        env=shell_env(home),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return [line for line in result.stdout.splitlines() if line]


def test_bash_completes_a_command() -> None:
    assert bash_complete("gsm", "con") == ["config"]


def test_bash_completes_config_subcommands() -> None:
    assert bash_complete("gsm", "config", "") == list(CONFIG_SUBCOMMANDS)


def test_bash_completes_a_setting_key() -> None:
    assert bash_complete("gsm", "config", "set", "backup.ret") == ["backup.retention"]


def test_bash_completes_every_setting_key_after_get() -> None:
    assert bash_complete("gsm", "config", "get", "") == sorted(SPECS)


def test_bash_completes_output_format_values() -> None:
    assert bash_complete("gsm", "config", "set", "output.format", "") == list(FORMATS)
    assert bash_complete("gsm", "config", "list", "-o", "j") == ["json"]
    assert bash_complete("gsm", "doctor", "--output", "=", "c") == ["csv"]


def test_bash_completes_options() -> None:
    assert "--version" in bash_complete("gsm", "--")
    assert set(bash_complete("gsm", "config", "list", "--")) == {"--json", "--output", "--help"}
    assert set(bash_complete("gsm", "config", "get", "--")) == {"--json", "--help"}


def test_fish_script_completes_config_subcommands() -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    result = run_shell(
        ["fish", "--no-config", "-c"], 'source ./gsm.fish; complete -C "gsm config "'
    )
    assert result.returncode == 0, result.stderr
    offered = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert "set" in offered
    assert set(offered) == set(CONFIG_SUBCOMMANDS)


def test_fish_script_completes_setting_keys() -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    result = run_shell(
        ["fish", "--no-config", "-c"], 'source ./gsm.fish; complete -C "gsm config set backup.ret"'
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["backup.retention"]


def test_zsh_script_sources_and_registers() -> None:
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed")
    result = run_shell(
        ["zsh", "-f", "-c"],
        "autoload -U compinit; compinit -u -D; source ./gsm.zsh; print -r -- $_comps[gsm]",
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip() == "_gsm"


# gsm server: its sub-commands, their options, and game ids after --game.
SERVER_SUBCOMMANDS = (
    "create", "list", "show", "update", "delete", "adopt", "start", "stop", "restart", "status",
    "send", "logs", "monitor", "backup", "backups", "restore",
)  # fmt: skip
SERVER_OPTIONS = (
    "--game", "-g", "--path", "--port", "--query-port", "--max-players", "--arg", "--env",
    "--command", "--stop-command", "--restart", "--no-restart", "--max-restarts", "--all",
    "--timeout", "--force", "--follow", "-f", "--lines", "-n", "--once", "--interval", "--purge",
    "--yes", "-y", "--stop", "--name", "--keep", "--wait-for", "--status", "--ready-pattern",
    "--settle-seconds", "--query-protocol",
)  # fmt: skip


def fish_complete(line: str, home: Path | None = None) -> list[str]:
    """The candidates the fish script offers for `line` (the cursor at its end)."""
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    script = f'source ./gsm.fish; complete -C "{line}"'
    result = run_shell(["fish", "--no-config", "-c"], script, home)
    assert result.returncode == 0, result.stderr
    return [row.split("\t")[0] for row in result.stdout.splitlines()]


def test_every_server_subcommand_and_option_is_completed(script_text: str) -> None:
    words = (*SERVER_SUBCOMMANDS, *SERVER_OPTIONS)
    missing = [word for word in words if not has_word(script_text, word)]
    assert not missing


def test_bash_completes_server_subcommands() -> None:
    assert bash_complete("gsm", "server", "") == list(SERVER_SUBCOMMANDS)
    assert set(bash_complete("gsm", "server", "st")) == {"start", "status", "stop"}


def test_bash_completes_game_ids_after_server_game() -> None:
    assert set(bash_complete("gsm", "server", "create", "x", "--game", "v")) == {
        "valheim",
        "vrising",
    }
    assert bash_complete("gsm", "server", "create", "x", "-g", "valh") == ["valheim"]
    assert bash_complete("gsm", "server", "create", "x", "--game", "=", "vr") == ["vrising"]
    assert bash_complete("gsm", "server", "list", "--game", "valh") == ["valheim"]


def test_bash_completes_server_options() -> None:
    offered = set(bash_complete("gsm", "server", "create", "x", "--"))
    assert {"--game", "--path", "--port", "--restart", "--no-restart", "--output"} <= offered
    assert set(bash_complete("gsm", "server", "logs", "x", "-")) == {
        "--follow", "-f", "--lines", "-n", "--help", "-h",
    }  # fmt: skip
    assert "--force" in bash_complete("gsm", "server", "stop", "--")
    assert "--all" in bash_complete("gsm", "server", "status", "--")
    assert set(bash_complete("gsm", "server", "delete", "x", "--")) == {
        "--purge", "--no-purge", "--yes", "--json", "--help",
    }  # fmt: skip
    # An option's value is not taken for an argument: these are still create's options.
    assert "--max-players" in bash_complete("gsm", "server", "create", "x", "--port", "5", "--m")
    typed = ("gsm", "server", "update", "x", "--ready-pattern", "Done", "--se")
    assert bash_complete(*typed) == ["--settle-seconds"]
    # Nothing is offered for a number.
    assert bash_complete("gsm", "server", "create", "x", "--port", "") == []


def test_bash_completes_server_status_and_folder_values() -> None:
    statuses = bash_complete("gsm", "server", "list", "--status", "st")
    assert statuses == ["stopped", "starting", "stopping"]
    offered = bash_complete("gsm", "server", "create", "x", "--path", "")
    assert all((COMPLETIONS / name).is_dir() for name in offered)


def test_fish_completes_server_subcommands() -> None:
    assert set(fish_complete("gsm server ")) == set(SERVER_SUBCOMMANDS)
    assert set(fish_complete("gsm server st")) == {"start", "status", "stop"}


def test_fish_completes_game_ids_after_server_game() -> None:
    assert set(fish_complete("gsm server create x --game v")) == {"valheim", "vrising"}
    assert set(fish_complete("gsm server create x -g v")) == {"valheim", "vrising"}


def test_fish_completes_server_options() -> None:
    offered = set(fish_complete("gsm server create x --"))
    assert {"--game", "--path", "--port", "--restart", "--no-restart", "--output"} <= offered
    logs = set(fish_complete("gsm server logs x --"))
    assert logs == {"--follow", "--lines", "--help"}
    assert "--output" not in fish_complete("gsm server send x --")
    assert "--max-players" in fish_complete("gsm server create x --port 5 --m")
    assert fish_complete("gsm server update x --settle-seconds 5 --re") == [
        "--ready-pattern",
        "--restart",
    ]


def test_every_setting_key_after_config_get_in_fish() -> None:
    assert set(fish_complete("gsm config get ")) == set(SPECS)
    assert fish_complete("gsm config set server.l") == ["server.log_max_bytes"]


# gsm auth and gsm sync: their sub-commands, their options, and local|cloud after --keep.
AUTH_SUBCOMMANDS = ("login", "status", "logout")
AUTH_OPTIONS = ("--api-url", "--with-token", "--no-with-token", "--email", "--revoke")
SYNC_SUBCOMMANDS = ("push", "pull", "status", "retry", "drop", "resolve")
SYNC_OPTIONS = ("--batch-size", "--dry-run", "--all", "--all-rejected", "--yes", "--keep")


def test_every_auth_and_sync_subcommand_and_option_is_completed(script_text: str) -> None:
    words = ("auth", "sync", *AUTH_SUBCOMMANDS, *AUTH_OPTIONS, *SYNC_SUBCOMMANDS, *SYNC_OPTIONS,
             "local", "cloud")  # fmt: skip
    missing = [word for word in words if not has_word(script_text, word)]
    assert not missing


def test_bash_completes_auth() -> None:
    assert bash_complete("gsm", "au") == ["auth"]
    assert bash_complete("gsm", "auth", "") == list(AUTH_SUBCOMMANDS)
    assert bash_complete("gsm", "auth", "l") == ["login", "logout"]
    assert set(bash_complete("gsm", "auth", "login", "--")) == {
        "--api-url", "--with-token", "--no-with-token", "--email", "--json", "--help",
    }  # fmt: skip
    assert set(bash_complete("gsm", "auth", "status", "--")) == {"--json", "--output", "--help"}
    assert bash_complete("gsm", "auth", "status", "-o", "c") == ["csv"]
    assert set(bash_complete("gsm", "auth", "logout", "--")) == {"--revoke", "--json", "--help"}
    # A URL is not completed, and is not taken for an argument.
    assert bash_complete("gsm", "auth", "login", "--api-url", "") == []
    assert bash_complete("gsm", "auth", "login", "--api-url", "http://x", "--e") == ["--email"]


def test_bash_completes_sync() -> None:
    assert bash_complete("gsm", "sync", "") == list(SYNC_SUBCOMMANDS)
    assert set(bash_complete("gsm", "sync", "push", "--")) == {
        "--batch-size", "--dry-run", "--no-dry-run", "--json", "--help",
    }  # fmt: skip
    assert "--all-rejected" in bash_complete("gsm", "sync", "drop", "--")
    assert "--output" in bash_complete("gsm", "sync", "status", "--")
    assert bash_complete("gsm", "sync", "resolve", "mc", "--keep", "") == ["local", "cloud"]
    assert bash_complete("gsm", "sync", "resolve", "mc", "--keep", "=", "c") == ["cloud"]
    # gsm server backup's --keep is a number: nothing to offer.
    assert bash_complete("gsm", "server", "backup", "mc", "--keep", "") == []


def test_fish_completes_auth() -> None:
    assert set(fish_complete("gsm auth ")) == set(AUTH_SUBCOMMANDS)
    assert set(fish_complete("gsm auth l")) == {"login", "logout"}
    login = set(fish_complete("gsm auth login --"))
    assert login == {"--api-url", "--with-token", "--no-with-token", "--email", "--json", "--help"}
    assert "--output" in fish_complete("gsm auth status --")
    assert "--output" not in fish_complete("gsm auth logout --")
    assert {"--revoke", "--json"} <= set(fish_complete("gsm auth logout --"))


def test_fish_completes_sync() -> None:
    assert set(fish_complete("gsm sync ")) == set(SYNC_SUBCOMMANDS)
    assert {"--batch-size", "--dry-run", "--json"} <= set(fish_complete("gsm sync push --"))
    assert set(fish_complete("gsm sync resolve mc --keep ")) == {"local", "cloud"}
    assert "--output" in fish_complete("gsm sync status --")
    assert fish_complete("gsm server backup mc --keep ") == []


# gsm plugin publish, search and info (the marketplace): sub-commands, options and values.
PLUGIN_MARKET_WORDS = (
    "publish", "search", "info", "--changelog", "--verified", "--sort", "--limit",
    "downloads", "rating", "new",
)  # fmt: skip


def test_every_plugin_marketplace_subcommand_and_option_is_completed(script_text: str) -> None:
    missing = [word for word in PLUGIN_MARKET_WORDS if not has_word(script_text, word)]
    assert not missing


def test_bash_completes_the_plugin_marketplace() -> None:
    assert {"publish", "search", "info"} <= set(bash_complete("gsm", "plugin", ""))
    assert bash_complete("gsm", "plugin", "pu") == ["publish"]
    assert set(bash_complete("gsm", "plugin", "search", "--")) == {
        "--game", "--category", "--verified", "--sort", "--limit", "--json", "--output", "--help",
    }  # fmt: skip
    assert bash_complete("gsm", "plugin", "search", "--sort", "") == ["downloads", "rating", "new"]
    assert bash_complete("gsm", "plugin", "search", "--category", "ec") == ["economy"]
    assert bash_complete("gsm", "plugin", "search", "--game", "valh") == ["valheim"]
    assert bash_complete("gsm", "plugin", "search", "--limit", "") == []
    # An option's value is not an argument: still search's options after --sort new.
    assert bash_complete("gsm", "plugin", "search", "--sort", "new", "--ver") == ["--verified"]
    assert "--changelog" in bash_complete("gsm", "plugin", "publish", "x.zip", "--")
    assert set(bash_complete("gsm", "plugin", "info", "x", "--")) == {
        "--json",
        "--output",
        "--help",
    }


def test_fish_completes_the_plugin_marketplace() -> None:
    assert {"publish", "search", "info"} <= set(fish_complete("gsm plugin "))
    assert set(fish_complete("gsm plugin search --sort ")) == {"downloads", "rating", "new"}
    assert fish_complete("gsm plugin search --category ec") == ["economy"]
    assert {"--game", "--category", "--verified", "--sort", "--limit"} <= set(
        fish_complete("gsm plugin search --")
    )
    assert "--changelog" in fish_complete("gsm plugin publish x.zip --")


QUERY_PROTOCOLS = ("minecraft", "a2s", "tcp", "none")


def test_every_query_protocol_is_completed(script_text: str) -> None:
    from gsm_cli.services.query import PROTOCOLS

    assert PROTOCOLS == QUERY_PROTOCOLS
    assert all(has_word(script_text, word) for word in QUERY_PROTOCOLS)


def test_bash_completes_query_protocols() -> None:
    offered = bash_complete("gsm", "server", "create", "x", "--query-protocol", "")
    assert offered == list(QUERY_PROTOCOLS)
    assert bash_complete("gsm", "server", "update", "x", "--query-protocol", "a") == ["a2s"]
    assert "--query-protocol" in bash_complete("gsm", "server", "update", "x", "--query-p")


def test_fish_completes_query_protocols() -> None:
    offered = fish_complete("gsm server create x --query-protocol ")
    assert set(offered) == set(QUERY_PROTOCOLS)


def _long_options() -> set[str]:
    """Every long option of every gsm command, read from the app itself."""
    import click
    import typer.main

    from gsm_cli.app import app

    root = typer.main.get_command(app)
    ctx = click.Context(root)
    found: set[str] = set()

    def walk(command: click.Command) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None and not sub.hidden:
                    walk(sub)
            return
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                found.update(o for o in (*param.opts, *param.secondary_opts) if o[:2] == "--")

    walk(root)
    return found


def test_every_option_of_every_command_is_completed(script_text: str) -> None:
    missing = sorted(o for o in _long_options() if not has_word(script_text, o))
    assert not missing


def test_bash_completes_metrics_collect_watch_and_freeze_options() -> None:
    assert {"collect", "watch"} <= set(bash_complete("gsm", "metrics", ""))
    assert set(bash_complete("gsm", "metrics", "collect", "--")) >= {
        "--all", "--count", "--interval", "--json",
    }  # fmt: skip
    assert set(bash_complete("gsm", "metrics", "watch", "--")) >= {"--all", "--refresh", "--count"}
    # --count takes a value: what follows its number is still an option of watch
    assert bash_complete("gsm", "metrics", "watch", "--count", "2", "--re") == ["--refresh"]
    assert bash_complete("gsm", "server", "update", "x", "--freeze") == ["--freeze-after"]
    assert bash_complete("gsm", "server", "create", "x", "--query-g") == ["--query-grace"]


def test_bash_completes_community_and_revenue() -> None:
    offered = set(bash_complete("gsm", "community", ""))
    assert {"list", "create", "invite", "join", "donate", "revoke"} <= offered
    assert bash_complete("gsm", "community", "join", "c", "--c") == ["--code"]
    invite = set(bash_complete("gsm", "community", "invite", "c", "--"))
    assert {"--email", "--expires", "--uses"} <= invite
    assert bash_complete("gsm", "revenue", "report", "--by", "") == ["plugin", "community", "month"]
    assert "buy" in bash_complete("gsm", "plugin", "b")
    assert bash_complete("gsm", "server", "update", "s", "--no-c") == ["--no-community"]


# Names from the local store: `gsm __complete`, and the scripts that call it.
@pytest.fixture
def store_names(gsm: GsmRunner, gsm_home: Path) -> Path:
    """A store with servers, backups of alpha (two, the newer last), a plugin installed on
    each server, and two cached communities, one with a space in its name."""
    for name, game in (("alpha", "minecraft"), ("alpine", "valheim"), ("beta", "terraria")):
        done = gsm("server", "create", name, "--game", game)
        assert done.exit_code == 0, done.stderr
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        ids = dict(conn.execute("SELECT name, id FROM local_servers"))
        conn.executemany(
            "INSERT INTO server_backups (id, server_id, path, sha256, size_bytes, created_at)"
            " VALUES (?, ?, ?, '0', 1, ?)",
            [
                ("b0000001-old", ids["alpha"], "old.tar.gz", "2026-01-01 10:00:00"),
                ("b0000002-new", ids["alpha"], "new.tar.gz", "2026-02-01 10:00:00"),
                ("b0000003-beta", ids["beta"], "beta.tar.gz", "2026-02-01 10:00:00"),
            ],
        )
        conn.executemany(
            "INSERT INTO local_plugins (id, server_id, name) VALUES (?, ?, ?)",
            [("p1", ids["alpha"], "essentials"), ("p2", ids["beta"], "worldedit")],
        )
        conn.executemany(
            "INSERT INTO community_memberships (community_id, community_name, role)"
            " VALUES (?, ?, 'member')",
            [("c1", "The Guild"), ("c2", "builders"), ("c3", None), ("c4", "two\nlines")],
        )
        conn.execute(
            "INSERT INTO schedules (id, name, server_id, cron, tasks)"
            " VALUES ('s1', 'nightly', ?, '0 4 * * *', '[]')",
            (ids["alpha"],),
        )
        conn.execute(
            "INSERT INTO alert_channels (id, name, url, events)"
            " VALUES ('a1', 'discord', 'discord://secret-token', '[]')"
        )
    conn.close()
    return gsm_home


def complete_names(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(gsm_executable()), "__complete", *args],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        env=shell_env(home),
    )


def test_gsm_complete_gives_the_stores_names(store_names: Path) -> None:
    def names(*args: str) -> list[str]:
        done = complete_names(*args, home=store_names)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        return done.stdout.splitlines()

    assert names("servers") == ["alpha", "alpine", "beta"]
    assert names("servers", "al") == ["alpha", "alpine"]
    assert names("servers", "AL") == ["alpha", "alpine"]  # names are found in any case
    assert names("backups", "--server", "alpha") == ["b0000002-new", "b0000001-old"]
    assert names("backups", "b", "--server=ALPHA") == ["b0000002-new", "b0000001-old"]
    assert names("plugins", "--server", "beta") == ["worldedit"]
    assert names("communities") == ["The Guild", "builders"]  # no empty name, no line break
    assert names("settings", "output.") == ["output.format"]
    assert names("schedules") == ["nightly"]
    assert names("alerts") == ["discord"]  # its name; never its URL
    # Nothing, and no error, where there is nothing to give.
    assert names("backups") == []  # which server's?
    assert names("backups", "--server", "nosuch") == []
    assert names("bogus") == []
    assert names() == []
    assert names("servers", "a", "extra") == []


def test_gsm_complete_without_a_store_gives_nothing_and_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = complete_names("servers", home=home)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert not home.exists()
    home.mkdir()
    (home / "gsm.db").write_bytes(b"not a database at all")
    done = complete_names("servers", home=home)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert sorted(p.name for p in home.iterdir()) == ["gsm.db"]


def test_gsm_complete_reads_a_read_only_store(store_names: Path) -> None:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root may write any file")
    (store_names / "gsm.db").chmod(0o444)
    store_names.chmod(0o555)
    try:
        assert complete_names("servers", home=store_names).stdout.split() == [
            "alpha",
            "alpine",
            "beta",
        ]
    finally:
        store_names.chmod(0o755)


def test_gsm_complete_loads_none_of_gsms_libraries(store_names: Path) -> None:
    """A shell runs it on every Tab: nothing but the standard library (docs/performance.md
    measures it against `python -c pass`)."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", str(gsm_executable()), "__complete", "servers"],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        env=shell_env(store_names),
    )
    assert run.stdout.split() == ["alpha", "alpine", "beta"]
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in run.stderr.splitlines()
        if line.startswith("import time:")
    }
    heavy = {"sqlalchemy", "alembic", "typer", "click", "rich", "pydantic", "httpx", "psutil"}
    assert not {name.split(".")[0] for name in imported} & heavy
    # Nor gsm's own heavier modules (paths' dataclasses: gsm_cli.datadir finds the store).
    assert not imported & {"gsm_cli.output", "gsm_cli.fastpath", "gsm_cli.paths"}


def test_bash_completes_names_from_the_store(store_names: Path) -> None:
    home = store_names
    assert bash_complete("gsm", "server", "show", "", home=home) == ["alpha", "alpine", "beta"]
    assert bash_complete("gsm", "server", "start", "alp", home=home) == ["alpha", "alpine"]
    assert bash_complete("gsm", "server", "create", "", home=home) == []  # a new name
    assert bash_complete("gsm", "server", "restore", "alpha", "", home=home) == [
        "b0000002-new",
        "b0000001-old",
    ]
    assert bash_complete("gsm", "metrics", "collect", "alpha", "b", home=home) == ["beta"]
    assert bash_complete("gsm", "sync", "resolve", "be", home=home) == ["beta"]
    assert bash_complete("gsm", "plugin", "list", "--server", "b", home=home) == ["beta"]
    assert bash_complete("gsm", "plugin", "list", "--server", "=", "b", home=home) == ["beta"]
    typed = ("gsm", "plugin", "uninstall", "--server", "alpha", "")
    assert bash_complete(*typed, home=home) == ["essentials"]
    typed = ("gsm", "plugin", "update", "--server=beta", "")  # "=" not a word break
    assert bash_complete(*typed, home=home) == ["worldedit"]
    typed = ("gsm", "plugin", "update", "--server", "=", "beta", "worldedit", "")
    assert bash_complete(*typed, home=home) == ["worldedit"]
    assert bash_complete("gsm", "plugin", "disable", "", home=home) == []  # no --server yet
    # A name with a space comes escaped, as it must be typed.
    assert bash_complete("gsm", "community", "show", "", home=home) == ["The\\ Guild", "builders"]
    assert bash_complete("gsm", "community", "leave", "The\\ G", home=home) == ["The\\ Guild"]
    # No store: nothing, and no error (bash_complete checks stderr).
    assert bash_complete("gsm", "server", "show", "") == []


def test_fish_completes_names_from_the_store(store_names: Path) -> None:
    home = store_names
    assert set(fish_complete("gsm server logs ", home)) == {"alpha", "alpine", "beta"}
    assert fish_complete("gsm server create ", home) == []
    restore = fish_complete("gsm server restore alpha ", home)  # fish sorts them
    assert restore == ["b0000001-old", "b0000002-new"]
    assert "beta" in fish_complete("gsm metrics watch alpha ", home)
    assert set(fish_complete("gsm plugin list --server ", home)) == {"alpha", "alpine", "beta"}
    assert fish_complete("gsm plugin pin --server alpha ", home) == ["essentials"]
    assert fish_complete("gsm plugin enable --server=beta ", home) == ["worldedit"]
    assert set(fish_complete("gsm community members ", home)) == {"The Guild", "builders"}
    assert fish_complete("gsm server show ") == []


def zsh_complete(line: str, home: Path) -> list[str]:
    """What the zsh script offers for `line`, in an interactive zsh on a pseudo-terminal: every
    candidate it adds is printed (a compadd that also lists them), then the line is cleared."""
    if shutil.which("zsh") is None or sys.platform == "win32":
        pytest.skip("zsh is not installed")
    import pty

    leader, follower = pty.openpty()
    env = {**shell_env(home), "TERM": "xterm"}
    child = subprocess.Popen(
        ["zsh", "-f", "-i"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=COMPLETIONS,
        env=env,
        start_new_session=True,
    )
    os.close(follower)
    deadline = time.monotonic() + 30

    seen = b""

    def read_until(*markers: bytes) -> bytes:
        """What the terminal shows up to the last of ``markers``, each after the one before;
        what came after it stays in ``seen``."""
        nonlocal seen
        for marker in markers:
            while marker not in seen:
                assert time.monotonic() < deadline, seen.decode(errors="replace")
                if select.select([leader], [], [], 0.5)[0]:
                    try:
                        seen += os.read(leader, 65536)
                    except OSError:
                        break
            shown, seen = seen.split(marker, 1)
        return shown

    try:
        os.write(
            leader,
            b"PROMPT='zsh-prompt> '; autoload -U compinit; compinit -u -D; source ./gsm.zsh\n"
            b'compadd() { local -a hits; builtin compadd -O hits "$@";'
            b' (( $#hits )) && print -rl -- "@@ "${^hits}; builtin compadd "$@" }\n'
            b"print -r -- READY-$((1+1))\n",
        )
        # The echo of the line says $((1+1)), its output 2; then the prompt, drawn once the
        # line editor reads the terminal (typed ahead of it, a Tab may be lost).
        read_until(b"READY-2", b"zsh-prompt> ")
        # Tab, then Ctrl-U clears the line, and a marker says the completion is over.
        os.write(leader, line.encode() + b"\t\x15print -r -- DONE-$((2+2))\n")
        shown = read_until(b"DONE-4").decode(errors="replace")
        os.write(leader, b"exit\n")
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(leader)
    return sorted(set(re.findall(r"@@ ([^\r\n]*)", shown)))


def test_zsh_completes_names_from_the_store(store_names: Path) -> None:
    home = store_names
    assert zsh_complete("gsm server show ", home) == ["alpha", "alpine", "beta"]
    assert zsh_complete("gsm server restore alpha ", home) == ["b0000001-old", "b0000002-new"]
    assert zsh_complete("gsm plugin list --server b", home) == ["beta"]
    assert zsh_complete("gsm plugin uninstall --server alpha ", home) == ["essentials"]
    assert zsh_complete("gsm community donate ", home) == ["The Guild", "builders"]
    assert zsh_complete("gsm metrics collect alpha ", home) == ["alpha", "alpine", "beta"]
    assert zsh_complete("gsm sync resolve ", home) == ["alpha", "alpine", "beta"]


def test_alert_and_service_are_completed() -> None:
    assert bash_complete("gsm", "al") == ["alert"]
    assert bash_complete("gsm", "alert", "") == ["add", "list", "show", "remove", "test"]
    assert set(bash_complete("gsm", "alert", "add", "x", "--")) >= {"--url", "--on", "--json"}
    assert set(bash_complete("gsm", "alert", "test", "x", "--")) == {"--json", "--help"}
    assert bash_complete("gsm", "service", "") == ["install", "status", "uninstall", "run"]
    assert "--at-startup" in bash_complete("gsm", "service", "install", "--")
    assert "--no-autostart" in bash_complete("gsm", "server", "update", "x", "--")
    assert set(fish_complete("gsm service ")) == {"install", "status", "uninstall", "run"}
    assert {"--once", "--boot", "--home"} <= set(fish_complete("gsm service run --"))
    assert "--autostart" in fish_complete("gsm server create x --")


def test_schedule_is_completed(store_names: Path) -> None:
    home = store_names
    assert bash_complete("gsm", "sch") == ["schedule"]
    assert "history" in bash_complete("gsm", "schedule", "")
    offered = set(bash_complete("gsm", "schedule", "add", "x", "--"))
    assert {"--server", "--cron", "--task", "--when-empty", "--max-wait"} <= offered
    assert bash_complete("gsm", "schedule", "add", "x", "-s", "be", home=home) == ["beta"]
    assert "--when-empty" in bash_complete("gsm", "server", "restart", "x", "--")
    assert set(fish_complete("gsm schedule add x --server ", home)) == {"alpha", "alpine", "beta"}
    assert "tick" in fish_complete("gsm schedule ")
    assert bash_complete("gsm", "schedule", "run", "", home=home) == ["nightly"]
    assert bash_complete("gsm", "alert", "test", "d", home=home) == ["discord"]
    assert fish_complete("gsm schedule history ", home) == ["nightly"]
    assert fish_complete("gsm alert show ", home) == ["discord"]
    assert zsh_complete("gsm schedule enable ", home) == ["nightly"]
    assert zsh_complete("gsm alert remove ", home) == ["discord"]
