"""The static completion scripts in completions/: in step with gsm, and working in real shells."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gsm_cli.app import COMMANDS
from gsm_cli.services.settings import SPECS

COMPLETIONS = Path(__file__).resolve().parents[2] / "completions"
SCRIPTS = ("gsm.bash", "gsm.zsh", "gsm.fish", "gsm.ps1")
CONFIG_SUBCOMMANDS = ("list", "get", "set", "unset", "path")
FORMATS = ("table", "json", "csv")
OPTIONS = ("--json", "--output", "-o", "--help", "--version", "--verbose", "--debug")


def run_shell(argv: list[str], script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*argv, script],
        capture_output=True,
        text=True,
        timeout=10,
        cwd=COMPLETIONS,
        stdin=subprocess.DEVNULL,
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


def bash_complete(*words: str) -> list[str]:
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
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return [line for line in result.stdout.splitlines() if line]


def test_bash_completes_a_command() -> None:
    assert bash_complete("gsm", "con") == ["config"]


def test_bash_completes_config_subcommands() -> None:
    assert bash_complete("gsm", "config", "") == list(CONFIG_SUBCOMMANDS)


def test_bash_completes_a_setting_key() -> None:
    assert bash_complete("gsm", "config", "set", "backup.r") == ["backup.retention"]


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
        ["fish", "--no-config", "-c"], 'source ./gsm.fish; complete -C "gsm config set backup.r"'
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


def fish_complete(line: str) -> list[str]:
    """The candidates the fish script offers for `line` (the cursor at its end)."""
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    result = run_shell(["fish", "--no-config", "-c"], f'source ./gsm.fish; complete -C "{line}"')
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
        "--follow", "-f", "--lines", "-n", "--help",
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
