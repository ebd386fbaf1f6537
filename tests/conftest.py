"""Shared fixtures: an isolated GSM_HOME per test, gsm through CliRunner, and the installed gsm."""

import json
import os
import subprocess
import sys
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
def gsm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in GSM_VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "gsm-home"
    monkeypatch.setenv("GSM_HOME", str(home))
    return home


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
