"""Alerts (docs/alerts.md): channels through `gsm alert`, with a real HTTP receiver on
127.0.0.1 behind Apprise's json:// URLs; the queue written in the event's transaction by both
the ORM (lifecycle.record) and the supervisor's sqlite3 store, with the crash rate limit; the
sending with retries; and a supervisor that never imports Apprise."""

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gsm_cli.services import alerts, lifecycle, locks
from gsm_cli.store import Store
from gsm_cli.supervisor_store import SupervisorStore
from tests.cli.test_game import (
    FakeSteamCmd,
    fake_steamcmd,  # noqa: F401 - a fixture used below
    install,
)
from tests.cli.test_supervisor_store import stores  # noqa: F401 - a fixture used below
from tests.cli.test_sync_local import _create_servers
from tests.conftest import GsmRunner, free_port, wait_for
from tests.receiver import Receiver, end_senders, receiving

SECRET = "s3cr3t-T0KEN-value"


@pytest.fixture
def receiver(gsm_home: Path) -> Iterator[Receiver]:
    with receiving() as running:
        yield running
    end_senders(gsm_home)


def _add(gsm: GsmRunner, name: str, url: str, on: str | None = None) -> dict[str, Any]:
    args = ["alert", "add", name, "--url", url, "--json"]
    result = gsm(*args, *(["--on", on] if on else []))
    assert result.exit_code == 0, result.stderr
    return result.json()


def _queue(home: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(home / "gsm.db")
    conn.row_factory = sqlite3.Row
    try:
        return [
            dict(row)
            for row in conn.execute(
                "SELECT q.*, c.name AS channel FROM alert_queue q "
                "JOIN alert_channels c ON c.id = q.channel_id ORDER BY q.id"
            )
        ]
    finally:
        conn.close()


def _settle(home: Path) -> list[dict[str, Any]]:
    """The queue once no message is pending any more (the sender is done)."""
    wait_for(lambda: not any(row["status"] == "pending" for row in _queue(home)), timeout=30)
    return _queue(home)


# -- URLs and events ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("discord://1234567890/AbCdEfToKeN", "discord://…"),
        ("tgram://123456:AAbbCCddEE/987654", "tgram://…"),
        ("ntfy://my-private-topic", "ntfy://…"),
        (
            "json://user:pa55word@hooks.example.com:8080/path/token?x=1",
            "json://hooks.example.com:8080/…",
        ),
        ("mailto://user:pa55word@gmail.com", "mailto://gmail.com/…"),
        ("not a url", "…"),
    ],
)
def test_a_url_is_shown_masked(url: str, shown: str) -> None:
    assert alerts.mask_url(url) == shown


def test_scrub_removes_every_secret_part_and_keeps_a_public_host() -> None:
    url = "json://user:pa55word@hooks.example.com/path/AbCdEfToKeN"
    text = alerts.scrub(f"failed posting to {url} (token AbCdEfToKeN, pa55word)", url)
    assert "AbCdEfToKeN" not in text and "pa55word" not in text
    assert "hooks.example.com" in text


@pytest.mark.parametrize(
    ("event", "status", "detail", "kind"),
    [
        ("crash", "starting", "restarting in 1s", "crash"),
        ("crash", "crashed", "restart policy off", "crash"),
        ("crash", "failed", "3 crashes in 600s; gave up", "crash-loop"),
        ("crash", "starting", "killed as frozen; restarting in 1s", None),
        ("crash", "failed", "killed as frozen; 3 crashes in 600s; gave up", "crash-loop"),
        ("start_failed", "failed", "the game exited", "crash"),
        ("freeze", None, "4 failed queries", "freeze"),
        ("stop", "stopped", "console", "stop"),
        ("start", "starting", "./game", "start"),
        ("backup-failed", None, "disk full", "backup-failed"),
        ("schedule-failed", None, "nightly", "schedule-failed"),
        ("update", None, "build 42", "update"),
        ("restart", None, "after exit code 1", None),
        ("attach", "running", "took over", None),
    ],
)
def test_events_map_to_alert_kinds(event: str, status: str, detail: str, kind: str) -> None:
    assert alerts.kind_of(event, status=status, detail=detail) == kind


def test_events_are_parsed_and_checked() -> None:
    assert alerts.parse_events(None) == list(alerts.DEFAULT_KINDS)
    assert alerts.parse_events("stop, CRASH") == ["crash", "stop"]
    assert alerts.parse_events("all") == list(alerts.KINDS)
    with pytest.raises(alerts.InvalidInputError) as refused:
        alerts.parse_events("crash,explode")
    assert "explode" in refused.value.message


