"""Writers that lock a plugin row and writers that hold the change feed's lock never deadlock:
sync pushes installing a plugin race ratings and edits of that same plugin (PostgreSQL)."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from tests.cloud.conftest import ON_POSTGRES, MakeUser

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL's concurrent writers")


def test_pushes_and_ratings_of_one_plugin_do_not_deadlock(
    client: TestClient, make_user: MakeUser
) -> None:
    developer = make_user("Developer", password=None)
    plugin = client.post(
        "/v1/plugins", json={"name": "Hot", "category": "admin"}, headers=developer.headers
    ).json()
    users = [make_user(password=None) for _ in range(6)]

    def pusher(user) -> list[int]:  # type: ignore[no-untyped-def]
        statuses = []
        for _ in range(15):
            server_id, install_id = str(uuid.uuid4()), str(uuid.uuid4())
            operations = [
                {"id": str(uuid.uuid4()), "operation_type": "create", "entity_type": "game_server",
                 "entity_id": server_id, "data_payload": {"name": "s", "game_type": "rust",
                                                          "status": "stopped"}},
                {"id": str(uuid.uuid4()), "operation_type": "create",
                 "entity_type": "plugin_installation", "entity_id": install_id,
                 "data_payload": {"server_id": server_id, "plugin_id": plugin["id"],
                                  "name": "Hot", "version": "0.0.0"}},
            ]  # fmt: skip
            response = client.post(
                "/v1/sync/push", json={"operations": operations}, headers=user.headers
            )
            statuses.append(response.status_code)
        return statuses

    def rater(user) -> list[int]:  # type: ignore[no-untyped-def]
        url = f"/v1/plugins/{plugin['id']}/rating"
        return [
            client.put(url, json={"rating": 1 + i % 5}, headers=user.headers).status_code
            for i in range(15)
        ]

    with ThreadPoolExecutor(6) as pool:
        jobs = [pool.submit(pusher if i % 2 else rater, user) for i, user in enumerate(users)]
        statuses = [code for job in jobs for code in job.result()]
    assert set(statuses) == {200}, sorted(set(statuses))
