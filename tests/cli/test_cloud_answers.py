"""The cloud client distrusts the cloud's answers: a redirect (never followed), no content where
JSON is expected, a body that is not JSON, JSON of the wrong shape all give exit 7
(`cloud_bad_answer`) with a clear message, never "unexpected". Each against a tiny HTTP server
on 127.0.0.1."""

import http.server
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gsm_cli.cloud.client import CloudAnswerError, CloudClient, EncodedOperation
from gsm_cli.errors import InvalidInputError
from gsm_cli.services import device, sync
from gsm_cli.store import Store, outbox
from gsm_cli.store.models import LocalServer
from tests.conftest import GsmRunner

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class FakeCloud:
    """Answers each path with a fixed (status, headers, body); records what it was asked."""

    url: str
    answers: dict[str, Answer | Callable[[bytes], Answer]] = field(default_factory=dict)
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    def answer(self, path: str, status: int, body: Any = b"", **headers: str) -> None:
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        self.answers[path] = (status, headers, body)


def _handler(cloud: "FakeCloud") -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            cloud.bodies.append(self.rfile.read(length) if length else b"")
            path = self.path.split("?", 1)[0]
            cloud.seen.append((self.command, path, dict(self.headers)))
            answer = cloud.answers.get(path, (404, {}, b""))
            status, headers, body = answer(cloud.bodies[-1]) if callable(answer) else answer
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def fake_cloud() -> Iterator[FakeCloud]:
    servers = []

    def start() -> FakeCloud:
        cloud = FakeCloud("")
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(cloud))
        cloud.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return cloud

    yield start  # type: ignore[misc]
    for server in servers:
        server.shutdown()
        server.server_close()


ME = {"id": "6559187f-0000-0000-0000-000000000001", "email": "ana@example.com", "role": "Basic"}


def status_with(gsm: GsmRunner, cloud: FakeCloud):  # type: ignore[no-untyped-def]
    return gsm("auth", "status", "--json", env={"GSM_TOKEN": "gsmc_t", "GSM_API_URL": cloud.url})


@pytest.mark.parametrize(
    ("status", "body", "headers", "says"),
    [
        (302, b"", {"Location": "{elsewhere}/v1/me"}, "redirect (HTTP 302 to http://"),
        (307, b"", {"Location": "{elsewhere}/v1/me"}, "redirect (HTTP 307"),
        (204, b"", {}, "no content (HTTP 204)"),
        (200, b"", {}, "no content (HTTP 200)"),
        (200, b"<html>hello</html>", {"Content-Type": "text/html"}, "not JSON (text/html)"),
        (200, [], {}, "the account is a list, not an object"),
        (200, {"email": "ana@example.com"}, {}, "the account has no 'id'"),
        (200, {**ME, "email": 5}, {}, "the account: 'email' is a number"),
    ],
)
def test_unusable_answers_to_auth_status_exit_7(
    gsm: GsmRunner, fake_cloud, status: int, body: Any, headers: dict[str, str], says: str
) -> None:  # type: ignore[no-untyped-def]
    cloud, elsewhere = fake_cloud(), fake_cloud()
    headers = {k: v.format(elsewhere=elsewhere.url) for k, v in headers.items()}
    cloud.answer("/v1/me", status, body, **headers)
    result = status_with(gsm, cloud)
    assert result.exit_code == 7, (result.stdout, result.stderr)
    error = result.error()
    assert error["code"] == "cloud_bad_answer"
    assert error["message"].startswith(f"the cloud at {cloud.url} sent an answer gsm cannot use")
    assert says in error["message"]
    assert result.stdout == ""
    assert elsewhere.seen == []  # the token never went where a redirect pointed


def test_the_redirect_is_not_followed_even_to_the_same_cloud(gsm: GsmRunner, fake_cloud) -> None:  # type: ignore[no-untyped-def]
    cloud = fake_cloud()
    cloud.answer("/v1/me", 301, b"", Location="/v2/me")
    cloud.answer("/v2/me", 200, ME)
    result = status_with(gsm, cloud)
    assert result.exit_code == 7 and "redirect" in result.error()["message"]
    assert [path for _method, path, _h in cloud.seen] == ["/v1/me"]


def test_a_good_answer_still_works(gsm: GsmRunner, fake_cloud) -> None:  # type: ignore[no-untyped-def]
    cloud = fake_cloud()
    cloud.answer("/v1/me", 200, ME)
    result = status_with(gsm, cloud)
    assert result.exit_code == 0, result.stderr
    assert result.json()["email"] == "ana@example.com"
    _method, _path, headers = cloud.seen[0]
    lowered = {k.lower(): v for k, v in headers.items()}
    assert lowered["authorization"] == "Bearer gsmc_t"
    assert len(lowered["x-gsm-device-id"]) == 36  # this store's device id, on every request
    assert lowered["x-gsm-device-name"]


