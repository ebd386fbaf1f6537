"""The seed's PostgreSQL schema, executed verbatim from db/seed_postgres.sql.

On SQLite (the try-out database) the same statements run after a small, fixed translation of
the PostgreSQL-only parts: UUID -> CHAR(32) (ids come from the application), JSONB and TEXT[]
-> JSON, and the GIN index is left out.

Revision ID: 0001_seed
Revises:
"""

import re
from pathlib import Path

from alembic import op

revision = "0001_seed"
down_revision = None
branch_labels = None
depends_on = None

SEED_SQL = Path(__file__).resolve().parents[2] / "db" / "seed_postgres.sql"


def seed_statements() -> list[str]:
    body = "\n".join(
        line for line in SEED_SQL.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("--")
    )  # fmt: skip
    return [stmt.strip() for stmt in body.split(";") if stmt.strip()]


def for_sqlite(statement: str) -> str | None:
    if "USING GIN" in statement:
        return None
    statement = statement.replace(
        "UUID PRIMARY KEY DEFAULT gen_random_uuid()", "CHAR(32) PRIMARY KEY"
    )
    statement = re.sub(r"\bUUID\b", "CHAR(32)", statement)
    statement = statement.replace("JSONB", "JSON").replace("TEXT[]", "JSON")
    return statement


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in seed_statements():
        ddl = for_sqlite(statement) if sqlite else statement
        if ddl:
            op.execute(ddl)


def downgrade() -> None:
    raise NotImplementedError("the seed schema is the first version")
