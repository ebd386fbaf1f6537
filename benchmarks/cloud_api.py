"""gsm-cloud under concurrent load on this machine: plugin search and sync push.

    python benchmarks/cloud_api.py [--clients N] [--requests N] [--seconds S]

Starts gsm-cloud (uvicorn, 2 workers) on a scratch PostgreSQL database on a free loopback
port, seeds a plugin catalog, then runs the load from a separate client process (threads with
their own connections). Every phase is bounded by a request count and a time limit. Prints
requests per second and p50/p99 latency per phase; the baseline is GET /healthz in the same run.
"""

import argparse
import json
import multiprocessing
import random
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cloud import make_token, percentile, running_cloud, scratch_database

GAMES = ["valheim", "minecraft", "rust", "cs2", "terraria", "palworld"]
PUSH_BATCH = 50
WORDS = ["backup", "admin", "economy", "chat", "anticheat", "maps", "voting", "stats"]


def seed_catalog(database_url: str, developer_id: uuid.UUID, count: int) -> None:
    from gsm_cloud.db.engine import make_engine, session_factory, transaction
    from gsm_cloud.db.models import Plugin

    rng = random.Random(7)
    engine = make_engine(database_url)
    with transaction(session_factory(engine)) as session:
        for i in range(count):
            session.add(
                Plugin(
                    name=f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{i}",
                    description=" ".join(rng.choices(WORDS, k=12)),
                    version="1.0.0",
                    category=rng.choice(["admin", "gameplay", "economy", "utility"]),
                    supported_games=rng.sample(GAMES, k=2),
                    downloads=rng.randint(0, 100_000),
                    developer_id=developer_id,
                )
            )
    engine.dispose()


def next_request(phase: str, rng: random.Random, index: int) -> tuple[str, str, dict]:
    """(method, path, httpx keyword arguments) of one request of a phase."""
    if phase == "healthz":
        return "GET", "/healthz", {}
    if phase == "search":
        params = {"q": rng.choice(WORDS), "game": rng.choice(GAMES), "sort": "downloads"}
        return "GET", "/v1/plugins", {"params": params}
    operations = [
        {
            "id": str(uuid.uuid4()),
            "operation_type": "create",
            "entity_type": "game_server",
            "entity_id": str(uuid.uuid4()),
            "data_payload": {
                "name": f"s{index}",
                "game_type": "valheim",
                "status": "stopped",
                "configuration": {},
            },
        }
        for _ in range(PUSH_BATCH)
    ]
    return "POST", "/v1/sync/push", {"json": {"operations": operations}}


def run_phase(base: str, token: str, phase: str, clients: int, requests: int, seconds: float):
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + seconds
    per_client = max(1, requests // clients)

    def client(index: int) -> list[float]:
        rng = random.Random(index)
        latencies = []
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            for _ in range(per_client):
                if time.monotonic() > deadline:
                    break
                method, path, kwargs = next_request(phase, rng, index)
                started = time.perf_counter()
                response = http.request(method, path, **kwargs)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{phase}: HTTP {response.status_code} {response.text[:200]}")
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [x for chunk in pool.map(client, range(clients)) for x in chunk]
    elapsed = time.perf_counter() - started
    return {
        "phase": phase,
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def client_process(base: str, token: str, args: argparse.Namespace, queue) -> None:  # type: ignore[no-untyped-def]
    for phase in ("healthz", "search", "push"):
        queue.put(run_phase(base, token, phase, args.clients, args.requests, args.seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2000, help="per phase")
    parser.add_argument("--seconds", type=float, default=20.0, help="time limit per phase")
    parser.add_argument("--plugins", type=int, default=5000)
    args = parser.parse_args()
    with scratch_database() as url:
        developer_id, _ = make_token(url, role="Developer")
        seed_catalog(url, developer_id, args.plugins)
        _, token = make_token(url)
        with running_cloud(url) as base:
            queue: multiprocessing.Queue = multiprocessing.Queue()
            proc = multiprocessing.Process(target=client_process, args=(base, token, args, queue))
            proc.start()
            results = [queue.get(timeout=args.seconds * 3 + 60) for _ in range(3)]
            proc.join(timeout=60)
    baseline = results[0]["rps"]
    print(
        f"gsm-cloud on PostgreSQL, {args.clients} concurrent clients in another process, "
        f"{args.plugins} plugins; push batches of 50 operations"
    )
    header = ("phase", "requests", "req/s", "p50 ms", "p99 ms", "x healthz rps")
    print("{:<10} {:>9} {:>9} {:>8} {:>8} {:>14}".format(*header))
    for row in results:
        print(
            f"{row['phase']:<10} {row['requests']:>9} {row['rps']:>9.1f} {row['p50_ms']:>8.1f} "
            f"{row['p99_ms']:>8.1f} {row['rps'] / baseline:>14.2f}"
        )
    print(json.dumps(results), file=sys.stderr)


if __name__ == "__main__":
    main()
