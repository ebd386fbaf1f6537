"""Sync: apply the operations a client pushes, and hand out the change feed on pull.

The protocol, with every rule, is in docs/sync-protocol.md. How a push works:

1. On PostgreSQL it takes the change feed's lock first (every writer of the feed takes it before
   it commits), so pushes apply one after another and never deadlock on each other's rows.
2. It claims every new operation id of the batch with ``INSERT INTO sync_operations ...
   ON CONFLICT (id) DO NOTHING RETURNING id``. An id it could not claim was seen before:
   ``duplicate`` when it is the caller's (with the first answer), ``rejected`` when another
   account used it. A concurrent push of the same id waits on the unique index until the first
   commits and then finds the row, so an id is applied once whatever the timing.
3. It reads, in a handful of queries, every row the batch can touch (servers, installations,
   plugins), then decides each operation in order against that in-memory view: all that the
   database would refuse (types, lengths, NUL characters, owners, foreign keys, the unique
   installation per server and plugin) is checked first, so a bad operation changes nothing
   and the operations after it see the state as it really is.
4. It writes the net effect of the whole batch with a few bulk statements inside one SAVEPOINT:
   upserts of servers, deletes and upserts of installations, deletes of servers, the change
   feed rows. Should the database still refuse something (a case the checks did not foresee,
   or a concurrent change by another endpoint), that SAVEPOINT is rolled back and the batch is
   applied again one operation at a time, each in its own SAVEPOINT: the operation the
   database refuses is answered ``rejected`` or ``conflict`` and the others apply.
5. The answers are stored in sync_operations (status, completed_at, detail); the route commits
   the whole batch at once.

Pull reads the change feed after a cursor and answers with each entity's current state.
"""

import functools
import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, Protocol, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import JSON, any_, bindparam, cast, delete, null, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from gsm_cloud.api.schemas.common import INT32_MAX, MAX_JSON_BYTES
from gsm_cloud.api.schemas.sync import (
    GameServerPayload,
    InstallationPayload,
    ServerSummaryPayload,
    SummaryMetrics,
)
from gsm_cloud.clock import utcnow
from gsm_cloud.config import Settings
from gsm_cloud.db.models import (
    Change,
    Community,
    CommunityMember,
    GameServer,
    Plugin,
    PluginInstallation,
    SyncBatch,
    SyncOperation,
)
from gsm_cloud.services import changes

OPERATION_TYPES = ("create", "update", "delete")
SUMMARY = "server_summary"  # the latest performance summary of a server, sent as an update
ENTITY_TYPES = ("game_server", "plugin_installation", SUMMARY)
DEFAULT_MAX_PLAYERS = 10  # the seed's default of game_servers.max_players
CHUNK = 500  # rows per statement with a list of values: well under every parameter limit
MAX_DETAIL = 1000
MAX_JSON_DEPTH = 32
DELETED_IN_CLOUD = "deleted in the cloud (or never created there)"
NOT_YOURS = "not yours: it belongs to another account"
DEVICE_KEYS = ("device_id", "device_name")  # kept inside game_servers.configuration
MAX_SUMMARY_BYTES = 4096  # of a summary's payload as JSON: a few numbers need far less
# A summary from the future would hold off every real one after it (older ones never win).
SUMMARY_CLOCK_SLACK = timedelta(minutes=15)

# Columns a push writes. A server created (or re-created) by the batch also gets the seed's
# defaults back in the columns that only the cloud fills.
SERVER_COLUMNS = (
    "id",
    "owner_id",
    "name",
    "game_type",
    "status",
    "configuration",
    "max_players",
    "last_backup",
    "created_at",
    "updated_at",
    "community_id",
)
SERVER_UPDATED = (
    "name",
    "game_type",
    "status",
    "configuration",
    "max_players",
    "last_backup",
    "updated_at",
    "community_id",
)
SERVER_RESET = {"player_count": 0, "uptime_seconds": 0}
INSTALLATION_COLUMNS = (
    "id",
    "server_id",
    "plugin_id",
    "installed_version",
    "installed_at",
    "configuration",
)
# A bound JSON None is SQL NULL (the column type would write the JSON literal null).
_JSON_OR_NULL = JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)

M = TypeVar("M", bound=BaseModel)


class OperationLike(Protocol):
    id: uuid.UUID
    operation_type: str
    entity_type: str
    entity_id: uuid.UUID
    data_payload: dict[str, Any] | None
    created_at: datetime | None


@dataclass(frozen=True)
class Result:
    id: uuid.UUID
    status: str  # applied | duplicate | conflict | rejected
    reason: str | None = None
    previous_status: str | None = None  # of a duplicate: the first answer


Outcome = tuple[str, str | None]  # (status, reason) of one applied-or-not operation


# --- push -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchOrder:
    """What a push request says of its place in a chain of requests (docs/sync-protocol.md,
    "Requests in flight"): its own id, kept once it commits, and the request it follows."""

    batch_id: uuid.UUID | None = None
    after_batch_id: uuid.UUID | None = None
    # seconds to wait for the request it follows (GSM_CLOUD_SYNC_ORDER_WAIT_MS)
    wait: float = Settings.sync_order_wait_ms / 1000


class PreviousBatchMissing(Exception):
    """The request this one follows did not commit in time: nothing was applied."""

    def __init__(self, after_batch_id: uuid.UUID, waited: float) -> None:
        super().__init__(
            f"the push request {after_batch_id} that this one follows (after_batch_id) has not "
            f"been applied (waited {waited:g} s): nothing was applied; send this request again "
            "once that one is answered"
        )


def push(
    session: Session,
    user_id: uuid.UUID,
    operations: Sequence[OperationLike],
    order: BatchOrder | None = None,
) -> list[Result]:
    """Apply a batch in order; one result per operation, in request order. ``order``: the
    batch follows another request of the same user (PreviousBatchMissing when it did not
    commit within ``order.wait``) and is remembered for the one after it."""
    now = utcnow()
    postgres = _is_postgres(session)
    first: dict[uuid.UUID, int] = {}
    for index, op in enumerate(operations):
        first.setdefault(op.id, index)
    # Checked before anything is locked: a batch prepares while the one before it applies.
    unique = [_prepare(operations[index], now) for index in sorted(first.values())]
    order = order or BatchOrder()
    if order.after_batch_id is not None or order.batch_id is not None:
        _take_place(session, user_id, order, now, postgres)
    elif postgres:
        changes.lock_feed(session)
    if postgres:
        # Every push holds the feed's lock from here to its commit, so the ids no earlier
        # push stored are this push's to apply: read once, stored once with their answers.
        earlier = _earlier(session, [item.op.id for item in unique])
        claimed = {item.op.id for item in unique if item.op.id not in earlier}
    else:
        claimed = _claim(session, user_id, unique, now)
        earlier = _earlier(session, [item.op.id for item in unique if item.op.id not in claimed])
    outcomes = _apply_batch(session, user_id, [i for i in unique if i.op.id in claimed], now)

    answers: dict[uuid.UUID, Result] = {}
    for item in unique:
        op_id = item.op.id
        if op_id not in claimed:
            answers[op_id] = _answer_seen(op_id, user_id, earlier.get(op_id))
            continue
        status, reason = outcomes[op_id]
        answers[op_id] = Result(op_id, status, _clean_detail(reason))
    done = [item for item in unique if item.op.id in claimed]
    if postgres:
        _store_answers(session, user_id, done, answers, now)
    elif done:
        session.execute(
            update(SyncOperation),
            [
                {
                    "id": item.op.id,
                    "sync_status": answers[item.op.id].status,
                    "completed_at": now,
                    "detail": answers[item.op.id].reason,
                }
                for item in done
            ],
        )

    results = []
    for index, op in enumerate(operations):
        answer = answers[op.id]
        if first[op.id] != index:  # the same id again in this batch
            previous = answer.previous_status if answer.status == "duplicate" else answer.status
            answer = Result(op.id, "duplicate", answer.reason, previous)
        results.append(answer)
    return results


def _take_place(
    session: Session, user_id: uuid.UUID, order: BatchOrder, now: datetime, postgres: bool
) -> None:
    """Return holding the feed's lock (PostgreSQL) once this request may apply: the request it
    follows (if any) has committed. Its row is then replaced by this request's own (if named).
    Usually the request followed holds the lock and this waits on it; when this one got there
    first, it lets go of the lock (a rollback: nothing is written yet) and looks again a little
    later, until ``order.wait`` has passed."""
    deadline = time.monotonic() + order.wait
    pause = 0.001
    while True:
        if postgres:
            changes.lock_feed(session)
        if _chain(session, user_id, order, now, postgres):
            return
        session.rollback()
        left = deadline - time.monotonic()
        if left <= 0:
            assert order.after_batch_id is not None
            raise PreviousBatchMissing(order.after_batch_id, order.wait)
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.05)


BATCH_KEPT = timedelta(days=1)

# PostgreSQL: the check and the bookkeeping of a request in a chain in one round trip, under
# the feed's lock: the row of the request followed is deleted (found: it committed), this
# request's row is stored when it may apply, and the user's rows older than BATCH_KEPT go.
_CHAIN_SQL = text(
    """
    WITH followed AS (
        DELETE FROM sync_batches WHERE user_id = :user_id AND id = :after RETURNING id
    ), stale AS (
        DELETE FROM sync_batches
        WHERE user_id = :user_id AND committed_at < :cutoff AND id IS DISTINCT FROM :after
    ), mine AS (
        INSERT INTO sync_batches (id, user_id, committed_at)
        SELECT :batch_id, :user_id, :now
        WHERE :batch_id IS NOT NULL AND (:after IS NULL OR EXISTS (SELECT FROM followed))
        ON CONFLICT (id) DO NOTHING
    )
    SELECT :after IS NULL OR EXISTS (SELECT FROM followed)
    """
).bindparams(
    bindparam("user_id", type_=postgresql.UUID()),
    bindparam("after", type_=postgresql.UUID()),
    bindparam("batch_id", type_=postgresql.UUID()),
)


def _chain(
    session: Session, user_id: uuid.UUID, order: BatchOrder, now: datetime, postgres: bool
) -> bool:
    """Whether the request followed committed (True when none is named); if so, this
    request's batch id (if any) is stored in its place."""
    params = {
        "user_id": user_id,
        "after": order.after_batch_id,
        "batch_id": order.batch_id,
        "cutoff": now - BATCH_KEPT,
        "now": now,
    }
    if postgres:
        return bool(session.execute(_CHAIN_SQL, params).scalar())
    table = SyncBatch.__table__
    if order.after_batch_id is not None:
        followed = session.execute(
            delete(table).where(table.c.user_id == user_id, table.c.id == order.after_batch_id)
        )
        if followed.rowcount == 0:
            return False
    session.execute(
        delete(table).where(table.c.user_id == user_id, table.c.committed_at < params["cutoff"])
    )
    if order.batch_id is not None:
        session.execute(
            sqlite.insert(table)
            .values(id=order.batch_id, user_id=user_id, committed_at=now)
            .on_conflict_do_nothing(index_elements=["id"])
        )
    return True


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _insert(session: Session):  # type: ignore[no-untyped-def]
    return postgresql.insert if _is_postgres(session) else sqlite.insert


# --- one operation, checked on its own ------------------------------------------------------


@dataclass
class _Prepared:
    """An operation with its payload parsed; ``problem`` rejects it before anything else."""

    op: OperationLike
    problem: str | None = None
    storable: bool = True  # whether sync_operations can keep the payload as it is
    payload: Any = None  # GameServerPayload | InstallationPayload | ServerSummaryPayload
    max_players: int | None = None
    device_id: str | None = None  # of a game_server operation: the device that sent it
    claim: bool = False  # that device takes the server over (gsm server adopt)


def _prepare(op: OperationLike, now: datetime) -> _Prepared:
    item = _Prepared(op)
    problem = _payload_problem(op.data_payload)
    if problem is not None:
        item.problem, item.storable = f"invalid payload: data_payload {problem}", False
    elif op.entity_type not in ENTITY_TYPES:
        item.problem = (
            f"unknown entity_type {op.entity_type!r}: expected {' or '.join(ENTITY_TYPES)}"
        )
    elif op.operation_type not in OPERATION_TYPES:
        item.problem = (
            f"unknown operation_type {op.operation_type!r}: expected create, update or delete"
        )
    else:
        try:
            _parse_payload(item, now)
        except _Refused as refused:
            item.problem = refused.reason
    return item


class _Refused(Exception):
    def __init__(self, reason: str, status: str = "rejected") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def _parse_payload(item: _Prepared, now: datetime) -> None:
    op = item.op
    if op.entity_type == SUMMARY:
        _parse_summary(item, now)
        return
    if op.operation_type == "delete":
        if op.data_payload is not None:
            _check_payload_id(op.data_payload.get("id"), op.entity_id)
            device_id = op.data_payload.get("device_id")
            if op.entity_type == "game_server" and isinstance(device_id, str):
                item.device_id = device_id
        return
    model: type[BaseModel] = (
        GameServerPayload if op.entity_type == "game_server" else InstallationPayload
    )
    item.payload = _validate(model, op)
    _check_payload_id(item.payload.id, op.entity_id)
    if isinstance(item.payload, GameServerPayload):
        max_players = (item.payload.configuration or {}).get("max_players")
        if max_players is not None and (
            type(max_players) is not int or not 0 <= max_players <= INT32_MAX
        ):
            raise _Refused(
                "invalid payload: configuration.max_players must be a whole number "
                f"from 0 to {INT32_MAX}"
            )
        item.max_players = max_players
        item.device_id, item.claim = item.payload.device_id, item.payload.claim


def _parse_summary(item: _Prepared, now: datetime) -> None:
    op = item.op
    if op.operation_type != "update":
        raise _Refused(f"a {SUMMARY} is sent as an update, not a {op.operation_type}")
    if len(json.dumps(op.data_payload)) > MAX_SUMMARY_BYTES:
        raise _Refused(f"invalid payload: a {SUMMARY} is larger than {MAX_SUMMARY_BYTES} bytes")
    payload = _validate(ServerSummaryPayload, op)
    if payload.recorded_at > now + SUMMARY_CLOCK_SLACK:
        raise _Refused(
            "invalid payload: recorded_at is in the future (is this machine's clock right?)"
        )
    item.payload = payload
    item.device_id = payload.device_id


def _validate(model: type[M], op: OperationLike) -> M:
    if op.data_payload is None:
        raise _Refused(f"invalid payload: a {op.operation_type} needs the row in data_payload")
    try:
        return model.model_validate(op.data_payload)
    except ValidationError as exc:
        parts = []
        for error in exc.errors(include_url=False, include_input=False)[:5]:
            where = ".".join(str(part) for part in error["loc"]) or "data_payload"
            parts.append(f"{where}: {error['msg']}")
        raise _Refused("invalid payload: " + "; ".join(parts)) from None


def _check_payload_id(value: Any, entity_id: uuid.UUID) -> None:
    if value is None:
        return
    if type(value) is str and isinstance(entity_id, uuid.UUID):
        # What uuid.UUID(value) reads, without building the UUID or str(entity_id) (both
        # Python code): any spelling it would not read this way goes the long way below.
        digits = value.replace("-", "")
        try:
            if len(digits) == 32 and int(digits, 16) == entity_id.int:
                return
        except ValueError:
            pass
    if value == str(entity_id):  # the id as the client writes it
        return
    try:
        same = uuid.UUID(str(value)) == entity_id
    except ValueError:
        same = False
    if not same:
        raise _Refused("invalid payload: id does not match entity_id")


def _payload_problem(payload: Any) -> str | None:
    """Why the database could not hold this payload as JSON, or None."""
    if payload is None:
        return None
    if _plainly_storable(payload):
        return None
    size = 0

    def walk(item: Any, depth: int) -> str | None:
        nonlocal size
        if depth > MAX_JSON_DEPTH:
            return "is nested too deeply"
        if isinstance(item, str):
            size += len(item)
            return _text_problem(item)
        if isinstance(item, dict):
            for key, child in item.items():
                size += len(key)
                problem = _text_problem(key) or walk(child, depth + 1)
                if problem:
                    return problem
        elif isinstance(item, list):
            for child in item:
                problem = walk(child, depth + 1)
                if problem:
                    return problem
        elif isinstance(item, bool) or item is None:
            return None
        elif isinstance(item, int):
            return "holds a number too large" if abs(item) > 2**63 - 1 else None
        elif isinstance(item, float):
            return "holds NaN or Infinity" if item != item or item in (_INF, -_INF) else None
        return None

    problem = walk(payload, 0)
    if problem is None and size > MAX_JSON_BYTES:
        problem = f"is larger than {MAX_JSON_BYTES} bytes"
    return problem


_INF = float("inf")
_LONG_NUMBER = re.compile(r"\d{19}")  # 2**63 has 19 digits: anything shorter fits


def _plainly_storable(payload: Any) -> bool:
    """A quick test that passes nearly every payload: True only when the full walk would find
    no problem (no NaN, valid Unicode, no NUL, no long number, shallow, small enough)."""
    try:
        # orjson refuses lone surrogates, keys that are not text and (strict) any integer
        # beyond 2**53: all of that is rare, and goes the way of _plainly_storable_json.
        dumped = orjson.dumps(payload, option=orjson.OPT_STRICT_INTEGER)
    except orjson.JSONEncodeError:
        return _plainly_storable_json(payload)
    if (
        # a NUL, or (harmlessly) an escaped backslash before "u0000"; most payloads have no
        # backslash at all, and one byte is found far faster than six
        (b"\\" in dumped and b"\\u0000" in dumped)
        or len(dumped) > MAX_JSON_BYTES  # bytes: never fewer than the walk's characters
        or dumped.count(b"{") + dumped.count(b"[") > MAX_JSON_DEPTH
    ):
        return False
    # orjson writes NaN and Infinity as null: a payload with a null is only plain when it
    # reads back as itself (NaN != None; a time or a UUID reads back as text: the slow way).
    return (
        b"null" not in dumped or orjson.loads(dumped) == payload or _plainly_storable_json(payload)
    )


def _plainly_storable_json(payload: Any) -> bool:
    """_plainly_storable with the standard library's encoder: for what orjson refuses or
    writes otherwise (tuples, times, ...), the answer as it always was."""
    try:
        dumped = json.dumps(payload, allow_nan=False, ensure_ascii=False)
        dumped.encode("utf-8")
    except (ValueError, TypeError):  # UnicodeEncodeError is a ValueError
        return False
    return (
        "\\u0000" not in dumped
        and len(dumped) <= MAX_JSON_BYTES
        and dumped.count("{") + dumped.count("[") <= MAX_JSON_DEPTH
        and _LONG_NUMBER.search(dumped) is None
    )


def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains text that is not valid Unicode"
    return None


def _clean_detail(reason: str | None) -> str | None:
    if reason is None:
        return None
    reason = reason.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return reason if len(reason) <= MAX_DETAIL else reason[: MAX_DETAIL - 3] + "..."


# --- claiming ids ---------------------------------------------------------------------------


def _operation_rows(
    user_id: uuid.UUID, items: Sequence[_Prepared], now: datetime
) -> list[dict[str, Any]]:
    """sync_operations rows of these operations, pending, in one lock order for all."""
    return [
        {
            "id": item.op.id,
            "operation_type": item.op.operation_type,
            "entity_type": item.op.entity_type,
            "entity_id": item.op.entity_id,
            "user_id": user_id,
            # A payload the database cannot hold (NUL characters, ...) is kept as NULL.
            "data_payload": item.op.data_payload
            if item.storable and item.op.data_payload is not None
            else None,
            "sync_status": "pending",
            "created_at": item.op.created_at or now,  # naive UTC (the schema sees to it)
        }
        for item in sorted(items, key=lambda item: item.op.id.int)  # the order of uuid
    ]


def _claim(
    session: Session, user_id: uuid.UUID, items: Sequence[_Prepared], now: datetime
) -> set[uuid.UUID]:
    """Insert a pending sync_operations row per new id; the ids inserted by this call. (SQLite:
    a claim before anything else keeps a concurrent push of the same id out.)"""
    rows = [
        row | {"data_payload": null() if row["data_payload"] is None else row["data_payload"]}
        for row in _operation_rows(user_id, items, now)
    ]
    claimed: set[uuid.UUID] = set()
    for start in range(0, len(rows), CHUNK):
        statement = (
            _insert(session)(SyncOperation)
            .values(rows[start : start + CHUNK])
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(SyncOperation.id)
        )
        claimed.update(session.scalars(statement))
    return claimed


@dataclass(frozen=True)
class _Seen:
    user_id: uuid.UUID | None
    status: str | None
    detail: str | None


def _earlier(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, _Seen]:
    query = select(
        SyncOperation.id, SyncOperation.user_id, SyncOperation.sync_status, SyncOperation.detail
    )
    return {
        row["id"]: _Seen(row["user_id"], row["sync_status"], row["detail"])
        for row in _select_in(session, query, SyncOperation.id, set(ids))
    }


def _store_answers(
    session: Session,
    user_id: uuid.UUID,
    items: list[_Prepared],
    answers: dict[uuid.UUID, Result],
    now: datetime,
) -> None:
    """PostgreSQL: one INSERT of the batch's sync_operations rows, each with its answer."""
    if not items:
        return
    rows = [
        row
        | {"sync_status": answers[row["id"]].status, "completed_at": now}
        | {"detail": answers[row["id"]].reason}
        for row in _operation_rows(user_id, items, now)
    ]
    stored = _insert_rows(session, SyncOperation.__table__, rows, on_conflict="DO NOTHING")
    if stored != len(rows):  # only if a push stored an id without the feed's lock
        raise RuntimeError("an operation id of this push was stored by another push meanwhile")


def _answer_seen(op_id: uuid.UUID, user_id: uuid.UUID, seen: _Seen | None) -> Result:
    if seen is None:  # sync_operations rows are never deleted; this cannot happen
        raise RuntimeError(f"operation {op_id} was neither claimed nor found")
    if seen.user_id != user_id:
        return Result(op_id, "rejected", "this operation id was already used by another account")
    return Result(op_id, "duplicate", seen.detail, seen.status)


# --- applying -------------------------------------------------------------------------------


def _apply_batch(
    session: Session, user_id: uuid.UUID, items: list[_Prepared], now: datetime
) -> dict[uuid.UUID, Outcome]:
    """Decide every operation against the batch's view of the rows, then write the net effect
    at once; when the database refuses that, apply the operations one at a time."""
    if not items:
        return {}
    state = _State.load(session, user_id, items, now)
    outcomes = {item.op.id: state.apply(item) for item in items}
    try:
        with session.begin_nested():
            state.write()
        return outcomes
    except (IntegrityError, DataError):
        pass  # something the checks did not foresee: find the operation it belongs to
    return _apply_one_by_one(session, user_id, items, now)


def _apply_one_by_one(
    session: Session, user_id: uuid.UUID, items: list[_Prepared], now: datetime
) -> dict[uuid.UUID, Outcome]:
    state = _State.load(session, user_id, items, now)
    outcomes: dict[uuid.UUID, Outcome] = {}
    for item in items:
        outcome = state.apply(item)
        if state.dirty:
            try:
                with session.begin_nested():
                    state.write()
            except (IntegrityError, DataError) as exc:
                outcome = _refused_by_database(exc)
                state = _State.load(session, user_id, items, now)
        outcomes[item.op.id] = outcome
    return outcomes


def _refused_by_database(exc: IntegrityError | DataError) -> Outcome:
    orig = exc.orig
    message = (str(orig).strip().splitlines() or ["unknown error"])[0][:300]
    sqlstate = getattr(orig, "sqlstate", None)
    unique = sqlstate == "23505" if sqlstate else "UNIQUE constraint failed" in str(orig)
    if unique:
        return "conflict", f"clashes with a row already in the cloud: {message}"
    return "rejected", f"the database refused it: {message}"


