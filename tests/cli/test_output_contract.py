"""The output contract (docs/commands.md, "Output formats"):

- a reader that closes the pipe early (`gsm ... | head -1`) is a quiet success, every time;
- `-o csv` carries the same keys as `--json`, in the same order, and a list's items carry the
  same keys as `show` of one item;
- text that may come from outside gsm (a server's configuration, a game's console, the cloud's
  answers) reaches the terminal without escape sequences or control characters; JSON stays exact.
"""

import csv
import io
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_game import write_wrapper
from tests.conftest import (
    GsmRunner,
    Outcome,
    fake_game_command,
    free_port,
    gsm_executable,
    wait_for,
)

ESC = "\x1b"
# A title change, a screen clear, a colour, a hyperlink, a bell and a carriage return: each
# would act on the terminal if printed as it is.
HOSTILE = (
    "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m \x1b]8;;https:evil\x1b\\link\x1b]8;;\x1b\\\a\rend"
)
HOSTILE_SHOWN = "red linkend"
# The same without the carriage return, for a console line (a line break cannot be sent).
HOSTILE_LINE = HOSTILE.replace("\r", "")


def _keys(data: Any) -> list[str]:
    rows = data if isinstance(data, list) else [data]
    return list(dict.fromkeys(key for row in rows for key in row))


def _as_csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


# --- a reader that goes away --------------------------------------------------------------------


@pytest.fixture(scope="module")
def crowded_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with enough servers that every format's output is far larger than a pipe holds."""
    from gsm_cli.store import Store
    from gsm_cli.store.models import LocalServer

    home = tmp_path_factory.mktemp("crowded") / "gsm-home"
    home.mkdir()
    with Store.open(home / "gsm.db") as store, store.write() as session:
        for i in range(600):
            session.add(
                LocalServer(
                    id=str(uuid.uuid4()),
                    name=f"srv-{i:05d}",
                    game_type="valheim",
                    status="stopped",
                    configuration={"max_players": 10, "env": {"WORLD": f"world-{i}"}},
                    port=20000 + i,
                    install_path=f"/srv/gsm/srv-{i:05d}",
                )
            )
    return home


def run_into_closed_pipe(
    args: list[str],
    home: Path,
    read: int,
    *,
    stderr_too: bool = False,
    program: list[str] | None = None,
) -> tuple[int, str]:
    """Run gsm with stdout on a real pipe whose reader reads `read` bytes (0: none) and closes
    it. Returns the exit code and what gsm wrote to stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GSM_")} | {
        "GSM_HOME": str(home)
    }
    env.pop("CI", None)
    reader, writer = os.pipe()
    proc = subprocess.Popen(
        program or [str(gsm_executable()), *args],
        stdin=subprocess.DEVNULL,
        stdout=writer,
        stderr=writer if stderr_too else subprocess.PIPE,
        env=env,
    )
    os.close(writer)
    if read:
        os.read(reader, read)
    os.close(reader)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, (err or b"").decode()


LARGE = (0, 10, 70_000)  # gone before gsm writes; after a few bytes; in the middle of it
SMALL = (0, 10)
PIPED_COMMANDS = [
    (["server", "list", "-o", "csv"], LARGE),  # each of these is larger than a pipe holds
    (["server", "list", "--json"], LARGE),
    (["server", "list", "-o", "table"], LARGE),
    (["game", "list", "-o", "csv"], SMALL),
    (["game", "list"], SMALL),
    (["config", "list", "--json"], SMALL),
    (["--help"], SMALL),
    (["server", "--help"], SMALL),
    (["--version"], SMALL),
]


@pytest.mark.parametrize(
    ("args", "reads"), PIPED_COMMANDS, ids=[" ".join(c) for c, _ in PIPED_COMMANDS]
)
def test_a_closed_pipe_is_a_quiet_success(
    crowded_home: Path, args: list[str], reads: tuple[int, ...]
) -> None:
    """`gsm ... | head -c 10` and a reader that is gone before gsm writes: exit 0, nothing on
    stderr (no traceback, no "Exception ignored"), every time."""
    for attempt in range(2):
        for read in reads:
            code, err = run_into_closed_pipe(args, crowded_home, read)
            assert (code, err) == (0, ""), f"attempt {attempt}, reader read {read} bytes"


def test_a_pipe_closed_before_the_final_flush_is_a_quiet_success(crowded_home: Path) -> None:
    """Text left in Python's stdout buffer when the command ends is flushed by gsm itself, so a
    closed pipe never makes the interpreter's flush at exit fail (exit 120 and "Exception
    ignored ... BrokenPipeError")."""
    script = (
        "import sys\n"
        "from gsm_cli import app, output\n"
        "output.emit_value = lambda value: sys.stdout.write(value + '\\n')  # no flush\n"
        "sys.argv = ['gsm', 'config', 'get', 'output.format']\n"
        "app.main()\n"
    )
    for _ in range(2):
        code, err = run_into_closed_pipe(
            [], crowded_home, 0, program=[sys.executable, "-c", script]
        )
        assert (code, err) == (0, "")


