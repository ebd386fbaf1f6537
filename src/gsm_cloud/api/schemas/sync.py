"""Request and response models of sync: POST /v1/sync/push and GET /v1/sync/pull.

The protocol, with every rule, is in docs/sync-protocol.md.
"""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
)

from gsm_cloud.api.schemas.common import INT32_MAX, Model, Out, Text, UtcDateTime
from gsm_cloud.api.schemas.servers import ServerOut

MAX_BATCH = 1000
PushStatus = Literal["applied", "duplicate", "conflict", "rejected"]


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC).replace(tzinfo=None)
    except (OverflowError, ValueError):
        raise ValueError("is out of range") from None


NaiveUtc = Annotated[datetime, AfterValidator(_naive_utc)]


class PushOperation(Model):
    """One queued local operation. Its content (types, payload) is checked per operation: a bad
    operation is answered ``rejected`` and never spoils the others."""

    id: uuid.UUID = Field(description="The client's operation UUID; applied at most once")
    operation_type: Text(max_length=50, min_length=1) = Field(
        description="create | update | delete", examples=["create"]
    )
    entity_type: Text(max_length=50, min_length=1) = Field(
        description="game_server | plugin_installation | server_summary",
        examples=["game_server"],
    )
    entity_id: uuid.UUID = Field(description="The id of the local row (and of its cloud row)")
    data_payload: dict[str, Any] | None = Field(
        default=None,
        description=(
            'Every column of the local row; {"id": ...} for a delete; the summary '
            "(recorded_at, player_count, uptime_seconds, performance_metrics) of a server_summary"
        ),
    )
    created_at: NaiveUtc | None = Field(
        default=None, description="When the operation was queued (ISO 8601; naive means UTC)"
    )


class PushRequest(Model):
    operations: list[PushOperation] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"1 to {MAX_BATCH} operations, oldest first; applied in this order",
    )
    batch_id: uuid.UUID | None = Field(
        default=None,
        description="A new UUID naming this request, so that the next request of the same "
        "push can follow it (after_batch_id) while this one is still in flight",
    )
    after_batch_id: uuid.UUID | None = Field(
        default=None,
        description="The batch_id of the request this one follows: it applies only after that "
        "request committed (409 previous_batch_missing, nothing applied, when that does not "
        "happen in time)",
    )


class PushResult(BaseModel):
    id: uuid.UUID
    status: PushStatus
    reason: str | None = Field(
        default=None, description="Why it was rejected or conflicted (or a note on an applied one)"
    )
    previous_status: Literal["applied", "conflict", "rejected"] | None = Field(
        default=None,
        description="For a duplicate: what the cloud answered the first time it saw this id",
    )


class PushResponse(BaseModel):
    results: list[PushResult] = Field(description="One per operation, in request order")


# --- pull -----------------------------------------------------------------------------------


class InstallationData(Out):
    """A row of plugin_installations."""

    id: uuid.UUID
    server_id: uuid.UUID | None
    plugin_id: uuid.UUID | None
    installed_version: str | None
    installed_at: UtcDateTime | None
    configuration: dict[str, Any] | None


class MembershipData(BaseModel):
    """The caller's membership of one community."""

    community_id: uuid.UUID
    community_name: str
    role: str | None
    joined_at: UtcDateTime | None