@dataclass
class _State:
    """The rows a batch can touch, as the operations decided so far leave them, and what is
    still to be written. Rows are dicts of column values; a missing key means no such row."""

    session: Session
    user_id: uuid.UUID
    now: datetime
    servers: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    installations: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    by_server: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)
    plugins: set[uuid.UUID] = field(default_factory=set)
    communities: set[uuid.UUID] = field(default_factory=set)  # those the pusher is a member of
    # What the database holds (as of the last write), and what changed since.
    stored_servers: set[uuid.UUID] = field(default_factory=set)
    stored_installations: set[uuid.UUID] = field(default_factory=set)
    touched_servers: dict[uuid.UUID, None] = field(default_factory=dict)
    touched_installations: dict[uuid.UUID, None] = field(default_factory=dict)
    fresh_servers: set[uuid.UUID] = field(default_factory=set)
    summaries: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)  # by server id
    feed: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(
        cls, session: Session, user_id: uuid.UUID, items: list[_Prepared], now: datetime
    ) -> "_State":
        state = cls(session, user_id, now)
        server_ids: set[uuid.UUID] = set()
        installation_ids: set[uuid.UUID] = set()
        plugin_ids: set[uuid.UUID] = set()
        community_ids: set[uuid.UUID] = set()
        for item in items:
            if item.op.entity_type in ("game_server", SUMMARY):
                server_ids.add(item.op.entity_id)
                if isinstance(item.payload, GameServerPayload) and item.payload.community_id:
                    community_ids.add(item.payload.community_id)
            elif item.op.entity_type == "plugin_installation":
                installation_ids.add(item.op.entity_id)
                if isinstance(item.payload, InstallationPayload):
                    if item.payload.server_id is not None:
                        server_ids.add(item.payload.server_id)
                    if item.payload.plugin_id is not None:
                        plugin_ids.add(item.payload.plugin_id)
        installation = PluginInstallation.__table__
        for row in _select_in(session, select(installation), installation.c.id, installation_ids):
            state._add_installation(dict(row))
            if row["server_id"] is not None:
                server_ids.add(row["server_id"])
        columns = (
            GameServer.id,
            GameServer.owner_id,
            GameServer.created_at,
            GameServer.configuration,
            GameServer.performance_metrics,
            GameServer.community_id,
        )
        for row in _select_in(session, select(*columns), GameServer.id, server_ids):
            state.servers[row["id"]] = dict(row)
        on_servers = _select_in(
            session, select(installation), installation.c.server_id, set(state.servers)
        )
        for row in on_servers:
            state._add_installation(dict(row))
        found = _select_in(session, select(Plugin.id), Plugin.id, plugin_ids)
        state.plugins = {row["id"] for row in found}
        mine = select(CommunityMember.community_id).where(CommunityMember.user_id == user_id)
        found = _select_in(session, mine, CommunityMember.community_id, community_ids)
        state.communities = {row["community_id"] for row in found}
        state.stored_servers = set(state.servers)
        state.stored_installations = set(state.installations)
        return state

    def _add_installation(self, row: dict[str, Any]) -> None:
        self.installations[row["id"]] = row
        if row["server_id"] is not None:
            self.by_server.setdefault(row["server_id"], set()).add(row["id"])

    @property
    def dirty(self) -> bool:
        return bool(
            self.touched_servers or self.touched_installations or self.summaries or self.feed
        )

    def _record(self, entity_type: str, entity_id: uuid.UUID, operation: str) -> None:
        self.feed.append(
            {
                "audience_user_id": self.user_id,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "operation": operation,
            }
        )

    # --- deciding ---------------------------------------------------------------------------

    def apply(self, item: _Prepared) -> Outcome:
        """Decide one operation; when applied, change the rows here (written later)."""
        if item.problem is not None:
            return "rejected", item.problem
        try:
            if item.op.entity_type == "game_server":
                note = self._game_server(item)
            elif item.op.entity_type == SUMMARY:
                note = self._server_summary(item)
            else:
                note = self._plugin_installation(item)
        except _Refused as refused:
            return refused.status, refused.reason
        return "applied", note

    def _game_server(self, item: _Prepared) -> str | None:
        op = item.op
        server = self.servers.get(op.entity_id)
        if server is not None and server["owner_id"] != self.user_id:
            raise _Refused(NOT_YOURS)
        if server is not None:
            _check_device(server, item)
        if op.operation_type == "delete":
            if server is None:
                return "already deleted"
            self._delete_server(op.entity_id)
            return None
        if server is None and op.operation_type == "update":
            raise _Refused(DELETED_IN_CLOUD, "conflict")
        payload: GameServerPayload = item.payload
        configuration = dict(payload.configuration or {})
        configuration["port"] = payload.port
        configuration["install_path"] = payload.install_path
        if payload.device_id is not None:
            configuration["device_id"] = payload.device_id
            configuration["device_name"] = payload.device_name
        else:  # a payload that does not say its device keeps the one the cloud knows
            for key in DEVICE_KEYS:
                configuration.pop(key, None)
                if server is not None and key in (server.get("configuration") or {}):
                    configuration[key] = server["configuration"][key]
        community_id = server.get("community_id") if server is not None else None
        if "community_id" in payload.model_fields_set and payload.community_id != community_id:
            # Attaching needs membership; a server stays attached when its owner leaves.
            if payload.community_id is not None and payload.community_id not in self.communities:
                raise _Refused(f"not a member of community {payload.community_id}")
            community_id = payload.community_id
        max_players = DEFAULT_MAX_PLAYERS if item.max_players is None else item.max_players
        entity_id = op.entity_id
        if server is None:  # the row in one go, its keys in the order an update leaves them
            self.servers[entity_id] = {
                "id": entity_id,
                "owner_id": self.user_id,
                "created_at": payload.created_at or self.now,
                "name": payload.name,
                "game_type": payload.game_type,
                "status": payload.status,
                "configuration": configuration,
                "max_players": max_players,
                "last_backup": payload.last_backup,
                "updated_at": self.now,
                "community_id": community_id,
            }
            self.fresh_servers.add(entity_id)
        else:
            server.update(
                name=payload.name,
                game_type=payload.game_type,
                status=payload.status,
                configuration=configuration,
                max_players=max_players,
                last_backup=payload.last_backup,
                updated_at=self.now,
                community_id=community_id,
            )
        self.touched_servers[entity_id] = None
        self._record("game_server", entity_id, "upsert")
        return None

    def _server_summary(self, item: _Prepared) -> str | None:
        """The latest summary into the server's performance_metrics, player_count and
        uptime_seconds only: its own fields and updated_at are left alone, so a summary never
        stands in the way of a real change of the server."""
        op = item.op
        server = self.servers.get(op.entity_id)
        if server is None:
            raise _Refused(f"server {op.entity_id} is not in the cloud: push it first")
        if server["owner_id"] != self.user_id:
            raise _Refused(NOT_YOURS)
        _check_device(server, item)
        payload: ServerSummaryPayload = item.payload
        newest = _summary_time(server.get("performance_metrics"))
        if newest is not None and payload.recorded_at <= newest:
            return "older than the summary the cloud has: not applied"
        metrics = (payload.performance_metrics or SummaryMetrics()).model_dump()
        metrics = {"recorded_at": payload.recorded_at.isoformat() + "Z"} | metrics
        server["performance_metrics"] = metrics
        self.summaries[op.entity_id] = {
            "id": op.entity_id,
            "performance_metrics": metrics,
            "player_count": payload.player_count,
            "uptime_seconds": payload.uptime_seconds,
        }
        self._record("game_server", op.entity_id, "upsert")
        return None

    def _delete_server(self, server_id: uuid.UUID) -> None:
        self.summaries.pop(server_id, None)
        for installation_id in sorted(self.by_server.pop(server_id, set())):
            self._delete_installation(installation_id)
        del self.servers[server_id]
        self.fresh_servers.discard(server_id)
        self.touched_servers[server_id] = None
        self._record("game_server", server_id, "delete")

    def _owns_installation(self, row: dict[str, Any]) -> bool:
        server = self.servers.get(row["server_id"]) if row["server_id"] is not None else None
        return server is not None and server["owner_id"] == self.user_id

    def _plugin_installation(self, item: _Prepared) -> str | None:
        op = item.op
        row = self.installations.get(op.entity_id)
        if row is not None and not self._owns_installation(row):
            raise _Refused(NOT_YOURS)
        if op.operation_type == "delete":
            if row is None:
                return "already deleted"
            self._delete_installation(op.entity_id)
            return None
        if row is None and op.operation_type == "update":
            raise _Refused(DELETED_IN_CLOUD, "conflict")
        payload: InstallationPayload = item.payload
        if payload.server_id is None:
            raise _Refused("invalid payload: server_id is missing")
        server = self.servers.get(payload.server_id)
        if server is None:
            raise _Refused(f"server {payload.server_id} is not in the cloud: push it first")
        if server["owner_id"] != self.user_id:
            raise _Refused(f"server {payload.server_id} is {NOT_YOURS}")
        if payload.plugin_id is None:
            raise _Refused(
                "installed by hand (plugin_id is null): only marketplace plugins are synced"
            )
        if payload.plugin_id not in self.plugins:
            raise _Refused(f"unknown plugin {payload.plugin_id}")
        for other in self.by_server.get(payload.server_id, set()):
            if other != op.entity_id and self.installations[other]["plugin_id"] == (
                payload.plugin_id
            ):
                raise _Refused(
                    f"the server already has this plugin, as installation {other}", "conflict"
                )
        if row is None:
            row = {"id": op.entity_id, "installed_at": payload.installed_at or self.now}
        else:
            self.by_server.get(row["server_id"], set()).discard(op.entity_id)
            if payload.installed_at is not None:
                row["installed_at"] = payload.installed_at
        row.update(
            server_id=payload.server_id,
            plugin_id=payload.plugin_id,
            installed_version=payload.version,
            configuration=payload.configuration,
        )
        self._add_installation(row)
        self.touched_installations[op.entity_id] = None
        self._record("plugin_installation", op.entity_id, "upsert")
        return None

    def _delete_installation(self, installation_id: uuid.UUID) -> None:
        row = self.installations.pop(installation_id)
        if row["server_id"] is not None:
            self.by_server.get(row["server_id"], set()).discard(installation_id)
        self.touched_installations[installation_id] = None
        self._record("plugin_installation", installation_id, "delete")

    # --- writing ----------------------------------------------------------------------------

    def write(self) -> None:
        """Write what changed since the last write, in an order every foreign key accepts:
        servers in, installations out, installations in, servers out, then the feed."""
        session = self.session
        kept: list[uuid.UUID] = []
        fresh: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        servers_gone: list[uuid.UUID] = []
        # One pass over the touched servers: a UUID's hash is Python code, so each id is
        # looked up as few times as it can be.
        for i in self.touched_servers:
            server = self.servers.get(i)
            if server is not None:
                kept.append(i)
                (fresh if i in self.fresh_servers else changed).append(server)
            elif i in self.stored_servers:
                servers_gone.append(i)
        _upsert(session, GameServer.__table__, fresh, SERVER_COLUMNS, reset=SERVER_RESET)
        _upsert(session, GameServer.__table__, changed, SERVER_COLUMNS, SERVER_UPDATED)
        gone = [
            i
            for i in self.touched_installations
            if i not in self.installations and i in self.stored_installations
        ]
        _delete_in(session, PluginInstallation.__table__, gone)
        installations = [
            self.installations[i] for i in self.touched_installations if i in self.installations
        ]
        _upsert(session, PluginInstallation.__table__, installations, INSTALLATION_COLUMNS)
        _write_summaries(session, [row for i, row in self.summaries.items() if i in self.servers])
        _delete_in(session, GameServer.__table__, servers_gone)
        if self.feed and _is_postgres(session):  # the push holds the feed's lock already
            _insert_rows(session, Change.__table__, self.feed)
        elif self.feed:
            changes.record_many(session, self.feed)

        self.stored_servers = (self.stored_servers - set(servers_gone)) | set(kept)
        self.stored_installations = (self.stored_installations - set(gone)) | {
            row["id"] for row in installations
        }
        self.touched_servers, self.touched_installations = {}, {}
        self.fresh_servers, self.feed = set(), []
        self.summaries = {}


