"""`gsm sync push` of 10,000 operations against a plain psycopg executemany upsert of the same
rows, on a real gsm-cloud on PostgreSQL, in the same run.

10,000 servers are queued through the outbox in one local transaction and pushed with the
machinery of `gsm sync push` (services.sync.push, default batch size 500, two requests in
flight, over HTTP to a gsm-cloud with one worker per CPU). The baseline is what the database
alone needs for the same rows: psycopg's executemany of ``INSERT INTO game_servers ...
ON CONFLICT (id) DO UPDATE`` of the 10,000 servers (the same columns and values the push
writes, under other ids), one commit.

    .venv/bin/python benchmarks/sync_push.py [--ops 10000] [--batch-size 500] [--runs 3]

Each figure is the best of --runs runs (a fresh store and fresh ids each run). Targets
(issue 13): at least 12,000 ops/s, and at most 5x the time of the baseline.
PostgreSQL: GSM_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test); a
scratch database is created and dropped.
"""

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cloud import make_token, running_cloud, scratch_database

from gsm_cli.cloud.client import CloudClient
from gsm_cli.services import sync
from gsm_cli.store import Store, outbox
from gsm_cli.store.models import LocalServer

UPSERT = """
INSERT INTO game_servers (id, owner_id, name, game_type, status, configuration, max_players,
                          last_backup, created_at, updated_at, community_id)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now(), now(), NULL)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, game_type = excluded.game_type,
    status = excluded.status, configuration = excluded.configuration,
    max_players = excluded.max_players, last_backup = excluded.last_backup,
    updated_at = excluded.updated_at, community_id = excluded.community_id
"""


def queue_servers(path: Path, count: int) -> None:
    with Store.open(path) as store, store.write() as session:
        for i in range(count):
            server = LocalServer(
                id=str(uuid.uuid4()),
                name=f"bench-{i:05d}",
                game_type="valheim",
                status="stopped",
                configuration={"max_players": 10, "query_port": 2457},
                port=2456,
                install_path=f"/srv/gsm/bench-{i:05d}",
            )
            outbox.record(session, server, "create")


def queued_payloads(path: Path) -> list[dict]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT data_payload FROM pending_sync_operations ORDER BY id")
        return [json.loads(payload) for (payload,) in rows]


def left(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM pending_sync_operations").fetchone()[0]


def timed_push(url: str, token: str, path: Path, batch_size: int) -> tuple[float, dict]:
    with Store.open(path) as store, CloudClient(url, token, timeout=120) as client:
        started = time.perf_counter()
        summary = sync.push(store, client, batch_size=batch_size)
        elapsed = time.perf_counter() - started
    if summary["applied"] != summary["sent"] or left(path):
        raise SystemExit(f"push did not apply everything: {summary}")
    return elapsed, summary


def timed_executemany(database_url: str, owner: uuid.UUID, payloads: list[dict]) -> float:
    """The same servers (new ids), with the configuration the cloud stores for them."""
    rows = []
    for payload in payloads:
        configuration = dict(payload.get("configuration") or {})
        configuration["port"] = payload.get("port")
        configuration["install_path"] = payload.get("install_path")
        rows.append(
            (
                uuid.uuid4(),
                owner,
                payload["name"],
                payload["game_type"],
                payload["status"],
                json.dumps(configuration),
                configuration.get("max_players", 10),
                None,
            )
        )
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        started = time.perf_counter()
        with conn.cursor() as cursor:
            cursor.executemany(UPSERT, rows)
        conn.commit()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    workers = os.cpu_count() or 2
    print(f"machine: {workers} CPUs, {_cpu_model()}; gsm-cloud serve --workers {workers}")
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database() as database_url,
        running_cloud(database_url, workers=workers) as url,
    ):
        push_times, baseline_times = [], []
        for run in range(args.runs):
            store = Path(tmp) / f"run{run}.db"
            queue_servers(store, args.ops)
            payloads = queued_payloads(store)
            _user, token = make_token(database_url)
            owner, _token = make_token(database_url)
            baseline_times.append(timed_executemany(database_url, owner, payloads))
            elapsed, summary = timed_push(url, token, store, args.batch_size)
            push_times.append(elapsed)
            load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
            print(
                f"run {run + 1}: push {args.ops} ops in {elapsed:.2f}s "
                f"({summary['batches']} requests); executemany {baseline_times[-1]:.2f}s "
                f"(load average {load}; ratio in this run {elapsed / baseline_times[-1]:.1f}x)"
            )
        push_s, baseline_s = min(push_times), min(baseline_times)
        rate = args.ops / push_s
        ratio = push_s / baseline_s
        print(
            f"gsm sync push (batch size {args.batch_size}): {rate:,.0f} ops/s "
            f"({'meets' if rate >= 12_000 else 'MISSES'} the 12,000 ops/s target)"
        )
        print(f"psycopg executemany upsert: {args.ops / baseline_s:,.0f} rows/s")
        print(
            f"push / executemany time = {ratio:.1f}x "
            f"({'meets' if ratio <= 5 else 'MISSES'} the 5x target)"
        )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
