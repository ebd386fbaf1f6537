"""Request bodies: a small size limit per endpoint (413 before anything is parsed, from
Content-Length or while a chunked body streams in), and JSON types checked strictly (422),
while UUIDs, times and amounts given as strings keep working."""

import importlib
import json
import pkgutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from gsm_cloud.api import routes as api_routes
from gsm_cloud.api.bodies import JSON_LIMIT, MAX_JSON_ITEMS, TEXT_LIMIT, ApiRoute
from gsm_cloud.config import Settings
from tests.cloud.conftest import Account, MakeUser

PUSH_LIMIT = 1024 * 1024  # max_push_bytes in these tests


@pytest.fixture
def cloud_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        storage_dir=tmp_path / "packages",
        max_push_bytes=PUSH_LIMIT,
        payments="development",
    )


def chunked(data: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    """A body without Content-Length (the test client sends it chunked)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


JSON_HEADERS = {"Content-Type": "application/json"}

# (method, path, limit): one endpoint of each kind of limit.
LIMITED = [
    ("POST", "/v1/auth/token", JSON_LIMIT),
    ("POST", "/v1/me/tokens", JSON_LIMIT),
    ("PATCH", "/v1/me", TEXT_LIMIT),
    ("POST", "/v1/sync/push", PUSH_LIMIT),
]


def padded(limit: int, extra: int) -> bytes:
    """A JSON object of exactly limit + extra bytes."""
    head = b'{"pad": "'
    return head + b"x" * (limit + extra - len(head) - 2) + b'"}'


@pytest.mark.parametrize(("method", "path", "limit"), LIMITED)
def test_a_body_over_the_limit_is_413_before_it_is_parsed(
    client: TestClient, make_user: MakeUser, method: str, path: str, limit: int
) -> None:
    user = make_user(password=None)
    headers = {**JSON_HEADERS, **user.headers}
    over = padded(limit, 1)
    assert len(over) == limit + 1
    declared = client.request(method, path, content=over, headers=headers)
    assert declared.status_code == 413, declared.text
    assert declared.json()["error"]["code"] == "too_large"
    streamed = client.request(method, path, content=chunked(over), headers=headers)
    assert streamed.status_code == 413, streamed.text  # was 400 bad_request
    assert streamed.json()["error"]["code"] == "too_large"
    # Not JSON at all, and still 413: the size is checked before any parsing.
    garbage = client.request(method, path, content=b"{" * (limit + 1), headers=headers)
    assert garbage.status_code == 413
    # At the limit the body is read and judged on its content (an unknown field: 422).
    at_limit = client.request(method, path, content=padded(limit, 0), headers=headers)
    assert at_limit.status_code == 422, at_limit.text


def test_a_body_with_too_many_items_is_413_before_it_is_parsed(
    client: TestClient, make_user: MakeUser
) -> None:
    user = make_user(password=None)
    body = b'{"operations": [' + b",".join([b"[]"] * (MAX_JSON_ITEMS + 1)) + b"]}"
    assert len(body) < PUSH_LIMIT
    response = client.post("/v1/sync/push", content=body, headers={**JSON_HEADERS, **user.headers})
    assert response.status_code == 413
    assert f"more than {MAX_JSON_ITEMS} JSON items" in response.json()["error"]["message"]


def test_a_body_that_is_not_utf8_is_400(client: TestClient, make_user: MakeUser) -> None:
    user = make_user(password=None)
    response = client.post(
        "/v1/me/tokens", content=b'{"name": "\xff"}', headers={**JSON_HEADERS, **user.headers}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"


def test_every_route_applies_the_limits() -> None:
    routes = [
        route
        for module in pkgutil.iter_modules(api_routes.__path__)
        for route in importlib.import_module(f"{api_routes.__name__}.{module.name}").router.routes
        if isinstance(route, APIRoute)
    ]
    assert len(routes) > 30 and all(isinstance(r, ApiRoute) for r in routes)
    kinds = {f"{sorted(r.methods)[0]} {r.path}": r.limit_kind for r in routes}  # type: ignore[attr-defined]
    assert kinds["POST /v1/sync/push"] == "push"
    assert kinds["POST /v1/plugins/{plugin_id}/versions"] is None  # the upload limits itself
    assert kinds["POST /v1/auth/token"] == "json"
    assert kinds["POST /v1/plugins"] == "text"


# --- strict JSON types ------------------------------------------------------------------------


@pytest.fixture
def world(client: TestClient, make_user: MakeUser, db: Any) -> dict[str, Any]:
    """An Admin who develops a plugin and owns a community, and a member of it."""
    admin, member = make_user("Admin"), make_user(password=None)
    plugin = client.post(
        "/v1/plugins", json={"name": "P", "category": "admin", "price": "4.99"},
        headers=admin.headers,
    )  # fmt: skip
    assert plugin.status_code == 201, plugin.text
    community = client.post("/v1/communities", json={"name": "C"}, headers=admin.headers)
    cid = community.json()["id"]
    assert client.post(f"/v1/communities/{cid}/join", headers=member.headers).status_code == 200
    return {
        "admin": admin,
        "member": member,
        "plugin": plugin.json()["id"],
        "community": cid,
    }


def _op(**changes: Any) -> dict[str, Any]:
    entity = str(uuid.uuid4())
    op = {
        "id": str(uuid.uuid4()),
        "operation_type": "create",
        "entity_type": "game_server",
        "entity_id": entity,
        "data_payload": {"id": entity, "name": "mc", "game_type": "minecraft", "status": "stopped"},
        "created_at": "2026-11-25T14:00:00Z",
    }
    return {"operations": [{**op, **changes}]}


# (who, method, path, a valid body, field, a wrong value); paths are formatted with `world`.
CASES: list[tuple[str, str, str, dict[str, Any], str, Any]] = [
    ("member", "POST", "/v1/auth/token", {"email": "a@b.io", "password": "x"}, "password", 1),
    ("member", "POST", "/v1/me/tokens", {"name": "ci", "expires_in_days": 7},
     "expires_in_days", True),
    ("member", "POST", "/v1/me/tokens", {"name": "ci", "expires_in_days": 7},
     "expires_in_days", "7"),
    ("member", "POST", "/v1/me/tokens", {"name": "ci"}, "name", 1),
    ("member", "PATCH", "/v1/me", {"display_name": "M"}, "display_name", 5),
    ("member", "PUT", "/v1/plugins/{plugin}/rating", {"rating": 4}, "rating", True),
    ("member", "PUT", "/v1/plugins/{plugin}/rating", {"rating": 4}, "rating", "5"),
    ("member", "PUT", "/v1/plugins/{plugin}/rating", {"rating": 4}, "rating", 4.0),
    ("admin", "POST", "/v1/plugins/{plugin}/verify", {"verified": True}, "verified", "yes"),
    ("admin", "POST", "/v1/plugins/{plugin}/verify", {"verified": True}, "verified", 1),
    ("admin", "PATCH", "/v1/plugins/{plugin}", {"price": "1.50"}, "price", True),
    ("admin", "PATCH", "/v1/plugins/{plugin}", {"name": "Q"}, "name", ["Q"]),
    ("admin", "POST", "/v1/communities", {"name": "D", "is_public": False}, "is_public", "yes"),
    ("admin", "POST", "/v1/communities", {"name": "D", "is_public": False}, "is_public", 0),
    ("admin", "PATCH", "/v1/communities/{community}", {"is_public": True}, "is_public", "true"),
    ("admin", "PATCH", "/v1/communities/{community}/members/{member_id}", {"role": "Moderator"},
     "role", 1),
    ("member", "POST", "/v1/communities/{community}/donations", {"amount": "2.50"},
     "amount", True),
    ("member", "POST", "/v1/communities/{community}/donations",
     {"amount": "2.50", "currency": "EUR"}, "currency", 978),
    ("member", "POST", "/v1/sync/push", _op(), "operations", {"id": 1}),
]  # fmt: skip


def _call(client: TestClient, world: dict[str, Any], case: tuple, body: Any):  # type: ignore[no-untyped-def,type-arg]
    who, method, path, *_ = case
    account: Account = world[who]
    url = path.format(member_id=world["member"].id, **world)
    return client.request(method, url, json=body, headers=account.headers)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[1]} {c[2]} {c[4]}={c[5]!r}" for c in CASES])
def test_a_wrong_json_type_is_422_and_the_right_one_is_not(
    client: TestClient,
    world: dict[str, Any],
    case: tuple,  # type: ignore[type-arg]
) -> None:
    _who, _method, _path, valid, field, wrong = case
    refused = _call(client, world, case, {**valid, field: wrong})
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid_request" and field in error["message"]
    accepted = _call(client, world, case, valid)
    assert accepted.status_code != 422, accepted.text


def test_uuids_times_and_amounts_as_strings_still_work(
    client: TestClient, world: dict[str, Any]
) -> None:
    member: Account = world["member"]
    pushed = client.post("/v1/sync/push", json=_op(), headers=member.headers)
    assert pushed.status_code == 200 and pushed.json()["results"][0]["status"] == "applied"
    naive = _op(created_at="2026-11-25 14:00:00")  # SQLite's own text form of a time
    assert client.post("/v1/sync/push", json=naive, headers=member.headers).status_code == 200
    cid = world["community"]
    for amount, expected in (("2.50", 201), (3, 201), (2.5, 422)):  # never through a float
        donated = client.post(
            f"/v1/communities/{cid}/donations", json={"amount": amount}, headers=member.headers
        )
        assert donated.status_code == expected, donated.text
    listed = client.get(
        "/v1/plugins", params={"developer_id": str(world["admin"].id)}, headers=member.headers
    )
    assert listed.json()["total"] == 1  # query strings stay lenient: they are all text


def test_escaped_lone_surrogates_are_judged_like_any_text(
    client: TestClient, make_user: MakeUser
) -> None:
    """pydantic's JSON parser refuses "\\ud800"; Python's takes it. Such a body is still checked
    strictly, and the text itself is refused where it lands (a push: in its operation only)."""
    user = make_user(password=None)
    headers = {**JSON_HEADERS, **user.headers}
    named = client.post("/v1/me/tokens", content=b'{"name": "a\\ud800"}', headers=headers)
    assert named.status_code == 422 and named.json()["error"]["message"].startswith("name: ")
    typed = client.post(
        "/v1/me/tokens", content=b'{"name": "a\\ud800", "expires_in_days": "7"}', headers=headers
    )
    assert typed.status_code == 422 and "expires_in_days" in typed.json()["error"]["message"]
    ok, bad = _op()["operations"][0], _op()["operations"][0]
    bad["data_payload"]["name"] = "mc\udcff"  # a name from a file name that is not UTF-8
    body = json.dumps({"operations": [ok, bad]}).encode()  # ASCII, with the escape
    pushed = client.post("/v1/sync/push", content=body, headers=headers)
    assert pushed.status_code == 200, pushed.text
    assert [r["status"] for r in pushed.json()["results"]] == ["applied", "rejected"]
    garbage = client.post("/v1/me/tokens", content=b'{"name": "a\\ud800"', headers=headers)
    assert garbage.status_code == 422 and "Invalid JSON" in garbage.json()["error"]["message"]
