"""The change feed behind GET /v1/sync/pull.

Every write that a client should learn about on pull calls ``record`` in the same transaction.
On PostgreSQL a transaction-level advisory lock makes change rows commit in the order of their
sequence numbers, so a client that has read up to cursor N can never later miss a row < N that
committed late. (SQLite serialises writers anyway.)
"""

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gsm_cloud.db.models import Change

_FEED_LOCK = 0x6753_4D43  # any constant shared by all writers of the feed

ENTITY_TYPES = ("game_server", "plugin_installation", "community_membership", "plugin")


def lock_feed(session: Session) -> None:
    """Take the feed's lock now (it is held until commit). record() does this itself; a writer
    that will change many rows may take it first, before anything else, to avoid deadlocks."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FEED_LOCK})


def record_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk form of record(): rows of {entity_type, entity_id, operation, audience_user_id}."""
    if not rows:
        return
    for row in rows:
        _check(row["entity_type"], row["operation"])
    lock_feed(session)
    session.execute(Change.__table__.insert(), rows)


def _check(entity_type: str, operation: str) -> None:
    if entity_type not in ENTITY_TYPES or operation not in ("upsert", "delete"):
        raise ValueError(f"unknown change {entity_type}/{operation}")


def record(
    session: Session,
    *,
    entity_type: str,
    entity_id: uuid.UUID,
    operation: str,
    audience_user_id: uuid.UUID | None,
) -> None:
    """Note a change. ``audience_user_id`` None: every user may see it (the plugin catalog)."""
    _check(entity_type, operation)
    lock_feed(session)
    session.add(
        Change(
            audience_user_id=audience_user_id,
            entity_type=entity_type,
            entity_id=entity_id,
            operation=operation,
        )
    )
