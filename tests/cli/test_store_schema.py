"""The store gsm creates is the seed's SQLite schema, exactly, plus the documented additions."""

import re
import sqlite3
from pathlib import Path

import pytest

from gsm_cli.store import Store, migrate
from gsm_cli.store.models import Base

# The seed (shared/seed/database-schema.md), restated as PRAGMA table_info rows:
# (name, declared type, not null, default, primary key position).
SEED_COLUMNS = {
    "local_servers": [
        ("id", "TEXT", 0, None, 1),
        ("name", "TEXT", 1, None, 0),
        ("game_type", "TEXT", 1, None, 0),
        ("status", "TEXT", 1, None, 0),
        ("configuration", "TEXT", 0, None, 0),
        ("process_id", "INTEGER", 0, None, 0),
        ("port", "INTEGER", 0, None, 0),
        ("install_path", "TEXT", 0, None, 0),
        ("last_backup", "TEXT", 0, None, 0),
        ("created_at", "TEXT", 0, "datetime('now')", 0),
        ("cloud_sync_status", "TEXT", 0, "'pending'", 0),
    ],
    "local_plugins": [
        ("id", "TEXT", 0, None, 1),
        ("server_id", "TEXT", 0, None, 0),
        ("plugin_id", "TEXT", 0, None, 0),
        ("name", "TEXT", 1, None, 0),
        ("version", "TEXT", 0, None, 0),
        ("install_path", "TEXT", 0, None, 0),
        ("configuration", "TEXT", 0, None, 0),
        ("is_enabled", "BOOLEAN", 0, "1", 0),
        ("installed_at", "TEXT", 0, "datetime('now')", 0),
    ],
    "performance_history": [
        ("id", "INTEGER", 0, None, 1),
        ("server_id", "TEXT", 0, None, 0),
        ("cpu_usage", "REAL", 0, None, 0),
        ("memory_usage", "REAL", 0, None, 0),
        ("network_latency", "REAL", 0, None, 0),
        ("player_count", "INTEGER", 0, None, 0),
        ("recorded_at", "TEXT", 0, "datetime('now')", 0),
    ],
    "pending_sync_operations": [
        ("id", "INTEGER", 0, None, 1),
        ("operation_type", "TEXT", 1, None, 0),
        ("entity_type", "TEXT", 1, None, 0),
        ("entity_id", "TEXT", 1, None, 0),
        ("data_payload", "TEXT", 0, None, 0),
        ("retry_count", "INTEGER", 0, "0", 0),
        ("created_at", "TEXT", 0, "datetime('now')", 0),
    ],
    "user_settings": [
        ("key", "TEXT", 0, None, 1),
        ("value", "TEXT", 0, None, 0),
        ("updated_at", "TEXT", 0, "datetime('now')", 0),
    ],
    "game_installations": [
        ("game_type", "TEXT", 0, None, 1),
        ("install_path", "TEXT", 1, None, 0),
        ("version", "TEXT", 0, None, 0),
        ("last_updated", "TEXT", 0, None, 0),
        ("steam_app_id", "INTEGER", 0, None, 0),
        ("is_valid", "BOOLEAN", 0, "1", 0),
    ],
}
SEED_INDEXES = {
    "idx_local_servers_status": ("local_servers", ["status"]),
    "idx_local_plugins_server": ("local_plugins", ["server_id"]),
    "idx_performance_history_server": ("performance_history", ["server_id"]),
    "idx_performance_history_time": ("performance_history", ["recorded_at"]),
}
SEED_FOREIGN_KEYS = {
    ("local_plugins", "server_id"): ("local_servers", "id"),
    ("performance_history", "server_id"): ("local_servers", "id"),
}
# Documented in docs/architecture.md, "Additions to the seed schema".
ADDED_COLUMNS = {
    "pending_sync_operations": [
        ("operation_id", "TEXT", 0, None, 0),
        ("state", "TEXT", 1, "'queued'", 0),
        ("last_error", "TEXT", 0, None, 0),
    ],
    "local_servers": [
        ("process_create_time", "REAL", 0, None, 0),
        ("device_id", "TEXT", 0, None, 0),
        ("device_name", "TEXT", 0, None, 0),
        ("community_id", "TEXT", 0, None, 0),
        ("autostart", "BOOLEAN", 1, "0", 0),
    ],
    "local_plugins": [
        ("package_sha256", "TEXT", 0, None, 0),
        ("source", "TEXT", 0, None, 0),
        ("manifest", "TEXT", 0, None, 0),
        ("pinned", "BOOLEAN", 1, "0", 0),
    ],
}
# name: (table, columns, unique); an expression's column reads as None.
ADDED_INDEXES = {
    "idx_pending_sync_operations_operation_id": (
        "pending_sync_operations",
        ["operation_id"],
        True,
    ),
    "ix_pending_sync_operations_entity": ("pending_sync_operations", ["entity_id"], False),
    "ix_local_servers_lower_name": ("local_servers", [None], False),
}
ADDED_TABLE_COLUMNS = {
    "server_events": [
        ("id", "INTEGER", 0, None, 1),
        ("server_id", "TEXT", 1, None, 0),
        ("event", "TEXT", 1, None, 0),
        ("exit_code", "INTEGER", 0, None, 0),
        ("detail", "TEXT", 0, None, 0),
        ("occurred_at", "TEXT", 0, "datetime('now')", 0),
    ],
    "server_backups": [
        ("id", "TEXT", 0, None, 1),
        ("server_id", "TEXT", 1, None, 0),
        ("path", "TEXT", 1, None, 0),
        ("sha256", "TEXT", 1, None, 0),
        ("size_bytes", "INTEGER", 1, None, 0),
        ("created_at", "TEXT", 0, "datetime('now')", 0),
        ("backend", "TEXT", 1, "'archive'", 0),
        ("snapshot_id", "TEXT", 0, None, 0),
    ],
    "local_device": [
        ("id", "INTEGER", 0, None, 1),
        ("device_id", "TEXT", 1, None, 0),
        ("created_at", "TEXT", 0, "datetime('now')", 0),
    ],
    "sync_state": [
        ("id", "INTEGER", 0, None, 1),
        ("cursor", "INTEGER", 1, "0", 0),
        ("last_push_at", "TEXT", 0, None, 0),
        ("last_push_result", "TEXT", 0, None, 0),
        ("last_pull_at", "TEXT", 0, None, 0),
        ("last_pull_result", "TEXT", 0, None, 0),
    ],
    "sync_conflicts": [
        ("id", "INTEGER", 0, None, 1),
        ("entity_type", "TEXT", 1, None, 0),
        ("entity_id", "TEXT", 1, None, 0),
        ("cloud_operation", "TEXT", 1, None, 0),
        ("cloud_data", "TEXT", 0, None, 0),
        ("reason", "TEXT", 0, None, 0),
        ("detected_at", "TEXT", 0, "datetime('now')", 0),
    ],
    "plugin_catalog": [
        ("id", "TEXT", 0, None, 1),
        ("name", "TEXT", 1, None, 0),
        ("description", "TEXT", 0, None, 0),
        ("category", "TEXT", 0, None, 0),
        ("version", "TEXT", 0, None, 0),
        ("data", "TEXT", 0, None, 0),
        ("updated_at", "TEXT", 0, "datetime('now')", 0),
    ],
    "community_memberships": [
        ("community_id", "TEXT", 0, None, 1),
        ("community_name", "TEXT", 0, None, 0),
        ("role", "TEXT", 0, None, 0),
        ("joined_at", "TEXT", 0, None, 0),
        ("updated_at", "TEXT", 0, "datetime('now')", 0),
    ],
    "local_plugin_files": [
        ("id", "INTEGER", 0, None, 1),
        ("installation_id", "TEXT", 1, None, 0),
        ("path", "TEXT", 1, None, 0),
        ("kind", "TEXT", 1, "'file'", 0),
        ("sha256", "TEXT", 0, None, 0),
        ("size_bytes", "INTEGER", 0, None, 0),
    ],
    "plugin_journal": [
        ("id", "TEXT", 0, None, 1),
        ("server_id", "TEXT", 1, None, 0),
        ("action", "TEXT", 1, None, 0),
        ("state", "TEXT", 1, "'prepared'", 0),
        ("work_dir", "TEXT", 1, None, 0),
        ("steps", "TEXT", 0, None, 0),
        ("pid", "INTEGER", 0, None, 0),
        ("created_at", "TEXT", 0, "datetime('now')", 0),
    ],
    "schedules": [
        ("id", "TEXT", 0, None, 1),
        ("name", "TEXT", 1, None, 0),
        ("server_id", "TEXT", 1, None, 0),
        ("cron", "TEXT", 1, None, 0),
        ("tasks", "TEXT", 1, None, 0),
        ("enabled", "BOOLEAN", 1, "1", 0),
        ("only_when_running", "BOOLEAN", 1, "0", 0),
        ("when_empty", "BOOLEAN", 1, "0", 0),
        ("max_wait_seconds", "INTEGER", 0, None, 0),
        ("last_due_at", "TEXT", 0, None, 0),
        ("created_at", "TEXT", 0, "datetime('now')", 0),
        ("updated_at", "TEXT", 0, "datetime('now')", 0),
    ],
    "schedule_runs": [
        ("id", "INTEGER", 0, None, 1),
        ("schedule_id", "TEXT", 1, None, 0),
        ("trigger", "TEXT", 1, None, 0),
        ("due_at", "TEXT", 0, None, 0),
        ("started_at", "TEXT", 1, None, 0),
        ("finished_at", "TEXT", 0, None, 0),
        ("status", "TEXT", 1, None, 0),
        ("runner_pid", "INTEGER", 0, None, 0),
        ("runner_create_time", "REAL", 0, None, 0),
        ("tasks", "TEXT", 0, None, 0),
        ("message", "TEXT", 0, None, 0),
    ],
    "alert_channels": [
        ("id", "TEXT", 0, None, 1),
        ("name", "TEXT", 1, None, 0),
        ("url", "TEXT", 1, None, 0),
        ("events", "TEXT", 1, None, 0),
        ("enabled", "BOOLEAN", 1, "1", 0),
        ("created_at", "TEXT", 0, "datetime('now')", 0),
    ],
    "alert_queue": [
        ("id", "INTEGER", 0, None, 1),
        ("channel_id", "TEXT", 1, None, 0),
        ("server_id", "TEXT", 0, None, 0),
        ("event", "TEXT", 1, None, 0),
        ("title", "TEXT", 1, None, 0),
        ("body", "TEXT", 1, None, 0),
        ("status", "TEXT", 1, "'pending'", 0),
        ("attempts", "INTEGER", 1, "0", 0),
        ("next_attempt_at", "TEXT", 0, "datetime('now')", 0),
        ("last_error", "TEXT", 0, None, 0),
        ("created_at", "TEXT", 0, "datetime('now')", 0),
        ("sent_at", "TEXT", 0, None, 0),
    ],
}
ADDED_TABLES = {"alembic_version", "sqlite_sequence", *ADDED_TABLE_COLUMNS}


