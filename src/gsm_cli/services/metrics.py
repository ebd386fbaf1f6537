"""Reading and pruning the servers' performance history (the store's ``performance_history``).

Every query is SQL run by SQLite over the seed's indexes (``server_id`` and ``recorded_at``):
nothing loads the history into Python. ``recorded_at`` is the store's ``datetime('now')`` text,
``YYYY-MM-DD HH:MM:SS`` in UTC, so comparing it as text compares times.

Percentile method: p95 is the nearest-rank 95th percentile of a column's non-NULL values in the
range: sort the N values ascending and take the one at rank ceil(0.95 * N) (1-based). It is
always one of the recorded values (no interpolation); for N = 1 it is that value.

NULLs: a sample may miss a value (a server with no query protocol has no latency or player
count). Each column's statistics ignore its NULLs; a column with no value in the range has
``null`` statistics, while ``samples`` counts every sample of the range.

This module never prints and never exits: it returns values or raises GsmErrors.
"""

import csv
import io
import json
import math
import os
import re
import sqlite3
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Connection, text
from sqlalchemy.exc import DatabaseError, OperationalError

from gsm_cli.errors import InvalidInputError
from gsm_cli.services import servers, settings
from gsm_cli.store import Store
from gsm_cli.store.database import BUSY_TIMEOUT_SECONDS, translate_db_error

COLUMNS = ("cpu_usage", "memory_usage", "network_latency", "player_count")
FIELDS = ("server", "recorded_at", *COLUMNS)
UNITS = {"cpu_usage": "%", "memory_usage": "MB", "network_latency": "ms", "player_count": "players"}
STORE_FORMAT = "%Y-%m-%d %H:%M:%S"
TIME_HINT = (
    "give a duration back from now (90s, 30m, 24h, 7d, 2w) or an ISO date or time in UTC "
    "or with an offset (2026-12-01, 2026-12-01T10:00:00Z, 2026-12-01T12:00:00+02:00)"
)
# Rows deleted per transaction by prune: each batch holds the store's write lock briefly.
PRUNE_BATCH = 5000
# Rows fetched from SQLite at a time by an export.
EXPORT_BATCH = 2000

# The hint exists from SQLite 3.35; without it an older SQLite gives the same answers, maybe
# reading the range more than once.
_MATERIALIZED = "MATERIALIZED" if sqlite3.sqlite_version_info >= (3, 35) else ""
# Lower case only: 1M could be read as a month, and is refused rather than taken as a minute.
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def now() -> datetime:
    """Now, aware, in UTC, to the second (the store's resolution)."""
    return datetime.now(UTC).replace(microsecond=0)


def _duration(value: str) -> timedelta | None:
    match = _DURATION.match(value or "")
    if not match:
        return None
    try:
        return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    except OverflowError:  # more days than datetime knows
        return None


def parse_duration(value: str, option: str = "--older-than") -> timedelta:
    """``90s``, ``30m``, ``24h``, ``7d``, ``2w`` -> a timedelta; anything else: exit 4."""
    delta = _duration(value)
    if delta is None:
        raise InvalidInputError(
            f"invalid value {value!r} for {option}: expected a duration such as 90s, 30m, "
            "24h, 7d or 2w",
            hint="a whole number of seconds, minutes, hours, days or weeks: 90s, 30m, 24h, 7d, 2w",
            code="invalid_time",
        )
    return delta


def parse_since(value: str, now: datetime, option: str = "--since") -> datetime:
    """A point in time (aware, UTC) from a duration back from ``now`` or an ISO date/time.

    A date alone is its midnight UTC; a time without an offset is UTC; an offset is converted.
    Anything else is InvalidInputError (exit 4, ``invalid_time``) with the accepted forms.
    The same parser serves ``--until``.
    """
    moment: datetime | None = None
    if _DURATION.match(value or ""):
        delta = _duration(value)
        try:
            moment = None if delta is None else now.astimezone(UTC) - delta
        except OverflowError:  # before year 1
            moment = None
    elif value:
        moment = _parse_iso(value.strip())
    if moment is None:
        raise InvalidInputError(
            f"invalid value {value!r} for {option}: expected a duration or an ISO date or time",
            hint=TIME_HINT,
            code="invalid_time",
        )
    return moment


def _parse_iso(value: str) -> datetime | None:
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


