"""Bad option values are refused when they are given, the same way in every command:
exit 4 (`invalid_input`, or a more precise code) with one `error:` line for a value of the right
type that is not acceptable, exit 2 (Click's usage error) for a value that does not parse.

The values are checked while the command line is read, before the command looks anything up:
the servers named here do not exist, and the answer is still about the option (not exit 3).
"""

from pathlib import Path

import pytest

from gsm_cli.services import games, processes
from gsm_cli.store.models import LocalServer
from tests.conftest import GsmRunner

REFUSED = [
    # (command line, the message after "invalid value ... for OPTION: ")
    (["server", "start", "x", "--timeout", "-5"], "-5 for --timeout"),
    (["server", "start", "x", "--timeout", "0"], "0 for --timeout"),
    (["server", "start", "x", "--timeout", "nan"], "nan for --timeout"),
    (["server", "stop", "x", "--timeout", "-5"], "-5 for --timeout"),
    (["server", "stop", "x", "--timeout", "0"], "0 for --timeout"),
    (["server", "stop", "--all", "--timeout", "inf"], "inf for --timeout"),
    (["server", "restart", "x", "--timeout", "-1"], "-1 for --timeout"),
    (["server", "send", "x", "hi", "--timeout", "-5"], "-5 for --timeout"),
    (["server", "send", "x", "hi", "--timeout", "0"], "0 for --timeout"),
    (["server", "monitor", "--once", "--interval", "0"], "0 for --interval"),
    (["server", "monitor", "--once", "--interval", "-2"], "-2 for --interval"),
    (["server", "logs", "x", "--lines", "-1"], "-1 for --lines"),
    (["server", "logs", "x", "-n", "-1"], "-1 for --lines"),
    (["server", "backup", "x", "--keep", "0"], "0 for --keep"),
    (["server", "backup", "x", "--keep", "1001"], "1001 for --keep"),
    (["sync", "push", "--batch-size", "0"], "0 for --batch-size"),
    (["sync", "push", "--batch-size", "5001"], "5001 for --batch-size"),
    (["sync", "resolve", "x", "--keep", "both"], "'both' for --keep"),
    (["server", "list", "--status", "bogus"], "'bogus' for --status"),
    (["server", "list", "--status", "Running"], "'Running' for --status"),
    (["server", "list", "--game", "bogus"], "'bogus' for --game"),
    (["server", "create", "x", "--game", "bogus"], "'bogus' for --game"),
    (
        ["server", "create", "x", "--game", "custom", "--command", "run {bogus}"],
        "'run {bogus}' for --command",
    ),
    (
        ["server", "create", "x", "--game", "custom", "--command", "run {}"],
        "'run {}' for --command",
    ),
    (
        ["server", "create", "x", "--game", "custom", "--command", "run {port"],
        "'run {port' for --command",
    ),
    (
        ["server", "create", "x", "--game", "valheim", "--arg", "-w={world}"],
        "'-w={world}' for --arg",
    ),
    (
        ["server", "create", "x", "--game", "valheim", "--arg", "ok", "--arg", "{0}"],
        "'{0}' for --arg",
    ),
    (
        ["server", "create", "x", "--game", "valheim", "--arg", "{name.upper}"],
        "'{name.upper}' for --arg",
    ),
    (["server", "update", "x", "--command", "run {bogus}"], "'run {bogus}' for --command"),
    (["server", "update", "x", "--arg", "{prot}"], "'{prot}' for --arg"),
]


@pytest.mark.parametrize(("args", "what"), REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_a_bad_value_is_refused_when_given(
    gsm: GsmRunner, gsm_home: Path, args: list[str], what: str
) -> None:
    text = gsm(*args)
    assert text.exit_code == 4, text.stderr
    assert text.stdout == ""
    lines = text.stderr.splitlines()
    assert lines[0].startswith(f"error: invalid value {what}"), lines
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: "))
    assert not (gsm_home / "gsm.db").exists()  # refused while the command line was read

    if args[:2] == ["server", "logs"]:  # prints console lines, never JSON
        return
    as_json = gsm(*args, "--json")
    assert as_json.exit_code == 4
    assert as_json.stdout == ""
    error = as_json.error()
    assert error["code"] == ("invalid_game" if "--game" in what else "invalid_input")
    assert error["message"] == lines[0].removeprefix("error: ")

    assert gsm("server", "list", "--json").json() == []


def test_errors_found_on_the_command_line_follow_gsm_output(gsm: GsmRunner) -> None:
    result = gsm("server", "list", "--status", "bogus", env={"GSM_OUTPUT": "json"})
    assert result.exit_code == 4
    assert result.error()["message"].startswith("invalid value 'bogus' for --status")


NOT_PARSED = [
    ["server", "start", "x", "--timeout", "soon"],
    ["server", "stop", "x", "--timeout", ""],
    ["server", "logs", "x", "--lines", "ten"],
    ["server", "logs", "x", "--lines", "1.5"],
    ["server", "backup", "x", "--keep", "1.5"],
    ["server", "monitor", "--interval", "often"],
    ["server", "create", "x", "--game", "custom", "--port", "http"],
    ["sync", "push", "--batch-size", "many"],
]


@pytest.mark.parametrize("args", NOT_PARSED, ids=" ".join)
def test_a_value_that_does_not_parse_is_a_usage_error(gsm: GsmRunner, args: list[str]) -> None:
    result = gsm(*args)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: Invalid value for ")


def test_good_values_pass(gsm: GsmRunner, gsm_home: Path) -> None:
    """Every placeholder, escaped braces, the edges of each range."""
    command = "./run --port {port} --query {query_port} --slots {max_players} {{literal}}"
    created = gsm(
        "server", "create", "ok", "--game", "custom", "--command", command,
        "--arg", "--name={name}", "--arg", "--dir={path}", "--json",
    )  # fmt: skip
    assert created.exit_code == 0, created.stderr
    assert created.json()["configuration"]["command"] == command
    assert gsm("server", "update", "ok", "--command", "./run {port}").exit_code == 0
    assert gsm("server", "list", "--status", "stopped", "--json").json()[0]["name"] == "ok"
    assert gsm("server", "list", "--game", "CUSTOM", "--json").json()[0]["name"] == "ok"
    assert gsm("server", "logs", "ok", "--lines", "0").exit_code == 0
    assert gsm("server", "monitor", "--once", "--interval", "0.5").exit_code == 0
    folder = Path(created.json()["install_path"])
    (folder / "w.dat").write_text("x")
    for keep in ("1", "1000"):
        assert gsm("server", "backup", "ok", "--keep", keep).exit_code == 0


def test_one_list_of_placeholders() -> None:
    """What create and update accept is exactly what a start fills in."""
    server = LocalServer(id="i", name="n", game_type="custom", status="stopped", port=1)
    assert list(processes.placeholders(server)) == list(games.PLACEHOLDERS)
    for name in games.PLACEHOLDERS:
        assert processes.template_problem(f"x {{{name}}}") is None
    assert processes.template_problem("{nope}") == "unknown placeholder {nope}"
