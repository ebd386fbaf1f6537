"""Installing the gsm service so that it runs without anyone running gsm (``gsm service
install | status | uninstall``); the service itself is ``services/service_duties.py``.

Three ways, one per kind of machine:

- ``systemd``: a per-user unit ``$XDG_CONFIG_HOME/systemd/user/gsm.service`` (default
  ``~/.config``), enabled and started with ``systemctl --user``. It runs while the user's
  systemd manager runs: from log-in to log-out, or from boot to shutdown once
  ``loginctl enable-linger USER`` is set.
- ``task``: a Windows Task Scheduler task ``gsm-service`` (registered with ``schtasks`` from an
  XML definition) that starts at the user's log-on, or with ``at_startup`` when the machine
  starts (an S4U task: no password is stored; registering it needs an administrator shell).
- ``cron``: two lines in the user's crontab (``@reboot`` runs the service, and a line every
  minute runs one round when the service is not running), between marker comments, for
  machines with neither (a container, macOS). Without ``crontab`` they are only printed.

Each runs the service with the absolute path of this Python and, when GSM_HOME is set, that
folder (``--home``), so that it finds the same store. Only what gsm wrote is ever changed or
removed: a unit file or task that gsm did not write is left alone, and so are the other lines
of a crontab.
"""

import contextlib
import getpass
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from gsm_cli.errors import ConflictError, GsmError, InvalidInputError, NotFoundError
from gsm_cli.paths import Paths
from gsm_cli.services import service_duties

SYSTEMD, CRON, TASK = "systemd", "cron", "task"
UNIT_NAME = "gsm.service"
TASK_NAME = "gsm-service"
MARK = "Written by gsm service install"
UNIT_MARK = f"# {MARK}; gsm service uninstall removes it."
CRON_BEGIN = (
    "# >>> gsm service (written by gsm service install --cron; removed by gsm service uninstall)"
)
CRON_END = "# <<< gsm service"
PROGRAM_TIMEOUT = 60.0
TASK_DESCRIPTION = (
    f"{MARK}; gsm service uninstall removes it. "
    "Starts servers marked --autostart and runs gsm's duties."
)


def is_windows() -> bool:
    return os.name == "nt"


# --- what the service runs -----------------------------------------------------------------


def service_argv(paths: Paths, *, windows: bool | None = None) -> list[str]:
    """The service's command line: this Python, absolute (on Windows its windowless
    ``pythonw.exe``, through ``gsm_cli.commands.service`` which copes with having no console),
    and ``--home`` when GSM_HOME is in force."""
    windows = is_windows() if windows is None else windows
    python = Path(sys.executable).absolute()
    if windows:
        hidden = python.with_name("pythonw.exe")
        argv = [str(hidden if hidden.exists() else python), "-m", "gsm_cli.commands.service"]
    else:
        argv = [str(python), "-m", "gsm_cli", "service"]
    argv.append("run")
    if paths.home is not None:
        argv += ["--home", str(paths.home)]
    return argv


def _systemd_word(word: str) -> str:
    """One word of an ExecStart= line: quoted when needed; % and $ escaped (systemd expands
    %-specifiers and $VARIABLES in command lines)."""
    word = word.replace("%", "%%").replace("$", "$$")
    if word and not any(c in word for c in " \t\"'\\;"):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_path(env: Mapping[str, str]) -> Path:
    config = env.get("XDG_CONFIG_HOME") or ""
    base = Path(config) if os.path.isabs(config) else Path.home() / ".config"
    return base / "systemd" / "user" / UNIT_NAME


def unit_text(argv: list[str], env: Mapping[str, str]) -> str:
    """The systemd user unit. KillMode=process: stopping the service stops only it, never the
    game servers it started (their supervisors run on, as after `gsm server start`)."""
    path_value = env.get("PATH", "").replace("%", "%%").replace("\\", "\\\\").replace('"', '\\"')
    lines = [
        UNIT_MARK,
        "[Unit]",
        "Description=gsm: start servers marked --autostart, run gsm's duties",
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=" + " ".join(_systemd_word(word) for word in argv),
        f'Environment="PATH={path_value}"',
        "Restart=on-failure",
        "RestartSec=10",
        "KillMode=process",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ]
    return "\n".join(lines)


