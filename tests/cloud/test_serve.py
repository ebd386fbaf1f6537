"""A real `gsm-cloud serve` process on 127.0.0.1 distrusts its clients: a 100 MB body is
refused without stalling the worker, slow clients are cut off, query strings stay out of the
access log, and the log-in rate limit holds across worker processes."""

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from gsm_cloud.db.engine import make_engine, session_factory, transaction
from gsm_cloud.services import accounts
from tests.cloud.conftest import ServeCloud, Served
from tests.conftest import wait_for

pytestmark = pytest.mark.slow
HUNDRED_MB = 100 * 1024 * 1024
STALL = 2.0  # seconds: no answer of /healthz may take longer while the large bodies come in


@pytest.fixture(params=["h11", "httptools"])
def serve_cloud(request: pytest.FixtureRequest, serve_cloud: ServeCloud) -> ServeCloud:
    """Every test here runs with each HTTP parser `gsm-cloud serve` may use (GSM_CLOUD_HTTP)."""

    def start(*, workers: int = 1, env: dict[str, str] | None = None) -> Served:
        return serve_cloud(workers=workers, env={"GSM_CLOUD_HTTP": request.param, **(env or {})})

    return start


def create_user(database_url: str, email: str, password: str) -> None:
    engine = make_engine(database_url)
    try:
        with transaction(session_factory(engine)) as session:
            accounts.create_user(session, email=email, display_name="u", password=password)
    finally:
        engine.dispose()


@dataclass
class Prober:
    """Asks /healthz again and again in a thread; records how long each answer took."""

    url: str
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    status = client.get(f"{self.url}/healthz").status_code
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    continue
                self.latencies.append(time.monotonic() - started)
                if status != 200:
                    self.failures.append(f"HTTP {status}")

    def stop(self) -> None:
        self._stop.set()


@pytest.fixture
def prober() -> Iterator[callable]:  # type: ignore[valid-type]
    threads: list[tuple[Prober, threading.Thread]] = []

    def start(url: str) -> Prober:
        probe = Prober(url)
        thread = threading.Thread(target=probe.run, daemon=True)
        thread.start()
        threads.append((probe, thread))
        wait_for(lambda: len(probe.latencies) >= 3)
        return probe

    yield start
    for probe, thread in threads:
        probe.stop()
        thread.join(timeout=60)


def test_a_100_mb_body_is_refused_and_the_worker_keeps_answering(
    serve_cloud: ServeCloud, prober
) -> None:  # type: ignore[no-untyped-def]
    served = serve_cloud(workers=1)
    # Many small JSON values: the costliest kind of body to parse.
    body = b'{"operations": [' + b",".join([b"[1,2,3,4,5,6,7,8,9,0]"] * 4_800_000) + b"]}"
    assert len(body) > HUNDRED_MB
    probe = prober(served.url)
    json_headers = {"Content-Type": "application/json"}
    answers = []
    with httpx.Client(timeout=120) as client:
        for path in ("/v1/sync/push", "/v1/auth/token", "/v1/me/tokens"):  # no token needed
            declared = client.post(f"{served.url}{path}", content=body, headers=json_headers)

            def pieces() -> Iterator[bytes]:
                for start in range(0, len(body), 1024 * 1024):
                    yield body[start : start + 1024 * 1024]

            streamed = client.post(f"{served.url}{path}", content=pieces(), headers=json_headers)
            answers += [(declared.status_code, declared.text[:200])]
            answers += [(streamed.status_code, streamed.text[:200])]
    probe.stop()
    assert probe.failures == []
    assert max(probe.latencies) < STALL, sorted(probe.latencies)[-5:]
    for status, text in answers:
        assert status == 413 and '"too_large"' in text, (status, text)
    assert served.process.poll() is None
    assert "Traceback" not in served.log_text()


def test_413_comes_from_content_length_before_the_body_is_sent(serve_cloud: ServeCloud) -> None:
    served = serve_cloud()
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/sync/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % HUNDRED_MB
        )
        answer = b""  # not one byte of the body is sent
        while b'"too_large"' not in answer and (chunk := sock.recv(4096)):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert b'"too_large"' in answer


def trickle(
    port: int, head: bytes, data: bytes, interval: float = 0.05
) -> tuple[bytes, int, float]:
    """Send ``head`` at once, then ``data`` a byte at a time; stop when the server answers or
    closes. What it answered, how many bytes of ``data`` it took, and after how long."""
    started = time.monotonic()
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.settimeout(interval)
        if head:
            sock.sendall(head)
        for byte in data:
            try:
                sock.sendall(bytes([byte]))
                sent += 1
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            answer += chunk
            if not chunk or answer.endswith(b"}"):
                break
        sock.settimeout(5)
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    return answer, sent, time.monotonic() - started


SLOW = {
    "GSM_CLOUD_HEADER_TIMEOUT": "1",
    "GSM_CLOUD_BODY_TIMEOUT": "1",
    "GSM_CLOUD_BODY_MIN_RATE": "50",
}


