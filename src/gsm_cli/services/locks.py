"""An exclusive lock held for a process's lifetime; the OS releases it when the process dies,
so a crash never leaves a stale lock behind."""

import os
from pathlib import Path
from typing import IO


class LockHeld(Exception):
    pass


def hold(path: Path) -> IO[bytes]:
    """Take the lock or raise LockHeld. Keep the returned file open to keep the lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+b")  # noqa: SIM115 - the open file IS the lock
    try:
        if os.name == "nt":
            import msvcrt

            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise LockHeld(str(path)) from None
    return fh
