"""The gsm service: one long-running process per user that does what must happen while nobody
runs gsm (``gsm service run``; installed by ``services/service_install.py``).

It holds an OS lock (``<data>/run/service.lock``), so two never run at once, and runs its
duties in rounds, one every ``interval`` seconds (30 at most). The duties are the list
``DUTIES`` below; each is called with a ``Round`` and runs:

- ``BOOT``: in the first round of the first service run after the machine started (the run
  file remembers which boot it served), and in the first round of every ``run --boot``;
- ``START``: in the first round of every service run;
- ``TICK``: in every round.

A duty that raises is logged (with its traceback, to the service log) and recorded in the run
file; the other duties and the next rounds go on. Adding a duty is one line in ``DUTIES``.

After every round the service writes its run file ``<data>/run/service.json`` (the heartbeat):
its pid, when it started, the last round's time, and each duty's last outcome. ``gsm service
status`` reads it. The service logs to ``<logs>/service.log`` (rotated at 5 MiB, 5 kept).
"""

import contextlib
import json
import logging
import logging.handlers
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gsm_cli.errors import ConflictError, GsmError
from gsm_cli.paths import Paths
from gsm_cli.services import locks, processes

MAX_INTERVAL = 30.0  # schedules must fire within 60 s of their time: a round at least every 30
LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_FILES_KEPT = 5
BOOT_TIME_TOLERANCE = 5.0  # seconds; the boot time the OS reports may drift a little
BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"
BOOT, START, TICK = "boot", "start", "tick"

log = logging.getLogger("gsm.service")


@dataclass
class Round:
    """What a duty gets: the store (opened for this round), where gsm's files are, the
    environment, when the round began, and the service's log."""

    store: Any  # gsm_cli.store.Store
    paths: Paths
    env: Mapping[str, str]
    now: datetime
    first: bool  # the service's first round
    log: logging.Logger = log
    stop: threading.Event = field(default_factory=threading.Event)  # set: the service ends

    @property
    def stopping(self) -> bool:
        """A long duty looks at this between steps, to let the service end soon."""
        return self.stop.is_set()


@dataclass(frozen=True)
class Duty:
    name: str
    run: Callable[[Round], Any]  # returns a JSON-able report (or None); may raise
    when: str = TICK  # BOOT, START or TICK


@dataclass
class Outcome:
    """One duty's result in one round."""

    name: str
    ok: bool
    report: Any = None
    error: str | None = None
    failures: list[str] = field(default_factory=list)  # parts that failed, the rest done

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "error": self.error,
            "failures": self.failures,
            "report": self.report,
        }


class PartlyFailed(Exception):
    """A duty did its work, but some of it failed (each failure already logged): it reports
    ``report`` and counts as failed."""

    def __init__(self, report: Any, failures: list[str]) -> None:
        super().__init__("; ".join(failures))
        self.report = report
        self.failures = failures


# --- the duties ----------------------------------------------------------------------------


def autostart(rnd: Round) -> list[dict[str, Any]]:
    """Start every server of this machine marked autostart that is not running, as
    `gsm server start` does (a game left running without its supervisor gets one attached).
    One failure never stops the others: each is logged, and the duty counts as failed."""
    from gsm_cli.services import lifecycle, servers

    this_device = _this_device(rnd.store)
    marked = [
        s
        for s in servers.list_all(rnd.store)
        if s.autostart and not servers.is_remote(s, this_device)
    ]
    results, failures = [], []
    for seen in lifecycle.observe_many(rnd.store, rnd.paths, marked):
        name = seen.server.name
        if rnd.stopping:
            results.append({"name": name, "action": "not started (the service stopped)"})
            continue
        if seen.supervised:
            results.append({"name": name, "action": "already running"})
            continue
        try:
            server = lifecycle.start(rnd.store, rnd.paths, seen.server.id)
        except GsmError as err:
            rnd.log.error("autostart: %s did not start: %s", name, err.message)
            failures.append(f"{name}: {err.message}")
            results.append({"name": name, "action": "failed", "error": err.message})
            continue
        action = "supervisor attached" if seen.unsupervised else "started"
        rnd.log.info("autostart: %s %s (pid %s)", name, action, server.process_id)
        results.append({"name": name, "action": action})
    if failures:
        raise PartlyFailed(results, failures)
    return results


def _this_device(store: Any) -> str:
    from gsm_cli.services import device

    with store.read() as session:
        return device.device_id(session)


