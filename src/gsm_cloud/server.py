"""What `gsm-cloud serve` adds to uvicorn: timeouts for slow clients, and an access log
without query strings.

uvicorn (h11 or httptools) has a keep-alive timeout, armed only after a response, and a limit
on the size of a request's headers, but no limit on how long the headers or the body may take:
a client that sends them a byte at a time keeps a connection, and whatever the request holds,
open for ever (slowloris). ``RequestTimeouts`` adds both to either protocol (``TimedH11Protocol``,
``TimedHttpToolsProtocol``), in the manner of Apache's mod_reqtimeout:

- **headers**: from the moment a connection opens, or the previous response ends, the next
  request's headers must be complete within ``GSM_CLOUD_HEADER_TIMEOUT`` seconds, however
  many bytes trickle in meanwhile;
- **body**: the body must be complete within ``GSM_CLOUD_BODY_TIMEOUT`` seconds plus one
  second for every ``GSM_CLOUD_BODY_MIN_RATE`` bytes received (so a large upload at a decent
  rate is never cut, and a trickle is). While gsm-cloud itself is not reading (its buffer for
  the request is full because the endpoint has not read it yet), the clock waits.

Past either, the client gets 408 ``request_timeout`` (our error model) when a response can
still be sent, and the connection is closed.
"""

import json
import logging
from typing import Any

import h11
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from gsm_cloud.config import Settings, load_settings

H11 = "gsm_cloud.server:TimedH11Protocol"
HTTPTOOLS = "gsm_cloud.server:TimedHttpToolsProtocol"
_settings: Settings | None = None


def protocol(choice: str = "auto") -> str:
    """uvicorn's ``http`` option: httptools (a C parser, faster) when it is installed and
    ``choice`` is auto or httptools, else h11; either with the timeouts above."""
    if choice == "h11":
        return H11
    try:
        import httptools  # noqa: F401
    except ImportError:
        if choice == "httptools":
            raise
        return H11
    return HTTPTOOLS


def _timeouts() -> Settings:
    global _settings
    if _settings is None:  # read once per worker process, from its environment
        _settings = load_settings()
    return _settings


def _timeout_body(message: str) -> bytes:
    return json.dumps({"error": {"code": "request_timeout", "message": message}}).encode()


