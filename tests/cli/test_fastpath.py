"""The fast path (gsm_cli.fastpath) against the full application, over the same stores: where it
answers, its answer is the full application's stdout byte for byte (with nothing on stderr and
exit 0); everywhere else it steps aside, and the full application runs."""

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from gsm_cli import fastpath
from gsm_cli.services import control
from tests.conftest import GsmRunner, gsm_executable

FAST = [
    ("server", "list", "--json"),
    ("server", "list", "-o", "json"),
    ("server", "list", "--output=JSON"),
    ("server", "show", "alpha", "--json"),
    ("server", "show", "ALPHA", "-o", "json"),
    ("server", "show", "--json", "beta"),
    ("server", "show", "faraway", "--json"),  # a remote server
    ("config", "list", "--json"),
    ("config", "list", "-o", "json"),
    ("config", "get", "backup.retention"),  # set
    ("config", "get", "cloud.api_url"),  # none
    ("config", "get", "metrics.interval", "--json"),  # the default
    ("config", "get", "--json", "backup.retention"),
    ("sync", "status", "--json"),
    ("sync", "status", "--output", "json"),
    # Tables and CSV, rendered by the same gsm_cli.output functions.
    ("server", "list"),
    ("server", "list", "-o", "csv"),
    ("server", "list", "--output", "Table"),
    ("server", "show", "alpha"),
    ("server", "show", "faraway", "-o", "csv"),
    ("config", "list"),
    ("config", "list", "--output=csv"),
    ("sync", "status"),
    ("sync", "status", "-o", "csv"),
]
ALWAYS_FULL = [
    ("server", "list", "--json", "--status", "stopped"),
    ("server", "list", "-o", "xml"),  # an error
    ("server", "list", "-o"),
    ("server", "list", "--json", "-o", "json"),  # an option given twice
    ("server", "show", "nosuch", "--json"),  # an error, with its suggestion
    ("server", "show", "alpha", "beta", "--json"),
    ("server", "show", "--json"),
    ("server", "list", "--json", "--bogus"),
    ("--verbose", "server", "list", "--json"),
    ("config", "get", "no.such.key"),  # an error, with its suggestion
    ("config", "get", "backup.retention", "-o", "json"),  # config get has no --output
    ("config", "get"),
    ("sync", "status", "extra"),
]


def _fill(gsm: GsmRunner, home: Path) -> None:
    """Servers of several games, one in a community, one with settings of its own, queued
    operations, settings set, and a remote server pulled from another device."""
    for name, game, extra in (
        ("alpha", "custom", ("--command", "run-alpha {port}", "--freeze-after", "0")),
        ("beta", "minecraft", ("--max-players", "12", "--query-grace", "2.5")),
        ("gamma", "valheim", ("--no-restart",)),
    ):
        done = gsm("server", "create", name, "--game", game, *extra)
        assert done.exit_code == 0, done.stderr
    assert gsm("config", "set", "backup.retention", "9").exit_code == 0
    with sqlite3.connect(home / "gsm.db") as conn:
        conn.execute(
            "INSERT INTO community_memberships (community_id, community_name, role)"
            " VALUES ('c-1', 'The Guild', 'owner'), ('c-2', NULL, 'member')"
        )
        conn.execute("UPDATE local_servers SET community_id = 'c-1' WHERE name = 'alpha'")
        conn.execute("UPDATE local_servers SET community_id = 'c-2' WHERE name = 'beta'")
        conn.execute(
            "INSERT INTO local_servers (id, name, game_type, status, configuration, port,"
            " device_id, device_name, cloud_sync_status)"
            " VALUES ('r-1', 'faraway', 'minecraft', 'remote', '{\"max_players\":4}', 25570,"
            " 'other-device', 'the other PC', 'synced')"
        )
        # A retried operation, and the last push and pull as the store records them.
        conn.execute(
            "UPDATE pending_sync_operations SET retry_count = 2"
            " WHERE id = (SELECT min(id) FROM pending_sync_operations)"
        )
        conn.execute(
            "INSERT OR REPLACE INTO sync_state (id, cursor, last_push_at, last_push_result,"
            " last_pull_at, last_pull_result) VALUES (1, 42, '2026-12-01 10:00:00',"
            " '{\"applied\":3,\"rejected\":0}', '2026-12-01 10:00:05', '{\"changes\":7}')"
        )
    conn.close()


