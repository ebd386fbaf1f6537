"""Alerts: server events sent to chat, mail and webhooks through Apprise (docs/alerts.md).

Three parts, kept apart so that nobody who records an event ever waits on the network:

- Queuing (``queue_event``): whoever records a server event (``services/lifecycle.record``
  through the ORM, the supervisor through ``supervisor_store.record``) calls it with the same
  DB-API connection, in the same transaction as the event row. It writes ``alert_queue`` rows
  for the channels subscribed to the event, applying the crash rate limit. Standard library
  only: the supervisor imports this module and must stay light (no SQLAlchemy, no Apprise).
- Sending (``deliver_pending``, ``run_sender``): a detached ``python -m gsm_cli.alert_sender``
  (``spawn_sender``), one at a time through an OS lock, sends due messages with a timeout each
  and retries failures with a doubling delay until ``alerts.attempts``.
- Channels (``add_channel`` ...): the ``gsm alert`` commands' side, through the ORM.

The URL of a channel holds secrets (webhook tokens, passwords): it is never printed in full
(``mask_url``), never logged, and error texts from Apprise are scrubbed of its parts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from gsm_cli.errors import ConflictError, GsmError, InvalidInputError, NotFoundError
from gsm_cli.services import settings
from gsm_cli.timeutil import iso_utc

if TYPE_CHECKING:
    from gsm_cli.store import Store

KINDS = (
    "crash",
    "crash-loop",
    "freeze",
    "backup-failed",
    "start",
    "stop",
    "update",
    "schedule-failed",
)
# What a channel is sent when `gsm alert add` has no --on: the trouble, not the routine.
DEFAULT_KINDS = ("crash", "crash-loop", "freeze", "backup-failed", "schedule-failed")
# Kinds under the rate limit (docs/alerts.md, "Rate limit"): per server and channel, the first
# in a window is sent, the rest are counted in one summary.
LIMITED = ("crash", "freeze")
SUMMARY_SUFFIX = "-summary"
HEADLINES = {
    "crash": "crashed",
    "crash-loop": "crash loop: restarts stopped",
    "freeze": "frozen, killed to be restarted",
    "backup-failed": "backup failed",
    "start": "started",
    "stop": "stopped",
    "update": "game files updated",
    "schedule-failed": "schedule failed",
    "test": "test alert",
}
STATUSES = ("pending", "sent", "failed", "suppressed")
MAX_NAME_LENGTH = 64
CONSOLE_LINE_CHARS = 300  # one console line in a message, at most
CONSOLE_TOTAL_CHARS = 1500  # all quoted console lines together (Discord takes 2,000 in all)
CONSOLE_TAIL_BYTES = 64 * 1024  # how much of the console log's end is read for them
MAX_RETRY_SECONDS = 3600.0
KEEP_DAYS = 30  # sent, failed and suppressed messages are deleted after this many days
SENDER_POLL_SECONDS = 1.0  # how often a waiting sender looks for new messages
# Schemes whose host is a server's address, not a secret: shown by mask_url. Elsewhere (discord,
# telegram, slack, ntfy...) the "host" is a webhook id, a bot token or a topic.
PUBLIC_HOST_SCHEMES = frozenset(
    {"json", "jsons", "xml", "xmls", "form", "forms", "gotify", "gotifys", "mailto", "mailtos"}
    | {"matrix", "matrixs", "mmost", "mmosts", "rocket", "rockets", "apprise", "apprises"}
)

log = logging.getLogger(__name__)


# -- messages ------------------------------------------------------------------------------


def kind_of(event: str, *, status: str | None = None, detail: str | None = None) -> str | None:
    """The alert kind of a server event, or None when no alert is ever sent for it.

    A ``crash`` recorded with the status ``failed`` is the supervisor giving up after its
    crash-loop limit (``supervisor.after_crash``): ``crash-loop``. The end of a game killed as
    frozen is recorded as a crash too; its ``freeze`` event was the alert. A game that exits
    before it is up (``start_failed``) is a ``crash``. ``stop`` is an operator's stop (the
    supervisor records a crash whenever no stop was asked for)."""
    if event == "crash":
        if status == "failed":
            return "crash-loop"
        if detail and detail.startswith("killed as frozen"):
            return None
        return "crash"
    if event == "start_failed":
        return "crash"
    if event in ("start", "stop", "freeze", "backup-failed", "update", "schedule-failed"):
        return event
    return None


def console_tail(path: Path, lines: int) -> list[str]:
    """The last ``lines`` lines of a console log, each cut to CONSOLE_LINE_CHARS, all of them
    to CONSOLE_TOTAL_CHARS (the oldest go first); reads at most CONSOLE_TAIL_BYTES."""
    if lines <= 0:
        return []
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - CONSOLE_TAIL_BYTES))
            data = fh.read()
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace")
    kept = deque(
        (line[:CONSOLE_LINE_CHARS] for line in text.splitlines()[-lines:] if line.strip()),
    )
    while kept and sum(len(line) + 1 for line in kept) > CONSOLE_TOTAL_CHARS:
        kept.popleft()
    return list(kept)


def _when(stamp: datetime) -> str:
    local = stamp.astimezone()
    return f"{local.strftime('%Y-%m-%d %H:%M:%S %Z')} ({iso_utc(_sql_time(stamp))})"


def compose(
    kind: str,
    server_name: str,
    game: str,
    stamp: datetime,
    *,
    detail: str | None = None,
    exit_code: int | None = None,
    console: list[str] | None = None,
    summary: str | None = None,
    headline: str | None = None,
) -> tuple[str, str]:
    """An alert's title and body: the server, its game, the event, the time (local and UTC),
    and the console lines quoted for a crash."""
    title = f"gsm: {server_name} {headline or HEADLINES.get(kind, kind)}"
    what = kind if detail is None else f"{kind} ({detail})"
    if exit_code is not None:
        what += f", exit code {exit_code}"
    body = [f"Server: {server_name} ({game})", f"Event: {what}", f"Time: {_when(stamp)}"]
    if summary:
        body.append(summary)
    if console:
        body += ["Last console lines:", *console]
    return title, "\n".join(body)


def _duration(seconds: float) -> str:
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def summary_text(
    kind: str, count: int, window: float, *, restarts: int | None = None, gave_up: bool = False
) -> str:
    """``crashed 5 times in 10 min; restarts stopped after 4 restarts``."""
    verb = "froze" if kind == "freeze" else "crashed"
    text = f"{verb} {count} time{'s' if count != 1 else ''} in {_duration(window)}"
    if gave_up:
        after = "" if restarts is None else f" after {restarts} restart{'s' * (restarts != 1)}"
        text += f"; restarts stopped{after} (crash-loop limit)"
    return text


# -- queuing (standard library only: the supervisor calls this) ----------------------------


class _Stored(NamedTuple):
    value: str | None
    updated_at: str | None


def _setting(conn: sqlite3.Connection, key: str, env: Mapping[str, str]) -> str | None:
    row = conn.execute(
        "SELECT value, updated_at FROM user_settings WHERE key = ?", (key,)
    ).fetchone()
    stored = None if row is None else _Stored(row[0], row[1])
    return settings.resolve(key, stored, env).value  # type: ignore[arg-type]


def _sql_time(stamp: datetime) -> str:
    return stamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _parse_sql_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Event:
    server_id: str
    server_name: str
    game: str
    kind: str
    stamp: datetime
    detail: str | None
    exit_code: int | None
    console: list[str]
    headline: str | None = None  # when the kind's own does not say it (a failed start)


def queue_event(
    conn: sqlite3.Connection,
    server_id: str,
    event: str,
    *,
    status: str | None = None,
    exit_code: int | None = None,
    detail: str | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Queue the alerts of a server event that the caller has just inserted in
    ``server_events`` on ``conn``, in the caller's (write) transaction. Returns how many
    messages now wait to be sent (the caller then starts a sender: ``spawn_sender``).

    Alerts never cost the event: a failure here is undone (a savepoint) and logged, and the
    caller's transaction goes on."""
    if kind_of(event, status=status, detail=detail) is None:
        return 0
    conn.execute("SAVEPOINT gsm_alerts")
    try:
        queued = _queue_event(
            conn, server_id, event, status=status, exit_code=exit_code, detail=detail, env=env
        )
    except (sqlite3.Error, ValueError, TypeError, KeyError, GsmError) as exc:
        conn.execute("ROLLBACK TO gsm_alerts")
        conn.execute("RELEASE gsm_alerts")
        log.warning("alerts for a %s event were not queued: %s", event, exc)
        return 0
    conn.execute("RELEASE gsm_alerts")
    return queued


