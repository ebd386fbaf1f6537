"""Game servers in the cloud: the rows that ``gsm sync push`` keeps in step with each user's
local servers.

Rules:

- A server belongs to its ``owner_id``; nobody else reads or changes it. Another user's server
  does not exist for the caller (404), so ids cannot be probed.
- The rows come from ``gsm sync push`` (services/sync.py), which also keeps their
  plugin installations and the change feed; deleting a server deletes its installations.

Functions take the caller's user id and raise the API's error types; callers commit.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gsm_cloud.api.errors import NotFound
from gsm_cloud.db.models import GameServer


@dataclass(frozen=True)
class Listing:
    items: list[GameServer]
    total: int


def list_owned(
    session: Session,
    owner_id: uuid.UUID,
    *,
    status: str | None = None,
    game_type: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Listing:
    """The owner's servers, by name then id, optionally of one status and one game."""
    conditions = [GameServer.owner_id == owner_id]
    if status is not None:
        conditions.append(GameServer.status == status)
    if game_type is not None:
        conditions.append(GameServer.game_type == game_type)
    total = session.scalar(select(func.count()).select_from(GameServer).where(*conditions)) or 0
    items = session.scalars(
        select(GameServer)
        .where(*conditions)
        .order_by(GameServer.name, GameServer.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return Listing(list(items), total)


def get_owned(session: Session, owner_id: uuid.UUID, server_id: uuid.UUID) -> GameServer:
    """The owner's server; another user's server is reported as missing."""
    server = session.get(GameServer, server_id)
    if server is None or server.owner_id != owner_id:
        raise NotFound("no such server", code="server_not_found")
    return server
