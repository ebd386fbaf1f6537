"""The local store's schema revisions, oldest first: a module without imports, so that the fast
path (gsm_cli.fastpath) checks a store's revision without loading SQLAlchemy or Alembic.
store/migrate.py re-exports them; tests check they match the Alembic scripts."""

REVISIONS: tuple[str, ...] = (
    "0001_seed",
    "0002_outbox_ids",
    "0003_server_runtime",
    "0004_sync_state",
    "0005_devices",
    "0006_plugin_files",
    "0007_server_community",
    "0008_unattended",
)
HEAD = REVISIONS[-1]
# The tables of a store made from the seed DDL before versioning existed.
SEED_TABLES = frozenset(
    {
        "local_servers",
        "local_plugins",
        "performance_history",
        "pending_sync_operations",
        "user_settings",
        "game_installations",
    }
)
