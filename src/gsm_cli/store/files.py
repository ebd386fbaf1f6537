"""The store's file as the OS sees it, with nothing but the standard library: its header, the
files SQLite keeps beside it, whether this user may write them, and the busy timeout every
connection uses. store/database.py (the ORM), supervisor_store.py and the fast path
(gsm_cli.fastpath) share them."""

import os
from pathlib import Path

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_SECONDS = 30.0


def sidecars(path: Path) -> tuple[Path, Path]:
    """SQLite's write-ahead log and shared-memory index beside a WAL database."""
    return path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")


def write_problems(path: Path) -> list[str]:
    """Why this user cannot write the existing store at ``path`` (empty: it can). Only looks.

    os.access, not the permission bits: it knows about root, ACLs and read-only mounts.
    """
    problems = []
    if not os.access(path, os.W_OK):
        problems.append("the file is not writable")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        problems.append(f"its folder {path.parent} is not writable")
    for extra in sidecars(path):
        if extra.exists() and not os.access(extra, os.W_OK):
            problems.append(f"SQLite's {extra.name} beside it is not writable")
    return problems


def has_sqlite_header(path: Path) -> bool:
    """Does the file at ``path`` start as an SQLite database does (OSError when unreadable)."""
    with path.open("rb") as fh:
        return fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER
