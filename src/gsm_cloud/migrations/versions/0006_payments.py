"""Addition: payments. A plugin's price carries a currency (plugins.currency); a purchase or a
donation is a payment, pending until its provider confirms it, and only then written as a
revenue_transactions row (payments.transaction_id). payment_events keeps the id of every
provider event handled, so a webhook delivered twice is handled once.

Revision ID: 0006_payments
Revises: 0005_community_invitations
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_payments"
down_revision = "0005_community_invitations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "plugins",
        sa.Column("currency", sa.String(3), nullable=False, server_default=sa.text("'USD'")),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("payer_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("plugin_id", sa.Uuid(), sa.ForeignKey("plugins.id", ondelete="SET NULL")),
        sa.Column("community_id", sa.Uuid(), sa.ForeignKey("communities.id", ondelete="SET NULL")),
        sa.Column("recipient_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("amount", sa.Numeric(10, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("provider_payment_id", sa.String(100)),
        sa.Column("status", sa.String(20), nullable=False, server_default=sa.text("'pending'")),
        sa.Column("message", sa.Text()),
        sa.Column(
            "transaction_id",
            sa.Uuid(),
            sa.ForeignKey("revenue_transactions.id"),
            unique=True,
        ),
        sa.Column(
            "created_at", sa.DateTime(), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")
        ),
        sa.Column("confirmed_at", sa.DateTime()),
        sa.CheckConstraint("amount > 0", name="ck_payments_amount"),
        sa.CheckConstraint(
            "kind IN ('plugin_purchase', 'community_donation')", name="ck_payments_kind"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'failed')", name="ck_payments_status"
        ),
        sa.CheckConstraint(
            "(status = 'confirmed') = (transaction_id IS NOT NULL)",
            name="ck_payments_confirmed_has_transaction",
        ),
        sa.UniqueConstraint(
            "provider", "provider_payment_id", name="uq_payments_provider_payment_id"
        ),
    )
    op.create_index("idx_payments_payer", "payments", ["payer_id"])
    op.create_table(
        "payment_events",
        sa.Column("provider", sa.String(20), primary_key=True),
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column(
            "received_at",
            sa.DateTime(),
            nullable=False,
            server_default=sa.text("CURRENT_TIMESTAMP"),
        ),
    )


def downgrade() -> None:
    op.drop_table("payment_events")
    op.drop_index("idx_payments_payer", table_name="payments")
    op.drop_table("payments")
    op.drop_column("plugins", "currency")
