"""Additions for unattended operation (issue 14) and two look-up indexes (issue 13).

- ``schedules``: a cron expression (local time) and an ordered chain of tasks (JSON) for one
  server; ``schedule_runs``: each run, with each task's outcome (JSON), and the runner's
  process identity so a run left ``processing`` by a crash or a reboot can be marked
  ``interrupted``. A cron-fired run is recorded once per due time (unique ``schedule_id,
  due_at``), so two schedulers never run the same firing twice.
- ``alert_channels``: where alerts go (an Apprise URL, a secret: never printed in full) and on
  which events; ``alert_queue``: alerts waiting to be sent, with retries, so nobody who records
  an event ever waits on the network.
- ``local_servers.autostart``: start this server when the machine starts (the service).
- ``server_backups.backend`` / ``snapshot_id``: a backup kept as a ``.tar.gz`` archive or as a
  restic snapshot.
- Indexes: servers are looked up by ``lower(name)``; the outbox is searched by ``entity_id``.

Revision ID: 0008_unattended
Revises: 0007_server_community
"""

from alembic import op

revision = "0008_unattended"
down_revision = "0007_server_community"
branch_labels = None
depends_on = None

UPGRADE = [
    """
    CREATE TABLE schedules (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        server_id TEXT NOT NULL REFERENCES local_servers(id) ON DELETE CASCADE,
        cron TEXT NOT NULL,
        tasks TEXT NOT NULL, -- JSON list of {action, argument, offset_seconds, continue_on_failure}
        enabled BOOLEAN NOT NULL DEFAULT 1,
        only_when_running BOOLEAN NOT NULL DEFAULT 0,
        when_empty BOOLEAN NOT NULL DEFAULT 0,
        max_wait_seconds INTEGER,
        last_due_at TEXT,
        created_at TEXT DEFAULT (datetime('now')),
        updated_at TEXT DEFAULT (datetime('now'))
    )
    """,
    "CREATE UNIQUE INDEX ux_schedules_name ON schedules (lower(name))",
    "CREATE INDEX ix_schedules_server ON schedules (server_id)",
    """
    CREATE TABLE schedule_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        schedule_id TEXT NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
        trigger TEXT NOT NULL CHECK (trigger IN ('cron', 'manual')),
        due_at TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL
            CHECK (status IN ('processing', 'succeeded', 'failed', 'interrupted', 'skipped')),
        runner_pid INTEGER,
        runner_create_time REAL,
        tasks TEXT, -- JSON list of {action, argument, status, started_at, finished_at, message}
        message TEXT
    )
    """,
    "CREATE UNIQUE INDEX ux_schedule_runs_due ON schedule_runs (schedule_id, due_at)",
    "CREATE INDEX ix_schedule_runs_status ON schedule_runs (status)",
    """
    CREATE TABLE alert_channels (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        url TEXT NOT NULL,
        events TEXT NOT NULL, -- JSON list of event names
        enabled BOOLEAN NOT NULL DEFAULT 1,
        created_at TEXT DEFAULT (datetime('now'))
    )
    """,
    "CREATE UNIQUE INDEX ux_alert_channels_name ON alert_channels (lower(name))",
    """
    CREATE TABLE alert_queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        channel_id TEXT NOT NULL REFERENCES alert_channels(id) ON DELETE CASCADE,
        server_id TEXT REFERENCES local_servers(id) ON DELETE SET NULL,
        event TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT DEFAULT (datetime('now')),
        last_error TEXT,
        created_at TEXT DEFAULT (datetime('now')),
        sent_at TEXT
    )
    """,
    "CREATE INDEX ix_alert_queue_pending ON alert_queue (status, next_attempt_at)",
    "CREATE INDEX ix_alert_queue_server ON alert_queue (server_id, event, created_at)",
    "ALTER TABLE local_servers ADD COLUMN autostart BOOLEAN NOT NULL DEFAULT 0",
    "ALTER TABLE server_backups ADD COLUMN backend TEXT NOT NULL DEFAULT 'archive'",
    "ALTER TABLE server_backups ADD COLUMN snapshot_id TEXT",
    "CREATE INDEX ix_local_servers_lower_name ON local_servers (lower(name))",
    "CREATE INDEX ix_pending_sync_operations_entity ON pending_sync_operations (entity_id)",
]

DOWNGRADE = [
    "DROP INDEX ix_pending_sync_operations_entity",
    "DROP INDEX ix_local_servers_lower_name",
    "ALTER TABLE server_backups DROP COLUMN snapshot_id",
    "ALTER TABLE server_backups DROP COLUMN backend",
    "ALTER TABLE local_servers DROP COLUMN autostart",
    "DROP TABLE alert_queue",
    "DROP TABLE alert_channels",
    "DROP TABLE schedule_runs",
    "DROP TABLE schedules",
]


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
