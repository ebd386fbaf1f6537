"""ORM models of the seed's PostgreSQL schema (shared/seed/database-schema.md) and of the
documented additions (docs/architecture.md). Migrations create the tables; these describe them.

On SQLite (the try-out database) the PostgreSQL-only types fall back: UUID to CHAR(32),
JSONB and TEXT[] to JSON.
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JSONB = JSON().with_variant(postgresql.JSONB(), "postgresql")
TEXT_ARRAY = JSON().with_variant(postgresql.ARRAY(Text), "postgresql")
NOW = text("CURRENT_TIMESTAMP")


class Base(DeclarativeBase):
    pass


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False, server_default="Basic")
    created_at: Mapped[datetime | None] = mapped_column(DateTime, server_default=NOW)
    last_seen: Mapped[datetime | None] = mapped_column(DateTime, server_default=NOW)
    profile: Mapped[Any] = mapped_column(JSONB)
    settings: Mapped[Any] = mapped_column(JSONB)
    # Addition (0002): argon2 hash; NULL for users who only use personal access tokens.
    password_hash: Mapped[str | None] = mapped_column(String(255))


class Community(Base):
    __tablename__ = "communities"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    logo_url: Mapped[str | None] = mapped_column(String(500))
    banner_url: Mapped[str | None] = mapped_column(String(500))
    is_public: Mapped[bool | None] = mapped_column(Boolean, server_default=text("true"))
    member_count: Mapped[int | None] = mapped_column(Integer, server_default=text("0"))
    settings: Mapped[Any] = mapped_column(JSONB)
    created_at: Mapped[datetime | None] = mapped_column(DateTime, server_default=NOW)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))


class GameServer(Base):
    __tablename__ = "game_servers"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    game_type: Mapped[str] = mapped_column(String(50), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    configuration: Mapped[Any] = mapped_column(JSONB)
    performance_metrics: Mapped[Any] = mapped_column(JSONB)
    player_count: Mapped[int | None] = mapped_column(Integer, server_default=text("0"))
    max_players: Mapped[int | None] = mapped_column(Integer, server_default=text("10"))
    uptime_seconds: Mapped[int | None] = mapped_column(BigInteger, server_default=text("0"))
    last_backup: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime | None] = mapped_column(DateTime, server_default=NOW)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, server_default=NOW)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    community_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("communities.id"))


class Plugin(Base):
    __tablename__ = "plugins"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str] = mapped_column(String(20), nullable=False)
    category: Mapped[str] = mapped_column(String(50), nullable=False)
    price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2), server_default=text("0.00"))
    downloads: Mapped[int | None] = mapped_column(Integer, server_default=text("0"))
    rating: Mapped[Decimal | None] = mapped_column(Numeric(3, 2), server_default=text("0.00"))
    review_count: Mapped[int | None] = mapped_column(Integer, server_default=text("0"))
    supported_games: Mapped[Any] = mapped_column(TEXT_ARRAY)
    is_verified: Mapped[bool | None] = mapped_column(Boolean, server_default=text("false"))
    package_url: Mapped[str | None] = mapped_column(String(500))
    installation_guide: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None] = mapped_column(DateTime, server_default=NOW)
    developer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    # Addition (0006): the price's ISO 4217 currency.
    currency: Mapped[str] = mapped_column(String(3), nullable=False, server_default="USD")


class CommunityMember(Base):
    __tablename__ = "community_members"

    id: Mapped[uuid.UUID] = uuid_pk()
    community_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("communities.id"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    role: Mapped[str | None] = mapped_column(String(20), server_default="Member")
    joined_at: Mapped[datetime | None] = mapped_column(DateTime, server_default=NOW)


class PluginInstallation(Base):
    __tablename__ = "plugin_installations"

    id: Mapped[uuid.UUID] = uuid_pk()
    server_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("game_servers.id"))
    plugin_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("plugins.id"))
    installed_version: Mapped[str | None] = mapped_column(String(20))
    installed_at: Mapped[datetime | None] = mapped_column(DateTime, server_default=NOW)
    configuration: Mapped[Any] = mapped_column(JSONB)


class RevenueTransaction(Base):
    __tablename__ = "revenue_transactions"

    id: Mapped[uuid.UUID] = uuid_pk()
    transaction_type: Mapped[str] = mapped_column(String(20), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    currency: Mapped[str | None] = mapped_column(String(3), server_default="USD")
    payer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    recipient_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    plugin_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("plugins.id"))
    community_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("communities.id"))
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime | None] = mapped_column(DateTime, server_default=NOW)


class SyncOperation(Base):
    __tablename__ = "sync_operations"

    id: Mapped[uuid.UUID] = uuid_pk()  # the client's operation UUID: applied at most once
    operation_type: Mapped[str] = mapped_column(String(50), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(50), nullable=False)
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    data_payload: Mapped[Any] = mapped_column(JSONB)
    sync_status: Mapped[str | None] = mapped_column(String(20), server_default="pending")
    created_at: Mapped[datetime | None] = mapped_column(DateTime, server_default=NOW)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Addition (0002): why an operation was rejected or conflicted.
    detail: Mapped[str | None] = mapped_column(Text)


# --- additions (migration 0002) ------------------------------------------------------------


class ApiToken(Base):
    """A bearer token, stored only as its sha256: a session from /v1/auth/token or a personal
    access token for CI."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # session | personal
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, server_default=NOW)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class PluginVersion(Base):
    """One published package of a plugin: where it is stored, its sha256 and size."""

    __tablename__ = "plugin_versions"

    id: Mapped[uuid.UUID] = uuid_pk()
    plugin_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("plugins.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[str] = mapped_column(String(20), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    storage_key: Mapped[str] = mapped_column(String(500), nullable=False)
    changelog: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, server_default=NOW)
    # Addition (0004): the manifest's dependencies (name -> semver range) and games; NULL for
    # versions published before packages were validated.
    dependencies: Mapped[Any] = mapped_column(JSONB)
    games: Mapped[Any] = mapped_column(TEXT_ARRAY)


