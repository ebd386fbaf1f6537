"""What `gsm-cloud serve` adds to uvicorn: timeouts for slow clients, and an access log
without query strings.

uvicorn (h11) has a keep-alive timeout, armed only after a response, and a limit on the size of
a request's headers, but no limit on how long the headers or the body may take: a client
that sends them a byte at a time keeps a connection, and whatever the request holds, open for
ever (slowloris). ``TimedH11Protocol`` adds both, in the manner of Apache's mod_reqtimeout:

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

PROTOCOL = "gsm_cloud.server:TimedH11Protocol"
_settings: Settings | None = None


def _timeouts() -> Settings:
    global _settings
    if _settings is None:  # read once per worker process, from its environment
        _settings = load_settings()
    return _settings


def _timeout_body(message: str) -> bytes:
    return json.dumps({"error": {"code": "request_timeout", "message": message}}).encode()


class TimedH11Protocol(H11Protocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = _timeouts()
        self.header_timeout = settings.header_timeout
        self.body_timeout = settings.body_timeout
        self.body_min_rate = settings.body_min_rate
        self._header_timer: Any = None
        self._body_timer: Any = None
        self._body_started = 0.0
        self._body_bytes = 0
        self._hard_deadline: float | None = None  # once answered while the body still comes

    # -- the hooks ---------------------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow_state()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._body_timer is not None:
            self._body_bytes += len(data)
        self._follow_state()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.SEND_BODY and self._hard_deadline is None:
            # Answered before the body ended (e.g. 413): the rest gets no more extensions.
            self._hard_deadline = self.loop.time() + self.body_timeout
            self._arm_body(self._hard_deadline)
        self._follow_state()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header()
        self._cancel_body()
        super().connection_lost(exc)

    # -- the timers ----------------------------------------------------------------------------

    def _follow_state(self) -> None:
        """Arm or cancel the timers for what the connection waits for now."""
        if self.transport is None or self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.IDLE:  # waiting for (the rest of) a request's headers
            self._cancel_body()
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)
        elif state is h11.SEND_BODY:
            self._cancel_header()
            if self._body_timer is None:
                self._body_started = self.loop.time()
                self._body_bytes = 0
                self._hard_deadline = None
                self._arm_body(self._body_deadline())
        else:
            self._cancel_header()
            self._cancel_body()

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
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        started = bool(self.conn.trailing_data[0])  # some of a request arrived
        self.logger.warning(
            "%s - closed: the request headers did not arrive within %d s",
            get_client_addr({"client": self.client}) if self.client else "-",
            self.header_timeout,
        )
        if started:
            body = _timeout_body(
                f"the request headers did not arrive within {self.header_timeout} s"
            )
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                b"connection: close\r\ncontent-length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
        self.transport.close()

    def _body_check(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.SEND_BODY:
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
                output = b""
            if output:
                self.transport.write(output)
                if cycle.access_log:
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


def uvicorn_options(*, workers: int, access_log: bool) -> dict[str, Any]:
    """How `gsm-cloud serve` runs uvicorn (the benchmarks serve their baseline app the same way)."""
    return {
        "workers": workers,
        "http": PROTOCOL,
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
