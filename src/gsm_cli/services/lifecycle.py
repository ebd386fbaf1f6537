"""Starting, stopping and watching game servers, from gsm's side.

Each running server has a supervisor process (gsm_cli.supervisor) that owns the game's
console, writes its log, restarts it after a crash and records every state change. This
module starts supervisors, talks to them over the control channel, and reads the truth about
processes from the OS (pid + create time), never from the stored status alone.
"""

import contextlib
import re
import sqlite3
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from gsm_cli.errors import ConflictError, ExitCode, GsmError, InvalidInputError, NotFoundError
from gsm_cli.paths import Paths
from gsm_cli.services import alerts, cloud_summary, control, freeze, ports, processes, servers
from gsm_cli.services import query as query_service
from gsm_cli.services.control import POLL_SECONDS, RuntimeFiles, files
from gsm_cli.services.liveness import (  # re-exported: liveness without SQLAlchemy
    ACTIVE,
    Observed,
    game_alive,
    is_up,
    look,
    shown_status,  # noqa: F401 (re-exported)
    supervisor,  # noqa: F401 (re-exported)
    up_of,  # noqa: F401 (re-exported)
)
from gsm_cli.store import Store, outbox
from gsm_cli.store.models import LocalServer, ServerEvent
from gsm_cli.timeutil import iso_utc

DEFAULT_START_TIMEOUT = 30.0
FAILED_START_LINES = 10  # console lines quoted when a game exits before it is up
CPU_SAMPLE_SECONDS = 0.1
CRASH_EVENTS = ("crash", "start_failed")
FOUND_DEAD = "found not running (process and supervisor gone)"
# Server ids per `IN (...)` of a query over many servers: below SQLite's limit of bound
# variables (32766 since SQLite 3.32, 999 before); fewer, larger queries are faster.
IDS_PER_QUERY = 5000 if sqlite3.sqlite_version_info >= (3, 32) else 900
# How long `gsm server monitor` waits for a game's answer to its query.
MONITOR_QUERY_TIMEOUT = query_service.DEFAULT_TIMEOUT
# How long it waits for a supervisor to kill a frozen game (killing waits for the whole tree).
FREEZE_REQUEST_TIMEOUT = freeze.KILL_WAIT_SECONDS + 10
LAUNCH_NOTE = re.compile(r"^\[gsm [^\]]*\] started pid \d+")


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
    """Write a status change (queued for sync) and/or a lifecycle event, in one transaction
    with the event's alerts queued (a sender is started for them after the commit)."""
    with store.write() as session:
        queued = _record_in(
            session,
            server_id,
            status=status,
            pid=pid,
            started=started,
            event=event,
            exit_code=exit_code,
            detail=detail,
        )
    if queued:
        alerts.spawn_sender(store.path)


def record_game_update(store: Store, game_type: str, detail: str) -> None:
    """An ``update`` event (and its alerts) for each of this device's servers of a game whose
    files SteamCMD has just updated, in one transaction."""
    from gsm_cli.services import device

    with store.write() as session:
        me = device.device_id(session)
        found = session.scalars(select(LocalServer).where(LocalServer.game_type == game_type))
        queued = sum(
            _record_in(session, server.id, event="update", detail=detail)
            for server in list(found)
            if not servers.is_remote(server, me)
        )
    if queued:
        alerts.spawn_sender(store.path)


def _record_in(
    session: Session,
    server_id: str,
    *,
    status: str | None = None,
    pid: int | None = None,
    started: float | None = None,
    event: str | None = None,
    exit_code: int | None = None,
    detail: str | None = None,
) -> int:
    """``record``'s writes, inside a transaction of the caller's; how many alerts they
    queued (``alerts.queue_event``)."""
    server = session.get(LocalServer, server_id)
    if server is None:
        return 0
    if status is not None:
        server.status = status
        server.process_id = pid
        server.process_create_time = started
        outbox.record(session, server, "update")
        if status in cloud_summary.DOWN_STATUSES:
            cloud_summary.queue_down_summary(session, server_id)
    if event is not None:
        session.add(
            ServerEvent(server_id=server_id, event=event, exit_code=exit_code, detail=detail)
        )
        session.flush()  # the event row first: the alerts read it
        conn = session.connection().connection.driver_connection
        return alerts.queue_event(
            conn, server_id, event, status=status, exit_code=exit_code, detail=detail
        )
    return 0


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


