"""Opening the local store: file checks, engine set-up (WAL, busy timeout), sessions.

Write transactions start with ``BEGIN IMMEDIATE``: a deferred transaction that later tries
to write can fail at once with "database is locked" whatever the busy timeout, which is the
classic way several SQLite processes trip over each other.

A store this user cannot write (its file, its folder, or SQLite's -wal/-shm files beside it)
is opened read-only: reads work, ``Store.write()`` raises ``StoreReadOnlyError``. See
``read_only_uri`` for how SQLite is made to read a WAL database without writing anything.
"""

import logging
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session

from gsm_cli.errors import ConflictError, HomeUnusableError, StoreError, StoreReadOnlyError
from gsm_cli.paths import FOLDER_HINT, ensure_folder, folder_problem
from gsm_cli.store import migrate
from gsm_cli.store.files import (  # re-exported: the store's file, without SQLAlchemy
    BUSY_TIMEOUT_SECONDS,
    SQLITE_HEADER,
    read_only_uri,
    write_problems,
)

log = logging.getLogger("gsm.store")
_STORE_HINT = "move the file aside (gsm then creates a new store) or restore it from a backup"
_ACCESS_HINT = (
    "check that this user may read the store and its folder (owner and permissions), "
    "or point GSM_HOME at another folder"
)
READ_ONLY_HINT = (
    "gsm can read this store but not change it: let this user write the store file and its "
    "folder (check their owner and permissions), or point GSM_HOME at a folder you can write"
)
# SQLite's primary result codes (the low byte of sqlite3.Error.sqlite_errorcode).
_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_CORRUPT, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 3, 8, 11, 14, 26


def check_store_file(path: Path) -> None:
    """Refuse, without writing a byte, a file that is not a gsm store (or an empty new one)."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return  # no store yet (or a file where its folder should be: Store.open says so)
    except OSError as exc:
        raise HomeUnusableError(
            f"gsm cannot reach its store {path}: {exc.strerror or exc}", hint=FOLDER_HINT
        ) from exc
    if stat.S_ISDIR(info.st_mode):
        raise StoreError(f"the store path {path} is a folder, not a file")
    try:
        with path.open("rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(
            f"the store {path} cannot be read: {exc.strerror or exc}", hint=_ACCESS_HINT
        ) from exc
    if not header:
        return
    if header != SQLITE_HEADER:
        raise StoreError(f"{path} is not a gsm store (not an SQLite database)", hint=_STORE_HINT)
    tables = _read_only_table_names(path, writable=not write_problems(path))
    foreign = {name for name in tables if not name.startswith("sqlite_")}
    if foreign and "alembic_version" not in foreign and not foreign >= migrate.SEED_TABLES:
        raise StoreError(
            f"{path} is another program's SQLite database, not a gsm store",
            hint="point GSM_HOME at another folder, or move the file aside",
        )


def _read_only_table_names(path: Path, *, writable: bool) -> set[str]:
    uri = read_only_uri(path, writable=writable)
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise _driver_error(path, exc) or _unreadable(path, str(exc)) from exc
    return {name for (name,) in rows}


def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    _set_up(dbapi_conn, wal=True)


def _on_connect_read_only(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    # No journal_mode pragma: switching to WAL is a write; a gsm store is in WAL mode already.
    _set_up(dbapi_conn, wal=False)


def _set_up(dbapi_conn: sqlite3.Connection, *, wal: bool) -> None:
    # We issue BEGIN ourselves (see _on_begin); pysqlite's implicit transactions get in the way.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        # Reading the schema first fails fast on a corrupt file, before anything is written.
        cursor.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if wal:
            cursor.execute("PRAGMA journal_mode = WAL").fetchone()
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _on_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get("gsm_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(path: Path, *, read_only_uri: str | None = None) -> Engine:
    """The engine of the store at ``path``; with ``read_only_uri``, one that never writes."""
    connect_args: dict[str, Any] = {"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False}
    if read_only_uri is None:
        engine = create_engine(f"sqlite:///{path}", connect_args=connect_args)
        event.listen(engine, "connect", _on_connect)
    else:
        uri = read_only_uri
        engine = create_engine(
            f"sqlite:///{path}",  # for the dialect and the pool; connections come from creator
            creator=lambda: sqlite3.connect(uri, uri=True, **connect_args),
        )
        event.listen(engine, "connect", _on_connect_read_only)
    event.listen(engine, "begin", _on_begin)
    return engine


def _driver_error(path: Path, exc: sqlite3.Error) -> Exception | None:
    """One of our errors for an sqlite3 error about the file itself, by SQLite's result code."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return StoreError(f"the store {path} is corrupt ({exc})", hint=_STORE_HINT)
    if primary == _SQLITE_READONLY:
        return StoreReadOnlyError(
            f"cannot change the store {path}: SQLite finds it read-only ({exc})",
            hint=READ_ONLY_HINT,
        )
    if primary in (_SQLITE_CANTOPEN, _SQLITE_PERM):
        return StoreError(f"the store {path} cannot be opened ({exc})", hint=_ACCESS_HINT)
    return None


