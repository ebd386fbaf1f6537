"""Schedules: a cron expression (in this machine's local time zone) and an ordered chain of
tasks for one server (``schedules``), and each run of the chain (``schedule_runs``).

Firing (``fire_due``, called every 30 seconds or less by `gsm service run`, or once by
`gsm schedule tick`):

- A schedule is due when a time of its cron expression has come since ``last_due_at`` (the
  last time it fired or was skipped; its creation at first). Only the latest such time
  counts: firings missed while nothing ran are not run one after the other.
- Found more than ``CATCH_UP`` (10 minutes) after its time, a firing is recorded ``skipped``,
  not run late: a restart meant for 04:00 does not happen at 09:00 because the machine slept.
- Each firing is recorded once: ``schedule_runs`` is unique on ``(schedule_id, due_at)`` and
  the insert does nothing when the row exists, and the whole pass runs under an OS lock
  (``<data>/run/scheduler.lock``), so two schedulers never run one firing twice.
- Each chain runs in its own detached process, ``python -m gsm_cli.schedule_runner RUN_ID``
  (``launch``); ``fire_due`` returns at once, so a 10-minute countdown blocks nothing.
- A run left ``processing`` whose runner process is gone (a crash, a reboot; pid and create
  time, as for supervisors) is marked ``interrupted`` (``mark_interrupted``, at the start of
  every pass); a run of a schedule whose previous run still truly runs is ``skipped``.

Cron times are computed by ``cronsim`` in the local time zone (``tzlocal``), as Debian's cron
does across daylight-saving changes: a job at a fixed time that falls in the hour skipped in
spring runs when the clock jumps (02:30 -> 03:00); one in the hour repeated in autumn runs
once; jobs every hour or more often follow real time.

A chain (``execute``): with ``when_empty``, first wait for zero players (``players.when_empty``);
then each task in order, after its offset. A task that fails stops the chain, unless it is
marked ``continue-on-failure``; the run is ``failed`` when any task failed, and a failed run
records a ``schedule-failed`` server event (``lifecycle.record``). Chains of one server run one
at a time (``<data>/run/SERVER_ID.chain.lock``).
"""

import contextlib
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gsm_cli.errors import ConflictError, GsmError, InvalidInputError, NotFoundError
from gsm_cli.paths import Paths, resolve_paths
from gsm_cli.services import games, lifecycle, locks, players, processes, servers
from gsm_cli.store import Store
from gsm_cli.store.models import LocalServer, Schedule, ScheduleRun
from gsm_cli.timeutil import iso_utc

ACTIONS = ("say", "wait", "countdown", "backup", "restart", "stop", "start", "update", "command")
NEEDS_ARGUMENT = ("say", "wait", "countdown", "command")
SAYS = ("say", "countdown")  # tasks that need the game's say command
CONTINUE = "continue-on-failure"
# A firing found later than this after its time is recorded skipped, not run.
CATCH_UP = timedelta(minutes=10)
# A run recorded processing whose runner never wrote its identity for this long is gone.
NO_RUNNER_GRACE = timedelta(minutes=2)
MAX_SECONDS = 86400  # the longest wait, countdown, offset or --max-wait: a day
# How long a chain waits for another chain of the same server to end before it fails.
CHAIN_LOCK_WAIT_SECONDS = 4 * 3600
SQL_TIME = "%Y-%m-%d %H:%M:%S"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# What a countdown says by default, by the weightiest task after it (in this order).
COUNTDOWN_LABELS = {
    "restart": "Server restart",
    "stop": "Server shutdown",
    "update": "Server update",
    "backup": "Server backup",
    "start": "Server start",
}
RUN_STATUSES = ("processing", "succeeded", "failed", "interrupted", "skipped")

Report = Callable[[str], None]


def _quiet(text: str) -> None:
    return None


# --- durations and tasks ----------------------------------------------------------------------


def parse_duration(text: str, what: str = "a duration") -> int:
    """``90s``, ``10m``, ``2h``, ``1d`` or ``1m30s`` -> seconds (0 to a day); else exit 4."""
    raw = text.strip().lower()
    parts = re.findall(r"\d+[smhd]", raw)
    if not raw or "".join(parts) != raw:
        raise InvalidInputError(
            f"invalid {what} {text!r}: expected a duration such as 30s, 10m, 1h or 1m30s",
            code="invalid_duration",
        )
    total = 0
    for part in parts:
        match = _DURATION.match(part)
        assert match is not None
        total += int(match.group(1)) * _UNIT[match.group(2)]
    if total > MAX_SECONDS:
        raise InvalidInputError(
            f"invalid {what} {text!r}: at most a day (24h)", code="invalid_duration"
        )
    return total