@pytest.fixture
def db(tmp_path: Path) -> sqlite3.Connection:
    Store.open(tmp_path / "gsm.db").close()
    conn = sqlite3.connect(tmp_path / "gsm.db")
    yield conn
    conn.close()


def _columns(conn: sqlite3.Connection, table: str) -> list[tuple]:
    return [tuple(row[1:]) for row in conn.execute(f"PRAGMA table_info({table})")]


def test_tables_are_the_seed_tables_plus_documented_additions(db: sqlite3.Connection) -> None:
    tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == set(SEED_COLUMNS) | ADDED_TABLES


@pytest.mark.parametrize("table", sorted(SEED_COLUMNS))
def test_columns_match_the_seed(db: sqlite3.Connection, table: str) -> None:
    assert _columns(db, table) == SEED_COLUMNS[table] + ADDED_COLUMNS.get(table, [])


@pytest.mark.parametrize("table", sorted(ADDED_TABLE_COLUMNS))
def test_added_tables_are_as_documented(db: sqlite3.Connection, table: str) -> None:
    assert _columns(db, table) == ADDED_TABLE_COLUMNS[table]


def test_indexes_match_the_seed(db: sqlite3.Connection) -> None:
    found = {}
    for table in SEED_COLUMNS:
        for _seq, name, unique, origin, _partial in db.execute(f"PRAGMA index_list({table})"):
            if origin == "pk":
                continue
            columns = [row[2] for row in db.execute(f"PRAGMA index_info({name})")]
            found[name] = (table, columns, bool(unique))
    expected = {name: (t, cols, False) for name, (t, cols) in SEED_INDEXES.items()}
    expected |= ADDED_INDEXES
    assert found == expected


