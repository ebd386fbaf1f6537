"""The alert sender: ``python -m gsm_cli.alert_sender STORE_FILE``.

Started detached (``services.alerts.spawn_sender``) by whoever queued alerts, so that neither
gsm nor a server's supervisor waits on the network (or imports Apprise). One at a time
through an OS lock: it sends what is due, waits for what is not (retries, a crash summary at
the end of its window), and exits when no message waits (``services.alerts.run_sender``).
"""

import sys
from pathlib import Path

from gsm_cli.errors import ExitCode, GsmError


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m gsm_cli.alert_sender STORE_FILE", file=sys.stderr)
        return int(ExitCode.USAGE)
    from gsm_cli.services import alerts

    try:
        alerts.run_sender(Path(argv[0]))
    except GsmError as err:
        print(f"alert sender: {err.message}", file=sys.stderr)
        return int(err.exit_code)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