def duration_text(seconds: int) -> str:
    """Seconds as a task writes them: 10m, 1h30m, 45s, 0s."""
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out += f"{count}{unit}"
    return out or "0s"


@dataclass(frozen=True)
class Task:
    """One step of a chain: an action, its argument, an offset (seconds to wait after the
    previous task before this one starts) and whether a failure lets the chain go on."""

    action: str
    argument: str | None = None
    offset_seconds: int = 0
    continue_on_failure: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "argument": self.argument,
            "offset_seconds": self.offset_seconds,
            "continue_on_failure": self.continue_on_failure,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Task":
        return cls(
            action=str(data["action"]),
            argument=data.get("argument"),
            offset_seconds=int(data.get("offset_seconds") or 0),
            continue_on_failure=bool(data.get("continue_on_failure")),
        )

    @property
    def text(self) -> str:
        """The task as `--task` takes it: ``+30s continue-on-failure backup``."""
        words = []
        if self.offset_seconds:
            words.append(f"+{duration_text(self.offset_seconds)}")
        if self.continue_on_failure:
            words.append(CONTINUE)
        words.append(self.action)
        if self.argument is not None:
            words.append(self.argument)
        return " ".join(words)


def parse_task(text: str) -> Task:
    """A `--task` value: ``[+OFFSET] [continue-on-failure] ACTION [ARGUMENT]``.

    ``say TEXT``, ``command LINE``, ``wait DURATION``, ``countdown DURATION [TEXT]`` (TEXT may
    hold ``{time}``), ``backup``, ``restart``, ``stop``, ``start``, ``update``."""
    rest = text.strip()
    offset, keep_going = 0, False
    while True:
        word, _, after = rest.partition(" ")
        if word.startswith("+") and len(word) > 1:
            offset = parse_duration(word[1:], f"task offset in {text!r}")
        elif word.lower() == CONTINUE:
            keep_going = True
        else:
            break
        rest = after.strip()
    action, _, argument = rest.partition(" ")
    action, argument = action.lower(), argument.strip()
    if action not in ACTIONS:
        raise InvalidInputError(
            f"invalid task {text!r}: {action or 'no action'!r} is not a task",
            hint=f"a task is one of: {', '.join(ACTIONS)}; before it, +OFFSET (+30s) and "
            f"{CONTINUE} may be given",
            code="invalid_task",
        )
    if action in NEEDS_ARGUMENT and not argument:
        what = {"say": "TEXT", "command": "LINE"}.get(action, "DURATION")
        raise InvalidInputError(
            f"invalid task {text!r}: {action} needs {what}", code="invalid_task"
        )
    if action not in NEEDS_ARGUMENT and argument:
        raise InvalidInputError(
            f"invalid task {text!r}: {action} takes no argument", code="invalid_task"
        )
    if any(ch in argument for ch in "\r\n"):
        raise InvalidInputError(
            f"invalid task {text!r}: a task must be one line", code="invalid_task"
        )
    if action == "wait":
        argument = duration_text(parse_duration(argument, f"wait in {text!r}"))
    elif action == "countdown":
        length, _, message = argument.partition(" ")
        seconds = parse_duration(length, f"countdown in {text!r}")
        if seconds == 0:
            raise InvalidInputError(
                f"invalid task {text!r}: a countdown must last more than 0s", code="invalid_task"
            )
        argument = " ".join(filter(None, (duration_text(seconds), message.strip())))
    return Task(action, argument or None, offset, keep_going)


def _what_for(tasks: list[Task]) -> str:
    """What the players are warned of: the weightiest task of the chain ahead (a restart
    over the backup before it)."""
    actions = {task.action for task in tasks}
    found = next((action for action in COUNTDOWN_LABELS if action in actions), None)
    return COUNTDOWN_LABELS[found] if found else "Scheduled maintenance"


def _countdown_parts(task: Task, following: list[Task]) -> tuple[int, str]:
    length, _, message = (task.argument or "").partition(" ")
    return parse_duration(length), message or f"{_what_for(following)} in {{time}}"


# --- cron -------------------------------------------------------------------------------------


def local_zone() -> tzinfo:
    """This machine's time zone (with its daylight-saving rules): ``TZ``, else the system's."""
    import tzlocal

    return tzlocal.get_localzone()


def check_cron(expression: str) -> str:
    """A five-field cron expression (minute hour day month weekday), spaces normalised; else
    exit 4 ``invalid_cron``. Names (MON, JAN), ranges, lists, steps and L are cronsim's."""
    from cronsim import CronSim, CronSimError

    fields = expression.split()
    if len(fields) != 5:
        raise InvalidInputError(
            f"invalid cron expression {expression!r}: expected 5 fields "
            "(minute hour day-of-month month day-of-week), such as '0 4 * * *'",
            code="invalid_cron",
        )
    normal = " ".join(fields)
    try:
        CronSim(normal, datetime.now(UTC))
    except CronSimError as exc:
        raise InvalidInputError(
            f"invalid cron expression {expression!r}: {exc}", code="invalid_cron"
        ) from None
    return normal


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        moment = datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("a naive datetime: give an aware one (UTC or any zone)")
    return moment.astimezone(UTC).replace(microsecond=0)