# -- the commands -------------------------------------------------------------------------


def test_channels_are_added_listed_shown_and_removed_with_the_url_never_shown(
    gsm: GsmRunner,
) -> None:
    url = f"discord://1234567890/{SECRET}"
    added = gsm("alert", "add", "ops", "--url", url, "--on", "crash,stop", "--json")
    assert added.exit_code == 0, added.stderr
    assert added.json()["url"] == "discord://…"
    assert added.json()["events"] == ["crash", "stop"]
    outputs = [added.stdout, added.stderr]
    for args in (
        ("alert", "list"),
        ("alert", "list", "--json"),
        ("alert", "list", "-o", "csv"),
        ("alert", "show", "OPS"),
        ("alert", "show", "ops", "--json"),
    ):
        result = gsm(*args)
        assert result.exit_code == 0, result.stderr
        outputs += [result.stdout, result.stderr]
    [listed] = gsm("alert", "list", "--json").json()
    assert listed["name"] == "ops" and listed["pending"] == 0
    again = gsm("alert", "add", "Ops", "--url", "json://127.0.0.1/x", "--json")
    assert again.exit_code == 5 and again.error()["code"] == "alert_channel_exists"
    removed = gsm("alert", "remove", "ops", "--json")
    assert removed.exit_code == 0 and removed.json()["name"] == "ops"
    outputs += [removed.stdout, removed.stderr]
    assert not any(SECRET in text or "1234567890" in text for text in outputs)
    assert gsm("alert", "list", "--json").json() == []
    gone = gsm("alert", "remove", "ops", "--json")
    assert gone.exit_code == 3 and gone.error()["code"] == "alert_channel_not_found"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"bogus://{SECRET}", "unknown alert URL scheme 'bogus'"),
        (SECRET, "not an Apprise URL"),
        ("discord://", "not valid"),
    ],
)
def test_add_refuses_a_url_apprise_does_not_take(gsm: GsmRunner, url: str, says: str) -> None:
    result = gsm("alert", "add", "ops", "--url", url, "--json")
    assert result.exit_code == 4
    error = result.error()
    assert error["code"] == "invalid_alert_url" and says in error["message"]
    assert SECRET not in result.stderr
    assert gsm("alert", "list", "--json").json() == []


def test_add_refuses_unknown_events(gsm: GsmRunner) -> None:
    result = gsm("alert", "add", "ops", "--url", "json://127.0.0.1/x", "--on", "boom", "--json")
    assert result.exit_code == 4 and result.error()["code"] == "invalid_alert_events"