def _unreadable(path: Path, message: str) -> StoreError:
    if "not a database" in message or "malformed" in message or "corrupt" in message:
        return StoreError(f"the store {path} is corrupt ({message})", hint=_STORE_HINT)
    return StoreError(f"the store {path} cannot be read ({message})", hint=_ACCESS_HINT)


def translate_db_error(path: Path, exc: DatabaseError) -> Exception:
    """Turn a driver error into one of ours when it says something about the file itself."""
    if isinstance(exc.orig, sqlite3.Error):
        ours = _driver_error(path, exc.orig)
        if ours is not None:
            return ours
    message = str(exc.orig) if exc.orig is not None else str(exc)
    if "not a database" in message or "malformed" in message or "corrupt" in message:
        return StoreError(f"the store {path} is corrupt ({message})", hint=_STORE_HINT)
    if isinstance(exc, OperationalError) and "locked" in message:
        return ConflictError(
            f"the store {path} stayed locked by another program for {BUSY_TIMEOUT_SECONDS:.0f}s",
            code="store_busy",
        )
    return exc


class Store:
    """One local store file. Use ``Store.open(path)``; then ``read()`` / ``write()`` sessions."""

    def __init__(
        self,
        path: Path,
        engine: Engine,
        *,
        read_only: bool = False,
        read_only_reason: str | None = None,
    ) -> None:
        self.path = path
        self.engine = engine
        # True when the file or its folder cannot be written: reads work, write() refuses.
        self.read_only = read_only
        self.read_only_reason = read_only_reason
        self._write_engine = engine.execution_options(gsm_begin="IMMEDIATE")

    @classmethod
    def open(cls, path: Path, *, upgrade: bool = True) -> "Store":
        """Open (creating if needed) and, unless told not to, bring the schema up to date.

        A store this user cannot write opens read-only (``read_only``); one that would need
        creating or upgrading then is refused with StoreReadOnlyError, the file untouched.
        """
        check_store_file(path)
        ensure_folder(path.parent, "data")
        exists = path.exists()
        if not exists and (problem := folder_problem(path.parent)):
            raise HomeUnusableError(
                f"gsm cannot create its store {path}: {problem}", hint=FOLDER_HINT
            )
        problems = write_problems(path) if exists else []
        if problems:
            reason = ", ".join(problems)
            engine = make_engine(path, read_only_uri=read_only_uri(path))
            store = cls(path, engine, read_only=True, read_only_reason=reason)
        else:
            store = cls(path, make_engine(path))
        try:
            version = store.schema_version()
            migrate.check_known(version)
            if upgrade and version != migrate.HEAD:
                if store.read_only:
                    start = f"from schema {version} " if version else ""
                    raise store.read_only_error(
                        f"and needs an upgrade {start}to {migrate.HEAD} before this gsm can use it"
                    )
                old = migrate.upgrade(store.engine)
                if old is None:
                    log.info("created the store %s (schema %s)", path, migrate.HEAD)
                elif old != migrate.HEAD:
                    log.info("upgraded the store %s from schema %s to %s", path, old, migrate.HEAD)
        except DatabaseError as exc:
            store.close()
            raise translate_db_error(path, exc) from exc
        except BaseException:
            store.close()
            raise
        return store

    def schema_version(self) -> str | None:
        with self.engine.connect() as conn:
            return migrate.read_version(conn)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._session(self.engine) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose work commits as one transaction, or not at all.

        On a read-only store it raises StoreReadOnlyError before anything is done.
        """
        self.check_writable()
        with self._session(self._write_engine) as session, session.begin():
            yield session

    def check_writable(self) -> None:
        """Raise StoreReadOnlyError on a read-only store: for work that must not even begin
        (files written before the store is) when its result cannot be recorded."""
        if self.read_only:
            raise self.read_only_error()

    def read_only_error(self, detail: str | None = None) -> StoreReadOnlyError:
        """The error for a change this read-only store cannot take; ``detail`` ends the message
        instead of "gsm cannot change it" ("and needs an upgrade ...")."""
        why = self.read_only_reason or "it cannot be written"
        ending = f" {detail}" if detail else "; gsm cannot change it"
        return StoreReadOnlyError(
            f"the store {self.path} is read-only ({why}){ending}", hint=READ_ONLY_HINT
        )

    @contextmanager
    def _session(self, bind: Engine) -> Iterator[Session]:
        try:
            with Session(bind, expire_on_commit=False) as session:
                yield session
        except DatabaseError as exc:
            raise translate_db_error(self.path, exc) from exc

    def integrity_problems(self) -> list[str]:
        """``PRAGMA integrity_check``: an empty list when the file is sound."""
        with self.engine.connect() as conn:
            rows = [row for (row,) in conn.execute(text("PRAGMA integrity_check"))]
        return [] if rows == ["ok"] else rows

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