def _from_sql(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text[:19], SQL_TIME).replace(tzinfo=UTC)


def _to_sql(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(SQL_TIME)


def next_due(cron: str, after: datetime, zone: tzinfo) -> datetime | None:
    """The first time of ``cron`` strictly after ``after``, in UTC (None: never again)."""
    from cronsim import CronSim

    try:
        return next(CronSim(cron, after.astimezone(zone))).astimezone(UTC)
    except StopIteration:
        return None


def latest_due(cron: str, until: datetime, zone: tzinfo) -> datetime | None:
    """The last time of ``cron`` at or before ``until``, in UTC."""
    from cronsim import CronSim

    try:
        found = next(CronSim(cron, (until + timedelta(seconds=1)).astimezone(zone), reverse=True))
    except StopIteration:
        return None
    return found.astimezone(UTC)


# --- records ----------------------------------------------------------------------------------


def _find(session: Any, name: str) -> Schedule:
    found = session.scalars(
        select(Schedule).where((func.lower(Schedule.name) == name.lower()) | (Schedule.id == name))
    ).first()
    if found is None:
        raise NotFoundError(
            f"no schedule named {name!r}",
            hint="run `gsm schedule list`",
            code="schedule_not_found",
        )
    return found


def _server_names(session: Any) -> dict[str, str]:
    return dict(session.execute(select(LocalServer.id, LocalServer.name)).all())


def _last_runs(session: Any, ids: list[str]) -> dict[str, ScheduleRun]:
    if not ids:
        return {}
    newest = (
        select(func.max(ScheduleRun.id))
        .where(ScheduleRun.schedule_id.in_(ids))
        .group_by(ScheduleRun.schedule_id)
    )
    rows = session.scalars(select(ScheduleRun).where(ScheduleRun.id.in_(newest)))
    return {row.schedule_id: row for row in rows}


def to_dict(
    schedule: Schedule,
    server_name: str | None,
    last: ScheduleRun | None,
    *,
    zone: tzinfo | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    zone = zone or local_zone()
    after = max(_utc(now), _from_sql(schedule.last_due_at) or _utc(now))
    upcoming = next_due(schedule.cron, after, zone) if schedule.enabled else None
    return {
        "id": schedule.id,
        "name": schedule.name,
        "server_id": schedule.server_id,
        "server_name": server_name,
        "cron": schedule.cron,
        "time_zone": str(zone),
        "tasks": [Task.from_dict(t).text for t in schedule.tasks],
        "enabled": bool(schedule.enabled),
        "only_when_running": bool(schedule.only_when_running),
        "when_empty": bool(schedule.when_empty),
        "max_wait_seconds": schedule.max_wait_seconds,
        "next_due_at": iso_utc(_to_sql(upcoming)) if upcoming else None,
        "last_due_at": iso_utc(schedule.last_due_at),
        "last_run_status": last.status if last else None,
        "last_run_at": iso_utc(last.started_at) if last else None,
        "created_at": iso_utc(schedule.created_at),
        "updated_at": iso_utc(schedule.updated_at),
    }


def run_to_dict(run: ScheduleRun, schedule_name: str | None) -> dict[str, Any]:
    return {
        "id": run.id,
        "schedule_id": run.schedule_id,
        "schedule_name": schedule_name,
        "trigger": run.trigger,
        "due_at": iso_utc(run.due_at),
        "started_at": iso_utc(run.started_at),
        "finished_at": iso_utc(run.finished_at),
        "status": run.status,
        "message": run.message,
        "tasks": [
            {
                **outcome,
                "started_at": iso_utc(outcome.get("started_at")),
                "finished_at": iso_utc(outcome.get("finished_at")),
            }
            for outcome in run.tasks or []
        ],
    }


def _check_says(server: LocalServer, tasks: list[Task]) -> None:
    game = games.get_game(server.game_type)
    if game.say_command:
        return
    saying = [t.action for t in tasks if t.action in SAYS]
    if saying:
        raise InvalidInputError(
            f"the game of server {server.name} ({game.name}) has no say command in gsm's "
            f"catalog: a {saying[0]} task cannot reach its players",
            hint="use `command LINE` with the game's own console command, or `wait DURATION`",
            code="no_say_command",
        )


def add(
    store: Store,
    *,
    name: str,
    server: str,
    cron: str,
    tasks: list[str],
    only_when_running: bool = False,
    when_empty: bool = False,
    max_wait_seconds: int | None = None,
    now: datetime | None = None,
    zone: tzinfo | None = None,
) -> dict[str, Any]:
    """Record a new schedule; it fires at the first time of ``cron`` after now."""
    if not NAME_PATTERN.match(name):
        raise InvalidInputError(
            f"invalid schedule name {name!r}",
            hint="use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            code="invalid_name",
        )
    cron = check_cron(cron)
    if not tasks:
        raise InvalidInputError(
            "a schedule needs at least one --task",
            hint='such as --task "countdown 10m" --task backup --task restart',
            code="invalid_task",
        )
    chain = [parse_task(text) for text in tasks]
    if max_wait_seconds is not None and not when_empty:
        raise InvalidInputError("--max-wait goes with --when-empty", code="invalid_input")
    if when_empty and max_wait_seconds is None:
        max_wait_seconds = players.DEFAULT_MAX_WAIT_SECONDS
    stamp = _to_sql(_utc(now))
    with store.write() as session:
        found = servers.find_local(session, server)
        _check_says(found, chain)
        if when_empty:
            players.check_countable(found)
        clash = session.scalars(
            select(Schedule).where(func.lower(Schedule.name) == name.lower())
        ).first()
        if clash is not None:
            raise ConflictError(
                f"a schedule named {clash.name!r} already exists", code="name_taken"
            )
        schedule = Schedule(
            id=str(uuid.uuid4()),
            name=name,
            server_id=found.id,
            cron=cron,
            tasks=[task.to_dict() for task in chain],
            enabled=True,
            only_when_running=only_when_running,
            when_empty=when_empty,
            max_wait_seconds=max_wait_seconds if when_empty else None,
            last_due_at=stamp,
            created_at=stamp,
            updated_at=stamp,
        )
        session.add(schedule)
        session.flush()
        return to_dict(schedule, found.name, None, zone=zone, now=now)


def list_all(
    store: Store, *, now: datetime | None = None, zone: tzinfo | None = None
) -> list[dict[str, Any]]:
    zone = zone or local_zone()
    with store.read() as session:
        found = list(session.scalars(select(Schedule).order_by(func.lower(Schedule.name))))
        names = _server_names(session)
        last = _last_runs(session, [s.id for s in found])
    return [to_dict(s, names.get(s.server_id), last.get(s.id), zone=zone, now=now) for s in found]


def show(
    store: Store, name: str, *, now: datetime | None = None, zone: tzinfo | None = None
) -> dict[str, Any]:
    with store.read() as session:
        schedule = _find(session, name)
        server = session.get(LocalServer, schedule.server_id)
        last = _last_runs(session, [schedule.id]).get(schedule.id)
    return to_dict(schedule, server.name if server else None, last, zone=zone, now=now)


def remove(store: Store, name: str) -> dict[str, Any]:
    """Delete a schedule and its history. A chain running now finishes (its run row goes)."""
    with store.write() as session:
        schedule = _find(session, name)
        runs = session.scalar(
            select(func.count(ScheduleRun.id)).where(ScheduleRun.schedule_id == schedule.id)
        )
        session.delete(schedule)
    return {"name": schedule.name, "id": schedule.id, "runs_deleted": runs}


def set_enabled(
    store: Store, name: str, enabled: bool, *, now: datetime | None = None
) -> dict[str, Any]:
    """Enable or disable. Enabling starts counting from now: times missed while it was
    disabled are not caught up."""
    stamp = _to_sql(_utc(now))
    with store.write() as session:
        schedule = _find(session, name)
        if bool(schedule.enabled) != enabled:
            schedule.enabled = enabled
            schedule.updated_at = stamp
            if enabled:
                schedule.last_due_at = stamp
    return show(store, name, now=now)


def history(store: Store, name: str | None = None, *, limit: int = 20) -> list[dict[str, Any]]:
    """Runs, newest first (of one schedule, or of all)."""
    with store.read() as session:
        query = select(ScheduleRun, Schedule.name).join(
            Schedule, Schedule.id == ScheduleRun.schedule_id
        )
        if name is not None:
            query = query.where(ScheduleRun.schedule_id == _find(session, name).id)
        rows = session.execute(query.order_by(ScheduleRun.id.desc()).limit(limit)).all()
    return [run_to_dict(run, schedule_name) for run, schedule_name in rows]


def get_run(store: Store, run_id: int) -> dict[str, Any]:
    with store.read() as session:
        run = session.get(ScheduleRun, run_id)
        if run is None:
            raise NotFoundError(f"no schedule run {run_id}", code="run_not_found")
        schedule = session.get(Schedule, run.schedule_id)
        return run_to_dict(run, schedule.name if schedule else None)


# --- interrupted runs -------------------------------------------------------------------------


def _outcomes_interrupted(outcomes: list[dict[str, Any]] | None, stamp: str) -> list[Any]:
    result = []
    for outcome in outcomes or []:
        if outcome.get("status") == "running":
            outcome = {**outcome, "status": "interrupted", "finished_at": stamp}
        elif outcome.get("status") == "pending":
            outcome = {**outcome, "status": "not run"}
        result.append(outcome)
    return result


def mark_interrupted(store: Store, *, now: datetime | None = None) -> list[int]:
    """Mark ``interrupted`` every run left ``processing`` whose runner process is gone (by pid
    and create time), or that never got a runner within ``NO_RUNNER_GRACE``; each records a
    ``schedule-failed`` event on its server. Returns their ids."""
    current = _utc(now)
    stamp = _to_sql(current)
    with store.read() as session:
        candidates = list(
            session.execute(
                select(
                    ScheduleRun.id,
                    ScheduleRun.runner_pid,
                    ScheduleRun.runner_create_time,
                    ScheduleRun.started_at,
                ).where(ScheduleRun.status == "processing")
            )
        )
    gone = []
    for run_id, pid, created, started in candidates:
        if pid is not None:
            if not processes.is_alive(pid, created):
                gone.append(run_id)
        elif current - (_from_sql(started) or current) > NO_RUNNER_GRACE:
            gone.append(run_id)
    if not gone or store.read_only:
        return []
    events: list[tuple[str, str]] = []
    marked = []
    with store.write() as session:
        for run_id in gone:
            run = session.get(ScheduleRun, run_id)
            if run is None or run.status != "processing":
                continue  # it ended meanwhile
            if run.runner_pid is not None and processes.is_alive(
                run.runner_pid, run.runner_create_time
            ):
                continue  # its runner wrote itself in meanwhile
            run.status = "interrupted"
            run.finished_at = stamp
            run.tasks = _outcomes_interrupted(run.tasks, stamp)
            run.message = (
                "its runner process ended before the chain did (a crash, a kill or a reboot)"
            )
            marked.append(run_id)
            schedule = session.get(Schedule, run.schedule_id)
            if schedule is not None:
                events.append((schedule.server_id, f"schedule {schedule.name}: run {run_id} "
                               "was interrupted (its runner process ended)"))  # fmt: skip
    for server_id, detail in events:
        lifecycle.record(store, server_id, event="schedule-failed", detail=detail)
    return marked


# --- firing -----------------------------------------------------------------------------------


@dataclass
class Firing:
    """One due firing found by ``fire_due``: run (``processing``, its chain started in its own
    process) or recorded ``skipped`` with the reason."""

    run_id: int
    schedule_id: str
    schedule_name: str
    server_name: str | None
    due_at: str  # ISO 8601 UTC
    status: str
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "schedule_id": self.schedule_id,
            "schedule_name": self.schedule_name,
            "server_name": self.server_name,
            "due_at": self.due_at,
            "status": self.status,
            "message": self.message,
        }


@dataclass
class _Plan:
    schedule: Schedule
    server_name: str | None
    due: datetime
    status: str
    message: str | None = None


def _missed_count(cron: str, first: datetime, latest: datetime, zone: tzinfo) -> int:
    """Times of ``cron`` from ``first`` to before ``latest`` (at most 1000 are counted)."""
    count, moment = 0, first
    while moment < latest and count < 1000:
        count += 1
        found = next_due(cron, moment, zone)
        if found is None:
            break
        moment = found
    return count


def _plans(store: Store, paths: Paths, now: datetime, zone: tzinfo) -> list[_Plan]:
    with store.read() as session:
        found = list(session.scalars(select(Schedule).where(Schedule.enabled.is_(True))))
        servers_by_id = {s.id: s for s in session.scalars(select(LocalServer))}
        busy = set(
            session.scalars(
                select(ScheduleRun.schedule_id).where(ScheduleRun.status == "processing")
            )
        )
    plans = []
    for schedule in found:
        since = _from_sql(schedule.last_due_at) or _from_sql(schedule.created_at) or now
        first = next_due(schedule.cron, since, zone)
        if first is None or first > now:
            continue
        latest = latest_due(schedule.cron, now, zone) or first
        server = servers_by_id.get(schedule.server_id)
        plan = _Plan(schedule, server.name if server else None, latest, "processing")
        missed = _missed_count(schedule.cron, first, latest, zone)
        late = now - latest
        if late > CATCH_UP:
            plan.status = "skipped"
            plan.message = (
                f"found {_late_text(late)} after its time (the machine was off or asleep, or "
                f"no scheduler ran); firings more than {_late_text(CATCH_UP)} late are not run"
            )
        elif schedule.id in busy:
            plan.status = "skipped"
            plan.message = "its previous run is still running"
        elif schedule.only_when_running and (server is None or not lifecycle.is_up(paths, server)):
            plan.status = "skipped"
            plan.message = "the server is not running (--only-when-running)"
        if missed:
            note = f"{missed}{'+' if missed >= 1000 else ''} earlier time(s) missed, not run"
            plan.message = f"{plan.message}; {note}" if plan.message else note
        plans.append(plan)
    return plans


def _late_text(delta: timedelta) -> str:
    return players.duration_text(delta.total_seconds())


def _claim(session: Any, schedule_id: str, due_at: str, status: str, **values: Any) -> int | None:
    """Insert the run of this firing; None when it exists (another scheduler recorded it)."""
    statement = (
        sqlite_insert(ScheduleRun)
        .values(schedule_id=schedule_id, trigger="cron", due_at=due_at, status=status, **values)
        .on_conflict_do_nothing(index_elements=["schedule_id", "due_at"])
    )
    result = session.execute(statement)
    if not result.rowcount:
        return None
    return session.scalar(
        select(ScheduleRun.id).where(
            ScheduleRun.schedule_id == schedule_id, ScheduleRun.due_at == due_at
        )
    )


def _record_firings(store: Store, plans: list[_Plan], now: datetime) -> list[Firing]:
    stamp = _to_sql(now)
    firings = []
    with store.write() as session:
        for plan in plans:
            schedule = session.get(Schedule, plan.schedule.id)
            if schedule is None or not schedule.enabled:
                continue  # removed or disabled meanwhile
            due = _to_sql(plan.due)
            if schedule.last_due_at and schedule.last_due_at >= due:
                continue  # another scheduler handled it
            done = {"finished_at": stamp} if plan.status == "skipped" else {}
            run_id = _claim(
                session, schedule.id, due, plan.status, started_at=stamp, message=plan.message,
                tasks=_pending(schedule.tasks), **done,
            )  # fmt: skip
            schedule.last_due_at = due
            if run_id is not None:
                firings.append(
                    Firing(
                        run_id,
                        schedule.id,
                        schedule.name,
                        plan.server_name,
                        iso_utc(due) or due,
                        plan.status,
                        plan.message,
                    )
                )
    return firings


def _pending(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**Task.from_dict(t).to_dict(), "status": "pending", "started_at": None,
         "finished_at": None, "message": None}
        for t in tasks
    ]  # fmt: skip


