"""Starting, stopping and watching game servers, from gsm's side.

Each running server has a supervisor process (gsm_cli.supervisor) that owns the game's
console, writes its log, restarts it after a crash and records every state change. This
module starts supervisors, talks to them over the control channel, and reads the truth about
processes from the OS (pid + create time), never from the stored status alone.
"""

import contextlib
import re
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gsm_cli.errors import ConflictError, ExitCode, GsmError, InvalidInputError, NotFoundError
from gsm_cli.paths import Paths
from gsm_cli.services import control, processes, servers
from gsm_cli.store import Store, outbox
from gsm_cli.store.models import LocalServer, ServerEvent
from gsm_cli.timeutil import iso_utc

ACTIVE = ("starting", "running", "stopping")
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class RuntimeFiles:
    state: Path  # the supervisor's port and token
    lock: Path  # held by the supervisor while it lives
    console_log: Path
    supervisor_log: Path


def files(paths: Paths, server_id: str) -> RuntimeFiles:
    run = paths.data_dir / "run"
    logs = paths.log_dir / "servers" / server_id
    return RuntimeFiles(
        state=run / f"{server_id}.json",
        lock=run / f"{server_id}.lock",
        console_log=logs / "console.log",
        supervisor_log=logs / "supervisor.log",
    )


def game_alive(server: LocalServer) -> bool:
    return processes.is_alive(server.process_id, server.process_create_time)


def supervisor(paths: Paths, server: LocalServer) -> control.SupervisorState | None:
    state = control.SupervisorState.load(files(paths, server.id).state)
    if state and processes.is_alive(state.pid, state.create_time):
        return state
    return None


def is_up(paths: Paths, server: LocalServer) -> bool:
    """Running, or being run: its game lives, or its supervisor does (between restarts)."""
    return game_alive(server) or supervisor(paths, server) is not None


def record(
    store: Store,
    server_id: str,
    *,
    status: str | None = None,
    pid: int | None = None,
    started: float | None = None,
    event: str | None = None,
    exit_code: int | None = None,
    detail: str | None = None,
) -> None:
    """Write a status change (queued for sync) and/or a lifecycle event, in one transaction."""
    with store.write() as session:
        server = session.get(LocalServer, server_id)
        if server is None:
            return
        if status is not None:
            server.status = status
            server.process_id = pid
            server.process_create_time = started
            outbox.record(session, server, "update")
        if event is not None:
            session.add(
                ServerEvent(server_id=server_id, event=event, exit_code=exit_code, detail=detail)
            )


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(POLL_SECONDS)
    return condition()


def _tail(path: Path, lines: int) -> list[str]:
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            return [line.rstrip("\n") for line in deque(fh, maxlen=lines)]
    except FileNotFoundError:
        return []


def start(store: Store, paths: Paths, name: str, *, timeout: float = 30.0) -> LocalServer:
    """Start a server under a new supervisor and wait until its game process runs."""
    server = servers.get(store, name)
    if is_up(paths, server):
        raise ConflictError(f"server {server.name} is already running", code="already_running")
    processes.launch_plan(server)  # fail here, with a clear error, on a missing program
    runtime = files(paths, server.id)
    runtime.supervisor_log.parent.mkdir(parents=True, exist_ok=True)
    with runtime.supervisor_log.open("ab") as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "gsm_cli.supervisor", server.id],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            **processes.detached_popen_kwargs(),
        )

    def settled() -> bool:
        if child.poll() is not None:
            return True
        current = servers.get(store, server.id)
        state = control.SupervisorState.load(runtime.state)
        return (
            current.status == "running"
            and game_alive(current)
            and state is not None
            and state.pid == child.pid
        )

    if not wait_until(settled, timeout):
        # Do not leave a half-started server behind a failed command: its supervisor stops it.
        child.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=60)
        raise GsmError(
            f"server {server.name} did not start within {timeout:.0f}s",
            hint=f"gsm server logs {server.name}",
            code="start_timeout",
        )
    if child.returncode is not None:
        _raise_supervisor_failure(server, child.returncode, runtime)
    return servers.get(store, server.id)


def _raise_supervisor_failure(server: LocalServer, code: int, runtime: RuntimeFiles) -> None:
    if code == ExitCode.CONFLICT:
        raise ConflictError(f"server {server.name} is already running", code="already_running")
    last = [line for line in _tail(runtime.supervisor_log, 20) if line.strip()]
    reason = last[-1] if last else f"supervisor exited with code {code}"
    error = NotFoundError if code == ExitCode.NOT_FOUND else GsmError
    raise error(
        f"server {server.name} failed to start: {reason}",
        hint=f"gsm server logs {server.name}",
        code="start_failed",
    )


def stop(
    store: Store, paths: Paths, name: str, *, timeout: float, force: bool = False
) -> dict[str, Any]:
    """Stop gracefully (console command or signal), then terminate, then kill."""
    server = servers.get(store, name)
    state = supervisor(paths, server)
    if state is not None:
        reply = control.request(
            state, {"op": "stop", "timeout": timeout, "force": force}, timeout=3 * timeout + 15
        )
        wait_until(lambda: not processes.is_alive(state.pid, state.create_time), timeout + 5)
        return {"name": server.name, "how": reply["how"], "exit_code": reply.get("exit_code")}
    if not game_alive(server):
        if server.status in ACTIVE:  # recorded as running, but nothing is: settle the record
            record(store, server.id, status="stopped", event="stop", detail="was not running")
        raise ConflictError(f"server {server.name} is not running", code="not_running")
    how = processes.terminate_then_kill(
        server.process_id or 0, server.process_create_time, 0 if force else timeout
    )
    record(store, server.id, status="stopped", event="stop", detail=f"unsupervised; {how}")
    return {"name": server.name, "how": how, "exit_code": None}


