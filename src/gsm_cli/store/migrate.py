"""Schema versions of the local store and the in-place upgrade between them (Alembic).

The version is read on every start with one cheap query; Alembic itself is only imported
when an upgrade is due, so read commands stay fast.
"""

from pathlib import Path

from sqlalchemy import Connection, Engine, text

from gsm_cli.errors import ConflictError
from gsm_cli.store.revisions import HEAD, REVISIONS, SEED_TABLES  # re-exported

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def read_version(conn: Connection) -> str | None:
    has_table = conn.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'")
    ).first()
    if not has_table:
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _table_names(conn: Connection) -> set[str]:
    rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
    return {name for (name,) in rows}


def check_known(version: str | None) -> None:
    if version is not None and version not in REVISIONS:
        raise ConflictError(
            f"the store's schema version {version!r} is newer than this gsm knows ({HEAD})",
            hint="upgrade gsm, or point GSM_HOME at another folder",
            code="store_too_new",
        )


def upgrade(engine: Engine, target: str | None = None) -> str | None:
    """Bring the store to ``target`` inside one immediate transaction; return the old version.

    Safe to call from many processes at once: the first takes the write lock and migrates,
    the others wait on the busy timeout and then find nothing to do.
    """
    target = target or HEAD
    with engine.connect().execution_options(gsm_begin="IMMEDIATE") as conn, conn.begin():
        current = read_version(conn)
        check_known(current)
        if current == target:
            return current
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = conn
        if current is None and _table_names(conn) >= SEED_TABLES:
            # A store made from the seed DDL before versioning existed: adopt it as 0001.
            command.stamp(config, REVISIONS[0])
        command.upgrade(config, target)
        return current
