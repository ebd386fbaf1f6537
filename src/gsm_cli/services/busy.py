"""Work that may make a running game slow to answer its queries, marked where every gsm
process sees it: a backup of a server's folder, a SteamCMD install, update or validation of a
game's files.

Each piece of work writes a small file in ``<data>/run/busy/`` while it runs: named after
what it concerns (``server-<id>`` or ``game-<id>``) and holding the pid and create time of the
process doing it. Freeze detection (``services/freeze.py``) asks ``running()`` before it
counts a failed query, so neither a server's supervisor nor `gsm server monitor` restarts a
game that is only slow because of it. A mark whose process has died (killed half-way) counts
for nothing and is removed by the next look, so a crash never leaves a server "busy" forever.
"""

import contextlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from gsm_cli.paths import Paths
from gsm_cli.services import processes


def folder(paths: Paths) -> Path:
    return paths.data_dir / "run" / "busy"


def server_subject(server_id: str) -> str:
    return f"server-{server_id}"


def game_subject(game_id: str) -> str:
    """A game's files are shared by every server of that game installed from them."""
    return f"game-{game_id}"


@contextlib.contextmanager
def marked(paths: Paths, subject: str, what: str) -> Iterator[None]:
    """Mark ``subject`` busy with ``what`` (such as "backup") while the block runs. Where the
    mark cannot be written (a data folder this user may not write to), the work runs all the
    same, unmarked: it fails or succeeds on its own terms."""
    import secrets  # here: the supervisor reads marks only, and secrets loads OpenSSL (hmac)

    pid = os.getpid()
    mark = folder(paths) / f"{subject}.{pid}.{secrets.token_hex(4)}.json"
    written = _write(mark, {"pid": pid, "create_time": processes.create_time(pid), "what": what})
    try:
        yield
    finally:
        if written:
            mark.unlink(missing_ok=True)


def _write(mark: Path, body: dict[str, object]) -> bool:
    tmp = mark.with_suffix(".tmp")
    try:
        mark.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({**body, "since": time.time()}), encoding="utf-8")
        os.replace(tmp, mark)  # whole or absent: a reader never sees half a mark
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return False
    return True


def running(paths: Paths, subjects: Iterable[str]) -> list[str]:
    """What runs now on any of ``subjects`` (each mark's ``what``), by a process that lives."""
    wanted = set(subjects)
    found = []
    try:
        marks = list(folder(paths).glob("*.json"))
    except OSError:
        return []
    for mark in marks:
        if mark.name.split(".", 1)[0] not in wanted:
            continue
        try:
            body = json.loads(mark.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # removed while we looked
        if processes.is_alive(body.get("pid"), body.get("create_time")):
            found.append(str(body.get("what") or "work"))
        else:  # its process died half-way: the mark means nothing any more
            with contextlib.suppress(OSError):
                mark.unlink(missing_ok=True)
    return found
