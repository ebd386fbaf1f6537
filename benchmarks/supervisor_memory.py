"""Resident memory of a server's supervisor, against a bare Python measured in the same run.

    python benchmarks/supervisor_memory.py [--samples 5] [--protocol minecraft|a2s]

Starts a real server through the installed `gsm` (a custom server running the fake game of
tests/fixtures/fake_game_server.py, answering --protocol queries) in a throw-away GSM_HOME with
`metrics.interval` 1, waits until its supervisor has written --samples rows of
`performance_history` (each one a process-tree measure and a query of the game, and a queued
cloud summary), and then reads the supervisor's RSS and USS (psutil), the native libraries in
its memory maps, and what its code imports (a fresh Python doing what its main does, then a
query of the protocol: which of the heavy libraries and of the query libraries load).
The baseline is `python -c "import time; time.sleep(30)"` started by this script and measured
the same way. Target (issue 13): at most 25 MB RSS, without SQLAlchemy, typer, rich or ssl;
a `minecraft` query in the supervisor loads no mcstatus (services/minecraft_ping.py).

The gsm runs cache their bytecode in a temporary PYTHONPYCACHEPREFIX (even when
PYTHONDONTWRITEBYTECODE is set here), which Python then reads instead of the __pycache__
folders of the standard library and site-packages. The supervisor measured is the server's
second: the first one, unmeasured, wrote the bytecode of every module a supervisor imports, as
an installed gsm has it (pip compiles the package at install time). With --cold only one round
runs, and the supervisor compiles what no gsm command before it imported, which leaves up to
about 1 MB of the compiler's memory in it.
"""

import argparse
import contextlib
import json
import os
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
FAKE_GAME = ROOT / "tests" / "fixtures" / "fake_game_server.py"
BIN = Path(sys.executable).parent
MB = 1024 * 1024
TARGET_MB = 25.0
HEAVY = ("sqlalchemy", "typer", "rich", "ssl")
LIBRARIES = ("mcstatus", "dns", "a2s", "asyncio", "importlib.metadata")


def gsm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(BIN / "gsm"), *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"gsm {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def free_port() -> int:
    with socket.socket() as tcp:
        tcp.bind(("127.0.0.1", 0))
        return int(tcp.getsockname()[1])


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def memory(pid: int) -> tuple[float, float]:
    """RSS and USS (memory no other process shares) in MiB."""
    info = psutil.Process(pid).memory_full_info()
    return info.rss / MB, info.uss / MB


def native_heavy(pid: int) -> list[str]:
    """Which of HEAVY the running process has loaded, as far as its memory maps tell: their
    native parts (SQLAlchemy's compiled extensions, OpenSSL's libssl/_ssl); typer and rich are
    pure Python and leave no map, see imported_heavy."""
    maps = {Path(m.path).name for m in psutil.Process(pid).memory_maps()}
    found = [name for name in ("sqlalchemy", "ssl") if any(name in path for path in maps)]
    return sorted(found)


