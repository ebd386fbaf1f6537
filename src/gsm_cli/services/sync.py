"""`gsm sync`: push the outbox to gsm-cloud, pull the cloud's change feed, and manage what is
kept aside (rejected operations) and what conflicts (docs/sync.md, docs/sync-protocol.md).

The rules that make a push safe to interrupt at any moment:

- an operation leaves the queue only in the local transaction that records the cloud's answer
  for it, and the cloud applies each operation id at most once;
- on a transport failure or a 5xx nothing is deleted: the operations not answered stay queued
  with ``retry_count`` raised and are sent again, with the same ids, by the next push;
- answers are recorded by row id, and a row may be gone by then (a newer summary replaced the
  one sent, ``outbox.replace_summary``): that answer changes nothing and is not reported.
"""

import collections
import contextlib
import gc
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Text, delete, func, literal, or_, select, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gsm_cli.cloud.client import CloudAnswerError, CloudClient, EncodedOperation
from gsm_cli.errors import (
    CloudUnreachableError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from gsm_cli.services import device, processes, pulled, servers, settings
from gsm_cli.store import Store, outbox
from gsm_cli.store.models import (
    CatalogPlugin,
    CommunityMembership,
    LocalPlugin,
    LocalServer,
    PendingSyncOperation,
    SyncConflict,
    SyncState,
)
from gsm_cli.timeutil import iso_utc, utc_now_sql

Report = Callable[[float, float | None, str | None], None]
QUEUED, REJECTED = "queued", "rejected"
ACTIVE_STATUSES = ("starting", "running", "stopping")
MAX_BATCH = settings.SYNC_MAX_BATCH  # the cloud's limit per request
# Operations that change an entity; a server's performance summary does not (it is not a
# local change the cloud could be behind on, and never makes a server pending).
_IS_CHANGE = PendingSyncOperation.entity_type != outbox.SUMMARY


def _no_report(done: float, total: float | None = None, label: str | None = None) -> None:
    return None


# -- sync_state ---------------------------------------------------------------------------


def _state(session: Session) -> SyncState:
    state = session.get(SyncState, 1)
    if state is None:
        state = SyncState(id=1, cursor=0)
        session.add(state)
        session.flush()
    return state


def _record_push(store: Store, summary: dict[str, Any]) -> None:
    with store.write() as session:
        state = _state(session)
        state.last_push_at = utc_now_sql()
        state.last_push_result = summary


# -- push -----------------------------------------------------------------------------------


def wire_operation(op: PendingSyncOperation | Row[Any]) -> dict[str, Any]:
    """One queued operation as POST /v1/sync/push wants it."""
    return {
        "id": op.operation_id,
        "operation_type": op.operation_type,
        "entity_type": op.entity_type,
        "entity_id": op.entity_id,
        "data_payload": op.data_payload,
        "created_at": op.created_at,
    }


def queued_count(session: Session) -> int:
    query = select(func.count()).where(PendingSyncOperation.state == QUEUED)
    return session.scalar(query.select_from(PendingSyncOperation)) or 0


# What a push reads of a queued row: plain rows, not ORM objects (a tenth of the cost).
_WIRE_COLUMNS = (
    PendingSyncOperation.id,
    PendingSyncOperation.operation_id,
    PendingSyncOperation.operation_type,
    PendingSyncOperation.entity_type,
    PendingSyncOperation.entity_id,
    PendingSyncOperation.data_payload,
    PendingSyncOperation.created_at,
)


def _next_batch(session: Session, after_id: int, size: int, *, raw: bool = False) -> list[Row[Any]]:
    """The next queued rows after ``after_id``; ``raw``: data_payload as the JSON text the
    store holds, not decoded, and ``wire``, the operation as the push sends it."""
    columns: tuple[Any, ...] = _WIRE_COLUMNS
    if raw:
        text = type_coerce(PendingSyncOperation.data_payload, Text)
        columns = (
            *(
                text.label("data_payload") if c is PendingSyncOperation.data_payload else c
                for c in columns
            ),
            _wire_text(text).label("wire"),
        )
    query = (
        select(*columns)
        .where(PendingSyncOperation.state == QUEUED, PendingSyncOperation.id > after_id)
        .order_by(PendingSyncOperation.id)
        .limit(size)
    )
    return list(session.connection().execute(query).all())  # Core rows: no ORM loading


def _wire_text(payload_text: Any) -> Any:
    """SQL for the operation as the push sends it (``wire_operation``'s object), written by
    SQLite itself: each field quoted with json_quote, the payload's stored JSON text put in as
    it is (NaN and all, for the cloud to judge)."""
    t = PendingSyncOperation

    def quoted(column: Any) -> Any:
        return func.json_quote(column, type_=Text)

    return (
        literal('{"id": ', Text)
        + quoted(t.operation_id)
        + ', "operation_type": '
        + quoted(t.operation_type)
        + ', "entity_type": '
        + quoted(t.entity_type)
        + ', "entity_id": '
        + quoted(t.entity_id)
        + ', "data_payload": '
        + func.coalesce(payload_text, "null", type_=Text)
        + ', "created_at": '
        + quoted(t.created_at)
        + "}"
    )


@dataclass
class PushSummary:
    sent: int = 0
    applied: int = 0
    duplicate: int = 0
    rejected: int = 0
    conflict: int = 0
    unanswered: int = 0
    batches: int = 0
    left: int = 0
    rejected_reasons: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "applied": self.applied,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "conflict": self.conflict,
            "unanswered": self.unanswered,
            "batches": self.batches,
            "left": self.left,
            "kept_aside": self.rejected_reasons,
        }