def test_an_error_into_a_closed_pipe_keeps_its_exit_code(crowded_home: Path) -> None:
    """`gsm server show nosuch 2>&1 | head -c 0`: the error cannot be shown, but the exit code
    is still the error's (3), not Python's 120 for a failed flush at exit."""
    for _ in range(2):
        code, _err = run_into_closed_pipe(
            ["server", "show", "nosuch"], crowded_home, 0, stderr_too=True
        )
        assert code == 3


# --- csv and json carry the same keys ------------------------------------------------------------


class FakeCloud:
    """A tiny HTTP server on 127.0.0.1 that answers each path with a set status and JSON body."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, Any]] = {}
        answers = self.answers

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = answers.get(self.path.split("?")[0], (404, {"error": {}}))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def env(self) -> dict[str, str]:
        return {"GSM_API_URL": self.url, "GSM_TOKEN": "gsm_pat_test"}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_cloud() -> Iterator[FakeCloud]:
    cloud = FakeCloud()
    yield cloud
    cloud.close()


ME = {"id": "7f1c", "email": "ann@example.com", "display_name": "Ann", "role": "Basic"}


@pytest.fixture
def busy_home(
    gsm: GsmRunner, gsm_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> GsmRunner:
    """Servers, a backup, an installed game and queued sync operations."""
    program = write_wrapper(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{program.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_STEAMCMD_LOG", str(tmp_path / "steamcmd-runs.jsonl"))
    command = fake_game_command()
    made = gsm(
        "server", "create", "alpha", "--game", "custom", "--command", command,
        "--port", str(free_port()), "--env", "WORLD=one", "--arg", "--name={name}",
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    assert gsm("server", "create", "vh", "--game", "valheim").exit_code == 0
    (Path(gsm("server", "show", "alpha", "--json").json()["install_path"]) / "w.dat").write_text(
        "x"
    )
    assert gsm("server", "backup", "alpha").exit_code == 0
    installed = gsm("game", "install", "l4d2", "--path", str(tmp_path / "l4d2"))
    assert installed.exit_code == 0, installed.stderr
    return gsm


DATA_COMMANDS = [
    ["server", "list"],
    ["server", "show", "alpha"],
    ["server", "status", "alpha"],
    ["server", "status", "--all"],
    ["server", "backups", "alpha"],
    ["game", "list"],
    ["game", "info", "l4d2"],
    ["game", "installations"],
    ["config", "list"],
    ["config", "path"],
    ["doctor"],
    ["sync", "status"],
    ["auth", "status"],
]


def test_csv_carries_every_json_key_and_value(busy_home: GsmRunner, fake_cloud: FakeCloud) -> None:
    """For every data command: the CSV header is the JSON keys in the JSON order, one CSV row
    per JSON item, each cell the JSON value (text as it is, other values as compact JSON)."""
    fake_cloud.answers["/v1/me"] = (200, ME)
    gsm = busy_home
    for command in DATA_COMMANDS:
        as_json = gsm(*command, "--json", env=fake_cloud.env())
        as_csv = gsm(*command, "-o", "csv", env=fake_cloud.env())
        assert as_json.exit_code == as_csv.exit_code, command
        data = as_json.json()
        rows = data if isinstance(data, list) else [data]
        assert rows, command
        header, *lines = list(csv.reader(io.StringIO(as_csv.stdout)))
        assert header == _keys(data), command
        assert len(lines) == len(rows), command
        for row, line in zip(rows, lines, strict=True):
            assert line == [_as_csv_text(row.get(key)) for key in header], command


def test_list_items_have_the_keys_of_show(busy_home: GsmRunner) -> None:
    gsm = busy_home
    installed_in = gsm("game", "installations", "--json").json()[0]["install_path"]
    pairs = [
        (["server", "list"], ["server", "show", "alpha"]),
        (["server", "status", "--all"], ["server", "status", "alpha"]),
        (["game", "list"], ["game", "info", "l4d2"]),
        (["game", "installations"], ["game", "update", "l4d2"]),
        (["game", "installations"], ["game", "install", "l4d2", "--path", installed_in]),
        (["config", "list"], ["config", "get", "backup.retention"]),
        (["server", "backups", "alpha"], ["server", "backup", "alpha"]),
    ]
    for listing, one in pairs:
        items = gsm(*listing, "--json").json()
        single = gsm(*one, "--json")
        assert single.exit_code == 0, single.stderr
        assert items and all(list(item) == list(single.json()) for item in items), listing


def test_an_empty_list_is_an_empty_csv(gsm: GsmRunner) -> None:
    assert gsm("server", "list", "--json").json() == []
    assert gsm("server", "list", "-o", "csv").stdout == ""


# --- -o on sync status and auth status -----------------------------------------------------------


def test_sync_status_takes_output(gsm: GsmRunner) -> None:
    assert gsm("server", "create", "vh", "--game", "valheim").exit_code == 0
    as_json = gsm("sync", "status", "-o", "json").json()
    assert as_json == gsm("sync", "status", "--json").json()
    assert as_json["queued"] == 1
    (row,) = csv.DictReader(io.StringIO(gsm("sync", "status", "-o", "csv").stdout))
    assert (row["queued"], row["rejected"], row["conflicts"]) == ("1", "[]", "[]")
    assert gsm("sync", "status", "-o", "table").stdout.split()[:2] == ["queued", "1"]
    assert gsm("sync", "status", env={"GSM_OUTPUT": "json"}).json()["queued"] == 1
    bad = gsm("sync", "status", "-o", "xml")
    assert bad.exit_code == 4
    assert (
        bad.stderr == "error: invalid value 'xml' for --output: expected one of table, json, csv\n"
    )


def test_auth_status_takes_output(gsm: GsmRunner, fake_cloud: FakeCloud) -> None:
    fake_cloud.answers["/v1/me"] = (200, ME)
    env = fake_cloud.env()
    as_json = gsm("auth", "status", "-o", "json", env=env).json()
    assert as_json["email"] == "ann@example.com" and as_json["token_source"] == "env"
    (row,) = csv.DictReader(io.StringIO(gsm("auth", "status", "-o", "csv", env=env).stdout))
    assert list(row) == list(as_json) and row["token_valid"] == "true"
    table = gsm("auth", "status", "-o", "table", env=env).stdout
    assert "ann@example.com" in table and "token_valid" in table
    assert gsm("auth", "status", env={**env, "GSM_OUTPUT": "csv"}).stdout.startswith("api_url,")


# --- escape sequences and control characters -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "red"),
        ("a\x1b]0;title\x07b", "ab"),
        ("a\x1b]0;title\x1b\\b", "ab"),
        ("x\x1bPdevice control\x1b\\y", "xy"),
        ("\x9b2Jz", "z"),  # 8-bit CSI
        ("charset\x1b(B", "charset"),
        ("bell\a back\b cr\r del\x7f nul\x00", "bell back cr del nul"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("unterminated\x1b]0;swallows the rest", "unterminated"),
        ("café ✓ [bold]", "café ✓ [bold]"),
        (HOSTILE, HOSTILE_SHOWN),
    ],
)
def test_clean(text: str, shown: str) -> None:
    from gsm_cli.output import clean

    assert clean(text) == shown


def test_escape_sequences_in_a_server_never_reach_the_terminal(
    gsm: GsmRunner, tmp_path: Path
) -> None:
    """A name cannot hold escapes, but a server's --env, --arg and folder can (and a pulled
    server's come from the cloud): tables, details, CSV and messages show them cleaned."""
    folder = tmp_path / f"dir{HOSTILE}"
    created = gsm(
        "server", "create", "esc", "--game", "custom", "--command", "run",
        "--env", f"MOTD={HOSTILE}", "--arg", HOSTILE, "--path", str(folder),
    )  # fmt: skip
    assert created.exit_code == 0, created.stderr
    assert ESC not in created.stderr and "\a" not in created.stderr
    assert f"dir{HOSTILE_SHOWN}" in created.stderr
    for args in (
        ["server", "show", "esc"],
        ["server", "show", "esc", "-o", "csv"],
        ["server", "list"],
        ["server", "list", "-o", "csv"],
    ):
        result = gsm(*args)
        assert result.exit_code == 0, result.stderr
        assert ESC not in result.stdout and "\a" not in result.stdout and "\r" not in result.stdout
    row = next(csv.DictReader(io.StringIO(gsm("server", "list", "-o", "csv").stdout)))
    assert row["install_path"].endswith(f"dir{HOSTILE_SHOWN}")


