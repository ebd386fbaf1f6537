"""services.query against real servers on 127.0.0.1: the fake game server answering the
Minecraft server-list ping (TCP) and A2S_INFO with its challenge (UDP), plain TCP connects,
and every way a query fails (nothing listening, silence, garbage, an unknown host) giving a
failed result within its timeout, never an exception. Minecraft both ways: through mcstatus
(``gsm server query``) and through the supervisor's light ping (services/minecraft_ping.py),
which must answer the same, send the same bytes and fall back to mcstatus where it cannot read
an answer."""

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gsm_cli.errors import InvalidInputError
from gsm_cli.services import minecraft_ping
from gsm_cli.services import query as query_service
from gsm_cli.services.query import PROTOCOLS, QueryResult, query
from tests.conftest import FAKE_GAME, free_port, wait_for

HOST = "127.0.0.1"
FAST = 0.5  # seconds: the timeout of the queries that are meant to fail


@pytest.fixture
def fake_game(tmp_path: Path) -> Iterator[Callable[..., int]]:
    """Start the fake game server with some arguments; returns its port once it listens."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> int:
        port = free_port()
        log = tmp_path / f"game-{port}.log"
        with log.open("wb") as out:
            started.append(
                subprocess.Popen(
                    [sys.executable, str(FAKE_GAME), "--port", str(port), *args],
                    stdin=subprocess.PIPE,
                    stdout=out,
                )
            )
        wait_for(lambda: "started on port" in log.read_text())  # printed once it is bound
        return port

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


@pytest.fixture(params=["mcstatus", "light"])
def minecraft_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a test with ``minecraft`` queries through mcstatus and through the light ping."""
    query_service.use_light_minecraft_ping(request.param == "light")
    yield request.param
    query_service.use_light_minecraft_ping(False)


@pytest.fixture
def light_ping() -> Iterator[None]:
    """``minecraft`` queries through the light ping, as in the supervisor."""
    query_service.use_light_minecraft_ping(True)
    yield
    query_service.use_light_minecraft_ping(False)


def serve_in_thread(target: Callable[[], None]) -> None:
    threading.Thread(target=target, daemon=True).start()


@pytest.fixture
def tcp_answering(request: pytest.FixtureRequest) -> Callable[[bytes | None], int]:
    """A TCP port whose connections get ``reply`` (None: silence, held open); returns it."""

    def listen(reply: bytes | None) -> int:
        listener = socket.create_server((HOST, 0))
        request.addfinalizer(listener.close)
        held: list[socket.socket] = []

        def serve() -> None:
            while True:
                try:
                    conn = listener.accept()[0]
                except OSError:
                    return
                held.append(conn)
                if reply is not None:
                    conn.sendall(reply)

        serve_in_thread(serve)
        return listener.getsockname()[1]

    return listen


@pytest.fixture
def udp_answering(request: pytest.FixtureRequest) -> Callable[[bytes], int]:
    """A UDP port that answers every datagram with ``reply``; returns it."""

    def bind(reply: bytes) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((HOST, 0))
        request.addfinalizer(sock.close)

        def serve() -> None:
            while True:
                try:
                    peer = sock.recvfrom(2048)[1]
                    sock.sendto(reply, peer)
                except OSError:
                    return

        serve_in_thread(serve)
        return sock.getsockname()[1]

    return bind


def timed_query(protocol: str, port: int, timeout: float = FAST) -> tuple[QueryResult, float]:
    began = time.monotonic()
    result = query(protocol, HOST, port, timeout=timeout)
    return result, time.monotonic() - began


def assert_failed(result: QueryResult, took: float, *words: str) -> None:
    assert result.ok is False and result.queryable
    assert result.players is None and result.max_players is None and result.latency_ms is None
    assert result.error and all(word in result.error for word in words), result.error
    assert took < FAST * 3 + 0.5, f"took {took:.2f}s"


def assert_answered(result: QueryResult, players: int | None, max_players: int | None) -> None:
    assert result.ok, result.error
    assert result.error is None and result.queryable
    assert (result.players, result.max_players) == (players, max_players)
    assert result.latency_ms is not None and 0 < result.latency_ms < 2000


def test_minecraft_server_list_ping(fake_game: Callable[..., int], minecraft_path: str) -> None:
    port = fake_game("--query", "minecraft", "--players", "3", "--max-players", "20")
    result = query("minecraft", HOST, port)
    assert_answered(result, 3, 20)
    assert result.protocol == "minecraft"