def _encoded(row: Row[Any], this: device.Device | None) -> EncodedOperation:
    """A queued row read with ``raw=True`` as the push sends it: its ``wire`` text, with the
    payload's stored JSON text in it as it is (the same values ``wire_operation`` gives),
    unless this device's name must be set in it (``_with_device_name``)."""
    text = row.data_payload
    if (
        text is not None
        and this is not None
        and row.entity_type == "game_server"
        and this.id in text
    ):
        wire = _with_device_name(wire_operation(row) | {"data_payload": json.loads(text)}, this)
        return EncodedOperation(row.operation_id, json.dumps(wire).encode("ascii"))
    return EncodedOperation(row.operation_id, row.wire.encode("utf-8"))


@dataclass
class _Batch:
    """Queued rows ready to send: what ``_apply_answers`` needs of each (its row id, and of
    its wire form the id, entity_type and entity_id), and the operations as sent."""

    rows: list[Row[Any]]
    sent: list[dict[str, Any]]
    operations: list[EncodedOperation]

    @classmethod
    def of(cls, rows: list[Row[Any]], this: device.Device | None) -> "_Batch":
        sent = [
            {
                "row_id": row.id,
                "wire": {
                    "id": row.operation_id,
                    "entity_type": row.entity_type,
                    "entity_id": row.entity_id,
                },
            }
            for row in rows
        ]
        return cls(rows, sent, [_encoded(row, this) for row in rows])


def _among(column: Any, values: Iterable[Any]) -> Any:
    """``column IN (...)`` with the values as one JSON parameter (SQLite's json_each): one
    statement whatever their number, with nothing to render per value."""
    listed = func.json_each(json.dumps(list(values))).table_valued("value")
    return column.in_(select(listed.c.value))


def _apply_answers(
    session: Session,
    batch: list[dict[str, Any]],
    results: list[dict[str, Any]],
    summary: PushSummary,
) -> None:
    """Record the cloud's answers for one batch (the caller's one transaction). ``batch``:
    per operation sent, ``{"row_id": ..., "wire": {"id", "entity_type", "entity_id", ...}}``."""
    done_ids: list[int] = []
    done_entities: set[str] = set()
    aside: dict[str, str] = {}  # entity id -> 'rejected' | 'conflict'
    for sent, result in zip(batch, results, strict=False):
        if result.get("id") != sent["wire"]["id"]:
            summary.unanswered += 1  # out of step: leave it queued, ask again next time
            continue
        status = result.get("status")
        reason = result.get("reason")
        if status == "duplicate":
            summary.duplicate += 1
            status = result.get("previous_status") or "applied"
        elif status in ("applied", "rejected", "conflict"):
            setattr(summary, status, getattr(summary, status) + 1)
        else:
            summary.unanswered += 1
            continue
        if status == "applied":
            done_ids.append(sent["row_id"])
            if sent["wire"]["entity_type"] == "game_server":
                done_entities.add(sent["wire"]["entity_id"])
        else:
            error = reason or status
            if status == "conflict":
                error = f"conflict: {error}"
            kept = session.execute(
                update(PendingSyncOperation)
                .where(PendingSyncOperation.id == sent["row_id"])
                .values(state=REJECTED, last_error=error)
            )
            if kept.rowcount == 0:  # replaced while it was sent: the newer one gets its answer
                continue
            summary.rejected_reasons.append(
                {
                    "operation_id": sent["wire"]["id"],
                    "entity_type": sent["wire"]["entity_type"],
                    "entity_id": sent["wire"]["entity_id"],
                    "status": status,
                    "reason": error,
                }
            )
            if sent["wire"]["entity_type"] == "game_server":
                aside[sent["wire"]["entity_id"]] = status
    summary.unanswered += max(0, len(batch) - len(results))
    if done_ids:
        table = PendingSyncOperation.__table__  # Core: no ORM objects to keep in step
        session.execute(delete(table).where(_among(table.c.id, done_ids)))
    for entity_id, status in aside.items():
        session.execute(
            update(LocalServer).where(LocalServer.id == entity_id).values(cloud_sync_status=status)
        )
    candidates = done_entities - set(aside)
    if candidates:
        # Synced: nothing of the server is left to push and no conflict holds it.
        servers = LocalServer.__table__
        session.execute(
            update(servers)
            .where(
                _among(servers.c.id, candidates),
                ~select(PendingSyncOperation.id)
                .where(PendingSyncOperation.entity_id == servers.c.id, _IS_CHANGE)
                .exists(),
                ~select(SyncConflict.id).where(SyncConflict.entity_id == servers.c.id).exists(),
            )
            .values(cloud_sync_status="synced")
        )


