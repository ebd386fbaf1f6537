"""Additions: password hashes and hashed API tokens; plugin versions with sha256 and size;
one rating per user and plugin; the reason of a rejected sync operation; the change feed
behind pull.

Revision ID: 0002_additions
Revises: 0001_seed
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_additions"
down_revision = "0001_seed"
branch_labels = None
depends_on = None

NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.add_column("users", sa.Column("password_hash", sa.String(255)))
    op.add_column("sync_operations", sa.Column("detail", sa.Text()))
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False, server_default=NOW),
        sa.Column("expires_at", sa.DateTime()),
        sa.Column("last_used_at", sa.DateTime()),
        sa.Column("revoked_at", sa.DateTime()),
    )
    op.create_index("idx_api_tokens_user", "api_tokens", ["user_id"])
    op.create_table(
        "plugin_versions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "plugin_id", sa.Uuid(), sa.ForeignKey("plugins.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("version", sa.String(20), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.String(500), nullable=False),
        sa.Column("changelog", sa.Text()),
        sa.Column("created_at", sa.DateTime(), nullable=False, server_default=NOW),
        sa.UniqueConstraint("plugin_id", "version", name="uq_plugin_versions_plugin_version"),
    )
    op.create_table(
        "plugin_ratings",
        sa.Column(
            "plugin_id",
            sa.Uuid(),
            sa.ForeignKey("plugins.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("review", sa.Text()),
        sa.Column("created_at", sa.DateTime(), nullable=False, server_default=NOW),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="ck_plugin_ratings_rating"),
    )
    op.create_table(
        "change_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("audience_user_id", sa.Uuid()),
        sa.Column("entity_type", sa.String(50), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("operation", sa.String(20), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False, server_default=NOW),
        sqlite_autoincrement=True,  # a cursor must never be handed out twice
    )
    op.create_index("idx_change_log_audience", "change_log", ["audience_user_id", "seq"])


def downgrade() -> None:
    op.drop_table("change_log")
    op.drop_table("plugin_ratings")
    op.drop_table("plugin_versions")
    op.drop_table("api_tokens")
    op.drop_column("sync_operations", "detail")
    op.drop_column("users", "password_hash")