def _full(gsm: GsmRunner, args: tuple[str, ...]) -> str:
    done = gsm(*args)
    assert done.exit_code == 0 and done.stderr == "", (args, done.exit_code, done.stderr)
    return done.stdout


@pytest.mark.parametrize("filled", [True, False], ids=["servers", "empty"])
def test_the_fast_answer_is_the_full_applications_byte_for_byte(
    gsm: GsmRunner, gsm_home: Path, filled: bool
) -> None:
    if filled:
        _fill(gsm, gsm_home)
    else:
        assert gsm("config", "list").exit_code == 0  # the store exists, with no server
    fast_here = FAST if filled else [a for a in FAST if a[:2] != ("server", "show")]
    for args in fast_here:
        fast = fastpath.answer(list(args))
        assert fast is not None, args
        assert fast == _full(gsm, args), args
    if filled:
        listed = json.loads(fastpath.answer(["server", "list", "--json"]) or "")
        assert [s["name"] for s in listed] == ["alpha", "beta", "faraway", "gamma"]
        assert listed[0]["community_name"] == "The Guild"


def test_it_steps_aside_for_everything_else(gsm: GsmRunner, gsm_home: Path) -> None:
    _fill(gsm, gsm_home)
    for args in ALWAYS_FULL:
        assert fastpath.answer(list(args)) is None, args