@pytest.mark.parametrize(
    ("method", "path", "body", "says"),
    [
        ("push", "/v1/sync/push", {"results": {}}, "the push answer: 'results' is an object"),
        ("push", "/v1/sync/push", [], "the push answer is a list, not an object"),
        ("push", "/v1/sync/push", {"results": [5]}, "a push result is a number, not an object"),
        ("push", "/v1/sync/push", {"results": [{"id": "x"}]}, "a push result has no 'status'"),
        ("push", "/v1/sync/push", {"results": [{"id": "a", "status": "applied"}] * 2},
         "2 results for 1 operations"),
        ("login", "/v1/auth/token", {"access_token": 5, "token_id": None},
         "'access_token' is a number"),
        ("token_info", "/v1/auth/token", {"devices": [{"device_id": 1}]},
         "a device of the token: 'device_id' is a number"),
        ("health", "/healthz", "ok", "the health answer is text, not an object"),
    ],
)  # fmt: skip
def test_answers_of_the_wrong_shape(
    fake_cloud, method: str, path: str, body: Any, says: str
) -> None:  # type: ignore[no-untyped-def]
    cloud = fake_cloud()
    cloud.answer(path, 200, body)
    calls = {
        "push": lambda c: c.push([{"id": "a"}]),
        "login": lambda c: c.login("ana@example.com", "pw"),
        "token_info": lambda c: c.token_info(),
        "health": lambda c: c.health(),
    }
    with CloudClient(cloud.url, "gsmc_t") as client, pytest.raises(CloudAnswerError) as caught:
        calls[method](client)
    assert caught.value.exit_code == 7 and caught.value.code == "cloud_bad_answer"
    assert says in caught.value.message


def test_a_too_large_batch_is_pushed_in_halves(fake_cloud) -> None:  # type: ignore[no-untyped-def]
    """A 413 from the cloud: the batch is sent again in halves, each answered in order; one
    operation too large on its own can never be pushed, so it is answered rejected."""
    cloud = fake_cloud()
    too_large = {"error": {"code": "too_large", "message": "the request body is over 10 bytes"}}

    def push(body: bytes) -> Answer:
        operations = json.loads(body)["operations"]
        if len(operations) > 2 or any(op["id"] == "huge" for op in operations):
            return 413, {"Content-Type": "application/json"}, json.dumps(too_large).encode()
        results = [{"id": op["id"], "status": "applied"} for op in operations]
        return 200, {"Content-Type": "application/json"}, json.dumps({"results": results}).encode()

    cloud.answers["/v1/sync/push"] = push
    with CloudClient(cloud.url, "gsmc_t") as client:
        results = client.push([{"id": i} for i in ("a", "b", "huge", "c", "d")])
    assert [(r["id"], r["status"]) for r in results] == [
        ("a", "applied"), ("b", "applied"), ("huge", "rejected"), ("c", "applied"),
        ("d", "applied"),
    ]  # fmt: skip
    assert "over 10 bytes" in results[2]["reason"]
    sizes = [len(json.loads(body)["operations"]) for body in cloud.bodies]
    assert sizes == [5, 2, 3, 1, 2]  # 5 too many; 2 fine; 3 too many: 1 (huge), then 2


def test_encoded_operations_go_as_they_are_and_in_halves(fake_cloud) -> None:  # type: ignore[no-untyped-def]
    """Operations already written as JSON are sent byte for byte; a 413 halves them as it
    halves dicts, and one too large on its own is answered rejected under its id."""
    cloud = fake_cloud()
    too_large = {"error": {"code": "too_large", "message": "the request body is over 10 bytes"}}

    def push(body: bytes) -> Answer:
        operations = json.loads(body)["operations"]
        if len(operations) > 2 or any(op["id"] == "huge" for op in operations):
            return 413, {"Content-Type": "application/json"}, json.dumps(too_large).encode()
        results = [{"id": op["id"], "status": "applied"} for op in operations]
        return 200, {"Content-Type": "application/json"}, json.dumps({"results": results}).encode()

    cloud.answers["/v1/sync/push"] = push
    encoded = [
        EncodedOperation(i, b'{"id": "%s", "data_payload": {"n": NaN}}' % i.encode())
        for i in ("a", "huge", "c")
    ]
    with CloudClient(cloud.url, "gsmc_t") as client:
        results = client.push(encoded)
    assert [(r["id"], r["status"]) for r in results] == [
        ("a", "applied"), ("huge", "rejected"), ("c", "applied"),
    ]  # fmt: skip
    assert cloud.bodies[0] == b'{"operations": [' + b", ".join(op.json for op in encoded) + b"]}"
    assert [len(json.loads(body)["operations"]) for body in cloud.bodies] == [3, 1, 2, 1, 1]


