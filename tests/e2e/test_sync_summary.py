"""A server's performance summary through `gsm sync push` to a real gsm-cloud: only the latest
one travels, after the server's create, and the cloud's game server shows it; a summary
replaced while a push is sending the old one is not lost."""

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gsm_cli.cloud.client import CloudClient
from gsm_cli.services import cloud_summary, sync
from gsm_cli.services.sampling import Sample
from gsm_cli.store import Store
from tests.conftest import GsmRunner
from tests.e2e.conftest import LiveCloud
from tests.e2e.test_sync import _cloud_servers, _create, _login, _queue

STARTED = 1_764_770_000.0


def _queue_samples(home: Path, server_id: str, players: range) -> None:
    with Store.open(home / "gsm.db") as store:
        for count in players:
            with store.write() as session:
                sample = Sample(
                    cpu_usage=25.0 + count,
                    memory_usage=700.5,
                    network_latency=0.8,
                    player_count=count,
                    max_players=16,
                )
                cloud_summary.queue_summary_of_sample(session, server_id, sample, STARTED)


def _server_id(gsm: GsmRunner, name: str) -> str:
    return gsm("server", "show", name, "--json").json()["id"]


def test_push_delivers_only_the_latest_summary(
    gsm: GsmRunner, gsm_home: Path, live_cloud: LiveCloud
) -> None:
    account = live_cloud.account()
    _login(gsm, live_cloud, account.token)
    _create(gsm, "summary-1", 27000)
    server_id = _server_id(gsm, "summary-1")
    _queue_samples(gsm_home, server_id, range(20))
    assert len(_queue(gsm_home)) == 2  # its create, then one summary

    result = gsm("sync", "push", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["applied"] == 2 and result.json()["left"] == 0
    cloud = _cloud_servers(live_cloud, account.token)["summary-1"]
    assert cloud["player_count"] == 19 and cloud["uptime_seconds"] > 0
    metrics = cloud["performance_metrics"]
    assert metrics["cpu_usage"] == 44.0 and metrics["max_players"] == 16
    assert metrics["recorded_at"].endswith("Z")
    shown = gsm("server", "show", "summary-1", "--json").json()
    assert shown["cloud_sync_status"] == "synced"
    # the server comes back through pull with its summary: applied here, no conflict
    _queue_samples(gsm_home, server_id, range(20, 21))
    pulled = gsm("sync", "pull", "--json")
    assert pulled.exit_code == 0, pulled.stderr
    assert pulled.json()["skipped"] == 0 and pulled.json()["conflicts"] == []
    assert gsm("server", "show", "summary-1", "--json").json()["cloud_sync_status"] == "synced"

    # a server deleted here takes its waiting summary with it: only the delete travels
    _queue_samples(gsm_home, server_id, range(3))
    assert gsm("server", "delete", "summary-1", "--yes").exit_code == 0
    result = gsm("sync", "push", "--json")
    assert result.json()["applied"] == 1 and result.json()["rejected"] == 0
    assert "summary-1" not in _cloud_servers(live_cloud, account.token)


class _Gate(http.server.BaseHTTPRequestHandler):
    """Passes requests to the cloud; holds the first push until the test lets it go."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server: Any = self.server
        server.bodies.append(json.loads(body))
        if not server.holding.is_set():
            server.holding.set()
            assert server.release.wait(15)
        answer = httpx.post(
            server.cloud_url + self.path,
            content=body,
            headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
            timeout=30,
        )
        self.send_response(answer.status_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def gate(live_cloud: LiveCloud) -> Iterator[Any]:
    server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Gate)
    server.cloud_url = live_cloud.url
    server.holding, server.release = threading.Event(), threading.Event()
    server.bodies = []  # what each request carried
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def test_a_summary_replaced_while_the_push_sends_the_old_one_is_not_lost(
    gsm: GsmRunner, gsm_home: Path, live_cloud: LiveCloud, gate: Any
) -> None:
    account = live_cloud.account()
    _login(gsm, live_cloud, account.token)
    _create(gsm, "summary-race", 27010)
    server_id = _server_id(gsm, "summary-race")
    assert gsm("sync", "push").exit_code == 0
    _queue_samples(gsm_home, server_id, range(1, 2))
    outcome: dict[str, Any] = {}

    def push() -> None:
        url = f"http://127.0.0.1:{gate.server_address[1]}"
        try:
            with Store.open(gsm_home / "gsm.db") as store, CloudClient(url, account.token) as c:
                outcome["result"] = sync.push(store, c, batch_size=100)
        except BaseException as exc:  # reported by the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=push)
    thread.start()
    assert gate.holding.wait(15)  # the old summary is on its way to the cloud
    [held] = gate.bodies[0]["operations"]
    assert held["entity_type"] == "server_summary" and held["data_payload"]["player_count"] == 1
    _queue_samples(gsm_home, server_id, range(2, 6))  # replaced, in another store handle
    gate.release.set()
    thread.join(30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"]["rejected"] == 0
    # the newer summary went with the same push (it was queued after the batch) or waits
    if _queue(gsm_home):
        assert gsm("sync", "push").exit_code == 0
    assert _queue(gsm_home) == []
    cloud = _cloud_servers(live_cloud, account.token)["summary-race"]
    assert cloud["player_count"] == 5 and cloud["performance_metrics"]["cpu_usage"] == 30.0