def _with_device_name(wire: dict[str, Any], this: device.Device | None) -> dict[str, Any]:
    """A server of this device is sent with the device's name as it is now (device.name)."""
    payload = wire["data_payload"]
    if (
        this is not None
        and wire["entity_type"] == "game_server"
        and isinstance(payload, dict)
        and payload.get("device_id") == this.id
        and "name" in payload  # not a delete
    ):
        wire["data_payload"] = payload | {"device_name": this.name}
    return wire


def _rename_device(store: Store, this: device.Device) -> None:
    """This device's servers carry its current name (the device.name setting may change)."""
    with store.write() as session:
        session.execute(
            update(LocalServer)
            .where(
                LocalServer.device_id == this.id,
                (LocalServer.device_name.is_(None)) | (LocalServer.device_name != this.name),
            )
            .values(device_name=this.name)
        )


def push(
    store: Store,
    client: CloudClient,
    *,
    batch_size: int,
    report: Report = _no_report,
    this: device.Device | None = None,
) -> dict[str, Any]:
    """Send every queued operation, oldest first, ``batch_size`` per request. ``this``: the
    device pushing, whose current name goes with its servers."""
    if not 1 <= batch_size <= MAX_BATCH:
        raise InvalidInputError(
            f"batch size {batch_size}: must be between 1 and {MAX_BATCH}",
            hint="pass --batch-size, or gsm config set sync.batch_size 500",
        )
    summary = PushSummary()
    if this is not None:
        _rename_device(store, this)
    with store.read() as session:
        total = queued_count(session)
    report(0, total, "pushing")
    unsent = _Unsent(store, batch_size, this)
    # Requests go out on threads, up to IN_FLIGHT at once, each naming the one before it so
    # that the cloud applies them in order. This thread alone touches the store: it reads and
    # encodes the next batches, and records answers in order, one batch per transaction.
    with (
        _long_lived_frozen(),
        ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="gsm-sync-push") as executor,
    ):
        sender = _Sender(client, executor)
        sender.fill(unsent)
        while (flight := sender.oldest()) is not None:
            results = _answers(store, lambda f=flight: sender.answers(f), flight.batch, summary)
            sender.fill(unsent)  # the next request goes out before these answers are recorded
            _record_answers(store, flight.batch.sent, results, summary)
            report(summary.sent, total, None)
    with store.read() as session:
        summary.left = queued_count(session)
    result = summary.to_dict()
    _record_push(store, result)
    return result


