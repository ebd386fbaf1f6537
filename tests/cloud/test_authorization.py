"""Who may do what, as one matrix over the whole API (docs/authorization rules of issue 5):

- nobody reads or changes another user's servers or plugin installations;
- a private community is visible to its members only (404 to everyone else);
- only a plugin's developer publishes its versions or edits it; only Admin verifies;
- only a community's Owner or Admin manages its members and invitations; only an Owner
  deletes it.

Every cell is a real request against a world built through the API itself.
"""

import functools
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.cloud.conftest import Account, MakeUser
from tests.packages import package_bytes


@dataclass
class World:
    people: dict[str, Account]
    ids: dict[str, str]


def push(client: TestClient, who: Account, *operations: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(
        "/v1/sync/push", json={"operations": list(operations)}, headers=who.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


def operation(kind: str, entity: str, entity_id: str, payload: dict[str, Any] | None) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "operation_type": kind,
        "entity_type": entity,
        "entity_id": entity_id,
        "data_payload": payload,
    }


def server_payload(server_id: str, name: str) -> dict[str, Any]:
    return {"id": server_id, "name": name, "game_type": "valheim", "status": "stopped",
            "configuration": {"max_players": 10}}  # fmt: skip


@pytest.fixture
def world(client: TestClient, make_user: MakeUser) -> World:
    make_user = functools.partial(make_user, password=None)  # tokens only: no argon2 cost
    people = {
        "owner": make_user(),  # owns the server and the private community
        "member": make_user(),
        "moderator": make_user(),
        "cadmin": make_user(),  # the community's Admin
        "stranger": make_user(),
        "developer": make_user("Developer"),
        "other_dev": make_user("Developer"),
        "admin": make_user("Admin"),
    }
    ids: dict[str, str] = {}
    # A plugin with a published version.
    plugin = client.post(
        "/v1/plugins", json={"name": "Essentials", "category": "admin", "price": "0",
                             "supported_games": ["minecraft"]},
        headers=people["developer"].headers,
    ).json()  # fmt: skip
    ids["plugin"] = plugin["id"]
    published = client.post(
        f"/v1/plugins/{plugin['id']}/versions", data={"version": "1.0.0"},
        files={"file": ("p.zip", package_bytes("Essentials", "1.0.0"))},
        headers=people["developer"].headers,
    )  # fmt: skip
    assert published.status_code == 201, published.text
    # A paid plugin with a published version, and a user who bought it.
    paid = client.post(
        "/v1/plugins", json={"name": "Premium", "category": "admin", "price": "4.99",
                             "supported_games": ["minecraft"]},
        headers=people["developer"].headers,
    ).json()  # fmt: skip
    ids["paid"] = paid["id"]
    published = client.post(
        f"/v1/plugins/{paid['id']}/versions",
        files={"file": ("p.zip", package_bytes("Premium", "1.0.0"))},
        headers=people["developer"].headers,
    )  # fmt: skip
    assert published.status_code == 201, published.text
    people["buyer"] = make_user()
    bought = client.post(f"/v1/plugins/{paid['id']}/purchase", headers=people["buyer"].headers)
    assert bought.status_code == 201, bought.text
    # The owner's server with that plugin installed, written through sync.
    ids["server"], ids["installation"] = str(uuid.uuid4()), str(uuid.uuid4())
    results = push(
        client,
        people["owner"],
        operation("create", "game_server", ids["server"], server_payload(ids["server"], "mine")),
        operation(
            "create",
            "plugin_installation",
            ids["installation"],
            {
                "id": ids["installation"],
                "server_id": ids["server"],
                "plugin_id": ids["plugin"],
                "name": "Essentials",
                "version": "1.0.0",
            },
        ),
    )
    assert [r["status"] for r in results] == ["applied", "applied"], results
    # A community that members join while public, then made private.
    community = client.post(
        "/v1/communities", json={"name": "Vikings", "is_public": True},
        headers=people["owner"].headers,
    ).json()  # fmt: skip
    ids["community"] = community["id"]
    for name in ("member", "moderator", "cadmin"):
        joined = client.post(
            f"/v1/communities/{ids['community']}/join", headers=people[name].headers
        )
        assert joined.status_code == 200, joined.text
    for name, role in (("moderator", "Moderator"), ("cadmin", "Admin")):
        changed = client.patch(
            f"/v1/communities/{ids['community']}/members/{people[name].id}",
            json={"role": role}, headers=people["owner"].headers,
        )  # fmt: skip
        assert changed.status_code == 200, changed.text
    made_private = client.patch(
        f"/v1/communities/{ids['community']}", json={"is_public": False},
        headers=people["owner"].headers,
    )  # fmt: skip
    assert made_private.status_code == 200
    invitation = client.post(
        f"/v1/communities/{ids['community']}/invitations", json={},
        headers=people["owner"].headers,
    )  # fmt: skip
    assert invitation.status_code == 201, invitation.text
    ids["invitation"] = invitation.json()["id"]
    return World(people, ids)


# (who, method, path, body, expected status)
MATRIX = [
    # Servers and installations: the owner only; everyone else sees nothing (404).
    ("owner", "GET", "/v1/servers/{server}", None, 200),
    ("stranger", "GET", "/v1/servers/{server}", None, 404),
    ("admin", "GET", "/v1/servers/{server}", None, 404),
    ("owner", "GET", "/v1/servers/{server}/plugins", None, 200),
    ("stranger", "GET", "/v1/servers/{server}/plugins", None, 404),
    ("developer", "GET", "/v1/servers/{server}/plugins", None, 404),
    # A private community: members see it; nobody else learns it exists.
    ("member", "GET", "/v1/communities/{community}", None, 200),
    ("stranger", "GET", "/v1/communities/{community}", None, 404),
    ("admin", "GET", "/v1/communities/{community}", None, 404),
    ("member", "GET", "/v1/communities/{community}/members", None, 200),
    ("stranger", "GET", "/v1/communities/{community}/members", None, 404),
    ("stranger", "POST", "/v1/communities/{community}/join", None, 404),
    ("stranger", "PATCH", "/v1/communities/{community}", {"name": "Mine now"}, 404),
    # Managing members: the community's Owner or Admin only.
    (
        "member",
        "PATCH",
        "/v1/communities/{community}/members/{moderator_id}",
        {"role": "Member"},
        403,
    ),
    (
        "moderator",
        "PATCH",
        "/v1/communities/{community}/members/{member_id}",
        {"role": "Moderator"},
        403,
    ),
    (
        "cadmin",
        "PATCH",
        "/v1/communities/{community}/members/{member_id}",
        {"role": "Moderator"},
        200,
    ),
    (
        "owner",
        "PATCH",
        "/v1/communities/{community}/members/{member_id}",
        {"role": "Moderator"},
        200,
    ),
    (
        "stranger",
        "PATCH",
        "/v1/communities/{community}/members/{member_id}",
        {"role": "Admin"},
        404,
    ),
    ("member", "DELETE", "/v1/communities/{community}/members/{moderator_id}", None, 403),
    ("moderator", "DELETE", "/v1/communities/{community}/members/{member_id}", None, 403),
    ("cadmin", "DELETE", "/v1/communities/{community}/members/{member_id}", None, 204),
    ("member", "PATCH", "/v1/communities/{community}", {"name": "Renamed"}, 403),
    ("cadmin", "DELETE", "/v1/communities/{community}", None, 403),
    # Deleting a community: its Owner only.
    ("owner", "DELETE", "/v1/communities/{community}", None, 204),
    ("member", "DELETE", "/v1/communities/{community}", None, 403),
    ("stranger", "DELETE", "/v1/communities/{community}", None, 404),
    # Invitations: the community's Owner or Admin only; nobody else learns it exists.
    ("owner", "POST", "/v1/communities/{community}/invitations", {}, 201),
    ("cadmin", "POST", "/v1/communities/{community}/invitations", {"max_uses": 5}, 201),
    ("moderator", "POST", "/v1/communities/{community}/invitations", {}, 403),
    ("member", "POST", "/v1/communities/{community}/invitations", {}, 403),
    ("stranger", "POST", "/v1/communities/{community}/invitations", {}, 404),
    ("admin", "POST", "/v1/communities/{community}/invitations", {}, 404),
    ("owner", "GET", "/v1/communities/{community}/invitations", None, 200),
    ("cadmin", "GET", "/v1/communities/{community}/invitations", None, 200),
    ("member", "GET", "/v1/communities/{community}/invitations", None, 403),
    ("stranger", "GET", "/v1/communities/{community}/invitations", None, 404),
    ("cadmin", "DELETE", "/v1/communities/{community}/invitations/{invitation}", None, 204),
    ("moderator", "DELETE", "/v1/communities/{community}/invitations/{invitation}", None, 403),
    ("member", "DELETE", "/v1/communities/{community}/invitations/{invitation}", None, 403),
    ("stranger", "DELETE", "/v1/communities/{community}/invitations/{invitation}", None, 404),
    ("stranger", "POST", "/v1/communities/{community}/join", {"code": "gsmi_guessed"}, 403),
    # Plugins: the developer publishes and edits; only Admin verifies.
    ("developer", "POST", "/v1/plugins/{plugin}/versions", "package", 201),
    ("other_dev", "POST", "/v1/plugins/{plugin}/versions", "package", 403),
    ("admin", "POST", "/v1/plugins/{plugin}/versions", "package", 403),
    ("stranger", "POST", "/v1/plugins/{plugin}/versions", "package", 403),
    ("other_dev", "PATCH", "/v1/plugins/{plugin}", {"description": "hijacked"}, 403),
    ("developer", "PATCH", "/v1/plugins/{plugin}", {"description": "better"}, 200),
    ("developer", "POST", "/v1/plugins/{plugin}/verify", None, 403),
    ("stranger", "POST", "/v1/plugins/{plugin}/verify", None, 403),
    ("admin", "POST", "/v1/plugins/{plugin}/verify", None, 200),
    ("stranger", "POST", "/v1/plugins", {"name": "x", "category": "admin"}, 403),
    # A paid plugin's package: its developer and its buyers only; free ones for everyone.
    ("developer", "GET", "/v1/plugins/{paid}/download", None, 200),
    ("buyer", "GET", "/v1/plugins/{paid}/download", None, 200),
    ("stranger", "GET", "/v1/plugins/{paid}/download", None, 403),
    ("other_dev", "GET", "/v1/plugins/{paid}/download", None, 403),
    ("admin", "GET", "/v1/plugins/{paid}/download", None, 403),
    ("anonymous", "GET", "/v1/plugins/{paid}/download", None, 401),
    ("anonymous", "GET", "/v1/plugins/{plugin}/download", None, 200),
    ("stranger", "GET", "/v1/plugins/{plugin}/download", None, 200),
]


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "expected"),
    MATRIX,
    ids=[f"{who} {method} {path}" for who, method, path, _b, _e in MATRIX],
)
def test_authorization_matrix(
    client: TestClient, world: World, who: str, method: str, path: str, body: Any, expected: int
) -> None:
    values = {**world.ids, **{f"{name}_id": str(a.id) for name, a in world.people.items()}}
    url = path.format(**values)
    headers = {} if who == "anonymous" else world.people[who].headers
    if body == "package":
        version = f"2.0.{uuid.uuid4().int % 1000}"
        response = client.post(
            url, data={"version": version},
            files={"file": ("p.zip", package_bytes("Essentials", version))}, headers=headers,
        )  # fmt: skip
    else:
        response = client.request(method, url, json=body, headers=headers)
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert set(response.json()) == {"error"}