def test_minecraft_on_its_own_query_port(
    fake_game: Callable[..., int], minecraft_path: str
) -> None:
    query_port = free_port()
    game_args = ("--query", "minecraft", "--query-port", str(query_port), "--players", "0")
    game_port = fake_game(*game_args, "--max-players", "8")
    assert_answered(query("minecraft", HOST, query_port), 0, 8)
    # The game port itself accepts and hangs up at once: not a Minecraft answer.
    assert_failed(*timed_query("minecraft", game_port))


def test_a2s_info_with_its_challenge(fake_game: Callable[..., int]) -> None:
    port = fake_game("--query", "a2s", "--players", "5", "--max-players", "32")
    result = query("a2s", HOST, port)
    assert_answered(result, 5, 32)
    assert result.to_dict() == {
        "protocol": "a2s",
        "ok": True,
        "players": 5,
        "max_players": 32,
        "latency_ms": result.latency_ms,
        "error": None,
        "queryable": True,
    }


def test_tcp_connect_to_a_listening_port(fake_game: Callable[..., int]) -> None:
    assert_answered(query("tcp", HOST, fake_game()), None, None)


@pytest.mark.parametrize("protocol", ["tcp", "minecraft"])
def test_a_closed_tcp_port_is_refused_at_once(protocol: str) -> None:
    assert_failed(*timed_query(protocol, free_port()), "refused")


def test_a2s_where_nothing_listens_fails_within_its_timeout() -> None:
    assert_failed(*timed_query("a2s", free_port()))


def test_a2s_to_a_game_that_only_holds_its_udp_port(fake_game: Callable[..., int]) -> None:
    assert_failed(*timed_query("a2s", fake_game("--udp")), f"no answer within {FAST:g}s")


def test_a_silent_minecraft_server_times_out(
    tcp_answering: Callable[..., int], minecraft_path: str
) -> None:
    assert_failed(*timed_query("minecraft", tcp_answering(None)), f"no answer within {FAST:g}s")


@pytest.mark.parametrize(
    "garbage",
    [b"HTTP/1.1 400 Bad Request\r\n\r\n", b"\x05\x00\x03{x}", b"\x03\x07\x01\x02"],
    ids=["http", "bad-json", "wrong-packet"],
)
def test_a_garbage_minecraft_answer_fails(
    tcp_answering: Callable[..., int], garbage: bytes, minecraft_path: str
) -> None:
    assert_failed(*timed_query("minecraft", tcp_answering(garbage)))


@pytest.mark.parametrize(
    "garbage",
    [b"hello there", b"\xff\xff\xff\xff\x49\x11trunc", b"\xff\xff\xff\xff\x6a"],
    ids=["no-header", "truncated", "wrong-type"],
)
def test_a_garbage_a2s_answer_fails(udp_answering: Callable[..., int], garbage: bytes) -> None:
    assert_failed(*timed_query("a2s", udp_answering(garbage)), "not a valid answer")


@pytest.mark.parametrize("protocol", ["minecraft", "a2s", "tcp"])
def test_an_unknown_host_fails(protocol: str) -> None:
    result = query(protocol, "no-such-host.invalid", 25565, timeout=FAST)
    assert result.ok is False and result.queryable and result.error


def test_none_is_not_queryable_rather_than_failed() -> None:
    result = query("none", HOST, 1)
    assert result.ok is False and result.queryable is False
    assert result.error == "no query protocol"
    assert result.to_dict()["queryable"] is False


@pytest.mark.parametrize(
    ("protocol", "port", "timeout"),
    [("gamespy", 1, 1.0), ("tcp", 0, 1.0), ("tcp", 65536, 1.0), ("tcp", 1, 0.0)],
)
def test_a_callers_mistake_is_invalid_input(protocol: str, port: int, timeout: float) -> None:
    with pytest.raises(InvalidInputError) as caught:
        query(protocol, HOST, port, timeout=timeout)
    assert caught.value.exit_code == 4
    if protocol == "gamespy":
        assert caught.value.code == "invalid_query_protocol"
        assert "expected one of minecraft, a2s, tcp, none" in caught.value.message


def test_the_protocols() -> None:
    assert PROTOCOLS == ("minecraft", "a2s", "tcp", "none")