@contextlib.contextmanager
def _long_lived_frozen() -> Iterator[None]:
    """Keep the garbage collector off the objects that existed before the push (the modules,
    the store's engine): each batch allocates enough to set off collections of the oldest
    generation, which would otherwise walk all of them (measured: about a fifth of the push's
    own time). Collections go on for what the push makes."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _answers(
    store: Store,
    wait: Callable[[], list[dict[str, Any]]],
    batch: _Batch,
    summary: PushSummary,
) -> list[dict[str, Any]]:
    """Wait for one batch's answers; unreachable: count a retry for it and every operation
    after it (none of them is recorded as answered), stop."""
    try:
        return wait()
    except CloudUnreachableError as exc:
        with store.write() as session:
            session.execute(
                update(PendingSyncOperation)
                .where(
                    PendingSyncOperation.state == QUEUED,
                    PendingSyncOperation.id >= batch.rows[0].id,
                )
                .values(retry_count=func.coalesce(PendingSyncOperation.retry_count, 0) + 1)
            )
            summary.left = queued_count(session)
        result = summary.to_dict() | {"error": exc.message}
        _record_push(store, result)
        raise type(exc)(
            f"{exc.message}; {summary.left} operation(s) are still queued",
            hint="run gsm sync push again when the cloud answers",
            code=exc.code,
        ) from None


class _Unsent:
    """The queued operations not sent yet, a batch at a time in queue order."""

    def __init__(self, store: Store, batch_size: int, this: device.Device | None) -> None:
        self.store, self.batch_size, self.this = store, batch_size, this
        self.last_row = 0  # queue row id of the last operation handed out
        self.done = False

    def next(self) -> _Batch | None:
        if self.done:
            return None
        with self.store.read() as session:
            rows = _next_batch(session, self.last_row, self.batch_size, raw=True)
        if not rows:
            self.done = True
            return None
        self.last_row = rows[-1].id
        return _Batch.of(rows, self.this)


IN_FLIGHT = 2  # push requests on the wire at once (docs/sync-protocol.md, "Requests in flight")


@dataclass
class _Flight:
    """A batch sent, with its place in the chain of requests and its answer to come."""

    batch: _Batch
    batch_id: str
    answer: Future[list[dict[str, Any]]]


class _Sender:
    """Sends batches in queue order, up to IN_FLIGHT at once: each request names itself
    (``batch_id``) and the request before it (``after_batch_id``), and the cloud applies it
    only once that one committed. A cloud that does not know these fields refuses such a
    request whole (422, nothing applied): the batch is sent again without them and the rest of
    the push goes one request at a time, as before."""

    def __init__(self, client: CloudClient, executor: ThreadPoolExecutor) -> None:
        self.client = client
        self.executor = executor
        self.ordered = True  # the cloud takes batch_id and after_batch_id
        self.previous: str | None = None  # batch_id of the request sent last
        self.flights: collections.deque[_Flight] = collections.deque()

    def fill(self, unsent: "_Unsent") -> None:
        """Send batches until IN_FLIGHT are on the wire (one for a cloud without order)."""
        while len(self.flights) < (IN_FLIGHT if self.ordered else 1):
            batch = unsent.next()
            if batch is None:
                return
            self.flights.append(self.send(batch))

    def oldest(self) -> _Flight | None:
        return self.flights.popleft() if self.flights else None

    def send(self, batch: _Batch) -> _Flight:
        batch_id, after = str(uuid.uuid4()), self.previous
        self.previous = batch_id
        if not self.ordered:
            answer = self.executor.submit(self.client.push, batch.operations)
        else:
            answer = self.executor.submit(
                self.client.push, batch.operations, batch_id=batch_id, after_batch_id=after
            )
        return _Flight(batch, batch_id, answer)

    def answers(self, flight: _Flight) -> list[dict[str, Any]]:
        """The flight's answers; called in sending order, once every earlier flight's answers
        are in (so whatever it followed is settled: applied, or never to be)."""
        try:
            return flight.answer.result()
        except ConflictError as exc:
            if exc.code != "previous_batch_missing":
                raise
            # It overtook the request before it and the cloud stopped waiting: nothing of it
            # was applied. That request is answered now, so send it again, following nothing.
            return self.client.push(flight.batch.operations, batch_id=flight.batch_id)
        except InvalidInputError as exc:
            if not _unknown_order_fields(exc):
                raise
            self.ordered = False
            return self.client.push(flight.batch.operations)


def _unknown_order_fields(exc: InvalidInputError) -> bool:
    """Whether the cloud refused the request for batch_id/after_batch_id alone: a gsm-cloud
    from before requests in flight (it refuses unknown fields with 422 invalid_request)."""
    return getattr(exc, "code", None) == "invalid_request" and bool(
        re.search(r"\b(after_)?batch_id: Extra inputs", exc.message)
    )


def _record_answers(
    store: Store, batch: list[dict[str, Any]], results: list[dict[str, Any]], summary: PushSummary
) -> None:
    with store.write() as session:
        _apply_answers(session, batch, results, summary)
    summary.sent += len(batch)
    summary.batches += 1


def dry_run(store: Store, *, batch_size: int) -> dict[str, Any]:
    with store.read() as session:
        rows = session.execute(
            select(
                PendingSyncOperation.entity_type,
                PendingSyncOperation.operation_type,
                func.count(),
            )
            .where(PendingSyncOperation.state == QUEUED)
            .group_by(PendingSyncOperation.entity_type, PendingSyncOperation.operation_type)
        ).all()
    total = sum(n for *_k, n in rows)
    return {
        "dry_run": True,
        "would_send": total,
        "batches": -(-total // batch_size),
        "by_kind": [
            {"entity_type": e, "operation_type": o, "count": n} for e, o, n in sorted(rows)
        ],
    }


# -- pull -----------------------------------------------------------------------------------


def _apply_cached(
    session: Session, model: Any, key: dict[str, str], values: dict[str, Any] | None
) -> str:
    """A pulled cache row (catalog entry, membership): delete it (``values`` None), or create
    or update it with ``values``."""
    row = session.get(model, next(iter(key.values())))
    if values is None:
        if row is not None:
            session.delete(row)
        return "deleted"
    if row is None:
        row = model(**key)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = utc_now_sql()
    return "applied"


def _local_time(value: Any) -> str | None:
    """The cloud's ISO 8601 time as the store keeps times (SQLite's UTC text)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%d %H:%M:%S")


def _common_from_cloud(server: LocalServer, data: dict[str, Any], cloud: "_PulledServer") -> None:
    """The fields every device keeps alike: name, game, port, configuration, community,
    times."""
    server.name = data["name"]
    server.game_type = data["game_type"]
    server.port = cloud.port
    server.configuration = cloud.configuration
    server.last_backup = _local_time(data.get("last_backup"))
    if "community_id" in data:  # a cloud that predates communities on servers says nothing
        server.community_id = data["community_id"]
    if data.get("created_at"):
        server.created_at = _local_time(data.get("created_at"))


def _make_remote(server: LocalServer, cloud: "_PulledServer") -> None:
    """A server of another device here: listed, never run. No path from the cloud is kept."""
    server.status = servers.REMOTE
    server.install_path = None
    server.process_id = None
    server.process_create_time = None
    server.device_id = cloud.device_id
    server.device_name = cloud.device_name
    server.cloud_sync_status = "synced"


def _set_plugin_from_cloud(session: Session, plugin: LocalPlugin, data: dict[str, Any]) -> None:
    plugin.server_id = data.get("server_id")
    plugin.plugin_id = data.get("plugin_id")
    plugin.version = data.get("installed_version")
    plugin.configuration = data.get("configuration")
    if data.get("installed_at"):
        plugin.installed_at = _local_time(data["installed_at"])
    entry = session.get(CatalogPlugin, plugin.plugin_id) if plugin.plugin_id else None
    plugin.name = entry.name if entry else (plugin.name or plugin.plugin_id or "plugin")


