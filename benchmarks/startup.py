"""Start-up cost of gsm, as ratios to a bare Python start measured in the same run.

    python benchmarks/startup.py [--runs N]

Prints, for `gsm --version`, `gsm --help`, the read commands the fast path answers (JSON,
tables, a bare value) and a completion look-up (`gsm __complete servers`), the median wall
time over N runs of the installed console script, its ratio to `python -c pass`, and its ratio
to a bare import of the libraries the full application needs for a local read command (typer,
rich, SQLAlchemy). Runs against a throw-away GSM_HOME holding a store that already exists,
with three servers (the first-ever run also creates it). Targets (issue 13): `gsm --version`
at most 6x `python -c pass`; `gsm __complete` under 60 ms. Every program here may cache its
bytecode (in a temporary PYTHONPYCACHEPREFIX, even when PYTHONDONTWRITEBYTECODE is set here), as
an installed gsm does; each is run once unmeasured
first, so that the cache is written. The commands take turns, run after run.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# What a local read command truly needs: the CLI framework (typer._adapters is what Typer loads
# to parse a command's parameters; it pulls in pydantic), the renderer and the ORM.
NEEDED_IMPORTS = (
    "import typer, typer.main, typer._adapters, rich.table, rich.console, sqlalchemy.orm"
)
VERSION_TARGET = 6.0  # x python -c pass
COMPLETE_TARGET_MS = 60.0


def median_seconds(
    cases: dict[str, list[str]], runs: int, env: dict[str, str], envs: dict[str, dict[str, str]]
) -> dict[str, float]:
    """Each command's median wall time; the commands take turns, run after run, so that a
    change in the machine's load meanwhile weighs on all of them alike. A first run of each,
    unmeasured, writes its bytecode cache. ``envs``: another environment for some of them."""
    timings: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(runs + 1):
        for label, command in cases.items():
            start = time.perf_counter()
            subprocess.run(
                command,
                env=envs.get(label, env),
                check=True,
                capture_output=True,
                stdin=subprocess.DEVNULL,
            )
            timings[label].append(time.perf_counter() - start)
    return {label: statistics.median(values[1:]) for label, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    gsm = shutil.which("gsm", path=str(Path(sys.executable).parent)) or shutil.which("gsm")
    if gsm is None:
        sys.exit("gsm is not installed in this environment (pip install -e .)")
    home = Path(tempfile.mkdtemp(prefix="gsm-bench-"))
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith("GSM_") and k != "PYTHONDONTWRITEBYTECODE"
        },
        "GSM_HOME": str(home),
        # Bytecode caches allowed, in a folder of this run: an installed gsm has its .pyc files.
        "PYTHONPYCACHEPREFIX": str(home / "pycache"),
    }
    try:
        for name, game in (("alpha", "minecraft"), ("beta", "valheim"), ("gamma", "terraria")):
            made = [gsm, "server", "create", name, "--game", game]
            subprocess.run(made, env=env, check=True, capture_output=True)
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "import libraries": [sys.executable, "-c", NEEDED_IMPORTS],
            "gsm --version": [gsm, "--version"],
            "gsm --help": [gsm, "--help"],
            "gsm config list": [gsm, "config", "list"],
            "gsm config get KEY": [gsm, "config", "get", "metrics.interval"],
            "gsm server list": [gsm, "server", "list"],
            "gsm server list --json": [gsm, "server", "list", "--json"],
            "gsm sync status": [gsm, "sync", "status"],
            "gsm __complete servers": [gsm, "__complete", "servers"],
            "gsm __complete (platformdirs)": [gsm, "__complete", "servers"],
        }
        # The same look-up without GSM_HOME: the data folder found through platformdirs
        # (XDG_DATA_HOME points it at this run's store on Linux; elsewhere it finds no store).
        xdg = home / "xdg"
        (xdg / "gsm").mkdir(parents=True)
        (xdg / "gsm" / "gsm.db").symlink_to(home / "gsm.db")
        plain = {k: v for k, v in env.items() if k != "GSM_HOME"} | {"XDG_DATA_HOME": str(xdg)}
        times = median_seconds(cases, args.runs, env, {"gsm __complete (platformdirs)": plain})
        python, libraries = times["python -c pass"], times["import libraries"]
        print(f"{args.runs} runs each; median wall time")
        print(f"{'command':<30} {'ms':>8} {'x python':>9} {'x libraries':>12}")
        for label, seconds in times.items():
            print(
                f"{label:<30} {seconds * 1000:>8.1f} {seconds / python:>9.2f}"
                f" {seconds / libraries:>12.2f}"
            )
        ratio = times["gsm --version"] / python
        verdict = "met" if ratio <= VERSION_TARGET else "NOT met"
        print(f"target: gsm --version at most {VERSION_TARGET:g}x python -c pass: {verdict}")
        complete_ms = times["gsm __complete servers"] * 1000
        verdict = "met" if complete_ms < COMPLETE_TARGET_MS else "NOT met"
        print(f"target: gsm __complete under {COMPLETE_TARGET_MS:g} ms: {verdict}")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
