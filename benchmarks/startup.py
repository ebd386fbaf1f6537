"""Start-up cost of gsm, as ratios to a bare Python start measured in the same run.

    python benchmarks/startup.py [--runs N]

Prints, for `gsm --version`, `gsm --help` and `gsm config list`, the median wall time over N
runs of the installed console script, its ratio to `python -c pass`, and its ratio to a bare
import of the libraries a local read command needs (typer, rich, SQLAlchemy). Runs against a
throw-away GSM_HOME holding a store that already exists (the first-ever run also creates it).
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


def median_seconds(command: list[str], runs: int, env: dict[str, str]) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True, stdin=subprocess.DEVNULL)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    gsm = shutil.which("gsm", path=str(Path(sys.executable).parent)) or shutil.which("gsm")
    if gsm is None:
        sys.exit("gsm is not installed in this environment (pip install -e .)")
    home = Path(tempfile.mkdtemp(prefix="gsm-bench-"))
    env = {**os.environ, "GSM_HOME": str(home)}
    try:
        subprocess.run([gsm, "config", "list"], env=env, check=True, capture_output=True)
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "import libraries": [sys.executable, "-c", NEEDED_IMPORTS],
            "gsm --version": [gsm, "--version"],
            "gsm --help": [gsm, "--help"],
            "gsm config list": [gsm, "config", "list"],
        }
        times = {label: median_seconds(cmd, args.runs, env) for label, cmd in cases.items()}
        python, libraries = times["python -c pass"], times["import libraries"]
        print(f"{args.runs} runs each; median wall time")
        print(f"{'command':<18} {'ms':>8} {'x python':>9} {'x libraries':>12}")
        for label, seconds in times.items():
            print(
                f"{label:<18} {seconds * 1000:>8.1f} {seconds / python:>9.2f}"
                f" {seconds / libraries:>12.2f}"
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