def test_foreign_keys_match_the_seed(db: sqlite3.Connection) -> None:
    found = {}
    for table in SEED_COLUMNS:
        for row in db.execute(f"PRAGMA foreign_key_list({table})"):
            found[(table, row[3])] = (row[2], row[4])
    assert found == SEED_FOREIGN_KEYS


def test_autoincrement_tables_keep_autoincrement(db: sqlite3.Connection) -> None:
    sql = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
    for table in ("performance_history", "pending_sync_operations"):
        assert "PRIMARY KEY AUTOINCREMENT" in sql[table]
    assert "AUTOINCREMENT" not in sql["local_servers"]


def test_orm_models_describe_the_created_tables(db: sqlite3.Connection) -> None:
    for mapper in Base.registry.mappers:
        table = mapper.local_table
        db_columns = {c[0]: c for c in _columns(db, table.name)}
        assert set(db_columns) == {c.name for c in table.columns}, table.name
        for column in table.columns:
            declared = db_columns[column.name][1]
            affinity = {"TEXT": "TEXT", "INTEGER": "INTEGER", "REAL": "FLOAT", "BOOLEAN": "BOOLEAN"}
            assert affinity[declared] == column.type.compile().split("(")[0], column
            assert column.primary_key == bool(db_columns[column.name][4]), column