def test_importing_the_service_loads_no_query_library() -> None:
    code = (
        "import sys, gsm_cli.services.query; "
        "print([m for m in ('mcstatus', 'a2s', 'sqlalchemy', 'typer', 'rich') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the supervisor's light Minecraft ping (services/minecraft_ping.py) ---------------------


def varint(number: int) -> bytes:
    number &= 0xFFFFFFFF
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def frame(payload: bytes) -> bytes:
    return varint(len(payload)) + payload


def status_packet(status: object) -> bytes:
    text = json.dumps(status).encode()
    return frame(b"\x00" + varint(len(text)) + text)


STATUS = {
    "version": {"name": "1.20.4", "protocol": 765},
    "players": {"online": 4, "max": 12, "sample": [{"name": "alex", "id": "0-0-0-0-0"}]},
    "description": {"text": "hello"},
}


@pytest.fixture
def recording_server(request: pytest.FixtureRequest) -> tuple[int, list[bytes]]:
    """A TCP port that records what each client sends before its answer (two packets: the
    handshake and the status request), then answers with STATUS; returns it and the records."""
    listener = socket.create_server((HOST, 0))
    request.addfinalizer(listener.close)
    records: list[bytes] = []

    def read_packet(conn: socket.socket, got: bytearray) -> None:
        length = shift = 0
        while True:
            byte = conn.recv(1)
            got += byte
            length |= (byte[0] & 0x7F) << shift
            shift += 7
            if not byte[0] & 0x80:
                break
        while length:
            chunk = conn.recv(length)
            got += chunk
            length -= len(chunk)

    def serve() -> None:
        while True:
            try:
                conn = listener.accept()[0]
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                got = bytearray()
                read_packet(conn, got)
                read_packet(conn, got)
                records.append(bytes(got))
                conn.sendall(status_packet(STATUS))

    serve_in_thread(serve)
    return listener.getsockname()[1], records


def test_the_light_ping_sends_what_mcstatus_sends(
    recording_server: tuple[int, list[bytes]],
) -> None:
    from mcstatus import JavaServer

    port, records = recording_server
    by_mcstatus = JavaServer(HOST, port, timeout=FAST).status(tries=1)
    light = minecraft_ping.status(HOST, port, FAST)
    assert len(records) == 2 and records[0] == records[1]
    # handshake: id 0, version 47, the host, the port, next state 1; then the status request
    host = HOST.encode()
    handshake = b"\x00" + varint(47) + varint(len(host)) + host + port.to_bytes(2, "big") + b"\x01"
    assert records[0] == frame(handshake) + frame(b"\x00")
    assert (light.online, light.max) == (by_mcstatus.players.online, by_mcstatus.players.max)
    assert (light.online, light.max) == (4, 12)


def test_the_light_ping_reads_what_mcstatus_reads(fake_game: Callable[..., int]) -> None:
    from mcstatus import JavaServer

    port = fake_game("--query", "minecraft", "--players", "7", "--max-players", "40")
    by_mcstatus = JavaServer(HOST, port, timeout=2).status(tries=1)
    light = minecraft_ping.status(HOST, port, 2)
    assert (light.online, light.max) == (by_mcstatus.players.online, by_mcstatus.players.max)
    assert (light.version_name, light.version_protocol) == (
        by_mcstatus.version.name,
        by_mcstatus.version.protocol,
    )
    assert (light.online, light.max, light.version_name, light.version_protocol) == (
        7, 40, "1.21", 767
    )  # fmt: skip
    assert 0 < light.latency_ms < 2000 and 0 < by_mcstatus.latency < 2000

    query_service.use_light_minecraft_ping(False)
    full = query("minecraft", HOST, port)
    query_service.use_light_minecraft_ping(True)
    try:
        lean = query("minecraft", HOST, port)
    finally:
        query_service.use_light_minecraft_ping(False)
    assert {**full.to_dict(), "latency_ms": None} == {**lean.to_dict(), "latency_ms": None}
    assert lean.ok and lean.latency_ms is not None and lean.latency_ms > 0


UNREADABLE = {
    "wrong-packet-id": frame(b"\x05" + varint(2) + b"{}"),
    "no-players": status_packet({"version": {"name": "1.21", "protocol": 767}}),
    "players-not-a-dict": status_packet({"players": [1, 2], "version": {}}),
    "not-json-object": status_packet(["players"]),
    "not-utf8": frame(b"\x00" + varint(3) + b"\xff\xfe\xfd"),
    "string-past-the-packet": frame(b"\x00" + varint(50) + b"{}"),
    "string-too-long": frame(b"\x00" + varint(131069) + b"{}"),
    "negative-length": varint(-1) + b"\x00",
    "varint-too-long": b"\x80\x80\x80\x80\x80\x01",
    "varint-out-of-range": b"\xff\xff\xff\xff\x7f",
}


@pytest.mark.parametrize("reply", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_answer_that_is_not_a_status_fails_both_ways(
    tcp_answering: Callable[..., int], reply: bytes, minecraft_path: str
) -> None:
    port = tcp_answering(reply)
    if minecraft_path == "light":
        with pytest.raises(minecraft_ping.UnreadableAnswer):
            minecraft_ping.status(HOST, port, FAST)
    assert_failed(*timed_query("minecraft", port), "not a valid answer")


@pytest.mark.usefixtures("light_ping")
@pytest.mark.parametrize(
    "failure", [minecraft_ping.UnreadableAnswer("odd"), IndexError("a fault of its own")]
)
def test_an_answer_only_mcstatus_reads_is_read_by_mcstatus_from_then_on(
    fake_game: Callable[..., int], mocker: Any, failure: Exception
) -> None:
    # No real answer tells the two readers apart (the light one reads what mcstatus reads), so
    # the light ping is made to give up on a good one: the query must still be answered.
    port = fake_game("--query", "minecraft", "--players", "2", "--max-players", "9")
    light = mocker.patch.object(minecraft_ping, "status", side_effect=failure)
    by_mcstatus = mocker.spy(query_service, "_minecraft")
    assert_answered(query("minecraft", HOST, port), 2, 9)
    assert_answered(query("minecraft", HOST, port), 2, 9)
    assert light.call_count == 1  # the second query went to mcstatus straight away
    assert by_mcstatus.call_count == 2
    query_service.use_light_minecraft_ping(True)  # a fresh start forgets it
    query("minecraft", HOST, port)
    assert light.call_count == 2


def test_when_neither_reads_an_answer_the_query_fails_as_today(
    tcp_answering: Callable[..., int], mocker: Any
) -> None:
    port = tcp_answering(UNREADABLE["wrong-packet-id"])
    query_service.use_light_minecraft_ping(False)
    today = query("minecraft", HOST, port, timeout=FAST)
    query_service.use_light_minecraft_ping(True)
    try:
        light = mocker.spy(minecraft_ping, "status")
        by_mcstatus = mocker.spy(query_service, "_minecraft")
        first = query("minecraft", HOST, port, timeout=FAST)
        second = query("minecraft", HOST, port, timeout=FAST)
    finally:
        query_service.use_light_minecraft_ping(False)
    assert first == second == today  # mcstatus's own error
    assert not today.ok and today.error and "not a valid answer" in today.error
    assert light.call_count == 2 and by_mcstatus.call_count == 2  # the light ping tried again


@pytest.mark.usefixtures("light_ping")
@pytest.mark.parametrize("what", ["refused", "silent", "unknown-host"])
def test_a_network_failure_is_not_asked_again_of_mcstatus(
    tcp_answering: Callable[..., int], what: str, mocker: Any
) -> None:
    host, port = HOST, free_port()
    if what == "silent":
        port = tcp_answering(None)
    elif what == "unknown-host":
        host = "no-such-host.invalid"
    by_mcstatus = mocker.spy(query_service, "_minecraft")
    began = time.monotonic()
    result = query("minecraft", host, port, timeout=FAST)
    took = time.monotonic() - began
    assert by_mcstatus.call_count == 0
    assert result.ok is False and result.error
    assert took < FAST * 3 + 0.5 or what == "unknown-host"
    if what == "refused":
        assert result.error == "connection refused"
    if what == "silent":
        assert result.error == f"no answer within {FAST:g}s"


def test_the_supervisors_minecraft_query_loads_no_mcstatus(fake_game: Callable[..., int]) -> None:
    port = fake_game("--query", "minecraft", "--players", "1", "--max-players", "5")
    code = (
        "import sys; from gsm_cli import supervisor; supervisor.keep_light(); "
        "from gsm_cli.services import query; "
        f"r = query.query('minecraft', '127.0.0.1', {port}); "
        "print(r.ok, r.players, r.max_players); "
        "print([m for m in ('mcstatus', 'dns', 'asyncio', 'importlib.metadata', 'ssl') "
        "if sys.modules.get(m)])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["True 1 5", "[]"]