def _cron_command(argv: list[str], env: Mapping[str, str], *extra: str) -> str:
    # cron runs a line with /bin/sh and turns an unescaped % into a new line.
    words = [f"PATH={env.get('PATH', '/usr/bin:/bin')}", *argv, *extra]
    return (shlex.join(words) + " >/dev/null 2>&1").replace("%", "\\%")


def cron_lines(argv: list[str], env: Mapping[str, str]) -> list[str]:
    """gsm's block of crontab lines: the service at boot, and one round a minute when it is not
    running (refused at once by the lock while it runs; its output goes to the service log)."""
    return [
        CRON_BEGIN,
        "@reboot " + _cron_command(argv, env, "--boot"),
        "* * * * * " + _cron_command(argv, env, "--once"),
        CRON_END,
    ]


def without_gsm_lines(text: str) -> tuple[list[str], bool]:
    """A crontab's lines less gsm's block; and whether there was one."""
    kept, inside, found = [], False, False
    for line in text.splitlines():
        if line.strip() == CRON_BEGIN:
            inside = found = True
        elif inside and line.strip() == CRON_END:
            inside = False
        elif not inside:
            kept.append(line)
    return kept, found


def gsm_lines(text: str) -> list[str]:
    lines, inside = [], False
    for line in text.splitlines():
        if line.strip() == CRON_BEGIN:
            inside = True
        if inside:
            lines.append(line)
        if inside and line.strip() == CRON_END:
            inside = False
    return lines


def task_user(env: Mapping[str, str]) -> str:
    domain, user = env.get("USERDOMAIN"), env.get("USERNAME") or getpass.getuser()
    return f"{domain}\\{user}" if domain else user


def task_xml(argv: list[str], user: str, *, at_startup: bool = False) -> str:
    """The Task Scheduler definition: at log-on of ``user`` (with its interactive token, so no
    password), or with ``at_startup`` at boot as an S4U task (no password stored; local
    resources only). Restarted after a failure, no time limit, one instance at a time."""
    command = subprocess.list2cmdline(argv[1:])
    if at_startup:
        trigger = "    <BootTrigger>\n      <Enabled>true</Enabled>\n    </BootTrigger>"
        logon = "S4U"
    else:
        trigger = (
            "    <LogonTrigger>\n      <Enabled>true</Enabled>\n"
            f"      <UserId>{escape(user)}</UserId>\n    </LogonTrigger>"
        )
        logon = "InteractiveToken"
    return f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>{escape(TASK_DESCRIPTION)}</Description>
    <URI>\\{TASK_NAME}</URI>
  </RegistrationInfo>
  <Triggers>
{trigger}
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>{escape(user)}</UserId>
      <LogonType>{logon}</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <AllowHardTerminate>true</AllowHardTerminate>
    <StartWhenAvailable>true</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>
    <IdleSettings>
      <StopOnIdleEnd>false</StopOnIdleEnd>
      <RestartOnIdle>false</RestartOnIdle>
    </IdleSettings>
    <AllowStartOnDemand>true</AllowStartOnDemand>
    <Enabled>true</Enabled>
    <Hidden>false</Hidden>
    <RunOnlyIfIdle>false</RunOnlyIfIdle>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <Priority>7</Priority>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>999</Count>
    </RestartOnFailure>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{escape(argv[0])}</Command>
      <Arguments>{escape(command)}</Arguments>
    </Exec>
  </Actions>
