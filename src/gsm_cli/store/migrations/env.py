"""Alembic environment for the local store. gsm always hands in an open connection that is
already inside a ``BEGIN IMMEDIATE`` transaction, so every migration step commits or rolls back
as one unit and concurrent gsm processes never migrate the same file twice."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable by running alembic by hand
    raise RuntimeError("gsm's store migrations run through gsm_cli.store.migrate.upgrade()")

context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