def time_range(
    since: str | None, until: str | None, at: datetime | None = None, *, default_since: str | None
) -> tuple[datetime | None, datetime | None]:
    """Parse --since and --until (``default_since`` when --since is not given); --since after
    --until is exit 4 (``invalid_time_range``)."""
    at = at or now()
    start_text = since if since is not None else default_since
    start = parse_since(start_text, at, "--since") if start_text is not None else None
    end = parse_since(until, at, "--until") if until is not None else None
    if start is not None and end is not None and start > end:
        raise InvalidInputError(
            f"--since ({iso(start)}) is after --until ({iso(end)})",
            hint="give an earlier --since or a later --until",
            code="invalid_time_range",
        )
    return start, end


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with a Z, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stored(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(STORE_FORMAT)


def _number(value: Any) -> Any:
    """SQLite's answer as JSON shows it: integers stay integers (player_count's min, p95 and
    max), other numbers are rounded to 3 decimals."""
    if value is None:
        return None
    if isinstance(value, float):
        return round(value, 3)
    return value


def _summary_query() -> str:
    aggregates = ", ".join(f"count({c}) AS n_{c}, min({c}), avg({c}), max({c})" for c in COLUMNS)
    # Rank ceil(0.95 * n) from the bottom is rank n - ceil(0.95 * n) + 1 from the top, with
    # ceil in integer arithmetic: (95 * n + 99) / 100. Counted from the top, SQLite's sorter
    # keeps only the top 5% (ORDER BY ... LIMIT keeps LIMIT + OFFSET rows): a third faster.
    p95s = ", ".join(
        f"(SELECT {c} FROM r WHERE {c} IS NOT NULL ORDER BY {c} DESC "
        f"LIMIT 1 OFFSET (SELECT n_{c} - (95 * n_{c} + 99) / 100 FROM a))"
        for c in COLUMNS
    )
    return (
        f"WITH r AS {_MATERIALIZED} (SELECT {', '.join(COLUMNS)} FROM performance_history "
        "WHERE server_id = :sid AND recorded_at BETWEEN :lo AND :hi), "
        f"a AS {_MATERIALIZED} (SELECT count(*) AS n, {aggregates} FROM r) "
        f"SELECT a.*, {p95s} FROM a"
    )


# The statement of ``summary`` (parameters :sid, :lo, :hi); benchmarks/metrics.py times it too.
SUMMARY_QUERY = _summary_query()


def summary(store: Store, server: str, since: datetime, until: datetime) -> dict[str, Any]:
    """Count, min, average, p95 (nearest rank) and max of each column over [since, until].

    Unknown server: NotFoundError (exit 3). One SQL statement (SUMMARY_QUERY): the range's
    rows are read once through the ``server_id`` index into a materialized CTE;
    count/min/avg/max are aggregates over it, and each p95 is ``ORDER BY column DESC LIMIT 1
    OFFSET count - ceil(0.95 * count)`` over it (a sort in memory of the top 5%, no second
    pass over the table).
    """
    record = servers.get(store, server)
    params = {"sid": record.id, "lo": _stored(since), "hi": _stored(until)}
    with store.engine.connect() as conn:
        row = conn.execute(text(SUMMARY_QUERY), params).one()
    result: dict[str, Any] = {
        "server": record.name,
        "since": iso(since),
        "until": iso(until),
        "samples": row[0],
    }
    for index, column in enumerate(COLUMNS):
        count, low, mean, high = row[1 + 4 * index : 5 + 4 * index]
        p95 = row[1 + 4 * len(COLUMNS) + index] if count else None
        result[column] = {
            "min": _number(low),
            "avg": _number(mean),
            "p95": _number(p95),
            "max": _number(high),
        }
    return result


@dataclass(frozen=True)
class Series:
    """A column's averages over equal time buckets (None where a bucket has no value)."""

    start: str | None
    end: str | None
    values: dict[str, list[float | None]]


def series(
    store: Store, server: str, since: datetime, until: datetime, buckets: int = 40
) -> Series:
    """The range's samples averaged into ``buckets`` equal slices of time, per column, in SQL.

    The slices span the first to the last sample in [since, until] (not the whole range), so a
    server that started an hour ago still fills the chart.
    """
    record = servers.get(store, server)
    params: dict[str, Any] = {"sid": record.id, "lo": _stored(since), "hi": _stored(until)}
    where = "server_id = :sid AND recorded_at BETWEEN :lo AND :hi"
    empty: dict[str, list[float | None]] = {c: [None] * buckets for c in COLUMNS}
    with store.engine.connect() as conn:
        epoch = "CAST(strftime('%s', recorded_at) AS INTEGER)"  # NULL when not a time
        first, last = conn.execute(
            text(f"SELECT min({epoch}), max({epoch}) FROM performance_history WHERE {where}"),
            params,
        ).one()
        if first is None:
            return Series(None, None, empty)
        start = datetime.fromtimestamp(first, UTC)
        end = datetime.fromtimestamp(last, UTC)
        span = max((end - start).total_seconds(), 1.0)
        params.update(start=int(start.timestamp()), width=span / buckets, n=buckets - 1)
        averages = ", ".join(f"avg({c})" for c in COLUMNS)
        rows = conn.execute(
            text(
                "SELECT min(CAST((CAST(strftime('%s', recorded_at) AS INTEGER) - :start) "
                f"/ :width AS INTEGER), :n) AS bucket, {averages} "
                f"FROM performance_history WHERE {where} GROUP BY bucket"
            ),
            params,
        ).all()
    for bucket, *values in rows:
        if bucket is None:  # a recorded_at SQLite cannot read as a time
            continue
        for column, value in zip(COLUMNS, values, strict=True):
            empty[column][int(bucket)] = value
    return Series(iso(start), iso(end), empty)


def export_batches(
    store: Store,
    server_names: Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
) -> "Export":
    """The samples of these servers (None: every server) in ``recorded_at`` order: iterating
    the result gives lists of at most EXPORT_BATCH tuples in FIELDS order (``recorded_at`` in
    ISO 8601 UTC, made by SQLite from the store's ``YYYY-MM-DD HH:MM:SS``), read from the
    cursor a batch at a time (``fetchmany``): constant memory for any size. ``write_rows``
    writes it faster than it could write the tuples.

    Unknown server names raise NotFoundError at once, before any row.
    """
    clauses = []
    params: dict[str, Any] = {}
    if server_names is not None:
        ids = [servers.get(store, name).id for name in server_names]
        marks = ", ".join(f":s{i}" for i in range(len(ids)))
        clauses.append(f"h.server_id IN ({marks})")
        params.update({f"s{i}": sid for i, sid in enumerate(ids)})
    if since is not None:
        clauses.append("h.recorded_at >= :lo")
        params["lo"] = _stored(since)
    if until is not None:
        clauses.append("h.recorded_at <= :hi")
        params["hi"] = _stored(until)
    return Export(store, clauses, params)


_ISO = "replace(h.recorded_at, ' ', 'T') || 'Z'"
# Rows that the fast formatting (Export.write) might write otherwise than the csv and json
# modules, none of which gsm writes itself: a time that is not SQLite's own YYYY-MM-DD
# HH:MM:SS (it could hold a comma, a quote, a control character), or a number column holding
# text or a blob (they sort after every number); for JSON also a NULL time and an infinity
# (9e999 is SQLite's), which the row by row way writes as null.
_ODD_ROW = {
    "csv": " OR ".join(
        ["datetime(h.recorded_at) IS NOT h.recorded_at", *(f"h.{c} >= ''" for c in COLUMNS)]
    ),
    "json": " OR ".join(
        [
            "coalesce(datetime(h.recorded_at) <> h.recorded_at, 1)",
            *(f"h.{c} >= 9e999 OR h.{c} <= -9e999" for c in COLUMNS),
        ]
    ),
}
# The fast formatting's columns: server_id (named in Python), then values whose str() is what
# the csv module or json.dumps writes (str() of a float is its repr, as both write it).
_FAST_COLUMNS = {
    fmt: ", ".join(["h.server_id", time_text, *(f"coalesce(h.{c}, {null})" for c in COLUMNS)])
    for fmt, time_text, null in (("csv", f"coalesce({_ISO}, '')", "''"), ("json", _ISO, "'null'"))
}
_FAST_ROW = {
    "csv": "%s,%s,%s,%s,%s,%s\n",
    "json": '{"server": %s, "recorded_at": "%s", "cpu_usage": %s, "memory_usage": %s, '
    '"network_latency": %s, "player_count": %s}',
}


class Export:
    """The samples one export reads (made by ``export_batches``)."""

    def __init__(self, store: Store, clauses: list[str], params: dict[str, Any]) -> None:
        self.store = store
        self.clauses = clauses
        self.params = params

    def __iter__(self) -> Iterator[list[tuple[Any, ...]]]:
        with self.store.engine.connect() as conn:
            cursor = _cursor(conn)
            try:
                yield from self._tuples(cursor)
            finally:
                cursor.close()

    def _where(self, *extra: str) -> str:
        clauses = [*self.clauses, *extra]
        return f"WHERE {' AND '.join(clauses)}" if clauses else ""

    def _tuples(self, cursor: sqlite3.Cursor) -> Iterator[list[tuple[Any, ...]]]:
        cursor.execute(
            f"SELECT s.name, {_ISO}, {', '.join(f'h.{c}' for c in COLUMNS)} "
            "FROM performance_history AS h LEFT JOIN local_servers AS s ON s.id = h.server_id "
            f"{self._where()} ORDER BY h.recorded_at, h.id",
            self.params,
        )
        while batch := cursor.fetchmany():
            yield batch

    def write(self, fmt: str, stream: TextIO) -> int:
        """``write_rows`` of these samples, formatted mostly by SQLite and one %-format per
        row: the same bytes as formatting the tuples, with 12-14% less CPU time (most of what
        is left is Python writing the floats). A range holding a row that could come out
        otherwise (``_ODD_ROW``: none that gsm writes) is written from the tuples instead.
        One read transaction: the check, the servers' names and the rows are one snapshot of
        the store."""
        with self.store.engine.connect() as conn:
            cursor = _cursor(conn)
            cursor.execute("BEGIN")
            try:
                cursor.execute(
                    "SELECT EXISTS (SELECT 1 FROM performance_history AS h "
                    f"{self._where(f'({_ODD_ROW[fmt]})')})",
                    self.params,
                )
                if cursor.fetchone()[0]:
                    return _write_chunks(_tuple_chunks(self._tuples(cursor), fmt), fmt, stream)
                return _write_chunks(self._fast_chunks(cursor, fmt), fmt, stream)
            finally:
                cursor.close()
                conn.connection.dbapi_connection.rollback()  # type: ignore[union-attr]

    def _fast_chunks(self, cursor: sqlite3.Cursor, fmt: str) -> Iterator[tuple[int, str]]:
        # Each server's name written once as the csv or json module writes it.
        label = _csv_cell if fmt == "csv" else json.dumps
        nameless = label(None)
        names = defaultdict(
            lambda: nameless,
            {sid: label(name) for sid, name in cursor.execute(_SERVER_NAMES).fetchall()},
        )
        row, glue = _FAST_ROW[fmt], _ROW_GLUE[fmt]
        cursor.execute(
            f"SELECT {_FAST_COLUMNS[fmt]} FROM performance_history AS h "
            f"{self._where()} ORDER BY h.recorded_at, h.id",
            self.params,
        )
        while batch := cursor.fetchmany():
            yield (
                len(batch),
                glue.join(
                    [
                        row % (names[sid], at, cpu, memory, latency, players)
                        for sid, at, cpu, memory, latency, players in batch
                    ]
                ),
            )


_SERVER_NAMES = "SELECT id, name FROM local_servers"
_ROW_GLUE = {"csv": "", "json": ",\n"}


def _cursor(conn: Connection) -> sqlite3.Cursor:
    # The driver's own cursor: SQLAlchemy's row objects would cost more than SQLite's work.
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.arraysize = EXPORT_BATCH
    return cursor


def export_rows(
    store: Store,
    server_names: Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
) -> Iterator[dict[str, Any]]:
    """Each sample as ``{server, recorded_at (ISO UTC), cpu_usage, memory_usage,
    network_latency, player_count}``, in ``recorded_at`` order, streamed (``export_batches``)."""
    for batch in export_batches(store, server_names, since, until):
        for row in batch:
            yield dict(zip(FIELDS, row, strict=True))


@contextmanager
def _writer(store: Store, wait: float | None = None) -> Iterator[Connection]:
    """One connection for a series of short write transactions (``with conn.begin()``, which
    is BEGIN IMMEDIATE). ``wait``: seconds to wait for another writer's lock instead of the
    store's busy timeout. Store errors become ours as in ``Store.write``."""
    store.check_writable()
    try:
        with store.engine.connect() as conn:
            conn.execution_options(gsm_begin="IMMEDIATE")
            raw = conn.connection.dbapi_connection
            assert raw is not None
            if wait is not None:
                raw.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
            try:
                yield conn
            finally:
                if wait is not None:  # the connection goes back to the pool
                    raw.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
    except DatabaseError as exc:
        raise translate_db_error(store.path, exc) from exc


def prune(store: Store, older_than: datetime) -> int:
    """Delete every sample recorded before ``older_than`` (strictly); return how many.

    Deletes ``PRUNE_BATCH`` rows per transaction, so a collector writing samples meanwhile
    waits for one short batch at most, never for the whole prune. Each batch commits whole;
    an interrupted prune leaves only older rows that a second prune removes.
    """
    with _writer(store) as conn:
        return sum(_prune_batches(conn, _stored(older_than)))


def _prune_batches(conn: Connection, cutoff: str) -> Iterator[int]:
    """Rows deleted by each committed batch."""
    while True:
        with conn.begin():
            count = conn.execute(
                text(
                    "DELETE FROM performance_history WHERE id IN (SELECT id FROM "
                    "performance_history WHERE recorded_at < :cutoff LIMIT :n)"
                ),
                {"cutoff": cutoff, "n": PRUNE_BATCH},
            ).rowcount
        yield count
        if count < PRUNE_BATCH:
            return


# Samples rolled into hourly averages per transaction: this many hours of every server.
ROLLUP_HOURS = 6
_HOUR = "strftime('%Y-%m-%d %H:00:00', recorded_at)"


@dataclass(frozen=True)
class Rollup:
    removed: int  # samples replaced by their hour's average
    written: int  # hourly averages written


def rollup(store: Store, older_than: datetime) -> Rollup:
    """Replace the samples recorded before ``older_than`` by one sample per server and hour:
    the averages of that hour's samples (``player_count`` rounded to a whole number), recorded
    at the start of the hour (``YYYY-MM-DD HH:00:00``).

    An hour with a single sample keeps it as it is, so a second rollup changes nothing. An hour
    cut by ``older_than`` is averaged only over its samples before the cutoff (automatic
    retention passes the start of an hour, so it never cuts one). Works through
    ``ROLLUP_HOURS`` hours per transaction, so the store is never locked for long; an
    interrupted rollup leaves whole hours done or not done.
    """
    with _writer(store) as conn:
        done = list(_rollup_windows(conn, _stored(older_than)))
    return Rollup(sum(d.removed for d in done), sum(d.written for d in done))


def _rollup_windows(conn: Connection, cutoff: str) -> Iterator[Rollup]:
    """What each committed transaction (``ROLLUP_HOURS`` hours) did."""
    start = ""
    while True:
        with conn.begin():
            first = conn.execute(
                text(
                    "SELECT min(recorded_at) FROM performance_history "
                    "WHERE recorded_at >= :start AND recorded_at < :cutoff"
                ),
                {"start": start, "cutoff": cutoff},
            ).scalar()
            if first is None:
                return
            low = datetime.strptime(first[:13], "%Y-%m-%d %H").replace(tzinfo=UTC)
            high = min(_stored(low + timedelta(hours=ROLLUP_HOURS)), cutoff)
            top = conn.execute(text("SELECT max(id) FROM performance_history")).scalar()
            window = {"lo": _stored(low), "hi": high, "top": top}
            groups = (
                f"FROM performance_history WHERE id <= :top AND recorded_at >= :lo "
                f"AND recorded_at < :hi GROUP BY server_id, {_HOUR} HAVING count(*) > 1"
            )
            written = conn.execute(
                text(
                    "INSERT INTO performance_history (server_id, cpu_usage, memory_usage, "
                    "network_latency, player_count, recorded_at) SELECT server_id, "
                    "avg(cpu_usage), avg(memory_usage), avg(network_latency), "
                    f"CAST(round(avg(player_count)) AS INTEGER), {_HOUR} {groups}"
                ),
                window,
            ).rowcount
            removed = conn.execute(
                text(
                    "DELETE FROM performance_history WHERE id <= :top AND recorded_at >= :lo "
                    f"AND recorded_at < :hi AND (coalesce(server_id, ''), {_HOUR}) IN "
                    f"(SELECT coalesce(server_id, ''), {_HOUR} {groups})"
                ),
                window,
            ).rowcount
        yield Rollup(removed, written)
        start = high


# Automatic retention: when it last ran is a user_settings row that is not a setting (no spec:
# `gsm config` neither shows nor takes it), the store's time text (YYYY-MM-DD HH:MM:SS).
RETENTION_MARK = "metrics.retention_last_run"
RETENTION_EVERY = timedelta(hours=1)
# How long apply_retention waits for another writer's lock before it leaves the work to its
# next call: short, since it runs inside a supervisor's sampling loop.
RETENTION_LOCK_WAIT = 2.0
# Seconds of work one apply_retention call does at most; a larger backlog goes on at the next.
RETENTION_BUDGET = 2.0
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


@dataclass(frozen=True)
class RetentionResult:
    """What one automatic retention did."""

    older_than: datetime  # samples recorded before this were deleted or rolled up
    rollup: bool  # metrics.rollup: rolled into hourly averages instead of deleted
    deleted: int  # samples deleted (with rollup: replaced by their hour's average)
    hourly_averages: int  # averages written in their place
    complete: bool  # False: cut short (time budget, or another writer's lock); more to do

    def to_dict(self) -> dict[str, Any]:
        return {
            "older_than": iso(self.older_than),
            "rollup": self.rollup,
            "deleted": self.deleted,
            "hourly_averages": self.hourly_averages,
            "complete": self.complete,
        }


def apply_retention(
    store: Store,
    env_vars: Mapping[str, str],
    *,
    at: datetime | None = None,
    lock_wait: float = RETENTION_LOCK_WAIT,
    budget: float = RETENTION_BUDGET,
) -> RetentionResult | None:
    """Apply ``metrics.retention_days`` at most once an hour (per store, whoever calls it):
    delete the samples recorded more than that many days before ``at`` (default: now), or,
    with ``metrics.rollup``, roll them into hourly averages, which are then kept.

    Cheap to call often: when it ran less than an hour ago it only reads one row and returns
    None. Otherwise it claims the hour (writing the time in ``RETENTION_MARK``, so two
    supervisors never both do the work), then prunes or rolls up in short transactions, for
    ``budget`` seconds at most: a backlog (the first run on a large store) is worked off over
    the following calls, never holding up one caller for long. Another writer's lock is waited
    for ``lock_wait`` seconds at most, and never raises: a claim that cannot be written is None;
    work cut short (budget or lock) is ``complete=False``, and the claim is given back so that
    the next call goes on. A read-only store: None. Other store errors are raised.
    With rollup the cutoff is the start of an hour, so each hour is rolled whole, once: a
    second run leaves the same rows.
    """
    if store.read_only:
        return None
    at = (at or now()).astimezone(UTC).replace(microsecond=0)
    stamp, due = _stored(at), _stored(at - RETENTION_EVERY)
    with store.engine.connect() as conn:
        last = conn.execute(
            text("SELECT value FROM user_settings WHERE key = :key"), {"key": RETENTION_MARK}
        ).scalar()
    if last is not None and due < last <= stamp:
        return None
    days = _setting_int(store, env_vars, "metrics.retention_days")
    rolls = settings.is_true(settings.effective_value(store, "metrics.rollup", env_vars))
    cutoff = at - timedelta(days=days)
    if rolls:
        cutoff = cutoff.replace(minute=0, second=0)
    deleted = written = 0
    complete = True
    with _writer(store, lock_wait) as conn:
        try:
            with conn.begin():
                claimed = conn.execute(
                    text(
                        "INSERT INTO user_settings (key, value, updated_at) "
                        "VALUES (:key, :stamp, :stamp) ON CONFLICT (key) DO UPDATE SET "
                        "value = excluded.value, updated_at = excluded.updated_at "
                        "WHERE user_settings.value IS NULL OR user_settings.value <= :due "
                        "OR user_settings.value > :stamp"
                    ),
                    {"key": RETENTION_MARK, "stamp": stamp, "due": due},
                ).rowcount
        except OperationalError as exc:
            if _busy(exc):
                return None
            raise
        if not claimed:  # another process ran it meanwhile
            return None
        deadline = time.monotonic() + budget
        steps = (
            _rollup_windows(conn, _stored(cutoff))
            if rolls
            else (Rollup(count, 0) for count in _prune_batches(conn, _stored(cutoff)))
        )
        try:
            for step in steps:  # each step is committed
                deleted += step.removed
                written += step.written
                if time.monotonic() >= deadline:
                    complete = False
                    break
        except OperationalError as exc:
            if not _busy(exc):
                raise
            complete = False
        finally:
            steps.close()
        if not complete:
            _give_back(conn, stamp, due)
    return RetentionResult(cutoff, rolls, deleted, written, complete)


def _give_back(conn: Connection, stamp: str, due: str) -> None:
    """Undo this run's claim (set the mark back to "due"), so that the next call goes on; a
    busy store keeps the claim, and the rest waits for the next hour."""
    try:
        with conn.begin():
            conn.execute(
                text("UPDATE user_settings SET value = :due WHERE key = :key AND value = :stamp"),
                {"key": RETENTION_MARK, "stamp": stamp, "due": due},
            )
    except OperationalError as exc:
        if not _busy(exc):
            raise


def _setting_int(store: Store, env_vars: Mapping[str, str], key: str) -> int:
    """An integer setting; its default if the stored text is not one (written by hand)."""
    value = settings.effective_value(store, key, env_vars)
    try:
        return int(value or "")
    except ValueError:
        return int(settings.SPECS[key].default or 0)


def _busy(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)


def _json_number(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return "null"  # JSON has no infinity
    return repr(value)  # what json.dumps writes for an int or a finite float


def _json_text(value: str | None) -> str:
    return "null" if value is None else json.dumps(value)


def _csv_cell(value: Any) -> str:
    """One CSV cell as csv.writer writes it (quoted when it has to be)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([value, ""])
    return buffer.getvalue()[:-2]


def _tuple_chunks(batches: Iterable[list[tuple[Any, ...]]], fmt: str) -> Iterator[tuple[int, str]]:
    """Each batch of FIELDS tuples as (rows, text): CSV lines, or JSON objects joined by
    ``,\n``."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for batch in batches:
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(batch)  # None is written as an empty cell
            yield len(batch), buffer.getvalue()
        return
    names: dict[Any, str] = {}
    for batch in batches:
        lines = []
        for name, at, cpu, memory, latency, players in batch:
            quoted = names.get(name)
            if quoted is None:
                quoted = names[name] = json.dumps(name)
            lines.append(
                f'{{"server": {quoted}, "recorded_at": {_json_text(at)}, '
                f'"cpu_usage": {_json_number(cpu)}, "memory_usage": {_json_number(memory)}, '
                f'"network_latency": {_json_number(latency)}, '
                f'"player_count": {_json_number(players)}}}'
            )
        yield len(batch), ",\n".join(lines)


def _write_chunks(chunks: Iterable[tuple[int, str]], fmt: str, stream: TextIO) -> int:
    """The header or brackets around the chunks, one ``write`` per chunk."""
    count = 0
    if fmt == "csv":
        stream.write(",".join(FIELDS) + "\n")
        for rows, text in chunks:
            stream.write(text)
            count += rows
    else:
        stream.write("[")
        for rows, text in chunks:
            stream.write(("\n" if count == 0 else ",\n") + text)
            count += rows
        stream.write("\n]\n" if count else "]\n")
    stream.flush()
    return count


def write_rows(batches: Iterable[list[tuple[Any, ...]]], fmt: str, stream: TextIO) -> int:
    """Write ``export_batches`` to ``stream`` as they come; return how many rows.

    ``csv``: a header row (FIELDS), then one row per sample, empty cells for NULLs.
    ``json``: one JSON array, one sample object per line, so that it streams and still
    parses as a whole (``json.load``, ``ConvertFrom-Json``); ``[]`` when there is none.
    ``recorded_at`` is written as ISO 8601 UTC (``2026-12-01T10:00:00Z``). Any iterable of
    FIELDS tuple batches may be given; an ``Export`` takes its faster way (``Export.write``).
    """
    if isinstance(batches, Export):
        return batches.write(fmt, stream)
    return _write_chunks(_tuple_chunks(batches, fmt), fmt, stream)


def export_to_file(batches: Iterable[list[tuple[Any, ...]]], fmt: str, path: Path) -> int:
    """``write_rows`` into a temporary file beside ``path``, renamed over it once complete:
    a reader of ``path`` sees the old file or the whole new one, never half of it."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by `with handle` below)
            "w", encoding="utf-8", newline="", dir=folder, prefix=f".{path.name}.", delete=False
        )
    except OSError as exc:
        raise InvalidInputError(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="check that its folder exists and this user may write there",
            code="export_unwritable",
        ) from None
    temp = Path(handle.name)
    try:
        with handle:
            count = write_rows(batches, fmt, handle)
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise InvalidInputError(
            f"cannot write {path}: {exc.strerror or exc}", code="export_unwritable"
        ) from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return count