def observe(store: Store, paths: Paths, server: LocalServer) -> Observed:
    """The one place that decides what is true about a server, for list, status, start, stop,
    send and monitor: the game runs when its pid lives with the recorded create time; its
    supervisor, when its pid does. A record that says active while neither lives is a crash
    (or a reboot): recorded as ``crashed``, or, on a read-only store, only reported so.
    Cheap: no sleeps, and no write unless the record changes."""
    return observe_many(store, paths, [server])[0]


def observe_many(store: Store, paths: Paths, found: list[LocalServer]) -> list[Observed]:
    """``observe`` of each server, in order, with the same answer at the cost of one
    (``liveness.look``), and the crashes found recorded in one transaction (the same status,
    sync operation and event for each as ``observe`` writes)."""
    seen, dead = look(paths, found)
    if dead and not store.read_only:
        with store.write() as session:
            queued = sum(
                _record_in(session, server.id, status="crashed", event="crash", detail=FOUND_DEAD)
                for server in dead
            )
        if queued:
            alerts.spawn_sender(store.path)
    for server in dead:
        server.status, server.process_id, server.process_create_time = "crashed", None, None
    return seen


def observe_all(
    store: Store, paths: Paths, *, status: str | None = None, game: str | None = None
) -> list[Observed]:
    """Every server (of a game), reconciled; filtered by its true status."""
    seen = observe_many(store, paths, servers.list_all(store, game=game))
    return [s for s in seen if status is None or s.status == status]


def current_status(store: Store, server_id: str) -> str:
    """The stored status of a server, read by its id (its primary key)."""
    with store.read() as session:
        server = session.get(LocalServer, server_id)
        if server is None:
            raise NotFoundError(f"no server with id {server_id!r}", code="server_not_found")
        return server.status


def check_ports(server: LocalServer) -> None:
    """Refuse to start when another program holds the game or query port (TCP or UDP)."""
    config = server.configuration or {}
    checked: set[int] = set()
    for label, port in (("game port", server.port), ("query port", config.get("query_port"))):
        if not port or port in checked:
            continue
        checked.add(port)
        busy = ports.busy_protocols(port)
        if busy:
            raise ConflictError(
                f"cannot start {server.name}: its {label} {port} ({' and '.join(busy)}) "
                "is in use by another program",
                hint=f"stop that program, or give the server another port: "
                f"gsm server update {server.name} --port N",
                code="port_in_use",
            )


def _last_event_id(store: Store, server_id: str) -> int:
    with store.read() as session:
        return session.scalar(
            select(func.coalesce(func.max(ServerEvent.id), 0)).where(
                ServerEvent.server_id == server_id
            )
        )


def _console_of_last_launch(path: Path, lines: int) -> list[str]:
    """The game's own last lines since the supervisor's last "started pid" note."""
    tail = _tail(path, 500)
    starts = [i for i, line in enumerate(tail) if LAUNCH_NOTE.match(line)]
    since = tail[starts[-1] + 1 :] if starts else tail
    return [line for line in since if not line.startswith("[gsm ")][-lines:]


def default_start_timeout(server: LocalServer) -> float:
    """30 seconds, or the server's settle time and 10 more when that is longer."""
    return max(DEFAULT_START_TIMEOUT, processes.start_check(server).settle_seconds + 10)


