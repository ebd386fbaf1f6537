"""Addition: every queued sync operation carries its own client-generated UUID.

The cloud applies an operation at most once, keyed by this id (docs/sync-protocol.md).
Rows queued before this version get a fresh UUID each.

Revision ID: 0002_outbox_ids
Revises: 0001_seed
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0002_outbox_ids"
down_revision = "0001_seed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE pending_sync_operations ADD COLUMN operation_id TEXT")
    bind = op.get_bind()
    ids = bind.execute(sa.text("SELECT id FROM pending_sync_operations")).scalars().all()
    for row_id in ids:
        bind.execute(
            sa.text("UPDATE pending_sync_operations SET operation_id = :uuid WHERE id = :id"),
            {"uuid": str(uuid.uuid4()), "id": row_id},
        )
    op.execute(
        "CREATE UNIQUE INDEX idx_pending_sync_operations_operation_id "
        "ON pending_sync_operations(operation_id)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX idx_pending_sync_operations_operation_id")
    op.execute("ALTER TABLE pending_sync_operations DROP COLUMN operation_id")