def imported_heavy(protocol: str) -> tuple[list[str], list[str]]:
    """Which of HEAVY, and which query libraries, the supervisor's code imports: a fresh Python
    doing what its main does (import gsm_cli.supervisor, keep_light()) and then a query of
    --protocol (to a port where nothing listens: the libraries load before anything is sent)."""
    probe = (
        "import sys; from gsm_cli import supervisor; supervisor.keep_light(); "
        "from gsm_cli.services import query; "
        f"query.query({protocol!r}, '127.0.0.1', {free_port()}, timeout=0.5); "
        f"print(' '.join(n for n in {HEAVY!r} if sys.modules.get(n))); "
        f"print(' '.join(n for n in {LIBRARIES!r} if sys.modules.get(n)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    heavy, libraries = out.stdout.split("\n")[:2]  # two lines, each maybe empty
    return heavy.split(), libraries.split()


def queried_samples(home: Path) -> int:
    with contextlib.closing(sqlite3.connect(home / "gsm.db")) as conn:
        query = "SELECT count(*) FROM performance_history WHERE player_count IS NOT NULL"
        return int(conn.execute(query).fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--protocol", choices=("minecraft", "a2s"), default="minecraft")
    parser.add_argument(
        "--cold", action="store_true", help="no unmeasured round first: bytecode not cached"
    )
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="gsm-bench-supervisor-"))
    cache = tempfile.mkdtemp(prefix="gsm-bench-pycache-")
    env = {**os.environ, "GSM_HOME": str(home), "PYTHONPYCACHEPREFIX": cache}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    bare: subprocess.Popen[bytes] | None = None
    try:
        port = free_port()
        command = shlex.join(
            [sys.executable, str(FAKE_GAME), "--port", "{port}", "--query", args.protocol]
        )
        gsm(env, "config", "set", "metrics.interval", "1")
        gsm(
            env, "server", "create", "bench", "--game", "custom", "--port", str(port),
            "--command", command, "--stop-command", "stop", "--ready-pattern", r"Done \(ready",
            "--query-protocol", args.protocol,
        )  # fmt: skip
        if not args.cold:
            # One unmeasured round first: its supervisor writes the bytecode of every module a
            # supervisor imports into the cache, as installing gsm does (pip compiles it), so
            # the measured one loads them rather than compiling them (which leaves the memory
            # of the compiler behind: up to about 1 MB).
            gsm(env, "server", "start", "bench")
            wait_for(lambda: queried_samples(home) >= 2, timeout=30, what="the first round")
            gsm(env, "server", "stop", "bench")
        before = queried_samples(home)
        started = json.loads(gsm(env, "server", "start", "bench", "--json").stdout)
        status = json.loads(gsm(env, "server", "status", "bench", "--json").stdout)
        supervisor = int(status["supervisor_pid"])
        wait_for(
            lambda: queried_samples(home) >= before + args.samples,
            timeout=args.samples * 3 + 20,
            what=f"{args.samples} queried samples",
        )
        sup_rss, sup_uss = memory(supervisor)
        # The baseline now, next to the supervisor: a Python asleep once its start-up is done
        # (its memory stops growing).
        bare = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        last: list[float] = [-1.0]

        def settled() -> bool:
            rss = memory(bare.pid)[0]
            steady, last[0] = rss == last[0], rss
            time.sleep(0.2)
            return steady

        wait_for(settled, timeout=20, what="the bare Python to settle")
        bare_rss, bare_uss = memory(bare.pid)
        native = native_heavy(supervisor)
        gsm(env, "server", "stop", "bench")
    finally:
        if bare is not None:
            bare.kill()
            bare.wait()
        with_home = {**env}
        subprocess.run(
            [str(BIN / "gsm"), "server", "stop", "bench", "--force"],
            env=with_home,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)

    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        "unknown CPU",
    )  # fmt: skip
    print(f"machine: {os.cpu_count()} CPUs, {cpu}; Python {sys.version.split()[0]}")
    print(
        f"supervisor of a running game (pid {started['process_id']}), metrics.interval 1, "
        f"{args.protocol} queries, after {args.samples} samples"
        + (", bytecode not cached (--cold)" if args.cold else ", second round (bytecode cached)")
    )
    print(f"{'process':<34} {'RSS MB':>8} {'USS MB':>8} {'x bare RSS':>11}")
    print(f"{'python -c sleep (bare)':<34} {bare_rss:>8.1f} {bare_uss:>8.1f} {1:>11.2f}")
    print(f"{'gsm supervisor':<34} {sup_rss:>8.1f} {sup_uss:>8.1f} {sup_rss / bare_rss:>11.2f}")
    verdict = "holds" if sup_rss <= TARGET_MB else "misses"
    print(f"target {TARGET_MB:g} MB RSS: {verdict} ({sup_rss / TARGET_MB:.2f} of it)")
    heavy, libraries = imported_heavy(args.protocol)
    print(
        f"native libraries of {', '.join(HEAVY)} in its memory maps: {', '.join(native) or 'none'}"
    )
    print(f"imported by gsm_cli.supervisor and its query library: {', '.join(heavy) or 'none'}")
    print(f"of {', '.join(LIBRARIES)}, its query imports: {', '.join(libraries) or 'none'}")


if __name__ == "__main__":
    main()