def _two_places(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


# Money and ratings as strings with two decimals, as the plugin catalog gives them.
Decimal2 = Annotated[
    Decimal,
    BeforeValidator(lambda value: Decimal("0.00") if value is None else value),
    PlainSerializer(_two_places, return_type=str, when_used="json"),
]


class PluginData(Out):
    """A plugin catalog entry."""

    id: uuid.UUID
    name: str
    description: str | None
    version: str
    category: str
    price: Decimal2
    currency: str = Field(description="The price's ISO 4217 currency")
    downloads: int | None
    rating: Decimal2
    review_count: int | None
    supported_games: list[str] | None
    is_verified: bool | None
    package_url: str | None
    developer_id: uuid.UUID | None
    created_at: UtcDateTime | None


class ChangeOut(BaseModel):
    seq: int = Field(description="The change's position in the feed")
    entity_type: Literal["game_server", "plugin_installation", "community_membership", "plugin"]
    entity_id: uuid.UUID = Field(
        description="For community_membership: the community's id; otherwise the entity's id"
    )
    operation: Literal["upsert", "delete"]
    data: ServerOut | InstallationData | MembershipData | PluginData | None = Field(
        description="The entity's current state (its type follows entity_type); null on delete"
    )


class PullResponse(BaseModel):
    changes: list[ChangeOut]
    next_cursor: int = Field(description="Pass as cursor next time (the last seq read)")
    has_more: bool = Field(description="More changes wait after next_cursor: pull again")


# --- payloads of pushed operations (the local rows; docs/sync-protocol.md) -----------------


def _local_time(value: Any) -> datetime | None:
    """A local time column: SQLite's '2026-11-25 14:00:00' or ISO 8601; naive means UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("is not an ISO 8601 time") from None
    else:
        raise ValueError("must be an ISO 8601 time as text")
    return _naive_utc(parsed)


LocalTime = Annotated[datetime | None, BeforeValidator(_local_time)]
Port = Annotated[int, Field(strict=True, ge=0, le=65535)]


class GameServerPayload(BaseModel):
    """The columns of local_servers that the cloud keeps; the others are ignored.

    ``device_id`` and ``device_name`` say which machine the server belongs to; ``claim`` (not
    a column) says that machine takes the server over from the device the cloud has for it.
    """

    model_config = ConfigDict(extra="ignore")

    id: Any = None
    name: Text(max_length=200, min_length=1)
    game_type: Text(max_length=50, min_length=1)
    status: Text(max_length=20, min_length=1)
    configuration: dict[str, Any] | None = None
    port: Port | None = None
    install_path: Text(max_length=4096) | None = None
    last_backup: LocalTime = None
    created_at: LocalTime = None
    device_id: Text(max_length=100, min_length=1) | None = None
    device_name: Text(max_length=200) | None = None
    claim: StrictBool = False
    community_id: uuid.UUID | None = Field(
        default=None,
        description="The community the server is attached to (null: none). Attaching needs "
        "the pusher's membership; left out, the cloud keeps what it has",
    )


class InstallationPayload(BaseModel):
    """The columns of local_plugins that the cloud keeps; the others are ignored."""

    model_config = ConfigDict(extra="ignore")

    id: Any = None
    server_id: uuid.UUID | None = None
    plugin_id: uuid.UUID | None = None
    version: Text(max_length=20) | None = None
    configuration: dict[str, Any] | None = None
    installed_at: LocalTime = None


# --- the latest performance summary of a server (operation "update" of "server_summary") ----

BIGINT_MAX = 2**63 - 1
# Upper bounds far above any real game, so that only garbage is refused.
Count = Annotated[int, Field(strict=True, ge=0, le=INT32_MAX)]
Measure = Annotated[float, Field(strict=True, ge=0, le=1e12, allow_inf_nan=False)]


class SummaryMetrics(BaseModel):
    """What ``game_servers.performance_metrics`` keeps of the latest sample; keys the cloud
    does not know are ignored (a newer client may send more)."""

    model_config = ConfigDict(extra="ignore")

    cpu_usage: Measure | None = None  # percent of one core (a busy two-core game: about 200)
    memory_usage: Measure | None = None  # MB (MiB)
    network_latency: Measure | None = None  # ms, of the game's query
    player_count: Count | None = None
    max_players: Count | None = None


class ServerSummaryPayload(BaseModel):
    """The latest summary of a server's performance: written into its game_servers row's
    performance_metrics, player_count and uptime_seconds, and nowhere else."""

    model_config = ConfigDict(extra="ignore")

    recorded_at: Annotated[datetime, BeforeValidator(_local_time)]
    player_count: Count | None = None
    uptime_seconds: Annotated[int, Field(strict=True, ge=0, le=BIGINT_MAX)] | None = None
    performance_metrics: SummaryMetrics | None = None
    device_id: Text(max_length=100, min_length=1) | None = None
