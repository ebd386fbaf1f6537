"""gsm service install | status | uninstall: the systemd user unit, the crontab lines and the
Windows task, each written, reported and removed; only what gsm wrote is ever touched.

systemctl, loginctl, crontab and schtasks are tests/fixtures/fake_service_manager.py, a real
program found on PATH (this machine has no systemd user manager, no cron daemon and no Task
Scheduler). The one OS corner patched is "is this Windows?", for the task's tests.
"""

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from gsm_cli.paths import Paths
from gsm_cli.services import service_duties, service_install
from tests.conftest import GsmRunner

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX shell wrappers")

FAKE = Path(__file__).resolve().parents[1] / "fixtures" / "fake_service_manager.py"
TASK_NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


class FakeOS:
    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.state = root / "state"
        self.config = root / "config"
        for folder in (self.bin, self.state, self.config):
            folder.mkdir(parents=True)

    def provide(self, *programs: str) -> None:
        for program in programs:
            script = self.bin / program
            script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" {program} "$@"\n')
            script.chmod(0o755)

    def calls(self, program: str | None = None) -> list[list[str]]:
        path = self.state / "calls.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        return [
            c["args"] for c in map(json.loads, lines) if program is None or c["program"] == program
        ]

    @property
    def crontab(self) -> str | None:
        path = self.state / "crontab"
        return path.read_text() if path.exists() else None

    @property
    def unit(self) -> Path:
        return self.config / "systemd" / "user" / "gsm.service"


@pytest.fixture
def fake_os(tmp_path: Path, gsm_home: Path, monkeypatch: pytest.MonkeyPatch) -> FakeOS:
    fake = FakeOS(tmp_path / "os")
    # Only the fakes are on PATH: a real crontab or systemctl of this machine is never run.
    monkeypatch.setenv("PATH", str(fake.bin))
    monkeypatch.setenv("FAKE_SM_STATE", str(fake.state))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(fake.config))
    monkeypatch.delenv("FAKE_SYSTEMD", raising=False)
    monkeypatch.delenv("FAKE_LINGER", raising=False)
    return fake


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return result.json()


# --- systemd -------------------------------------------------------------------------------


def test_install_writes_enables_and_starts_the_user_unit(
    gsm: GsmRunner, fake_os: FakeOS, gsm_home: Path
) -> None:
    fake_os.provide("systemctl", "loginctl", "crontab")
    done = ok(gsm("service", "install", "--json"))
    assert done["method"] == "systemd" and done["installed"] and done["started"]
    assert done["where"] == str(fake_os.unit)
    assert done["linger"] is False
    assert any("loginctl enable-linger" in note for note in done["notes"])

    text = fake_os.unit.read_text()
    assert text.startswith(service_install.UNIT_MARK)
    python = str(Path(sys.executable).absolute())
    assert f"ExecStart={python} -m gsm_cli service run --home {gsm_home}\n" in text
    for line in ("Restart=on-failure", "KillMode=process", "WantedBy=default.target"):
        assert f"\n{line}\n" in text
    assert f'Environment="PATH={fake_os.bin}"' in text
    assert fake_os.calls("systemctl") == [
        ["--user", "show-environment"],
        ["--user", "daemon-reload"],
        ["--user", "enable", "gsm.service"],
        ["--user", "restart", "gsm.service"],
    ]

    info = ok(gsm("service", "status", "--json"))
    assert info["installed"] == ["systemd"]
    unit = info["methods"]["systemd"]
    assert (unit["enabled"], unit["active"], unit["linger"]) == ("enabled", "active", False)
    assert any("loginctl enable-linger" in note for note in info["notes"])
    assert info["running"] is False  # the fake systemctl runs nothing
    assert info["log"] == str(gsm_home / "logs" / "service.log")

    gone = ok(gsm("service", "uninstall", "--json"))
    assert gone["removed"] == ["systemd"]
    assert not fake_os.unit.exists()
    assert ["--user", "disable", "--now", "gsm.service"] in fake_os.calls("systemctl")
    assert ok(gsm("service", "status", "--json"))["installed"] == []


