"""Communities: behaviour, who may do what (tables of relationship, action, status), the truth of
member_count under concurrent joins, and the change feed rows of membership changes."""

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gsm_cloud.api.errors import ApiError
from gsm_cloud.db.models import (
    Change,
    Community,
    CommunityMember,
    GameServer,
    RevenueTransaction,
    User,
)
from gsm_cloud.services import communities as service
from tests.cloud.conftest import ON_POSTGRES, Account, MakeUser

BASE = "/v1/communities"


def create(client: TestClient, owner: Account, **fields: Any) -> dict[str, Any]:
    response = client.post(BASE, json={"name": "Valheim Vikings", **fields}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return response.json()


def join(client: TestClient, community_id: str, user: Account) -> None:
    response = client.post(f"{BASE}/{community_id}/join", headers=user.headers)
    assert response.status_code == 200, response.text


def set_role(client: TestClient, community_id: str, by: Account, who: Account, role: str) -> None:
    response = client.patch(
        f"{BASE}/{community_id}/members/{who.id}", json={"role": role}, headers=by.headers
    )
    assert response.status_code == 200, response.text


def counts_are_true(db) -> bool:
    db.expire_all()
    return service.member_counts_are_true(db)


def members_of(db, community_id: str) -> int:
    return db.scalar(
        select(func.count())
        .select_from(CommunityMember)
        .where(CommunityMember.community_id == uuid.UUID(community_id))
    )


@dataclass
class World:
    """A public and a private community, each with an Owner, an Admin, a Moderator, a Member
    and a second Member (a target for removals); plus an outsider who belongs to neither."""

    public: str
    private: str
    people: dict[str, Account]


@pytest.fixture
def world(client: TestClient, make_user: MakeUser) -> World:
    people = {
        name: make_user(password=None)
        for name in ("owner", "admin", "moderator", "member", "target")
    }
    people["outsider"] = make_user(password=None)
    ids = []
    for visibility in (True, False):
        community = create(client, people["owner"], name=f"public={visibility}")
        for name in ("admin", "moderator", "member", "target"):
            join(client, community["id"], people[name])
        set_role(client, community["id"], people["owner"], people["admin"], "Admin")
        set_role(client, community["id"], people["owner"], people["moderator"], "Moderator")
        if not visibility:
            response = client.patch(
                f"{BASE}/{community['id']}",
                json={"is_public": False},
                headers=people["owner"].headers,
            )
            assert response.status_code == 200
        ids.append(community["id"])
    return World(ids[0], ids[1], people)


# --- behaviour -------------------------------------------------------------------------------


def test_create_makes_the_caller_owner_and_only_member(
    client: TestClient, make_user: MakeUser, db
) -> None:
    alice = make_user(password=None)
    body = create(
        client,
        alice,
        description="Hardcore PvE",
        logo_url="https://example.com/logo.png",
        settings={"discord": "https://discord.gg/x", "levels": [1, 2]},
    )
    assert body["owner_id"] == str(alice.id)
    assert body["member_count"] == 1 and body["my_role"] == "Owner" and body["is_public"] is True
    assert body["settings"] == {"discord": "https://discord.gg/x", "levels": [1, 2]}
    assert body["created_at"].endswith("Z")
    members = client.get(f"{BASE}/{body['id']}/members", headers=alice.headers).json()
    assert members["total"] == 1
    assert members["items"][0]["user_id"] == str(alice.id)
    assert members["items"][0]["role"] == "Owner"
    assert members_of(db, body["id"]) == 1 and counts_are_true(db)


def test_show_gives_the_callers_role(client: TestClient, world: World) -> None:
    people = world.people
    for who, role in [("owner", "Owner"), ("admin", "Admin"), ("member", "Member")]:
        body = client.get(f"{BASE}/{world.private}", headers=people[who].headers).json()
        assert body["my_role"] == role and body["member_count"] == 5
    body = client.get(f"{BASE}/{world.public}", headers=people["outsider"].headers).json()
    assert body["my_role"] is None


def test_update_changes_only_the_fields_sent_and_clears_with_null(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user(password=None)
    community = create(client, alice, description="old", banner_url="https://example.com/b.png")
    url = f"{BASE}/{community['id']}"
    response = client.patch(
        url, json={"name": "New name", "banner_url": None}, headers=alice.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "New name" and body["banner_url"] is None
    assert body["description"] == "old" and body["is_public"] is True
    assert client.patch(url, json={}, headers=alice.headers).json()["name"] == "New name"


def test_join_and_leave_keep_member_count_true(client: TestClient, make_user: MakeUser, db) -> None:
    owner, bob, carol = make_user(password=None), make_user(password=None), make_user(password=None)
    community = create(client, owner)
    cid = community["id"]
    join(client, cid, bob)
    join(client, cid, carol)
    assert client.get(f"{BASE}/{cid}", headers=bob.headers).json()["member_count"] == 3
    left = client.post(f"{BASE}/{cid}/leave", headers=bob.headers)
    assert left.status_code == 200
    assert left.json()["member_count"] == 2 and left.json()["my_role"] is None
    assert client.post(f"{BASE}/{cid}/leave", headers=bob.headers).status_code == 409
    again = client.post(f"{BASE}/{cid}/join", headers=bob.headers)
    assert again.status_code == 200 and again.json()["member_count"] == 3
    assert client.post(f"{BASE}/{cid}/join", headers=bob.headers).status_code == 409
    removed = client.delete(f"{BASE}/{cid}/members/{carol.id}", headers=owner.headers)
    assert removed.status_code == 204
    assert client.get(f"{BASE}/{cid}", headers=owner.headers).json()["member_count"] == 2
    assert members_of(db, cid) == 2 and counts_are_true(db)


def test_the_last_owner_cannot_leave_but_can_after_making_another_owner(
    client: TestClient, make_user: MakeUser, db
) -> None:
    owner, bob = make_user(password=None), make_user(password=None)
    cid = create(client, owner)["id"]
    join(client, cid, bob)
    response = client.post(f"{BASE}/{cid}/leave", headers=owner.headers)
    assert response.status_code == 409 and response.json()["error"]["code"] == "last_owner"
    set_role(client, cid, owner, bob, "Owner")
    assert client.post(f"{BASE}/{cid}/leave", headers=owner.headers).status_code == 200
    body = client.get(f"{BASE}/{cid}", headers=bob.headers).json()
    assert body["owner_id"] == str(bob.id) and body["member_count"] == 1
    assert counts_are_true(db)


def test_owner_id_follows_when_its_owner_steps_down(
    client: TestClient, make_user: MakeUser
) -> None:
    owner, bob = make_user(password=None), make_user(password=None)
    cid = create(client, owner)["id"]
    join(client, cid, bob)
    set_role(client, cid, owner, bob, "Owner")
    set_role(client, cid, owner, owner, "Member")
    body = client.get(f"{BASE}/{cid}", headers=owner.headers).json()
    assert body["owner_id"] == str(bob.id) and body["my_role"] == "Member"
    demote = client.patch(
        f"{BASE}/{cid}/members/{bob.id}", json={"role": "Admin"}, headers=bob.headers
    )
    assert demote.status_code == 409 and demote.json()["error"]["code"] == "last_owner"


def test_a_role_change_to_the_same_role_is_a_no_op(
    client: TestClient, make_user: MakeUser, db
) -> None:
    owner, bob = make_user(password=None), make_user(password=None)
    cid = create(client, owner)["id"]
    join(client, cid, bob)
    before = db.scalar(select(func.count()).select_from(Change))
    response = client.patch(
        f"{BASE}/{cid}/members/{bob.id}", json={"role": "Member"}, headers=owner.headers
    )
    assert response.status_code == 200 and response.json()["role"] == "Member"
    assert db.scalar(select(func.count()).select_from(Change)) == before


def test_members_are_listed_in_join_order_with_paging(
    client: TestClient, make_user: MakeUser
) -> None:
    owner = make_user(password=None)
    cid = create(client, owner)["id"]
    joiners = [make_user(password=None) for _ in range(4)]
    for user in joiners:
        join(client, cid, user)
    first = client.get(f"{BASE}/{cid}/members?per_page=2", headers=owner.headers).json()
    second = client.get(f"{BASE}/{cid}/members?per_page=2&page=2", headers=owner.headers).json()
    third = client.get(f"{BASE}/{cid}/members?per_page=2&page=3", headers=owner.headers).json()
    assert first["total"] == second["total"] == third["total"] == 5
    ids = [m["user_id"] for page in (first, second, third) for m in page["items"]]
    assert ids == [str(u.id) for u in [owner, *joiners]]
    assert all(m["display_name"] and m["joined_at"].endswith("Z") for m in first["items"])
    assert "email" not in first["items"][0]


# --- delete ----------------------------------------------------------------------------------


def test_delete_removes_memberships_and_keeps_revenue_and_servers(
    client: TestClient, world: World, db
) -> None:
    owner, member = world.people["owner"], world.people["member"]
    cid = world.public
    donation = client.post(
        f"{BASE}/{cid}/donations", json={"amount": "5.00"}, headers=member.headers
    )
    assert donation.status_code == 201
    server = GameServer(
        name="vh",
        game_type="valheim",
        status="running",
        owner_id=member.id,
        community_id=uuid.UUID(cid),
    )
    db.add(server)
    db.commit()
    assert client.delete(f"{BASE}/{cid}", headers=owner.headers).status_code == 204

    assert client.get(f"{BASE}/{cid}", headers=owner.headers).status_code == 404
    assert client.delete(f"{BASE}/{cid}", headers=owner.headers).status_code == 404
    db.expire_all()
    assert members_of(db, cid) == 0
    assert db.get(Community, uuid.UUID(cid)) is None
    row = db.get(RevenueTransaction, uuid.UUID(donation.json()["payment"]["transaction_id"]))
    assert row is not None and row.community_id is None and row.amount == Decimal("5.00")
    assert db.get(GameServer, server.id).community_id is None
    earned = client.get("/v1/revenue", headers=owner.headers).json()
    assert [t["community_id"] for t in earned["items"]] == [None]
    assert earned["totals"] == {"USD": "5.00"}
    # the server's owner hears that the server changed; the other community is untouched
    server_changes = db.scalars(select(Change).where(Change.entity_type == "game_server")).all()
    assert [(c.entity_id, c.audience_user_id) for c in server_changes] == [(server.id, member.id)]
    assert counts_are_true(db) and members_of(db, world.private) == 5


# --- who may do what -------------------------------------------------------------------------

WHO = ("owner", "admin", "moderator", "member", "outsider")

# (action, {relationship: status on the public community}, {...: on the private one})
Action = Callable[[TestClient, World, str, Account], int]


def _show(client: TestClient, _w: World, cid: str, me: Account) -> int:
    return client.get(f"{BASE}/{cid}", headers=me.headers).status_code


def _update(client: TestClient, _w: World, cid: str, me: Account) -> int:
    return client.patch(f"{BASE}/{cid}", json={"name": "x"}, headers=me.headers).status_code


def _delete(client: TestClient, _w: World, cid: str, me: Account) -> int:
    return client.delete(f"{BASE}/{cid}", headers=me.headers).status_code


def _members(client: TestClient, _w: World, cid: str, me: Account) -> int:
    return client.get(f"{BASE}/{cid}/members", headers=me.headers).status_code


def _join(client: TestClient, _w: World, cid: str, me: Account) -> int:
    return client.post(f"{BASE}/{cid}/join", headers=me.headers).status_code


def _leave(client: TestClient, _w: World, cid: str, me: Account) -> int:
    return client.post(f"{BASE}/{cid}/leave", headers=me.headers).status_code


def _promote_target(client: TestClient, w: World, cid: str, me: Account) -> int:
    url = f"{BASE}/{cid}/members/{w.people['target'].id}"
    return client.patch(url, json={"role": "Moderator"}, headers=me.headers).status_code


def _remove_target(client: TestClient, w: World, cid: str, me: Account) -> int:
    url = f"{BASE}/{cid}/members/{w.people['target'].id}"
    return client.delete(url, headers=me.headers).status_code


def _donate(client: TestClient, _w: World, cid: str, me: Account) -> int:
    url = f"{BASE}/{cid}/donations"
    return client.post(url, json={"amount": 1}, headers=me.headers).status_code


def _invite(client: TestClient, _w: World, cid: str, me: Account) -> int:
    return client.post(f"{BASE}/{cid}/invitations", json={}, headers=me.headers).status_code


def _list_invitations(client: TestClient, _w: World, cid: str, me: Account) -> int:
    return client.get(f"{BASE}/{cid}/invitations", headers=me.headers).status_code


def _revoke_invitation(client: TestClient, w: World, cid: str, me: Account) -> int:
    owner = w.people["owner"]
    made = client.post(f"{BASE}/{cid}/invitations", json={}, headers=owner.headers).json()
    url = f"{BASE}/{cid}/invitations/{made['id']}"
    return client.delete(url, headers=me.headers).status_code


def _join_with_a_code(client: TestClient, w: World, cid: str, me: Account) -> int:
    owner = w.people["owner"]
    made = client.post(f"{BASE}/{cid}/invitations", json={}, headers=owner.headers).json()
    url = f"{BASE}/{cid}/join"
    return client.post(url, json={"code": made["code"]}, headers=me.headers).status_code


def _managers(status: int) -> dict[str, int]:
    return dict.fromkeys(("owner", "admin"), status) | dict.fromkeys(
        ("moderator", "member", "outsider"), 403
    )


MEMBERS_ONLY = dict.fromkeys(WHO, 200) | {"outsider": 404}
MANAGERS = {"owner": 200, "admin": 200, "moderator": 403, "member": 403, "outsider": 403}
TABLE: list[tuple[str, Action, dict[str, int], dict[str, int]]] = [
    ("show", _show, dict.fromkeys(WHO, 200), MEMBERS_ONLY),
    ("update", _update, MANAGERS, MANAGERS | {"outsider": 404}),
    (
        "delete",
        _delete,
        {"owner": 204, "admin": 403, "moderator": 403, "member": 403, "outsider": 403},
        {"owner": 204, "admin": 403, "moderator": 403, "member": 403, "outsider": 404},
    ),
    ("members", _members, dict.fromkeys(WHO, 200), MEMBERS_ONLY),
    (
        "join",
        _join,
        dict.fromkeys(WHO, 409) | {"outsider": 200},
        dict.fromkeys(WHO, 409) | {"outsider": 404},
    ),
    (
        "leave",
        _leave,
        {"owner": 409, "admin": 200, "moderator": 200, "member": 200, "outsider": 409},
        {"owner": 409, "admin": 200, "moderator": 200, "member": 200, "outsider": 404},
    ),
    ("promote a member", _promote_target, MANAGERS, MANAGERS | {"outsider": 404}),
    (
        "remove a member",
        _remove_target,
        {"owner": 204, "admin": 204, "moderator": 403, "member": 403, "outsider": 403},
        {"owner": 204, "admin": 204, "moderator": 403, "member": 403, "outsider": 404},
    ),
    ("invite", _invite, _managers(201), _managers(201) | {"outsider": 404}),
    ("list invitations", _list_invitations, _managers(200), _managers(200) | {"outsider": 404}),
    (
        "revoke an invitation",
        _revoke_invitation,
        _managers(204),
        _managers(204) | {"outsider": 404},
    ),
    (
        "join with a code",
        _join_with_a_code,
        dict.fromkeys(WHO, 409) | {"outsider": 200},
        dict.fromkeys(WHO, 409) | {"outsider": 200},
    ),
    (
        "donate",
        _donate,
        dict.fromkeys(WHO, 201) | {"owner": 409},
        dict.fromkeys(WHO, 201) | {"owner": 409, "outsider": 404},
    ),
]
CASES = [
    pytest.param(action, visibility, who, expected[who], id=f"{name}-{visibility}-{who}")
    for name, action, public, private in TABLE
    for visibility, expected in (("public", public), ("private", private))
    for who in WHO
]


@pytest.mark.parametrize(("action", "visibility", "who", "expected"), CASES)
def test_who_may_do_what(
    client: TestClient, world: World, db, action: Action, visibility: str, who: str, expected: int
) -> None:
    cid = world.public if visibility == "public" else world.private
    assert action(client, world, cid, world.people[who]) == expected
    assert counts_are_true(db)


# (caller, target, new role, expected): only an Owner makes or unmakes Owners and Admins.
ROLE_CASES = [
    ("admin", "member", "Moderator", 200),
    ("admin", "moderator", "Member", 200),
    ("admin", "member", "Admin", 403),
    ("admin", "member", "Owner", 403),
    ("admin", "owner", "Member", 403),
    ("admin", "admin", "Member", 403),  # an Admin cannot step down either: an Owner decides
    ("moderator", "member", "Moderator", 403),
    ("member", "member", "Admin", 403),
    ("owner", "member", "Admin", 200),
    ("owner", "member", "Owner", 200),
    ("owner", "admin", "Member", 200),
    ("owner", "owner", "Admin", 409),  # the last Owner
    ("owner", "outsider", "Member", 404),  # not a member
    ("outsider", "member", "Admin", 403),
]


@pytest.mark.parametrize(("caller", "target", "role", "expected"), ROLE_CASES)
def test_role_changes(
    client: TestClient, world: World, caller: str, target: str, role: str, expected: int
) -> None:
    url = f"{BASE}/{world.public}/members/{world.people[target].id}"
    response = client.patch(url, json={"role": role}, headers=world.people[caller].headers)
    assert response.status_code == expected, response.text
    if expected == 200:
        assert response.json() == {
            "user_id": str(world.people[target].id),
            "display_name": response.json()["display_name"],
            "role": role,
            "joined_at": response.json()["joined_at"],
        }
        members = client.get(f"{BASE}/{world.public}/members", headers=world.people[caller].headers)
        roles = {m["user_id"]: m["role"] for m in members.json()["items"]}
        assert roles[str(world.people[target].id)] == role


# (caller, target, expected): an Admin cannot remove an Owner or an Admin.
REMOVE_CASES = [
    ("admin", "owner", 403),
    ("admin", "moderator", 204),
    ("owner", "admin", 204),
    ("owner", "owner", 409),  # removing yourself is leaving; the last Owner cannot
    ("admin", "admin", 204),  # removing yourself is leaving
    ("member", "member", 204),
    ("member", "moderator", 403),
    ("moderator", "member", 403),
    ("owner", "outsider", 404),
]


@pytest.mark.parametrize(("caller", "target", "expected"), REMOVE_CASES)
def test_removals(
    client: TestClient, world: World, db, caller: str, target: str, expected: int
) -> None:
    url = f"{BASE}/{world.public}/members/{world.people[target].id}"
    response = client.delete(url, headers=world.people[caller].headers)
    assert response.status_code == expected, response.text
    assert members_of(db, world.public) == (4 if expected == 204 else 5)
    assert counts_are_true(db)


def test_an_owner_removes_another_owner(client: TestClient, world: World, db) -> None:
    owner, admin = world.people["owner"], world.people["admin"]
    set_role(client, world.public, owner, admin, "Owner")
    url = f"{BASE}/{world.public}/members/{owner.id}"
    assert client.delete(url, headers=admin.headers).status_code == 204
    body = client.get(f"{BASE}/{world.public}", headers=admin.headers).json()
    assert body["owner_id"] == str(admin.id) and body["member_count"] == 4


def test_unknown_ids_are_404(client: TestClient, world: World) -> None:
    owner = world.people["owner"]
    nobody = uuid.uuid4()
    for method, url in [
        ("GET", f"{BASE}/{nobody}"),
        ("PATCH", f"{BASE}/{nobody}"),
        ("DELETE", f"{BASE}/{nobody}"),
        ("POST", f"{BASE}/{nobody}/join"),
        ("POST", f"{BASE}/{nobody}/leave"),
        ("GET", f"{BASE}/{nobody}/members"),
        ("PATCH", f"{BASE}/{nobody}/members/{owner.id}"),
        ("DELETE", f"{BASE}/{nobody}/members/{owner.id}"),
        ("PATCH", f"{BASE}/{world.public}/members/{nobody}"),
        ("DELETE", f"{BASE}/{world.public}/members/{nobody}"),
    ]:
        body = None if method != "PATCH" else {"role": "Member"} if "members" in url else {}
        response = client.request(method, url, json=body, headers=owner.headers)
        assert response.status_code == 404, (method, url, response.text)
        assert response.json()["error"]["code"] in ("community_not_found", "member_not_found")


def test_every_endpoint_needs_a_token(client: TestClient, world: World) -> None:
    cid, uid = world.public, world.people["member"].id
    for method, url in [
        ("POST", BASE),
        ("GET", BASE),
        ("GET", f"{BASE}/{cid}"),
        ("PATCH", f"{BASE}/{cid}"),
        ("DELETE", f"{BASE}/{cid}"),
        ("POST", f"{BASE}/{cid}/join"),
        ("POST", f"{BASE}/{cid}/leave"),
        ("GET", f"{BASE}/{cid}/members"),
        ("PATCH", f"{BASE}/{cid}/members/{uid}"),
        ("DELETE", f"{BASE}/{cid}/members/{uid}"),
    ]:
        assert client.request(method, url).status_code == 401, (method, url)


# --- listing ---------------------------------------------------------------------------------


def test_list_shows_public_and_my_private_communities_oldest_first(
    client: TestClient, make_user: MakeUser
) -> None:
    alice, bob = make_user(password=None), make_user(password=None)
    a_public = create(client, alice, name="Alpha Public")
    a_private = create(client, alice, name="Alpha Private", is_public=False)
    b_public = create(client, bob, name="Beta Public")
    b_private = create(client, bob, name="Beta Private", is_public=False)

    def names(user: Account, query: str = "") -> list[str]:
        response = client.get(f"{BASE}{query}", headers=user.headers)
        assert response.status_code == 200, response.text
        return [c["name"] for c in response.json()["items"]]

    assert names(alice) == ["Alpha Public", "Alpha Private", "Beta Public"]
    assert names(bob) == ["Alpha Public", "Beta Public", "Beta Private"]
    assert names(alice, "?member=true") == ["Alpha Public", "Alpha Private"]
    assert names(alice, "?member=false") == ["Beta Public"]
    assert names(alice, "?is_public=false") == ["Alpha Private"]
    assert names(alice, "?is_public=true&member=false") == ["Beta Public"]
    assert names(alice, "?q=alpha") == ["Alpha Public", "Alpha Private"]
    assert names(alice, "?q=PUBLIC") == ["Alpha Public", "Beta Public"]
    assert names(bob, "?q=eta%20pri") == ["Beta Private"]
    assert names(alice, "?q=%25") == [] and names(alice, "?q=_") == []
    listing = client.get(BASE, headers=alice.headers).json()
    assert listing["total"] == 3 and listing["page"] == 1 and listing["per_page"] == 50
    roles = {c["id"]: c["my_role"] for c in listing["items"]}
    assert roles == {a_public["id"]: "Owner", a_private["id"]: "Owner", b_public["id"]: None}
    assert b_private["id"] not in roles


def test_list_pages_are_stable_and_complete(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user(password=None)
    made = [create(client, alice, name=f"c{i}")["id"] for i in range(7)]
    seen = []
    for page in (1, 2, 3):
        body = client.get(f"{BASE}?per_page=3&page={page}", headers=alice.headers).json()
        assert body["total"] == 7 and body["per_page"] == 3
        seen += [c["id"] for c in body["items"]]
    assert seen == made
    empty = client.get(f"{BASE}?per_page=3&page=99", headers=alice.headers).json()
    assert empty["items"] == [] and empty["total"] == 7


@pytest.mark.parametrize(
    "query",
    [
        "?per_page=0",
        "?per_page=201",
        "?page=0",
        "?page=99999999999999999999",
        "?q=" + "x" * 201,
        "?q=a%00b",
        "?is_public=maybe",
        "?member=2",
    ],
)
def test_bad_list_queries_are_422(client: TestClient, make_user: MakeUser, query: str) -> None:
    response = client.get(f"{BASE}{query}", headers=make_user(password=None).headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


# --- validation ------------------------------------------------------------------------------

LONG_URL = "https://example.com/" + "x" * 481  # 501 characters


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 201},
        {"name": "a\x00b"},
        {"name": 5},
        {"name": None},
        {"name": "ok", "logo_url": LONG_URL},
        {"name": "ok", "banner_url": "javascript:alert(1)"},
        {"name": "ok", "logo_url": "https://example.com/\x00"},
        {"name": "ok", "description": "x" * 10_001},
        {"name": "ok", "is_public": "maybe"},
        {"name": "ok", "settings": [1, 2]},
        {"name": "ok", "settings": {"k": "a\x00"}},
        {"name": "ok", "settings": {"n": 10**30}},
        {"name": "ok", "settings": {"big": "x" * 70_000}},
        {"name": "ok", "member_count": 100},
        {"name": "ok", "owner_id": str(uuid.uuid4())},
        [],
        "text",
    ],
)
def test_bad_create_bodies_are_422(client: TestClient, make_user: MakeUser, body: Any) -> None:
    response = client.post(BASE, json=body, headers=make_user(password=None).headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_bodies_at_the_column_limits_are_accepted(client: TestClient, make_user: MakeUser) -> None:
    url = "https://example.com/" + "x" * 480  # 500 characters
    body = create(client, make_user(password=None), name="é" * 200, logo_url=url, banner_url=url)
    assert len(body["name"]) == 200 and body["logo_url"] == url


def test_malformed_json_and_no_body_are_422(client: TestClient, make_user: MakeUser) -> None:
    headers = make_user(password=None).headers | {"Content-Type": "application/json"}
    assert client.post(BASE, content=b"{not json", headers=headers).status_code == 422
    assert client.post(BASE, headers=headers).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"name": None},
        {"is_public": None},
        {"name": "x" * 201},
        {"logo_url": "ftp://example.com/x"},
        {"settings": "nope"},
        {"owner_id": str(uuid.uuid4())},
        {"member_count": 0},
    ],
)
def test_bad_update_bodies_are_422(client: TestClient, world: World, body: Any) -> None:
    url = f"{BASE}/{world.public}"
    response = client.patch(url, json=body, headers=world.people["owner"].headers)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "body", [{}, {"role": "God"}, {"role": "owner"}, {"role": "x" * 21}, {"role": None}, []]
)
def test_bad_roles_are_422(client: TestClient, world: World, body: Any) -> None:
    url = f"{BASE}/{world.public}/members/{world.people['member'].id}"
    response = client.patch(url, json=body, headers=world.people["owner"].headers)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/not-a-uuid"),
        ("DELETE", "/123"),
        ("POST", "/not-a-uuid/join"),
        ("GET", "/not-a-uuid/members"),
        ("DELETE", "/00000000-0000-0000-0000-000000000000/members/not-a-uuid"),
        ("DELETE", "/00000000-0000-0000-0000-00000000000g/members/" + str(uuid.UUID(int=0))),
    ],
)
def test_malformed_ids_are_422(
    client: TestClient, make_user: MakeUser, method: str, path: str
) -> None:
    response = client.request(method, f"{BASE}{path}", headers=make_user(password=None).headers)
    assert response.status_code == 422, response.text


# --- change feed -----------------------------------------------------------------------------


def test_membership_changes_are_written_to_the_change_feed(
    client: TestClient, make_user: MakeUser, db
) -> None:
    owner, bob, carol = make_user(password=None), make_user(password=None), make_user(password=None)
    cid = create(client, owner)["id"]
    join(client, cid, bob)
    join(client, cid, carol)
    set_role(client, cid, owner, bob, "Moderator")
    assert client.post(f"{BASE}/{cid}/leave", headers=bob.headers).status_code == 200
    assert (
        client.delete(f"{BASE}/{cid}/members/{carol.id}", headers=owner.headers).status_code == 204
    )
    join(client, cid, carol)
    url = f"{BASE}/{cid}"
    assert client.patch(url, json={"name": "n"}, headers=owner.headers).status_code == 200
    for no_rename in ({"name": "n"}, {"description": "d", "is_public": True}):
        assert client.patch(url, json=no_rename, headers=owner.headers).status_code == 200
    assert client.delete(f"{BASE}/{cid}", headers=owner.headers).status_code == 204

    rows = db.scalars(select(Change).order_by(Change.seq)).all()
    assert all(r.entity_type == "community_membership" for r in rows)
    assert all(r.entity_id == uuid.UUID(cid) for r in rows)
    assert [(r.audience_user_id, r.operation) for r in rows] == [
        (owner.id, "upsert"),  # created
        (bob.id, "upsert"),  # joined
        (carol.id, "upsert"),
        (bob.id, "upsert"),  # made Moderator
        (bob.id, "delete"),  # left
        (carol.id, "delete"),  # removed
        (carol.id, "upsert"),  # joined again
        (owner.id, "upsert"),  # renamed: what members pull names the community
        (carol.id, "upsert"),
        (owner.id, "delete"),  # deleting ends every membership
        (carol.id, "delete"),
    ]
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)


