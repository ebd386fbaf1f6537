"""The store's file as the OS sees it, with nothing but the standard library: its header, the
files SQLite keeps beside it, whether this user may write them, and the busy timeout every
connection uses. store/database.py (the ORM), supervisor_store.py and the fast path
(gsm_cli.fastpath) share them."""

import os
from pathlib import Path

from gsm_cli.errors import StoreReadOnlyError

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


def read_only_uri(path: Path, *, writable: bool = False) -> str:
    """An SQLite URI that reads the store at ``path`` without writing or creating any file.

    A WAL database opened with ``mode=ro`` needs its -wal and -shm files: when they exist,
    SQLite reads through them (and sees what other connections committed); when they do not,
    it creates them, which fails in a folder it cannot write (SQLITE_READONLY_DIRECTORY) and,
    in one it can, leaves files with the store's read-only mode that later keep even the owner
    from writing. So without them gsm opens the file ``immutable=1``: no -wal file means no
    connection has the database open and everything is in the file itself. A non-empty -wal
    without its -shm cannot be read without creating one, and is refused.
    ``writable``: the store can be written, so SQLite may make its files as usual.
    """
    uri = path.resolve().as_uri()
    wal, shm = sidecars(path)
    if writable or (wal.exists() and shm.exists()):
        return f"{uri}?mode=ro"
    if not wal.exists() or wal.stat().st_size == 0:
        return f"{uri}?mode=ro&immutable=1"
    raise StoreReadOnlyError(
        f"the store {path} cannot be read: it is read-only, and its write-ahead log {wal.name} "
        f"holds changes that SQLite reads only through a {shm.name} file, which is missing",
        hint="run gsm once as a user who can write the store (that folds the log into it), "
        "or make the store and its folder writable",
    )