def _queue_event(
    conn: sqlite3.Connection,
    server_id: str,
    event: str,
    *,
    status: str | None,
    exit_code: int | None,
    detail: str | None,
    env: Mapping[str, str] | None,
) -> int:
    kind = kind_of(event, status=status, detail=detail)
    if kind is None:
        return 0
    wanted = {kind, "crash"} if kind == "crash-loop" else {kind}
    channels = [
        (channel_id, set(json.loads(events)))
        for channel_id, events in conn.execute(
            "SELECT id, events FROM alert_channels WHERE enabled = 1 ORDER BY created_at, id"
        )
    ]
    channels = [(cid, events) for cid, events in channels if events & wanted]
    if not channels:
        return 0
    recent = conn.execute(
        "SELECT event, occurred_at FROM server_events WHERE server_id = ? ORDER BY id DESC LIMIT 2",
        (server_id,),
    ).fetchall()
    if kind == "start" and len(recent) > 1 and recent[1][0] == "restart":
        return 0  # the supervisor's restart after a crash: the crash was the news
    server = conn.execute(
        "SELECT name, game_type FROM local_servers WHERE id = ?", (server_id,)
    ).fetchone()
    if server is None:
        return 0
    env = os.environ if env is None else env
    stamp = _parse_sql_time(recent[0][1]) if recent and recent[0][1] else datetime.now(UTC)
    console: list[str] = []
    if kind in ("crash", "crash-loop", "freeze"):
        from gsm_cli.paths import resolve_paths
        from gsm_cli.services import control

        lines = int(_setting(conn, "alerts.console_lines", env) or 0)
        console = console_tail(control.files(resolve_paths(env), server_id).console_log, lines)
    headline = "failed to start" if event == "start_failed" else None
    found = _Event(
        server_id, server[0], server[1], kind, stamp, detail, exit_code, console, headline
    )
    window = float(_setting(conn, "alerts.window", env) or 0)
    queued = 0
    for channel_id, events in channels:
        if kind == "crash-loop" and "crash-loop" in events:
            queued += _queue_crash_loop(conn, channel_id, found, window)
        elif kind in LIMITED or kind == "crash-loop":
            queued += _queue_limited(conn, channel_id, found, window)
        else:
            queued += _insert(conn, channel_id, found, kind)
    return queued