def send(
    store: Store,
    paths: Paths,
    name: str,
    line: str,
    *,
    wait_for: str | None = None,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """Write a console line to a running server; optionally wait for a log line matching a
    regular expression (such as the game's "saved" message)."""
    server = servers.get(store, name)
    state = supervisor(paths, server)
    if state is None:
        raise ConflictError(f"server {server.name} is not running", code="not_running")
    if "\n" in line or "\r" in line:
        raise InvalidInputError("a console line must not contain line breaks")
    message: dict[str, Any] = {"op": "send", "line": line}
    if wait_for:
        try:
            re.compile(wait_for)
        except re.error as exc:
            raise InvalidInputError(
                f"--wait-for is not a valid regular expression: {exc}"
            ) from None
        message |= {"wait_for": wait_for, "timeout": timeout}
    reply = control.request(state, message, timeout=timeout + 10)
    return {"name": server.name, "sent": line, "matched": reply.get("matched")}


def events(store: Store, server_id: str, limit: int = 10) -> list[dict[str, Any]]:
    with store.read() as session:
        rows = session.scalars(
            select(ServerEvent)
            .where(ServerEvent.server_id == server_id)
            .order_by(ServerEvent.id.desc())
            .limit(limit)
        ).all()
    return [
        {
            "event": e.event,
            "exit_code": e.exit_code,
            "detail": e.detail,
            "occurred_at": iso_utc(e.occurred_at),
        }
        for e in rows
    ]


def reconcile(store: Store, paths: Paths, server: LocalServer) -> LocalServer:
    """If the record says active but neither the game nor its supervisor lives, it crashed
    (or the machine restarted): record that, so status and monitor tell the truth."""
    if server.status in ACTIVE and not game_alive(server) and supervisor(paths, server) is None:
        record(
            store,
            server.id,
            status="crashed",
            event="crash",
            detail="found not running (process and supervisor gone)",
        )
        return servers.get(store, server.id)
    return server


def status(store: Store, paths: Paths, name: str) -> dict[str, Any]:
    server = reconcile(store, paths, servers.get(store, name))
    state = supervisor(paths, server)
    info: dict[str, Any] = {
        "name": server.name,
        "id": server.id,
        "game_type": server.game_type,
        "status": server.status,
        "process_id": server.process_id if game_alive(server) else None,
        "supervisor_pid": state.pid if state else None,
        "port": server.port,
        "uptime_seconds": None,
        "cpu_percent": None,
        "memory_bytes": None,
    }
    if info["process_id"]:
        import psutil

        try:
            proc = psutil.Process(server.process_id)
            with proc.oneshot():
                info["uptime_seconds"] = int(time.time() - proc.create_time())
                info["memory_bytes"] = proc.memory_info().rss
                info["cpu_percent"] = proc.cpu_percent(interval=0.1)
        except psutil.Error:
            pass
    recent = events(store, server.id)
    crashes = [e for e in recent if e["event"] == "crash"]
    info["crashes"] = len(crashes)
    info["last_exit_code"] = crashes[0]["exit_code"] if crashes else None
    info["last_crash_at"] = crashes[0]["occurred_at"] if crashes else None
    info["events"] = recent
    return info


def monitor_once(store: Store, paths: Paths) -> list[dict[str, Any]]:
    """One pass over every server: restart those found down that should be up."""
    results = []
    for server in servers.list_all(store):
        before = server.status
        server = reconcile(store, paths, server)
        action = "ok"
        restart = (server.configuration or {}).get("restart", {}).get("enabled", True)
        if server.status == "crashed" and restart:
            try:
                start(store, paths, server.id)
                record(store, server.id, event="restart", detail="by gsm server monitor")
                action = "restarted"
            except GsmError as err:
                action = f"restart failed: {err.message}"
        elif server.status == "crashed":
            action = "down (restart policy off)"
        elif server.status == "failed":
            action = "down (gave up after repeated crashes)"
        results.append(
            {
                "name": server.name,
                "status_before": before,
                "status": servers.get(store, server.id).status,
                "action": action,
            }
        )
    return results


def tail_log(paths: Paths, server: LocalServer, lines: int) -> list[str]:
    return _tail(files(paths, server.id).console_log, lines)


def follow_log(paths: Paths, server: LocalServer, lines: int) -> Iterator[str]:
    """The last lines, then every new line as it is written; survives log rotation."""
    path = files(paths, server.id).console_log
    yield from _tail(path, lines)
    position = path.stat().st_size if path.exists() else 0
    while True:
        size = path.stat().st_size if path.exists() else 0
        if size < position:  # rotated: the current file is new
            position = 0
        if size > position:
            with path.open(encoding="utf-8", errors="replace") as fh:
                fh.seek(position)
                chunk = fh.read()
                position = fh.tell()
            yield from chunk.splitlines()
        else:
            time.sleep(0.2)