def test_a_push_sends_each_queued_payload_as_the_store_holds_it(fake_cloud, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The push puts each payload's stored JSON text into the request as it is: the cloud gets
    the values wire_operation gives (NaN and text that is not valid Unicode too), and a server
    of this device goes with the device's current name."""
    cloud = fake_cloud()

    def push(body: bytes) -> Answer:
        results = [{"id": op["id"], "status": "applied"} for op in json.loads(body)["operations"]]
        return 200, {"Content-Type": "application/json"}, json.dumps({"results": results}).encode()

    cloud.answers["/v1/sync/push"] = push
    this = device.Device(id=str(uuid.uuid4()), name="machine-new")
    odd = {"path": "/srv/mc\udcff", "ratio": float("nan"), "motd": "caf\u00e9"}
    with Store.open(tmp_path / "gsm.db") as store:
        with store.write() as session:
            for name, device_id in (("mine", this.id), ("theirs", str(uuid.uuid4()))):
                server = LocalServer(
                    id=str(uuid.uuid4()), name=name, game_type="valheim", status="stopped",
                    configuration=odd, device_id=device_id, device_name="machine-old",
                )  # fmt: skip
                outbox.record(session, server, "create")
        with store.read() as session:
            expected = [sync.wire_operation(row) for row in sync._next_batch(session, 0, 10)]
        with CloudClient(cloud.url, "gsmc_t") as client:
            summary = sync.push(store, client, batch_size=10, this=this)
    assert summary["applied"] == 2 and summary["left"] == 0
    expected[0]["data_payload"]["device_name"] = "machine-new"  # this device's server only
    assert expected[1]["data_payload"]["device_name"] == "machine-old"
    sent = json.loads(cloud.bodies[-1])["operations"]
    assert json.dumps(sent, sort_keys=True) == json.dumps(expected, sort_keys=True)  # NaN too


def test_rate_limited_is_exit_7_with_the_wait(gsm: GsmRunner, fake_cloud) -> None:  # type: ignore[no-untyped-def]
    cloud = fake_cloud()
    error = {"error": {"code": "too_many_requests", "message": "too many log-in attempts"}}
    cloud.answer("/v1/me", 429, error, **{"Retry-After": "42"})
    result = status_with(gsm, cloud)
    assert result.exit_code == 7
    assert result.error()["code"] == "cloud_rate_limited"
    assert result.error()["hint"] == "try again in 42 s"


def test_a_push_carries_text_that_is_not_valid_unicode_to_the_cloud(fake_cloud) -> None:  # type: ignore[no-untyped-def]
    """A lone surrogate (a file name that is not UTF-8) or NaN in a payload must not keep the
    batch from leaving: the cloud answers that operation rejected, and the others apply."""
    cloud = fake_cloud()
    results = {"results": [{"id": "a", "status": "applied"}, {"id": "b", "status": "rejected"}]}
    cloud.answer("/v1/sync/push", 200, results)
    operations = [{"id": "a", "data_payload": {"install_path": "/srv/mc\udcff"}},
                  {"id": "b", "data_payload": {"ratio": float("nan")}}]  # fmt: skip
    with CloudClient(cloud.url, "gsmc_t") as client:
        assert [r["status"] for r in client.push(operations)] == ["applied", "rejected"]
    sent = cloud.bodies[-1]
    assert b"/srv/mc\\udcff" in sent and b"NaN" in sent


def _queue_servers(path, count: int) -> None:  # type: ignore[no-untyped-def]
    with Store.open(path) as store, store.write() as session:
        for i in range(count):
            server = LocalServer(
                id=str(uuid.uuid4()), name=f"s-{i}", game_type="valheim", status="stopped"
            )
            outbox.record(session, server, "create")


def _applied(body: bytes) -> Answer:
    results = [{"id": op["id"], "status": "applied"} for op in json.loads(body)["operations"]]
    return 200, {"Content-Type": "application/json"}, json.dumps({"results": results}).encode()


def test_a_push_keeps_two_requests_in_flight_each_following_the_one_before(
    fake_cloud, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """The first request is answered only once the second has arrived: it was sent while the
    first was in flight. Each request names itself and the one before it."""
    cloud = fake_cloud()
    second_arrived = threading.Event()

    def push(body: bytes) -> Answer:
        if len(cloud.bodies) >= 2:
            second_arrived.set()
        else:
            second_arrived.wait(10)
        return _applied(body)

    cloud.answers["/v1/sync/push"] = push
    _queue_servers(tmp_path / "gsm.db", 3)
    with Store.open(tmp_path / "gsm.db") as store, CloudClient(cloud.url, "gsmc_t") as client:
        summary = sync.push(store, client, batch_size=1)

    assert second_arrived.is_set(), "the second request waited for the first one's answer"
    assert summary["applied"] == 3 and summary["left"] == 0
    bodies = [json.loads(body) for body in cloud.bodies]
    ids = [body["batch_id"] for body in bodies]
    assert len(set(ids)) == 3 and all(uuid.UUID(i) for i in ids)
    assert [body.get("after_batch_id") for body in bodies] == [None, ids[0], ids[1]]
    assert "after_batch_id" not in bodies[0]  # left out, not null


OLD_CLOUD_REFUSAL = {
    "error": {
        "code": "invalid_request",
        "message": "batch_id: Extra inputs are not permitted; after_batch_id: Extra inputs "
        "are not permitted",
    }
}


def test_a_cloud_without_batch_ids_gets_one_request_at_a_time(fake_cloud, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A gsm-cloud from before requests in flight refuses the unknown fields (422, nothing
    applied): the batch goes again without them, and the rest one request at a time."""
    cloud = fake_cloud()
    in_flight = 0
    most = 0
    lock = threading.Lock()

    def push(body: bytes) -> Answer:
        nonlocal in_flight, most
        if "batch_id" in json.loads(body):
            return 422, {"Content-Type": "application/json"}, json.dumps(OLD_CLOUD_REFUSAL).encode()
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        try:
            return _applied(body)
        finally:
            with lock:
                in_flight -= 1

    cloud.answers["/v1/sync/push"] = push
    _queue_servers(tmp_path / "gsm.db", 4)
    with Store.open(tmp_path / "gsm.db") as store, CloudClient(cloud.url, "gsmc_t") as client:
        summary = sync.push(store, client, batch_size=1)

    assert summary["applied"] == 4 and summary["left"] == 0 and summary["batches"] == 4
    plain = [json.loads(body) for body in cloud.bodies if b"batch_id" not in body]
    assert [len(body["operations"]) for body in plain] == [1, 1, 1, 1]
    assert most == 1
    # Only the requests sent before the refusal came back carried the fields.
    assert sum(b"batch_id" in body for body in cloud.bodies) == 2


def test_other_refusals_of_a_whole_request_still_stop_the_push(fake_cloud, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cloud = fake_cloud()
    refusal = {"error": {"code": "invalid_request", "message": "operations: Field required"}}
    cloud.answer("/v1/sync/push", 422, refusal)
    _queue_servers(tmp_path / "gsm.db", 2)
    with Store.open(tmp_path / "gsm.db") as store, CloudClient(cloud.url, "gsmc_t") as client:
        with pytest.raises(InvalidInputError, match="Field required"):
            sync.push(store, client, batch_size=1)
        with store.read() as session:
            assert sync.queued_count(session) == 2


def test_halves_of_a_request_in_a_chain_keep_its_place(fake_cloud) -> None:  # type: ignore[no-untyped-def]
    """The first half follows what the whole request followed; the halves go one after the
    other; the last one carries the request's own batch_id, for the request after it."""
    cloud = fake_cloud()
    too_large = {"error": {"code": "too_large", "message": "the request body is over 10 bytes"}}

    def push(body: bytes) -> Answer:
        if len(json.loads(body)["operations"]) > 2:
            return 413, {"Content-Type": "application/json"}, json.dumps(too_large).encode()
        return _applied(body)

    cloud.answers["/v1/sync/push"] = push
    with CloudClient(cloud.url, "gsmc_t") as client:
        results = client.push(
            [{"id": i} for i in "abcde"], batch_id="mine", after_batch_id="before"
        )
    assert [r["id"] for r in results] == list("abcde")
    sent = [json.loads(body) for body in cloud.bodies]
    orders = [(len(b["operations"]), b.get("batch_id"), b.get("after_batch_id")) for b in sent]
    assert orders == [
        (5, "mine", "before"),  # too large
        (2, None, "before"),  # a, b
        (3, "mine", None),  # too large
        (1, None, None),  # c
        (2, "mine", None),  # d, e
    ]
