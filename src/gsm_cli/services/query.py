"""Ask a running game server how it is: players online, player slots and latency.

One call, ``query(protocol, host, port)``, for every protocol the catalog names:

- ``minecraft``: the Java Edition server-list ping, through the ``mcstatus`` library (in the
  supervisor, through ``services/minecraft_ping.py``: see ``use_light_minecraft_ping``);
- ``a2s``: Source/Steam A2S_INFO over UDP, through the ``python-a2s`` library;
- ``tcp``: a plain TCP connect to the port (latency is the connect time, no player counts);
- ``none``: the game has no query; nothing is sent (``queryable`` is False).

A query never raises for what the network does: a timeout, a refused connection, a name that
does not resolve or an answer that is not the protocol's is a failed query (``ok`` False,
``error`` says what). Only a caller's mistake (an unknown protocol, a port out of range, a
timeout that is not positive) raises ``InvalidInputError``. The libraries are imported when a
query runs, so importing this module costs nothing; it needs no store, typer or rich, so the
supervisor can call it from its own process.
"""

import math
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from gsm_cli.errors import InvalidInputError

NONE = "none"
# What `query` understands, and what `gsm server create|update --query-protocol` accepts.
PROTOCOLS = ("minecraft", "a2s", "tcp", NONE)
DEFAULT_TIMEOUT = 2.0


@dataclass(frozen=True)
class QueryResult:
    """What one query found. ``ok`` False with ``queryable`` True is a failed query;
    ``queryable`` False (protocol ``none``) means there was nothing to ask."""

    protocol: str
    ok: bool
    players: int | None = None
    max_players: int | None = None
    latency_ms: float | None = None
    error: str | None = None

    @property
    def queryable(self) -> bool:
        return self.protocol != NONE

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "queryable": self.queryable}


def query(protocol: str, host: str, port: int, timeout: float = DEFAULT_TIMEOUT) -> QueryResult:
    """Query the server at ``host``:``port`` with ``protocol``, waiting at most about
    ``timeout`` seconds for each step (connect, answer)."""
    _check(protocol, port, timeout)
    if protocol == NONE:
        return QueryResult(NONE, ok=False, error="no query protocol")
    ask = _ASK[protocol]
    try:
        return ask(host, port, timeout)
    except Exception as exc:  # whatever the network or the answer did: a failed query
        return QueryResult(protocol, ok=False, error=_describe(exc, timeout))


def check_protocol(protocol: str, label: str = "the query protocol") -> str:
    """``protocol`` if it is one of ``PROTOCOLS``; else exit 4, ``invalid_query_protocol``."""
    if protocol not in PROTOCOLS:
        raise InvalidInputError(
            f"invalid value {protocol!r} for {label}: expected one of {', '.join(PROTOCOLS)}",
            code="invalid_query_protocol",
        )
    return protocol


def _check(protocol: str, port: int, timeout: float) -> None:
    check_protocol(protocol)
    if not 1 <= port <= 65535:
        raise InvalidInputError(f"query port {port} is not between 1 and 65535")
    if not (math.isfinite(timeout) and timeout > 0):
        raise InvalidInputError(f"query timeout must be more than 0 seconds, not {timeout}")


def _describe(exc: BaseException, timeout: float) -> str:
    """A one-line reason for a failed query."""
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError since Python 3.10
        return f"no answer within {timeout:g}s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name: {exc.strerror or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"connection failed: {exc.strerror}"
    return f"not a valid answer: {exc or type(exc).__name__}"


def _minecraft(host: str, port: int, timeout: float) -> QueryResult:
    from mcstatus import JavaServer

    # One try: the library's default of three would triple the time a dead server costs.
    status = JavaServer(host, port, timeout=timeout).status(tries=1)
    return QueryResult(
        "minecraft",
        ok=True,
        players=status.players.online,
        max_players=status.players.max,
        latency_ms=status.latency,
    )


def use_light_minecraft_ping(on: bool = True) -> None:
    """From now on this process asks ``minecraft`` servers through ``services/minecraft_ping.py``
    rather than mcstatus (``on`` False: through mcstatus again). The supervisor's choice: it
    lives as long as its game and mcstatus would cost it about 6 MB of its 25 MB (issue 13).
    The answer is the same; an answer the light ping cannot read (or any fault of its own but
    the network's) is asked again of mcstatus, so it never fails a query that mcstatus answers
    (see ``_minecraft_light``)."""
    _ASK["minecraft"] = _minecraft_light if on else _minecraft
    _READ_BY_MCSTATUS.clear()


# The servers whose answer the light ping could not read and mcstatus could: asked through
# mcstatus from then on (the library is loaded by then, and a second connection per query is
# not worth saving what is already spent).
_READ_BY_MCSTATUS: set[tuple[str, int]] = set()


def _minecraft_light(host: str, port: int, timeout: float) -> QueryResult:
    """``_minecraft`` without mcstatus. What the network does (an ``OSError``: refused, silent,
    hung up) fails the query as it would through mcstatus, which would meet the same (it tries
    once too). Anything else, an answer that came but is not a status the light ping can read
    (``UnreadableAnswer``) or a fault of its own, goes to mcstatus: its answer, or its error,
    is the query's, exactly what it was before the light ping; and when mcstatus could read
    it, it reads that server from then on."""
    from gsm_cli.services import minecraft_ping

    if (host, port) in _READ_BY_MCSTATUS:
        return _minecraft(host, port, timeout)
    try:
        status = minecraft_ping.status(host, port, timeout)
    except OSError:
        raise
    except Exception:
        result = _minecraft(host, port, timeout)
        _READ_BY_MCSTATUS.add((host, port))
        return result
    return QueryResult(
        "minecraft",
        ok=True,
        players=status.online,
        max_players=status.max,
        latency_ms=status.latency_ms,
    )


def _a2s(host: str, port: int, timeout: float) -> QueryResult:
    import a2s

    info = a2s.info((host, port), timeout=timeout)
    return QueryResult(
        "a2s",
        ok=True,
        players=info.player_count,
        max_players=info.max_players,
        latency_ms=info.ping * 1000,
    )


def _tcp(host: str, port: int, timeout: float) -> QueryResult:
    start = time.perf_counter()
    with socket.create_connection((host, port), timeout=timeout):
        latency_ms = (time.perf_counter() - start) * 1000
    return QueryResult("tcp", ok=True, latency_ms=latency_ms)


_ASK: dict[str, Callable[[str, int, float], QueryResult]] = {
    "minecraft": _minecraft,
    "a2s": _a2s,
    "tcp": _tcp,
}