def test_json_keeps_control_characters_exact(gsm: GsmRunner, tmp_path: Path) -> None:
    created = gsm(
        "server", "create", "esc", "--game", "custom", "--command", "run",
        "--env", f"MOTD={HOSTILE}", "--json",
    )  # fmt: skip
    assert created.exit_code == 0
    for result in (created, gsm("server", "show", "esc", "--json")):
        assert ESC not in result.stdout and "\\u001b" in result.stdout  # escaped, not dropped
        assert result.json()["configuration"]["env"]["MOTD"] == HOSTILE


def test_rich_markup_in_a_value_is_shown_as_it_is(gsm: GsmRunner) -> None:
    """A value such as "[/]" is text, not Rich markup (it used to crash the table)."""
    created = gsm("server", "create", "mk", "--game", "custom", "--command", "run [/] [bold]x")
    assert created.exit_code == 0, created.stderr
    detail = gsm("server", "show", "mk")
    assert detail.exit_code == 0, detail.stderr
    assert "run [/] [bold]x" in detail.stdout


def test_cloud_error_messages_are_cleaned(gsm: GsmRunner, fake_cloud: FakeCloud) -> None:
    fake_cloud.answers["/v1/me"] = (401, {"error": {"code": "x", "message": HOSTILE}})
    text = gsm("auth", "status", env=fake_cloud.env())
    assert text.exit_code == 6
    assert text.stdout == ""
    first = text.stderr.splitlines()[0]
    assert first == f"error: the cloud refused the credentials: {HOSTILE_SHOWN} (HTTP 401)"
    assert ESC not in text.stderr
    as_json = gsm("auth", "status", "--json", env=fake_cloud.env())
    assert ESC not in as_json.stderr
    debug = gsm("--debug", "auth", "status", env=fake_cloud.env())  # traceback and log lines
    assert "Traceback" in debug.stderr and HOSTILE_SHOWN in debug.stderr
    assert ESC not in debug.stderr and "\a" not in debug.stderr
    assert as_json.error()["message"] == f"the cloud refused the credentials: {HOSTILE} (HTTP 401)"


