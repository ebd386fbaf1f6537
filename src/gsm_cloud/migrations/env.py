"""Alembic environment for gsm-cloud. `gsm-cloud migrate` passes an open connection."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only by running alembic by hand
    raise RuntimeError("run migrations with `gsm-cloud migrate`")

context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