def _insert(
    conn: sqlite3.Connection,
    channel_id: str,
    found: _Event,
    event: str,
    *,
    status: str = "pending",
    summary: str | None = None,
    due: datetime | None = None,
) -> int:
    kind = "crash-loop" if event == "crash-loop" else event.removesuffix(SUMMARY_SUFFIX)
    title, body = compose(
        kind,
        found.server_name,
        found.game,
        found.stamp,
        detail=found.detail,
        exit_code=found.exit_code,
        console=found.console,
        summary=summary,
        headline=found.headline if event == found.kind else None,
    )
    now = _sql_time(found.stamp)
    conn.execute(
        "INSERT INTO alert_queue (channel_id, server_id, event, title, body, status, "
        "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            channel_id,
            found.server_id,
            event,
            title,
            body,
            status,
            _sql_time(due or found.stamp),
            now,
        ),
    )
    return 1 if status == "pending" else 0


def _count_since(
    conn: sqlite3.Connection, server_id: str, events: tuple[str, ...], since: str
) -> int:
    marks = ", ".join("?" * len(events))
    (count,) = conn.execute(
        f"SELECT count(*) FROM server_events WHERE server_id = ? AND event IN ({marks}) "
        "AND occurred_at >= ?",
        (server_id, *events, since),
    ).fetchone()
    return int(count)


