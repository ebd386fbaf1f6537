"""The per-server supervisor: ``python -m gsm_cli.supervisor SERVER_ID``.

Started detached by ``gsm server start``, it outlives gsm. It owns the game's console (stdin),
writes the game's output to a size-rotated log, serves console lines and stop requests on the
local control channel, records every state change in the store, and restarts the game after a
crash by its restart policy (at most N restarts in a window, with growing backoff).

A launched game is ``starting`` until it prints its ready line or has stayed up for its settle
time; only then is it ``running``. A game that exits before that on its first launch failed to
start: the server is marked ``failed`` with a ``start_failed`` event, and nothing restarts it.

A supervisor that finds its server's game still running (its previous supervisor died) attaches
to it instead of starting a second copy: it watches the process, records its end, restarts it
by policy and stops it by signal, terminate and kill; the console went with the old supervisor.

While a game runs, a thread of the supervisor samples its process tree and queries it every
``metrics.interval`` seconds into ``performance_history`` (``services/sampling.py``). The same
queries tell a frozen game (``services/freeze.py``): after ``--freeze-after`` failed queries in a
row, past its grace period and with no backup or update running, the game's whole process tree
is killed and restarted like a crashed game, within the crash-loop limit.

It runs for as long as its game, one per running server, so it stays light: it writes through
its own sqlite3 store (``supervisor_store.py``: the rows and transactions of
``lifecycle.record`` and ``sampling.record``), imports no SQLAlchemy, typer, rich or OpenSSL, and
asks Minecraft servers without mcstatus (``keep_light``; docs/architecture.md, "Supervisor: a
light process").
"""

import contextlib
import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, TextIO

import psutil

from gsm_cli.environment import Environment
from gsm_cli.errors import ExitCode, GsmError
from gsm_cli.paths import resolve_paths
from gsm_cli.services import control, freeze, locks, processes, query, sampling, server_config
from gsm_cli.supervisor_store import ServerRow, SupervisorStore, run_retention

if TYPE_CHECKING:
    from gsm_cli.store import Store

MAX_BACKOFF_SECONDS = 60.0
LOG_FILES_KEPT = 5
DEFAULT_METRICS_INTERVAL = 30.0
METRICS_POLL_SECONDS = 0.5  # how soon the metrics thread notices a new game
# metrics.apply_retention does its work at most once an hour per store (whoever gets there
# first); the supervisor asks that often, in a child process (supervisor_store.run_retention).
RETENTION_EVERY_SECONDS = 3600.0