def runner_log(paths: Paths) -> Path:
    return paths.log_dir / "schedules" / "runner.log"


def launch_runner(store: Store, paths: Paths, run_id: int, env: Mapping[str, str]) -> None:
    """Start ``python -m gsm_cli.schedule_runner RUN_ID``, detached (it outlives the caller),
    and write its pid and create time on the run at once."""
    log = runner_log(paths)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "gsm_cli.schedule_runner", str(run_id)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=dict(env),
            **processes.detached_popen_kwargs(),
        )
    created = processes.create_time(child.pid)
    with store.write() as session:
        run = session.get(ScheduleRun, run_id)
        if run is not None and run.status == "processing" and run.runner_pid is None:
            run.runner_pid, run.runner_create_time = child.pid, created


def fire_due(
    store: Store,
    now: datetime | None = None,
    *,
    zone: tzinfo | None = None,
    paths: Paths | None = None,
    env: Mapping[str, str] | None = None,
    launch: Callable[[int], None] | None = None,
) -> list[Firing]:
    """Start every chain whose time has come (see the module's notes), each in its own
    process, and return at once with what was fired or skipped. ``now`` (aware) and ``zone``
    are for tests; ``launch(run_id)`` replaces starting the runner process."""
    current = _utc(now)
    zone = zone or local_zone()
    env = os.environ if env is None else env
    paths = paths or resolve_paths(env)
    if store.read_only:
        return []
    mark_interrupted(store, now=current)
    try:
        lock = locks.hold(paths.data_dir / "run" / "scheduler.lock")
    except locks.LockHeld:
        return []  # another scheduler is doing this very pass
    with lock:
        firings = _record_firings(store, _plans(store, paths, current, zone), current)
    for firing in firings:
        if firing.status != "processing":
            continue
        try:
            if launch is not None:
                launch(firing.run_id)
            else:
                launch_runner(store, paths, firing.run_id, env)
        except OSError as exc:
            _finish(store, firing.run_id, "failed", f"the runner could not be started: {exc}")
            firing.status, firing.message = "failed", f"the runner could not be started: {exc}"
    return firings


