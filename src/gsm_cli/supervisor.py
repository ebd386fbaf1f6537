"""The per-server supervisor: ``python -m gsm_cli.supervisor SERVER_ID``.

Started detached by ``gsm server start``, it outlives gsm. It owns the game's console (stdin),
writes the game's output to a size-rotated log, serves console lines and stop requests on the
local control channel, records every state change in the store, and restarts the game after a
crash by its restart policy (at most N restarts in a window, with growing backoff).
"""

import contextlib
import json
import logging
import logging.handlers
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from typing import Any

import psutil

from gsm_cli.environment import Environment
from gsm_cli.errors import ExitCode, GsmError
from gsm_cli.paths import resolve_paths
from gsm_cli.services import control, lifecycle, locks, processes, servers, settings
from gsm_cli.store import Store
from gsm_cli.store.models import LocalServer

MAX_BACKOFF_SECONDS = 60.0
LOG_FILES_KEPT = 5


class ConsoleLog:
    """The game's output and the supervisor's own notes, in one size-rotated file."""

    def __init__(self, path: Any, max_bytes: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=LOG_FILES_KEPT, encoding="utf-8"
        )
        self._handler.setFormatter(logging.Formatter("%(message)s"))
        self._waiters: list[tuple[re.Pattern[str], threading.Event]] = []
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        self._handler.emit(logging.makeLogRecord({"msg": text, "levelno": logging.INFO}))
        with self._lock:
            for pattern, event in self._waiters:
                if pattern.search(text):
                    event.set()

    def note(self, text: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.line(f"[gsm {stamp}] {text}")

    def expect(self, pattern: str) -> threading.Event:
        event = threading.Event()
        with self._lock:
            self._waiters.append((re.compile(pattern), event))
        return event

    def forget(self, event: threading.Event) -> None:
        with self._lock:
            self._waiters = [(p, e) for p, e in self._waiters if e is not event]


class Supervisor:
    def __init__(self, store: Store, server_id: str, env: Environment) -> None:
        self.store = store
        self.paths = resolve_paths(env.vars)
        self.server_id = server_id
        self.runtime = lifecycle.files(self.paths, server_id)
        max_bytes = int(settings.effective_value(store, "server.log_max_bytes", env.vars) or 0)
        self.log = ConsoleLog(self.runtime.console_log, max_bytes or 5 * 1024 * 1024)
        self.token = secrets.token_hex(16)
        self.stop_requested = threading.Event()
        self.finished = threading.Event()
        self.proc: subprocess.Popen[bytes] | None = None
        self.proc_lock = threading.Lock()
        self.stdin_lock = threading.Lock()
        self.stop_outcome: dict[str, Any] = {}
        self.stop_decided = threading.Event()  # set once the stop handler knows how it ended
        self.handlers: list[threading.Thread] = []

    # -- the game ---------------------------------------------------------------------------

    def server(self) -> LocalServer:
        with self.store.read() as session:
            server = session.get(LocalServer, self.server_id)
        if server is None:
            raise GsmError(f"server {self.server_id} no longer exists")
        return server

    def launch(self, plan: processes.LaunchPlan) -> subprocess.Popen[bytes] | None:
        argv = plan.argv
        with self.proc_lock:
            if self.stop_requested.is_set():
                return None
            self.proc = subprocess.Popen(
                argv,
                cwd=plan.cwd,
                env={**os.environ, **plan.env},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                **processes.game_popen_kwargs(),
            )
        proc = self.proc
        started = psutil.Process(proc.pid).create_time()
        lifecycle.record(
            self.store,
            self.server_id,
            status="running",
            pid=proc.pid,
            started=started,
            event="start",
            detail=" ".join(argv),
        )
        self.log.note(f"started pid {proc.pid}: {' '.join(argv)}")
        threading.Thread(target=self.pump_output, args=(proc,), daemon=True).start()
        return proc

    def pump_output(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            self.log.line(raw.decode("utf-8", errors="replace").rstrip("\r\n"))

    def run(self) -> int:
        crashes: deque[float] = deque()
        try:
            while True:
                server = self.server()
                try:
                    plan = processes.launch_plan(server)
                except GsmError as err:
                    self.log.note(f"cannot start: {err.message}")
                    lifecycle.record(
                        self.store,
                        self.server_id,
                        status="failed",
                        event="start_failed",
                        detail=err.message,
                    )
                    print(err.message, file=sys.stderr)
                    return int(err.exit_code)
                try:
                    proc = self.launch(plan)
                except OSError as exc:  # not executable, bad interpreter line...
                    message = f"cannot run {plan.argv[0]}: {exc.strerror or exc}"
                    self.log.note(message)
                    lifecycle.record(
                        self.store, self.server_id, status="failed", event="start_failed",
                        detail=message,
                    )  # fmt: skip
                    print(message, file=sys.stderr)
                    return int(ExitCode.UNEXPECTED)
                if proc is None:
                    break
                code = proc.wait()
                if self.stop_requested.is_set():
                    self.stop_decided.wait(10)
                    self.log.note(
                        f"stopped ({self.stop_outcome.get('how', 'stop')}), exit code {code}"
                    )
                    lifecycle.record(
                        self.store,
                        self.server_id,
                        status="stopped",
                        event="stop",
                        exit_code=code,
                        detail=self.stop_outcome.get("how"),
                    )
                    self.stop_outcome["exit_code"] = code
                    break
                if not self.after_crash(server, code, crashes):
                    break
        finally:
            self.finished.set()
        return 0

    def after_crash(self, server: LocalServer, code: int, crashes: deque[float]) -> bool:
        """Record a crash; wait and return True to restart, or False when the policy says no."""
        policy = {**servers.DEFAULT_RESTART, **(server.configuration or {}).get("restart", {})}
        now = time.monotonic()
        crashes.append(now)
        while crashes and now - crashes[0] > policy["window_seconds"]:
            crashes.popleft()
        self.log.note(f"crashed with exit code {code}")
        if not policy["enabled"]:
            lifecycle.record(
                self.store,
                self.server_id,
                status="crashed",
                event="crash",
                exit_code=code,
                detail="restart policy off",
            )
            return False
        if len(crashes) > policy["max_restarts"]:
            detail = f"{len(crashes)} crashes in {policy['window_seconds']}s; gave up"
            self.log.note(detail)
            lifecycle.record(
                self.store,
                self.server_id,
                status="failed",
                event="crash",
                exit_code=code,
                detail=detail,
            )
            return False
        delay = min(policy["backoff_seconds"] * 2 ** (len(crashes) - 1), MAX_BACKOFF_SECONDS)
        lifecycle.record(
            self.store,
            self.server_id,
            status="starting",
            event="crash",
            exit_code=code,
            detail=f"restarting in {delay:g}s",
        )
        self.log.note(
            f"restarting in {delay:g}s (restart {len(crashes)} of {policy['max_restarts']})"
        )
        if self.stop_requested.wait(delay):
            lifecycle.record(
                self.store,
                self.server_id,
                status="stopped",
                event="stop",
                detail="stopped while waiting to restart",
            )
            return False
        lifecycle.record(
            self.store, self.server_id, event="restart", detail=f"after exit code {code}"
        )
        return True

    # -- requests ---------------------------------------------------------------------------

    def write_console(self, line: str) -> None:
        with self.proc_lock:
            proc = self.proc
        if proc is None or proc.poll() is not None or proc.stdin is None:
            raise GsmError("the game is not running")
        with self.stdin_lock:
            proc.stdin.write(line.encode("utf-8") + b"\n")
            proc.stdin.flush()

    def send(self, line: str, wait_for: str | None, timeout: float) -> dict[str, Any]:
        waiter = self.log.expect(wait_for) if wait_for else None
        try:
            self.write_console(line)
            self.log.note(f"console: {line}")
            matched = waiter.wait(timeout) if waiter else None
        finally:
            if waiter:
                self.log.forget(waiter)
        return {"ok": True, "matched": matched}

    def stop(self, timeout: float, force: bool) -> dict[str, Any]:
        self.stop_requested.set()
        with self.proc_lock:
            proc = self.proc
        try:
            if proc is not None and proc.poll() is None:
                self.stop_outcome["how"] = self.stop_game(proc, timeout, force)
        finally:
            self.stop_decided.set()
        self.finished.wait(timeout + 10)
        return {"ok": True, **self.stop_outcome, "how": self.stop_outcome.get("how", "idle")}

    def stop_game(self, proc: subprocess.Popen[bytes], timeout: float, force: bool) -> str:
        if not force:
            lifecycle.record(
                self.store,
                self.server_id,
                status="stopping",
                pid=proc.pid,
                started=psutil.Process(proc.pid).create_time(),
            )
            commands, signal_name = processes.stop_plan(self.server())
            try:
                if commands:
                    for line in commands:
                        self.write_console(line)
                    self.log.note(f"asked to stop: {'; '.join(commands)}")
                elif signal_name:
                    processes.send_signal(proc.pid, signal_name)
                    self.log.note(f"asked to stop: {signal_name}")
            except (GsmError, OSError):
                pass
            if _waited(proc, timeout):
                return "console" if commands else "signal"
            self.log.note(f"no exit after {timeout:g}s; terminating")
            proc.terminate()
            if _waited(proc, timeout):
                return "terminate"
            self.log.note(f"no exit after {timeout:g}s; killing")
        proc.kill()
        _waited(proc, 30)
        return "kill"

    def handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                request = json.loads(control.read_line(conn))
                if not secrets.compare_digest(str(request.get("token", "")), self.token):
                    reply: dict[str, Any] = {"ok": False, "error": "bad token"}
                elif request.get("op") == "send":
                    reply = self.send(
                        str(request["line"]),
                        request.get("wait_for"),
                        float(request.get("timeout", 10)),
                    )
                elif request.get("op") == "stop":
                    reply = self.stop(float(request.get("timeout", 30)), bool(request.get("force")))
                elif request.get("op") == "ping":
                    reply = {"ok": True}
                else:
                    reply = {"ok": False, "error": f"unknown request {request.get('op')!r}"}
            except GsmError as err:
                reply = {"ok": False, "error": err.message}
            except (ValueError, KeyError, OSError) as exc:
                reply = {"ok": False, "error": f"bad request: {exc}"}
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps(reply).encode() + b"\n")

    def serve(self, listener: socket.socket) -> None:
        while not self.finished.is_set():
            try:
                conn, _addr = listener.accept()
            except OSError:
                return
            handler = threading.Thread(target=self.handle, args=(conn,), daemon=True)
            self.handlers.append(handler)
            handler.start()

    def drain(self, timeout: float) -> None:
        """Let requests in flight (a stop waiting for its answer) finish before exiting."""
        deadline = time.monotonic() + timeout
        for handler in list(self.handlers):
            handler.join(max(0.0, deadline - time.monotonic()))


def _waited(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m gsm_cli.supervisor SERVER_ID", file=sys.stderr)
        return int(ExitCode.USAGE)
    server_id = argv[0]
    env = Environment()
    paths = resolve_paths(env.vars)
    runtime = lifecycle.files(paths, server_id)
    try:
        lock = locks.hold(runtime.lock)
    except locks.LockHeld:
        print("another supervisor already runs this server", file=sys.stderr)
        return int(ExitCode.CONFLICT)
    with lock, Store.open(paths.store_file) as store:
        sup = Supervisor(store, server_id, env)
        listener = socket.create_server(("127.0.0.1", 0))
        me = psutil.Process()
        control.SupervisorState(
            pid=me.pid,
            create_time=me.create_time(),
            port=listener.getsockname()[1],
            token=sup.token,
            server_id=server_id,
        ).save(runtime.state)
        threading.Thread(target=sup.serve, args=(listener,), daemon=True).start()
        if hasattr(signal, "SIGTERM"):
            signal.signal(
                signal.SIGTERM,
                lambda *_: threading.Thread(
                    target=sup.stop, args=(30.0, False), daemon=True
                ).start(),
            )
        try:
            return sup.run()
        finally:
            sup.drain(10)
            listener.close()
            runtime.state.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
