"""`gsm metrics show` and `gsm metrics export` over 1,000,000 samples, against sqlite3's own
time for the same work in the same run.

    .venv/bin/python benchmarks/metrics.py [--samples 1000000] [--servers 50] [--runs 9]
                                          [--export-runs 3]

Fills a fresh store with --samples samples spread over --servers servers (one sample per
server every 30 s, ending now: 20,000 per server, about 7 days), in one transaction. Then, each
timed as the median of --runs runs (--export-runs for exports) of the installed `gsm` program
(a new process each time):

- `gsm metrics show SERVER --since 7d --json`, one server's 20,000 samples; and the same
  command over a range with no sample (`--since 2000-01-01 --until 2000-01-02`), run in pairs:
  the fixed cost of a gsm command (Python, imports, opening the store), so that the median
  difference is the time gsm spends on the aggregate. Baselines: Python's sqlite3 module
  running the same aggregate (count, min, avg, max and the nearest-rank p95 of the four
  columns) in this process, in two ways: the plain SQL one would write (an aggregate query, then
  one ORDER BY ... LIMIT 1 OFFSET query per p95) and gsm's own statement; the faster of the two
  is the baseline. Both give the numbers gsm prints (checked). For scale, also a new Python
  process doing the plain SQL.
- `gsm metrics export --all --format csv -o FILE` and `--format json`, in rows per second;
  for scale, sqlite3 fetching the same rows in the same order without writing them.

Targets (issue 11): show under 0.5 s, and its aggregate within 2x of sqlite3's; export at
least 200,000 rows/s. Other programs running meanwhile slow every number: the load average
is printed before and after. The gsm runs may cache their bytecode (in a temporary
PYTHONPYCACHEPREFIX, even when PYTHONDONTWRITEBYTECODE is set here), as an installed gsm does.
"""

import argparse
import json
import math
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
INTERVAL = 30  # seconds between two samples of a server
# The seed's columns of performance_history. Not imported from gsm_cli: `--plain DB SID LO HI`
# runs plain_aggregate in a new Python that imports sqlite3 only.
COLUMNS = ("cpu_usage", "memory_usage", "network_latency", "player_count")
SHOW_TARGET_SECONDS = 0.5
SHOW_TARGET_RATIO = 2.0
EXPORT_TARGET_ROWS = 200_000


def gsm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(BIN / "gsm"), *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"gsm {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def median_time(work: Callable[[], Any], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def fill(store: Path, samples: int, server_count: int, now: datetime) -> list[tuple[str, str]]:
    """Servers and samples as supervisors would record them: every INTERVAL seconds, each
    server at its own second; CPU and latency with all their digits, memory in 1/256 MB (RSS
    in pages), and a failed query (latency and players NULL) now and then."""
    rng = random.Random(11)
    servers = [(str(uuid.uuid4()), f"server-{i:02d}") for i in range(server_count)]
    per_server = samples // server_count

    def rows() -> Any:
        for k in range(per_server):
            base = now - timedelta(seconds=INTERVAL * (per_server - k))
            for index, (sid, _name) in enumerate(servers):
                at = stamp(base + timedelta(seconds=index % INTERVAL))
                answered = rng.random() > 0.05
                yield (
                    sid,
                    rng.uniform(0, 150),
                    rng.randint(100_000, 800_000) / 256,
                    rng.uniform(5, 80) if answered else None,
                    rng.randint(0, 20) if answered else None,
                    at,
                )

    conn = sqlite3.connect(store)
    with conn:
        conn.executemany(
            "INSERT INTO local_servers (id, name, game_type, status) "
            "VALUES (?, ?, 'custom', 'stopped')",
            servers,
        )
        conn.executemany(
            "INSERT INTO performance_history (server_id, cpu_usage, memory_usage, "
            "network_latency, player_count, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
            rows(),
        )
    conn.close()
    return servers


