"""Cost of `gsm server list --json` with many servers, now that it reconciles each one.

    python benchmarks/server_list.py [--servers N] [--running N] [--runs N]

Builds a throw-away store with N servers, of which --running are recorded as running with the
pid and create time of a real process (a `sleep` child, so each is checked against the OS),
then prints the median wall time of `python -m gsm_cli server list --json` over --runs runs,
its ratio to a bare import of the libraries a local read command needs, and whether the
repeated lists wrote anything to the store (they must not: nothing changed).
"""

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

NEEDED_IMPORTS = (
    "import typer, typer.main, typer._adapters, rich.table, rich.console, sqlalchemy.orm"
)


def median_seconds(command: list[str], runs: int, env: dict[str, str]) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True, stdin=subprocess.DEVNULL)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def fill(store: Path, count: int, running: int, pid: int, started: float) -> None:
    with sqlite3.connect(store) as conn:
        conn.executemany(
            "INSERT INTO local_servers (id, name, game_type, status, configuration,"
            " process_id, port, install_path, process_create_time)"
            " VALUES (?, ?, 'custom', ?, '{}', ?, ?, ?, ?)",
            [
                (
                    str(uuid.uuid4()),
                    f"server-{i:05d}",
                    "running" if i < running else "stopped",
                    pid if i < running else None,
                    10000 + i,
                    f"/srv/server-{i:05d}",
                    started if i < running else None,
                )
                for i in range(count)
            ],
        )
    conn.close()


def writes(store: Path) -> tuple[int, int]:
    with sqlite3.connect(store) as conn:
        ops = conn.execute("SELECT count(*) FROM pending_sync_operations").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM server_events").fetchone()[0]
    conn.close()
    return ops, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--running", type=int, default=100)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="gsm-bench-"))
    env = {**os.environ, "GSM_HOME": str(home)}
    gsm = [sys.executable, "-m", "gsm_cli"]
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        subprocess.run([*gsm, "config", "list"], env=env, check=True, capture_output=True)
        store = home / "gsm.db"
        fill(
            store,
            args.servers,
            args.running,
            sleeper.pid,
            psutil.Process(sleeper.pid).create_time(),
        )
        subprocess.run([*gsm, "server", "list", "--json"], env=env, check=True, capture_output=True)
        before = writes(store)
        listing = median_seconds([*gsm, "server", "list", "--json"], args.runs, env)
        libraries = median_seconds([sys.executable, "-c", NEEDED_IMPORTS], args.runs, env)
        after = writes(store)
        print(f"{args.servers} servers ({args.running} running); median of {args.runs} runs")
        print(f"gsm server list --json  {listing * 1000:8.1f} ms")
        print(f"import libraries        {libraries * 1000:8.1f} ms")
        print(f"ratio                   {listing / libraries:8.2f}")
        print(
            f"store writes by the repeated lists: {after[0] - before[0]} sync operations, "
            f"{after[1] - before[1]} events"
        )
    finally:
        sleeper.kill()
        sleeper.wait()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
