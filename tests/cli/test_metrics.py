"""gsm metrics show | export | prune over the store's performance_history (docs/metrics.md).

Samples are written straight into a real store file with sqlite3, as the collector would.
"""

import csv
import io
import json
import math
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gsm_cli.services import metrics
from tests.conftest import GsmRunner, fake_game_command, free_port

if TYPE_CHECKING:
    from gsm_cli.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)


def create(gsm: GsmRunner, name: str) -> str:
    result = gsm(
        "server", "create", name, "--game", "custom",
        "--command", fake_game_command(), "--port", str(free_port()), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return result.json()["id"]


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def insert(home: Path, server_id: str, samples: list[tuple]) -> None:
    """samples: (recorded_at datetime, cpu, memory, latency, players)."""
    with sqlite3.connect(home / "gsm.db") as conn:
        conn.executemany(
            "INSERT INTO performance_history (server_id, recorded_at, cpu_usage, memory_usage, "
            "network_latency, player_count) VALUES (?, ?, ?, ?, ?, ?)",
            [(server_id, stamp(at), *values) for at, *values in samples],
        )
    conn.close()


def count_rows(home: Path) -> int:
    conn = sqlite3.connect(home / "gsm.db")
    try:
        return conn.execute("SELECT count(*) FROM performance_history").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def alpha(gsm: GsmRunner, gsm_home: Path) -> str:
    return create(gsm, "alpha")


def nearest_rank_p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def test_show_json_stats_and_nearest_rank_p95(gsm: GsmRunner, gsm_home: Path, alpha: str) -> None:
    # 1..100 for cpu, in shuffled time order: p95 by nearest rank is 95.
    cpu = [float(v) for v in range(1, 101)]
    order = sorted(range(100), key=lambda i: (i * 37) % 100)
    samples = [
        (NOW - timedelta(minutes=100 - n), cpu[i], 1000.0 + i, 20.0, i % 7)
        for n, i in enumerate(order)
    ]
    insert(gsm_home, alpha, samples)
    result = gsm("metrics", "show", "alpha", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert list(data) == [
        "server", "since", "until", "samples",
        "cpu_usage", "memory_usage", "network_latency", "player_count",
    ]  # fmt: skip
    assert data["server"] == "alpha" and data["samples"] == 100
    assert data["cpu_usage"] == {"min": 1.0, "avg": 50.5, "p95": 95.0, "max": 100.0}
    assert data["memory_usage"] == {"min": 1000.0, "avg": 1049.5, "p95": 1094.0, "max": 1099.0}
    assert data["network_latency"] == {"min": 20.0, "avg": 20.0, "p95": 20.0, "max": 20.0}
    players = [i % 7 for i in range(100)]
    assert data["player_count"]["p95"] == nearest_rank_p95(players) == 6
    assert data["player_count"]["min"] == 0 and isinstance(data["player_count"]["max"], int)
    assert data["player_count"]["avg"] == round(sum(players) / 100, 3)
    assert data["until"].endswith("Z") and data["since"].endswith("Z")
    since = datetime.fromisoformat(data["since"])
    until = datetime.fromisoformat(data["until"])
    assert timedelta(hours=24) == until - since


@pytest.mark.parametrize(
    ("count", "rank"), [(1, 1), (2, 2), (19, 19), (20, 19), (21, 20), (40, 38)]
)
def test_p95_rank_for_small_counts(
    gsm: GsmRunner, gsm_home: Path, alpha: str, count: int, rank: int
) -> None:
    insert(
        gsm_home,
        alpha,
        [(NOW - timedelta(seconds=v), v, None, None, None) for v in range(1, count + 1)],
    )
    data = gsm("metrics", "show", "alpha", "--json").json()
    assert data["cpu_usage"]["p95"] == rank


def test_nulls_are_ignored_per_column(gsm: GsmRunner, gsm_home: Path, alpha: str) -> None:
    insert(
        gsm_home,
        alpha,
        [
            (NOW - timedelta(minutes=3), 10.0, None, None, None),
            (NOW - timedelta(minutes=2), None, 500.0, None, None),
            (NOW - timedelta(minutes=1), 30.0, None, None, None),
        ],
    )
    data = gsm("metrics", "show", "alpha", "--json").json()
    assert data["samples"] == 3
    assert data["cpu_usage"] == {"min": 10.0, "avg": 20.0, "p95": 30.0, "max": 30.0}
    assert data["memory_usage"] == {"min": 500.0, "avg": 500.0, "p95": 500.0, "max": 500.0}
    none = {"min": None, "avg": None, "p95": None, "max": None}
    assert data["network_latency"] == none and data["player_count"] == none
    table = gsm("metrics", "show", "alpha")
    assert table.exit_code == 0, table.stderr
    assert "(no values)" in table.stdout


def test_since_and_until_select_the_range(gsm: GsmRunner, gsm_home: Path, alpha: str) -> None:
    other = create(gsm, "beta")
    insert(
        gsm_home,
        alpha,
        [
            (datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC), 1.0, None, None, None),
            (datetime(2026, 12, 1, 0, 0, 0, tzinfo=UTC), 2.0, None, None, None),
            (datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC), 3.0, None, None, None),
            (datetime(2026, 12, 1, 10, 0, 1, tzinfo=UTC), 4.0, None, None, None),
        ],
    )
    insert(gsm_home, other, [(datetime(2026, 12, 1, 5, tzinfo=UTC), 99.0, None, None, None)])
    data = gsm(
        "metrics", "show", "alpha", "--since", "2026-12-01", "--until", "2026-12-01T10:00:00Z",
        "--json",
    ).json()  # fmt: skip
    assert data["samples"] == 2 and data["cpu_usage"]["max"] == 3.0
    assert data["since"] == "2026-12-01T00:00:00Z" and data["until"] == "2026-12-01T10:00:00Z"
    # An offset is converted to UTC: 12:00+02:00 is 10:00Z.
    shifted = gsm(
        "metrics", "show", "alpha", "--since", "2026-12-01T02:00:00+02:00",
        "--until", "2026-12-01T12:00:00+02:00", "--json",
    ).json()  # fmt: skip
    assert shifted["since"] == "2026-12-01T00:00:00Z" and shifted["samples"] == 2
    # Default: the last 24 hours only.
    assert gsm("metrics", "show", "alpha", "--json").json()["samples"] == 0


