"""Additions: the devices that used each token (so revoking a token can say which other
machines it logs out), and the counters behind the log-in rate limit, shared by every worker.

Revision ID: 0003_devices_rate_limits
Revises: 0002_additions
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_devices_rate_limits"
down_revision = "0002_additions"
branch_labels = None
depends_on = None

NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "api_token_devices",
        sa.Column(
            "token_id",
            sa.Uuid(),
            sa.ForeignKey("api_tokens.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("device_id", sa.Uuid(), primary_key=True),
        sa.Column("device_name", sa.String(100)),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False, server_default=NOW),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False, server_default=NOW),
    )
    op.create_table(
        "rate_limit_counters",
        sa.Column("bucket", sa.String(100), primary_key=True),
        sa.Column("window_start", sa.DateTime(), primary_key=True),
        sa.Column("hits", sa.Integer(), nullable=False),
    )
    op.create_index("idx_rate_limit_counters_window", "rate_limit_counters", ["window_start"])


def downgrade() -> None:
    op.drop_table("rate_limit_counters")
    op.drop_table("api_token_devices")