def test_refused_changes_write_nothing(client: TestClient, world: World, db) -> None:
    before = db.scalar(select(func.count()).select_from(Change))
    people = world.people
    assert _join(client, world, world.public, people["member"]) == 409
    assert _leave(client, world, world.public, people["owner"]) == 409
    assert _promote_target(client, world, world.public, people["moderator"]) == 403
    assert _remove_target(client, world, world.private, people["outsider"]) == 404
    assert db.scalar(select(func.count()).select_from(Change)) == before


# --- concurrency (PostgreSQL) ----------------------------------------------------------------

on_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="row locking needs PostgreSQL")


@on_postgres
def test_concurrent_joins_through_the_service_never_lose_a_count(
    app: FastAPI, client: TestClient, make_user: MakeUser, db
) -> None:
    owner = make_user(password=None)
    cid = uuid.UUID(create(client, owner)["id"])
    users = [make_user(password=None) for _ in range(16)]
    start = threading.Barrier(len(users))

    def join_in_own_session(account: Account) -> None:
        with app.state.sessions() as session:
            user = session.get(User, account.id)
            start.wait()
            service.join(session, user, cid)
            session.commit()

    with ThreadPoolExecutor(len(users)) as pool:
        list(pool.map(join_in_own_session, users))
    db.expire_all()
    assert db.get(Community, cid).member_count == members_of(db, str(cid)) == 17
    assert counts_are_true(db)
    assert owner.id == db.get(Community, cid).owner_id


