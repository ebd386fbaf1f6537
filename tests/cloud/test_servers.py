"""GET /v1/servers and /v1/servers/{id}: the caller's game servers only, filtered and paged."""

import uuid

from fastapi.testclient import TestClient

from gsm_cloud.db.models import GameServer
from tests.cloud.conftest import Account, MakeUser

COLUMNS = {
    "id",
    "name",
    "game_type",
    "status",
    "configuration",
    "performance_metrics",
    "player_count",
    "max_players",
    "uptime_seconds",
    "last_backup",
    "created_at",
    "updated_at",
    "owner_id",
    "community_id",
}


def add_server(db, owner: Account, name: str, game_type: str = "valheim", status: str = "stopped"):  # type: ignore[no-untyped-def]
    server = GameServer(
        name=name,
        game_type=game_type,
        status=status,
        configuration={"port": 2456},
        owner_id=owner.id,
    )
    db.add(server)
    db.commit()
    return server


def names(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


def test_list_shows_only_the_callers_servers_by_name(
    client: TestClient, make_user: MakeUser, db
) -> None:
    alice, bob = make_user(), make_user()
    for name in ["zeta", "alpha", "mid"]:
        add_server(db, alice, name)
    add_server(db, bob, "bobs")
    twins = sorted([add_server(db, alice, "twin").id, add_server(db, alice, "twin").id])

    response = client.get("/v1/servers", headers=alice.headers)
    assert names(response) == ["alpha", "mid", "twin", "twin", "zeta"]
    body = response.json()
    assert body["total"] == 5 and body["page"] == 1 and body["per_page"] == 50
    assert [item["id"] for item in body["items"][2:4]] == [str(t) for t in twins]
    assert set(body["items"][0]) == COLUMNS
    assert body["items"][0]["owner_id"] == str(alice.id)
    assert names(client.get("/v1/servers", headers=bob.headers)) == ["bobs"]


def test_filters_and_pages(client: TestClient, make_user: MakeUser, db) -> None:
    alice = make_user()
    add_server(db, alice, "a", "valheim", "running")
    add_server(db, alice, "b", "valheim", "stopped")
    add_server(db, alice, "c", "minecraft", "running")
    add_server(db, alice, "d", "minecraft", "stopped")

    def get(**params: object):  # type: ignore[no-untyped-def]
        return client.get("/v1/servers", params=params, headers=alice.headers)

    assert names(get(status="running")) == ["a", "c"]
    assert names(get(game_type="minecraft")) == ["c", "d"]
    assert names(get(status="stopped", game_type="valheim")) == ["b"]
    assert names(get(status="crashed")) == []
    page = get(per_page=3, page=2)
    assert names(page) == ["d"] and page.json()["total"] == 4
    assert names(get(per_page=3, page=3)) == []
    for bad in (
        {"status": "x" * 21},
        {"game_type": "g" * 51},
        {"status": "a\x00b"},
        {"status": ""},
        {"per_page": 0},
        {"per_page": 201},
        {"page": 0},
        {"page": 10**30},
    ):
        response = get(**bad)
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] == "invalid_request"


def test_get_one_server(client: TestClient, make_user: MakeUser, db) -> None:
    alice, bob = make_user(), make_user()
    server = add_server(db, alice, "mine")
    response = client.get(f"/v1/servers/{server.id}", headers=alice.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(server.id) and body["name"] == "mine"
    assert body["max_players"] == 10 and body["player_count"] == 0
    assert body["configuration"] == {"port": 2456}
    assert body["created_at"].endswith("Z")

    # Another user's server and a server that does not exist look the same.
    for who, server_id in [(bob, server.id), (alice, uuid.uuid4())]:
        missing = client.get(f"/v1/servers/{server_id}", headers=who.headers)
        assert missing.status_code == 404
        assert missing.json()["error"] == {"code": "server_not_found", "message": "no such server"}
    assert client.get("/v1/servers/not-a-uuid", headers=alice.headers).status_code == 422


def test_servers_need_a_token(client: TestClient) -> None:
    assert client.get("/v1/servers").status_code == 401
    assert client.get(f"/v1/servers/{uuid.uuid4()}").status_code == 401
