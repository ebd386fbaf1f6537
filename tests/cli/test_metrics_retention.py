"""Automatic retention of performance samples: metrics.apply_retention (docs/metrics.md).

Real store files; samples are written with sqlite3 as the collector would, and "now" is
passed in (``at``) so that the once-an-hour guard is tested without waiting.
"""

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gsm_cli.services import metrics, settings
from gsm_cli.store import Store
from tests.cli.test_metrics import create, insert, samples_by_time, stamp
from tests.conftest import GsmRunner

NOW = datetime(2026, 12, 3, 14, 37, 20, tzinfo=UTC)
RETENTION = timedelta(days=30)
CUTOFF = NOW - RETENTION  # 2026-11-03 14:37:20


@pytest.fixture
def servers(gsm: GsmRunner) -> tuple[str, str]:
    return create(gsm, "alpha"), create(gsm, "beta")


@pytest.fixture
def store(gsm_home: Path, servers: tuple[str, str]) -> Iterator[Store]:
    with Store.open(gsm_home / "gsm.db") as opened:
        yield opened


def test_old_samples_are_deleted_recent_ones_kept(
    gsm_home: Path, servers: tuple[str, str], store: Store
) -> None:
    alpha, beta = servers
    insert(gsm_home, alpha, [(CUTOFF - timedelta(days=d), 1.0, 1.0, 1.0, 1) for d in (1, 2, 3)])
    insert(gsm_home, alpha, [(CUTOFF - timedelta(seconds=1), 2.0, 2.0, 2.0, 2)])
    insert(gsm_home, alpha, [(CUTOFF, 3.0, 3.0, 3.0, 3)])  # exactly 30 days old: kept
    insert(gsm_home, beta, [(NOW - timedelta(days=d), 4.0, 4.0, 4.0, 4) for d in (0, 1, 29)])

    result = metrics.apply_retention(store, {}, at=NOW)

    assert result == metrics.RetentionResult(CUTOFF, False, 4, 0, complete=True)
    assert result.to_dict()["older_than"] == "2026-11-03T14:37:20Z"
    assert [(r[0], r[1]) for r in samples_by_time(gsm_home)] == [
        ("alpha", stamp(CUTOFF)),
        ("beta", stamp(NOW - timedelta(days=29))),
        ("beta", stamp(NOW - timedelta(days=1))),
        ("beta", stamp(NOW)),
    ]


def test_retention_days_setting_is_read(
    gsm: GsmRunner, gsm_home: Path, servers: tuple[str, str], store: Store
) -> None:
    assert gsm("config", "set", "metrics.retention_days", "7").exit_code == 0
    insert(gsm_home, servers[0], [(NOW - timedelta(days=d), 1.0, 1.0, 1.0, 1) for d in (6, 8)])
    result = metrics.apply_retention(store, {}, at=NOW)
    assert result is not None and result.deleted == 1
    assert result.older_than == NOW - timedelta(days=7)
    assert [r[1] for r in samples_by_time(gsm_home)] == [stamp(NOW - timedelta(days=6))]