def _counted_events(kind: str) -> tuple[str, ...]:
    return ("freeze",) if kind == "freeze" else ("crash", "start_failed")


def _first_in_window(
    conn: sqlite3.Connection, channel_id: str, found: _Event, kind: str, window: float
) -> str | None:
    """When this window's alert of ``kind`` was queued for this server and channel; None
    when there was none in the last ``window`` seconds."""
    if window <= 0:
        return None
    start = _sql_time(found.stamp - timedelta(seconds=window))
    row = conn.execute(
        "SELECT min(created_at) FROM alert_queue WHERE channel_id = ? AND server_id = ? "
        "AND event = ? AND status != 'suppressed' AND created_at >= ?",
        (channel_id, found.server_id, kind, start),
    ).fetchone()
    return None if row is None else row[0]


def _summary(conn: sqlite3.Connection, found: _Event, kind: str, since: str, window: float) -> str:
    count = _count_since(conn, found.server_id, _counted_events(kind), since)
    gave_up = found.kind == "crash-loop"
    restarts = _count_since(conn, found.server_id, ("restart",), since) if gave_up else None
    return summary_text(kind, count, window, restarts=restarts, gave_up=gave_up)


def _queue_limited(conn: sqlite3.Connection, channel_id: str, found: _Event, window: float) -> int:
    """A crash or freeze: the first in the window is sent; the next ones are kept as
    ``suppressed`` and counted in one summary, sent at the end of the window."""
    kind = "freeze" if found.kind == "freeze" else "crash"
    first = _first_in_window(conn, channel_id, found, kind, window)
    if first is None:
        return _insert(conn, channel_id, found, kind)
    _insert(conn, channel_id, found, kind, status="suppressed")
    summary = _summary(conn, found, kind, first, window)
    title, body = compose(
        kind, found.server_name, found.game, found.stamp, summary=summary, console=found.console
    )
    updated = conn.execute(
        "UPDATE alert_queue SET title = ?, body = ? WHERE channel_id = ? AND server_id = ? "
        "AND event = ? AND status = 'pending' AND created_at >= ?",
        (title, body, channel_id, found.server_id, kind + SUMMARY_SUFFIX, first),
    ).rowcount
    if updated:
        return 0
    due = _parse_sql_time(first) + timedelta(seconds=window)
    _insert(conn, channel_id, found, kind + SUMMARY_SUFFIX, summary=summary, due=due)
    conn.execute(  # the summary's own title and body: the count, not one crash's detail
        "UPDATE alert_queue SET title = ?, body = ? WHERE id = last_insert_rowid()",
        (title, body),
    )
    return 1


def _queue_crash_loop(
    conn: sqlite3.Connection, channel_id: str, found: _Event, window: float
) -> int:
    """The supervisor gave up: the summary waiting for this window (if any) becomes the
    crash-loop summary and goes now; otherwise one crash-loop message goes now."""
    first = _first_in_window(conn, channel_id, found, "crash", window)
    start = first or _sql_time(found.stamp - timedelta(seconds=max(window, 0)))
    summary = _summary(conn, found, "crash", start, window)
    title, body = compose(
        "crash-loop",
        found.server_name,
        found.game,
        found.stamp,
        detail=found.detail,
        exit_code=found.exit_code,
        summary=summary,
        console=found.console,
    )
    if first is not None:
        updated = conn.execute(
            "UPDATE alert_queue SET event = 'crash-loop', title = ?, body = ?, "
            "next_attempt_at = ? WHERE channel_id = ? AND server_id = ? AND event = ? "
            "AND status = 'pending' AND created_at >= ?",
            (
                title,
                body,
                _sql_time(found.stamp),
                channel_id,
                found.server_id,
                "crash" + SUMMARY_SUFFIX,
                first,
            ),
        ).rowcount
        if updated:
            return 0  # the sender started for the summary looks again within a second
    _insert(conn, channel_id, found, "crash-loop", summary=summary)
    conn.execute(
        "UPDATE alert_queue SET title = ?, body = ? WHERE id = last_insert_rowid()",
        (title, body),
    )
    return 1