def test_settings_from_the_environment_are_the_same(
    gsm: GsmRunner, gsm_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(gsm, gsm_home)
    monkeypatch.setenv("GSM_API_URL", "https://cloud.example.com")
    for args in (("config", "list", "--json"), ("config", "get", "cloud.api_url")):
        fast = fastpath.answer(list(args))
        assert fast is not None and fast == _full(gsm, args), args
    monkeypatch.setenv("GSM_API_URL", "not a url")  # an error: the full path says so
    assert fastpath.answer(["config", "list", "--json"]) is None
    assert gsm("config", "list", "--json").exit_code != 0


def test_sync_status_steps_aside_for_rejections_and_conflicts(
    gsm: GsmRunner, gsm_home: Path
) -> None:
    _fill(gsm, gsm_home)
    args = ["sync", "status", "--json"]
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        conn.execute(
            "INSERT INTO sync_conflicts (entity_type, entity_id, cloud_operation, cloud_data,"
            " reason) VALUES ('game_server', 'r-1', 'update', '{}', 'changed on both sides')"
        )
    assert fastpath.answer(args) is None
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        conn.execute("DELETE FROM sync_conflicts")
        conn.execute(
            "UPDATE pending_sync_operations SET state = 'rejected', last_error = 'no'"
            " WHERE id = (SELECT max(id) FROM pending_sync_operations)"
        )
    conn.close()
    assert fastpath.answer(args) is None
    assert json.loads(_full(gsm, tuple(args)))["rejected"]  # the full path lists it


def test_it_steps_aside_while_a_server_may_run(gsm: GsmRunner, gsm_home: Path) -> None:
    """Only lifecycle.observe may say whether the game of an active record lives (and record
    a crash): the full path answers, and finds it crashed."""
    _fill(gsm, gsm_home)
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        conn.execute(
            "UPDATE local_servers SET status = 'running', process_id = 999999999,"
            " process_create_time = 1.0 WHERE name = 'gamma'"
        )
    conn.close()
    assert fastpath.answer(["server", "list", "--json"]) is None
    listed = json.loads(_full(gsm, ("server", "list", "--json")))
    assert {s["name"]: s["status"] for s in listed}["gamma"] == "crashed"
    # Recorded as crashed (no process id), the store holds the truth again: fast once more.
    assert fastpath.answer(["server", "list", "--json"]) == _full(gsm, ("server", "list", "--json"))


def test_servers_that_run_are_listed_as_the_full_path_finds_them(
    gsm: GsmRunner, gsm_home: Path
) -> None:
    """Records that say running, asked of the OS as lifecycle.observe asks: a game that lives
    (a real child process, with its pid and create time), a game that is gone while its
    supervisor lives (between restarts), and a stopped record with a live pid."""
    _fill(gsm, gsm_home)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = psutil.Process(child.pid).create_time()
        with sqlite3.connect(gsm_home / "gsm.db") as conn:
            conn.execute(
                "UPDATE local_servers SET status = 'running', process_id = ?,"
                " process_create_time = ? WHERE name IN ('alpha', 'beta')",
                (child.pid, started),
            )
            conn.execute(
                "UPDATE local_servers SET status = 'starting', process_id = 999999999,"
                " process_create_time = 1.0 WHERE name = 'gamma'"
            )
            gamma = conn.execute("SELECT id FROM local_servers WHERE name = 'gamma'").fetchone()[0]
        conn.close()
        control.SupervisorState(child.pid, started, 1, "token", gamma).save(
            gsm_home / "run" / f"{gamma}.json"
        )
        args = ("server", "list", "--json")
        fast = fastpath.answer(list(args))
        assert fast is not None and fast == _full(gsm, args)
        shown = {s["name"]: (s["status"], s["process_id"]) for s in json.loads(fast)}
        assert shown["alpha"] == ("running", child.pid)
        assert shown["gamma"] == ("starting", None)
    finally:
        child.kill()
        child.wait()


def test_it_steps_aside_for_a_store_it_does_not_know(gsm: GsmRunner, gsm_home: Path) -> None:
    assert fastpath.answer(["server", "list", "--json"]) is None  # no store yet
    _fill(gsm, gsm_home)
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0006_plugin_files'")
    conn.close()
    assert fastpath.answer(["server", "list", "--json"]) is None  # the full path upgrades it


def test_it_steps_aside_for_debug(
    gsm: GsmRunner, gsm_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(gsm, gsm_home)
    monkeypatch.setenv("GSM_DEBUG", "1")
    assert fastpath.answer(["server", "list", "--json"]) is None


def test_the_installed_program_answers_through_it(gsm: GsmRunner, gsm_home: Path) -> None:
    """`gsm server list --json` as a script runs it: the same bytes, without Typer or Rich."""
    _fill(gsm, gsm_home)
    args = ("server", "list", "--json")
    run = subprocess.run(
        [sys.executable, "-X", "importtime", str(gsm_executable()), *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0
    assert run.stdout == _full(gsm, args)
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in run.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "gsm_cli" in imported
    assert not imported & {"typer", "rich", "click", "pydantic"}


def test_ctrl_c_during_a_fast_answer_is_a_note_and_exit_130(tmp_path: Path) -> None:
    """Ctrl-C while the fast path reads the store: like the full application, "interrupted"
    and exit 130, no traceback (the KeyboardInterrupt is raised by a stand-in answer)."""
    script = (
        "import sys\n"
        "from gsm_cli import fastpath\n"
        "def interrupted(args):\n"
        "    raise KeyboardInterrupt\n"
        "fastpath.answer = interrupted\n"
        "sys.argv = ['gsm', 'config', 'list', '--json']\n"
        "from gsm_cli import entry\n"
        "entry.main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GSM_HOME": str(tmp_path)},
    )
    assert done.returncode == 130
    assert done.stderr == "interrupted\n"
    assert done.stdout == ""


def test_the_default_format_is_the_full_paths(
    gsm: GsmRunner, gsm_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --json or -o: GSM_OUTPUT, else the output.format setting, else a table."""
    _fill(gsm, gsm_home)
    commands = [("server", "list"), ("server", "show", "beta"), ("config", "list")]
    commands.append(("sync", "status"))
    assert gsm("config", "set", "output.format", "csv").exit_code == 0
    for args in commands:
        fast = fastpath.answer(list(args))
        assert fast is not None and fast == _full(gsm, args), args
    assert (fastpath.answer(["server", "list"]) or "").startswith("id,name,")
    monkeypatch.setenv("GSM_OUTPUT", "json")
    for args in commands:
        fast = fastpath.answer(list(args))
        assert fast is not None and fast == _full(gsm, args), args
    assert json.loads(fastpath.answer(["config", "list"]) or "")
    monkeypatch.setenv("GSM_OUTPUT", "yaml")  # an error: the full path says so
    assert fastpath.answer(["server", "list"]) is None


def test_a_table_shows_a_live_game_as_the_full_path_does(gsm: GsmRunner, gsm_home: Path) -> None:
    """A game that lives without its supervisor is "running (unsupervised)" in the table."""
    _fill(gsm, gsm_home)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = psutil.Process(child.pid).create_time()
        with sqlite3.connect(gsm_home / "gsm.db") as conn:
            conn.execute(
                "UPDATE local_servers SET status = 'running', process_id = ?,"
                " process_create_time = ? WHERE name = 'beta'",
                (child.pid, started),
            )
        conn.close()
        fast = fastpath.answer(["server", "list"])
        assert fast is not None and fast == _full(gsm, ("server", "list"))
        assert "running (unsupervised)" in fast and str(child.pid) in fast
    finally:
        child.kill()
        child.wait()


def test_sync_status_table_steps_aside_for_what_the_last_pull_skipped(
    gsm: GsmRunner, gsm_home: Path
) -> None:
    """The table notes skipped changes on stderr: the full path's; JSON carries them."""
    _fill(gsm, gsm_home)
    skipped = {"changes": 2, "invalid": [{"entity_type": "x", "entity_id": "1", "reason": "bad"}]}
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        conn.execute("UPDATE sync_state SET last_pull_result = ?", (json.dumps(skipped),))
    conn.close()
    assert fastpath.answer(["sync", "status"]) is None
    args = ("sync", "status", "--json")
    assert fastpath.answer(list(args)) == _full(gsm, args)


FORBIDDEN = {"sqlalchemy", "alembic", "typer", "click", "pydantic", "httpx"}


def _imported(stderr: str) -> set[str]:
    """The top-level packages `python -X importtime` reports."""
    return {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in stderr.splitlines()
        if line.startswith("import time:")
    }


@pytest.mark.parametrize(
    "args",
    [
        ("server", "list", "--json"),
        ("server", "list"),
        ("server", "show", "alpha", "-o", "csv"),
        ("server", "show", "beta"),
        ("config", "list"),
        ("config", "get", "metrics.interval"),
        ("config", "get", "backup.retention", "--json"),
        ("sync", "status"),
        ("sync", "status", "--json"),
    ],
)
def test_the_program_answers_without_the_heavy_libraries(
    gsm: GsmRunner, gsm_home: Path, args: tuple[str, ...]
) -> None:
    """The installed `gsm` in a child process: the full path's bytes, and not one module of
    SQLAlchemy, Alembic, Typer, Click, pydantic or httpx imported."""
    _fill(gsm, gsm_home)
    run = subprocess.run(
        [sys.executable, "-X", "importtime", str(gsm_executable()), *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0
    assert run.stdout == _full(gsm, args)
    imported = _imported(run.stderr)
    assert "gsm_cli" in imported
    assert not imported & FORBIDDEN, imported & FORBIDDEN


def _on_a_terminal(command: list[str], columns: int, home: Path) -> bytes:
    """What ``command`` writes to a terminal of ``columns`` columns (a pty; its stderr
    must stay empty)."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("COLUMNS", "LINES", "NO_COLOR", "CI", "FORCE_COLOR", "TERM")
    }
    env.update(GSM_HOME=str(home), TERM="xterm-256color")
    child = subprocess.Popen(
        command, stdin=follower, stdout=follower, stderr=subprocess.PIPE, env=env
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    _out, err = child.communicate(timeout=60)
    assert child.returncode == 0 and err == b"", (command, err)
    return b"".join(chunks)


FULL_APP = [sys.executable, "-c", "from gsm_cli.app import main; main()"]


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX pseudo-terminal")
@pytest.mark.parametrize("columns", [200, 60])
def test_on_a_terminal_the_bytes_are_the_full_applications(
    gsm: GsmRunner, gsm_home: Path, columns: int
) -> None:
    """A terminal of 200 columns, and one of 60 where Rich folds the long cells: the colours,
    the widths and the indented JSON are the same from both paths."""
    _fill(gsm, gsm_home)
    for args in (
        ("server", "list"),
        ("server", "show", "alpha"),
        ("config", "list"),
        ("sync", "status"),
        ("server", "list", "--json"),
    ):
        fast = _on_a_terminal([str(gsm_executable()), *args], columns, gsm_home)
        full = _on_a_terminal([*FULL_APP, *args], columns, gsm_home)
        assert fast == full, args
        assert b"\x1b[" in fast or args[-1] == "--json", args  # coloured: a terminal indeed
    # Sized to the terminal: no line wider than it, once the colours are taken out.
    shown = _on_a_terminal([str(gsm_executable()), "config", "list"], columns, gsm_home)
    lines = re.sub(r"\x1b\[[0-9;]*m", "", shown.decode()).splitlines()
    assert max(len(line) for line in lines) <= columns
