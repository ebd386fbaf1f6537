"""services.query against real servers on 127.0.0.1: the fake game server answering the
Minecraft server-list ping (TCP) and A2S_INFO with its challenge (UDP), plain TCP connects,
and every way a query fails (nothing listening, silence, garbage, an unknown host) giving a
failed result within its timeout, never an exception."""

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gsm_cli.errors import InvalidInputError
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


def test_minecraft_server_list_ping(fake_game: Callable[..., int]) -> None:
    port = fake_game("--query", "minecraft", "--players", "3", "--max-players", "20")
    result = query("minecraft", HOST, port)
    assert_answered(result, 3, 20)
    assert result.protocol == "minecraft"


def test_minecraft_on_its_own_query_port(fake_game: Callable[..., int]) -> None:
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


def test_a_silent_minecraft_server_times_out(tcp_answering: Callable[..., int]) -> None:
    assert_failed(*timed_query("minecraft", tcp_answering(None)), f"no answer within {FAST:g}s")


@pytest.mark.parametrize(
    "garbage",
    [b"HTTP/1.1 400 Bad Request\r\n\r\n", b"\x05\x00\x03{x}", b"\x03\x07\x01\x02"],
    ids=["http", "bad-json", "wrong-packet"],
)
def test_a_garbage_minecraft_answer_fails(
    tcp_answering: Callable[..., int], garbage: bytes
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
