"""Opening the local store: file checks, engine set-up (WAL, busy timeout), sessions.

Write transactions start with ``BEGIN IMMEDIATE``: a deferred transaction that later tries
to write can fail at once with "database is locked" whatever the busy timeout, which is the
classic way several SQLite processes trip over each other.
"""

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session

from gsm_cli.errors import ConflictError, StoreError
from gsm_cli.store import migrate

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_SECONDS = 30.0
log = logging.getLogger("gsm.store")
_STORE_HINT = "move the file aside (gsm then creates a new store) or restore it from a backup"


def check_store_file(path: Path) -> None:
    """Refuse, without writing a byte, a file that is not a gsm store (or an empty new one)."""
    if not path.exists():
        return
    if path.is_dir():
        raise StoreError(f"the store path {path} is a folder, not a file")
    with path.open("rb") as fh:
        header = fh.read(len(SQLITE_HEADER))
    if not header:
        return
    if header != SQLITE_HEADER:
        raise StoreError(f"{path} is not a gsm store (not an SQLite database)", hint=_STORE_HINT)
    tables = _read_only_table_names(path)
    foreign = {name for name in tables if not name.startswith("sqlite_")}
    if foreign and "alembic_version" not in foreign and not foreign >= migrate.SEED_TABLES:
        raise StoreError(
            f"{path} is another program's SQLite database, not a gsm store",
            hint="point GSM_HOME at another folder, or move the file aside",
        )


def _read_only_table_names(path: Path) -> set[str]:
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"the store {path} is corrupt ({exc})", hint=_STORE_HINT) from exc
    return {name for (name,) in rows}


def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    # We issue BEGIN ourselves (see _on_begin); pysqlite's implicit transactions get in the way.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        # Reading the schema first fails fast on a corrupt file, before anything is written.
        cursor.execute("SELECT count(*) FROM sqlite_master").fetchone()
        cursor.execute("PRAGMA journal_mode = WAL").fetchone()
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _on_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get("gsm_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def translate_db_error(path: Path, exc: DatabaseError) -> Exception:
    """Turn a driver error into one of ours when it says something about the file itself."""
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

    def __init__(self, path: Path, engine: Engine, *, read_only: bool = False) -> None:
        self.path = path
        self.engine = engine
        # True when the file or its folder cannot be written: reads work, write() refuses.
        self.read_only = read_only
        self._write_engine = engine.execution_options(gsm_begin="IMMEDIATE")

    @classmethod
    def open(cls, path: Path, *, upgrade: bool = True) -> "Store":
        """Open (creating if needed) and, unless told not to, bring the schema up to date."""
        check_store_file(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        store = cls(path, make_engine(path))
        try:
            version = store.schema_version()
            migrate.check_known(version)
            if upgrade and version != migrate.HEAD:
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
        """A session whose work commits as one transaction, or not at all."""
        with self._session(self._write_engine) as session, session.begin():
            yield session

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