@pytest.mark.parametrize(
    ("text", "delta"),
    [("90s", timedelta(seconds=90)), ("30m", timedelta(minutes=30)), ("24h", timedelta(hours=24)),
     ("7d", timedelta(days=7)), ("2w", timedelta(weeks=2))],
)  # fmt: skip
def test_parse_since_durations(text: str, delta: timedelta) -> None:
    assert metrics.parse_since(text, NOW) == NOW - delta


def test_parse_since_iso_forms() -> None:
    assert metrics.parse_since("2026-12-01", NOW) == datetime(2026, 12, 1, tzinfo=UTC)
    assert metrics.parse_since("2026-12-01T10:00:00Z", NOW) == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert metrics.parse_since("2026-12-01T10:00:00", NOW) == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert metrics.parse_since("2026-12-01T10:00:00-05:00", NOW) == datetime(
        2026, 12, 1, 15, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "value",
    ["yesterday", "24", "h24", "-3d", "1.5h", "7y", "1M", "2026-13-01", "", "99999999999999w"],
)
@pytest.mark.parametrize("option", ["--since", "--until"])
def test_bad_times_exit_4_with_hint(gsm: GsmRunner, alpha: str, value: str, option: str) -> None:
    result = gsm("metrics", "show", "alpha", option, value)
    assert result.exit_code == 4, result.stderr
    assert f"for {option}" in result.stderr
    assert "hint:" in result.stderr and "24h" in result.stderr and "2026-12-01" in result.stderr
    as_json = gsm("metrics", "show", "alpha", option, value, "--json")
    assert as_json.exit_code == 4 and as_json.error()["code"] == "invalid_time"


