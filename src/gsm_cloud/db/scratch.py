"""Throw-away PostgreSQL databases, for the test suite and the benchmarks: each run gets its
own database next to the one it is given, dropped afterwards whatever happens."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gsm_cloud.config import normalise_database_url
from gsm_cloud.db.engine import make_engine, migrate


@contextmanager
def scratch_database(admin_url: str, prefix: str, *, migrated: bool = True) -> Iterator[str]:
    """Create a fresh database on the server of ``admin_url``; yield its URL; drop it."""
    base = make_url(normalise_database_url(admin_url))
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        if migrated:
            engine = make_engine(url)
            migrate(engine)
            engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