# --- running a chain --------------------------------------------------------------------------


def start_manual(store: Store, name: str, *, now: datetime | None = None) -> int:
    """Record a run of a schedule now (`gsm schedule run`), with this process as its runner.
    Refused while another run of it is processing (its runner alive)."""
    mark_interrupted(store, now=now)
    stamp = _to_sql(_utc(now))
    with store.write() as session:
        schedule = _find(session, name)
        running = session.scalar(
            select(ScheduleRun.id).where(
                ScheduleRun.schedule_id == schedule.id, ScheduleRun.status == "processing"
            )
        )
        if running is not None:
            raise ConflictError(
                f"schedule {schedule.name} is running now (run {running})",
                hint="wait for it to end: gsm schedule history " + schedule.name,
                code="schedule_running",
            )
        run = ScheduleRun(
            schedule_id=schedule.id,
            trigger="manual",
            due_at=None,
            started_at=stamp,
            status="processing",
            runner_pid=os.getpid(),
            runner_create_time=processes.create_time(os.getpid()),
            tasks=_pending(schedule.tasks),
        )
        session.add(run)
        session.flush()
        return run.id


def _now_sql() -> str:
    return _to_sql(_utc(None))


def _finish(store: Store, run_id: int, status: str, message: str | None) -> None:
    with store.write() as session:
        run = session.get(ScheduleRun, run_id)
        if run is not None:
            run.status, run.message, run.finished_at = status, message, _now_sql()
            run.tasks = _outcomes_interrupted(run.tasks, run.finished_at)


