"""Addition: invitations to a community. An Owner or Admin creates one; its one-time code is
stored only as a hash (SHA-256 of a high-entropy random code), it expires, and it can be used
a limited number of times (1 unless said otherwise) or revoked.

Revision ID: 0005_community_invitations
Revises: 0004_plugin_packages
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_community_invitations"
down_revision = "0004_plugin_packages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "community_invitations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "community_id",
            sa.Uuid(),
            sa.ForeignKey("communities.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Uuid(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("email", sa.String(255)),
        sa.Column("max_uses", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("uses", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime()),
        sa.Column(
            "created_at", sa.DateTime(), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")
        ),
        sa.CheckConstraint("max_uses >= 1", name="ck_community_invitations_max_uses"),
        sa.CheckConstraint("uses >= 0 AND uses <= max_uses", name="ck_community_invitations_uses"),
    )
    op.create_index(
        "idx_community_invitations_community", "community_invitations", ["community_id"]
    )


def downgrade() -> None:
    op.drop_index("idx_community_invitations_community", table_name="community_invitations")
    op.drop_table("community_invitations")