def test_the_vendored_seed_is_the_shared_seed_verbatim() -> None:
    shared = Path(__file__).resolve().parents[3] / "shared" / "seed" / "database-schema.md"
    if not shared.exists():
        pytest.skip("shared/seed is not beside this checkout")
    seed_block = re.search(
        r"## SQLite Local Database Schema\s*```sql\n(.*?)```", shared.read_text(), re.S
    ).group(1)
    vendored = (Path(migrate.__file__).parent / "seed_sqlite.sql").read_text()
    assert vendored.endswith(seed_block)


def test_revision_list_matches_the_alembic_scripts() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS_DIR))
    scripts = ScriptDirectory.from_config(config)
    walked = [rev.revision for rev in scripts.walk_revisions()][::-1]
    assert tuple(walked) == migrate.REVISIONS
    assert scripts.get_current_head() == migrate.HEAD


def test_plugin_files_go_with_their_installation(db: sqlite3.Connection) -> None:
    """0006: a plugin's file rows are deleted with its local_plugins row (server delete, pull)."""
    db.execute("PRAGMA foreign_keys = ON")
    fks = [(*row[2:5], row[6]) for row in db.execute("PRAGMA foreign_key_list(local_plugin_files)")]
    assert fks == [("local_plugins", "installation_id", "id", "CASCADE")]
    db.execute("INSERT INTO local_plugins (id, name) VALUES ('p1', 'demo')")
    db.execute(
        "INSERT INTO local_plugin_files (installation_id, path, sha256, size_bytes) "
        "VALUES ('p1', 'plugins/demo.jar', 'ab', 2)"
    )
    db.execute("DELETE FROM local_plugins WHERE id = 'p1'")
    assert db.execute("SELECT count(*) FROM local_plugin_files").fetchone() == (0,)
    unique = [row for row in db.execute("PRAGMA index_list(local_plugin_files)") if row[2]]
    assert [row[1] for row in unique] == ["idx_local_plugin_files_path"]
