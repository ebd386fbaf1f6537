"""Response models of the caller's game servers (rows of the seed's ``game_servers``).

JSON keys are the seed's column names. The local ``port`` and ``install_path`` of a server,
and the device it belongs to (``device_id``, ``device_name``), travel inside ``configuration``
(see docs/sync-protocol.md).
"""

import uuid
from typing import Any

from pydantic import Field

from gsm_cloud.api.schemas.common import Out, UtcDateTime


class ServerOut(Out):
    id: uuid.UUID
    name: str
    game_type: str
    status: str
    configuration: dict[str, Any] | None = Field(
        description=(
            "The local configuration object, with the port, install_path, device_id and "
            "device_name of the device the server belongs to in it"
        )
    )
    performance_metrics: Any = Field(
        default=None,
        description=(
            "The latest performance summary the server's device pushed: recorded_at, "
            "cpu_usage, memory_usage, network_latency, player_count, max_players "
            "(null: none yet)"
        ),
    )
    player_count: int | None = Field(description="Players online at the latest summary")
    max_players: int | None
    uptime_seconds: int | None = Field(
        description="Seconds the game process had run at the latest summary"
    )
    last_backup: UtcDateTime | None
    created_at: UtcDateTime | None
    updated_at: UtcDateTime | None
    owner_id: uuid.UUID | None
    community_id: uuid.UUID | None
