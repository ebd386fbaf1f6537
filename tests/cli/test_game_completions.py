"""The completion scripts know `gsm game`: its sub-commands, options and every catalog game."""

import shutil
import subprocess

import pytest

from gsm_cli.services import games
from tests.cli.test_completions import COMPLETIONS, bash_complete, has_word, run_shell

GAME_SUBCOMMANDS = ("list", "info", "install", "update", "validate", "installations")
GAME_OPTIONS = ("--path", "--validate")


@pytest.mark.parametrize("script", ["gsm.bash", "gsm.zsh", "gsm.fish", "gsm.ps1"])
def test_scripts_know_the_game_command(script: str) -> None:
    lines = (COMPLETIONS / script).read_text(encoding="utf-8").splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    words = ("game", *GAME_SUBCOMMANDS, *games.catalog())
    missing = [word for word in words if not has_word(text, word)]
    assert not missing
    # The generated scripts (fish too) spell options as typed: --path, --validate.
    assert all(option in text for option in GAME_OPTIONS)


def test_bash_completes_game_subcommands() -> None:
    assert bash_complete("gsm", "game", "") == list(GAME_SUBCOMMANDS)
    assert bash_complete("gsm", "game", "inst") == ["install", "installations"]


@pytest.mark.parametrize("sub", ["info", "install", "update", "validate"])
def test_bash_completes_game_ids(sub: str) -> None:
    assert bash_complete("gsm", "game", sub, "") == sorted(games.catalog())
    assert bash_complete("gsm", "game", sub, "valh") == ["valheim"]


def test_bash_completes_game_options() -> None:
    assert set(bash_complete("gsm", "game", "install", "valheim", "--")) == {
        "--path",
        "--validate",
        "--json",
        "--help",
    }
    assert set(bash_complete("gsm", "game", "update", "--")) == {"--validate", "--json", "--help"}
    assert set(bash_complete("gsm", "game", "list", "--")) == {"--json", "--output", "--help"}


def test_bash_completes_a_folder_after_path() -> None:
    # The script's folder holds no sub-folder: nothing but folders may come back.
    offered = bash_complete("gsm", "game", "install", "--path", "")
    assert all((COMPLETIONS / name).is_dir() for name in offered)
    # The folder given to --path is not taken for the game id.
    assert bash_complete("gsm", "game", "install", "--path", "/tmp", "valh") == ["valheim"]


def test_fish_completes_game_ids_and_options() -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")

    def complete(line: str) -> list[str]:
        result = run_shell(
            ["fish", "--no-config", "-c"], f'source ./gsm.fish; complete -C "{line}"'
        )
        assert result.returncode == 0, result.stderr
        return [row.split("\t")[0] for row in result.stdout.splitlines()]

    assert set(complete("gsm game ")) == set(GAME_SUBCOMMANDS)
    assert complete("gsm game install valh") == ["valheim"]
    assert set(complete("gsm game install valheim --")) >= {"--path", "--validate", "--json"}
    assert "--output" not in complete("gsm game install valheim --")


def test_zsh_script_still_sources() -> None:
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed")
    result = subprocess.run(
        ["zsh", "-n", "gsm.zsh"], capture_output=True, text=True, timeout=10, cwd=COMPLETIONS
    )
    assert result.returncode == 0, result.stderr