def test_cloud_text_in_data_is_cleaned(gsm: GsmRunner, fake_cloud: FakeCloud) -> None:
    fake_cloud.answers["/v1/me"] = (200, {**ME, "display_name": HOSTILE})
    for fmt in ("table", "csv"):
        shown = gsm("auth", "status", "-o", fmt, env=fake_cloud.env())
        assert shown.exit_code == 0 and ESC not in shown.stdout and HOSTILE_SHOWN in shown.stdout
    exact = gsm("auth", "status", "--json", env=fake_cloud.env())
    assert exact.json()["display_name"] == HOSTILE


def test_console_lines_are_cleaned(gsm: GsmRunner) -> None:
    """`gsm server logs` prints a game's console without the escape sequences it wrote."""
    created = gsm(
        "server", "create", "con", "--game", "custom", "--command", fake_game_command(),
        "--port", str(free_port()),
    )  # fmt: skip
    assert created.exit_code == 0, created.stderr
    started = gsm("server", "start", "con")
    assert started.exit_code == 0, started.stderr
    said = gsm("server", "send", "con", f"say {HOSTILE_LINE}", "--wait-for", "Server.*red")
    assert said.exit_code == 0, said.stderr

    def logged() -> Outcome | None:
        result = gsm("server", "logs", "con", "-n", "200")
        return result if f"[Server] {HOSTILE_SHOWN}" in result.stdout else None

    result = wait_for(logged)
    assert ESC not in result.stdout and "\a" not in result.stdout
    assert gsm("server", "stop", "con", "--force").exit_code == 0