# -- starting a sender ---------------------------------------------------------------------


def sender_lock(store_file: Path) -> Path:
    """The lock of the senders of this store: one at a time per store file."""
    return store_file.parent / "run" / f"alert-sender.{store_file.name}.lock"


def spawn_sender(store_file: Path) -> None:
    """Start a detached ``python -m gsm_cli.alert_sender STORE`` (it exits at once when
    another one holds the lock). Never raises: a sender that cannot start leaves the messages
    queued for the next one (or for ``deliver_pending`` in the service's loop)."""
    from gsm_cli.paths import resolve_paths
    from gsm_cli.services import processes

    try:
        log_dir = resolve_paths(os.environ).log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / "alert-sender.log").open("ab") as err:
            child = subprocess.Popen(
                [sys.executable, "-m", "gsm_cli.alert_sender", str(store_file)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                **processes.detached_popen_kwargs(),
            )
    except (OSError, GsmError) as exc:
        log.warning("could not start the alert sender: %s", exc)
        return
    # Reap it when it ends (a long-lived supervisor must not collect zombies).
    threading.Thread(target=child.wait, name="alert-sender-reaper", daemon=True).start()


# -- URLs ----------------------------------------------------------------------------------


def _scheme(url: str) -> str | None:
    head, sep, _rest = url.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", head):
        return None
    return head.lower()


def mask_url(url: str) -> str:
    """``discord://…``; ``json://hooks.example.com/…`` where the host is an address, not a
    token (PUBLIC_HOST_SCHEMES). Nothing of the path, user, password or query is shown."""
    scheme = _scheme(url)
    if scheme is None:
        return "…"
    if scheme in PUBLIC_HOST_SCHEMES:
        try:
            parts = urlsplit(url)
            host = parts.hostname
            port = parts.port
        except ValueError:
            host, port = None, None
        if host:
            return f"{scheme}://{host}{'' if port is None else f':{port}'}/…"
    return f"{scheme}://…"


def _secrets_of(url: str) -> list[str]:
    """The parts of a URL to scrub from any text shown or stored: everything but the scheme
    and (for PUBLIC_HOST_SCHEMES) the host, longest first."""
    scheme = _scheme(url) or ""
    rest = url.partition("://")[2]
    public: set[str] = set()
    if scheme in PUBLIC_HOST_SCHEMES:
        with contextlib.suppress(ValueError):
            public.add(urlsplit(url).hostname or "")
    pieces = {p for p in re.split(r"[/:@?&=#,]+", rest) if len(p) >= 3 and p not in public}
    return sorted(pieces, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    for secret in _secrets_of(url):
        if secret:
            text = text.replace(secret, "…")
    return text


def check_url(url: str) -> str:
    """The URL, when Apprise knows its scheme and accepts it; InvalidInputError otherwise
    (naming the scheme only: the rest may be a secret)."""
    url = url.strip()
    scheme = _scheme(url)
    if scheme is None:
        raise InvalidInputError(
            "the alert URL is not an Apprise URL (expected SCHEME://..., such as "
            "discord://WEBHOOK_ID/TOKEN or json://host/path)",
            hint="see https://github.com/caronc/apprise/wiki for every service's URL",
            code="invalid_alert_url",
        )
    import apprise
    from apprise.manager_plugins import NotificationManager

    if scheme not in NotificationManager().schemas():
        raise InvalidInputError(
            f"unknown alert URL scheme {scheme!r}: Apprise has no service by that name",
            hint="see https://github.com/caronc/apprise/wiki for the services and their URLs",
            code="invalid_alert_url",
        )
    with _quiet_apprise():
        plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise InvalidInputError(
            f"the {scheme}:// URL is not valid: Apprise cannot read its parts",
            hint=f"see https://github.com/caronc/apprise/wiki for the form of {scheme}:// URLs",
            code="invalid_alert_url",
        )
    return url


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.lines.append(record.getMessage())


@contextlib.contextmanager
def _quiet_apprise() -> Iterator[_Capture]:
    """Apprise's log records caught here (its error texts), and kept from gsm's own log: they
    may quote a URL."""
    logger = logging.getLogger("apprise")
    capture = _Capture()
    saved = logger.propagate, logger.level
    logger.addHandler(capture)
    logger.propagate = False
    if logger.level == logging.NOTSET or logger.level > logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        yield capture
    finally:
        logger.removeHandler(capture)
        logger.propagate, level = saved
        logger.setLevel(level)


def send(url: str, title: str, body: str, timeout: float) -> str | None:
    """Send one message now, through Apprise, within ``timeout`` seconds: None when it was
    delivered, else why not (scrubbed of the URL's secrets)."""
    import apprise

    with _quiet_apprise() as capture:
        plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            return "Apprise no longer accepts this channel's URL"
        plugin.socket_connect_timeout = timeout
        plugin.socket_read_timeout = timeout
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["ok"] = bool(plugin.notify(body=body, title=title))
            except Exception as exc:  # a plugin's own bug: a failure of this message
                outcome["error"] = f"{type(exc).__name__}: {exc}"

        worker = threading.Thread(target=run, name="alert-send", daemon=True)
        worker.start()
        worker.join(timeout + 1)
    if worker.is_alive():
        return f"no answer within {timeout:g}s"
    if outcome.get("ok"):
        return None
    reason = outcome.get("error") or (capture.lines[-1] if capture.lines else "")
    return scrub(reason or "Apprise reported a failure", url)[:500]


# -- channels (the ORM; the gsm alert commands) --------------------------------------------


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    url: str  # the secret: never rendered (to_dict masks it)
    events: list[str]
    enabled: bool
    created_at: str | None
    counts: dict[str, int]
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "url": mask_url(self.url),
            "events": self.events,
            "enabled": self.enabled,
            "created_at": iso_utc(self.created_at),
            **{status: self.counts.get(status, 0) for status in STATUSES},
            "last_error": self.last_error,
        }


def parse_events(raw: str | None) -> list[str]:
    """``crash,crash-loop`` -> the kinds in KINDS order; None -> DEFAULT_KINDS; ``all``."""
    if raw is None:
        return list(DEFAULT_KINDS)
    given = [part.strip().lower() for part in raw.split(",") if part.strip()]
    if given == ["all"]:
        return list(KINDS)
    unknown = [part for part in given if part not in KINDS]
    if unknown or not given:
        raise InvalidInputError(
            f"unknown alert event {unknown[0]!r}" if unknown else "no alert events given",
            hint=f"use a comma-separated list of: {', '.join(KINDS)} (or all)",
            code="invalid_alert_events",
        )
    return [kind for kind in KINDS if kind in given]


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH or not re.fullmatch(r"[\w][\w.-]*", name):
        raise InvalidInputError(
            f"invalid alert channel name {name!r}",
            hint=f"use 1 to {MAX_NAME_LENGTH} letters, digits, '.', '-' or '_'",
            code="invalid_alert_name",
        )
    return name


def _row(session: Any, name: str) -> Any:
    from sqlalchemy import func, select

    from gsm_cli.store.models import AlertChannel

    row = session.scalars(
        select(AlertChannel).where(func.lower(AlertChannel.name) == name.strip().lower())
    ).first()
    if row is None:
        raise NotFoundError(
            f"no alert channel named {name!r}",
            hint="run `gsm alert list` to see the channels",
            code="alert_channel_not_found",
        )
    return row


def _channels(session: Any, rows: list[Any]) -> list[Channel]:
    from sqlalchemy import func, select

    from gsm_cli.store.models import AlertMessage

    ids = [row.id for row in rows]
    counts: dict[str, dict[str, int]] = {cid: {} for cid in ids}
    errors: dict[str, str | None] = {}
    if ids:
        for cid, status, count in session.execute(
            select(AlertMessage.channel_id, AlertMessage.status, func.count())
            .where(AlertMessage.channel_id.in_(ids))
            .group_by(AlertMessage.channel_id, AlertMessage.status)
        ):
            counts[cid][status] = count
        for cid, error in session.execute(
            select(AlertMessage.channel_id, AlertMessage.last_error)
            .where(AlertMessage.channel_id.in_(ids), AlertMessage.last_error.is_not(None))
            .order_by(AlertMessage.id)
        ):
            errors[cid] = error
    return [
        Channel(
            row.id,
            row.name,
            row.url,
            list(row.events),
            bool(row.enabled),
            row.created_at,
            counts[row.id],
            errors.get(row.id),
        )
        for row in rows
    ]


def add_channel(store: Store, name: str, url: str, events: list[str]) -> Channel:
    from sqlalchemy import func, select

    from gsm_cli.store.models import AlertChannel

    name = _check_name(name)
    url = check_url(url)
    with store.write() as session:
        taken = session.scalars(
            select(AlertChannel.id).where(func.lower(AlertChannel.name) == name.lower())
        ).first()
        if taken is not None:
            raise ConflictError(
                f"an alert channel named {name!r} already exists",
                hint=f"remove it first (gsm alert remove {name}) or choose another name",
                code="alert_channel_exists",
            )
        row = AlertChannel(id=str(uuid.uuid4()), name=name, url=url, events=events, enabled=True)
        session.add(row)
        session.flush()
        session.refresh(row)
        return _channels(session, [row])[0]


def list_channels(store: Store) -> list[Channel]:
    from sqlalchemy import func, select

    from gsm_cli.store.models import AlertChannel

    with store.read() as session:
        rows = list(session.scalars(select(AlertChannel).order_by(func.lower(AlertChannel.name))))
        return _channels(session, rows)


def get_channel(store: Store, name: str) -> Channel:
    with store.read() as session:
        return _channels(session, [_row(session, name)])[0]


def remove_channel(store: Store, name: str) -> Channel:
    """Delete a channel and its queued messages (the queue's rows cascade)."""
    with store.write() as session:
        row = _row(session, name)
        channel = _channels(session, [row])[0]
        session.delete(row)
    return channel


def _timeout(env: Mapping[str, str], store: Store) -> float:
    return float(settings.effective_value(store, "alerts.timeout", env) or 10)


def test_channel(store: Store, name: str, env: Mapping[str, str]) -> dict[str, Any]:
    """Send a test message to a channel now and wait for the outcome (``alerts.timeout``).
    A failure is a GsmError (exit 1, ``alert_not_delivered``) with Apprise's reason."""
    channel = get_channel(store, name)
    timeout = _timeout(env, store)
    now = datetime.now(UTC)
    title = f"gsm: test alert for {channel.name}"
    body = "\n".join(
        [
            f"This is a test of the alert channel {channel.name}.",
            f"Events sent here: {', '.join(channel.events)}",
            f"Time: {_when(now)}",
        ]
    )
    started = time.monotonic()
    error = send(channel.url, title, body, timeout)
    if error is not None:
        raise GsmError(
            f"the test alert to {channel.name} ({mask_url(channel.url)}) was not delivered: "
            f"{error}",
            hint="check the URL's service and token; `gsm alert remove` and `add` to change it",
            code="alert_not_delivered",
        )
    return {
        "name": channel.name,
        "url": mask_url(channel.url),
        "delivered": True,
        "seconds": round(time.monotonic() - started, 3),
    }


# -- sending the queue ---------------------------------------------------------------------


def _retry_delay(base: float, attempts: int) -> float:
    return min(base * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)


def _deliver_due(store: Store, env: Mapping[str, str]) -> int:
    """Send every pending message that is due, oldest first; returns how many were sent."""
    from sqlalchemy import delete, select

    from gsm_cli.store.models import AlertChannel, AlertMessage

    timeout = _timeout(env, store)
    attempts_max = int(settings.effective_value(store, "alerts.attempts", env) or 5)
    retry = float(settings.effective_value(store, "alerts.retry_seconds", env) or 30)
    sent = 0
    now = _sql_time(datetime.now(UTC))
    with store.read() as session:
        due = session.execute(
            select(AlertMessage.id, AlertMessage.title, AlertMessage.body, AlertChannel.url)
            .join(AlertChannel, AlertChannel.id == AlertMessage.channel_id)
            .where(AlertMessage.status == "pending", AlertMessage.next_attempt_at <= now)
            .order_by(AlertMessage.id)
        ).all()
    for message_id, title, body, url in due:
        error = send(url, title, body, timeout)
        with store.write() as session:
            row = session.get(AlertMessage, message_id)
            if row is None or row.status != "pending":  # removed with its channel meanwhile
                continue
            row.attempts += 1
            stamp = datetime.now(UTC)
            if error is None:
                row.status, row.sent_at, row.last_error = "sent", _sql_time(stamp), None
                sent += 1
            else:
                row.last_error = error
                if row.attempts >= attempts_max:
                    row.status = "failed"
                else:
                    delay = _retry_delay(retry, row.attempts)
                    row.next_attempt_at = _sql_time(stamp + timedelta(seconds=delay))
    if due:
        cutoff = _sql_time(datetime.now(UTC) - timedelta(days=KEEP_DAYS))
        with store.write() as session:
            session.execute(
                delete(AlertMessage).where(
                    AlertMessage.status != "pending", AlertMessage.created_at < cutoff
                )
            )
    return sent


def next_due(store: Store) -> datetime | None:
    """When the next pending message is due (now or later); None when none waits."""
    from sqlalchemy import func, select

    from gsm_cli.store.models import AlertMessage

    with store.read() as session:
        value = session.scalar(
            select(func.min(AlertMessage.next_attempt_at)).where(AlertMessage.status == "pending")
        )
    return None if value is None else _parse_sql_time(value)


def deliver_pending(store: Store, env: Mapping[str, str] | None = None) -> int:
    """Send the messages that are due now, once each (a failure is retried later); returns
    how many were sent. Nothing (0) while a sender holds the lock: it is at it."""
    from gsm_cli.services import locks

    try:
        lock = locks.hold(sender_lock(store.path))
    except locks.LockHeld:
        return 0
    with lock:
        return _deliver_due(store, os.environ if env is None else env)


def run_sender(store_file: Path, env: Mapping[str, str] | None = None) -> int:
    """The sender's life: under the lock, send what is due and wait for what is not, until no
    message waits; then let go of the lock and look once more (a message queued while it let
    go, whose own sender found the lock taken, is not left behind). Returns messages sent."""
    from gsm_cli.services import locks
    from gsm_cli.store import Store

    env = os.environ if env is None else env
    sent = 0
    with Store.open(store_file, upgrade=False) as store:
        while next_due(store) is not None:
            try:
                lock = locks.hold(sender_lock(store_file))
            except locks.LockHeld:
                return sent
            with lock:
                while True:
                    sent += _deliver_due(store, env)
                    upcoming = next_due(store)
                    if upcoming is None:
                        break
                    wait = (upcoming - datetime.now(UTC)).total_seconds()
                    time.sleep(min(max(wait, 0.05), SENDER_POLL_SECONDS))
    return sent


def channel_messages(store: Store, name: str, limit: int = 20) -> list[dict[str, Any]]:
    """A channel's latest messages, newest first (their bodies left out)."""
    from sqlalchemy import select

    from gsm_cli.store.models import AlertMessage, LocalServer

    with store.read() as session:
        channel = _row(session, name)
        rows = session.execute(
            select(AlertMessage, LocalServer.name)
            .outerjoin(LocalServer, LocalServer.id == AlertMessage.server_id)
            .where(AlertMessage.channel_id == channel.id)
            .order_by(AlertMessage.id.desc())
            .limit(limit)
        ).all()
    return [
        {
            "id": message.id,
            "server": server_name,
            "event": message.event,
            "title": message.title,
            "status": message.status,
            "attempts": message.attempts,
            "created_at": iso_utc(message.created_at),
            "next_attempt_at": iso_utc(message.next_attempt_at)
            if message.status == "pending"
            else None,
            "sent_at": iso_utc(message.sent_at),
            "last_error": message.last_error,
        }
        for message, server_name in rows
    ]
