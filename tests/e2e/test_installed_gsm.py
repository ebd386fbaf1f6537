"""The installed `gsm` program, run as scripts and CI jobs run it: in child processes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gsm_cli import __version__

HEAVY_MODULES = ("sqlalchemy", "httpx")


def imported_modules(*args: str) -> set[str]:
    """Top-level modules a `python -m gsm_cli ARGS` run imports, read from -X importtime."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gsm_cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["config", "--help"]])
def test_version_and_help_import_neither_sqlalchemy_nor_httpx(gsm_home: Path, args) -> None:
    modules = imported_modules(*args)
    assert "gsm_cli" in modules  # the measurement itself works
    assert not modules & set(HEAVY_MODULES)


def test_a_store_command_does_import_sqlalchemy(gsm_home: Path) -> None:
    # Proves the check above can fail: the same measurement sees SQLAlchemy when it is used.
    assert "sqlalchemy" in imported_modules("config", "list", "--json")


def test_console_script_and_module_agree_on_the_version(gsm_process) -> None:
    result = gsm_process("--version")
    assert result.returncode == 0
    assert result.stdout == f"gsm {__version__}\n"
    module = subprocess.run(
        [sys.executable, "-m", "gsm_cli", "--version"], capture_output=True, text=True, timeout=60
    )
    assert module.stdout == result.stdout


def test_set_and_read_back_through_the_installed_program(gsm_process, gsm_home: Path) -> None:
    assert gsm_process("config", "set", "metrics.interval", "15").returncode == 0
    listed = json.loads(gsm_process("config", "list", "--json").stdout)
    assert {r["key"]: r["value"] for r in listed}["metrics.interval"] == "15"
    assert (gsm_home / "gsm.db").exists()


def test_eight_gsm_processes_setting_at_once_on_a_fresh_store(gsm_process, gsm_home: Path) -> None:
    from gsm_cli.commands._common import paths  # noqa: F401  (import check only)
    from gsm_cli.services.settings import SPECS

    values = {
        "backup.retention": "9",
        "backup.exclude": "*.tmp",
        "cloud.timeout": "3",
        "metrics.interval": "7",
        "metrics.retention_days": "90",
        "output.format": "csv",
        "server.stop_timeout": "45",
        "sync.batch_size": "250",
    }
    assert set(values) <= set(SPECS)
    procs = [
        subprocess.Popen(
            [str(Path(sys.executable).parent / "gsm"), "config", "set", key, value],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for key, value in values.items()
    ]
    outcomes = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for proc in procs:
        proc.stdout.close()
        proc.stderr.close()
    assert [code for code, _ in outcomes] == [0] * len(values), outcomes
    listed = json.loads(gsm_process("config", "list", "--json").stdout)
    stored = {r["key"]: r["value"] for r in listed if r["source"] == "set"}
    assert stored == values


def test_a_file_that_is_not_sqlite_exits_4_with_one_line(gsm_process, gsm_home: Path) -> None:
    gsm_home.mkdir()
    store = gsm_home / "gsm.db"
    store.write_text("hello, I am a text file\n")
    result = gsm_process("config", "list")
    assert result.returncode == 4
    assert result.stdout == ""
    first, *rest = result.stderr.splitlines()
    assert first.startswith("error: ") and "not an SQLite database" in first
    assert all(line.startswith("hint: ") for line in rest)
    assert "Traceback" not in result.stderr
    assert store.read_text() == "hello, I am a text file\n"


def test_ci_output_has_no_colour(gsm_process) -> None:
    result = gsm_process("config", "list", env={**_base_env(), "CI": "true"})
    assert result.returncode == 0
    assert "\x1b[" not in result.stdout + result.stderr


def _base_env() -> dict[str, str]:
    import os

    return dict(os.environ)


# --- the quick exit (app._leave): nothing written is lost, the exit code stays ----------------


def test_the_whole_output_and_the_exit_code_survive_the_quick_exit(gsm_process) -> None:
    # Larger than Python's buffer of a pipe (io.DEFAULT_BUFFER_SIZE, 8 KiB), even as the
    # compact JSON written to a pipe.
    listed = gsm_process("game", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout) > 8_192
    assert "minecraft" in {game["id"] for game in json.loads(listed.stdout)}
    missing = gsm_process("server", "show", "nosuch")
    assert missing.returncode == 3
    assert missing.stderr.startswith("error: no server named 'nosuch'")


def test_a_thread_still_running_when_the_command_ends_is_waited_for(
    gsm_home: Path, tmp_path: Path
) -> None:
    """The quick exit is skipped while another thread works: Python joins it as usual."""
    marker = tmp_path / "written"
    script = (
        "import sys, threading, time\n"
        "from gsm_cli import output\n"
        "from gsm_cli.app import main\n"
        "def late():\n"
        "    time.sleep(0.5)\n"  # still running when the command has ended
        f"    open({str(marker)!r}, 'w').write('done')\n"
        "def emit(value):\n"  # the command's last step starts the thread
        "    threading.Thread(target=late).start()\n"
        "    sys.stdout.write(value + '\\n')\n"
        "output.emit_value = emit\n"
        "sys.argv = ['gsm', 'config', 'get', 'output.format']\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert marker.read_text() == "done"