def start(store: Store, paths: Paths, name: str, *, timeout: float | None = None) -> LocalServer:
    """Start a server under a new supervisor and wait until its game is up: it printed its
    ready line, or stayed up for its settle time. A game that a dead supervisor left running
    gets a new supervisor attached instead of a second copy."""
    store.check_writable()  # its supervisor records every state change: nothing can start here
    found = servers.get_local(store, name)
    from gsm_cli.services import plugins  # a plugin change killed half-way: undo or finish it

    plugins.recover_server(store, paths, found, guard=True)
    seen = observe(store, paths, found)
    server = seen.server
    if seen.supervised:
        raise ConflictError(f"server {server.name} is already running", code="already_running")
    if not seen.game_alive:
        processes.launch_plan(server)  # fail here, with a clear error, on a missing program
        check_ports(server)
    wait = default_start_timeout(server) if timeout is None else timeout
    runtime = files(paths, server.id)
    runtime.supervisor_log.parent.mkdir(parents=True, exist_ok=True)
    events_before = _last_event_id(store, server.id)
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

    if not wait_until(settled, wait):
        # Do not leave a half-started server behind a failed command: its supervisor stops it.
        child.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=60)
        raise GsmError(
            f"server {server.name} was not up within {wait:g}s, so gsm stopped it",
            hint=f"gsm server logs {server.name}; a slow game needs a longer --timeout",
            code="start_timeout",
        )
    if child.returncode is not None:
        _raise_start_failure(store, server, child.returncode, runtime, events_before)
    return servers.get(store, server.id)


def _raise_start_failure(
    store: Store, server: LocalServer, code: int, runtime: RuntimeFiles, events_before: int
) -> None:
    if code == ExitCode.CONFLICT:
        raise ConflictError(f"server {server.name} is already running", code="already_running")
    with store.read() as session:
        failed = session.scalars(
            select(ServerEvent)
            .where(
                ServerEvent.server_id == server.id,
                ServerEvent.id > events_before,
                ServerEvent.event.in_(("start_failed", "stop")),
            )
            .order_by(ServerEvent.id.desc())
            .limit(1)
        ).first()
    if failed is not None and failed.event == "stop":
        raise ConflictError(
            f"server {server.name} was stopped before it was up", code="not_running"
        )
    if failed is not None and failed.exit_code is not None:
        lines = _console_of_last_launch(runtime.console_log, FAILED_START_LINES)
        console = "\n".join(f"  {line}" for line in lines) or "  (nothing)"
        raise GsmError(
            f"server {server.name} failed to start: {failed.detail}\n"
            f"its last console lines:\n{console}",
            hint=f"gsm server logs {server.name}",
            code="start_failed",
        )
    last = [line for line in _tail(runtime.supervisor_log, 20) if line.strip()]
    reason = failed.detail if failed is not None and failed.detail else None
    reason = reason or (last[-1] if last else f"supervisor exited with code {code}")
    if code == ExitCode.NOT_FOUND:  # the program went missing after gsm looked for it
        raise NotFoundError(
            f"server {server.name} failed to start: {reason}",
            hint=f"gsm server logs {server.name}",
            code="executable_missing",
        )
    raise GsmError(
        f"server {server.name} failed to start: {reason}",
        hint=f"gsm server logs {server.name}",
        code="start_failed",
    )


def restart(store: Store, paths: Paths, name: str, *, timeout: float) -> LocalServer:
    """Stop the server if it is up, then start it. Refused before the stop when it could not
    be started again (a read-only store), so a restart never leaves a server down."""
    store.check_writable()
    if is_up(paths, servers.get_local(store, name)):
        stop(store, paths, name, timeout=timeout)
    return start(store, paths, name)