MAX_SKIPPED_SHOWN = 100  # reasons kept per pull; the count goes on


@dataclass
class PullSummary:
    pages: int = 0
    changes: int = 0
    applied: int = 0
    deleted: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    invalid: list[dict[str, Any]] = field(default_factory=list)
    released: list[dict[str, Any]] = field(default_factory=list)
    cursor: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "changes": self.changes,
            "applied": self.applied,
            "deleted": self.deleted,
            "conflicts": self.conflicts,
            "skipped": self.skipped,
            "invalid": self.invalid,
            "released": self.released,
            "cursor": self.cursor,
        }


def _add_conflict(
    session: Session,
    entity_type: str,
    entity_id: str,
    operation: str,
    data: Any,
    reason: str,
) -> dict[str, Any]:
    conflict = session.scalars(
        select(SyncConflict).where(
            SyncConflict.entity_type == entity_type, SyncConflict.entity_id == entity_id
        )
    ).first()
    if conflict is None:
        conflict = SyncConflict(entity_type=entity_type, entity_id=entity_id)
        session.add(conflict)
    conflict.cloud_operation = operation
    conflict.cloud_data = data
    conflict.reason = reason
    conflict.detected_at = utc_now_sql()
    session.flush()
    if entity_type == "game_server":
        session.execute(
            update(LocalServer)
            .where(LocalServer.id == entity_id)
            .values(cloud_sync_status="conflict")
        )
    return {"entity_type": entity_type, "entity_id": entity_id, "reason": reason}


@dataclass
class Outcome:
    """What applying one change did: 'applied', 'deleted', 'skipped' or 'conflict'."""

    kind: str
    reason: str | None = None
    released: dict[str, Any] | None = None  # a server of this device that became remote


@dataclass
class _PulledServer:
    """A pulled game_server's configuration, split into what is whose."""

    configuration: dict[str, Any]
    port: int | None
    device_id: str | None
    device_name: str | None

    @classmethod
    def of(cls, data: dict[str, Any]) -> "_PulledServer":
        config = dict(data.get("configuration") or {})
        port = config.pop("port", None)
        config.pop("install_path", None)  # the owning device's path: never kept here
        device_id = config.pop("device_id", None)
        device_name = config.pop("device_name", None)
        if data.get("max_players") is not None:
            config["max_players"] = data["max_players"]
        return cls(config, port, device_id, device_name)


# Settings that decide what runs on this machine: a change from the cloud needs a yes here.
LAUNCH_KEYS = ("command", "args", "env", "stop_command")


def _launch_changes(server: LocalServer, data: dict[str, Any], config: dict[str, Any]) -> list[str]:
    mine = server.configuration or {}
    changed = [key for key in LAUNCH_KEYS if (mine.get(key) or None) != (config.get(key) or None)]
    if data["game_type"] != server.game_type:
        changed.insert(0, "game")
    return changed


def _running_here(server: LocalServer) -> bool:
    return server.status in ACTIVE_STATUSES or processes.is_alive(
        server.process_id, server.process_create_time
    )


def _apply_server(
    session: Session,
    entity_id: str,
    data: dict[str, Any] | None,
    pending: set[str],
    this_device: str,
    accept_cloud: bool,
) -> Outcome:
    """One pulled server. A server of this device: the local row is the truth about its folder,
    process and status, and a change of what it runs is a conflict. Others' are remote here."""
    local = session.get(LocalServer, entity_id)
    ours = local is not None and not servers.is_remote(local, this_device)
    if data is None:  # deleted in the cloud, or no longer this account's
        if local is None:
            return Outcome("skipped")
        if ours and entity_id in pending:
            return Outcome(
                "conflict", "deleted in the cloud while changes made here are not pushed"
            )
        if ours and _running_here(local):
            return Outcome("conflict", "deleted in the cloud but running here")
        session.execute(delete(LocalPlugin).where(LocalPlugin.server_id == entity_id))
        servers.forget_history(session, entity_id)
        outbox.drop_summaries(session, entity_id)
        session.delete(local)
        return Outcome("deleted")
    if local is None and entity_id in pending:
        return Outcome("skipped")  # deleted here; the queued delete is newer than the cloud
    clash = session.scalars(
        select(LocalServer).where(
            func.lower(LocalServer.name) == data["name"].lower(), LocalServer.id != entity_id
        )
    ).first()
    if clash is not None:
        return Outcome("conflict", f"another local server is named {clash.name!r}")
    cloud = _PulledServer.of(data)
    if local is None or not ours:
        if local is None:
            local = LocalServer(id=entity_id, name=data["name"], game_type="", status="")
            session.add(local)
        _common_from_cloud(local, data, cloud)
        _make_remote(local, cloud)
        return Outcome("applied")
    if cloud.device_id not in (None, this_device):
        owner = cloud.device_name or cloud.device_id
        if _running_here(local):
            return Outcome(
                "conflict",
                f"adopted by device {owner}, but running here: stop it here, then "
                f"gsm sync resolve {local.name} --keep cloud (or --keep local to keep it here)",
            )
        if entity_id in pending:
            return Outcome(
                "conflict", f"adopted by device {owner} while changes made here are not pushed"
            )
        released = {"name": local.name, "device_name": owner, "install_path": local.install_path}
        outbox.drop_summaries(session, entity_id)  # its owner sends them now
        _common_from_cloud(local, data, cloud)
        _make_remote(local, cloud)
        return Outcome("applied", released=released)
    if entity_id in pending:
        return Outcome("skipped")  # this device's own changes are newer: push sends them
    changed = _launch_changes(local, data, cloud.configuration)
    if changed and not accept_cloud:
        return Outcome(
            "conflict",
            f"the cloud changed the {', '.join(changed)} of {local.name}: review with "
            f"gsm sync resolve {local.name} --keep local|cloud",
        )
    _common_from_cloud(local, data, cloud)
    local.cloud_sync_status = "synced"
    return Outcome("applied")