def test_since_after_until_is_exit_4(gsm: GsmRunner, alpha: str) -> None:
    result = gsm("metrics", "show", "alpha", "--since", "1h", "--until", "2h", "--json")
    assert result.exit_code == 4
    assert result.error()["code"] == "invalid_time_range"
    assert result.stdout == ""


def test_unknown_server_is_exit_3(gsm: GsmRunner, alpha: str) -> None:
    result = gsm("metrics", "show", "alpah")
    assert result.exit_code == 3
    assert "no server named 'alpah'" in result.stderr and "did you mean alpha" in result.stderr
    assert gsm("metrics", "show", "nope", "--json").error()["code"] == "server_not_found"
    assert gsm("metrics", "export", "nope").exit_code == 3


def test_empty_history(gsm: GsmRunner, alpha: str) -> None:
    table = gsm("metrics", "show", "alpha")
    assert table.exit_code == 0, table.stderr
    assert "no samples for alpha" in table.stderr
    assert "Traceback" not in table.stderr + table.stdout
    data = gsm("metrics", "show", "alpha", "--json")
    assert data.exit_code == 0
    assert data.json()["samples"] == 0
    assert data.json()["cpu_usage"] == {"min": None, "avg": None, "p95": None, "max": None}
    exported = gsm("metrics", "export", "alpha", "--format", "json")
    assert exported.exit_code == 0 and json.loads(exported.stdout) == []
    as_csv = gsm("metrics", "export", "alpha")
    assert as_csv.stdout.splitlines() == [",".join(metrics.FIELDS)]