class PluginRating(Base):
    """One user's rating of a plugin; plugins.rating and review_count are kept from these."""

    __tablename__ = "plugin_ratings"

    plugin_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("plugins.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    rating: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    review: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, server_default=NOW)


class Change(Base):
    """The change feed behind GET /v1/sync/pull: one row per change, in commit order.
    audience_user_id NULL means every user may see it (the plugin catalog)."""

    __tablename__ = "change_log"
    __table_args__ = ({"sqlite_autoincrement": True},)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    audience_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    entity_type: Mapped[str] = mapped_column(String(50), nullable=False)
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    operation: Mapped[str] = mapped_column(String(20), nullable=False)  # upsert | delete
    changed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, server_default=NOW)


# --- additions (migration 0003) ------------------------------------------------------------


class ApiTokenDevice(Base):
    """A device (a gsm store, by its device id) that used a token, and when."""

    __tablename__ = "api_token_devices"

    token_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True
    )
    device_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    device_name: Mapped[str | None] = mapped_column(String(100))
    first_seen_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, server_default=NOW)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, server_default=NOW)


class RateLimitCounter(Base):
    """How many times something happened to one bucket (a client address, an account) in one
    fixed window of time. Kept in the database so that every worker counts together."""

    __tablename__ = "rate_limit_counters"

    bucket: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, nullable=False)


class CommunityInvitation(Base):
    """Addition (migration 0005): an invitation to a community, its code stored hashed."""

    __tablename__ = "community_invitations"

    id: Mapped[uuid.UUID] = uuid_pk()
    community_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("communities.id", ondelete="CASCADE"), nullable=False
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id"))
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    email: Mapped[str | None] = mapped_column(String(255))
    max_uses: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    uses: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, server_default=NOW)


# --- additions (migration 0006) ------------------------------------------------------------


class Payment(Base):
    """A purchase or donation through a payment provider: pending until the provider confirms
    it, and only then a revenue_transactions row (transaction_id)."""

    __tablename__ = "payments"

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # plugin_purchase | ...
    payer_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    plugin_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("plugins.id", ondelete="SET NULL")
    )
    community_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("communities.id", ondelete="SET NULL")
    )
    recipient_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    provider: Mapped[str] = mapped_column(String(20), nullable=False)  # stripe | development
    provider_payment_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="pending")
    message: Mapped[str | None] = mapped_column(Text)
    transaction_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("revenue_transactions.id"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, server_default=NOW)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)


class PaymentEvent(Base):
    """A provider's event (a Stripe webhook) that was handled: never handled twice."""

    __tablename__ = "payment_events"

    provider: Mapped[str] = mapped_column(String(20), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, server_default=NOW)


# --- additions (migration 0007) ------------------------------------------------------------


class SyncBatch(Base):
    """A push request that named itself (``batch_id``) and committed: the request that names
    it as ``after_batch_id`` applies only once this row exists (docs/sync-protocol.md)."""

    __tablename__ = "sync_batches"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    committed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, server_default=NOW)
