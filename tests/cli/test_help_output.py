"""Every command's --help reads like a command line: no Python types, no doubled brackets.

Typer would show `--port <int>`, `--json <bool>` and `gsm server start {NAME}`; gsm's help shows
`--port PORT`, `--json` and `NAME` (commands/_common.py, plain_help). The walk below renders the
help of every command of the lazy registry, so a new command cannot bring the old look back.
"""

import re

import pytest

from gsm_cli.app import COMMANDS, load_command
from tests.conftest import GsmRunner

WIDE = {"COLUMNS": "200", "TERMINAL_WIDTH": "200"}

# What Typer prints for a parameter's type (`<int>`, `<list[str]>`, `<int range>`, `<path>`).
TYPE_LABEL = re.compile(
    r"<(?:bool|str|int|float|path|file|dir|datetime|uuid|list\[[^>]*\]|\w+ range)>"
)
# An argument in braces (`{NAME}`, `{SERVERS...}`) or in doubled square brackets (`[[NAME]]`).
BRACED_ARGUMENT = re.compile(r"\{[A-Z][A-Z0-9_-]*(?:\.\.\.)?\}|\[\[")


def _command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the app: each registered group loaded, walked to its leaves."""
    found: list[tuple[str, ...]] = [()]

    def walk(command: object, path: tuple[str, ...]) -> None:
        found.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            if not sub.hidden:
                walk(sub, (*path, name))

    for name in COMMANDS:
        walk(load_command(name), (name,))
    return found


PATHS = _command_paths()


def problems(text: str) -> list[str]:
    return [m.group(0) for pattern in (TYPE_LABEL, BRACED_ARGUMENT) for m in pattern.finditer(text)]


def test_the_walk_reaches_every_group_and_their_commands() -> None:
    groups = {path[0] for path in PATHS if path}
    assert groups == set(COMMANDS)
    assert ("server", "create") in PATHS
    assert ("schedule", "add") in PATHS
    assert len(PATHS) > 3 * len(COMMANDS)


def test_the_checks_catch_typer_s_own_look() -> None:
    typer_look = "Usage: gsm server start [OPTIONS] {NAME}\n --port <int>  --json <bool> [[NAME]]"
    assert problems(typer_look) == ["<int>", "<bool>", "{NAME}", "[["]
    assert problems("Usage: gsm server start [OPTIONS] NAME\n --port PORT  --json") == []


@pytest.mark.parametrize("path", PATHS, ids=lambda path: " ".join(path) or "gsm")
def test_help_shows_no_python_types_nor_doubled_brackets(
    gsm: GsmRunner, path: tuple[str, ...]
) -> None:
    result = gsm(*path, "--help", env=WIDE)
    assert result.exit_code == 0, result.stderr
    assert "Usage:" in result.stdout
    assert problems(result.stdout) == [], result.stdout


def test_value_options_show_a_name_and_flags_none(gsm: GsmRunner) -> None:
    text = gsm("server", "create", "--help", env=WIDE).stdout
    assert re.search(r"--port\s+PORT\s", text)
    assert re.search(r"--query-protocol\s+minecraft\|a2s\|tcp\|none\s", text)
    assert re.search(r"--json\s+Same as --output json", text)
    assert re.search(r"--restart\s+--no-restart\s+Restart after a crash", text)
    assert "Usage: gsm server create [OPTIONS] NAME" in text


def test_a_usage_error_shows_the_plain_usage_line(gsm: GsmRunner) -> None:
    result = gsm("server", "create", env=WIDE)
    assert result.exit_code == 2
    assert "Usage: gsm server create [OPTIONS] NAME" in result.stderr
    assert problems(result.stderr) == []