def test_slow_headers_and_slow_bodies_are_cut_off(serve_cloud: ServeCloud) -> None:
    served = serve_cloud(env=SLOW)
    # Headers a byte every 50 ms: 400 bytes would take 20 s; the server stops it after 1 s.
    headers = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 400 + b"\r\n\r\n"
    answer, sent, took = trickle(served.port, b"", headers)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b'"request_timeout"' in answer
    assert sent < len(headers) and took < 5, (sent, took)
    # A body a byte every 50 ms (20 bytes/s, under the 50 bytes/s minimum rate): cut off after
    # about 1 / (1 - 20/50) = 1.7 s.
    head = (
        b"POST /v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 400\r\n\r\n"
    )
    answer, sent, took = trickle(served.port, head, b"x" * 400)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert sent < 400 and took < 6, (sent, took)
    # A connection that sends nothing at all is closed too.
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as idle:
        started = time.monotonic()
        assert idle.recv(100) == b""
        assert time.monotonic() - started < 5
    # Meanwhile the server serves everyone else, and a quick client is never cut off.
    assert httpx.get(f"{served.url}/healthz").status_code == 200
    log = served.log_text()
    assert "the request headers did not arrive within 1 s" in log
    assert '"POST /v1/auth/token HTTP/1.1" 408' in log


def test_an_upload_at_a_decent_rate_is_not_cut_off(serve_cloud: ServeCloud) -> None:
    """The body clock grows with what arrives: 2 s of steady data is fine with a 1 s timeout."""
    served = serve_cloud(env=SLOW)

    def steady() -> Iterator[bytes]:
        yield b'{"email": "a@b.io", "password": "'
        for _ in range(10):
            time.sleep(0.2)  # the client's pace, not synchronisation: 100 bytes per 0.2 s
            yield b"p" * 100
        yield b'"}'

    answer = httpx.post(
        f"{served.url}/v1/auth/token", content=steady(),
        headers={"Content-Type": "application/json"}, timeout=30,
    )  # fmt: skip
    assert answer.status_code == 401, answer.text  # judged on its content, not timed out


def test_query_strings_are_not_written_to_the_access_log(serve_cloud: ServeCloud) -> None:
    served = serve_cloud()
    secret = "gsmc_secret-in-a-query-4711"
    assert httpx.get(f"{served.url}/v1/plugins", params={"q": secret}).status_code == 200
    assert httpx.get(f"{served.url}/v1/sync/pull?token={secret}").status_code == 401
    wait_for(lambda: '"GET /v1/sync/pull HTTP/1.1" 401' in served.log_text())
    log = served.log_text()
    assert '"GET /v1/plugins HTTP/1.1" 200' in log
    assert secret not in log and "?" not in log


def test_the_access_log_can_be_turned_off(serve_cloud: ServeCloud) -> None:
    served = serve_cloud(env={"GSM_CLOUD_ACCESS_LOG": "off", "GSM_CLOUD_HEADER_TIMEOUT": "1"})
    assert httpx.get(f"{served.url}/v1/plugins").status_code == 200
    # A line the worker logs after the request: had it logged the request, that line came first.
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        wait_for(lambda: "request headers did not arrive" in served.log_text())
    assert "GET /v1/plugins" not in served.log_text()


def test_the_login_limit_holds_across_workers(serve_cloud: ServeCloud, database_url: str) -> None:
    served = serve_cloud(workers=2, env={"GSM_CLOUD_LOGIN_MAX_PER_ACCOUNT": "4"})
    create_user(database_url, "ana@example.com", "correct horse")
    create_user(database_url, "bo@example.com", "correct horse")
    url = f"{served.url}/v1/auth/token"
    ok = httpx.post(url, json={"email": "ana@example.com", "password": "correct horse"})
    assert ok.status_code == 200
    for _ in range(4):  # a new connection each: the workers share them
        wrong = httpx.post(url, json={"email": "ana@example.com", "password": "nope"})
        assert wrong.status_code == 401
    for _ in range(4):
        refused = httpx.post(url, json={"email": "ana@example.com", "password": "correct horse"})
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "too_many_requests"
        assert int(refused.headers["retry-after"]) >= 1
    other = httpx.post(url, json={"email": "bo@example.com", "password": "correct horse"})
    assert other.status_code == 200


def test_a_stalled_upload_is_cut_off_and_leaves_no_file(
    serve_cloud: ServeCloud, database_url: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    storage = tmp_path / "packages"
    served = serve_cloud(env={**SLOW, "GSM_CLOUD_STORAGE_DIR": str(storage)})
    engine = make_engine(database_url)
    try:
        with transaction(session_factory(engine)) as session:
            dev = accounts.create_user(
                session, email="dev@example.com", display_name="d", role="Developer", password=None
            )
            token = accounts.issue_token(session, dev, name="t", kind="personal", expires_at=None)
    finally:
        engine.dispose()
    auth = {"Authorization": f"Bearer {token.token}"}
    plugin = httpx.post(
        f"{served.url}/v1/plugins", json={"name": "P", "category": "admin"}, headers=auth
    )
    assert plugin.status_code == 201, plugin.text
    form = (
        b'--XyZ\r\nContent-Disposition: form-data; name="version"\r\n\r\n1.0.0\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="p.zip"\r\n\r\n'
    )
    head = (
        f"POST /v1/plugins/{plugin.json()['id']}/versions HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {token.token}\r\n"
        "Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 5000\r\n\r\n"
    ).encode() + form
    answer, _sent, took = trickle(served.port, head, b"z" * 4000)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert took < 8
    assert (storage / ".incoming").is_dir()  # the upload had begun: its file was made there
    wait_for(lambda: not list((storage / ".incoming").glob("*")))
    assert not [p for p in storage.rglob("*") if p.is_file()]