def test_alert_test_delivers_now(gsm: GsmRunner, receiver: Receiver) -> None:
    _add(gsm, "hook", receiver.url(f"/{SECRET}"))
    result = gsm("alert", "test", "hook", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["delivered"] is True
    [message] = receiver.received()
    assert message["title"] == "gsm: test alert for hook"
    assert "Time:" in message["message"]
    assert receiver.paths == [f"/{SECRET}"]
    assert SECRET not in result.stdout + result.stderr


def test_alert_test_reports_a_refusing_or_absent_receiver(gsm: GsmRunner) -> None:
    with receiving(status=500) as refusing:
        _add(gsm, "refusing", refusing.url(f"/{SECRET}"))
        result = gsm("alert", "test", "refusing", "--json")
    assert result.exit_code == 1
    error = result.error()
    assert error["code"] == "alert_not_delivered" and "500" in error["message"]
    _add(gsm, "absent", f"json://127.0.0.1:{free_port()}/{SECRET}")
    result = gsm("alert", "test", "absent")
    assert result.exit_code == 1 and "was not delivered" in result.stderr
    assert SECRET not in result.stderr


def test_alert_settings_are_checked(gsm: GsmRunner) -> None:
    assert gsm("config", "set", "alerts.window", "0").exit_code == 4
    assert gsm("config", "set", "alerts.window", "60").exit_code == 0
    assert gsm("config", "get", "alerts.attempts", "--json").json()["value"] == "5"


# -- queuing: the rate limit --------------------------------------------------------------


def _server_and_channels(gsm: GsmRunner, home: Path, **channels: str) -> str:
    _create_servers(gsm, "alpha")
    for name, on in channels.items():
        _add(gsm, name, f"json://127.0.0.1:{free_port()}/x", on)
    with sqlite3.connect(home / "gsm.db") as conn:
        (server_id,) = conn.execute("SELECT id FROM local_servers").fetchone()
    return str(server_id)


def _event(
    conn: sqlite3.Connection,
    server_id: str,
    event: str,
    at: datetime,
    *,
    status: str | None = None,
    detail: str | None = None,
) -> int:
    """An event row at ``at`` and its alerts queued, as a recorder does, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO server_events (server_id, event, detail, occurred_at) VALUES (?, ?, ?, ?)",
        (server_id, event, detail, at.strftime("%Y-%m-%d %H:%M:%S")),
    )
    queued = alerts.queue_event(conn, server_id, event, status=status, detail=detail)
    conn.execute("COMMIT")
    return queued


def test_a_crash_loop_queues_one_alert_and_one_summary(gsm: GsmRunner, gsm_home: Path) -> None:
    server_id = _server_and_channels(
        gsm, gsm_home, both="crash,crash-loop", crashes="crash", loops="crash-loop"
    )
    conn = sqlite3.connect(gsm_home / "gsm.db", isolation_level=None)
    start = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)
    queued = []
    for i in range(4):
        at = start + timedelta(seconds=30 * i)
        queued.append(_event(conn, server_id, "crash", at, status="starting", detail="restart"))
        _event(conn, server_id, "restart", at + timedelta(seconds=1))
    end = start + timedelta(seconds=150)
    queued.append(_event(conn, server_id, "crash", end, status="failed", detail="gave up"))
    conn.close()
    rows = _queue(gsm_home)
    by_channel = {
        name: [(r["event"], r["status"]) for r in rows if r["channel"] == name]
        for name in ("both", "crashes", "loops")
    }
    # Per channel: the first crash pending, the next ones suppressed and counted in a summary.
    assert by_channel["both"] == [
        ("crash", "pending"),
        ("crash", "suppressed"),
        ("crash-loop", "pending"),  # the summary, turned into the crash-loop one
        ("crash", "suppressed"),
        ("crash", "suppressed"),
    ]
    assert by_channel["crashes"] == [
        ("crash", "pending"),
        ("crash", "suppressed"),
        ("crash-summary", "pending"),
        ("crash", "suppressed"),
        ("crash", "suppressed"),
        ("crash", "suppressed"),
    ]
    assert by_channel["loops"] == [("crash-loop", "pending")]
    assert queued == [2, 2, 0, 0, 1]  # new messages waiting: what starts a sender
    summaries = {r["channel"]: r for r in rows if r["event"] in ("crash-loop", "crash-summary")}
    text = "crashed 5 times in 10 min; restarts stopped after 4 restarts (crash-loop limit)"
    assert text in summaries["both"]["body"] and text in summaries["loops"]["body"]
    assert summaries["both"]["next_attempt_at"] == "2026-12-03 10:02:30"  # now: it gave up
    # A channel without crash-loop hears of it at the end of the window (first + 10 min).
    assert text in summaries["crashes"]["body"]
    assert summaries["crashes"]["next_attempt_at"] == "2026-12-03 10:10:00"
    assert summaries["crashes"]["title"] == "gsm: alpha crashed"


def test_a_crash_after_the_window_is_sent_again(gsm: GsmRunner, gsm_home: Path) -> None:
    server_id = _server_and_channels(gsm, gsm_home, ops="crash")
    gsm("config", "set", "alerts.window", "60")
    conn = sqlite3.connect(gsm_home / "gsm.db", isolation_level=None)
    start = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)
    for seconds in (0, 30, 61):
        _event(conn, server_id, "crash", start + timedelta(seconds=seconds), status="crashed")
    conn.close()
    assert [(r["event"], r["status"]) for r in _queue(gsm_home)] == [
        ("crash", "pending"),
        ("crash", "suppressed"),
        ("crash-summary", "pending"),
        ("crash", "pending"),
    ]
    assert "crashed 2 times in 1 min" in _queue(gsm_home)[2]["body"]


def test_routine_events_follow_subscriptions_and_restarts_are_not_starts(
    gsm: GsmRunner, gsm_home: Path
) -> None:
    server_id = _server_and_channels(gsm, gsm_home, routine="start,stop,freeze", trouble="crash")
    conn = sqlite3.connect(gsm_home / "gsm.db", isolation_level=None)
    at = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)
    _event(conn, server_id, "start", at, status="starting")
    _event(conn, server_id, "freeze", at, detail="4 failed queries in a row")
    _event(conn, server_id, "crash", at, status="starting", detail="killed as frozen; restarting")
    _event(conn, server_id, "restart", at, detail="after a freeze")
    _event(conn, server_id, "start", at, status="starting")  # the restart's launch
    _event(conn, server_id, "stop", at, status="stopped", detail="console")
    conn.close()
    assert [(r["channel"], r["event"]) for r in _queue(gsm_home)] == [
        ("routine", "start"),
        ("routine", "freeze"),
        ("routine", "stop"),
    ]


def test_a_failing_queue_never_costs_the_event(gsm: GsmRunner, gsm_home: Path) -> None:
    server_id = _server_and_channels(gsm, gsm_home, ops="crash")
    conn = sqlite3.connect(gsm_home / "gsm.db", isolation_level=None)
    conn.execute("UPDATE alert_channels SET events = 'not json'")
    at = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)
    assert _event(conn, server_id, "crash", at, status="crashed") == 0
    assert conn.execute("SELECT count(*) FROM server_events").fetchone() == (1,)
    conn.close()
    assert _queue(gsm_home) == []


def test_both_recorders_queue_the_same_alerts(
    gsm: GsmRunner,
    stores: tuple[Path, Path, dict[str, str]],  # noqa: F811
    receiver: Receiver,
) -> None:
    orm_file, small_file, ids = stores
    for path in (orm_file, small_file):
        with sqlite3.connect(path) as conn:
            conn.execute(
                "INSERT INTO alert_channels (id, name, url, events) VALUES ('c', 'ops', ?, ?)",
                (receiver.url(), json.dumps(list(alerts.KINDS))),
            )
        conn.close()

    def scenario(record: Any) -> None:
        alpha = ids["alpha"]
        record(alpha, status="starting", pid=1, event="start", detail="./game")
        record(alpha, status="starting", event="crash", exit_code=-9, detail="restarting in 1s")
        record(alpha, event="restart", detail="after exit code -9")
        record(alpha, status="starting", pid=2, event="start", detail="./game")
        record(alpha, status="starting", event="crash", exit_code=-9, detail="restarting in 2s")
        record(alpha, status="failed", event="crash", exit_code=-9, detail="3 crashes; gave up")
        record(ids["beta"], status="stopped", event="stop", detail="console")

    with Store.open(orm_file) as store:
        scenario(lambda *a, **kw: lifecycle.record(store, *a, **kw))
    with SupervisorStore(small_file) as small:
        scenario(small.record)

    def stable(path: Path) -> list[tuple]:
        conn = sqlite3.connect(path)
        rows = conn.execute(
            "SELECT channel_id, server_id, event, title, body FROM alert_queue ORDER BY id"
        ).fetchall()
        conn.close()
        return [(*row[:4], [ln for ln in row[4].splitlines() if not ln.startswith("Time:")])
                for row in rows]  # fmt: skip

    orm = stable(orm_file)
    assert stable(small_file) == orm
    assert [row[2] for row in orm] == ["start", "crash", "crash", "crash-loop", "stop"]
    # Both started a sender, which delivered what was due: 4 messages from each store.
    wait_for(lambda: len(receiver.received()) == 8, timeout=30)


# -- sending ------------------------------------------------------------------------------


def test_deliver_pending_sends_what_is_due_and_retries_failures(
    gsm: GsmRunner, gsm_home: Path, receiver: Receiver
) -> None:
    server_id = _server_and_channels(gsm, gsm_home)
    _add(gsm, "up", receiver.url(), "stop")
    _add(gsm, "down", f"json://127.0.0.1:{free_port()}/{SECRET}", "stop")
    gsm("config", "set", "alerts.attempts", "2")
    gsm("config", "set", "alerts.retry_seconds", "1")
    conn = sqlite3.connect(gsm_home / "gsm.db", isolation_level=None)
    _event(conn, server_id, "stop", datetime.now(UTC), status="stopped", detail="console")
    conn.close()
    with Store.open(gsm_home / "gsm.db") as store:
        with locks.hold(alerts.sender_lock(store.path)):
            assert alerts.deliver_pending(store) == 0  # a sender is at it
        assert alerts.deliver_pending(store) == 1
        assert receiver.titles() == ["gsm: alpha stopped"]
        down = [r for r in _queue(gsm_home) if r["channel"] == "down"]
        assert [(r["status"], r["attempts"]) for r in down] == [("pending", 1)]
        assert down[0]["last_error"] and SECRET not in down[0]["last_error"]
        assert alerts.deliver_pending(store) == 0  # not due yet: retried after 1 s
        wait_for(
            lambda: (
                alerts.deliver_pending(store) == 0
                and [r["status"] for r in _queue(gsm_home) if r["channel"] == "down"] == ["failed"]
            ),
            timeout=10,
            interval=0.2,
        )
    [failed] = [r for r in _queue(gsm_home) if r["channel"] == "down"]
    assert failed["attempts"] == 2 and "Connection error" in failed["last_error"]
    assert receiver.titles() == ["gsm: alpha stopped"]  # sent once, never again


def test_a_failed_backup_is_an_event_and_an_alert(
    gsm: GsmRunner, gsm_home: Path, receiver: Receiver, tmp_path: Path
) -> None:
    folder = tmp_path / "alpha-files"
    folder.mkdir()
    created = gsm("server", "create", "alpha", "--game", "valheim", "--path", str(folder))
    assert created.exit_code == 0, created.stderr
    _add(gsm, "ops", receiver.url())  # the default events include backup-failed
    shutil.rmtree(folder)
    assert gsm("server", "backup", "alpha").exit_code == 3
    wait_for(lambda: receiver.titles() == ["gsm: alpha backup failed"], timeout=30)
    assert "folder of server alpha is missing" in receiver.received()[0]["message"]
    assert [r["status"] for r in _settle(gsm_home)] == ["sent"]


def test_the_supervisor_never_imports_apprise(gsm: GsmRunner, gsm_home: Path) -> None:
    server_id = _server_and_channels(gsm, gsm_home, ops="crash")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from gsm_cli import supervisor\n"
        "supervisor.without_openssl()\n"
        "from gsm_cli.supervisor_store import SupervisorStore\n"
        f"with SupervisorStore(Path({str(gsm_home / 'gsm.db')!r})) as store:\n"
        f"    store.record({server_id!r}, status='crashed', event='crash', exit_code=1)\n"
        "heavy = ('apprise', 'sqlalchemy', 'typer', 'rich', 'httpx', 'requests')\n"
        "print([m for m in heavy if sys.modules.get(m)])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert [r["status"] for r in _queue(gsm_home)] in (["pending"], ["failed"])
    end_senders(gsm_home)


def test_a_steamcmd_update_is_an_update_alert_for_each_server_of_the_game(
    gsm: GsmRunner,
    gsm_home: Path,
    receiver: Receiver,
    fake_steamcmd: FakeSteamCmd,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install(gsm, "valheim", tmp_path / "vh")
    _create_servers(gsm, "vh1", "vh2")
    _add(gsm, "ops", receiver.url(), "update")
    _add(gsm, "quiet", receiver.url("/quiet"))  # default events: no update
    monkeypatch.setenv("FAKE_STEAMCMD_BUILDID", "7654321")
    assert gsm("game", "update", "valheim").exit_code == 0
    wait_for(
        lambda: (
            sorted(receiver.titles())
            == ["gsm: vh1 game files updated", "gsm: vh2 game files updated"]
        )
    )
    assert "build 7654321" in receiver.received()[0]["message"]
    assert set(receiver.paths) == {"/hook"}
    assert [r["event"] for r in _settle(gsm_home)] == ["update", "update"]


def test_the_sender_waits_for_the_end_of_the_window_to_send_the_summary(
    gsm: GsmRunner, gsm_home: Path, receiver: Receiver
) -> None:
    _create_servers(gsm, "alpha")
    _add(gsm, "ops", receiver.url(), "crash")
    gsm("config", "set", "alerts.window", "2")
    conn = sqlite3.connect(gsm_home / "gsm.db", isolation_level=None)
    (server_id,) = conn.execute("SELECT id FROM local_servers").fetchone()
    now = datetime.now(UTC)
    for _ in range(3):
        _event(conn, server_id, "crash", now, status="starting", detail="restarting in 1s")
    conn.close()
    started = datetime.now(UTC)
    assert alerts.run_sender(gsm_home / "gsm.db") == 2  # returns once nothing waits
    waited = (datetime.now(UTC) - started).total_seconds()
    assert receiver.titles() == ["gsm: alpha crashed", "gsm: alpha crashed"]
    assert "crashed 3 times in 2 s" in receiver.received()[1]["message"]
    assert waited >= 0.5  # the summary was due at the end of the window, not at once
    assert [r["status"] for r in _queue(gsm_home)] == ["sent", "suppressed", "sent", "suppressed"]