@on_postgres
def test_concurrent_joins_and_leaves_over_http_keep_the_count_true(
    app: FastAPI, client: TestClient, make_user: MakeUser, db
) -> None:
    owner = make_user(password=None)
    cid = create(client, owner)["id"]
    leavers = [make_user(password=None) for _ in range(8)]
    for user in leavers:
        join(client, cid, user)
    joiners = [make_user(password=None) for _ in range(8)]
    start = threading.Barrier(len(leavers) + len(joiners))

    def act(job: tuple[str, Account]) -> int:
        verb, account = job
        with TestClient(app) as own_client:
            start.wait()
            return own_client.post(f"{BASE}/{cid}/{verb}", headers=account.headers).status_code

    jobs = [("leave", u) for u in leavers] + [("join", u) for u in joiners]
    with ThreadPoolExecutor(len(jobs)) as pool:
        statuses = list(pool.map(act, jobs))
    assert statuses == [200] * len(jobs)
    body = client.get(f"{BASE}/{cid}", headers=owner.headers).json()
    assert body["member_count"] == members_of(db, cid) == 1 + len(joiners)
    assert counts_are_true(db)
    changes = db.scalars(select(Change).where(Change.entity_id == uuid.UUID(cid))).all()
    assert len(changes) == 1 + 2 * len(leavers) + len(joiners)


