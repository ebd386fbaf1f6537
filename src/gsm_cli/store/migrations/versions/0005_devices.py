"""Additions for per-machine servers: this store's device identity (`local_device`, one row) and
the device each server belongs to (`local_servers.device_id`, `device_name`). Servers already
in the store belong to this device: before this revision every server was run here.

Revision ID: 0005_devices
Revises: 0004_sync_state
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0005_devices"
down_revision = "0004_sync_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE local_device (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            device_id TEXT NOT NULL,
            created_at TEXT DEFAULT (datetime('now'))
        )
        """
    )
    device_id = str(uuid.uuid4())
    op.execute(
        sa.text("INSERT INTO local_device (id, device_id) VALUES (1, :device_id)").bindparams(
            device_id=device_id
        )
    )
    op.execute("ALTER TABLE local_servers ADD COLUMN device_id TEXT")
    op.execute("ALTER TABLE local_servers ADD COLUMN device_name TEXT")
    op.execute(
        sa.text("UPDATE local_servers SET device_id = :device_id").bindparams(device_id=device_id)
    )


def downgrade() -> None:
    op.execute("ALTER TABLE local_servers DROP COLUMN device_name")
    op.execute("ALTER TABLE local_servers DROP COLUMN device_id")
    op.execute("DROP TABLE local_device")