def plain_aggregate(conn: sqlite3.Connection, params: tuple[str, str, str]) -> dict[str, Any]:
    """The aggregate as one would write it: count/min/avg/max, then each p95 on its own."""
    where = "server_id = ? AND recorded_at BETWEEN ? AND ?"
    row = conn.execute(
        "SELECT count(*), "
        + ", ".join(f"count({c}), min({c}), avg({c}), max({c})" for c in COLUMNS)
        + f" FROM performance_history WHERE {where}",
        params,
    ).fetchone()
    result: dict[str, Any] = {"samples": row[0]}
    for index, column in enumerate(COLUMNS):
        count, low, mean, high = row[1 + 4 * index : 5 + 4 * index]
        p95 = None
        if count:
            (p95,) = conn.execute(
                f"SELECT {column} FROM performance_history WHERE {where} "
                f"AND {column} IS NOT NULL ORDER BY {column} LIMIT 1 OFFSET ?",
                (*params, math.ceil(0.95 * count) - 1),
            ).fetchone()
        result[column] = {"min": low, "avg": mean, "p95": p95, "max": high}
    return result


def gsm_statement(conn: sqlite3.Connection, params: tuple[str, str, str]) -> None:
    """gsm's own single statement (services/metrics.summary)."""
    from gsm_cli.services import metrics

    sid, lo, hi = params
    conn.execute(metrics.SUMMARY_QUERY, {"sid": sid, "lo": lo, "hi": hi}).fetchone()


def same_numbers(shown: dict[str, Any], plain: dict[str, Any]) -> bool:
    if shown["samples"] != plain["samples"]:
        return False
    for column in COLUMNS:
        for stat in ("min", "avg", "p95", "max"):
            ours, theirs = shown[column][stat], plain[column][stat]
            if (ours is None) != (theirs is None):
                return False
            if ours is not None and not math.isclose(ours, round(theirs, 3), abs_tol=1e-9):
                return False
    return True


def verdict(ok: bool) -> str:
    return "pass" if ok else "MISS"


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    python = sys.version.split()[0]
    return f"{os.cpu_count()} CPUs ({model}), Python {python}, SQLite {sqlite3.sqlite_version}"