@on_postgres
def test_the_same_user_joining_many_times_at_once_joins_once(
    app: FastAPI, client: TestClient, make_user: MakeUser, db
) -> None:
    owner, bob = make_user(password=None), make_user(password=None)
    cid = create(client, owner)["id"]
    start = threading.Barrier(6)

    def attempt(_: int) -> int:
        with TestClient(app) as own_client:
            start.wait()
            return own_client.post(f"{BASE}/{cid}/join", headers=bob.headers).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(attempt, range(6)))
    assert statuses == [200] + [409] * 5
    assert members_of(db, cid) == 2 and counts_are_true(db)


@on_postgres
def test_joins_racing_a_delete_leave_nothing_behind(
    app: FastAPI, client: TestClient, make_user: MakeUser, db
) -> None:
    owner = make_user(password=None)
    cid = create(client, owner)["id"]
    joiners = [make_user(password=None) for _ in range(6)]
    start = threading.Barrier(len(joiners) + 1)

    def act(account: Account) -> int:
        with TestClient(app) as own_client:
            start.wait()
            if account is owner:
                return own_client.delete(f"{BASE}/{cid}", headers=owner.headers).status_code
            return own_client.post(f"{BASE}/{cid}/join", headers=account.headers).status_code

    with ThreadPoolExecutor(len(joiners) + 1) as pool:
        statuses = list(pool.map(act, [owner, *joiners]))
    assert statuses[0] == 204
    assert set(statuses[1:]) <= {200, 404}
    assert members_of(db, cid) == 0


def test_service_errors_are_api_errors(app: FastAPI, make_user: MakeUser) -> None:
    account = make_user(password=None)
    with app.state.sessions() as session:
        user = session.get(User, account.id)
        with pytest.raises(ApiError) as raised:
            service.join(session, user, uuid.uuid4())
    assert raised.value.status_code == 404
