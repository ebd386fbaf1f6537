"""The service's loop (services/service_duties.run) with duties of the test's own: a duty that
raises never stops the others nor the loop; boot duties run once per boot (or with --boot),
start duties once per run; the lock refuses a second service; every round is written to the
run file (the heartbeat)."""

import threading
from pathlib import Path
from typing import Any

import pytest

from gsm_cli.errors import ConflictError
from gsm_cli.paths import Paths, resolve_paths
from gsm_cli.services import locks, service_duties
from gsm_cli.services.service_duties import BOOT, START, TICK, Duty, Round
from tests.conftest import GsmRunner


@pytest.fixture
def paths(gsm_home: Path) -> Paths:
    return resolve_paths({"GSM_HOME": str(gsm_home)})


def counting(calls: list[str], name: str) -> Any:
    def duty(rnd: Round) -> str:
        calls.append(name)
        return f"{name} done"

    return duty


def test_a_duty_that_raises_does_not_stop_the_loop(paths: Paths) -> None:
    stop = threading.Event()
    calls: list[str] = []

    def broken(rnd: Round) -> None:
        calls.append("broken")
        raise RuntimeError("boom")

    def third_round_stops(rnd: Round) -> None:
        calls.append("after")
        if calls.count("after") == 3:
            stop.set()

    duties = (Duty("broken", broken), Duty("after", third_round_stops))
    (last,) = service_duties.run(paths, {}, interval=0.01, duties=duties, stop=stop)
    assert calls == ["broken", "after"] * 3
    assert [(o.name, o.ok, o.error) for o in last.outcomes] == [
        ("broken", False, "RuntimeError: boom"),
        ("after", True, None),
    ]
    state = service_duties.read_state(paths)
    assert state["rounds"] == 3
    assert state["last_tick"] == last.at and state["stopped_at"] is not None
    assert state["duties"]["broken"]["ok"] is False
    assert state["duties"]["broken"]["error"] == "RuntimeError: boom"
    assert state["duties"]["after"]["ok"] is True
    log = service_duties.log_file(paths).read_text()
    assert "duty broken failed" in log
    assert "RuntimeError: boom" in log and "Traceback" in log  # the traceback, in the log only


def test_boot_duties_run_once_per_boot_and_with_boot(paths: Paths) -> None:
    calls: list[str] = []
    duties = (
        Duty("boot", counting(calls, "boot"), when=BOOT),
        Duty("start", counting(calls, "start"), when=START),
        Duty("tick", counting(calls, "tick"), when=TICK),
    )
    service_duties.run(paths, {}, once=True, duties=duties)
    assert calls == ["boot", "start", "tick"]  # the first run since this boot
    calls.clear()
    service_duties.run(paths, {}, once=True, duties=duties)
    assert calls == ["start", "tick"]  # this boot was served
    calls.clear()
    service_duties.run(paths, {}, once=True, boot=True, duties=duties)
    assert calls == ["boot", "start", "tick"]  # --boot: the machine has just started

    stop = threading.Event()
    calls.clear()
    looping = (*duties, Duty("stop", lambda rnd: calls.count("tick") == 2 and stop.set()))
    service_duties.run(paths, {}, interval=0.01, duties=looping, stop=stop)
    assert calls == ["start", "tick", "tick"]  # start duties only in the first round


def test_a_second_service_is_refused_by_the_lock(paths: Paths) -> None:
    with locks.hold(service_duties.lock_file(paths)):
        with pytest.raises(ConflictError) as refused:
            service_duties.run(paths, {}, once=True, duties=())
        assert refused.value.code == "service_running"
        assert service_duties.is_running(paths)
    assert not service_duties.is_running(paths)
    service_duties.run(paths, {}, once=True, duties=())  # free again


def test_an_unusable_store_fails_the_round_not_the_service(paths: Paths, gsm_home: Path) -> None:
    gsm_home.mkdir(parents=True)
    paths.store_file.write_bytes(b"this is not a database" * 100)
    calls: list[str] = []
    (last,) = service_duties.run(
        paths, {}, once=True, duties=(Duty("tick", counting(calls, "tick")),)
    )
    assert calls == []
    assert not last.outcomes[0].ok and last.outcomes[0].error


def test_run_once_reports_each_duty(gsm: GsmRunner, gsm_home: Path) -> None:
    result = gsm("service", "run", "--once", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == [
        {"name": "autostart", "ok": True, "error": None, "failures": [], "report": []},
        {"name": "interrupted schedules", "ok": True, "error": None, "failures": [], "report": []},
        {"name": "schedules", "ok": True, "error": None, "failures": [], "report": []},
        {"name": "alerts", "ok": True, "error": None, "failures": [], "report": 0},
    ]
    assert gsm("service", "status", "--json").json()["rounds"] == 1


def test_the_interval_is_at_most_30_seconds(gsm: GsmRunner) -> None:
    result = gsm("service", "run", "--interval", "31", "--json")
    assert result.exit_code == 4
    assert "--interval" in result.error()["message"]


def test_autostart_starts_nothing_more_once_the_service_is_stopping(
    gsm: GsmRunner, paths: Paths
) -> None:
    made = gsm("server", "create", "alpha", "--game", "custom", "--command", "sleep 60",
               "--autostart", "--json")  # fmt: skip
    assert made.exit_code == 0, made.stderr
    stop = threading.Event()
    stop.set()  # SIGTERM came while the boot round was under way
    result = service_duties.run_round(
        paths, {}, service_duties.DUTIES, first=True, boot_due=True, state={}, stop=stop
    )
    autostart = result.outcomes[0]
    assert autostart.name == "autostart"
    assert autostart.ok
    assert autostart.report == [{"name": "alpha", "action": "not started (the service stopped)"}]
    assert gsm("server", "show", "alpha", "--json").json()["status"] == "stopped"


def test_boot_duties_wait_for_a_store_that_opens(paths: Paths, gsm_home: Path) -> None:
    """The store cannot be opened at the first round: the boot duties run at the next round
    that opens it, and only then is this boot served."""
    gsm_home.mkdir(parents=True)
    paths.store_file.write_bytes(b"this is not a database" * 100)
    calls: list[str] = []
    stop = threading.Event()
    seen: list[service_duties.RoundResult] = []

    def after_round(result: service_duties.RoundResult) -> None:
        seen.append(result)
        if len(seen) == 1:
            assert not result.store_opened
            assert "boot_served" not in service_duties.read_state(paths) or (
                service_duties.read_state(paths)["boot_served"] is None
            )
            paths.store_file.unlink()  # repaired: the next round makes a new store
        elif len(seen) == 3:
            stop.set()

    duties = (Duty("boot", counting(calls, "boot"), when=BOOT),)
    service_duties.run(paths, {}, interval=0.01, duties=duties, stop=stop, on_round=after_round)
    assert calls == ["boot"]  # once: at the second round, not again at the third
    assert [bool(r.outcomes) for r in seen] == [True, True, False]
    assert service_duties.read_state(paths)["boot_served"] == service_duties.current_boot()