def _check_device(server: dict[str, Any], item: _Prepared) -> None:
    """Only the device a server belongs to changes it: a change from another device is a
    ``conflict`` (that device has not pulled the adoption yet), unless it claims the server."""
    configuration = server.get("configuration")
    owner = configuration.get("device_id") if isinstance(configuration, dict) else None
    if not isinstance(owner, str) or item.device_id is None or item.device_id == owner:
        return
    if item.claim and item.op.operation_type != "delete":
        return
    name = configuration.get("device_name") or owner  # type: ignore[union-attr]
    raise _Refused(
        f"the server belongs to device {name} ({owner}) now: it was adopted there; "
        "pull, then settle it with gsm sync resolve",
        "conflict",
    )


def _summary_time(metrics: Any) -> datetime | None:
    """recorded_at of the summary a row holds (naive UTC), or None when it has none."""
    value = metrics.get("recorded_at") if isinstance(metrics, dict) else None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _write_summaries(session: Session, rows: list[dict[str, Any]]) -> None:
    """UPDATE the three summary columns of each server, nothing else."""
    if not rows:
        return
    table = GameServer.__table__
    if _is_postgres(session):
        recordset = _recordset(
            table, ("id", "performance_metrics", "player_count", "uptime_seconds")
        )
        session.execute(
            text(
                f"UPDATE {table.name} AS t SET performance_metrics = r.performance_metrics, "
                "player_count = r.player_count, uptime_seconds = r.uptime_seconds "
                f"FROM {recordset} WHERE t.id = r.id"
            ),
            {"rows": _rows_json(rows)},
        )
        return
    statement = (
        update(table)
        .where(table.c.id == bindparam("s_id", type_=table.c.id.type))
        .values(
            performance_metrics=bindparam("s_metrics", type_=_JSON_OR_NULL),
            player_count=bindparam("s_players", type_=table.c.player_count.type),
            uptime_seconds=bindparam("s_uptime", type_=table.c.uptime_seconds.type),
        )
    )
    session.execute(
        statement,
        [
            {
                "s_id": row["id"],
                "s_metrics": row["performance_metrics"],
                "s_players": row["player_count"],
                "s_uptime": row["uptime_seconds"],
            }
            for row in rows
        ],
    )