def apply_change(
    session: Session,
    change: dict[str, Any],
    pending: set[str],
    this_device: str,
    *,
    accept_cloud: bool = False,
) -> Outcome:
    """Apply one change of the feed (checked by ``pulled.problem`` first).

    ``accept_cloud``: take the cloud's command and environment for a server of this device
    (``gsm sync resolve --keep cloud``), instead of holding them as a conflict.
    """
    kind, entity_id = change["entity_type"], str(change["entity_id"])
    data = None if change["operation"] == "delete" else change.get("data")
    if kind == "game_server":
        return _apply_server(session, entity_id, data, pending, this_device, accept_cloud)
    if kind == "plugin_installation":
        local = session.get(LocalPlugin, entity_id)
        if entity_id in pending:
            return Outcome("conflict", "local changes not pushed yet")
        if data is None:
            if local is None:
                return Outcome("skipped")
            session.delete(local)
            return Outcome("deleted")
        if session.get(LocalServer, data["server_id"]) is None:
            return Outcome("skipped")  # its server is not on this machine
        if local is None:
            local = LocalPlugin(id=entity_id, name="")
            session.add(local)
        _set_plugin_from_cloud(session, local, data)
        return Outcome("applied")
    if kind == "plugin":
        catalog_entry = None if data is None else {
            "name": data.get("name") or entity_id,
            "description": data.get("description"),
            "category": data.get("category"),
            "version": data.get("version"),
            "data": data,
        }  # fmt: skip
        return Outcome(_apply_cached(session, CatalogPlugin, {"id": entity_id}, catalog_entry))
    if kind == "community_membership":
        membership = None if data is None else {
            "community_name": data.get("community_name"),
            "role": data.get("role"),
            "joined_at": _local_time(data.get("joined_at")),
        }  # fmt: skip
        return Outcome(
            _apply_cached(session, CommunityMembership, {"community_id": entity_id}, membership)
        )
    return Outcome("skipped")


def _pending_entities(session: Session) -> set[str]:
    query = select(PendingSyncOperation.entity_id).where(_IS_CHANGE).distinct()
    return set(session.scalars(query))


def _shown(value: Any) -> str:
    """A value from the cloud as a skipped change's summary shows it: short, printable."""
    text = value if isinstance(value, str) and value.isprintable() else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_page(page: Any, cursor: int) -> None:
    """A pull page must be what the protocol says; anything else is the cloud's failure."""
    problem = None
    if not isinstance(page, dict) or not isinstance(page.get("changes"), list):
        problem = "it has no list of changes"
    elif type(page.get("next_cursor")) is not int or page["next_cursor"] < cursor:
        problem = "its next_cursor is not a whole number at or after the cursor sent"
    elif not isinstance(page.get("has_more"), bool):
        problem = "its has_more is not true or false"
    elif page["has_more"] and page["next_cursor"] == cursor:
        problem = "it says more changes wait, but its cursor did not move"
    if problem is not None:
        raise CloudAnswerError(
            f"the cloud answered the pull with a page gsm cannot use: {problem}",
            hint="nothing was applied from it; try again later, or report it to the cloud's admin",
        )


def _apply_page(
    session: Session, page: dict[str, Any], summary: PullSummary, this_device: str
) -> None:
    pending = _pending_entities(session)
    for change in page["changes"]:
        summary.changes += 1
        reason = pulled.problem(change)
        if reason is None:
            try:
                with session.begin_nested():
                    outcome = apply_change(session, change, pending, this_device)
                    session.flush()
            except IntegrityError as exc:  # checked above; the store may still refuse it
                reason = f"the store refused it: {exc.orig}"
        if reason is not None:
            summary.skipped += 1
            if len(summary.invalid) < MAX_SKIPPED_SHOWN:
                entity = change if isinstance(change, dict) else {}
                summary.invalid.append(
                    {
                        "entity_type": _shown(entity.get("entity_type")),
                        "entity_id": _shown(entity.get("entity_id")),
                        "reason": reason,
                    }
                )
            continue
        if outcome.kind == "conflict":
            summary.conflicts.append(
                _add_conflict(
                    session,
                    change["entity_type"],
                    str(change["entity_id"]),
                    change["operation"],
                    change.get("data"),
                    outcome.reason or "conflict",
                )
            )
            continue
        setattr(summary, outcome.kind, getattr(summary, outcome.kind) + 1)
        if outcome.released is not None:
            summary.released.append(outcome.released)


