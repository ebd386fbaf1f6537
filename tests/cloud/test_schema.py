"""gsm-cloud's migrations produce the seed's PostgreSQL schema exactly, plus the documented
additions. Compared on PostgreSQL's own catalog, table by table, column by column."""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from gsm_cloud.config import normalise_database_url
from gsm_cloud.db.scratch import scratch_database
from tests.cloud.conftest import ON_POSTGRES

SEED_FILE = Path(__file__).resolve().parents[2] / "src" / "gsm_cloud" / "db" / "seed_postgres.sql"
SHARED_SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "database-schema.md"
SEED_TABLES = {
    "users", "communities", "game_servers", "plugins", "community_members",
    "plugin_installations", "revenue_transactions", "sync_operations",
}  # fmt: skip
# Documented in docs/architecture.md, "Additions to the cloud schema".
ADDED_TABLES = {
    "api_tokens", "plugin_versions", "plugin_ratings", "change_log", "alembic_version",
    "api_token_devices", "rate_limit_counters", "community_invitations", "payments",
    "payment_events", "sync_batches",
}  # fmt: skip
ADDED_COLUMNS = {
    ("users", "password_hash"), ("sync_operations", "detail"), ("plugins", "currency"),
}  # fmt: skip

COLUMNS_SQL = """
SELECT table_name, column_name, data_type, udt_name, character_maximum_length,
       numeric_precision, numeric_scale, is_nullable, column_default, ordinal_position
FROM information_schema.columns WHERE table_schema = 'public'
ORDER BY table_name, ordinal_position
"""
INDEXES_SQL = "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
CONSTRAINTS_SQL = """
SELECT rel.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
JOIN pg_namespace ns ON ns.oid = rel.relnamespace WHERE ns.nspname = 'public'
"""

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="needs GSM_TEST_DATABASE_URL (PostgreSQL)")


def catalog(url: str) -> dict[str, set]:
    engine = create_engine(url)
    with engine.connect() as conn:
        result = {
            "columns": {tuple(r[:-1]) for r in conn.execute(text(COLUMNS_SQL))},
            "indexes": {tuple(r) for r in conn.execute(text(INDEXES_SQL))},
            "constraints": {tuple(r) for r in conn.execute(text(CONSTRAINTS_SQL))},
        }
    engine.dispose()
    return result


@pytest.fixture(scope="module")
def seed_only_url() -> Iterator[str]:
    """A database made by running the seed's statements directly, nothing else."""
    with scratch_database(os.environ["GSM_TEST_DATABASE_URL"], "gsm_seed", migrated=False) as url:
        engine = create_engine(normalise_database_url(url))
        with engine.begin() as conn:
            conn.exec_driver_sql(SEED_FILE.read_text())
        engine.dispose()
        yield url


def test_seed_tables_are_exactly_the_seed(database_url: str, seed_only_url: str) -> None:
    migrated, seed = catalog(database_url), catalog(seed_only_url)
    seed_columns = seed["columns"]
    ours = {
        c for c in migrated["columns"] if c[0] in SEED_TABLES and (c[0], c[1]) not in ADDED_COLUMNS
    }
    # Same tables, same columns, same types, lengths, precision, nullability and defaults.
    assert ours == seed_columns
    for table in sorted(SEED_TABLES):
        assert {c for c in ours if c[0] == table} == {c for c in seed_columns if c[0] == table}, (
            table
        )


def test_seed_indexes_and_constraints_are_all_there(database_url: str, seed_only_url: str) -> None:
    migrated, seed = catalog(database_url), catalog(seed_only_url)
    assert seed["indexes"] <= migrated["indexes"]
    gin = [i for i in migrated["indexes"] if i[1] == "idx_plugins_supported_games"]
    assert gin and "USING gin (supported_games)" in gin[0][2]
    seed_tables_constraints = {c for c in migrated["constraints"] if c[0] in SEED_TABLES}
    assert seed_tables_constraints == seed["constraints"]


def test_nothing_but_the_documented_additions(database_url: str) -> None:
    migrated = catalog(database_url)
    tables = {c[0] for c in migrated["columns"]}
    assert tables == SEED_TABLES | ADDED_TABLES
    extra_columns = {(c[0], c[1]) for c in migrated["columns"] if c[0] in SEED_TABLES}
    seed_columns = {(c[0], c[1]) for c in catalog_of_seed_text()}
    assert extra_columns - seed_columns == ADDED_COLUMNS


# Indexes added to seed tables (0004): documented in docs/architecture.md too.
ADDED_SEED_TABLE_INDEXES = {
    ("plugins", "idx_plugins_name_lower"): "CREATE INDEX idx_plugins_name_lower ON public.plugins "
    "USING btree (lower((name)::text))",
}


def test_seed_tables_have_only_the_documented_extra_indexes(
    database_url: str, seed_only_url: str
) -> None:
    migrated, seed = catalog(database_url), catalog(seed_only_url)
    extra = {
        (table, name): definition
        for table, name, definition in migrated["indexes"] - seed["indexes"]
        if table in SEED_TABLES
    }
    assert extra == ADDED_SEED_TABLE_INDEXES


def test_plugin_versions_keep_each_manifests_dependencies_and_games(database_url: str) -> None:
    columns = {
        (c[1], c[2], c[3], c[7])
        for c in catalog(database_url)["columns"]
        if c[0] == "plugin_versions"
    }
    assert ("dependencies", "jsonb", "jsonb", "YES") in columns
    assert ("games", "ARRAY", "_text", "YES") in columns


def catalog_of_seed_text() -> set[tuple[str, str]]:
    """(table, column) pairs read from the seed text itself."""
    pairs = set()
    for table, body in re.findall(r"CREATE TABLE (\w+) \((.*?)\);", SEED_FILE.read_text(), re.S):
        for line in body.splitlines():
            word = line.strip().split(" ")[0]
            if word and word.isidentifier() and word.upper() not in ("UNIQUE", "PRIMARY"):
                pairs.add((table, word))
    return pairs


def test_the_vendored_seed_is_the_shared_seed() -> None:
    if not SHARED_SEED.exists():
        pytest.skip("shared/seed is not beside this checkout")
    block = SHARED_SEED.read_text().split("## PostgreSQL Cloud Database Schema")[1]
    seed_sql = re.search(r"```sql\n(.*?)```", block, re.S).group(1)
    assert SEED_FILE.read_text().endswith(seed_sql)
