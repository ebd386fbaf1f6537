"""The Minecraft Java Edition server-list ping, status only, with the standard library: how the
supervisor asks a ``minecraft`` server how it is.

A deliberate exception to the project's rule of speaking a protocol through its library
(``mcstatus`` everywhere else, ``gsm server query`` included). A supervisor lives as long as
its game and must stay under 25 MB resident (issue 13), and importing mcstatus costs it about
6 MB: its package imports dnspython (for SRV look-ups the supervisor never makes), asyncio and
importlib.metadata before it sends a byte; even its status client alone costs about 3 MB
(docs/performance.md, "Supervisor"). The ping is a few packets over one TCP connection, and
the socket and json modules it needs are loaded in the supervisor anyway.

``status()`` sends what ``mcstatus.JavaServer(host, port, timeout).status(tries=1)`` sends and
reads what it reads (mcstatus 14: ``_protocol/java_client.py``, ``_protocol/io/base_io.py``):

1. a TCP connection (``socket.create_connection`` with the timeout, which then bounds every
   read; ``TCP_NODELAY`` on);
2. the handshake packet: id 0, protocol version 47, the host as given, the port, next state 1;
3. the status request packet: id 0;
4. the status response packet: id 0, then a string: the status as JSON.

A packet is a VarInt of its length, then its bytes; a VarInt is a signed 32-bit integer in at
most 5 bytes of 7 bits, least significant first; a string is a VarInt of its UTF-8 length (at
most 131068 bytes and 32767 characters), then its bytes. The latency is the time from sending
the status request to having read the whole response, as mcstatus measures it.

What the network does (a refused connection, a timeout, the server hanging up) raises an
``OSError``, as mcstatus does. An answer that came but is not a status this reader can read
raises ``UnreadableAnswer``: ``services/query.py`` then asks mcstatus for a second opinion, so
a reply this module would misread never fails a query that the library answers.
"""

import json
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

PROTOCOL_VERSION = 47  # what mcstatus announces unless told otherwise
NEXT_STATE_STATUS = 1
MAX_STRING_BYTES = 131068  # 32767 characters of at most 4 UTF-8 bytes each
MAX_STRING_CHARS = 32767
VARINT_BYTES = 5  # ceil(32 / 7)


class UnreadableAnswer(ValueError):
    """The server answered, but not with a Java status this reader understands."""


@dataclass(frozen=True)
class JavaStatus:
    """The parts of a status answer that gsm uses. ``online`` and ``max`` are the answer's own
    values, unconverted, as mcstatus gives them."""

    online: Any
    max: Any
    version_name: Any
    version_protocol: Any
    latency_ms: float


def status(host: str, port: int, timeout: float) -> JavaStatus:
    """Ask the Java Edition server at ``host``:``port`` for its status, waiting at most
    ``timeout`` seconds for the connection and for each read."""
    handshake = (
        _varint(0)
        + _varint(PROTOCOL_VERSION)
        + _string(host)
        + struct.pack(">H", port)
        + _varint(NEXT_STATE_STATUS)
    )
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(_packet(handshake))
        conn.sendall(_packet(_varint(0)))  # status request
        start = time.perf_counter()
        response = _read_packet(conn)
        end = time.perf_counter()
    return _parse(response, (end - start) * 1000)


def _varint(number: int) -> bytes:
    number &= 0xFFFFFFFF  # a negative number as its 32-bit two's complement
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _string(text: str) -> bytes:
    if len(text) > MAX_STRING_CHARS:
        raise ValueError(f"a string of {len(text)} characters is longer than {MAX_STRING_CHARS}")
    data = text.encode("utf-8")
    return _varint(len(data)) + data


def _packet(payload: bytes) -> bytes:
    return _varint(len(payload)) + payload


def _signed(number: int) -> int:
    return number - (1 << 32) if number & 0x80000000 else number


def _recv_exactly(conn: socket.socket, length: int) -> bytes:
    data = bytearray()
    while len(data) < length:
        chunk = conn.recv(length - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection before its answer was whole")
        data += chunk
    return bytes(data)


def _read_packet(conn: socket.socket) -> bytes:
    number = 0
    for shift in range(0, 7 * VARINT_BYTES, 7):
        byte = _recv_exactly(conn, 1)[0]
        number |= (byte & 0x7F) << shift
        if number > 0xFFFFFFFF:
            raise UnreadableAnswer("a packet length out of the range of a 32-bit VarInt")
        if not byte & 0x80:
            break
    else:
        raise UnreadableAnswer(f"a packet length of more than {VARINT_BYTES} bytes")
    length = _signed(number)
    if length < 0:
        raise UnreadableAnswer(f"a negative packet length ({length})")
    return _recv_exactly(conn, length)


class _Reader:
    """Reads the fields of one packet held in memory."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, length: int) -> bytes:
        if self.at + length > len(self.data):
            raise UnreadableAnswer("a packet shorter than its fields")
        part = self.data[self.at : self.at + length]
        self.at += length
        return part

    def varint(self) -> int:
        number = 0
        for shift in range(0, 7 * VARINT_BYTES, 7):
            byte = self.take(1)[0]
            number |= (byte & 0x7F) << shift
            if number > 0xFFFFFFFF:
                raise UnreadableAnswer("a VarInt out of the range of 32 bits")
            if not byte & 0x80:
                return _signed(number)
        raise UnreadableAnswer(f"a VarInt of more than {VARINT_BYTES} bytes")

    def string(self) -> str:
        length = self.varint()
        if not 0 <= length <= MAX_STRING_BYTES:
            raise UnreadableAnswer(f"a string length of {length} bytes")
        try:
            text = self.take(length).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnreadableAnswer(f"a string that is not UTF-8: {exc}") from exc
        if len(text) > MAX_STRING_CHARS:
            raise UnreadableAnswer(f"a string of {len(text)} characters")
        return text


def _parse(packet: bytes, latency_ms: float) -> JavaStatus:
    reader = _Reader(packet)
    packet_id = reader.varint()
    if packet_id != 0:
        raise UnreadableAnswer(f"packet id {packet_id} where a status response (0) was due")
    try:
        raw = json.loads(reader.string())
    except ValueError as exc:  # json.JSONDecodeError; UnreadableAnswer passes on as it is
        if isinstance(exc, UnreadableAnswer):
            raise
        raise UnreadableAnswer(f"a status that is not JSON: {exc}") from exc
    try:
        players, version = raw["players"], raw["version"]
        return JavaStatus(
            online=players["online"],
            max=players["max"],
            version_name=version["name"],
            version_protocol=version["protocol"],
            latency_ms=latency_ms,
        )
    except (KeyError, TypeError, IndexError) as exc:
        raise UnreadableAnswer(f"a status without its players and version ({exc!r})") from exc