def test_rollup_averages_each_server_per_hour(
    gsm: GsmRunner, gsm_home: Path, servers: tuple[str, str], store: Store
) -> None:
    alpha, beta = servers
    set_rollup = gsm("config", "set", "metrics.rollup", "yes", "--json")
    assert set_rollup.exit_code == 0 and set_rollup.json()["value"] == "true"
    hour = (CUTOFF - timedelta(days=2)).replace(minute=0, second=0)  # 2026-11-01 14:00
    cut_hour = CUTOFF.replace(minute=0, second=0)  # 2026-11-03 14:00, holds the cutoff
    insert(
        gsm_home,
        alpha,
        [
            (hour + timedelta(minutes=1), 10.0, 100.0, None, 1),
            (hour + timedelta(minutes=30), 20.0, 300.0, 30.0, 2),
            (hour + timedelta(minutes=59), 60.0, None, None, 2),
            (hour + timedelta(hours=2, minutes=5), 7.0, 70.0, 7.0, 7),  # alone in its hour
            (cut_hour + timedelta(minutes=10), 5.0, 5.0, 5.0, 5),  # before the cutoff, but
            (cut_hour + timedelta(minutes=20), 6.0, 6.0, 6.0, 6),  # its hour is not over
            (NOW - timedelta(days=1), 99.0, 99.0, 99.0, 9),  # recent
        ],
    )
    insert(gsm_home, beta, [(hour + timedelta(minutes=m), 1.0, 2.0, 3.0, 0) for m in (5, 6)])

    result = metrics.apply_retention(store, {}, at=NOW)

    assert result == metrics.RetentionResult(cut_hour, True, 5, 2, complete=True)
    assert samples_by_time(gsm_home) == [
        ("alpha", stamp(hour), 30.0, 200.0, 30.0, 2),  # player_count: round(5 / 3)
        ("beta", stamp(hour), 1.0, 2.0, 3.0, 0),  # beta's hour averaged on its own
        ("alpha", stamp(hour + timedelta(hours=2, minutes=5)), 7.0, 70.0, 7.0, 7),
        ("alpha", stamp(cut_hour + timedelta(minutes=10)), 5.0, 5.0, 5.0, 5),
        ("alpha", stamp(cut_hour + timedelta(minutes=20)), 6.0, 6.0, 6.0, 6),
        ("alpha", stamp(NOW - timedelta(days=1)), 99.0, 99.0, 99.0, 9),
    ]
    # An hour later the cut hour is over: it is rolled whole, the earlier averages stay.
    later = metrics.apply_retention(store, {}, at=NOW + timedelta(hours=1))
    assert later == metrics.RetentionResult(cut_hour + timedelta(hours=1), True, 2, 1, True)
    assert samples_by_time(gsm_home)[3] == ("alpha", stamp(cut_hour), 5.5, 5.5, 5.5, 6)
    assert len(samples_by_time(gsm_home)) == 5


def test_retention_is_idempotent(
    gsm: GsmRunner, gsm_home: Path, servers: tuple[str, str], store: Store
) -> None:
    assert gsm("config", "set", "metrics.rollup", "true").exit_code == 0
    start = (CUTOFF - timedelta(days=3)).replace(minute=0, second=0)
    for server in servers:  # every 10 minutes for 2 days, 30 days back; and recent ones
        insert(
            gsm_home,
            server,
            [(start + timedelta(minutes=10 * k), float(k), 1.0, None, k % 3) for k in range(288)]
            + [(NOW - timedelta(minutes=10 * k), 1.0, 1.0, 1.0, 1) for k in range(30)],
        )
    first = metrics.apply_retention(store, {}, at=NOW)
    assert first is not None and first.deleted == 2 * 288 and first.hourly_averages == 2 * 48
    rows = samples_by_time(gsm_home)
    for later in (timedelta(hours=1), timedelta(hours=2, minutes=30)):
        again = metrics.apply_retention(store, {}, at=NOW + later)
        assert again is not None and (again.deleted, again.hourly_averages) == (0, 0)
        assert samples_by_time(gsm_home) == rows


def test_runs_at_most_once_an_hour(gsm_home: Path, servers: tuple[str, str], store: Store) -> None:
    old = [(CUTOFF - timedelta(days=1), 1.0, 1.0, 1.0, 1)]
    insert(gsm_home, servers[0], old)
    assert metrics.apply_retention(store, {}, at=NOW) is not None
    insert(gsm_home, servers[0], old)
    for minutes in (0, 1, 59):
        assert metrics.apply_retention(store, {}, at=NOW + timedelta(minutes=minutes)) is None
    assert len(samples_by_time(gsm_home)) == 1  # left for the next run
    result = metrics.apply_retention(store, {}, at=NOW + timedelta(hours=1))
    assert result is not None and result.deleted == 1
    # Another process (its own Store) sees the same mark.
    with Store.open(gsm_home / "gsm.db") as other:
        assert metrics.apply_retention(other, {}, at=NOW + timedelta(minutes=61)) is None
    # A clock set back (the mark is in the future) does not stop retention for good.
    assert metrics.apply_retention(store, {}, at=NOW - timedelta(days=1)) is not None
    # The mark is not a setting: gsm config neither lists nor takes it.
    assert metrics.RETENTION_MARK not in {s.key for s in settings.list_settings(store, {})}