def test_show_table_and_csv(gsm: GsmRunner, gsm_home: Path, alpha: str) -> None:
    insert(
        gsm_home,
        alpha,
        [(NOW - timedelta(minutes=60 - m), float(m), 2048.0 + m, 12.5, m // 10) for m in range(60)],
    )
    table = gsm("metrics", "show", "alpha", "-o", "table")
    assert table.exit_code == 0, table.stderr
    out = table.stdout
    assert "alpha: 60 samples" in out
    for word in ("cpu_usage", "memory_usage", "network_latency", "player_count", "MB", "ms", "P95"):
        assert word in out
    # A rising CPU draws a rising sparkline: its lowest block first, its highest last.
    chart = next(
        line for line in out.splitlines() if line.strip().startswith("cpu_usage") and ".." in line
    )
    bars = chart.split()[1]
    assert bars[0] == "▁" and bars[-1] == "█" and len(bars) == 40
    rows = list(csv.DictReader(io.StringIO(gsm("metrics", "show", "alpha", "-o", "csv").stdout)))
    assert [row["metric"] for row in rows] == list(metrics.COLUMNS)
    assert rows[0]["samples"] == "60" and rows[0]["max"] == "59.0" and rows[0]["unit"] == "%"


def test_sparkline() -> None:
    from gsm_cli.commands.metrics import sparkline

    assert sparkline([0, 7, None, 3.5]) == "▁█ ▅"
    assert sparkline([5, 5]) == "▄▄"
    assert sparkline([None, None]) == "  "


def test_series_buckets_in_sql(gsm: GsmRunner, gsm_home: Path, alpha: str) -> None:
    from gsm_cli.store import Store

    start = datetime(2026, 12, 1, tzinfo=UTC)
    insert(
        gsm_home,
        alpha,
        [(start + timedelta(minutes=m), float(m), None, None, None) for m in range(100)],
    )
    with Store.open(gsm_home / "gsm.db") as store:
        chart = metrics.series(store, "alpha", start, start + timedelta(days=1), buckets=10)
    assert chart.start == "2026-12-01T00:00:00Z" and chart.end == "2026-12-01T01:39:00Z"
    values = chart.values["cpu_usage"]
    assert len(values) == 10 and values[0] is not None and values[-1] is not None
    assert values == sorted(values)  # rising
    assert chart.values["memory_usage"] == [None] * 10
    # A recorded_at that is not a time (written by hand) is left out, never a crash.
    conn = sqlite3.connect(gsm_home / "gsm.db")
    with conn:
        conn.execute(
            "INSERT INTO performance_history (server_id, recorded_at, cpu_usage) "
            "VALUES (?, '2026-12-01 zz', 5.0)",
            (alpha,),
        )
    conn.close()
    with Store.open(gsm_home / "gsm.db") as store:
        again = metrics.series(store, "alpha", start, start + timedelta(days=1), buckets=10)
    assert again == chart


def export_samples(gsm: GsmRunner, home: Path, alpha: str) -> str:
    beta = create(gsm, "beta")
    base = datetime(2026, 12, 1, 8, tzinfo=UTC)
    insert(home, beta, [(base + timedelta(seconds=20), 5.0, 300.0, None, 2)])
    insert(
        home,
        alpha,
        [
            (base + timedelta(seconds=30), 1.5, 1024.0, 35.25, 3),
            (base, 2.5, None, None, None),
        ],
    )
    insert(home, beta, [(base + timedelta(seconds=10), 6.0, 301.0, 9.0, 0)])
    return beta


def test_export_csv_in_time_order(gsm: GsmRunner, gsm_home: Path, alpha: str) -> None:
    export_samples(gsm, gsm_home, alpha)
    result = gsm("metrics", "export", "--all", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "server,recorded_at,cpu_usage,memory_usage,network_latency,player_count",
        "alpha,2026-12-01T08:00:00Z,2.5,,,",
        "beta,2026-12-01T08:00:10Z,6.0,301.0,9.0,0",
        "beta,2026-12-01T08:00:20Z,5.0,300.0,,2",
        "alpha,2026-12-01T08:00:30Z,1.5,1024.0,35.25,3",
    ]
    one = gsm("metrics", "export", "alpha").stdout.splitlines()
    assert [line.split(",")[0] for line in one[1:]] == ["alpha", "alpha"]
    ranged = gsm(
        "metrics", "export", "--all", "--since", "2026-12-01T08:00:10Z",
        "--until", "2026-12-01T08:00:20Z",
    ).stdout.splitlines()  # fmt: skip
    assert len(ranged) == 3 and ranged[1].startswith("beta,2026-12-01T08:00:10Z")


def test_export_json_array(gsm: GsmRunner, gsm_home: Path, alpha: str) -> None:
    export_samples(gsm, gsm_home, alpha)
    result = gsm("metrics", "export", "--all", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["server"], r["recorded_at"]) for r in rows] == [
        ("alpha", "2026-12-01T08:00:00Z"),
        ("beta", "2026-12-01T08:00:10Z"),
        ("beta", "2026-12-01T08:00:20Z"),
        ("alpha", "2026-12-01T08:00:30Z"),
    ]
    assert rows[0] == {
        "server": "alpha", "recorded_at": "2026-12-01T08:00:00Z", "cpu_usage": 2.5,
        "memory_usage": None, "network_latency": None, "player_count": None,
    }  # fmt: skip
    assert rows[3]["player_count"] == 3 and rows[3]["network_latency"] == 35.25
    # One sample per line, between the brackets: a reader can stream it.
    assert len(result.stdout.splitlines()) == 6


def test_export_to_file_atomically(
    gsm: GsmRunner, gsm_home: Path, alpha: str, tmp_path: Path
) -> None:
    export_samples(gsm, gsm_home, alpha)
    target = tmp_path / "out.json"
    target.write_text("old")
    result = gsm("metrics", "export", "alpha", "--format", "json", "-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "exported 2 samples" in result.stderr
    assert [r["cpu_usage"] for r in json.loads(target.read_text())] == [2.5, 1.5]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []
    missing = gsm("metrics", "export", "alpha", "-o", str(tmp_path / "no" / "such" / "f.csv"))
    assert missing.exit_code == 4 and "cannot write" in missing.stderr


def test_export_needs_a_server_or_all(gsm: GsmRunner, alpha: str) -> None:
    assert gsm("metrics", "export").exit_code == 4
    assert gsm("metrics", "export", "alpha", "--all").exit_code == 4
    bad = gsm("metrics", "export", "alpha", "--format", "xml")
    assert bad.exit_code == 4 and "expected one of csv, json" in bad.stderr


def test_export_streams_without_loading_everything(
    gsm_home: Path, gsm: GsmRunner, alpha: str
) -> None:
    from gsm_cli.store import Store

    insert(
        gsm_home,
        alpha,
        [(NOW - timedelta(seconds=s), 1.0, 1.0, 1.0, 1) for s in range(metrics.EXPORT_BATCH * 3)],
    )
    with Store.open(gsm_home / "gsm.db") as store:
        rows = metrics.export_rows(store, None, None, None)
        first = next(rows)
        assert first["server"] == "alpha" and first["recorded_at"].endswith("Z")
        assert sum(1 for _ in rows) + 1 == metrics.EXPORT_BATCH * 3
        sizes = [len(batch) for batch in metrics.export_batches(store, ["alpha"], None, None)]
        assert sizes == [metrics.EXPORT_BATCH] * 3


def test_prune_counts_and_boundary(gsm: GsmRunner, gsm_home: Path, alpha: str) -> None:
    from gsm_cli.store import Store

    cutoff = datetime(2026, 12, 1, tzinfo=UTC)
    insert(
        gsm_home,
        alpha,
        [
            (cutoff - timedelta(seconds=1), 1.0, None, None, None),
            (cutoff, 2.0, None, None, None),
            (cutoff + timedelta(seconds=1), 3.0, None, None, None),
        ],
    )
    with Store.open(gsm_home / "gsm.db") as store:
        assert metrics.prune(store, cutoff) == 1  # strictly older only
        assert metrics.prune(store, cutoff) == 0
    assert count_rows(gsm_home) == 2


def test_prune_command(
    gsm: GsmRunner, gsm_home: Path, alpha: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "PRUNE_BATCH", 7)  # several batches
    old = [(NOW - timedelta(days=31, minutes=m), 1.0, None, None, None) for m in range(20)]
    recent = [(NOW - timedelta(days=29, minutes=m), 1.0, None, None, None) for m in range(5)]
    insert(gsm_home, alpha, old + recent)
    result = gsm("metrics", "prune", "--older-than", "30d", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["deleted"] == 20 and data["hourly_averages"] == 0
    assert list(data) == ["deleted", "older_than", "hourly_averages"]
    assert data["older_than"].endswith("Z")
    assert count_rows(gsm_home) == 5
    again = gsm("metrics", "prune", "--older-than", "30d")
    assert again.exit_code == 0 and "deleted 0 samples" in again.stderr
    bad = gsm("metrics", "prune", "--older-than", "2026-12-01")
    assert bad.exit_code == 4 and "hint:" in bad.stderr
    assert gsm("metrics", "prune").exit_code == 2


def samples_by_time(home: Path) -> list[tuple]:
    conn = sqlite3.connect(home / "gsm.db")
    try:
        return conn.execute(
            "SELECT s.name, h.recorded_at, h.cpu_usage, h.memory_usage, h.network_latency, "
            "h.player_count FROM performance_history h JOIN local_servers s ON s.id = h.server_id "
            "ORDER BY h.recorded_at, s.name"
        ).fetchall()
    finally:
        conn.close()


def test_prune_rollup_into_hourly_averages(gsm: GsmRunner, gsm_home: Path, alpha: str) -> None:
    beta = create(gsm, "beta")
    cutoff = NOW - timedelta(days=30)
    hour = (cutoff - timedelta(days=2)).replace(minute=0, second=0)
    insert(
        gsm_home,
        alpha,
        [
            (hour + timedelta(minutes=1), 10.0, 100.0, None, 1),
            (hour + timedelta(minutes=20), 20.0, 300.0, 30.0, 2),
            (hour + timedelta(minutes=59, seconds=59), 60.0, None, None, 2),
            (hour + timedelta(hours=1, minutes=5), 7.0, 70.0, 7.0, 7),  # alone in its hour
            (cutoff + timedelta(minutes=1), 99.0, 99.0, 99.0, 9),  # newer: untouched
        ],
    )
    insert(gsm_home, beta, [(hour + timedelta(minutes=m), 1.0, 1.0, 1.0, 0) for m in range(3)])
    result = gsm("metrics", "prune", "--older-than", "30d", "--rollup", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["deleted"] == 6 and data["hourly_averages"] == 2
    start = stamp(hour)
    assert samples_by_time(gsm_home) == [
        ("alpha", start, 30.0, 200.0, 30.0, 2),  # player_count: round(5 / 3)
        ("beta", start, 1.0, 1.0, 1.0, 0),
        ("alpha", stamp(hour + timedelta(hours=1, minutes=5)), 7.0, 70.0, 7.0, 7),
        ("alpha", stamp(cutoff + timedelta(minutes=1)), 99.0, 99.0, 99.0, 9),
    ]
    again = gsm("metrics", "prune", "--older-than", "30d", "--rollup")
    assert again.exit_code == 0 and "rolled 0 samples" in again.stderr
    assert len(samples_by_time(gsm_home)) == 4


def test_rollup_in_several_transactions(
    gsm: GsmRunner, gsm_home: Path, alpha: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gsm_cli.store import Store

    monkeypatch.setattr(metrics, "ROLLUP_HOURS", 1)
    cutoff = datetime(2026, 12, 1, 5, 30, tzinfo=UTC)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    # Every 10 minutes from 00:00 to 06:50: 6 samples an hour, 42 in all.
    insert(
        gsm_home,
        alpha,
        [(start + timedelta(minutes=10 * k), float(k), None, None, None) for k in range(42)],
    )
    with Store.open(gsm_home / "gsm.db") as store:
        rolled = metrics.rollup(store, cutoff)
    # Hours 0-4 (30 samples) and 05:00-05:20 (3 samples, before the cutoff) roll up.
    assert rolled == metrics.Rollup(removed=33, written=6)
    rows = samples_by_time(gsm_home)
    assert [r[1] for r in rows[:6]] == [stamp(start + timedelta(hours=h)) for h in range(6)]
    assert [r[2] for r in rows[:6]] == [2.5, 8.5, 14.5, 20.5, 26.5, 31.0]
    assert len(rows) == 6 + 42 - 33


def test_help_of_every_subcommand(gsm: GsmRunner) -> None:
    for sub in ("show", "export", "prune"):
        result = gsm("metrics", sub, "--help")
        assert result.exit_code == 0 and "--help" in result.stdout
    assert "metrics" in gsm("--help").stdout


def both_ways(store: "Store", fmt: str) -> tuple[str, str]:
    """An export written the fast way (an Export) and from its tuples (a plain list)."""
    fast, plain = io.StringIO(), io.StringIO()
    metrics.write_rows(metrics.export_batches(store, None, None, None), fmt, fast)
    metrics.write_rows(list(metrics.export_batches(store, None, None, None)), fmt, plain)
    return fast.getvalue(), plain.getvalue()


def test_export_fast_way_writes_the_same_bytes(gsm: GsmRunner, gsm_home: Path, alpha: str) -> None:
    from gsm_cli.store import Store

    base = datetime(2026, 12, 1, 8, tzinfo=UTC)
    insert(
        gsm_home,
        alpha,
        [
            (base, 0.1 + 0.2, 1435.38671875, 12.000000000000002, 3),
            (base + timedelta(seconds=1), -0.0, 1e16, 1e-7, 0),
            (base + timedelta(seconds=2), float("inf"), float("-inf"), None, None),
            (base + timedelta(seconds=3), None, None, None, 2**40),
            (base + timedelta(seconds=4), 5, 123456789.123, 3.0, None),  # 5: an INTEGER in REAL
        ],
    )
    insert(gsm_home, "gone-server-id", [(base + timedelta(seconds=2), 1.5, 2.0, 3.0, 4)])
    with Store.open(gsm_home / "gsm.db") as store:
        for fmt in ("csv", "json"):
            fast, plain = both_ways(store, fmt)
            assert fast == plain, fmt
    with Store.open(gsm_home / "gsm.db") as store:
        text, _ = both_ways(store, "csv")
    assert text.splitlines()[1:4] == [
        "alpha,2026-12-01T08:00:00Z,0.30000000000000004,1435.38671875,12.000000000000002,3",
        "alpha,2026-12-01T08:00:01Z,0.0,1e+16,1e-07,0",  # SQLite keeps no -0.0
        "alpha,2026-12-01T08:00:02Z,inf,-inf,,",
    ]
    assert text.splitlines()[4] == ",2026-12-01T08:00:02Z,1.5,2.0,3.0,4"  # server gone
    with Store.open(gsm_home / "gsm.db") as store:
        rows = json.loads(both_ways(store, "json")[0])
    assert rows[2]["cpu_usage"] is None and rows[2]["memory_usage"] is None  # no infinity
    assert rows[3]["server"] is None and rows[4]["player_count"] == 2**40


def test_export_of_hand_written_odd_rows(gsm: GsmRunner, gsm_home: Path, alpha: str) -> None:
    """Rows gsm never writes (a time with a comma or a quote, text in a number column) are
    written by the csv and json modules, quoted and escaped as they should be."""
    from gsm_cli.store import Store

    insert(gsm_home, alpha, [(datetime(2026, 12, 1, 8, tzinfo=UTC), 1.0, 2.0, 3.0, 4)])
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        conn.execute(
            "INSERT INTO performance_history (server_id, recorded_at, cpu_usage) "
            "VALUES (?, '2026-12-01 09:00:00,5 \"x\"', 'n/a, really')",
            (alpha,),
        )
        conn.execute(  # no time at all: first in time order, an empty cell or null
            "INSERT INTO performance_history (server_id, recorded_at, cpu_usage) "
            "VALUES (?, NULL, 7.5)",
            (alpha,),
        )
    conn.close()
    with Store.open(gsm_home / "gsm.db") as store:
        for fmt in ("csv", "json"):
            fast, plain = both_ways(store, fmt)
            assert fast == plain, fmt
        text, _ = both_ways(store, "csv")
        parsed = list(csv.reader(io.StringIO(text)))
        assert parsed[1][:3] == ["alpha", "", "7.5"]
        assert parsed[3][:3] == ["alpha", '2026-12-01T09:00:00,5T"x"Z', "n/a, really"]
        rows = json.loads(both_ways(store, "json")[0].replace("'n/a, really'", "null"))
        assert rows[0]["recorded_at"] is None
        assert rows[2]["recorded_at"] == '2026-12-01T09:00:00,5T"x"Z'


def test_samples_gsm_records_take_the_fast_way(gsm: GsmRunner, gsm_home: Path, alpha: str) -> None:
    """Rows written by the collector itself never count as odd (else every export would be
    formatted row by row by the csv and json modules: correct, but slow)."""
    from gsm_cli.services import sampling
    from gsm_cli.store import Store

    with Store.open(gsm_home / "gsm.db") as store:
        sampling.record(store, alpha, sampling.Sample(12.345678901234567, 1024.5, 3.25, 4))
        sampling.record(store, alpha, sampling.Sample(None, None, None, None))
        fast, plain = both_ways(store, "json")
        assert fast == plain
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        for fmt in ("csv", "json"):
            query = f"SELECT count(*) FROM performance_history AS h WHERE {metrics._ODD_ROW[fmt]}"
            assert conn.execute(query).fetchone() == (0,)
    conn.close()
