"""Schedules: task parsing, cron times in a time zone (DST), fire_due driven by an injected
clock (due once, catch-up window, missed firings), interrupted runs, chains that fail or go on,
and two schedulers racing for one firing. Chains run in this process (``execute``) or in a
real runner process; servers are not started here (tests/e2e/test_schedules.py does)."""

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from gsm_cli.errors import InvalidInputError
from gsm_cli.paths import resolve_paths
from gsm_cli.services import processes, schedules
from gsm_cli.store import Store
from gsm_cli.store.models import Schedule, ScheduleRun, ServerEvent
from tests.conftest import GsmRunner, fake_game_command, free_port, wait_for

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def server(gsm: GsmRunner) -> str:
    """A Minecraft server (the catalog's say command) whose game is the fake one; not started."""
    made = gsm(
        "server", "create", "mc", "--game", "minecraft", "--port", str(free_port()),
        "--command", fake_game_command(),
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    return "mc"


@pytest.fixture
def store(gsm_home: Path, server: str) -> Iterator[Store]:
    with Store.open(gsm_home / "gsm.db") as opened:
        yield opened


def add(store: Store, cron: str, *tasks: str, name: str = "nightly", **extra: object) -> dict:
    extra.setdefault("now", utc(2026, 12, 1, 12))
    extra.setdefault("zone", UTC)
    return schedules.add(store, name=name, server="mc", cron=cron, tasks=list(tasks), **extra)


class Launches(list):
    def __call__(self, run_id: int) -> None:
        self.append(run_id)


def runs(store: Store) -> list[ScheduleRun]:
    with store.read() as session:
        return list(session.scalars(select(ScheduleRun).order_by(ScheduleRun.id)))


# --- tasks and durations --------------------------------------------------------------------


def test_tasks_parse_with_offset_and_continue() -> None:
    task = schedules.parse_task("+1m30s continue-on-failure backup")
    assert task == schedules.Task("backup", None, 90, True)
    assert task.text == "+1m30s continue-on-failure backup"
    assert schedules.parse_task("say Restart in 10 minutes!").argument == "Restart in 10 minutes!"
    assert schedules.parse_task("countdown 600s").argument == "10m"
    assert schedules.parse_task("countdown 1m Bye in {time}").argument == "1m Bye in {time}"
    assert schedules.parse_task("WAIT 90s").text == "wait 1m30s"


@pytest.mark.parametrize(
    "text",
    ["dance", "say", "wait", "wait soon", "backup now", "countdown 0s", "+x restart", "wait 25h"],
)
def test_bad_tasks_are_refused(text: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        schedules.parse_task(text)
    assert caught.value.code in ("invalid_task", "invalid_duration")


def test_cron_must_have_five_valid_fields() -> None:
    assert schedules.check_cron(" 0  4 * * MON ") == "0 4 * * MON"
    for bad in ("0 4 * *", "0 4 * * * *", "61 4 * * *", "@daily"):
        with pytest.raises(InvalidInputError) as caught:
            schedules.check_cron(bad)
        assert caught.value.code == "invalid_cron"


# --- the command line -------------------------------------------------------------------------


def test_add_list_show_disable_enable_remove(gsm: GsmRunner, server: str) -> None:
    added = gsm(
        "schedule", "add", "nightly", "--server", "mc", "--cron", "0 4 * * *",
        "--task", "countdown 10m", "--task", "backup", "--task", "+30s restart", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    row = added.json()
    assert row["tasks"] == ["countdown 10m", "backup", "+30s restart"]
    assert row["server_name"] == "mc" and row["enabled"] is True
    assert row["next_due_at"].endswith("Z")
    listed = gsm("schedule", "list", "--json").json()
    assert [r["name"] for r in listed] == ["nightly"]
    assert gsm("schedule", "disable", "NIGHTLY", "--json").json()["next_due_at"] is None
    assert gsm("schedule", "enable", "nightly", "--json").json()["enabled"] is True
    again = gsm("schedule", "add", "Nightly", "--server", "mc", "--cron", "0 5 * * *",
                "--task", "backup", "--json")  # fmt: skip
    assert again.exit_code == 5 and again.error()["code"] == "name_taken"
    removed = gsm("schedule", "remove", "nightly", "--json")
    assert removed.exit_code == 0 and removed.json()["name"] == "nightly"
    missing = gsm("schedule", "show", "nightly", "--json")
    assert missing.exit_code == 3 and missing.error()["code"] == "schedule_not_found"


def test_add_refuses_what_cannot_work(gsm: GsmRunner, server: str) -> None:
    base = ("schedule", "add", "s", "--cron", "0 4 * * *", "--json")
    bad_cron = gsm("schedule", "add", "s", "--server", "mc", "--cron", "0 4 * *",
                   "--task", "backup", "--json")  # fmt: skip
    assert bad_cron.exit_code == 4 and bad_cron.error()["code"] == "invalid_cron"
    no_server = gsm(*base, "--server", "nope", "--task", "backup")
    assert no_server.exit_code == 3 and no_server.error()["code"] == "server_not_found"
    assert gsm("server", "create", "plain", "--game", "custom", "--command", "true").exit_code == 0
    no_say = gsm(*base, "--server", "plain", "--task", "countdown 1m", "--task", "restart")
    assert no_say.exit_code == 4 and no_say.error()["code"] == "no_say_command"
    no_query = gsm(*base, "--server", "plain", "--task", "restart", "--when-empty")
    assert no_query.exit_code == 4 and no_query.error()["code"] == "no_player_count"
    lone_wait = gsm(*base, "--server", "mc", "--task", "restart", "--max-wait", "5m")
    assert lone_wait.exit_code == 4
    bad_wait = gsm(*base, "--server", "mc", "--task", "restart", "--when-empty", "--max-wait", "x")
    assert bad_wait.exit_code == 4 and bad_wait.error()["code"] == "invalid_duration"


def test_restart_when_empty_refuses_a_game_without_player_counts(gsm: GsmRunner) -> None:
    assert gsm("server", "create", "plain", "--game", "custom", "--command", "true").exit_code == 0
    result = gsm("server", "restart", "plain", "--when-empty", "--json")
    assert result.exit_code == 4 and result.error()["code"] == "no_player_count"
    assert "no query protocol" in result.error()["message"]
    assert gsm("server", "restart", "--all", "--when-empty").exit_code == 4


def test_tick_with_nothing_due_prints_an_empty_list(gsm: GsmRunner, server: str) -> None:
    gsm("schedule", "add", "s", "--server", "mc", "--cron", "0 4 * * *", "--task", "backup")
    result = gsm("schedule", "tick", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == []


# --- firing by the clock ----------------------------------------------------------------------


def test_a_firing_runs_once_at_its_time(store: Store) -> None:
    add(store, "0 4 * * *", "wait 0s")
    launched = Launches()
    assert schedules.fire_due(store, utc(2026, 12, 2, 3, 59, 59), zone=UTC, launch=launched) == []
    fired = schedules.fire_due(store, utc(2026, 12, 2, 4, 0, 20), zone=UTC, launch=launched)
    assert [(f.status, f.due_at) for f in fired] == [("processing", "2026-12-02T04:00:00Z")]
    assert launched == [fired[0].run_id]
    assert schedules.fire_due(store, utc(2026, 12, 2, 4, 0, 50), zone=UTC, launch=launched) == []
    assert schedules.fire_due(store, utc(2026, 12, 2, 4, 9, 0), zone=UTC, launch=launched) == []
    assert len(runs(store)) == 1 and launched == [fired[0].run_id]
    assert schedules.show(store, "nightly", now=utc(2026, 12, 2, 5), zone=UTC)["next_due_at"] == (
        "2026-12-03T04:00:00Z"
    )


def test_a_firing_found_too_late_is_skipped_not_run(store: Store) -> None:
    add(store, "0 4 * * *", "wait 0s")
    launched = Launches()
    late = schedules.fire_due(store, utc(2026, 12, 2, 4, 10, 30), zone=UTC, launch=launched)
    assert [f.status for f in late] == ["skipped"]
    assert "not run" in (late[0].message or "") and launched == []
    (run,) = runs(store)
    assert run.status == "skipped" and run.finished_at is not None
    # Within the window the next day, it runs.
    on_time = schedules.fire_due(store, utc(2026, 12, 3, 4, 9, 0), zone=UTC, launch=launched)
    assert [f.status for f in on_time] == ["processing"] and len(launched) == 1


def test_missed_firings_are_not_run_one_after_another(store: Store) -> None:
    add(store, "*/5 * * * *", "wait 0s", now=utc(2026, 12, 1, 12, 0, 0))
    launched = Launches()
    fired = schedules.fire_due(store, utc(2026, 12, 1, 13, 1, 0), zone=UTC, launch=launched)
    assert [(f.status, f.due_at) for f in fired] == [("processing", "2026-12-01T13:00:00Z")]
    assert "11 earlier time(s) missed" in (fired[0].message or "")
    assert len(runs(store)) == 1


def test_disabled_schedules_do_not_fire_and_enabling_does_not_catch_up(store: Store) -> None:
    add(store, "0 4 * * *", "wait 0s")
    schedules.set_enabled(store, "nightly", False, now=utc(2026, 12, 1, 13))
    launched = Launches()
    assert schedules.fire_due(store, utc(2026, 12, 2, 4, 0, 5), zone=UTC, launch=launched) == []
    schedules.set_enabled(store, "nightly", True, now=utc(2026, 12, 2, 4, 0, 6))
    assert schedules.fire_due(store, utc(2026, 12, 2, 4, 0, 10), zone=UTC, launch=launched) == []
    fired = schedules.fire_due(store, utc(2026, 12, 3, 4, 0, 10), zone=UTC, launch=launched)
    assert len(fired) == 1 and launched == [fired[0].run_id]


def test_only_when_running_skips_a_stopped_server(store: Store) -> None:
    add(store, "0 4 * * *", "restart", only_when_running=True)
    fired = schedules.fire_due(store, utc(2026, 12, 2, 4, 0, 5), zone=UTC, launch=Launches())
    assert [f.status for f in fired] == ["skipped"]
    assert "not running" in (fired[0].message or "")


def test_cron_times_are_local_and_follow_dst_like_debian_cron(store: Store) -> None:
    # Spring forward in Berlin: 2026-03-29 02:00 CET -> 03:00 CEST; 02:30 does not exist.
    add(store, "30 2 * * *", "wait 0s", now=utc(2026, 3, 28, 12), zone=BERLIN)
    launched = Launches()
    assert schedules.fire_due(store, utc(2026, 3, 29, 0, 59), zone=BERLIN, launch=launched) == []
    fired = schedules.fire_due(store, utc(2026, 3, 29, 1, 0, 30), zone=BERLIN, launch=launched)
    assert [f.due_at for f in fired] == [
        "2026-03-29T01:00:00Z"
    ]  # 03:00 CEST, when the clock jumped
    fired = schedules.fire_due(store, utc(2026, 3, 30, 0, 30, 30), zone=BERLIN, launch=launched)
    assert [f.due_at for f in fired] == ["2026-03-30T00:30:00Z"]  # 02:30 CEST


def test_a_daily_time_in_the_repeated_autumn_hour_runs_once(store: Store) -> None:
    # Fall back in Berlin: 2026-10-25 03:00 CEST -> 02:00 CET; 02:30 comes twice.
    add(store, "30 2 * * *", "wait 0s", now=utc(2026, 10, 24, 12), zone=BERLIN)
    launched = Launches()
    first = schedules.fire_due(store, utc(2026, 10, 25, 0, 30, 30), zone=BERLIN, launch=launched)
    assert [f.due_at for f in first] == ["2026-10-25T00:30:00Z"]  # 02:30 CEST
    again = schedules.fire_due(store, utc(2026, 10, 25, 1, 30, 30), zone=BERLIN, launch=launched)
    assert again == []  # 02:30 CET, the same wall-clock time: not a second run
    assert len(launched) == 1


def test_an_hourly_schedule_follows_real_hours_through_the_autumn_change(store: Store) -> None:
    add(store, "0 * * * *", "wait 0s", now=utc(2026, 10, 24, 23, 30), zone=BERLIN)
    launched = Launches()
    due = []
    for hour in (0, 1, 2):  # local 02:00 CEST, 02:00 CET, 03:00 CET
        fired = schedules.fire_due(store, utc(2026, 10, 25, hour, 0, 5), zone=BERLIN,
                                   launch=launched)  # fmt: skip
        due += [f.due_at for f in fired]
    assert due == ["2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"]


# --- runs left behind -------------------------------------------------------------------------


def dead_process_identity() -> tuple[int, float]:
    """The pid and create time of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    created = processes.create_time(child.pid)
    assert created is not None
    child.kill()
    child.wait()
    return child.pid, created


def test_a_run_whose_runner_died_is_marked_interrupted_and_the_next_proceeds(
    store: Store,
) -> None:
    add(store, "0 4 * * *", "wait 0s", "backup")
    launched = Launches()
    (fired,) = schedules.fire_due(store, utc(2026, 12, 2, 4, 0, 5), zone=UTC, launch=launched)
    pid, created = dead_process_identity()
    with store.write() as session:
        run = session.get(ScheduleRun, fired.run_id)
        run.runner_pid, run.runner_create_time = pid, created
        run.tasks = [{**run.tasks[0], "status": "running"}, run.tasks[1]]
    # The next day's firing: the dead run is interrupted first, and does not block this one.
    (nxt,) = schedules.fire_due(store, utc(2026, 12, 3, 4, 0, 5), zone=UTC, launch=launched)
    assert nxt.status == "processing"
    first = schedules.get_run(store, fired.run_id)
    assert first["status"] == "interrupted" and first["finished_at"]
    assert [t["status"] for t in first["tasks"]] == ["interrupted", "not run"]
    with store.read() as session:
        events = [e.event for e in session.scalars(select(ServerEvent))]
    assert "schedule-failed" in events


def test_a_run_whose_runner_lives_blocks_the_next_firing(store: Store) -> None:
    add(store, "0 4 * * *", "wait 0s")
    launched = Launches()
    (fired,) = schedules.fire_due(store, utc(2026, 12, 2, 4, 0, 5), zone=UTC, launch=launched)
    with store.write() as session:  # this test process plays the runner: it is alive
        run = session.get(ScheduleRun, fired.run_id)
        run.runner_pid, run.runner_create_time = os.getpid(), processes.create_time(os.getpid())
    (nxt,) = schedules.fire_due(store, utc(2026, 12, 3, 4, 0, 5), zone=UTC, launch=launched)
    assert nxt.status == "skipped" and "still running" in (nxt.message or "")
    assert schedules.get_run(store, fired.run_id)["status"] == "processing"


def test_a_run_that_never_got_a_runner_is_interrupted_after_a_grace(store: Store) -> None:
    add(store, "0 4 * * *", "wait 0s")
    (fired,) = schedules.fire_due(store, utc(2026, 12, 2, 4, 0, 5), zone=UTC, launch=Launches())
    assert schedules.mark_interrupted(store, now=utc(2026, 12, 2, 4, 1, 0)) == []
    assert schedules.mark_interrupted(store, now=utc(2026, 12, 2, 4, 3, 0)) == [fired.run_id]


# --- chains -----------------------------------------------------------------------------------


def execute(store: Store, gsm_home: Path, name: str = "nightly") -> dict:
    run_id = schedules.start_manual(store, name)
    env = dict(os.environ)
    return schedules.execute(store, resolve_paths(env), env, run_id)


def test_a_failed_task_stops_the_chain_and_records_an_event(store: Store, gsm_home: Path) -> None:
    add(store, "0 4 * * *", "wait 0s", "command save-all", "wait 0s")
    result = execute(store, gsm_home)
    assert result["status"] == "failed"
    assert [t["status"] for t in result["tasks"]] == ["succeeded", "failed", "not run"]
    assert "not running" in result["tasks"][1]["message"]
    assert "chain stopped" in result["message"]
    with store.read() as session:
        event = session.scalars(
            select(ServerEvent).where(ServerEvent.event == "schedule-failed")
        ).one()
    assert "nightly" in (event.detail or "") and "command save-all" in (event.detail or "")


def test_continue_on_failure_goes_on_and_the_run_still_fails(store: Store, gsm_home: Path) -> None:
    add(store, "0 4 * * *", "continue-on-failure command save-all", "wait 0s")
    result = execute(store, gsm_home)
    assert [t["status"] for t in result["tasks"]] == ["failed", "succeeded"]
    assert result["status"] == "failed" and "went on" in result["message"]


def test_warnings_to_a_stopped_server_are_skipped_not_failures(
    store: Store, gsm_home: Path
) -> None:
    add(store, "0 4 * * *", "say hello", "countdown 1s", "stop")
    result = execute(store, gsm_home)
    assert [t["status"] for t in result["tasks"]] == ["skipped", "skipped", "succeeded"]
    assert result["status"] == "succeeded"
    assert result["tasks"][2]["message"] == "it was not running"


def test_run_command_exits_1_on_failure(gsm: GsmRunner, server: str) -> None:
    gsm("schedule", "add", "s", "--server", "mc", "--cron", "0 4 * * *", "--task", "command x")
    result = gsm("schedule", "run", "s", "--json")
    assert result.exit_code == 1 and result.error()["code"] == "schedule_failed"
    assert "task 1/1: command x" in result.stderr  # each step is shown as it goes
    history = gsm("schedule", "history", "s", "--json").json()
    assert [(h["trigger"], h["status"]) for h in history] == [("manual", "failed")]


def test_a_due_chain_runs_in_its_own_runner_process(store: Store, gsm_home: Path) -> None:
    add(store, "0 4 * * *", "wait 1s", "say nobody hears this")
    (fired,) = schedules.fire_due(store, utc(2026, 12, 2, 4, 0, 5), zone=UTC)
    assert fired.status == "processing"
    with store.read() as session:
        runner = session.get(ScheduleRun, fired.run_id).runner_pid
    assert runner is not None and runner != os.getpid()
    done = wait_for(
        lambda: (r := schedules.get_run(store, fired.run_id))["status"] != "processing" and r,
        timeout=30,
    )
    assert done["status"] == "succeeded", done
    assert [t["status"] for t in done["tasks"]] == ["succeeded", "skipped"]


# --- two schedulers ---------------------------------------------------------------------------


def test_a_firing_is_claimed_once_even_without_the_lock(store: Store) -> None:
    add(store, "0 4 * * *", "wait 0s")
    with store.read() as session:
        schedule_id = session.scalars(select(Schedule.id)).one()
    with store.write() as session:
        first = schedules._claim(session, schedule_id, "2026-12-02 04:00:00", "processing",
                                 started_at="2026-12-02 04:00:05")  # fmt: skip
        second = schedules._claim(session, schedule_id, "2026-12-02 04:00:00", "processing",
                                  started_at="2026-12-02 04:00:06")  # fmt: skip
    assert first is not None and second is None


def test_two_schedulers_racing_run_a_firing_once(store: Store, gsm_home: Path) -> None:
    add(store, "0 4 * * *", "wait 0s")
    launched = Launches()
    for day in range(2, 8):
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def scheduler(
            day: int = day,
            barrier: threading.Barrier = barrier,
            errors: list[BaseException] = errors,
        ) -> None:
            try:
                with Store.open(gsm_home / "gsm.db") as own:  # each its own connection
                    barrier.wait()
                    schedules.fire_due(own, utc(2026, 12, day, 4, 0, 5), zone=UTC,
                                       launch=launched)  # fmt: skip
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=scheduler) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors, errors
    assert len(launched) == 6 == len(set(launched))
    assert [r.due_at[:10] for r in runs(store)] == [f"2026-12-0{d}" for d in range(2, 8)]


def test_a_scheduler_that_finds_the_lock_held_does_nothing(store: Store, gsm_home: Path) -> None:
    from gsm_cli.services import locks

    add(store, "0 4 * * *", "wait 0s")
    held = locks.hold(gsm_home / "run" / "scheduler.lock")
    try:
        assert schedules.fire_due(store, utc(2026, 12, 2, 4, 0, 5), zone=UTC,
                                  launch=Launches()) == []  # fmt: skip
    finally:
        held.close()
    assert len(schedules.fire_due(store, utc(2026, 12, 2, 4, 0, 6), zone=UTC,
                                  launch=Launches())) == 1  # fmt: skip


def test_history_lists_runs_newest_first(store: Store) -> None:
    add(store, "0 4 * * *", "wait 0s")
    add(store, "0 5 * * *", "wait 0s", name="other")
    schedules.fire_due(store, utc(2026, 12, 2, 4, 0, 5), zone=UTC, launch=Launches())
    schedules.fire_due(store, utc(2026, 12, 2, 5, 0, 5), zone=UTC, launch=Launches())
    assert [r["schedule_name"] for r in schedules.history(store)] == ["other", "nightly"]
    assert [r["schedule_name"] for r in schedules.history(store, "NIGHTLY")] == ["nightly"]
    assert len(schedules.history(store, limit=1)) == 1


def test_two_tick_processes_racing_run_a_firing_once(store: Store, gsm_home: Path) -> None:
    from tests.conftest import gsm_executable

    add(store, "* * * * *", "wait 0s", now=datetime.now(UTC) - timedelta(minutes=3))
    command = [str(gsm_executable()), "schedule", "tick", "--json"]
    ticks = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    answers = [tick.communicate(timeout=60) for tick in ticks]
    assert all(tick.returncode == 0 for tick in ticks), answers
    fired = [firing for out, _err in answers for firing in json.loads(out)]
    assert [f["status"] for f in fired] == ["processing"], answers
    (run,) = runs(store)
    done = wait_for(
        lambda: (r := schedules.get_run(store, run.id))["status"] != "processing" and r,
        timeout=30,
    )
    assert done["status"] == "succeeded"


def test_say_lines_follow_each_games_say_command() -> None:
    from gsm_cli.services import games, players

    assert players.say_line(games.get_game("minecraft"), "Restart\nin 5") == "say Restart in 5"
    assert players.say_line(games.get_game("pz"), 'a "b" \\c') == "servermsg \"a 'b' 'c\""
    assert players.say_line(games.get_game("factorio"), "/kill everyone") == "kill everyone"
    with pytest.raises(InvalidInputError) as caught:
        players.say_line(games.get_game("valheim"), "hello")
    assert caught.value.code == "no_say_command"
    assert players.duration_text(90) == "1 minute 30 seconds"
    assert players.duration_text(3600) == "1 hour"


def running_runner(store: Store) -> tuple[int, int]:
    """A chain fired for real, its runner process waiting in its first task: (run id, pid)."""
    add(store, "0 4 * * *", "wait 1h", "backup")
    (fired,) = schedules.fire_due(store, utc(2026, 12, 2, 4, 0, 5), zone=UTC)

    def waiting() -> int | None:
        run = schedules.get_run(store, fired.run_id)
        with store.read() as session:
            pid = session.get(ScheduleRun, fired.run_id).runner_pid
        return pid if run["tasks"][0]["status"] == "running" else None

    return fired.run_id, wait_for(waiting, timeout=30)


@pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals")
def test_a_runner_stopped_by_sigterm_records_its_run_interrupted(store: Store) -> None:
    import signal

    run_id, pid = running_runner(store)
    os.kill(pid, signal.SIGTERM)
    run = wait_for(
        lambda: (r := schedules.get_run(store, run_id))["status"] != "processing" and r,
        timeout=30,
    )
    assert run["status"] == "interrupted"
    assert [t["status"] for t in run["tasks"]] == ["interrupted", "not run"]


@pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals")
def test_a_killed_runner_is_found_interrupted_by_the_next_pass(store: Store) -> None:
    import signal

    import psutil

    run_id, pid = running_runner(store)
    os.kill(pid, signal.SIGKILL)  # as a power cut: nothing recorded by the runner itself

    def gone() -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_for(gone, timeout=30)
    assert schedules.get_run(store, run_id)["status"] == "processing"
    assert schedules.fire_due(store, utc(2026, 12, 2, 4, 0, 30), zone=UTC) == []
    run = schedules.get_run(store, run_id)
    assert run["status"] == "interrupted" and "runner process ended" in run["message"]


@pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals")
def test_a_foreground_run_ended_by_a_signal_is_recorded_interrupted(store: Store) -> None:
    import signal

    from tests.conftest import gsm_executable

    add(store, "0 4 * * *", "wait 1h", "backup")
    child = subprocess.Popen(
        [str(gsm_executable()), "schedule", "run", "nightly"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        run = wait_for(lambda: (h := schedules.history(store)) and h[0]["tasks"][0]["status"]
                       == "running" and h[0], timeout=30)  # fmt: skip
        child.send_signal(signal.SIGTERM)
        _out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130 and "interrupted" in err
    done = schedules.get_run(store, run["id"])
    assert done["status"] == "interrupted" and done["trigger"] == "manual"
    assert [t["status"] for t in done["tasks"]] == ["interrupted", "not run"]