@dataclass
class _Chain:
    """A run in progress: its outcomes, written to the store at each change."""

    store: Store
    run_id: int
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None  # what the --when-empty wait came to, kept in the run's message

    def save(self, **values: Any) -> None:
        with self.store.write() as session:
            run = session.get(ScheduleRun, self.run_id)
            if run is None:
                raise _Removed()
            run.tasks = [dict(o) for o in self.outcomes]
            for key, value in values.items():
                setattr(run, key, value)


class _Removed(Exception):
    """The schedule (and so its run) was removed while the chain ran."""


class Stopped(BaseException):
    """The runner was asked to stop (SIGTERM, Ctrl-C): the run is recorded interrupted."""


@contextlib.contextmanager
def _chain_lock(paths: Paths, server_id: str, report: Report) -> Iterator[IO[bytes]]:
    path = paths.data_dir / "run" / f"{server_id}.chain.lock"
    deadline = time.monotonic() + CHAIN_LOCK_WAIT_SECONDS
    said = False
    while True:
        try:
            held = locks.hold(path)
            break
        except locks.LockHeld:
            if time.monotonic() > deadline:
                raise ConflictError(
                    "another schedule's chain of this server ran for hours: gave up waiting",
                    code="schedule_running",
                ) from None
            if not said:
                report("waiting for another schedule's chain of this server to end")
                said = True
            time.sleep(1.0)
    with held:
        yield held


