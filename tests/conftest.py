"""Shared fixtures: an isolated GSM_HOME per test, gsm through CliRunner, and the installed gsm."""

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gsm_cli.app import app

# Variables that would make a test depend on the machine it runs on.
GSM_VARS = ("GSM_HOME", "GSM_API_URL", "GSM_TOKEN", "GSM_OUTPUT", "GSM_DEBUG", "NO_COLOR", "CI")


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def error(self) -> dict[str, Any]:
        return json.loads(self.stderr.strip().splitlines()[-1])["error"]


@pytest.fixture
def gsm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for var in GSM_VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "gsm-home"
    monkeypatch.setenv("GSM_HOME", str(home))
    yield home
    kill_leftover_processes(home)


def kill_leftover_processes(home: Path) -> None:
    """Servers a test started keep running after gsm exits, by design: end them here."""
    import psutil

    pids = []
    for state_file in (home / "run").glob("*.json"):
        with contextlib.suppress(OSError, ValueError, KeyError):
            pids.append(json.loads(state_file.read_text())["pid"])
    store = home / "gsm.db"
    if store.exists():
        import sqlite3

        # Some tests leave a deliberately broken store: it has no pids to offer then.
        with (
            contextlib.suppress(sqlite3.DatabaseError),
            contextlib.closing(sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True)) as conn,
        ):
            pids += [pid for (pid,) in conn.execute("SELECT process_id FROM local_servers") if pid]
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            if proc.pid != os.getpid() and str(home) in " ".join(proc.environ().values()):
                proc.kill()


def wait_for(condition: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll until condition() is truthy; fail the test if it never is. Not a blind sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s: {condition}")
        time.sleep(interval)


# Ports for test servers: below Linux's ephemeral range (32768-60999), where a port the OS
# handed out (bind to 0) can be taken again by any outgoing connection before the server binds
# it, and split among pytest-xdist workers so two workers never pick the same one.
PORTS_START, PORTS_PER_WORKER = 20000, 1500
_next_port: list[int] = []


def free_port() -> int:
    """A loopback port that nothing uses now, for TCP and UDP, not handed out before in this
    test run by any worker."""
    import random
    import socket

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = PORTS_START + (int(worker) % 8 if worker.isdigit() else 0) * PORTS_PER_WORKER
    if not _next_port:
        _next_port.append(random.randrange(PORTS_PER_WORKER))
    for _ in range(PORTS_PER_WORKER):
        port = first + _next_port[0] % PORTS_PER_WORKER
        _next_port[0] += 1
        try:
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                with socket.socket(socket.AF_INET, kind) as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port left for this test worker")


FAKE_GAME = Path(__file__).parent / "fixtures" / "fake_game_server.py"


def fake_game_command(*extra: str) -> str:
    """A --command for a custom server that runs the fake game server on its port."""
    import shlex

    return shlex.join([sys.executable, str(FAKE_GAME), "--port", "{port}", *extra])


GsmRunner = Callable[..., Outcome]


@pytest.fixture
def gsm(gsm_home: Path) -> GsmRunner:
    """Run gsm in-process, as a script would: `gsm("config", "list", "--json")`."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Outcome:
        result = runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)
        return Outcome(result.exit_code, result.stdout, result.stderr)

    return run


def gsm_executable() -> Path:
    folder = Path(sys.executable).parent
    exe = folder / ("gsm.exe" if os.name == "nt" else "gsm")
    if not exe.exists():
        pytest.fail(f"the gsm console script is not installed next to {sys.executable}")
    return exe


@pytest.fixture
def gsm_process(gsm_home: Path) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """Run the installed `gsm` program in a child process."""
    exe = gsm_executable()

    def run(*args: str, timeout: float = 60, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(exe), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            **kwargs,
        )

    yield run
