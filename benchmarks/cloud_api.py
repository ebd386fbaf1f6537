"""gsm-cloud's read endpoints under concurrent load, each against a bare FastAPI app.

    python benchmarks/cloud_api.py [--workers N] [--clients N] [--seconds S] [--no-access-log]

Starts a bare FastAPI app (GET /healthz answering a pydantic model, no database) and then
gsm-cloud (`gsm-cloud serve`, the same uvicorn options: protocol, event loop, workers, log
set-up) on a scratch PostgreSQL database, on free loopback ports. Seeds a plugin catalog and
50 servers of one user (pushed through the API). The load comes from a separate client process:
``--clients`` threads, each with its own keep-alive connection (http.client, cheaper than an
HTTP library so that the client is not what is measured), for ``--seconds`` per endpoint.
Prints requests per second, p50/p99 latency, and the rate as a fraction of the bare app's.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import random
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cloud import (
    make_token,
    percentile,
    running_bare_app,
    running_cloud,
    scratch_database,
)

GAMES = ["valheim", "minecraft", "rust", "cs2", "terraria", "palworld"]
WORDS = ["backup", "admin", "economy", "chat", "anticheat", "maps", "voting", "stats"]
SERVERS = 50


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


def seed_servers(base: str, token: str) -> None:
    """SERVERS game servers of the user, created the way gsm creates them: a sync push."""
    import httpx

    operations = [
        {
            "id": str(uuid.uuid4()),
            "operation_type": "create",
            "entity_type": "game_server",
            "entity_id": str(uuid.uuid4()),
            "data_payload": {
                "name": f"server-{i}",
                "game_type": GAMES[i % len(GAMES)],
                "status": "stopped",
                "configuration": {"port": 2456 + i},
            },
        }
        for i in range(SERVERS)
    ]
    response = httpx.post(
        f"{base}/v1/sync/push",
        json={"operations": operations},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    response.raise_for_status()


def target(phase: str, rng: random.Random) -> str:
    """The path (with query) of one request of a phase."""
    if phase == "plugins":
        return "/v1/plugins?" + urlencode(
            {"q": rng.choice(WORDS), "game": rng.choice(GAMES), "sort": "downloads"}
        )
    return {
        "bare /healthz": "/healthz",
        "/healthz": "/healthz",
        "servers": "/v1/servers",
        "sync pull": "/v1/sync/pull",
        "me": "/v1/me",
    }[phase]


def run_phase(base: str, token: str, phase: str, clients: int, seconds: float) -> dict:
    where = urlsplit(base)
    headers = {"Authorization": f"Bearer {token}"} if phase != "bare /healthz" else {}
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    start = threading.Barrier(clients + 1)
    deadline = 0.0

    def client(index: int) -> None:
        rng = random.Random(index)
        connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        start.wait()
        mine = latencies[index]
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            connection.request("GET", target(phase, rng), headers=headers)
            response = connection.getresponse()
            body = response.read()
            mine.append(time.perf_counter() - began)
            if response.status != 200:
                failures.append(f"{phase}: HTTP {response.status} {body[:200]!r}")
                return
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise SystemExit(failures[0])
    every = [x for chunk in latencies for x in chunk]
    return {
        "phase": phase,
        "requests": len(every),
        "rps": len(every) / elapsed,
        "p50_ms": percentile(every, 0.50) * 1000,
        "p99_ms": percentile(every, 0.99) * 1000,
    }


def client_process(base: str, token: str, phases: list[str], args, queue) -> None:  # type: ignore[no-untyped-def]
    for phase in phases:
        queue.put(run_phase(base, token, phase, args.clients, args.seconds))


def measure(base: str, token: str, phases: list[str], args: argparse.Namespace) -> list[dict]:
    """The phases, run from a separate process (its GIL is not the servers')."""
    queue: multiprocessing.Queue = multiprocessing.Queue()
    proc = multiprocessing.Process(target=client_process, args=(base, token, phases, args, queue))
    proc.start()
    results = [queue.get(timeout=args.seconds * 3 + 60) for _ in phases]
    proc.join(timeout=60)
    return results


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def served_with() -> tuple[str, str]:
    """The event loop and HTTP parser that `gsm-cloud serve` (and so the bare app) runs on."""
    from gsm_cloud import server

    options = server.uvicorn_options(workers=1, access_log=True)
    loop = options.get("loop", "auto")
    if loop == "auto":
        try:
            import uvloop  # noqa: F401

            loop = "uvloop"
        except ImportError:
            loop = "asyncio"
    return loop, "httptools" if "HttpTools" in str(options["http"]) else "h11"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of both apps")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--seconds", type=float, default=5.0, help="per endpoint")
    parser.add_argument("--plugins", type=int, default=5000)
    parser.add_argument(
        "--no-access-log", action="store_true", help="serve both apps without an access log"
    )
    args = parser.parse_args()
    access_log = not args.no_access_log
    with running_bare_app(args.workers, access_log=access_log) as base:
        results = measure(base, "", ["bare /healthz"], args)
    with scratch_database() as url:
        developer_id, _ = make_token(url, role="Developer")
        seed_catalog(url, developer_id, args.plugins)
        _, token = make_token(url)
        extra = () if access_log else ("--no-access-log",)
        with running_cloud(url, workers=args.workers, extra_args=extra) as base:
            seed_servers(base, token)
            phases = ["/healthz", "plugins", "servers", "sync pull", "me"]
            results += measure(base, token, phases, args)
    baseline = results[0]["rps"]
    loop, parser = served_with()
    print(
        f"{os.cpu_count()} CPUs ({cpu_model()}), "
        f"Python {platform.python_version()}, {parser} on {loop}; "
        f"{args.workers} worker(s) per app, access log {'on' if access_log else 'off'}, "
        f"{args.clients} connections from another process, {args.seconds:g} s per endpoint; "
        f"{args.plugins} plugins, {SERVERS} servers"
    )
    header = ("endpoint", "requests", "req/s", "p50 ms", "p99 ms", "x bare")
    print("{:<14} {:>9} {:>9} {:>8} {:>8} {:>7}".format(*header))
    for row in results:
        print(
            f"{row['phase']:<14} {row['requests']:>9} {row['rps']:>9.1f} {row['p50_ms']:>8.1f} "
            f"{row['p99_ms']:>8.1f} {row['rps'] / baseline:>7.2f}"
        )
    print(json.dumps(results), file=sys.stderr)


if __name__ == "__main__":
    main()
