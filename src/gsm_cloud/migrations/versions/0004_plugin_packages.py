"""Additions for validated plugin packages: each published version's dependencies and games
(from its manifest), and an index on the lower-case plugin name, by which gsm finds a plugin.

Revision ID: 0004_plugin_packages
Revises: 0003_devices_rate_limits
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_plugin_packages"
down_revision = "0003_devices_rate_limits"
branch_labels = None
depends_on = None

JSONB = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TEXT_ARRAY = sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("plugin_versions", sa.Column("dependencies", JSONB))
    op.add_column("plugin_versions", sa.Column("games", TEXT_ARRAY))
    op.create_index("idx_plugins_name_lower", "plugins", [sa.text("lower(name)")])


def downgrade() -> None:
    op.drop_index("idx_plugins_name_lower", table_name="plugins")
    op.drop_column("plugin_versions", "games")
    op.drop_column("plugin_versions", "dependencies")
