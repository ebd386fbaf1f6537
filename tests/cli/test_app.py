"""The root command: version, help, usage errors and the error boundary."""

import pytest

from gsm_cli import environment
from gsm_cli.app import COMMANDS
from tests.conftest import GsmRunner


def test_version(gsm: GsmRunner) -> None:
    from gsm_cli import __version__

    result = gsm("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"gsm {__version__}"


def test_help_lists_every_registered_command(gsm: GsmRunner) -> None:
    result = gsm("--help")
    assert result.exit_code == 0
    for name, (_module, summary) in COMMANDS.items():
        assert name in result.stdout
        assert summary.split()[0] in result.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_working_help(gsm: GsmRunner, name: str) -> None:
    result = gsm(name, "--help")
    assert result.exit_code == 0, result.stderr
    assert "Usage:" in result.stdout


@pytest.mark.parametrize("sub", ["list", "get", "set", "unset", "path"])
def test_every_config_subcommand_has_working_help(gsm: GsmRunner, sub: str) -> None:
    result = gsm("config", sub, "--help")
    assert result.exit_code == 0, result.stderr


def test_unknown_command_is_a_usage_error(gsm: GsmRunner) -> None:
    result = gsm("confg")
    assert result.exit_code == 2
    assert "config" in result.stderr  # suggested


def test_missing_argument_is_a_usage_error(gsm: GsmRunner) -> None:
    assert gsm("config", "get").exit_code == 2


def test_unexpected_error_is_one_line_without_traceback(gsm: GsmRunner, mocker) -> None:
    # A failure we cannot provoke for real: a bug deep inside a service.
    mocker.patch("gsm_cli.services.settings.list_settings", side_effect=RuntimeError("boom"))
    result = gsm("config", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: unexpected RuntimeError: boom")
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(gsm: GsmRunner, mocker) -> None:
    mocker.patch("gsm_cli.services.settings.list_settings", side_effect=RuntimeError("boom"))
    result = gsm("--debug", "config", "list")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr


def test_interrupt_exits_130(gsm: GsmRunner, mocker) -> None:
    mocker.patch("gsm_cli.services.settings.list_settings", side_effect=KeyboardInterrupt)
    result = gsm("config", "list")
    assert result.exit_code == 130


def test_errors_are_json_in_json_mode(gsm: GsmRunner) -> None:
    result = gsm("config", "get", "nope", "--json")
    assert result.exit_code == 4
    assert result.stdout == ""
    assert result.error()["code"] == "unknown_setting"


class FakeTty:
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("variables", "color", "interactive"),
    [
        ({}, True, True),
        ({"NO_COLOR": "1"}, False, True),
        ({"CI": "true"}, False, False),
        ({"CI": "0"}, True, True),
    ],
)
def test_colour_and_prompts_follow_no_color_and_ci(
    variables: dict[str, str], color: bool, interactive: bool
) -> None:
    tty = FakeTty()
    env = environment.Environment(stdin=tty, stdout=tty, stderr=tty, vars=variables)
    assert env.color_for(tty) is color
    assert env.interactive is interactive
    assert env.animate is interactive


def test_not_a_terminal_means_no_colour_and_no_prompts() -> None:
    import io

    env = environment.Environment(
        stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(), vars={}
    )
    assert not env.color_for(env.stdout)
    assert not env.interactive
    assert not env.animate


def test_table_output_off_a_terminal_has_no_escape_codes(gsm: GsmRunner) -> None:
    result = gsm("config", "list")
    assert result.exit_code == 0
    assert "\x1b[" not in result.stdout
    assert all(line == line.rstrip() for line in result.stdout.splitlines())


@pytest.mark.parametrize("args", [[], ["config"]])
def test_no_command_prints_help_once_and_exits_2(gsm: GsmRunner, args: list[str]) -> None:
    result = gsm(*args)
    assert result.exit_code == 2
    assert (result.stdout + result.stderr).count("Usage:") == 1
    assert "error:" not in result.stderr


def test_sub_apps_offer_no_completion_install(gsm: GsmRunner) -> None:
    for command in ("config", "doctor"):
        assert "--install-completion" not in gsm(command, "--help").stdout


def test_debug_prints_the_traceback_once(gsm: GsmRunner) -> None:
    result = gsm("--debug", "config", "get", "nope")
    assert result.exit_code == 4
    assert result.stderr.count("Traceback") == 1