def load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def main() -> None:
    if sys.argv[1:2] == ["--plain"]:  # the baseline in a new process
        db, *params = sys.argv[2:]
        plain_aggregate(sqlite3.connect(db), (params[0], params[1], params[2]))
        return
    from gsm_cli.services import metrics

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--runs", type=int, default=9, help="runs of each show timing")
    parser.add_argument("--export-runs", type=int, default=3, help="runs of each export")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    print(f"load average before: {load()}")
    home = Path(tempfile.mkdtemp(prefix="gsm-bench-metrics-"))
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith("GSM_") and k != "PYTHONDONTWRITEBYTECODE"
        },
        "GSM_HOME": str(home),
        "CI": "1",
        # Bytecode caches allowed, in a folder of this run: an installed gsm has its .pyc
        # files, while with PYTHONDONTWRITEBYTECODE set (and none written yet) every run would
        # compile gsm's modules again (about 0.1 s more per command).
        "PYTHONPYCACHEPREFIX": str(home / "pycache"),
    }
    try:
        gsm(env, "config", "list")
        store = home / "gsm.db"
        now = datetime.now(UTC).replace(microsecond=0)
        started = time.perf_counter()
        servers = fill(store, args.samples, args.servers, now)
        print(
            f"filled {args.samples:,} samples of {args.servers} servers in "
            f"{time.perf_counter() - started:.1f} s; medians of {args.runs} runs (export: "
            f"{args.export_runs})"
        )

        sid, name = servers[len(servers) // 2]
        show = ("metrics", "show", name, "--since", "7d", "--json")
        shown = json.loads(gsm(env, *show).stdout)  # also fills the bytecode cache
        empty = ("metrics", "show", name, "--since", "2000-01-01", "--until", "2000-01-02")
        # In pairs, one right after the other, so that a burst of other work on the machine
        # weighs on both; the aggregate's time is the median of the pairs' differences.
        pairs = [
            (timed(lambda: gsm(env, *show)), timed(lambda: gsm(env, *empty, "--json")))
            for _ in range(args.runs)
        ]
        show_time = statistics.median(full for full, _ in pairs)
        fixed_time = statistics.median(bare for _, bare in pairs)
        aggregate_time = statistics.median(full - bare for full, bare in pairs)
        params = (sid, stamp(now - timedelta(days=7)), stamp(now))
        conn = sqlite3.connect(store)
        plain = plain_aggregate(conn, params)
        plain_time = median_time(lambda: plain_aggregate(conn, params), args.runs)
        statement_time = median_time(lambda: gsm_statement(conn, params), args.runs)
        process = [sys.executable, __file__, "--plain", str(store), *params]
        subprocess.run(process, check=True, env=env)  # its bytecode cached, as gsm's
        process_time = median_time(lambda: subprocess.run(process, check=True, env=env), args.runs)
        baseline = min(plain_time, statement_time)

        print(f"\ngsm metrics show {name} --since 7d --json ({shown['samples']:,} samples)")
        print(f"  gsm metrics show                        {show_time * 1000:8.1f} ms")
        print(f"  the same over an empty range            {fixed_time * 1000:8.1f} ms  (start-up)")
        print(f"  gsm's aggregate (the difference)        {aggregate_time * 1000:8.1f} ms")
        print(f"  sqlite3, plain SQL, in this process     {plain_time * 1000:8.1f} ms")
        print(f"  sqlite3, gsm's statement, this process  {statement_time * 1000:8.1f} ms")
        print(f"  sqlite3, plain SQL, a new Python        {process_time * 1000:8.1f} ms")
        print(f"  same numbers as sqlite3's: {'yes' if same_numbers(shown, plain) else 'NO'}")
        print(
            f"  target show < {SHOW_TARGET_SECONDS} s: {show_time:.3f} s "
            f"{verdict(show_time < SHOW_TARGET_SECONDS)}"
        )
        ratio = aggregate_time / baseline
        print(
            f"  target aggregate <= {SHOW_TARGET_RATIO:g}x sqlite3's ({baseline * 1000:.1f} ms): "
            f"{ratio:.2f}x {verdict(ratio <= SHOW_TARGET_RATIO)}"
        )
        print(
            f"  (whole command / a new Python with sqlite3: {show_time / process_time:.2f}x; "
            "gsm's start-up is the rest)"
        )

        print(f"\ngsm metrics export --all -o FILE ({args.samples:,} rows)")
        fetch_query = (
            "SELECT s.name, h.recorded_at, h.cpu_usage, h.memory_usage, h.network_latency, "
            "h.player_count FROM performance_history AS h LEFT JOIN local_servers AS s "
            "ON s.id = h.server_id ORDER BY h.recorded_at, h.id"
        )

        def fetch_all() -> None:
            cursor = conn.cursor()
            cursor.arraysize = metrics.EXPORT_BATCH
            cursor.execute(fetch_query)
            while cursor.fetchmany():
                pass

        fetch_time = median_time(fetch_all, args.export_runs)
        print(f"  sqlite3 fetching the rows, no output  {args.samples / fetch_time:12,.0f} rows/s")
        conn.close()
        for fmt in ("csv", "json"):
            out = home / f"export.{fmt}"
            command = ("metrics", "export", "--all", "--format", fmt, "-o", str(out))
            seconds = median_time(lambda command=command: gsm(env, *command), args.export_runs)
            lines = sum(1 for _ in out.open(encoding="utf-8"))
            expected = args.samples // args.servers * args.servers + (1 if fmt == "csv" else 2)
            if lines != expected:
                raise SystemExit(f"the {fmt} export has {lines} lines, not {expected}")
            rate = args.samples / seconds
            print(
                f"  gsm metrics export --format {fmt:<4}    {rate:12,.0f} rows/s  "
                f"({seconds:.2f} s, {out.stat().st_size / 1e6:.0f} MB)  "
                f"target >= {EXPORT_TARGET_ROWS:,}: {verdict(rate >= EXPORT_TARGET_ROWS)}"
            )
        print(f"\nload average after: {load()}")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