def test_with_linger_nothing_more_is_asked(
    gsm: GsmRunner, fake_os: FakeOS, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_os.provide("systemctl", "loginctl")
    monkeypatch.setenv("FAKE_LINGER", "yes")
    done = ok(gsm("service", "install", "--json"))
    assert done["linger"] is True and done["notes"] == []
    assert ok(gsm("service", "status", "--json"))["notes"] == []


def test_a_unit_gsm_did_not_write_is_left_alone(gsm: GsmRunner, fake_os: FakeOS) -> None:
    fake_os.provide("systemctl", "loginctl")
    fake_os.unit.parent.mkdir(parents=True)
    fake_os.unit.write_text("[Service]\nExecStart=/usr/bin/someone-elses\n")
    result = gsm("service", "install", "--json")
    assert result.exit_code == 5
    assert result.error()["code"] == "not_made_by_gsm"
    gone = ok(gsm("service", "uninstall", "--json"))
    assert gone["removed"] == []
    assert any("not written by gsm" in note for note in gone["notes"])
    assert fake_os.unit.read_text() == "[Service]\nExecStart=/usr/bin/someone-elses\n"


def test_unit_words_are_quoted_and_escaped_for_systemd() -> None:
    word = service_install._systemd_word
    assert word("/usr/bin/python3") == "/usr/bin/python3"
    assert word("/opt/my games/python") == '"/opt/my games/python"'
    assert word("/srv/100%/$HOME") == "/srv/100%%/$$HOME"
    assert word('a"b\\c') == '"a\\"b\\\\c"'


# --- cron ----------------------------------------------------------------------------------


def test_without_systemd_or_crontab_the_lines_are_printed(
    gsm: GsmRunner, fake_os: FakeOS, monkeypatch: pytest.MonkeyPatch, gsm_home: Path
) -> None:
    fake_os.provide("systemctl")
    monkeypatch.setenv("FAKE_SYSTEMD", "down")  # a container: systemctl, but no user manager
    result = gsm("service", "install")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == service_install.CRON_BEGIN and lines[-1] == service_install.CRON_END
    python = str(Path(sys.executable).absolute())
    assert lines[1].startswith("@reboot PATH=")
    assert f"{python} -m gsm_cli service run --home {gsm_home} --boot >/dev/null 2>&1" in lines[1]
    assert lines[2].startswith("* * * * * PATH=")
    assert lines[2].endswith(" --once >/dev/null 2>&1")
    assert "crontab -e" in result.stderr
    assert not fake_os.unit.exists()

    done = ok(gsm("service", "install", "--json"))
    assert done["installed"] is False and done["crontab_lines"] == lines

    refused = gsm("service", "install", "--cron", "--json")
    assert refused.exit_code == 3 and refused.error()["code"] == "program_missing"


def test_install_cron_keeps_the_users_lines(gsm: GsmRunner, fake_os: FakeOS) -> None:
    fake_os.provide("crontab")
    mine = "MAILTO=me@example.com\n0 3 * * * /usr/local/bin/nightly --quiet\n"
    (fake_os.state / "crontab").write_text(mine)

    done = ok(gsm("service", "install", "--cron", "--json"))
    assert done["method"] == "cron"
    table = fake_os.crontab or ""
    assert table.startswith(mine + service_install.CRON_BEGIN + "\n")
    assert table.count("@reboot ") == 1 and table.count("* * * * * ") == 1

    ok(gsm("service", "install", "--cron", "--json"))  # again: replaced, not added twice
    assert fake_os.crontab == table

    info = ok(gsm("service", "status", "--json"))
    assert info["installed"] == ["cron"]
    assert info["methods"]["cron"]["lines"] == done["crontab_lines"]

    assert ok(gsm("service", "uninstall", "--json"))["removed"] == ["cron"]
    assert fake_os.crontab == mine


REAL_CRONTAB = shutil.which("crontab")


@pytest.mark.skipif(REAL_CRONTAB is None, reason="no crontab program on this machine")
def test_the_real_crontab_keeps_the_users_lines(gsm: GsmRunner, monkeypatch: Any) -> None:
    """This user's own crontab, through the real crontab program: gsm's block is added and
    removed, and whatever was there before is there after, byte for byte."""
    monkeypatch.setenv("PATH", str(Path(REAL_CRONTAB or "").parent))

    def current() -> str | None:
        listed = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
        return listed.stdout if listed.returncode == 0 else None

    before = current()
    try:
        done = ok(gsm("service", "install", "--cron", "--json"))
        table = current() or ""
        assert table.startswith(before or "")
        assert table.endswith("\n".join(done["crontab_lines"]) + "\n")
        assert ok(gsm("service", "status", "--json"))["installed"] == ["cron"]
    finally:
        gone = ok(gsm("service", "uninstall", "--json"))
    assert gone["removed"] == ["cron"]
    assert current() == before


def test_uninstall_removes_a_crontab_that_held_only_gsms_lines(
    gsm: GsmRunner, fake_os: FakeOS
) -> None:
    fake_os.provide("crontab")
    ok(gsm("service", "install", "--cron", "--json"))
    assert fake_os.crontab is not None
    assert ok(gsm("service", "uninstall", "--json"))["removed"] == ["cron"]
    assert fake_os.crontab is None
    assert ok(gsm("service", "uninstall", "--json"))["removed"] == []


def test_the_every_minute_cron_line_runs_a_round(
    gsm: GsmRunner, fake_os: FakeOS, gsm_home: Path
) -> None:
    """The line as cron would run it: with /bin/sh, in cron's bare environment."""
    fake_os.provide("crontab")
    ok(gsm("server", "create", "alpha", "--game", "custom", "--command", "sleep 60", "--json"))
    ok(gsm("service", "install", "--cron", "--json"))
    (line,) = [x for x in (fake_os.crontab or "").splitlines() if x.startswith("* * * * * ")]
    command = line.removeprefix("* * * * * ").replace("\\%", "%")
    cron_env = {"HOME": str(gsm_home.parent), "SHELL": "/bin/sh", "LOGNAME": "user"}
    subprocess.run(["/bin/sh", "-c", command], env=cron_env, check=True, timeout=120)
    state = service_duties.read_state(Paths(*_paths(gsm_home)))
    assert state["rounds"] == 1 and state["once"] is True
    assert state["duties"]["autostart"]["ok"] is True


def _paths(home: Path) -> tuple[Path, Path, Path, Path, Path]:
    return home, home, home / "config", home / "logs", home / "backups"


def test_cron_lines_escape_percent_signs(tmp_path: Path) -> None:
    home = tmp_path / "100%"
    paths = Paths(*_paths(home))
    lines = service_install.cron_lines(
        service_install.service_argv(paths, windows=False), {"PATH": "/bin"}
    )
    assert "100\\%" in lines[1] and "100%" not in lines[1].replace("\\%", "")


# --- Windows -------------------------------------------------------------------------------


@pytest.fixture
def windows(fake_os: FakeOS, mocker: Any, monkeypatch: pytest.MonkeyPatch) -> FakeOS:
    mocker.patch.object(service_install, "is_windows", return_value=True)
    monkeypatch.setenv("USERDOMAIN", "DESKTOP-1")
    monkeypatch.setenv("USERNAME", "ana")
    fake_os.provide("schtasks")
    return fake_os


def _task(fake: FakeOS) -> ET.Element:
    return ET.fromstring((fake.state / "task.xml").read_text().split("\n", 1)[1])


def test_install_registers_a_logon_task(gsm: GsmRunner, windows: FakeOS, gsm_home: Path) -> None:
    done = ok(gsm("service", "install", "--json"))
    assert (done["method"], done["where"], done["started"]) == ("task", "gsm-service", True)
    task = _task(windows)
    trigger = task.find("t:Triggers/t:LogonTrigger", TASK_NS)
    assert trigger is not None
    assert trigger.findtext("t:UserId", namespaces=TASK_NS) == "DESKTOP-1\\ana"
    principal = task.find("t:Principals/t:Principal", TASK_NS)
    assert principal is not None
    assert principal.findtext("t:LogonType", namespaces=TASK_NS) == "InteractiveToken"
    settings = task.find("t:Settings", TASK_NS)
    assert settings is not None
    assert settings.findtext("t:ExecutionTimeLimit", namespaces=TASK_NS) == "PT0S"
    assert settings.findtext("t:RestartOnFailure/t:Interval", namespaces=TASK_NS) == "PT1M"
    exec_ = task.find("t:Actions/t:Exec", TASK_NS)
    assert exec_ is not None
    assert exec_.findtext("t:Command", namespaces=TASK_NS) == str(Path(sys.executable).absolute())
    assert exec_.findtext("t:Arguments", namespaces=TASK_NS) == (
        f"-m gsm_cli.commands.service run --home {gsm_home}"
    )
    assert ["/Run", "/TN", "gsm-service"] in windows.calls("schtasks")

    info = ok(gsm("service", "status", "--json"))
    assert info["installed"] == ["task"]
    assert info["methods"]["task"]["state"] == "Running"

    assert ok(gsm("service", "uninstall", "--json"))["removed"] == ["task"]
    assert ["/End", "/TN", "gsm-service"] in windows.calls("schtasks")
    assert not (windows.state / "task.xml").exists()


def test_at_startup_is_a_boot_task_without_a_password(gsm: GsmRunner, windows: FakeOS) -> None:
    ok(gsm("service", "install", "--at-startup", "--json"))
    task = _task(windows)
    assert task.find("t:Triggers/t:BootTrigger", TASK_NS) is not None
    assert task.find("t:Triggers/t:LogonTrigger", TASK_NS) is None
    principal = task.find("t:Principals/t:Principal", TASK_NS)
    assert principal is not None
    assert principal.findtext("t:LogonType", namespaces=TASK_NS) == "S4U"
    assert "Password" not in ET.tostring(task, encoding="unicode")


def test_cron_is_refused_on_windows(gsm: GsmRunner, windows: FakeOS) -> None:
    result = gsm("service", "install", "--cron", "--json")
    assert result.exit_code == 4
    assert not (windows.state / "task.xml").exists()


def test_a_task_gsm_did_not_make_is_left_alone(gsm: GsmRunner, windows: FakeOS) -> None:
    foreign = '<?xml version="1.0"?>\n<Task><RegistrationInfo/></Task>\n'
    (windows.state / "task.xml").write_text(foreign)
    result = gsm("service", "install", "--json")
    assert result.exit_code == 5 and result.error()["code"] == "not_made_by_gsm"
    assert ok(gsm("service", "uninstall", "--json"))["removed"] == []
    assert (windows.state / "task.xml").read_text() == foreign


def test_at_startup_is_refused_off_windows(gsm: GsmRunner, fake_os: FakeOS) -> None:
    result = gsm("service", "install", "--at-startup", "--json")
    assert result.exit_code == 4


def test_the_windowless_entry_runs_without_standard_streams(gsm_home: Path) -> None:
    """pythonw gives a program no stdin, stdout or stderr: the task's entry copes."""
    code = (
        "import sys; sys.stdin = sys.stdout = sys.stderr = None; "
        f"sys.argv = ['service', 'run', '--once', '--home', {str(gsm_home)!r}]; "
        "from gsm_cli.commands.service import _main_without_console; _main_without_console()"
    )
    env = {k: v for k, v in os.environ.items() if k != "GSM_HOME"}
    done = subprocess.run([sys.executable, "-c", code], env=env, timeout=120, capture_output=True)
    assert done.returncode == 0, done.stderr
    state = json.loads((gsm_home / "run" / "service.json").read_text())
    assert state["rounds"] == 1