def pull(
    store: Store, client: CloudClient, *, limit: int = 500, report: Report = _no_report
) -> dict[str, Any]:
    """Apply the change feed page by page; each page and its cursor in one transaction."""
    summary = PullSummary()
    with store.read() as session:
        state = session.get(SyncState, 1)
        cursor = state.cursor if state else 0
    while True:
        page = client.pull(cursor, limit)
        _check_page(page, cursor)
        with store.write() as session:
            _apply_page(session, page, summary, device.device_id(session))
            state = _state(session)
            state.cursor = cursor = page["next_cursor"]
            state.last_pull_at = utc_now_sql()
            summary.pages += 1
            summary.cursor = cursor
            state.last_pull_result = summary.to_dict()
        report(summary.changes, None, None)
        if not page["has_more"]:
            break
    return summary.to_dict()


# -- status, retry, drop, resolve --------------------------------------------------------------


def _op_dict(session: Session, op: PendingSyncOperation) -> dict[str, Any]:
    name = (op.data_payload or {}).get("name")
    if op.entity_type == outbox.SUMMARY:  # a summary's payload has no name: its server's
        server = session.get(LocalServer, op.entity_id)
        name = server.name if server is not None else None
    return {
        "operation_id": op.operation_id,
        "operation_type": op.operation_type,
        "entity_type": op.entity_type,
        "entity_id": op.entity_id,
        "name": name,
        "retry_count": op.retry_count or 0,
        "reason": op.last_error,
        "created_at": iso_utc(op.created_at),
    }


def _conflict_dict(session: Session, conflict: SyncConflict) -> dict[str, Any]:
    name = None
    if conflict.entity_type == "game_server":
        local = session.get(LocalServer, conflict.entity_id)
        name = local.name if local else (conflict.cloud_data or {}).get("name")
    return {
        "entity_type": conflict.entity_type,
        "entity_id": conflict.entity_id,
        "name": name,
        "cloud_operation": conflict.cloud_operation,
        "reason": conflict.reason,
        "detected_at": iso_utc(conflict.detected_at),
    }


def status(store: Store) -> dict[str, Any]:
    with store.read() as session:
        queued = queued_count(session)
        retrying = (
            session.scalar(
                select(func.count())
                .select_from(PendingSyncOperation)
                .where(
                    PendingSyncOperation.state == QUEUED,
                    func.coalesce(PendingSyncOperation.retry_count, 0) > 0,
                )
            )
            or 0
        )
        rejected = session.scalars(
            select(PendingSyncOperation)
            .where(PendingSyncOperation.state == REJECTED)
            .order_by(PendingSyncOperation.id)
        ).all()
        conflicts = session.scalars(select(SyncConflict).order_by(SyncConflict.id)).all()
        state = session.get(SyncState, 1)
        return {
            "queued": queued,
            "retrying": retrying,
            "rejected": [_op_dict(session, op) for op in rejected],
            "conflicts": [_conflict_dict(session, c) for c in conflicts],
            "cursor": state.cursor if state else 0,
            "last_push_at": iso_utc(state.last_push_at) if state else None,
            "last_push": state.last_push_result if state else None,
            "last_pull_at": iso_utc(state.last_pull_at) if state else None,
            "last_pull": state.last_pull_result if state else None,
        }


def _find_rejected(session: Session, op_id: str) -> PendingSyncOperation:
    # An operation id's prefix can be all digits too ("61370657..."): digits match either the
    # row number or the prefix, and two different matches are refused as ambiguous below.
    matches = PendingSyncOperation.operation_id.like(f"{op_id.lower()}%")
    if op_id.isdigit():
        matches = or_(matches, PendingSyncOperation.id == int(op_id))
    query = select(PendingSyncOperation).where(PendingSyncOperation.state == REJECTED, matches)
    found = session.scalars(query.limit(2)).all()
    if len(found) != 1:
        problem = "no rejected operation" if not found else "more than one rejected operation"
        raise NotFoundError(
            f"{problem} matches {op_id!r}",
            hint="see gsm sync status",
            code="operation_not_found",
        )
    return found[0]


def _rejected(session: Session, op_id: str | None) -> list[PendingSyncOperation]:
    if op_id is not None:
        return [_find_rejected(session, op_id)]
    return list(
        session.scalars(
            select(PendingSyncOperation)
            .where(PendingSyncOperation.state == REJECTED)
            .order_by(PendingSyncOperation.id)
        )
    )


def _requeue(session: Session, entity_type: str, entity_id: str) -> PendingSyncOperation:
    """A new operation (new id) from the entity's current local row: an upsert, or a delete."""
    model = LocalServer if entity_type == "game_server" else LocalPlugin
    local = session.get(model, entity_id)
    if local is None:
        payload: dict[str, Any] = {"id": entity_id}
        if entity_type == "game_server":
            payload["device_id"] = device.device_id(session)
        return outbox.enqueue(
            session,
            operation_type="delete",
            entity_type=entity_type,
            entity_id=entity_id,
            payload=payload,
        )
    # "create" upserts in the cloud, so it also brings back a row deleted there.
    return outbox.record(session, local, "create")