class ConsoleLog:
    """The game's output and the supervisor's own notes, in one size-rotated file.

    It writes what ``logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes,
    backupCount=LOG_FILES_KEPT, encoding="utf-8")`` writes, by the same rule and names (a line
    that would take the file to ``max_bytes`` first moves it to ``console.log.1``, ``.1`` to
    ``.2`` and so on, ``LOG_FILES_KEPT`` kept; not for a path that is not a regular file), without
    importing logging.handlers (pickle, queue: about 0.6 MB of a supervisor's 25). A line that
    cannot be written (a full disk) is reported on stderr and dropped, as logging does: the
    thread that pumps the game's output must never stop."""

    def __init__(self, path: Any, max_bytes: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = os.path.abspath(path)
        self._max_bytes = max_bytes
        self._file: TextIO | None = self._open()
        self._write_lock = threading.Lock()
        self._waiters: list[tuple[re.Pattern[str], threading.Event]] = []
        self._lock = threading.Lock()

    def _open(self) -> TextIO:
        return open(self._path, "a", encoding="utf-8")  # kept open: the log

    def _write(self, text: str) -> None:
        data = text + "\n"
        with self._write_lock:
            try:
                if self._file is None:
                    self._file = self._open()
                special = os.path.exists(self._path) and not os.path.isfile(self._path)
                if self._max_bytes > 0 and not special:
                    self._file.seek(0, os.SEEK_END)
                    if self._file.tell() + len(data) >= self._max_bytes:
                        self._rotate()
                assert self._file is not None
                self._file.write(data)
                self._file.flush()
            except Exception as exc:  # never stop the pump (logging's handleError)
                with contextlib.suppress(Exception):
                    print(f"console log: a line was not written: {exc}", file=sys.stderr)

    def _rotate(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        for i in range(LOG_FILES_KEPT - 1, 0, -1):
            older, newer = f"{self._path}.{i}", f"{self._path}.{i + 1}"
            if os.path.exists(older):
                if os.path.exists(newer):
                    os.remove(newer)
                os.rename(older, newer)
        first = f"{self._path}.1"
        if os.path.exists(first):
            os.remove(first)
        if os.path.exists(self._path):
            os.rename(self._path, first)
        self._file = self._open()

    def line(self, text: str) -> None:
        self._write(text)
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


class Launched:
    """A game this supervisor started: it owns the console and learns the exit code."""

    console = True

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.stdin = popen.stdin

    def running(self) -> bool:
        return self.popen.poll() is None

    def wait(self, timeout: float | None = None) -> int | None:
        return self.popen.wait(timeout)  # subprocess.TimeoutExpired when it does not end

    def terminate(self) -> None:
        self.popen.terminate()

    def kill(self) -> None:
        self.popen.kill()


class Attached:
    """A game left running by a supervisor that died: not our child, so no console and no exit
    code; watched by pid and create time (a zombie that nobody reaps counts as ended)."""

    console = False
    stdin = None

    def __init__(self, pid: int, create_time: float) -> None:
        self.pid = pid
        self.create_time = create_time

    def running(self) -> bool:
        return processes.is_alive(self.pid, self.create_time)

    def wait(self, timeout: float | None = None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.running():
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.1)
        return None

    def _signal(self, kill: bool) -> None:
        if not self.running():
            return
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(self.pid)
            proc.kill() if kill else proc.terminate()

    def terminate(self) -> None:
        self._signal(kill=False)

    def kill(self) -> None:
        self._signal(kill=True)


Game = Launched | Attached


def _exit_text(code: int | None) -> str:
    return "exit code unknown" if code is None else f"exit code {code}"


class Supervisor:
    def __init__(self, store: "SupervisorStore | Store", server_id: str, env: Environment) -> None:
        # In-process callers (tests) may hand over gsm's own Store: the same file, opened here.
        if not isinstance(store, SupervisorStore):
            store = SupervisorStore(store.path)
        self.store = store
        self.paths = resolve_paths(env.vars)
        self.server_id = server_id
        self.runtime = control.files(self.paths, server_id)
        max_bytes = int(store.effective_value("server.log_max_bytes", env.vars) or 0)
        self.log = ConsoleLog(self.runtime.console_log, max_bytes or 5 * 1024 * 1024)
        self.token = os.urandom(16).hex()  # secrets.token_hex(16), without loading hashlib
        self.stop_requested = threading.Event()
        self.finished = threading.Event()
        self.proc: Game | None = None
        self.pump: threading.Thread | None = None
        self.state: control.SupervisorState | None = None  # what the state file says
        self.proc_lock = threading.Lock()
        self.stdin_lock = threading.Lock()
        self.stop_outcome: dict[str, Any] = {}
        self.stop_decided = threading.Event()  # set once the stop handler knows how it ended
        self.handlers: list[threading.Thread] = []
        self.env_vars = env.vars
        interval = store.effective_value("metrics.interval", env.vars)
        self.metrics_interval = float(interval or DEFAULT_METRICS_INTERVAL)
        self.metrics: threading.Thread | None = None
        self.game_started = time.monotonic()  # the current game's launch or attach
        self.frozen: str | None = None  # why the current game was killed as frozen
        self.retention_due = 0.0  # time.monotonic() of the next retention run

    # -- the game ---------------------------------------------------------------------------

    def server(self) -> ServerRow:
        server = self.store.server(self.server_id)
        if server is None:
            raise GsmError(f"server {self.server_id} no longer exists")
        return server

    def attach(self) -> Attached | None:
        """The game a dead supervisor left running, taken over; None when there is none."""
        server = self.server()
        alive = processes.is_alive(server.process_id, server.process_create_time)
        if not alive or server.process_create_time is None:
            return None
        game = Attached(server.process_id or 0, server.process_create_time)
        with self.proc_lock:
            self.proc = game
            self.game_started = time.monotonic()
        self.log.note(
            f"attached to pid {game.pid}, which a supervisor that died left running; "
            "its console went with that supervisor"
        )
        self.store.record(
            self.server_id,
            status="running",
            pid=game.pid,
            started=game.create_time,
            event="attach",
            detail="a new supervisor took over the running game (no console)",
        )
        return game

    def launch(self, plan: processes.LaunchPlan) -> Launched | None:
        """Start the game; it is ``starting`` until it settles."""
        argv = plan.argv
        with self.proc_lock:
            if self.stop_requested.is_set():
                return None
            popen = subprocess.Popen(
                argv,
                cwd=plan.cwd,
                env={**os.environ, **plan.env},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                **processes.game_popen_kwargs(),
            )
            game = self.proc = Launched(popen)
            self.game_started = time.monotonic()
            self.frozen = None
        if self.state is not None and not self.state.console:  # a console again, after attach
            self.publish(dataclasses.replace(self.state, console=True))
        self.log.note(f"started pid {game.pid}: {' '.join(argv)}")
        self.pump = threading.Thread(target=self.pump_output, args=(popen,), daemon=True)
        self.pump.start()
        self.store.record(
            self.server_id,
            status="starting",
            pid=game.pid,
            started=processes.create_time(game.pid),
            event="start",
            detail=" ".join(argv),
        )
        return game

    def publish(self, state: control.SupervisorState) -> None:
        """Write the state file that gsm reads to find and trust this supervisor."""
        state.save(self.runtime.state)
        self.state = state

    def pump_output(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            self.log.line(raw.decode("utf-8", errors="replace").rstrip("\r\n"))

    def settle(self, game: Launched, check: processes.StartCheck, ready: Any) -> bool:
        """Wait for the ready line or the settle time, whichever comes first, with the game
        alive: then record it ``running`` and return True. False when the game exited first
        (or a stop was asked for meanwhile: the stop handler records that)."""
        deadline = time.monotonic() + check.settle_seconds
        while True:
            if ready is not None and ready.is_set():
                how = "printed its ready line"
                break
            if not game.running():
                if self.pump is not None:  # a ready line printed just before the exit counts
                    self.pump.join(2)
                return ready is not None and ready.is_set()
            if self.stop_requested.is_set():
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                how = f"stayed up for {check.settle_seconds:g}s"
                break
            if ready is not None:
                ready.wait(min(remaining, control.POLL_SECONDS))
            else:
                time.sleep(min(remaining, control.POLL_SECONDS))
        self.log.note(f"running: the game {how}")
        self.store.record(
            self.server_id,
            status="running",
            pid=game.pid,
            started=processes.create_time(game.pid),
        )
        return True

    def start_failed(self, code: int | None, check: processes.StartCheck) -> int:
        """The first launch exited before it was up: failed, and no restart loop."""
        if self.pump is not None:
            self.pump.join(2)  # its last words belong in the log before anyone reads it
        exited = "the game exited" + ("" if code is None else f" with code {code}")
        message = f"{exited} before it was up (within {check.settle_seconds:g}s of its launch)"
        self.log.note(f"failed to start: {message}")
        self.store.record(
            self.server_id,
            status="failed",
            event="start_failed",
            exit_code=code,
            detail=message,
        )
        print(message, file=sys.stderr)
        return int(ExitCode.UNEXPECTED)

    def run(self, attached: Attached | None = None) -> int:
        crashes: deque[float] = deque()
        ever_up = attached is not None
        try:
            while True:
                server = self.server()
                check: processes.StartCheck | None = None  # None: attached, already up
                if attached is not None:
                    game: Game = attached
                    attached = None
                    came_up = True
                else:
                    outcome = self.launch_and_settle(server)
                    if isinstance(outcome, int):
                        return outcome
                    if outcome is None:
                        break
                    game, came_up, check = outcome
                code = game.wait()
                if self.stop_requested.is_set():
                    self.stop_decided.wait(10)
                    self.log.note(
                        f"stopped ({self.stop_outcome.get('how', 'stop')}), {_exit_text(code)}"
                    )
                    self.store.record(
                        self.server_id,
                        status="stopped",
                        event="stop",
                        exit_code=code,
                        detail=self.stop_outcome.get("how"),
                    )
                    self.stop_outcome["exit_code"] = code
                    break
                froze = self.frozen
                if froze is None and not came_up and not ever_up and check is not None:
                    return self.start_failed(code, check)
                ever_up = ever_up or came_up
                if not self.after_crash(server, code, crashes, froze=froze):
                    break
        finally:
            self.finished.set()
        return 0

    def launch_and_settle(
        self, server: ServerRow
    ) -> tuple[Launched, bool, processes.StartCheck] | int | None:
        """Launch the game and wait for it to come up. An exit code for the supervisor when it
        cannot be run at all; None when a stop came first."""
        try:
            plan = processes.launch_plan(server)
        except GsmError as err:
            self.log.note(f"cannot start: {err.message}")
            self.store.record(
                self.server_id,
                status="failed",
                event="start_failed",
                detail=err.message,
            )
            print(err.message, file=sys.stderr)
            return int(err.exit_code)
        check = processes.start_check(server)
        ready = self.log.expect(check.ready_pattern) if check.ready_pattern else None
        try:
            try:
                game = self.launch(plan)
            except OSError as exc:  # not executable, bad interpreter line...
                message = f"cannot run {plan.argv[0]}: {exc.strerror or exc}"
                self.log.note(message)
                self.store.record(
                    self.server_id, status="failed", event="start_failed",
                    detail=message,
                )  # fmt: skip
                print(message, file=sys.stderr)
                return int(ExitCode.UNEXPECTED)
            if game is None:
                return None
            return game, self.settle(game, check, ready), check
        finally:
            if ready is not None:
                self.log.forget(ready)

    def after_crash(
        self,
        server: ServerRow,
        code: int | None,
        crashes: deque[float],
        *,
        froze: str | None = None,
    ) -> bool:
        """Record a crash (or the end of a game killed as frozen: ``froze`` says why); wait and
        return True to restart, or False when the policy says no. Both count toward the
        crash-loop limit."""
        policy = {
            **server_config.DEFAULT_RESTART,
            **(server.configuration or {}).get("restart", {}),
        }
        now = time.monotonic()
        crashes.append(now)
        while crashes and now - crashes[0] > policy["window_seconds"]:
            crashes.popleft()
        killed = "killed as frozen; " if froze else ""
        self.log.note(f"{'killed as frozen' if froze else 'crashed'} with {_exit_text(code)}")
        if not policy["enabled"]:
            self.store.record(
                self.server_id,
                status="crashed",
                event="crash",
                exit_code=code,
                detail=f"{killed}restart policy off",
            )
            return False
        if len(crashes) > policy["max_restarts"]:
            detail = f"{killed}{len(crashes)} crashes in {policy['window_seconds']}s; gave up"
            self.log.note(detail)
            self.store.record(
                self.server_id,
                status="failed",
                event="crash",
                exit_code=code,
                detail=detail,
            )
            return False
        delay = min(policy["backoff_seconds"] * 2 ** (len(crashes) - 1), MAX_BACKOFF_SECONDS)
        self.store.record(
            self.server_id,
            status="starting",
            event="crash",
            exit_code=code,
            detail=f"{killed}restarting in {delay:g}s",
        )
        self.log.note(
            f"restarting in {delay:g}s (restart {len(crashes)} of {policy['max_restarts']})"
        )
        if self.stop_requested.wait(delay):
            self.store.record(
                self.server_id,
                status="stopped",
                event="stop",
                detail="stopped while waiting to restart",
            )
            return False
        after = f"after a freeze ({froze})" if froze else f"after {_exit_text(code)}"
        self.store.record(self.server_id, event="restart", detail=after)
        return True

    # -- frozen games -----------------------------------------------------------------------

    def watch_freeze(
        self,
        game: Game,
        counter: freeze.Counter,
        sample: sampling.Sample,
        server: ServerRow,
    ) -> None:
        """Count the query of one sample; a game that is now frozen is killed (the run loop
        then restarts it). Never raises: a failure here must not cost the sample."""
        try:
            ok = sample.query_error is None
            busy = [] if ok or not counter.rule.enabled else freeze.busy_with(self.paths, server)
            if counter.observe(ok, time.monotonic(), error=sample.query_error, busy=bool(busy)):
                self.restart_frozen(game, counter.detail())
            elif counter.failures:
                self.log.note(
                    f"query failed ({counter.failures} of {counter.rule.freeze_after} "
                    f"before a freeze restart): {sample.query_error}"
                )
        except Exception as exc:
            self.log.note(f"freeze check failed: {exc}")

    def restart_frozen(self, game: Game, detail: str) -> bool:
        """Record a ``freeze`` event and kill the game's whole process tree, so the run loop
        restarts it as after a crash. Nothing is done (False) when a stop was asked for, the
        game is no longer the current one or has ended, or it is already being killed."""
        with self.proc_lock:
            if (
                self.stop_requested.is_set()
                or self.proc is not game
                or not game.running()
                or self.frozen is not None
            ):
                return False
            self.frozen = detail
        started = game.create_time if isinstance(game, Attached) else None
        started = started or processes.create_time(game.pid)
        self.log.note(f"frozen: {detail}; killing pid {game.pid} and its children")
        try:
            self.store.record(self.server_id, event="freeze", detail=detail)
        finally:  # a store that refuses the event must not leave the game frozen
            freeze.kill_tree(game.pid, started)
        return True

    def freeze_requested(self, pid: int, create_time: float, detail: str) -> dict[str, Any]:
        """`gsm server monitor` found the game frozen: restart it, only when that game is
        still the current one (this supervisor may have restarted it already)."""
        with self.proc_lock:
            game = self.proc
        if game is None or game.pid != pid or not processes.is_alive(pid, create_time):
            return {"ok": True, "restarted": False}
        return {"ok": True, "restarted": self.restart_frozen(game, detail)}

    # -- metrics ----------------------------------------------------------------------------

    def start_metrics(self) -> threading.Thread:
        """Sample the running game in a thread of its own, so a slow query or a busy store
        never holds up the console, a restart or a stop."""
        self.metrics = threading.Thread(target=self.sample_loop, name="metrics", daemon=True)
        self.metrics.start()
        return self.metrics

    def sample_loop(self) -> None:
        """Every ``metrics.interval`` seconds while a game runs (and no stop is asked for),
        one row in ``performance_history``. A game (re)launched or attached is noticed within
        ``METRICS_POLL_SECONDS`` and primed; its first row comes one interval later. A sample
        that fails is noted in the console log (once until sampling works again) and skipped."""
        interval = self.metrics_interval
        timeout = sampling.query_timeout(interval)
        sampler: sampling.Sampler | None = None
        target: tuple[str, int | None] = (query.NONE, None)
        counter = freeze.Counter(freeze.Rule(0, 0), 0.0)  # replaced with each new game's
        server: ServerRow | None = None
        due = 0.0
        trouble: str | None = None
        while not self.finished.wait(
            METRICS_POLL_SECONDS
            if sampler is None
            else max(0.0, min(METRICS_POLL_SECONDS, due - time.monotonic()))
        ):
            with self.proc_lock:
                game = self.proc
            if game is None or self.stop_requested.is_set() or not game.running():
                sampler = None
                continue
            try:
                if sampler is None or sampler.pid != game.pid:
                    sampler = sampling.Sampler(game.pid)
                    due = time.monotonic() + interval
                    sampler.measure()  # primes the CPU measure
                    server = self.server()
                    target = (
                        server_config.query_protocol(server),
                        server_config.query_port(server),
                    )
                    counter = freeze.Counter(freeze.rule_for(server), self.game_started)
                    continue
                if time.monotonic() < due:
                    continue
                due += interval
                if due <= time.monotonic():  # fell behind (a long store wait): no catching up
                    due = time.monotonic() + interval
                sample = sampling.take(sampler, protocol=target[0], port=target[1], timeout=timeout)
                if self.stop_requested.is_set() or not game.running():
                    continue  # the game ended while we measured: not a sample of a running game
                if server is not None:
                    self.watch_freeze(game, counter, sample, server)
                self.store.record_sample(self.server_id, sample)
                if trouble is not None:
                    self.log.note("metrics: samples are recorded again")
                    trouble = None
            except Exception as exc:  # a failed sample must never end the supervisor
                text = exc.message if isinstance(exc, GsmError) else str(exc)
                message = (text.splitlines() or [type(exc).__name__])[0]
                if message != trouble:
                    self.log.note(f"metrics: a sample was not recorded: {message}")
                    trouble = message
                continue
            self.apply_retention()

    def apply_retention(self) -> None:
        """``metrics.retention_days`` (and ``metrics.rollup``), at most once an hour per store
        whichever supervisor gets there first; a failure is noted and tried an hour later.
        ``metrics.apply_retention`` runs in a child process (it needs SQLAlchemy, which this
        process does without), asked once an hour, and again at the next sample while its
        work was cut short (a backlog goes on in steps, as it did in-process)."""
        now = time.monotonic()
        if now < self.retention_due:
            return
        self.retention_due = now + RETENTION_EVERY_SECONDS
        try:
            done = run_retention(self.store.path)
        except Exception as exc:  # retention must never end the supervisor or its sampling
            message = exc.message if isinstance(exc, GsmError) else str(exc)
            self.log.note(f"metrics: retention was not applied: {message}")
            return
        if done is None:
            return
        if not done["complete"]:
            self.retention_due = 0.0
        if done["deleted"]:
            kept = f", {done['hourly_averages']} hourly averages kept" if done["rollup"] else ""
            self.log.note(
                f"metrics: retention: {done['deleted']} samples before {done['older_than']}"
                f" removed{kept}"
            )

    # -- requests ---------------------------------------------------------------------------

    def write_console(self, line: str) -> None:
        with self.proc_lock:
            proc = self.proc
        if proc is not None and not proc.console:
            raise GsmError(
                "the game's console went with the supervisor that died; "
                "restart the server to get it back"
            )
        if proc is None or not proc.running() or proc.stdin is None:
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
            if proc is not None and proc.running():
                self.stop_outcome["how"] = self.stop_game(proc, timeout, force)
        finally:
            self.stop_decided.set()
        self.finished.wait(timeout + 10)
        return {"ok": True, **self.stop_outcome, "how": self.stop_outcome.get("how", "idle")}

    def stop_game(self, proc: Game, timeout: float, force: bool) -> str:
        if not force:
            self.store.record(
                self.server_id,
                status="stopping",
                pid=proc.pid,
                started=processes.create_time(proc.pid),
            )
            if processes.resume_if_paused(proc.pid):
                self.log.note("the game was paused (stopped by a signal): continued, to stop it")
            commands, signal_name = processes.stop_plan(self.server())
            if commands and not proc.console:
                self.log.note(f"no console to write {'; '.join(commands)} to")
                commands = []
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
            if (commands or signal_name) and _waited(proc, timeout):
                return "console" if commands else "signal"
            if commands or signal_name:
                self.log.note(f"no exit after {timeout:g}s; terminating")
            else:
                self.log.note("terminating")
            proc.terminate()
            if _waited(proc, timeout):
                return "terminate"
            self.log.note(f"no exit after {timeout:g}s; killing")
        proc.kill()
        _waited(proc, 30)
        return "kill"

    def handle(self, conn: socket.socket) -> None:
        import hmac  # here, not on top: after main's without_openssl() (hmac tries _hashlib)

        with conn:
            try:
                request = json.loads(control.read_line(conn))
                if not hmac.compare_digest(str(request.get("token", "")), self.token):
                    reply: dict[str, Any] = {"ok": False, "error": "bad token"}
                elif request.get("op") == "send":
                    reply = self.send(
                        str(request["line"]),
                        request.get("wait_for"),
                        float(request.get("timeout", 10)),
                    )
                elif request.get("op") == "stop":
                    reply = self.stop(float(request.get("timeout", 30)), bool(request.get("force")))
                elif request.get("op") == "freeze":
                    reply = self.freeze_requested(
                        int(request["pid"]), float(request["create_time"]), str(request["detail"])
                    )
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


def _waited(proc: Game, timeout: float) -> bool:
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def without_openssl() -> None:
    """Keep OpenSSL out of this process (about 5 MB of a supervisor that lives for hours): it
    never speaks TLS (its queries and its control channel are plain, on 127.0.0.1) and hashes
    nothing. The query libraries import ssl and hashlib's OpenSSL binding only where they can
    (asyncio, dnspython, hmac: ``try: import ssl except ImportError``) and do without them;
    hashlib falls back to its built-in hashes."""
    for name in ("ssl", "_ssl", "_hashlib"):
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def keep_light() -> None:
    """What ``main`` does first to keep this process light: no OpenSSL, and ``minecraft``
    queries through ``services/minecraft_ping.py`` instead of mcstatus (about 6 MB: dnspython,
    importlib.metadata; ``query.use_light_minecraft_ping``)."""
    without_openssl()
    query.use_light_minecraft_ping()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m gsm_cli.supervisor SERVER_ID", file=sys.stderr)
        return int(ExitCode.USAGE)
    server_id = argv[0]
    keep_light()
    env = Environment()
    paths = resolve_paths(env.vars)
    runtime = control.files(paths, server_id)
    try:
        lock = locks.hold(runtime.lock)
    except locks.LockHeld:
        print("another supervisor already runs this server", file=sys.stderr)
        return int(ExitCode.CONFLICT)
    with lock, SupervisorStore(paths.store_file) as store:
        sup = Supervisor(store, server_id, env)
        attached = sup.attach()
        listener = socket.create_server(("127.0.0.1", 0))
        me = psutil.Process()
        sup.publish(
            control.SupervisorState(
                pid=me.pid,
                create_time=processes.create_time(me.pid) or me.create_time(),
                port=listener.getsockname()[1],
                token=sup.token,
                server_id=server_id,
                console=attached is None,
            )
        )
        threading.Thread(target=sup.serve, args=(listener,), daemon=True).start()
        if hasattr(signal, "SIGTERM"):
            signal.signal(
                signal.SIGTERM,
                lambda *_: threading.Thread(
                    target=sup.stop, args=(30.0, False), daemon=True
                ).start(),
            )
        metrics = sup.start_metrics()
        try:
            return sup.run(attached)
        finally:
            sup.drain(10)
            metrics.join(sampling.MAX_QUERY_TIMEOUT + 1)  # a sample in flight, not a hang
            listener.close()
            runtime.state.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
