"""Additions for running servers: the game process's create time (so a reused pid never passes
for a live server), a log of lifecycle events (starts, stops, crashes with exit codes), and the
backups taken of each server with their sha256.

Revision ID: 0003_server_runtime
Revises: 0002_outbox_ids
"""

from alembic import op

revision = "0003_server_runtime"
down_revision = "0002_outbox_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE local_servers ADD COLUMN process_create_time REAL")
    op.execute(
        """
        CREATE TABLE server_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            server_id TEXT NOT NULL REFERENCES local_servers(id) ON DELETE CASCADE,
            event TEXT NOT NULL,
            exit_code INTEGER,
            detail TEXT,
            occurred_at TEXT DEFAULT (datetime('now'))
        )
        """
    )
    op.execute("CREATE INDEX idx_server_events_server ON server_events(server_id, id)")
    op.execute(
        """
        CREATE TABLE server_backups (
            id TEXT PRIMARY KEY,
            server_id TEXT NOT NULL REFERENCES local_servers(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            created_at TEXT DEFAULT (datetime('now'))
        )
        """
    )
    op.execute("CREATE INDEX idx_server_backups_server ON server_backups(server_id, created_at)")


def downgrade() -> None:
    op.execute("DROP TABLE server_backups")
    op.execute("DROP TABLE server_events")
    op.execute("ALTER TABLE local_servers DROP COLUMN process_create_time")
