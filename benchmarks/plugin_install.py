"""`gsm plugin install` of a 100 MB package from gsm-cloud on loopback, against the same bytes
fetched with curl, hashed with sha256sum and unpacked with unzip, in the same run.

    .venv/bin/python benchmarks/plugin_install.py [--megabytes 100] [--runs 3]

The package holds incompressible files (the zip is as large as its content). Each gsm run
installs onto a fresh server folder through the installed `gsm` program (download with its
digest check, validation, extraction into staging, moves into place, the store transaction);
the baseline runs `curl -o`, `sha256sum` and `unzip -q` one after the other on the same URL.
The target (issue 10): gsm at most 1.3x the baseline. PostgreSQL: GSM_BENCH_DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/test); a scratch database is made and dropped.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cloud import make_token, running_cloud, scratch_database

from gsm_cli.services import plugin_package

BIN = Path(sys.executable).parent
MEGABYTE = 1_000_000  # decimal: a 100 MB package stays under the cloud's 100 MiB limit


def build_package(folder: Path, megabytes: int) -> Path:
    source = folder / "source"
    plugin_package.init_skeleton(source, name="bench-big", game="custom", category="utility")
    files = source / "files" / "bench-big"
    files.mkdir(parents=True, exist_ok=True)
    per_file = 10
    for index in range(max(1, megabytes // per_file)):
        with (files / f"blob-{index:02d}.bin").open("wb") as out:
            for _ in range(per_file):
                out.write(os.urandom(MEGABYTE))
    return plugin_package.pack(source, folder / "bench-big.zip").path


def gsm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(BIN / "gsm"), *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"gsm {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def timed(command: list[list[str]]) -> float:
    started = time.perf_counter()
    for argv in command:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for tool in ("curl", "sha256sum", "unzip"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed for the baseline")

    with (
        tempfile.TemporaryDirectory(prefix="gsm-bench-plugin-") as tmp,
        scratch_database() as database_url,
        running_cloud(database_url) as url,
    ):
        folder = Path(tmp)
        package = build_package(folder, args.megabytes)
        _user, token = make_token(database_url, role="Developer")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GSM_")},
            "GSM_HOME": str(folder / "home"),
            "GSM_API_URL": url,
            "GSM_TOKEN": token,
            "CI": "1",
        }
        published = gsm(env, "plugin", "publish", str(package), "--json")
        info = gsm(env, "plugin", "info", "bench-big", "--json")
        plugin_id = json.loads(info.stdout)["id"]
        sha256 = json.loads(published.stdout)["sha256"]
        download = f"{url}/v1/plugins/{plugin_id}/download"
        size = package.stat().st_size

        gsm_times, base_times = [], []
        for run in range(args.runs):
            server = f"bench{run}"
            gsm(env, "server", "create", server, "--game", "custom", "--command", "sleep 60",
                "--path", str(folder / "servers" / server))  # fmt: skip
            started = time.perf_counter()
            gsm(env, "plugin", "install", "bench-big", "--server", server)
            gsm_times.append(time.perf_counter() - started)

            target = folder / "baseline" / str(run)
            target.mkdir(parents=True)
            fetched = target / "pkg.zip"
            base_times.append(
                timed(
                    [
                        ["curl", "-sSf", "-o", str(fetched), download],
                        ["sha256sum", str(fetched)],
                        ["unzip", "-q", str(fetched), "-d", str(target / "out")],
                    ]
                )
            )
            check = subprocess.run(
                ["sha256sum", str(fetched)], capture_output=True, text=True, check=True
            )
            if check.stdout.split()[0] != sha256:
                raise SystemExit("the baseline downloaded other bytes than gsm published")

    gsm_median, base_median = statistics.median(gsm_times), statistics.median(base_times)
    print(f"package: {size / 1e6:.1f} MB, {args.runs} runs each, median wall time")
    for label, seconds in (
        ("gsm plugin install", gsm_median),
        ("curl + sha256sum + unzip", base_median),
    ):
        print(f"{label:<28} {seconds:7.2f} s  ({size / seconds / 1e6:6.1f} MB/s)")
    ratio = gsm_median / base_median
    verdict = "meets" if ratio <= 1.3 else "misses"
    print(f"gsm / baseline = {ratio:.2f}x ({verdict} the 1.3x target)")


if __name__ == "__main__":
    main()
