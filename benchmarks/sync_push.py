"""Batched `gsm sync push` against one request per operation, on a real gsm-cloud on PostgreSQL.

10,000 servers are queued through the outbox in one local transaction and pushed with the
machinery of `gsm sync push` (services.sync.push, default batch size 500). The comparison is
the same push with a batch size of 1, bounded to 500 operations (its rate is extrapolated).

    .venv/bin/python benchmarks/sync_push.py [--ops 10000] [--single-ops 500] [--batch-size 500]

PostgreSQL: GSM_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test); a
scratch database is created and dropped.
"""

import argparse
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cloud import make_token, running_cloud, scratch_database

from gsm_cli.cloud.client import CloudClient
from gsm_cli.services import sync
from gsm_cli.store import Store, outbox
from gsm_cli.store.models import LocalServer


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--single-ops", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database() as database_url,
        running_cloud(database_url) as url,
    ):
        batched_store, single_store = Path(tmp) / "batched.db", Path(tmp) / "single.db"
        started = time.perf_counter()
        queue_servers(batched_store, args.ops)
        queue_servers(single_store, args.single_ops)
        print(
            f"queued {args.ops} + {args.single_ops} operations through the outbox "
            f"in {time.perf_counter() - started:.1f}s"
        )
        _user, token = make_token(database_url)
        _user2, token2 = make_token(database_url)

        batched_s, summary = timed_push(url, token, batched_store, args.batch_size)
        batched_rate = args.ops / batched_s
        print(
            f"batched (batch size {args.batch_size}): {args.ops} ops in {batched_s:.2f}s "
            f"= {batched_rate:,.0f} ops/s ({summary['batches']} requests)"
        )
        single_s, _summary = timed_push(url, token2, single_store, 1)
        single_rate = args.single_ops / single_s
        print(
            f"one request per operation: {args.single_ops} ops in {single_s:.2f}s "
            f"= {single_rate:,.0f} ops/s (extrapolated to {args.ops} ops: "
            f"{args.ops / single_rate:.0f}s)"
        )
        ratio = batched_rate / single_rate
        verdict = "meets" if ratio >= 20 else "MISSES"
        print(f"batched / single = {ratio:.1f}x ({verdict} the 20x target)")


if __name__ == "__main__":
    main()
