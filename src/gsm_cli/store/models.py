"""ORM models of the seed's SQLite schema (shared/seed/database-schema.md), plus documented
additions (docs/architecture.md). The tables themselves are created by migrations that run the
seed's DDL verbatim; these classes only describe them.
"""

import json
from typing import Any, ClassVar

from sqlalchemy import Boolean, Float, ForeignKey, Integer, Text, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

SQL_NOW = text("(datetime('now'))")


class JSONText(TypeDecorator[Any]):
    """A JSON document kept in a TEXT column, as the seed declares (`-- JSON serialized`)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class Base(DeclarativeBase):
    # Entity name used in sync operations; None for tables that are not synced.
    __sync_entity__: ClassVar[str | None] = None
    # Columns that are facts of this machine only: never sent in a sync payload.
    __sync_local__: ClassVar[frozenset[str]] = frozenset()


class LocalServer(Base):
    __tablename__ = "local_servers"
    __sync_entity__ = "game_server"
    # The process and the sync bookkeeping stay here (docs/sync-protocol.md). install_path and
    # status are sent so the cloud can show them, but a pull never applies them to this row.
    # autostart is this machine's choice: never sent, never pulled.
    __sync_local__ = frozenset(
        {"process_id", "process_create_time", "cloud_sync_status", "autostart"}
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    game_type: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    configuration: Mapped[Any] = mapped_column(JSONText)
    process_id: Mapped[int | None] = mapped_column(Integer)
    port: Mapped[int | None] = mapped_column(Integer)
    install_path: Mapped[str | None] = mapped_column(Text)
    last_backup: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)
    cloud_sync_status: Mapped[str | None] = mapped_column(Text, server_default=text("'pending'"))
    # Addition (migration 0003): psutil create time of process_id, to tell a reused pid apart.
    process_create_time: Mapped[float | None] = mapped_column(Float)
    # Additions (migration 0005): the device (machine) the server belongs to and runs on.
    device_id: Mapped[str | None] = mapped_column(Text)
    device_name: Mapped[str | None] = mapped_column(Text)
    # Addition (migration 0007): the cloud community the server belongs to (synced).
    community_id: Mapped[str | None] = mapped_column(Text)
    # Addition (migration 0008): start this server when the machine starts (`gsm service`).
    autostart: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("0"))


class LocalPlugin(Base):
    __tablename__ = "local_plugins"
    __sync_entity__ = "plugin_installation"
    # Additions of 0006 are facts of this machine's files: the cloud keeps none of them.
    __sync_local__ = frozenset({"package_sha256", "source", "manifest", "pinned"})

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    server_id: Mapped[str | None] = mapped_column(Text, ForeignKey("local_servers.id"))
    plugin_id: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[str | None] = mapped_column(Text)
    install_path: Mapped[str | None] = mapped_column(Text)
    configuration: Mapped[Any] = mapped_column(JSONText)
    is_enabled: Mapped[bool | None] = mapped_column(Boolean, server_default=text("1"))
    installed_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)
    # Additions (migration 0006): the installed package's sha256, where it came from
    # ('cloud' or 'file'), its manifest's games/dependencies/description/category, and
    # whether `gsm plugin update` leaves it alone.
    package_sha256: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    manifest: Mapped[Any] = mapped_column(JSONText)
    pinned: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("0"))


class PerformanceSample(Base):
    __tablename__ = "performance_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    server_id: Mapped[str | None] = mapped_column(Text, ForeignKey("local_servers.id"))
    cpu_usage: Mapped[float | None] = mapped_column(Float)
    memory_usage: Mapped[float | None] = mapped_column(Float)
    network_latency: Mapped[float | None] = mapped_column(Float)
    player_count: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)


class PendingSyncOperation(Base):
    __tablename__ = "pending_sync_operations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operation_type: Mapped[str] = mapped_column(Text, nullable=False)
    entity_type: Mapped[str] = mapped_column(Text, nullable=False)
    entity_id: Mapped[str] = mapped_column(Text, nullable=False)
    data_payload: Mapped[Any] = mapped_column(JSONText)
    retry_count: Mapped[int | None] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)
    # Addition (migration 0002): the client-generated UUID the cloud deduplicates on.
    operation_id: Mapped[str | None] = mapped_column(Text)
    # Additions (migration 0004): 'queued' or 'rejected' (kept aside), and the cloud's reason.
    state: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'queued'"))
    last_error: Mapped[str | None] = mapped_column(Text)


class UserSetting(Base):
    __tablename__ = "user_settings"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)


class GameInstallation(Base):
    __tablename__ = "game_installations"

    game_type: Mapped[str] = mapped_column(Text, primary_key=True)
    install_path: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[str | None] = mapped_column(Text)
    last_updated: Mapped[str | None] = mapped_column(Text)
    steam_app_id: Mapped[int | None] = mapped_column(Integer)
    is_valid: Mapped[bool | None] = mapped_column(Boolean, server_default=text("1"))


class ServerEvent(Base):
    """Addition (migration 0003): starts, stops, crashes (with exit codes) and restarts."""

    __tablename__ = "server_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    server_id: Mapped[str] = mapped_column(
        Text, ForeignKey("local_servers.id", ondelete="CASCADE"), nullable=False
    )
    event: Mapped[str] = mapped_column(Text, nullable=False)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)


class ServerBackup(Base):
    """Addition (migration 0003): one archive of a server's folder and its sha256."""

    __tablename__ = "server_backups"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    server_id: Mapped[str] = mapped_column(
        Text, ForeignKey("local_servers.id", ondelete="CASCADE"), nullable=False
    )
    path: Mapped[str] = mapped_column(Text, nullable=False)
    sha256: Mapped[str] = mapped_column(Text, nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)
    # Additions (migration 0008): 'archive' (a .tar.gz at path) or 'restic' (snapshot_id in
    # the repository at path).
    backend: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'archive'"))
    snapshot_id: Mapped[str | None] = mapped_column(Text)