def mark_interrupted_runs(rnd: Round) -> list[int]:
    """Runs left ``processing`` by a crash or a reboot become ``interrupted`` (their ids)."""
    from gsm_cli.services import schedules

    return schedules.mark_interrupted(rnd.store)


def fire_schedules(rnd: Round) -> list[dict[str, Any]]:
    """Start the chains whose time has come, each in its own process (returns at once)."""
    from gsm_cli.services import schedules

    firings = schedules.fire_due(rnd.store, paths=rnd.paths, env=rnd.env)
    return [firing.to_dict() for firing in firings]


def send_alerts(rnd: Round) -> int:
    """The alert messages due now (retries, and summaries at their window's end)."""
    from gsm_cli.services import alerts

    return alerts.deliver_pending(rnd.store)


# The service's duties, in the order each round runs them: one line per duty, such as
#     Duty("name", lambda rnd: some_service.function(rnd.store), when=TICK),
# fmt: off
DUTIES: tuple[Duty, ...] = (
    Duty("autostart", autostart, when=BOOT),
    Duty("interrupted schedules", mark_interrupted_runs, when=START),
    Duty("schedules", fire_schedules),
    Duty("alerts", send_alerts),
)
# fmt: on


# --- the run file (heartbeat) --------------------------------------------------------------


def run_file(paths: Paths) -> Path:
    return paths.data_dir / "run" / "service.json"


def lock_file(paths: Paths) -> Path:
    return paths.data_dir / "run" / "service.lock"


def log_file(paths: Paths) -> Path:
    return paths.log_dir / "service.log"


def read_state(paths: Paths) -> dict[str, Any]:
    """The run file as the last service wrote it; {} when there is none (or it is unreadable)."""
    try:
        state = json.loads(run_file(paths).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _write_state(paths: Paths, state: dict[str, Any]) -> None:
    path = run_file(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=1)
    os.replace(tmp, path)


def current_boot() -> str | float:
    """What tells this boot from the next: Linux's boot id (a UUID per boot, which a clock
    set after boot does not change); elsewhere the boot time."""
    try:
        return Path(BOOT_ID_FILE).read_text(encoding="ascii").strip()
    except OSError:
        import psutil

        return float(psutil.boot_time())


def _served_this_boot(state: dict[str, Any]) -> bool:
    served, now = state.get("boot_served"), current_boot()
    if isinstance(now, str) or isinstance(served, str):
        return served == now
    return isinstance(served, int | float) and abs(served - now) < BOOT_TIME_TOLERANCE


def is_running(paths: Paths) -> bool:
    """Does a service hold the lock now? Asked of the OS: take the lock and let it go."""
    try:
        held = locks.hold(lock_file(paths))
    except locks.LockHeld:
        return True
    held.close()
    return False


def running_pid(paths: Paths) -> int | None:
    """The pid of the service that runs now (from its run file, checked against the OS)."""
    state = read_state(paths)
    pid, started = state.get("pid"), state.get("create_time")
    if isinstance(pid, int) and processes.is_alive(pid, started):
        return pid
    return None


# --- the loop ------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@contextlib.contextmanager
def _logging_to_file(paths: Paths) -> Iterator[None]:
    path = log_file(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_FILES_KEPT, encoding="utf-8"
    )
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    log.addHandler(handler)
    old_level = log.level
    log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)
        handler.close()


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT (and SIGBREAK on Windows) end the loop after the duty at hand."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = [n for n in ("SIGTERM", "SIGINT", "SIGBREAK", "SIGHUP") if hasattr(signal, n)]
    old = {}

    def handle(signum: int, _frame: Any) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    for name in names:
        number = getattr(signal, name)
        old[number] = signal.signal(number, handle)
    try:
        yield
    finally:
        for number, handler in old.items():
            signal.signal(number, handler)


@dataclass
class RoundResult:
    at: str
    outcomes: list[Outcome]
    store_opened: bool = True

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "duties": [o.to_dict() for o in self.outcomes]}


def _run_duty(duty: Duty, rnd: Round) -> Outcome:
    try:
        report = duty.run(rnd)
    except PartlyFailed as part:
        return Outcome(duty.name, False, part.report, str(part), part.failures)
    except GsmError as err:
        log.error("duty %s failed: %s", duty.name, err.message)
        return Outcome(duty.name, False, error=err.message)
    except Exception as exc:  # one broken duty never stops the others, nor the loop
        log.exception("duty %s failed", duty.name)
        return Outcome(duty.name, False, error=f"{type(exc).__name__}: {exc}")
    return Outcome(duty.name, True, report)