def _select_in(session: Session, query, column, ids: set[uuid.UUID]) -> list[Any]:  # type: ignore[no-untyped-def]
    if not ids:
        return []
    if _is_postgres(session):  # one statement with one array parameter, whatever the size
        return list(session.execute(query.where(column == any_(_uuid_array(ids)))).mappings())
    rows: list[Any] = []
    wanted = sorted(ids)
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        rows.extend(session.execute(query.where(column.in_(chunk))).mappings())
    return rows


def _delete_in(session: Session, table: Any, ids: list[uuid.UUID]) -> None:
    if not ids:
        return
    if _is_postgres(session):
        session.execute(delete(table).where(table.c.id == any_(_uuid_array(ids))))
        return
    for start in range(0, len(ids), CHUNK):
        session.execute(delete(table).where(table.c.id.in_(ids[start : start + CHUNK])))


def _upsert(
    session: Session,
    table: Any,
    rows: list[dict[str, Any]],
    columns: tuple[str, ...],
    updated: tuple[str, ...] | None = None,
    reset: dict[str, Any] | None = None,
) -> None:
    """INSERT ... ON CONFLICT (id) DO UPDATE for many rows. ``updated``: the columns an
    existing row takes (default: all but id); ``reset``: constants written into both."""
    if not rows:
        return
    if _is_postgres(session):
        _upsert_set_based(session, table, rows, columns, updated, reset)
        return
    values: dict[str, Any] = {
        column: bindparam(
            f"p_{column}",
            type_=_JSON_OR_NULL if isinstance(table.c[column].type, JSON) else table.c[column].type,
        )
        for column in columns
    }
    values.update(reset or {})
    statement = _insert(session)(table).values(values)
    if updated is None:
        updated = tuple(column for column in columns if column != "id")
        if reset is not None:
            updated += tuple(reset)
            # a re-created row also loses what only the cloud wrote into it (and its community,
            # unless the payload names one: it is among the columns)
            statement = statement.values(performance_metrics=null())
            updated += ("performance_metrics",)
    statement = statement.on_conflict_do_update(
        index_elements=["id"], set_={column: statement.excluded[column] for column in updated}
    )
    params = [{f"p_{column}": row[column] for column in columns} for row in rows]
    session.execute(statement, params)


# --- set-based statements (PostgreSQL): a whole batch as one JSON parameter -----------------


