"""The outbox: an entity change and the sync operation that tells the cloud about it, written
in one transaction. Nothing else writes ``pending_sync_operations``.

Usage, inside the caller's transaction::

    with store.write() as session:
        outbox.record(session, server, "create")

Queuing a change of a server also marks it ``cloud_sync_status = 'pending'`` in the same
transaction, unless it is held as ``conflict`` or ``rejected`` (those wait for the user).

A server's performance summary (``replace_summary``) is the one operation that is coalesced:
at most one per server waits (queued or kept aside), a newer one replaces it. It is not a
change of the server, so it leaves ``cloud_sync_status`` alone, and deleting the server
drops it.
"""

import uuid
from typing import Any, Literal

from sqlalchemy import delete, inspect
from sqlalchemy.orm import Session

from gsm_cli.store.models import Base, PendingSyncOperation

Operation = Literal["create", "update", "delete"]
PENDING = "pending"
HELD = ("conflict", "rejected")  # cloud_sync_status values a new change does not replace
# The latest performance summary of a server: operation "update", entity_id = the server's id.
SUMMARY = "server_summary"


def entity_payload(entity: Base) -> dict[str, Any]:
    """The entity's columns as the cloud should see them (local-only columns left out)."""
    mapper = inspect(entity).mapper
    local = type(entity).__sync_local__
    return {
        attr.key: getattr(entity, attr.key) for attr in mapper.column_attrs if attr.key not in local
    }


def enqueue(
    session: Session,
    *,
    operation_type: str,
    entity_type: str,
    entity_id: str,
    payload: dict[str, Any] | None,
) -> PendingSyncOperation:
    """Queue one operation with a fresh client-side UUID in the session's transaction."""
    operation = PendingSyncOperation(
        operation_id=str(uuid.uuid4()),
        operation_type=operation_type,
        entity_type=entity_type,
        entity_id=entity_id,
        data_payload=payload,
    )
    session.add(operation)
    return operation


def record(
    session: Session, entity: Base, operation: Operation, *, claim: bool = False
) -> PendingSyncOperation:
    """Write ``entity`` (add, update or delete) and queue its sync operation, atomically.

    ``claim``: this device takes the server over from the device the cloud says it belongs
    to (``gsm server adopt``, ``gsm sync resolve --keep local``); without it the cloud refuses
    a change of a server that another device has adopted.
    """
    entity_type = type(entity).__sync_entity__
    if entity_type is None:
        raise TypeError(f"{type(entity).__name__} is not a synced entity")
    entity_id = inspect(entity).identity[0] if inspect(entity).identity else entity.id  # type: ignore[attr-defined]
    if operation == "delete":
        if entity_type == "game_server":
            drop_summaries(session, str(entity_id))
        payload: dict[str, Any] = {"id": entity_id}
        if getattr(entity, "device_id", None) is not None:
            payload["device_id"] = entity.device_id  # type: ignore[attr-defined]
        session.delete(entity)
    else:
        if hasattr(entity, "cloud_sync_status") and entity.cloud_sync_status not in HELD:
            entity.cloud_sync_status = PENDING
        session.add(entity)
        session.flush()  # server defaults (created_at...) belong in the payload
        session.refresh(entity)
        payload = entity_payload(entity)
        if claim:
            payload["claim"] = True
    session.flush()
    return enqueue(
        session,
        operation_type=operation,
        entity_type=entity_type,
        entity_id=str(entity_id),
        payload=payload,
    )


def drop_summaries(session: Session, server_id: str) -> None:
    """Forget the server's summary operations that wait (queued or kept aside)."""
    session.execute(
        delete(PendingSyncOperation).where(
            PendingSyncOperation.entity_type == SUMMARY,
            PendingSyncOperation.entity_id == server_id,
        )
    )


def replace_summary(
    session: Session, server_id: str, payload: dict[str, Any]
) -> PendingSyncOperation:
    """Queue the server's latest summary in place of any that still waits.

    A push that already sent the old one answers for a row that is gone by then: it updates
    or deletes nothing (rows are matched by id, and AUTOINCREMENT never reuses one), and the
    new row, queued after every operation before it, goes with a later batch or push.
    """
    drop_summaries(session, server_id)
    return enqueue(
        session,
        operation_type="update",
        entity_type=SUMMARY,
        entity_id=server_id,
        payload=payload,
    )
