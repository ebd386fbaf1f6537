"""GET /v1/servers/{id}/plugins: the plugins installed on one of the caller's game servers.
Sync push writes these rows; here they are inserted directly."""

import functools
import uuid
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gsm_cloud.db.models import GameServer, PluginInstallation
from tests.cloud.conftest import Account, MakeUser
from tests.packages import package_bytes


@pytest.fixture
def make_user(make_user: MakeUser) -> MakeUser:
    return functools.partial(make_user, password=None)


def add_server(db: Any, owner: Account, name: str = "survival") -> uuid.UUID:
    server = GameServer(
        id=uuid.uuid4(), name=name, game_type="minecraft", status="running", owner_id=owner.id
    )
    db.add(server)
    db.commit()
    return server.id


def add_installation(
    db: Any, server_id: uuid.UUID, plugin_id: uuid.UUID | None, version: str, at: datetime
) -> uuid.UUID:
    row = PluginInstallation(
        id=uuid.uuid4(),
        server_id=server_id,
        plugin_id=plugin_id,
        installed_version=version,
        installed_at=at,
        configuration={"homes": 3},
    )
    db.add(row)
    db.commit()
    return row.id


def test_installed_plugins_of_my_server(client: TestClient, make_user: MakeUser, db: Any) -> None:
    owner, dev = make_user(), make_user("Developer")
    listed = client.post(
        "/v1/plugins",
        json={"name": "Essentials", "category": "admin", "supported_games": ["minecraft"]},
        headers=dev.headers,
    ).json()
    published = client.post(
        f"/v1/plugins/{listed['id']}/versions",
        data={"version": "2.1.0"},
        files={"file": ("p.zip", package_bytes("Essentials", "2.1.0"))},
        headers=dev.headers,
    )
    assert published.status_code == 201
    unpublished = client.post(
        "/v1/plugins", json={"name": "Draft", "category": "admin"}, headers=dev.headers
    ).json()
    server = add_server(db, owner)
    other_server = add_server(db, owner, "creative")
    first = add_installation(
        db, server, uuid.UUID(listed["id"]), "2.0.0", datetime(2026, 1, 1, 12, 0, 0)
    )
    second = add_installation(
        db, server, uuid.UUID(unpublished["id"]), "0.1.0", datetime(2026, 1, 2)
    )
    add_installation(db, other_server, uuid.UUID(listed["id"]), "2.1.0", datetime(2026, 1, 3))

    response = client.get(f"/v1/servers/{server}/plugins", headers=owner.headers)
    assert response.status_code == 200, response.text
    assert response.json() == [
        {
            "id": str(first),
            "server_id": str(server),
            "plugin_id": listed["id"],
            "plugin_name": "Essentials",
            "latest_version": "2.1.0",
            "installed_version": "2.0.0",
            "installed_at": "2026-01-01T12:00:00Z",
            "configuration": {"homes": 3},
        },
        {
            "id": str(second),
            "server_id": str(server),
            "plugin_id": unpublished["id"],
            "plugin_name": "Draft",
            "latest_version": None,
            "installed_version": "0.1.0",
            "installed_at": "2026-01-02T00:00:00Z",
            "configuration": {"homes": 3},
        },
    ]


def test_a_server_without_plugins(client: TestClient, make_user: MakeUser, db: Any) -> None:
    owner = make_user()
    server = add_server(db, owner)
    response = client.get(f"/v1/servers/{server}/plugins", headers=owner.headers)
    assert (response.status_code, response.json()) == (200, [])


@pytest.mark.parametrize(
    ("who", "expected"),
    [("owner", 200), ("stranger", 404), ("admin", 404), (None, 401)],
)
def test_only_the_owner_sees_a_servers_plugins(
    client: TestClient, make_user: MakeUser, db: Any, who: str | None, expected: int
) -> None:
    owner = make_user()
    server = add_server(db, owner)
    add_installation(db, server, None, "1.0.0", datetime(2026, 1, 1))
    callers = {"owner": owner, "stranger": make_user(), "admin": make_user("Admin")}
    headers = callers[who].headers if who else {}
    response = client.get(f"/v1/servers/{server}/plugins", headers=headers)
    assert response.status_code == expected, response.text
    if expected == 404:
        assert response.json()["error"]["code"] == "server_not_found"


def test_unknown_and_malformed_server_ids(client: TestClient, make_user: MakeUser) -> None:
    user = make_user()
    missing = client.get(f"/v1/servers/{uuid.uuid4()}/plugins", headers=user.headers)
    assert missing.status_code == 404
    assert client.get("/v1/servers/nope/plugins", headers=user.headers).status_code == 422