def stop(
    store: Store, paths: Paths, name: str, *, timeout: float, force: bool = False
) -> dict[str, Any]:
    """Stop gracefully (console command or signal), then terminate, then kill."""
    seen = observe(store, paths, servers.get_local(store, name))
    server, state = seen.server, seen.supervisor
    if state is not None:
        reply = control.request(
            state, {"op": "stop", "timeout": timeout, "force": force}, timeout=3 * timeout + 15
        )
        wait_until(lambda: not processes.is_alive(state.pid, state.create_time), timeout + 5)
        return {"name": server.name, "how": reply["how"], "exit_code": reply.get("exit_code")}
    if not seen.game_alive:
        # Found down (crashed): asked to stop, it stays down; monitor leaves it alone.
        if server.status in (*ACTIVE, "crashed"):
            record(store, server.id, status="stopped", event="stop", detail="was not running")
        raise ConflictError(f"server {server.name} is not running", code="not_running")
    # Its supervisor died: no console to ask on; the game's stop signal, terminate, kill.
    _commands, signal_name = processes.stop_plan(server)
    how = processes.terminate_then_kill(
        server.process_id or 0,
        server.process_create_time,
        0 if force else timeout,
        signal_name=None if force else signal_name,
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
    seen = observe(store, paths, servers.get_local(store, name))
    server, state = seen.server, seen.supervisor
    if not seen.game_alive:
        waiting = " (it is waiting to be restarted)" if state is not None else ""
        raise ConflictError(f"server {server.name} is not running{waiting}", code="not_running")
    if state is None or not state.console:
        raise ConflictError(
            f"cannot reach the console of {server.name}: "
            + (
                f"its supervisor died while the game (pid {seen.process_id}) runs"
                if state is None
                else "it went with the supervisor that died while the game ran"
            ),
            hint=f"gsm server restart {server.name} (the game restarts with a new console)",
            code="console_lost",
        )
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


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for first in range(0, len(ids), IDS_PER_QUERY):
        yield ids[first : first + IDS_PER_QUERY]


def events(store: Store, server_id: str, limit: int = 10) -> list[dict[str, Any]]:
    return recent_events(store, [server_id], limit)[server_id]


def recent_events(
    store: Store, server_ids: list[str], limit: int = 10
) -> dict[str, list[dict[str, Any]]]:
    """The last ``limit`` events of each server, newest first: one query per few hundred
    servers (a window function ranks each server's events), not one per server."""
    found: dict[str, list[dict[str, Any]]] = {server_id: [] for server_id in server_ids}
    with store.read() as session:
        for chunk in _chunks(server_ids):
            rank = func.row_number().over(
                partition_by=ServerEvent.server_id, order_by=ServerEvent.id.desc()
            )
            ranked = (
                select(
                    ServerEvent.id,
                    ServerEvent.server_id,
                    ServerEvent.event,
                    ServerEvent.exit_code,
                    ServerEvent.detail,
                    ServerEvent.occurred_at,
                    rank.label("rank"),
                )
                .where(ServerEvent.server_id.in_(chunk))
                .subquery()
            )
            rows = session.execute(
                select(ranked)
                .where(ranked.c.rank <= limit)
                .order_by(ranked.c.server_id, ranked.c.id.desc())
            )
            for row in rows:
                found[row.server_id].append(
                    {
                        "event": row.event,
                        "exit_code": row.exit_code,
                        "detail": row.detail,
                        "occurred_at": iso_utc(row.occurred_at),
                    }
                )
    return found


def _crash_window(server: LocalServer) -> int:
    policy = {**servers.DEFAULT_RESTART, **(server.configuration or {}).get("restart", {})}
    return int(policy["window_seconds"])


def crash_summary(store: Store, server: LocalServer) -> dict[str, Any]:
    return crash_summaries(store, [server])[server.id]


def crash_summaries(store: Store, found: list[LocalServer]) -> dict[str, dict[str, Any]]:
    """Of each server: crashes in its restart window (every one), and the exit code and time
    of its last crash or failed start; and its freezes: those in the window (each also counts
    as a crash, as the crash-loop limit counts it) and the time of the last one. Two queries
    per restart window and few hundred servers (window functions and GROUP BY), not two per
    server."""
    by_window: dict[int, list[str]] = {}
    for server in found:
        by_window.setdefault(_crash_window(server), []).append(server.id)
    crashes: dict[str, Any] = {}
    freezes: dict[str, Any] = {}
    with store.read() as session:
        for window, ids in by_window.items():
            since = func.datetime("now", f"-{window} seconds")
            in_window = case(
                ((ServerEvent.event == "crash") & (ServerEvent.occurred_at >= since), 1), else_=0
            )
            for chunk in _chunks(ids):
                ranked = (
                    select(
                        ServerEvent.server_id,
                        ServerEvent.exit_code,
                        ServerEvent.occurred_at,
                        func.sum(in_window).over(partition_by=ServerEvent.server_id).label("n"),
                        func.row_number()
                        .over(partition_by=ServerEvent.server_id, order_by=ServerEvent.id.desc())
                        .label("rank"),
                    )
                    .where(ServerEvent.server_id.in_(chunk), ServerEvent.event.in_(CRASH_EVENTS))
                    .subquery()
                )
                last = select(
                    ranked.c.server_id, ranked.c.exit_code, ranked.c.occurred_at, ranked.c.n
                ).where(ranked.c.rank == 1)
                crashes |= {row.server_id: row for row in session.execute(last)}
                frozen = (
                    select(
                        ServerEvent.server_id,
                        func.count(ServerEvent.id).filter(ServerEvent.occurred_at >= since),
                        func.max(ServerEvent.occurred_at),
                    )
                    .where(ServerEvent.server_id.in_(chunk), ServerEvent.event == "freeze")
                    .group_by(ServerEvent.server_id)
                )
                freezes |= {row[0]: row for row in session.execute(frozen)}
    summaries = {}
    for server in found:
        crash, freeze_row = crashes.get(server.id), freezes.get(server.id)
        summaries[server.id] = {
            "crashes": int(crash.n) if crash else 0,
            "crash_window_seconds": _crash_window(server),
            "last_exit_code": crash.exit_code if crash else None,
            "last_crash_at": iso_utc(crash.occurred_at) if crash else None,
            "freezes": int(freeze_row[1] or 0) if freeze_row else 0,
            "last_freeze_at": iso_utc(freeze_row[2]) if freeze_row else None,
        }
    return summaries


def _usage(pids: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Uptime, memory and CPU of running games; the CPU percent is measured over one short
    window shared by all of them, not one per server."""
    import psutil

    procs: dict[str, Any] = {}
    for key, pid in pids.items():
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            proc.cpu_percent(None)
            procs[key] = proc
    if procs:
        time.sleep(CPU_SAMPLE_SECONDS)
    usage = {}
    for key, proc in procs.items():
        with contextlib.suppress(psutil.Error), proc.oneshot():
            usage[key] = {
                "uptime_seconds": int(time.time() - proc.create_time()),
                "memory_bytes": proc.memory_info().rss,
                "cpu_percent": round(proc.cpu_percent(None), 1),
            }
    return usage


def statuses(store: Store, paths: Paths, names: list[str]) -> list[dict[str, Any]]:
    """What `gsm server status` shows: the truth (observe), the game's uptime, memory and CPU,
    crashes in the restart window, and the recent events."""
    with store.read() as session:
        found = [servers.find(session, name) for name in names]
    return statuses_of(store, paths, found)


def statuses_of(store: Store, paths: Paths, found: list[LocalServer]) -> list[dict[str, Any]]:
    """``statuses`` of these servers (`gsm server status --all`), in order: each reconciled as
    ``observe`` does, its crashes and recent events read for all of them at once."""
    seen = observe_many(store, paths, found)
    usage = _usage({s.server.id: s.process_id for s in seen if s.process_id})
    summaries = crash_summaries(store, found)
    recent = recent_events(store, [server.id for server in found])
    results = []
    for s in seen:
        server = s.server
        info: dict[str, Any] = {
            "name": server.name,
            "id": server.id,
            "game_type": server.game_type,
            "status": server.status,
            "supervised": s.supervised,
            "console": s.console,
            "message": s.message,
            "process_id": s.process_id,
            "supervisor_pid": s.supervisor.pid if s.supervisor else None,
            "port": server.port,
            "uptime_seconds": None,
            "cpu_percent": None,
            "memory_bytes": None,
            **usage.get(server.id, {}),
            **summaries[server.id],
            "events": recent[server.id],
        }
        results.append(info)
    return results


def status(store: Store, paths: Paths, name: str) -> dict[str, Any]:
    return statuses(store, paths, [name])[0]


def monitor_once(
    store: Store, paths: Paths, *, query_timeout: float = MONITOR_QUERY_TIMEOUT
) -> list[dict[str, Any]]:
    """One pass over every server: restart those found down that should be up, attach a
    supervisor to a game whose supervisor died (never a second copy of a running game), and
    query each running game once to restart it when it is frozen (``check_frozen``)."""
    found = servers.list_all(store)
    before = [server.status for server in found]  # observe changes a dead one's to crashed
    results = []
    for server, status_before, seen in zip(
        found, before, observe_many(store, paths, found), strict=True
    ):
        action = "ok"
        restart = (seen.server.configuration or {}).get("restart", {}).get("enabled", True)
        if seen.unsupervised:
            try:
                start(store, paths, server.id)
                action = "supervisor attached"
            except GsmError as err:
                action = f"attaching a supervisor failed: {err.message}"
        elif seen.status == "crashed" and restart:
            try:
                start(store, paths, server.id)
                record(store, server.id, event="restart", detail="by gsm server monitor")
                action = "restarted"
            except GsmError as err:
                action = f"restart failed: {err.message}"
        elif seen.status == "crashed":
            action = "down (restart policy off)"
        elif seen.status == "failed":
            action = "down (failed; see gsm server status)"
        elif seen.status == "running" and seen.game_alive and seen.supervisor is not None:
            action = check_frozen(paths, seen.server, seen.supervisor, query_timeout) or action
        results.append(
            {
                "name": server.name,
                "status_before": status_before,
                "status": current_status(store, server.id) if action != "ok" else seen.status,
                "action": action,
            }
        )
    return results


def check_frozen(
    paths: Paths,
    server: LocalServer,
    supervisor_state: control.SupervisorState,
    timeout: float = MONITOR_QUERY_TIMEOUT,
) -> str | None:
    """The freeze rule of ``services/freeze.py`` for `gsm server monitor`: one query of a
    running game past its grace period and not busy with a backup or update; the failures in
    a row are kept in the server's ``freeze_count`` file between runs (for that very game,
    by pid and create time). At ``freeze_after`` of them its supervisor is asked to restart
    it as frozen, as it does on its own count: a freeze event, the tree killed, a restart
    counted by the crash-loop limit. The supervisor acts only when that game is still the one
    it runs, so a game it has already restarted is not restarted twice. Returns what was
    done, or None when the game answered (or was not asked)."""
    rule = freeze.rule_for(server)
    count_file = files(paths, server.id).freeze_count
    pid, started = server.process_id, server.process_create_time
    if not rule.enabled or pid is None or started is None:
        freeze.save_streak(count_file, None)
        return None
    # The grace runs from the game's start, as a wall-clock time (the recorded stamp may be
    # seconds since boot).
    counter = freeze.Counter(rule, processes.started_at(started) or 0.0)
    now = time.time()
    if counter.in_grace(now):
        freeze.save_streak(count_file, None)
        return None
    busy = freeze.busy_with(paths, server)
    if busy:  # what failed during it says nothing about a freeze: start counting again after
        freeze.save_streak(count_file, None)
        return f"ok ({' and '.join(busy)} running: queries not counted)"
    streak = freeze.load_streak(count_file)
    if streak is not None and streak.of(pid, started):
        counter.failures, counter.last_error = streak.failures, streak.last_error
    port = servers.query_port(server) or 0
    answer = query_service.query(servers.query_protocol(server), "127.0.0.1", port, timeout)
    if not counter.observe(answer.ok, now, error=answer.error):
        kept = freeze.Streak(pid, started, counter.failures, counter.last_error)
        freeze.save_streak(count_file, kept if counter.failures else None)
        if answer.ok:
            return None
        return f"query failed ({counter.failures} of {rule.freeze_after}): {answer.error}"
    freeze.save_streak(count_file, None)
    detail = f"{counter.detail()} (found by gsm server monitor)"
    try:
        reply = control.request(
            supervisor_state,
            {"op": "freeze", "pid": pid, "create_time": started, "detail": detail},
            timeout=FREEZE_REQUEST_TIMEOUT,
        )
    except GsmError as err:
        return f"frozen, but the restart failed: {err.message}"
    if not reply.get("restarted"):
        return "ok (its supervisor had already restarted it)"
    return f"restarted (frozen: {counter.detail()})"


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