def _json_default(value: Any) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()  # naive UTC, as the timestamp columns hold it
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def _rows_json(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as one JSON array. orjson writes UUIDs and (naive) times as _json_default
    does; what it refuses (text that is not valid Unicode, huge integers) goes the slow way,
    for the database to refuse."""
    try:
        return orjson.dumps(rows).decode()
    except orjson.JSONEncodeError:
        return json.dumps(rows, default=_json_default, separators=(",", ":"))


def _uuid_array(ids: Any) -> Any:
    """The ids as one uuid[] parameter, written as the text of an array literal: psycopg
    sends it untyped and the database reads it as uuid[] (the cast types the parameter
    itself), which costs far less than psycopg writing an array of UUID objects."""
    literal = "{" + ",".join(map(str, sorted(ids, key=_UUID_ORDER))) + "}"
    return cast(bindparam("ids", literal, type_=NullType()), postgresql.ARRAY(postgresql.UUID()))


_UUID_ORDER = attrgetter("int")  # uuid's own order, compared in C


@functools.cache
def _recordset(table: Any, columns: tuple[str, ...]) -> str:
    """``jsonb_to_recordset(:rows) AS r(...)``: the rows of a JSON array, typed as the columns
    of ``table`` (so a value the column refuses is refused here, as a DataError)."""
    dialect = postgresql.dialect()
    typed = ", ".join(f"{c} {table.c[c].type.compile(dialect=dialect)}" for c in columns)
    return f"jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({typed})"


def _insert_rows(
    session: Session,
    table: Any,
    rows: list[dict[str, Any]],
    *,
    constants: dict[str, str] | None = None,
    on_conflict: str | None = None,
) -> int:
    """One INSERT ... SELECT of every row (in list order: a function scan keeps it, so a
    sequence numbers the rows in that order); how many rows it wrote. ``constants``: SQL
    expressions for further columns; ``on_conflict``: what to do on an id already there."""
    columns = tuple(rows[0])
    constants = constants or {}
    names = ", ".join(columns + tuple(constants))
    values = ", ".join(tuple(f"r.{c}" for c in columns) + tuple(constants.values()))
    sql = f"INSERT INTO {table.name} ({names}) SELECT {values} FROM {_recordset(table, columns)}"
    if on_conflict is not None:
        sql += f" ON CONFLICT (id) {on_conflict}"
    result: Any = session.execute(text(sql), {"rows": _rows_json(rows)})
    return int(result.rowcount)


def _upsert_set_based(
    session: Session,
    table: Any,
    rows: list[dict[str, Any]],
    columns: tuple[str, ...],
    updated: tuple[str, ...] | None,
    reset: dict[str, Any] | None,
) -> None:
    """_upsert as one statement; the same columns, defaults and resets."""
    constants = {column: str(int(value)) for column, value in (reset or {}).items()}
    if updated is None:
        updated = tuple(column for column in columns if column != "id")
        if reset is not None:
            constants["performance_metrics"] = "NULL"
            updated += tuple(constants)
    set_clause = ", ".join(f"{column} = excluded.{column}" for column in updated)
    _insert_rows(
        session,
        table,
        [{column: row[column] for column in columns} for row in rows],
        constants=constants,
        on_conflict=f"DO UPDATE SET {set_clause}",
    )


# --- pull -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    community_id: uuid.UUID
    community_name: str
    role: str | None
    joined_at: datetime | None


@dataclass(frozen=True)
class Pulled:
    seq: int
    entity_type: str
    entity_id: uuid.UUID
    operation: str  # upsert | delete
    entity: GameServer | PluginInstallation | Membership | Plugin | None


@dataclass(frozen=True)
class PullPage:
    changes: list[Pulled]
    next_cursor: int
    has_more: bool


def pull(session: Session, user_id: uuid.UUID, *, cursor: int, limit: int) -> PullPage:
    """The changes after ``cursor`` that the user may see, each with its entity's current
    state; several changes of one entity in the page collapse into the latest."""
    rows = session.scalars(
        select(Change)
        .where(
            Change.seq > cursor,
            or_(Change.audience_user_id == user_id, Change.audience_user_id.is_(None)),
        )
        .order_by(Change.seq)
        .limit(limit + 1)
    ).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = rows[-1].seq if rows else cursor
    latest: dict[tuple[str, uuid.UUID], Change] = {}
    for row in rows:
        latest.pop((row.entity_type, row.entity_id), None)
        latest[(row.entity_type, row.entity_id)] = row  # re-inserted: dict order = seq order
    ids: dict[str, list[uuid.UUID]] = {}
    for entity_type, entity_id in latest:
        ids.setdefault(entity_type, []).append(entity_id)
    states: dict[tuple[str, uuid.UUID], Any] = {}
    for entity_type, entity_ids in ids.items():
        loader = _LOADERS.get(entity_type)
        if loader is not None:
            for entity_id, state in loader(session, user_id, entity_ids).items():
                states[(entity_type, entity_id)] = state
    pulled = []
    for key, row in latest.items():
        state = states.get(key)
        pulled.append(
            Pulled(
                seq=row.seq,
                entity_type=row.entity_type,
                entity_id=row.entity_id,
                operation="delete" if state is None else "upsert",
                entity=state,
            )
        )
    return PullPage(pulled, next_cursor, has_more)


def _load_servers(
    session: Session, user_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, GameServer]:
    found = session.scalars(
        select(GameServer).where(GameServer.id.in_(ids), GameServer.owner_id == user_id)
    )
    return {server.id: server for server in found}


def _load_installations(
    session: Session, user_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, PluginInstallation]:
    found = session.scalars(
        select(PluginInstallation)
        .join(GameServer, GameServer.id == PluginInstallation.server_id)
        .where(PluginInstallation.id.in_(ids), GameServer.owner_id == user_id)
    )
    return {row.id: row for row in found}


def _load_memberships(
    session: Session, user_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Membership]:
    """Keyed by community id (what the feed names); a membership row's own id also works."""
    found = session.execute(
        select(CommunityMember, Community.name)
        .join(Community, Community.id == CommunityMember.community_id)
        .where(
            CommunityMember.user_id == user_id,
            or_(CommunityMember.community_id.in_(ids), CommunityMember.id.in_(ids)),
        )
    )
    wanted = set(ids)
    states: dict[uuid.UUID, Membership] = {}
    for member, name in found:
        assert member.community_id is not None  # joined on it
        state = Membership(member.community_id, name, member.role, member.joined_at)
        for key in (member.community_id, member.id):
            if key in wanted:
                states[key] = state
    return states


def _load_plugins(
    session: Session, _user_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Plugin]:
    return {
        plugin.id: plugin for plugin in session.scalars(select(Plugin).where(Plugin.id.in_(ids)))
    }


_LOADERS: dict[str, Callable[[Session, uuid.UUID, list[uuid.UUID]], dict[uuid.UUID, Any]]] = {
    "game_server": _load_servers,
    "plugin_installation": _load_installations,
    "community_membership": _load_memberships,
    "plugin": _load_plugins,
}