def _raw_408(message: str) -> bytes:
    body = _timeout_body(message)
    return (
        b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        b"connection: close\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


HEADERS, BODY = "headers", "body"


class RequestTimeouts:
    """The two clocks, for a uvicorn HTTP protocol. The protocol says what the connection
    waits for (``_waiting_for``), whether a request has begun (``_request_begun``) and how a
    408 is written mid-body (``_write_408``)."""

    # Provided by the uvicorn protocol this is mixed into.
    loop: Any
    transport: Any
    flow: Any
    cycle: Any
    client: Any
    scope: Any
    logger: logging.Logger

    def _init_timeouts(self) -> None:
        settings = _timeouts()
        self.header_timeout = settings.header_timeout
        self.body_timeout = settings.body_timeout
        self.body_min_rate = settings.body_min_rate
        self._header_timer: Any = None
        self._body_timer: Any = None
        self._body_started = 0.0
        self._body_bytes = 0
        self._hard_deadline: float | None = None  # once answered while the body still comes

    def _waiting_for(self) -> str | None:
        raise NotImplementedError

    def _request_begun(self) -> bool:
        raise NotImplementedError

    def _write_408(self, message: str) -> bool:
        raise NotImplementedError

    # -- what the protocol calls -----------------------------------------------------------

    def _received(self, data: bytes) -> None:
        if self._body_timer is not None:
            self._body_bytes += len(data)
        self._follow_state()

    def _answered(self) -> None:
        if self._waiting_for() == BODY and self._hard_deadline is None:
            # Answered before the body ended (e.g. 413): the rest gets no more extensions.
            self._hard_deadline = self.loop.time() + self.body_timeout
            self._arm_body(self._hard_deadline)
        self._follow_state()

    def _cancel_timers(self) -> None:
        self._cancel_header()
        self._cancel_body()

    # -- the timers ----------------------------------------------------------------------------

    def _follow_state(self) -> None:
        """Arm or cancel the timers for what the connection waits for now."""
        if self.transport is None or self.transport.is_closing():
            return
        waiting = self._waiting_for()
        if waiting == HEADERS:  # waiting for (the rest of) a request's headers
            self._cancel_body()
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)
        elif waiting == BODY:
            self._cancel_header()
            if self._body_timer is None:
                self._body_started = self.loop.time()
                self._body_bytes = 0
                self._hard_deadline = None
                self._arm_body(self._body_deadline())
        else:
            self._cancel_timers()

    def _body_deadline(self) -> float:
        if self._hard_deadline is not None:
            return self._hard_deadline
        return self._body_started + self.body_timeout + self._body_bytes / self.body_min_rate

    def _arm_body(self, when: float) -> None:
        self._cancel_body()
        self._body_timer = self.loop.call_at(when, self._body_check)

    def _cancel_header(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _cancel_body(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self._waiting_for() != HEADERS:
            return
        self.logger.warning(
            "%s - closed: the request headers did not arrive within %d s",
            get_client_addr({"client": self.client}) if self.client else "-",
            self.header_timeout,
        )
        if self._request_begun():
            self.transport.write(
                _raw_408(f"the request headers did not arrive within {self.header_timeout} s")
            )
        self.transport.close()

    def _body_check(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self._waiting_for() != BODY:
            return
        now = self.loop.time()
        if self._hard_deadline is None and self.flow is not None and self.flow.read_paused:
            # We are the ones not reading: the client is not late; start its clock afresh.
            self._body_started, self._body_bytes = now, 0
            self._arm_body(self._body_deadline())
            return
        deadline = self._body_deadline()
        if deadline > now:
            self._arm_body(deadline)
            return
        self._body_late()

    def _body_late(self) -> None:
        message = "the request body did not arrive in time"
        self.logger.warning(
            "%s - closed: %s", get_client_addr(self.scope) if self.scope else "-", message
        )
        cycle = self.cycle
        if cycle is not None and not cycle.response_started and not cycle.disconnected:
            if self._write_408(message) and cycle.access_log:
                cycle.access_logger.info(
                    '%s - "%s %s HTTP/%s" %d',
                    get_client_addr(cycle.scope),
                    cycle.scope["method"],
                    get_path_with_query_string(cycle.scope),
                    cycle.scope["http_version"],
                    408,
                )
            # The endpoint that waits for the body learns that the client is gone; whatever
            # it answers now is dropped.
            cycle.response_started = True
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()


class TimedH11Protocol(RequestTimeouts, H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_timeouts()

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow_state()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._received(data)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._answered()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def _waiting_for(self) -> str | None:
        state = self.conn.their_state
        if state is h11.IDLE:
            return HEADERS
        return BODY if state is h11.SEND_BODY else None

    def _request_begun(self) -> bool:
        return bool(self.conn.trailing_data[0])  # some of a request arrived

    def _write_408(self, message: str) -> bool:
        body = _timeout_body(message)
        headers = [
            (b"content-type", b"application/json"),
            (b"connection", b"close"),
            (b"content-length", str(len(body)).encode()),
        ]
        try:
            output = self.conn.send(
                h11.Response(status_code=408, headers=headers, reason=b"Request Timeout")
            )
            output += self.conn.send(h11.Data(data=body))
            output += self.conn.send(h11.EndOfMessage())
        except h11.LocalProtocolError:
            return False
        self.transport.write(output)
        return True


def _httptools_protocol() -> type | None:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools is not installed: h11 only
        return None

    class TimedHttpToolsProtocol(RequestTimeouts, HttpToolsProtocol):
        """The same clocks on httptools, whose parser reports where a request is through
        callbacks: begun (message begin), headers done, body done (message complete)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._init_timeouts()
            self._in_headers = False
            self._in_body = False

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._follow_state()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_headers = True

        def on_headers_complete(self) -> None:
            self._in_headers = False
            self._in_body = True  # until on_message_complete, at once for a request without
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_body = False
            super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._answered()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_timers()
            super().connection_lost(exc)

        def _waiting_for(self) -> str | None:
            if self._in_body:
                return BODY
            if self._in_headers:
                return HEADERS
            cycle = self.cycle
            in_flight = cycle is not None and not cycle.response_complete
            return None if in_flight or self.pipeline else HEADERS

        def _request_begun(self) -> bool:
            return self._in_headers

        def _write_408(self, message: str) -> bool:
            self.transport.write(_raw_408(message))
            return True

    return TimedHttpToolsProtocol


TimedHttpToolsProtocol = _httptools_protocol()


# -- the access log --------------------------------------------------------------------------


class DropQueryString(logging.Filter):
    """Access log records keep the path and lose the query string, which may carry tokens or
    personal data (``/v1/plugins?q=...`` is logged as ``/v1/plugins``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        elif isinstance(args, tuple):  # another format: drop a query from any text argument
            record.args = tuple(
                a.split("?", 1)[0] if isinstance(a, str) and "?" in a else a for a in args
            )
        return True


def uvicorn_options(*, workers: int, access_log: bool, http: str = "auto") -> dict[str, Any]:
    """How `gsm-cloud serve` runs uvicorn (the benchmarks serve their baseline app the same way)."""
    return {
        "workers": workers,
        "http": protocol(http),
        "loop": "auto",
        "log_config": log_config(),
        "log_level": "info",
        "access_log": access_log,
    }


def log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up, with DropQueryString on the access logger."""
    config = json.loads(json.dumps(LOGGING_CONFIG))
    config["filters"] = {"drop_query": {"()": f"{__name__}.DropQueryString"}}
    config["loggers"]["uvicorn.access"]["filters"] = ["drop_query"]
    return config
