"""Push requests in flight: a request that names the one it follows (``after_batch_id``)
applies only after that one committed, whatever order they reach the cloud in; it waits for it
a while, and is refused whole (409 previous_batch_missing, nothing applied) when it never
comes. docs/sync-protocol.md, "Requests in flight"."""

import dataclasses
import json
import sys
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from gsm_cloud.config import Settings
from gsm_cloud.db.models import GameServer, SyncBatch, SyncOperation
from gsm_cloud.services import sync as cloud_sync
from tests.cloud.conftest import Account, MakeUser
from tests.cloud.test_sync import local_server, operation, statuses


@pytest.fixture
def cloud_settings(cloud_settings: Settings) -> Settings:
    # Short, so that a request whose predecessor never comes is answered quickly.
    return dataclasses.replace(cloud_settings, sync_order_wait_ms=200)


def post(
    client: TestClient,
    who: Account,
    operations: list[dict[str, Any]],
    *,
    batch_id: uuid.UUID | None = None,
    after: uuid.UUID | None = None,
) -> Any:
    body: dict[str, Any] = {"operations": operations}
    if batch_id is not None:
        body["batch_id"] = str(batch_id)
    if after is not None:
        body["after_batch_id"] = str(after)
    return client.post(
        "/v1/sync/push",
        content=json.dumps(body),
        headers={**who.headers, "Content-Type": "application/json"},
    )


def test_the_follower_applies_on_what_its_predecessor_applied(
    client: TestClient, make_user: MakeUser, db
) -> None:
    alice = make_user()
    server = local_server(name="first")
    first, second = uuid.uuid4(), uuid.uuid4()

    created = post(client, alice, [operation("create", server)], batch_id=first)
    renamed = post(
        client,
        alice,
        [operation("update", local_server(server["id"], name="second"))],
        batch_id=second,
        after=first,
    )

    assert created.status_code == 200 and renamed.status_code == 200, renamed.text
    assert statuses(renamed.json()["results"]) == ["applied"]
    assert db.scalars(select(GameServer.name)).all() == ["second"]
    # The follower took its predecessor's place: only the latest request of a chain is kept.
    assert db.scalars(select(SyncBatch.id)).all() == [second]


def test_a_request_whose_predecessor_never_committed_is_refused_whole(
    client: TestClient, make_user: MakeUser, db
) -> None:
    alice = make_user()
    server = local_server()
    missing = uuid.uuid4()
    ops = [operation("create", server), operation("update", local_server(server["id"]))]

    started = time.monotonic()
    refused = post(client, alice, ops, batch_id=uuid.uuid4(), after=missing)
    waited = time.monotonic() - started

    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "previous_batch_missing"
    assert str(missing) in error["message"] and "nothing was applied" in error["message"]
    assert waited >= 0.2  # it waited the cloud's wait before giving up
    assert db.scalars(select(GameServer.id)).all() == []
    assert db.scalars(select(SyncOperation.id)).all() == []  # the ids are still free
    assert db.scalars(select(SyncBatch.id)).all() == []

    # Sent again following nothing (its predecessor is settled), it applies in full.
    again = post(client, alice, ops, batch_id=uuid.uuid4())
    assert statuses(again.json()["results"]) == ["applied", "applied"]


def test_another_accounts_request_is_never_followed(
    client: TestClient, make_user: MakeUser
) -> None:
    alice, bob = make_user(), make_user()
    alices = uuid.uuid4()
    assert post(client, alice, [operation("create", local_server())], batch_id=alices).is_success

    refused = post(client, bob, [operation("create", local_server())], after=alices)

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "previous_batch_missing"


def test_a_request_that_overtook_its_predecessor_waits_for_it(
    client: TestClient, make_user: MakeUser, db, mocker
) -> None:
    """The second request reaches the cloud first: it looks for its predecessor, does not find
    it, lets go of everything and looks again until the first one has committed."""
    settings = client.app.state.settings
    client.app.state.settings = dataclasses.replace(settings, sync_order_wait_ms=30_000)
    alice = make_user()
    server = local_server(name="created")
    first = uuid.uuid4()
    looked = threading.Event()
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:  # the follower's pause between looks: a signal here
        looked.set()
        real_sleep(seconds)

    mocker.patch.object(cloud_sync.time, "sleep", sleep)
    answers: list[Any] = []
    rename = [operation("update", local_server(server["id"], name="renamed"))]
    follower = threading.Thread(
        target=lambda: answers.append(post(client, alice, rename, after=first))
    )
    follower.start()
    assert looked.wait(30), "the follower never looked for its predecessor"

    created = post(client, alice, [operation("create", server)], batch_id=first)
    follower.join(60)

    assert created.status_code == 200
    assert answers and answers[0].status_code == 200, answers and answers[0].text
    assert statuses(answers[0].json()["results"]) == ["applied"]  # not "conflict"
    db.expire_all()
    assert db.scalars(select(GameServer.name)).all() == ["renamed"]


def test_a_users_old_batch_ids_are_forgotten(client: TestClient, make_user: MakeUser, db) -> None:
    alice, bob = make_user(), make_user()
    old, bobs, new = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    post(client, alice, [operation("create", local_server())], batch_id=old)
    post(client, bob, [operation("create", local_server())], batch_id=bobs)
    long_ago = cloud_sync.utcnow() - cloud_sync.BATCH_KEPT - timedelta(minutes=1)
    db.execute(update(SyncBatch).values(committed_at=long_ago))
    db.commit()

    post(client, alice, [operation("create", local_server())], batch_id=new)

    db.expire_all()
    assert set(db.scalars(select(SyncBatch.id))) == {bobs, new}  # only alice's are hers to clean


@pytest.mark.parametrize(
    "fields",
    [{"batch_id": "not-a-uuid"}, {"after_batch_id": 5}, {"batch_id": None, "after": "x"}],
)
def test_malformed_order_fields_are_refused_whole(
    client: TestClient, make_user: MakeUser, fields: dict[str, Any]
) -> None:
    alice = make_user()
    body = {"operations": [operation("create", local_server())], **fields}
    response = client.post(
        "/v1/sync/push",
        content=json.dumps(body),
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text


def test_pushes_hand_the_gil_over_promptly_while_they_run() -> None:
    """Two pushes in one worker: the switch interval is lowered while either runs and put
    back, as it was, once both are done (not when the first one ends)."""
    from gsm_cloud.api.routes import sync as route

    usual = sys.getswitchinterval()
    first, second = route._prompt_handoff(), route._prompt_handoff()
    first.__enter__()
    assert sys.getswitchinterval() == pytest.approx(route.PUSH_SWITCH_INTERVAL)
    second.__enter__()
    first.__exit__(None, None, None)
    assert sys.getswitchinterval() == pytest.approx(route.PUSH_SWITCH_INTERVAL)
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == usual
