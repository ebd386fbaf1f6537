"""Addition: sync_batches. A push request may name itself (``batch_id``) and the request it
must follow (``after_batch_id``); the id of every such request that committed is kept here
for the pusher, so a request that overtook its predecessor waits for it instead of applying
out of order. Rows are short-lived: the successor deletes its predecessor's row, and a row
older than a day is deleted by the next push of its user.

Revision ID: 0007_sync_batches
Revises: 0006_payments
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_sync_batches"
down_revision = "0006_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_batches",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "committed_at",
            sa.DateTime(),
            nullable=False,
            server_default=sa.text("CURRENT_TIMESTAMP"),
        ),
    )
    op.create_index("idx_sync_batches_user", "sync_batches", ["user_id", "committed_at"])


def downgrade() -> None:
    op.drop_index("idx_sync_batches_user", table_name="sync_batches")
    op.drop_table("sync_batches")