def test_a_locked_store_does_not_raise_and_is_tried_again(
    gsm_home: Path, servers: tuple[str, str], store: Store
) -> None:
    insert(gsm_home, servers[0], [(CUTOFF - timedelta(days=1), 1.0, 1.0, 1.0, 1)])
    holder = sqlite3.connect(gsm_home / "gsm.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the store
        started = time.monotonic()
        assert metrics.apply_retention(store, {}, at=NOW, lock_wait=0.2) is None
        assert time.monotonic() - started < 5  # waited briefly, not the 30 s busy timeout
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    result = metrics.apply_retention(store, {}, at=NOW + timedelta(minutes=1))
    assert result is not None and result.deleted == 1  # the failed try claimed nothing
    # The pooled connection got its normal busy timeout back.
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        assert raw.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000


def test_rollup_setting_values(gsm: GsmRunner) -> None:
    listed = {row["key"]: row for row in gsm("config", "list", "--json").json()}
    assert listed["metrics.rollup"]["value"] == "false"
    assert listed["metrics.rollup"]["default"] == "false"
    for raw, stored in (("ON", "true"), ("0", "false"), (" No ", "false"), ("1", "true")):
        result = gsm("config", "set", "metrics.rollup", raw, "--json")
        assert result.exit_code == 0 and result.json()["value"] == stored
    bad = gsm("config", "set", "metrics.rollup", "maybe")
    assert bad.exit_code == 4 and "expected true or false" in bad.stderr


def test_a_backlog_is_worked_off_over_several_calls(
    gsm: GsmRunner,
    gsm_home: Path,
    servers: tuple[str, str],
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each call works for its time budget at most (here none: one transaction) and gives its
    claim back, so the next call goes on instead of waiting an hour."""
    monkeypatch.setattr(metrics, "PRUNE_BATCH", 3)
    insert(
        gsm_home, servers[0], [(CUTOFF - timedelta(hours=h), 1.0, 1.0, 1.0, 1) for h in range(8)]
    )
    deleted = []
    for minute in range(3):
        result = metrics.apply_retention(store, {}, at=NOW + timedelta(minutes=minute), budget=0)
        assert result is not None and not result.complete
        deleted.append(result.deleted)
    assert deleted == [3, 3, 2] and samples_by_time(gsm_home) == []
    last = metrics.apply_retention(store, {}, at=NOW + timedelta(minutes=3))
    assert last is not None and last.complete and last.deleted == 0
    assert metrics.apply_retention(store, {}, at=NOW + timedelta(minutes=4)) is None

    monkeypatch.setattr(metrics, "ROLLUP_HOURS", 1)
    assert gsm("config", "set", "metrics.rollup", "true").exit_code == 0
    old = (CUTOFF - timedelta(days=1)).replace(minute=0, second=0)
    insert(
        gsm_home,
        servers[1],
        [(old + timedelta(hours=h, minutes=m), 2.0, 2.0, 2.0, 2) for h in range(3) for m in (1, 2)],
    )
    later = NOW + timedelta(hours=2)
    rolled = metrics.apply_retention(store, {}, at=later, budget=0)
    assert rolled is not None and (rolled.deleted, rolled.hourly_averages) == (2, 1)
    rest = metrics.apply_retention(store, {}, at=later + timedelta(seconds=1))
    assert rest is not None and rest.complete and (rest.deleted, rest.hourly_averages) == (4, 2)
    assert [r[1] for r in samples_by_time(gsm_home)] == [
        stamp(old + timedelta(hours=h)) for h in range(3)
    ]