def run_round(
    paths: Paths,
    env: Mapping[str, str],
    duties: tuple[Duty, ...],
    *,
    first: bool,
    boot_due: bool,
    state: dict[str, Any],
    stop: threading.Event | None = None,
) -> RoundResult:
    """One round: open the store, run the duties due in this round, each on its own. The
    boot duties run with ``boot_due``; once they ran, the run file says this boot is served
    (``result.store_opened``: False when the store could not be opened, so they did not)."""
    from gsm_cli.store import Store

    now = datetime.now(UTC)
    due = [
        d
        for d in duties
        if d.when == TICK or (first and d.when == START) or (boot_due and d.when == BOOT)
    ]
    outcomes: list[Outcome] = []
    try:
        store = Store.open(paths.store_file)
    except Exception as exc:  # an unusable store: every duty due fails, the loop goes on
        reason = exc.message if isinstance(exc, GsmError) else f"{type(exc).__name__}: {exc}"
        log.error("the store cannot be opened: %s", reason)
        outcomes = [Outcome(d.name, False, error=reason) for d in due]
        return RoundResult(_iso(now), outcomes, store_opened=False)
    else:
        with store:
            rnd = Round(store=store, paths=paths, env=env, now=now, first=first)
            rnd.stop = stop or rnd.stop
            outcomes = [_run_duty(duty, rnd) for duty in due]
        if boot_due:
            state["boot_served"] = current_boot()
    return RoundResult(_iso(now), outcomes)


def run(
    paths: Paths,
    env: Mapping[str, str],
    *,
    once: bool = False,
    boot: bool = False,
    interval: float = MAX_INTERVAL,
    duties: tuple[Duty, ...] | None = None,
    stop: threading.Event | None = None,
    on_round: Callable[[RoundResult], None] | None = None,
) -> list[RoundResult]:
    """The service: take the lock (or raise ConflictError ``service_running``), then run
    rounds until ``stop`` is set (by SIGTERM or SIGINT, or by the caller), or one round with
    ``once``. Returns the last round run (a list of one)."""
    duties = DUTIES if duties is None else duties
    interval = min(max(interval, 0.01), MAX_INTERVAL)
    stop = stop or threading.Event()
    try:
        held = locks.hold(lock_file(paths))
    except locks.LockHeld:
        pid = running_pid(paths)
        raise ConflictError(
            "the gsm service is already running" + (f" (pid {pid})" if pid else ""),
            hint="gsm service status",
            code="service_running",
        ) from None
    with held, _logging_to_file(paths), _stop_on_signals(stop):
        me = os.getpid()
        state = read_state(paths)
        state = {
            "pid": me,
            "create_time": processes.create_time(me),
            "started_at": _iso(datetime.now(UTC)),
            "stopped_at": None,
            "once": once,
            "interval_seconds": interval,
            "boot_served": state.get("boot_served"),
            "last_tick": None,
            "rounds": 0,
            "duties": state.get("duties") or {},
        }
        log.info("started (pid %d%s%s)", me, ", --boot" if boot else "", ", --once" if once else "")
        last: list[RoundResult] = []
        first = True
        # The boot duties: in the first round, and again in the next rounds of this run while
        # the store could not be opened for them.
        boot_due = boot or not _served_this_boot(state)
        try:
            while True:
                began = time.monotonic()
                result = run_round(
                    paths, env, duties, first=first, boot_due=boot_due, state=state, stop=stop
                )
                first = False
                boot_due = boot_due and not result.store_opened
                state["last_tick"] = result.at
                state["rounds"] += 1
                for outcome in result.outcomes:
                    state["duties"][outcome.name] = {
                        "at": result.at,
                        "ok": outcome.ok,
                        "error": outcome.error,
                    }
                _write_state(paths, state)
                last = [result]
                if on_round is not None:
                    on_round(result)
                if once or stop.wait(max(0.0, interval - (time.monotonic() - began))):
                    break
        finally:
            state["stopped_at"] = _iso(datetime.now(UTC))
            _write_state(paths, state)
            log.info("stopped after %d round(s)", state["rounds"])
    return last
