"""The seed's SQLite schema, applied verbatim from store/seed_sqlite.sql.

Revision ID: 0001_seed
Revises:
"""

from pathlib import Path

from alembic import op

revision = "0001_seed"
down_revision = None
branch_labels = None
depends_on = None

SEED_SQL = Path(__file__).resolve().parents[2] / "seed_sqlite.sql"


def seed_statements() -> list[str]:
    lines = [ln for ln in SEED_SQL.read_text(encoding="utf-8").splitlines()]
    # Whole-line comments go; trailing "-- ..." comments stay (SQLite keeps them in sqlite_master).
    body = "\n".join(ln for ln in lines if not ln.lstrip().startswith("--"))
    return [stmt.strip() for stmt in body.split(";") if stmt.strip()]


def upgrade() -> None:
    for statement in seed_statements():
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("the seed schema is the first version; there is nothing below it")