class SyncState(Base):
    """Addition (migration 0004): one row (id 1): the pull cursor and the last push and pull."""

    __tablename__ = "sync_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cursor: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    last_push_at: Mapped[str | None] = mapped_column(Text)
    last_push_result: Mapped[Any] = mapped_column(JSONText)
    last_pull_at: Mapped[str | None] = mapped_column(Text)
    last_pull_result: Mapped[Any] = mapped_column(JSONText)


class SyncConflict(Base):
    """Addition (migration 0004): a cloud change not applied over unpushed local changes."""

    __tablename__ = "sync_conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity_type: Mapped[str] = mapped_column(Text, nullable=False)
    entity_id: Mapped[str] = mapped_column(Text, nullable=False)
    cloud_operation: Mapped[str] = mapped_column(Text, nullable=False)
    cloud_data: Mapped[Any] = mapped_column(JSONText)
    reason: Mapped[str | None] = mapped_column(Text)
    detected_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)


class CatalogPlugin(Base):
    """Addition (migration 0004): the cloud's plugin catalog, cached for offline search."""

    __tablename__ = "plugin_catalog"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(Text)
    data: Mapped[Any] = mapped_column(JSONText)
    updated_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)


class CommunityMembership(Base):
    """Addition (migration 0004): the user's community memberships, as the cloud last said."""

    __tablename__ = "community_memberships"

    community_id: Mapped[str] = mapped_column(Text, primary_key=True)
    community_name: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(Text)
    joined_at: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)


class LocalDevice(Base):
    """Addition (migration 0005): one row (id 1): this store's device id, made at creation."""

    __tablename__ = "local_device"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)


class LocalPluginFile(Base):
    """Addition (migration 0006): a file (with its sha256) or a folder that an installed
    plugin put in its server's folder; ``path`` is relative to the server folder, with ``/``."""

    __tablename__ = "local_plugin_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    installation_id: Mapped[str] = mapped_column(
        Text, ForeignKey("local_plugins.id", ondelete="CASCADE"), nullable=False
    )
    path: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'file'"))
    sha256: Mapped[str | None] = mapped_column(Text)
    size_bytes: Mapped[int | None] = mapped_column(Integer)


class PluginJournal(Base):
    """Addition (migration 0006): a plugin change of a server under way: its work folder and
    the file moves it makes, so that the next gsm command undoes it (state 'prepared') or
    finishes cleaning up after it (state 'committed') when the process died half-way."""

    __tablename__ = "plugin_journal"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    server_id: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'prepared'"))
    work_dir: Mapped[str] = mapped_column(Text, nullable=False)
    steps: Mapped[Any] = mapped_column(JSONText)
    pid: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)


class Schedule(Base):
    """Addition (migration 0008): a cron expression (local time) and a chain of tasks."""

    __tablename__ = "schedules"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    server_id: Mapped[str] = mapped_column(
        Text, ForeignKey("local_servers.id", ondelete="CASCADE"), nullable=False
    )
    cron: Mapped[str] = mapped_column(Text, nullable=False)
    tasks: Mapped[Any] = mapped_column(JSONText, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("1"))
    only_when_running: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=text("0")
    )
    when_empty: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("0"))
    max_wait_seconds: Mapped[int | None] = mapped_column(Integer)
    last_due_at: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)
    updated_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)


class ScheduleRun(Base):
    """Addition (migration 0008): one run of a schedule and each task's outcome."""

    __tablename__ = "schedule_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule_id: Mapped[str] = mapped_column(
        Text, ForeignKey("schedules.id", ondelete="CASCADE"), nullable=False
    )
    trigger: Mapped[str] = mapped_column(Text, nullable=False)
    due_at: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[str] = mapped_column(Text, nullable=False)
    finished_at: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    runner_pid: Mapped[int | None] = mapped_column(Integer)
    runner_create_time: Mapped[float | None] = mapped_column(Float)
    tasks: Mapped[Any] = mapped_column(JSONText)
    message: Mapped[str | None] = mapped_column(Text)


class AlertChannel(Base):
    """Addition (migration 0008): an Apprise URL (a secret) and the events it is sent."""

    __tablename__ = "alert_channels"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    events: Mapped[Any] = mapped_column(JSONText, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("1"))
    created_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)


class AlertMessage(Base):
    """Addition (migration 0008): an alert waiting to be sent (or sent, failed, suppressed)."""

    __tablename__ = "alert_queue"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[str] = mapped_column(
        Text, ForeignKey("alert_channels.id", ondelete="CASCADE"), nullable=False
    )
    server_id: Mapped[str | None] = mapped_column(
        Text, ForeignKey("local_servers.id", ondelete="SET NULL")
    )
    event: Mapped[str] = mapped_column(Text, nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    next_attempt_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str | None] = mapped_column(Text, server_default=SQL_NOW)
    sent_at: Mapped[str | None] = mapped_column(Text)
