"""completions/ is what `python -m gsm_cli.completion_scripts` writes from the app, and the
scripts complete in real interactive bash, zsh and fish, typed into a pseudo-terminal."""

import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from gsm_cli import completion_scripts
from gsm_cli.commands import _values
from tests.cli.test_completions import COMPLETIONS, shell_env, store_names  # noqa: F401


def test_completions_are_what_the_generator_writes(tmp_path: Path) -> None:
    completion_scripts.write(tmp_path)
    stale = [
        name
        for name in completion_scripts.SCRIPTS
        if (tmp_path / name).read_bytes() != (COMPLETIONS / name).read_bytes()
    ]
    assert not stale, (
        f"completions/{', '.join(stale)} differ from what the app gives;"
        f" regenerate them: {completion_scripts.REGENERATE}"
    )


def test_a_value_kind_for_no_parameter_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_values.VALUES, ("server start", "no_such_parameter"), _values.SERVERS)
    with pytest.raises(ValueError, match="no_such_parameter"):
        completion_scripts.build()


def test_the_model_reads_kinds_choices_and_paths_from_the_app() -> None:
    model = completion_scripts.build()
    assert model.leaves["server start"].arguments == ["servers"]
    assert model.leaves["server create"].arguments == [""]  # a new name
    assert model.leaves["server restore"].arguments == ["servers", "backups"]
    assert model.leaves["metrics collect"].many == "servers"
    options = {n: o for o in model.leaves["server list"].options for n in o.names}
    assert options["--status"].values.split()[1:] == [
        "stopped",
        "starting",
        "running",
        "stopping",
        "crashed",
        "failed",
        "remote",
    ]
    assert options["--json"].takes_value is False
    pack = {n: o for o in model.leaves["plugin pack"].options for n in o.names}
    assert pack["-o"].values == "file"  # a Path: the zip to write, not a format
    assert "--path" in model.value_options and "--json" not in model.value_options


def test_enum_and_literal_parameters_complete_their_values() -> None:
    import enum
    from typing import Annotated, Literal

    import typer

    class Side(enum.Enum):
        local = "local"
        cloud = "cloud"

    app = typer.Typer()

    @app.command()
    def pick(
        side: Annotated[Side, typer.Option()] = Side.local,
        mode: Annotated[Literal["fast", "safe"] | None, typer.Option()] = None,
        name: str = "x",
    ) -> None:
        """A command with choices."""

    params = {p.name: p for p in completion_scripts.typer_command(app).params}
    assert completion_scripts._choices(params["side"]) == ("local", "cloud")
    assert completion_scripts._choices(params["mode"]) == ("fast", "safe")
    assert completion_scripts._choices(params["name"]) == ()


# Real shells, typed into: Tab as a user presses it.
SHELLS = {
    "bash": (
        ["bash", "--norc", "--noprofile", "-i"],
        "PS1='prompt> '; source ./gsm.bash; gsm() { echo LINE: \"$*\"; }\n"
        "bind 'set show-all-if-ambiguous on'\n"
        "echo READY-$((1+1))\n",
    ),
    "zsh": (
        ["zsh", "-f", "-i"],
        "PROMPT='prompt> '; autoload -U compinit; compinit -u -D; source ./gsm.zsh\n"
        'gsm() { echo LINE: "$*" }\necho READY-$((1+1))\n',
    ),
    "fish": (
        ["fish", "--no-config", "-i"],
        "function fish_prompt; echo -n 'prompt> '; end; source ./gsm.fish\n"
        'function gsm; echo LINE: "$argv"; end\necho READY-(math 1+1)\n',
    ),
}


def _own_terminal() -> None:
    """In the shell's process: a session of its own, whose controlling terminal is the
    pseudo-terminal on stdin (fish refuses to run interactively without one)."""
    import fcntl
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def typed(shell: str, keys: str, home: Path | None = None, run: bool = False) -> str:
    """What the terminal shows once ``keys`` are typed at the prompt of an interactive
    ``shell`` that sourced completions/; the line is then run (``run``) or cleared (Ctrl-U).
    There, `gsm` is a function that prints "LINE:" and its arguments (the completion is for
    the name gsm; `gsm __complete` is still the real gsm)."""
    argv, setup = SHELLS[shell]
    if shutil.which(argv[0]) is None or sys.platform == "win32":
        pytest.skip(f"{shell} is not installed")
    import pty

    leader, follower = pty.openpty()
    user_home = tempfile.mkdtemp(prefix="gsm-shell-home-")  # fish writes its config there
    env = {**shell_env(home), "TERM": "xterm", "HOME": user_home}
    child = subprocess.Popen(
        argv,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=COMPLETIONS,
        env=env,
        preexec_fn=_own_terminal,
    )
    os.close(follower)
    deadline = time.monotonic() + 30
    seen = b""

    def read_until(marker: bytes) -> bytes:
        nonlocal seen
        while marker not in seen:
            assert time.monotonic() < deadline, seen.decode(errors="replace")
            if select.select([leader], [], [], 0.5)[0]:
                try:
                    seen += os.read(leader, 65536)
                except OSError:
                    break
        assert marker in seen, seen.decode(errors="replace")
        shown, seen = seen.split(marker, 1)
        return shown

    try:
        os.write(leader, setup.encode())
        read_until(b"READY-2")
        read_until(b"prompt> ")
        for key in re.findall(r"\t|[^\t]+", keys):
            os.write(leader, key.encode())
            if key == "\t":  # the line editor answers a Tab (a bell, at least) before the next
                answered = len(seen)
                while len(seen) == answered and time.monotonic() < deadline:
                    if select.select([leader], [], [], 0.5)[0]:
                        seen += os.read(leader, 65536)
        # Run the line (enter) or clear it (Ctrl-U); then a marker says it is over.
        done = "echo DONE-(math 2+2)" if shell == "fish" else "echo DONE-$((2+2))"
        os.write(leader, (("\n" if run else "\x15") + done + "\n").encode())
        shown = read_until(b"DONE-4")
        os.write(leader, b"exit\n")
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(leader)
        shutil.rmtree(user_home, ignore_errors=True)
    # Control sequences (cursor moves, colours) part words, as on the screen.
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]", " ", shown.decode(errors="replace"))
    return text.replace("\r", "")


def shown_words(shown: str) -> set[str]:
    """The words on the screen (what is left of terminal control sequences cut them apart)."""
    return set(re.findall(r"[\w.-]+", re.sub(r"\x1b\][^\x07]*\x07", " ", shown)))


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_tab_completes_a_command(shell: str) -> None:
    # `gsm ser`: server and service; `gsm serve`: server alone, put on the line.
    assert {"server", "service"} <= shown_words(typed(shell, "gsm ser\t\t"))
    assert "LINE: server" in typed(shell, "gsm serve\t", run=True)


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_tab_offers_the_stores_server_names(shell: str, store_names: Path) -> None:  # noqa: F811
    shown = typed(shell, "gsm server start \t", home=store_names)
    assert {"alpha", "alpine", "beta"} <= shown_words(shown), repr(shown)
    assert "LINE: server start beta" in typed(
        shell, "gsm server start b\t", home=store_names, run=True
    )
    # Without a store: no names, and no error on the terminal.
    shown = typed(shell, "gsm server start \t")
    assert not {"alpha", "beta"} & shown_words(shown)
