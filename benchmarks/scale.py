"""Commands over every server of one machine, at scale, against `gsm server list --json`.

    python benchmarks/scale.py [--servers N] [--running N] [--runs N]

Builds a throw-away GSM_HOME with N server records: --running of them are real fake games
(tests/fixtures/fake_game_server.py, created and started with gsm itself), a few are recorded
running although their game is long dead (status must find and record them as crashed), 1 in
50 is crashed (its restart policy off, so `monitor --once` leaves it down, as it would any
such server), the rest are stopped. Then it prints the median wall time of each command over
--runs runs and its ratio to `server list --json` measured in the same run (target: at most 2).

`stop --all` is timed twice: once while the fake games run (it really stops them, and that
costs their graceful stops), then, like `restart --all`, over servers none of which is up.
`restart --all` restarts only the servers that run and starts none that is down (what it did
before this benchmark existed); with nothing up it reports "not running" for each.

Each gsm runs as a child process with its bytecode cached in a temporary PYTHONPYCACHEPREFIX
(this environment sets PYTHONDONTWRITEBYTECODE), as an installed gsm does.
"""

import argparse
import json
import os
import shlex
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

FAKE_GAME = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "fake_game_server.py"
DEAD_BUT_RECORDED_RUNNING = 5
CRASHED_EVERY = 50


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(gsm: list[str], args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    # stop/restart --all report a failed server with a non-zero exit: the output still counts.
    return subprocess.run(
        [*gsm, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def timed(gsm: list[str], args: list[str], env: dict[str, str], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        done = run(gsm, args, env)
        timings.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"gsm {' '.join(args)} failed: {done.stderr}")
    return statistics.median(timings)


def dead_pid() -> tuple[int, float]:
    """A pid and create time of a process that has exited: a game that died unseen."""
    import psutil

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = psutil.Process(child.pid).create_time()
    child.wait()
    return child.pid, started


def fill(store: Path, count: int) -> None:
    """The records beyond the real games, written as gsm's schema holds them."""
    pid, started = dead_pid()
    off = json.dumps({"restart": {"enabled": False}})
    rows, events = [], []
    for i in range(count):
        server_id = str(uuid.uuid4())
        if i < DEAD_BUT_RECORDED_RUNNING:
            status, config, proc, stamp = "running", off, pid, started
        elif i % CRASHED_EVERY == 0:
            status, config, proc, stamp = "crashed", off, None, None
            events.append((server_id, "crash", 1, "exited with code 1"))
        else:
            status, config, proc, stamp = "stopped", "{}", None, None
        events.append((server_id, "stop", None, "stopped by request"))
        rows.append(
            (server_id, f"server-{i:05d}", status, config, proc, 30000 + i, f"/srv/{i}", stamp)
        )
    with sqlite3.connect(store) as conn:
        conn.executemany(
            "INSERT INTO local_servers (id, name, game_type, status, configuration,"
            " process_id, port, install_path, process_create_time)"
            " VALUES (?, ?, 'custom', ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.executemany(
            "INSERT INTO server_events (server_id, event, exit_code, detail) VALUES (?, ?, ?, ?)",
            events,
        )
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=10_000)
    parser.add_argument("--running", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="gsm-scale-"))
    pycache = Path(tempfile.mkdtemp(prefix="gsm-scale-pycache-"))
    env = {**os.environ, "GSM_HOME": str(home), "PYTHONPYCACHEPREFIX": str(pycache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    gsm = [sys.executable, "-m", "gsm_cli"]
    names = [f"game-{i}" for i in range(args.running)]
    try:
        for name in names:
            command = shlex.join([sys.executable, str(FAKE_GAME), "--port", "{port}"])
            created = run(
                gsm,
                ["server", "create", name, "--game", "custom", "--port", str(free_port()),
                 "--command", command, "--stop-command", "stop",
                 "--ready-pattern", r"Done \(ready"],
                env,
            )  # fmt: skip
            started = run(gsm, ["server", "start", name], env)
            if created.returncode or started.returncode:
                raise SystemExit(f"could not start {name}: {created.stderr}{started.stderr}")
        fill(home / "gsm.db", args.servers - args.running)

        first = run(gsm, ["server", "status", "--all", "--json"], env)
        found = sum(row["status"] == "crashed" for row in json.loads(first.stdout))
        timings = {
            "server list --json": timed(gsm, ["server", "list", "--json"], env, args.runs),
            "server status --all --json": timed(
                gsm, ["server", "status", "--all", "--json"], env, args.runs
            ),
            "server monitor --once --json": timed(
                gsm, ["server", "monitor", "--once", "--json"], env, args.runs
            ),
            f"server stop --all --json ({args.running} up)": timed(
                gsm, ["server", "stop", "--all", "--json"], env, 1
            ),
            "server stop --all --json (none up)": timed(
                gsm, ["server", "stop", "--all", "--json"], env, args.runs
            ),
            "server restart --all --json (none up)": timed(
                gsm, ["server", "restart", "--all", "--json"], env, args.runs
            ),
        }
        baseline = timings["server list --json"]
        print(
            f"{args.servers} servers: {args.running} running fake games, "
            f"{DEAD_BUT_RECORDED_RUNNING} recorded running with a dead game, "
            f"{found} crashed after the first status, the rest stopped; "
            f"median of {args.runs} runs (1 for the stop that stops the games)"
        )
        width = max(map(len, timings))
        for label, seconds in timings.items():
            print(f"{label:<{width}}  {seconds * 1000:9.1f} ms  {seconds / baseline:5.2f}x list")
    finally:
        for name in names:
            run(gsm, ["server", "stop", name, "--force"], env)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(pycache, ignore_errors=True)


if __name__ == "__main__":
    main()