def _stop_timeout(store: Store, env: Mapping[str, str]) -> float:
    from gsm_cli.services import settings

    return float(settings.effective_value(store, "server.stop_timeout", env))


def _do(
    task: Task,
    following: list[Task],
    *,
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    server: LocalServer,
    report: Report,
) -> tuple[str, str | None]:
    """Run one task; returns (status, message). Raises GsmError when it fails."""
    from gsm_cli.services import backups, steamcmd

    action, argument = task.action, task.argument or ""
    if action == "wait":
        time.sleep(parse_duration(argument))
        return "succeeded", None
    if action in ("say", "countdown"):
        if not lifecycle.game_alive(servers.get(store, server.id)):
            if action == "countdown":
                time.sleep(_countdown_parts(task, following)[0])
            return "skipped", "the server is not running: nobody to tell"
        if action == "say":
            line = players.say(store, paths, server, argument)
            return "succeeded", f"sent: {line}"
        seconds, message = _countdown_parts(task, following)
        sent = players.countdown(store, paths, server, seconds, message, report=report)
        return "succeeded", f"{len(sent)} warning(s) sent"
    if action == "command":
        lifecycle.send(store, paths, server.id, argument)
        return "succeeded", f"sent: {argument}"
    if action == "backup":
        with backups.saved_for_backup(store, paths, server.id, tell=report, warn=report):
            made = backups.create_backup(store, paths, env, server.id)
        return "succeeded", f"backup {made.id[:8]} ({made.size_bytes} bytes) in {made.path}"
    if action == "restart":
        restarted = lifecycle.restart(store, paths, server.id, timeout=_stop_timeout(store, env))
        return "succeeded", f"running again (pid {restarted.process_id})"
    if action == "stop":
        try:
            done = lifecycle.stop(store, paths, server.id, timeout=_stop_timeout(store, env))
        except ConflictError as err:
            if err.code != "not_running":
                raise
            return "succeeded", "it was not running"
        return "succeeded", f"stopped ({done['how']})"
    if action == "start":
        try:
            started = lifecycle.start(store, paths, server.id)
        except ConflictError as err:
            if err.code != "already_running":
                raise
            return "succeeded", "it was already running"
        return "succeeded", f"running (pid {started.process_id})"
    if action == "update":
        installed = steamcmd.update(store, server.game_type, env)
        return "succeeded", f"{server.game_type} updated (build {installed.version or '?'})"
    raise InvalidInputError(f"unknown task {action!r}", code="invalid_task")


