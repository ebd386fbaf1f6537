"""Addition for communities (`gsm server create|update --community`): the community a server
belongs to, the cloud's ``game_servers.community_id``. It travels in the server's sync payload
like the seed's columns, and a pull brings it back.

Revision ID: 0007_server_community
Revises: 0006_plugin_files
"""

from alembic import op

revision = "0007_server_community"
down_revision = "0006_plugin_files"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE local_servers ADD COLUMN community_id TEXT")


def downgrade() -> None:
    op.execute("ALTER TABLE local_servers DROP COLUMN community_id")