</Task>
"""


# --- running the OS's programs -------------------------------------------------------------


def _which(name: str, env: Mapping[str, str]) -> str | None:
    return shutil.which(name, path=env.get("PATH"))


def _run(
    argv: list[str], env: Mapping[str, str], *, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one of the OS's programs (systemctl, loginctl, crontab, schtasks), found on PATH."""
    program = _which(argv[0], env)
    if program is None:
        raise NotFoundError(f"{argv[0]} is not installed here", code="program_missing")
    try:
        return subprocess.run(
            [program, *argv[1:]],
            input=input,
            capture_output=True,
            text=True,
            timeout=PROGRAM_TIMEOUT,
            env=dict(env),
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GsmError(f"{argv[0]} could not be run: {exc}", code="program_failed") from None


def _check(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip().splitlines()
        raise GsmError(
            f"{what} failed (exit {result.returncode})" + (f": {said[-1]}" if said else ""),
            code="program_failed",
        )


def systemd_available(env: Mapping[str, str]) -> bool:
    """Is there a systemd user manager to talk to (not in most containers, nor on macOS)?"""
    if is_windows() or _which("systemctl", env) is None:
        return False
    with contextlib.suppress(GsmError):
        return _run(["systemctl", "--user", "show-environment"], env).returncode == 0
    return False


def linger(env: Mapping[str, str]) -> bool | None:
    """Does the user's systemd manager run from boot, logged in or not? None: cannot tell."""
    if _which("loginctl", env) is None:
        return None
    with contextlib.suppress(GsmError):
        result = _run(
            ["loginctl", "show-user", getpass.getuser(), "--property=Linger", "--value"], env
        )
        if result.returncode == 0:
            return result.stdout.strip() == "yes"
    return None


def linger_hint() -> str:
    return (
        f"to run while nobody is logged in and start at boot: loginctl enable-linger "
        f"{getpass.getuser()}"
    )


def _read_crontab(env: Mapping[str, str]) -> str:
    result = _run(["crontab", "-l"], env)
    if result.returncode != 0:
        said = (result.stderr + result.stdout).lower()
        # cron, cronie, macOS: "no crontab for USER"; busybox: "can't open 'USER'"
        if "no crontab" in said or "can't open" in said:
            return ""
        _check(result, "crontab -l")
    return result.stdout


def _write_crontab(env: Mapping[str, str], lines: list[str]) -> None:
    text = "\n".join(lines) + "\n" if lines else ""
    _check(_run(["crontab", "-"], env, input=text), "crontab -")


# --- install -------------------------------------------------------------------------------


@dataclass
class Installed:
    method: str | None  # None: nothing could be installed; the lines are to add by hand
    where: str | None = None
    started: bool = False
    lines: list[str] = field(default_factory=list)  # the crontab lines (cron, or by hand)
    notes: list[str] = field(default_factory=list)
    linger: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "installed": self.method is not None,
            "method": self.method,
            "where": self.where,
            "started": self.started,
            "linger": self.linger,
            "crontab_lines": self.lines,
            "notes": self.notes,
        }


def choose_method(env: Mapping[str, str], cron: bool) -> str | None:
    """The way to install here: the crontab with ``cron``; else the task on Windows, the
    systemd unit where a user manager answers, else None (print the crontab lines)."""
    if is_windows():
        if cron:
            raise InvalidInputError("--cron is not for Windows: the service is a scheduled task")
        return TASK
    if cron:
        return CRON
    return SYSTEMD if systemd_available(env) else None


def install(
    paths: Paths, env: Mapping[str, str], *, cron: bool = False, at_startup: bool = False
) -> Installed:
    """Install the service the way ``choose_method`` says (replacing gsm's own earlier
    install of that way), and start it."""
    chosen = choose_method(env, cron)
    if chosen == SYSTEMD:
        return _install_systemd(paths, env)
    if chosen == TASK:
        return _install_task(paths, env, at_startup=at_startup)
    argv = service_argv(paths, windows=False)
    if chosen == CRON:
        return _install_cron(env, cron_lines(argv, env))
    notes = ["no systemd user manager here: add these lines to your crontab (crontab -e)"]
    if _which("crontab", env) is not None:
        notes.append("or let gsm add them: gsm service install --cron")
    return Installed(None, lines=cron_lines(argv, env), notes=notes)


def _owned_file(path: Path, mark: str) -> bool | None:
    """None: no such file; else whether gsm wrote it (its marker is in it)."""
    try:
        return mark in path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError:
        return False


def _install_systemd(paths: Paths, env: Mapping[str, str]) -> Installed:
    path = unit_path(env)
    if _owned_file(path, UNIT_MARK) is False:
        raise ConflictError(
            f"{path} exists and was not written by gsm: it is left as it is",
            hint="move it away, then run gsm service install again",
            code="not_made_by_gsm",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{UNIT_NAME}.tmp")
    tmp.write_text(unit_text(service_argv(paths, windows=False), env), encoding="utf-8")
    os.replace(tmp, path)
    _check(_run(["systemctl", "--user", "daemon-reload"], env), "systemctl --user daemon-reload")
    _check(_run(["systemctl", "--user", "enable", UNIT_NAME], env), "systemctl --user enable")
    # restart: a service already running picks up the new unit; a stopped one starts.
    _check(_run(["systemctl", "--user", "restart", UNIT_NAME], env), "systemctl --user restart")
    lingering = linger(env)
    notes = [] if lingering else [linger_hint()]
    return Installed(SYSTEMD, str(path), started=True, notes=notes, linger=lingering)


def _install_cron(env: Mapping[str, str], lines: list[str]) -> Installed:
    if _which("crontab", env) is None:
        raise NotFoundError(
            "crontab is not installed here",
            hint="install cron, or add the lines that gsm service install prints by hand",
            code="program_missing",
        )
    kept, _found = without_gsm_lines(_read_crontab(env))
    _write_crontab(env, [*kept, *lines])  # the user's lines as they were, then gsm's
    notes = ["the service starts at the next boot; until then one round runs every minute"]
    return Installed(CRON, "crontab", lines=lines, notes=notes)


def _install_task(paths: Paths, env: Mapping[str, str], *, at_startup: bool) -> Installed:
    existing = _query_task(env)
    if existing is not None and MARK not in existing:
        raise ConflictError(
            f"a scheduled task {TASK_NAME} exists and was not made by gsm: it is left as it is",
            code="not_made_by_gsm",
        )
    xml = task_xml(service_argv(paths, windows=True), task_user(env), at_startup=at_startup)
    fd, name = tempfile.mkstemp(suffix=".xml")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(xml.encode("utf-16"))
        create = ["schtasks", "/Create", "/TN", TASK_NAME, "/XML", name, "/F"]
        _check(_run(create, env), "schtasks /Create")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
    _check(_run(["schtasks", "/Run", "/TN", TASK_NAME], env), "schtasks /Run")
    when = "at startup" if at_startup else "at your log-on"
    notes = [f"the task starts the service {when}"]
    if not at_startup:
        notes.append("to run it while nobody is logged on: gsm service install --at-startup")
    return Installed(TASK, TASK_NAME, started=True, notes=notes)


def _query_task(env: Mapping[str, str]) -> str | None:
    """The task's XML, or None when there is no such task."""
    if _which("schtasks", env) is None:
        return None
    result = _run(["schtasks", "/Query", "/TN", TASK_NAME, "/XML"], env)
    return result.stdout if result.returncode == 0 else None


def _task_state(env: Mapping[str, str]) -> str | None:
    result = _run(["schtasks", "/Query", "/TN", TASK_NAME, "/FO", "CSV", "/NH"], env)
    if result.returncode != 0:
        return None
    import csv

    for row in csv.reader(result.stdout.splitlines()):
        if len(row) >= 3:
            return row[2]
    return None


# --- status and uninstall ------------------------------------------------------------------


def _systemctl_word(env: Mapping[str, str], verb: str) -> str | None:
    with contextlib.suppress(GsmError):
        result = _run(["systemctl", "--user", verb, UNIT_NAME], env)
        return result.stdout.strip() or None
    return None


def installed_methods(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """What gsm installed, by way: {"systemd": {...}, "cron": {...}, "task": {...}}."""
    found: dict[str, dict[str, Any]] = {}
    if is_windows():
        xml = _query_task(env)
        if xml is not None and MARK in xml:
            found[TASK] = {"where": TASK_NAME, "state": _task_state(env)}
        return found
    path = unit_path(env)
    if _owned_file(path, UNIT_MARK):
        info: dict[str, Any] = {"where": str(path), "enabled": None, "active": None}
        if systemd_available(env):
            info["enabled"] = _systemctl_word(env, "is-enabled")
            info["active"] = _systemctl_word(env, "is-active")
        info["linger"] = linger(env)
        found[SYSTEMD] = info
    if _which("crontab", env) is not None:
        with contextlib.suppress(GsmError):
            lines = gsm_lines(_read_crontab(env))
            if lines:
                found[CRON] = {"where": "crontab", "lines": lines}
    return found


def status(paths: Paths, env: Mapping[str, str]) -> dict[str, Any]:
    """What is installed, whether the service runs now (the lock, asked of the OS) and its
    pid, and what its run file says: the last round and each duty's last outcome."""
    state = service_duties.read_state(paths)
    running = service_duties.is_running(paths)
    methods = installed_methods(env)
    notes = []
    systemd = methods.get(SYSTEMD)
    if systemd is not None and systemd.get("linger") is False:
        notes.append(linger_hint())
    if not methods:
        notes.append("not installed: gsm service install")
    age = _age_seconds(state.get("last_tick"))
    interval = state.get("interval_seconds") or service_duties.MAX_INTERVAL
    if running and age is not None and age > 3 * interval + 60:
        notes.append(f"its last round was {age} s ago: a duty may be stuck (see its log)")
    return {
        "installed": sorted(methods),
        "methods": methods,
        "running": running,
        "pid": service_duties.running_pid(paths) if running else None,
        "started_at": state.get("started_at"),
        "stopped_at": state.get("stopped_at"),
        "last_tick": state.get("last_tick"),
        "last_tick_age_seconds": age,
        "rounds": state.get("rounds"),
        "duties": state.get("duties") or {},
        "log": str(service_duties.log_file(paths)),
        "notes": notes,
    }


def _age_seconds(stamp: Any) -> int | None:
    if not isinstance(stamp, str):
        return None
    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0, int((datetime.now(UTC) - then).total_seconds()))


def uninstall(env: Mapping[str, str]) -> dict[str, Any]:
    """Remove what gsm installed, every way it did (stopping the unit or task first); leave
    anything gsm did not write. The game servers the service started keep running."""
    removed, notes = [], []
    if is_windows():
        xml = _query_task(env)
        if xml is not None and MARK in xml:
            _run(["schtasks", "/End", "/TN", TASK_NAME], env)  # not running is fine
            _check(_run(["schtasks", "/Delete", "/TN", TASK_NAME, "/F"], env), "schtasks /Delete")
            removed.append(TASK)
        elif xml is not None:
            notes.append(f"the task {TASK_NAME} was not made by gsm: it is left as it is")
        return {"removed": removed, "notes": notes}
    path = unit_path(env)
    owned = _owned_file(path, UNIT_MARK)
    if owned:
        if systemd_available(env):
            stop = ["systemctl", "--user", "disable", "--now", UNIT_NAME]
            _check(_run(stop, env), "systemctl --user disable --now")
        path.unlink()
        if systemd_available(env):
            _run(["systemctl", "--user", "daemon-reload"], env)
        removed.append(SYSTEMD)
    elif owned is False:
        notes.append(f"{path} was not written by gsm: it is left as it is")
    if _which("crontab", env) is not None:
        kept, found = without_gsm_lines(_read_crontab(env))
        if found:
            if any(line.strip() for line in kept):
                _write_crontab(env, kept)
            else:
                _check(_run(["crontab", "-r"], env), "crontab -r")
            removed.append(CRON)
    if not removed:
        notes.append("gsm's service was not installed")
    return {"removed": removed, "notes": notes}
