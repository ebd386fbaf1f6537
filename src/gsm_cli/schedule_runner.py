"""Runs one schedule's chain: ``python -m gsm_cli.schedule_runner RUN_ID``.

Started detached by ``services.schedules.fire_due`` for each firing, so that a long chain (a
10-minute countdown) never holds up the scheduler or other schedules. It records its own pid
and create time on the run, runs the chain (``schedules.execute``) and exits. SIGTERM (a
shutdown) records the run ``interrupted``; a kill or a power cut leaves it ``processing``,
and the next scheduler pass marks it ``interrupted`` because this process is gone. Its
stderr goes to ``<logs>/schedules/runner.log``.
"""

import os
import signal
import sys
from datetime import UTC, datetime


def _log(text: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    sys.stderr.write(f"[{stamp}] {text}\n")
    sys.stderr.flush()


def main(argv: list[str]) -> int:
    from gsm_cli.errors import ExitCode, GsmError
    from gsm_cli.paths import resolve_paths
    from gsm_cli.services import schedules
    from gsm_cli.store import Store

    if len(argv) != 1 or not argv[0].isdigit():
        _log("usage: python -m gsm_cli.schedule_runner RUN_ID")
        return ExitCode.USAGE
    run_id = int(argv[0])

    def stop(signum: int, frame: object) -> None:
        raise schedules.Stopped()

    signal.signal(signal.SIGTERM, stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, stop)
    env = dict(os.environ)
    paths = resolve_paths(env)
    try:
        with Store.open(paths.store_file) as store:
            result = schedules.execute(
                store, paths, env, run_id, report=lambda text: _log(f"run {run_id}: {text}")
            )
    except schedules.Stopped:
        _log(f"run {run_id}: interrupted by a signal")
        return ExitCode.INTERRUPTED
    except GsmError as err:
        _log(f"run {run_id}: {err.message}")
        return err.exit_code
    _log(f"run {run_id}: {result['status']}" + (f": {result['message']}" if result.get(
        "message") else ""))  # fmt: skip
    return ExitCode.OK if result["status"] in ("succeeded", "skipped", "removed") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
