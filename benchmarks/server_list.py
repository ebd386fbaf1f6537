"""Cost of `gsm server list` (JSON and table) with many servers, now that it reconciles each one.

    python benchmarks/server_list.py [--servers N] [--running N] [--runs N]

Builds two throw-away stores with N servers each: in one every server is stopped, in the
other --running are recorded as running with the pid and create time of a real process (a
`sleep` child, so each is checked against the OS). Prints the median wall time of `python -m
gsm_cli server list --json`, and of the table (`gsm server list`, into a pipe; and the table
from the full application, on the stopped servers), over --runs runs on each, its ratio to a
bare import of the libraries the full application needs for a local read command, and whether
the repeated lists wrote anything to the store (they must not:
nothing changed). All are answered by the fast path (gsm_cli/fastpath.py: the standard
library's sqlite3, no Typer or SQLAlchemy; Rich for the table), which asks the OS about each
running record as lifecycle.observe does. Target (issue 13): the JSON list at most 1.3x the
import (the table has none: Rich's layout of 7,000 cells is its own cost). The runs
may cache their bytecode (in a temporary PYTHONPYCACHEPREFIX, even when PYTHONDONTWRITEBYTECODE
is set here), as an installed gsm does; the commands take turns, run after run, after one
unmeasured run each.
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
TARGET = 1.3  # x the import


def median_seconds(
    cases: dict[str, tuple[list[str], dict[str, str]]], runs: int
) -> dict[str, float]:
    """Each command's median wall time; the commands take turns, run after run, so that a
    change in the machine's load meanwhile weighs on all of them alike. A first run of each,
    unmeasured, writes its bytecode cache."""
    timings: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(runs + 1):
        for label, (command, env) in cases.items():
            start = time.perf_counter()
            subprocess.run(
                command, env=env, check=True, capture_output=True, stdin=subprocess.DEVNULL
            )
            timings[label].append(time.perf_counter() - start)
    return {label: statistics.median(values[1:]) for label, values in timings.items()}


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

    root = Path(tempfile.mkdtemp(prefix="gsm-bench-"))
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GSM_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    # Bytecode caches allowed, in a folder of this run: an installed gsm has its .pyc files.
    base["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    gsm = [sys.executable, "-m", "gsm_cli"]
    listing = [*gsm, "server", "list", "--json"]
    table = [*gsm, "server", "list"]
    # The same table from the full application (Typer, SQLAlchemy), as before the fast path.
    full_table = [sys.executable, "-c", "from gsm_cli.app import main; main()", "server", "list"]
    sleeper = subprocess.Popen(["sleep", "600"])
    started = psutil.Process(sleeper.pid).create_time()
    try:
        envs, stores = {}, {}
        for label, running in (("stopped", 0), ("running", args.running)):
            envs[label] = {**base, "GSM_HOME": str(root / label)}
            subprocess.run(
                [*gsm, "config", "list"], env=envs[label], check=True, capture_output=True
            )
            stores[label] = root / label / "gsm.db"
            fill(stores[label], args.servers, running, sleeper.pid, started)
            subprocess.run(listing, env=envs[label], check=True, capture_output=True)
        before = {label: writes(store) for label, store in stores.items()}
        times = median_seconds(
            {
                "--json, all stopped": (listing, envs["stopped"]),
                f"--json, {args.running} running": (listing, envs["running"]),
                "table, all stopped": (table, envs["stopped"]),
                f"table, {args.running} running": (table, envs["running"]),
                "table, full application": (full_table, envs["stopped"]),
                "import libraries": ([sys.executable, "-c", NEEDED_IMPORTS], base),
            },
            args.runs,
        )
        after = {label: writes(store) for label, store in stores.items()}
        libraries = times.pop("import libraries")
        print(f"{args.servers} servers; median of {args.runs} runs")
        print(f"import libraries                          {libraries * 1000:8.1f} ms")
        for label, seconds in times.items():
            print(
                f"gsm server list {label:<25} {seconds * 1000:8.1f} ms"
                f"  {seconds / libraries:5.2f}x the import"
            )
        # The target is the JSON list's (issue 13); a table costs Rich's layout on top.
        worst = max(t for label, t in times.items() if label.startswith("--json")) / libraries
        verdict = "met" if worst <= TARGET else "NOT met"
        print(f"target: --json at most {TARGET:g}x the import: {verdict}")
        for label in stores:
            print(
                f"store writes by the repeated lists ({label}): "
                f"{after[label][0] - before[label][0]} sync operations, "
                f"{after[label][1] - before[label][1]} events"
            )
    finally:
        sleeper.kill()
        sleeper.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