def execute(
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    run_id: int,
    *,
    report: Report = _quiet,
) -> dict[str, Any]:
    """Run the chain of run ``run_id`` (recorded ``processing``) in this process, recording
    each task's outcome as it goes, and the run's end. Returns the run as ``history`` shows it.
    A ``Stopped`` raised meanwhile (a signal) records the run interrupted and is raised again."""
    with store.read() as session:
        run = session.get(ScheduleRun, run_id)
        if run is None:
            raise NotFoundError(f"no schedule run {run_id}", code="run_not_found")
        if run.status != "processing":
            raise ConflictError(f"run {run_id} is {run.status}, not waiting to run")
        schedule = session.get(Schedule, run.schedule_id)
        assert schedule is not None  # the run goes with its schedule (ON DELETE CASCADE)
        server = session.get(LocalServer, schedule.server_id)
        assert server is not None
    tasks = [Task.from_dict(t) for t in schedule.tasks]
    chain = _Chain(store, run_id, list(run.tasks or _pending(schedule.tasks)))
    with store.write() as session:  # this process runs it (a manual run wrote itself already)
        row = session.get(ScheduleRun, run_id)
        if row is not None and row.runner_pid != os.getpid():
            row.runner_pid = os.getpid()
            row.runner_create_time = processes.create_time(os.getpid())
    try:
        status, message = _run_chain(store, paths, env, schedule, server, tasks, chain, report)
    except _Removed:
        return {"id": run_id, "status": "removed", "message": "the schedule was removed",
                "tasks": chain.outcomes}  # fmt: skip
    except (Stopped, KeyboardInterrupt):
        stamp = _now_sql()
        chain.outcomes = _outcomes_interrupted(chain.outcomes, stamp)
        with contextlib.suppress(_Removed):
            chain.save(status="interrupted", finished_at=stamp, message="stopped by a signal")
        raise
    message = "; ".join(filter(None, (chain.note, message))) or None
    with contextlib.suppress(_Removed):
        chain.save(status=status, finished_at=_now_sql(), message=message)
    if status == "failed":
        lifecycle.record(
            store, server.id, event="schedule-failed", detail=f"schedule {schedule.name}: {message}"
        )
    return get_run(store, run_id)


def _run_chain(
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    schedule: Schedule,
    server: LocalServer,
    tasks: list[Task],
    chain: _Chain,
    report: Report,
) -> tuple[str, str | None]:
    with _chain_lock(paths, server.id, report):
        if schedule.only_when_running and not lifecycle.is_up(paths, servers.get(store, server.id)):
            return "skipped", "the server is not running (--only-when-running)"
        if schedule.when_empty:
            report(f"waiting for {server.name} to be empty (at most "
                   f"{duration_text(schedule.max_wait_seconds or 0)})")  # fmt: skip
            try:
                waited = players.when_empty(
                    store, paths, server.id, max_wait=schedule.max_wait_seconds or 0,
                    what=_what_for(tasks), report=report,
                )  # fmt: skip
            except GsmError as err:
                return "failed", f"waiting for an empty server failed: {err.message}"
            chain.note = f"when-empty: {waited.reason} after {waited.waited_seconds:.0f}s"
            chain.save(message=chain.note)
        failures = []
        for index, task in enumerate(tasks):
            outcome = chain.outcomes[index]
            if task.offset_seconds:
                report(f"waiting {duration_text(task.offset_seconds)} before {task.text}")
                time.sleep(task.offset_seconds)
            report(f"task {index + 1}/{len(tasks)}: {task.text}")
            outcome.update(status="running", started_at=_now_sql())
            chain.save()
            try:
                status, message = _do(
                    task, tasks[index + 1 :], store=store, paths=paths, env=env, server=server,
                    report=report,
                )  # fmt: skip
            except GsmError as err:
                status, message = "failed", err.message
            outcome.update(status=status, finished_at=_now_sql(), message=message)
            chain.save()
            report(f"  {status}" + (f": {message}" if message else ""))
            if status == "failed":
                failures.append(f"task {index + 1} ({task.text}) failed: {message}")
                if not task.continue_on_failure:
                    for rest in chain.outcomes[index + 1 :]:
                        rest["status"] = "not run"
                    return "failed", failures[0] + "; the chain stopped there"
        if failures:
            return "failed", "; ".join(failures) + f" ({CONTINUE}: the chain went on)"
        return "succeeded", None