def test_sync_never_touches_another_users_entities(client: TestClient, world: World) -> None:
    stranger, ids = world.people["stranger"], world.ids
    results = push(
        client,
        stranger,
        operation("update", "game_server", ids["server"], server_payload(ids["server"], "stolen")),
        operation("delete", "game_server", ids["server"], {"id": ids["server"]}),
        operation(
            "delete", "plugin_installation", ids["installation"], {"id": ids["installation"]}
        ),
        operation(
            "create",
            "plugin_installation",
            str(uuid.uuid4()),
            {
                "server_id": ids["server"],
                "plugin_id": ids["plugin"],
                "name": "x",
                "version": "1.0.0",
            },
        ),
    )
    assert [r["status"] for r in results] == ["rejected"] * 4
    owner_view = client.get(f"/v1/servers/{ids['server']}", headers=world.people["owner"].headers)
    assert owner_view.json()["name"] == "mine"
    installed = client.get(
        f"/v1/servers/{ids['server']}/plugins", headers=world.people["owner"].headers
    ).json()
    assert [row["id"] for row in installed] == [ids["installation"]]


def test_pull_never_shows_another_users_servers(client: TestClient, world: World) -> None:
    pulled = client.get("/v1/sync/pull", headers=world.people["stranger"].headers).json()
    seen = {change["entity_id"] for change in pulled["changes"]}
    assert world.ids["server"] not in seen and world.ids["installation"] not in seen
    listed = client.get("/v1/servers", headers=world.people["stranger"].headers).json()
    assert listed["items"] == []
