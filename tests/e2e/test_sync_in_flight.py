"""`gsm sync push` with two requests in flight against a real gsm-cloud: operations of one
entity spread over many requests still apply in queue order, and a request that overtook the
one before it and was refused (409 previous_batch_missing) is sent again once that one is
answered, nothing lost and nothing applied twice."""

import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from gsm_cli.cloud.client import CloudClient
from gsm_cli.errors import ConflictError
from gsm_cli.services import sync
from gsm_cli.store import Store, outbox
from gsm_cli.store.models import LocalServer
from tests.e2e.conftest import LiveCloud, serve_cloud


@pytest.fixture(scope="module")
def impatient_cloud(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A live gsm-cloud that waits only 1 ms for the request a push request follows."""
    extra = {"GSM_CLOUD_SYNC_ORDER_WAIT_MS": "1"}
    with serve_cloud(tmp_path_factory.mktemp("impatient-cloud"), extra) as cloud:
        yield cloud


def _queue_renames(path: Path, renames: int) -> str:
    """One server created, then renamed ``renames`` times: every operation on one entity."""
    with Store.open(path) as store, store.write() as session:
        server = LocalServer(
            id=str(uuid.uuid4()), name="chain-0", game_type="valheim", status="stopped",
            configuration={"max_players": 10}, port=2456,
        )  # fmt: skip
        outbox.record(session, server, "create")
        for i in range(1, renames + 1):
            server.name = f"chain-{i}"
            outbox.record(session, server, "update")
    return server.id


def _cloud_name(cloud: LiveCloud, token: str, server_id: str) -> str:
    response = httpx.get(
        f"{cloud.url}/v1/servers/{server_id}", headers={"Authorization": f"Bearer {token}"}
    )
    response.raise_for_status()
    return response.json()["name"]


def test_one_entitys_operations_over_many_requests_apply_in_order(
    live_cloud: LiveCloud, tmp_path: Path
) -> None:
    account = live_cloud.account()
    path = tmp_path / "gsm.db"
    server_id = _queue_renames(path, renames=40)

    with Store.open(path) as store, CloudClient(live_cloud.url, account.token) as client:
        summary = sync.push(store, client, batch_size=1)

    # An update applied before its create, or two renames swapped, would show as a conflict
    # or as a name other than the last.
    assert summary["applied"] == 41 and summary["conflict"] == 0 and summary["left"] == 0
    assert summary["batches"] == 41
    assert _cloud_name(live_cloud, account.token, server_id) == "chain-40"


class FirstRequestHeldBack(CloudClient):
    """A client whose first push request leaves only once the second one is answered, as on
    a network that delays one connection: the second reaches the cloud first."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(url, token)
        self.second_answered = threading.Event()
        self.sent: list[dict[str, Any]] = []
        self.refusals: list[str | None] = []
        self._lock = threading.Lock()

    def push(self, operations, **order):  # type: ignore[no-untyped-def,override]
        with self._lock:
            number = len(self.sent)
            self.sent.append(order)
        if number == 0:
            assert self.second_answered.wait(30), "the second request never went out"
        try:
            return super().push(operations, **order)
        except ConflictError as exc:
            self.refusals.append(exc.code)
            raise
        finally:
            if number == 1:
                self.second_answered.set()


def test_a_request_that_overtook_the_one_before_is_sent_again(
    impatient_cloud: LiveCloud, tmp_path: Path
) -> None:
    account = impatient_cloud.account()
    path = tmp_path / "gsm.db"
    server_id = _queue_renames(path, renames=1)  # create, then rename: two requests

    with Store.open(path) as store, FirstRequestHeldBack(impatient_cloud.url, account.token) as c:
        summary = sync.push(store, c, batch_size=1)

    assert c.refusals == ["previous_batch_missing"]  # the rename came first and was refused
    first, second, again = c.sent
    assert second["after_batch_id"] == first["batch_id"]
    assert again == {"batch_id": second["batch_id"]}  # the same request, following nothing
    assert summary["applied"] == 2 and summary["conflict"] == 0 and summary["left"] == 0
    assert _cloud_name(impatient_cloud, account.token, server_id) == "chain-1"