def _requeue_summary(session: Session, old: PendingSyncOperation) -> PendingSyncOperation:
    """A kept-aside summary again, unless a newer one of its server waits already: that one
    supersedes it (only the latest summary matters)."""
    newer = session.scalars(
        select(PendingSyncOperation).where(
            PendingSyncOperation.entity_type == outbox.SUMMARY,
            PendingSyncOperation.entity_id == old.entity_id,
        )
    ).first()
    if newer is not None:
        return newer
    return outbox.replace_summary(session, old.entity_id, old.data_payload or {})


def _settle_status(session: Session, entity_id: str) -> None:
    """A server's cloud_sync_status from what is left of its sync state: conflict, rejected,
    pending (operations queued) or synced. A remote server is synced: it has nothing to send."""
    session.flush()
    server = session.get(LocalServer, entity_id)
    if server is None:
        return
    ops = session.execute(
        select(PendingSyncOperation.state, PendingSyncOperation.last_error).where(
            PendingSyncOperation.entity_id == entity_id, _IS_CHANGE
        )
    ).all()
    conflict = session.scalars(
        select(SyncConflict.id).where(SyncConflict.entity_id == entity_id)
    ).first()
    aside = [error or "" for state, error in ops if state == REJECTED]
    if servers.is_remote(server):
        server.cloud_sync_status = "synced"
    elif conflict is not None or any(e.startswith("conflict:") for e in aside):
        server.cloud_sync_status = "conflict"
    elif aside:
        server.cloud_sync_status = "rejected"
    else:
        server.cloud_sync_status = outbox.PENDING if ops else "synced"


def retry(store: Store, op_id: str | None) -> list[dict[str, Any]]:
    """Queue kept-aside operations again, each as a new operation from the current local row."""
    with store.write() as session:
        done = []
        for op in _rejected(session, op_id):
            info = _op_dict(session, op)
            session.delete(op)
            session.flush()
            if op.entity_type == outbox.SUMMARY:
                new = _requeue_summary(session, op)
            else:
                new = _requeue(session, op.entity_type, op.entity_id)
            session.flush()
            done.append(info | {"new_operation_id": new.operation_id})
        for entity_id in {item["entity_id"] for item in done}:
            _settle_status(session, entity_id)
        return done


def drop(store: Store, op_id: str | None) -> list[dict[str, Any]]:
    """Forget kept-aside operations: the cloud will not learn of them."""
    with store.write() as session:
        ops = _rejected(session, op_id)
        done = [_op_dict(session, op) for op in ops]
        for op in ops:
            session.delete(op)
        for entity_id in {item["entity_id"] for item in done}:
            _settle_status(session, entity_id)
        return done


def _find_conflict(session: Session, name: str) -> SyncConflict:
    for conflict in session.scalars(select(SyncConflict).order_by(SyncConflict.id)):
        local = (
            session.get(LocalServer, conflict.entity_id)
            if conflict.entity_type == "game_server"
            else None
        )
        names: Iterable[str | None] = (
            conflict.entity_id,
            local.name if local else None,
            (conflict.cloud_data or {}).get("name"),
        )
        if any(n is not None and n.lower() == name.lower() for n in names):
            return conflict
    raise NotFoundError(
        f"no conflict for {name!r}", hint="see gsm sync status", code="conflict_not_found"
    )


def resolve(store: Store, name: str, keep: str) -> dict[str, Any]:
    if keep not in ("local", "cloud"):
        raise InvalidInputError("--keep must be local or cloud")
    with store.write() as session:
        conflict = _find_conflict(session, name)
        info = _conflict_dict(session, conflict)
        kind, entity_id = conflict.entity_type, conflict.entity_id
        this_device = device.device_id(session)
        if keep == "local":
            model = LocalServer if kind == "game_server" else LocalPlugin
            local = session.get(model, entity_id)
            if local is None:
                if conflict.cloud_operation == "delete":
                    _requeue(session, kind, entity_id)
                # else: the cloud's entity is not here (a name clash): keep it out, and leave
                # it alone in the cloud, where it is another device's
            elif isinstance(local, LocalServer) and servers.is_remote(local, this_device):
                pass  # another device's server: nothing of it is sent from here
            else:
                operation = "create" if conflict.cloud_operation == "delete" else "update"
                # this device's version wins, its ownership of the server included
                outbox.record(session, local, operation, claim=kind == "game_server")  # type: ignore[arg-type]
            session.delete(conflict)
        else:
            session.execute(
                delete(PendingSyncOperation).where(PendingSyncOperation.entity_id == entity_id)
            )
            change = {
                "entity_type": kind,
                "entity_id": entity_id,
                "operation": conflict.cloud_operation,
                "data": conflict.cloud_data,
            }
            problem = pulled.problem(change)
            if problem is not None:
                raise InvalidInputError(f"cannot take the cloud's version: {problem}")
            session.delete(conflict)
            session.flush()
            outcome = apply_change(session, change, set(), this_device, accept_cloud=True)
            if outcome.kind == "conflict":
                raise InvalidInputError(f"cannot take the cloud's version: {outcome.reason}")
        _settle_status(session, entity_id)
        return info | {"kept": keep}
