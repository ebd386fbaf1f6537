"""Additions for installed plugins (`gsm plugin install ...`): what each installation is (its
package's sha256, where it came from, its manifest's games and dependencies, whether it is
pinned), every file and folder it put in the server's folder with the file's sha256, and a
journal of file moves that lets the next gsm command finish or undo an install that was
killed half-way.

Revision ID: 0006_plugin_files
Revises: 0005_devices
"""

from alembic import op

revision = "0006_plugin_files"
down_revision = "0005_devices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE local_plugins ADD COLUMN package_sha256 TEXT")
    op.execute("ALTER TABLE local_plugins ADD COLUMN source TEXT")
    op.execute("ALTER TABLE local_plugins ADD COLUMN manifest TEXT")
    op.execute("ALTER TABLE local_plugins ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT 0")
    op.execute(
        """
        CREATE TABLE local_plugin_files (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            installation_id TEXT NOT NULL REFERENCES local_plugins(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'file',
            sha256 TEXT,
            size_bytes INTEGER
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX idx_local_plugin_files_path "
        "ON local_plugin_files(installation_id, path)"
    )
    op.execute(
        """
        CREATE TABLE plugin_journal (
            id TEXT PRIMARY KEY,
            server_id TEXT NOT NULL,
            action TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'prepared',
            work_dir TEXT NOT NULL,
            steps TEXT,
            pid INTEGER,
            created_at TEXT DEFAULT (datetime('now'))
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE plugin_journal")
    op.execute("DROP TABLE local_plugin_files")
    op.execute("ALTER TABLE local_plugins DROP COLUMN pinned")
    op.execute("ALTER TABLE local_plugins DROP COLUMN manifest")
    op.execute("ALTER TABLE local_plugins DROP COLUMN source")
    op.execute("ALTER TABLE local_plugins DROP COLUMN package_sha256")
