"""Additions for `gsm sync`: queued operations can be kept aside (`state`, `last_error`), the
pull cursor and the last push and pull, conflicts found by a pull, and local caches of the
plugin catalog and of the user's community memberships. Rows queued before stay 'queued'.

Revision ID: 0004_sync_state
Revises: 0003_server_runtime
"""

from alembic import op

revision = "0004_sync_state"
down_revision = "0003_server_runtime"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE pending_sync_operations ADD COLUMN state TEXT NOT NULL DEFAULT 'queued'"
    )
    op.execute("ALTER TABLE pending_sync_operations ADD COLUMN last_error TEXT")
    op.execute(
        """
        CREATE TABLE sync_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            cursor INTEGER NOT NULL DEFAULT 0,
            last_push_at TEXT,
            last_push_result TEXT,
            last_pull_at TEXT,
            last_pull_result TEXT
        )
        """
    )
    op.execute(
        """
        CREATE TABLE sync_conflicts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            entity_type TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            cloud_operation TEXT NOT NULL,
            cloud_data TEXT,
            reason TEXT,
            detected_at TEXT DEFAULT (datetime('now')),
            UNIQUE (entity_type, entity_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE plugin_catalog (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT,
            category TEXT,
            version TEXT,
            data TEXT,
            updated_at TEXT DEFAULT (datetime('now'))
        )
        """
    )
    op.execute(
        """
        CREATE TABLE community_memberships (
            community_id TEXT PRIMARY KEY,
            community_name TEXT,
            role TEXT,
            joined_at TEXT,
            updated_at TEXT DEFAULT (datetime('now'))
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE community_memberships")
    op.execute("DROP TABLE plugin_catalog")
    op.execute("DROP TABLE sync_conflicts")
    op.execute("DROP TABLE sync_state")
    op.execute("ALTER TABLE pending_sync_operations DROP COLUMN last_error")
    op.execute("ALTER TABLE pending_sync_operations DROP COLUMN state")
