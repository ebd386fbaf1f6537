"""Sync push attaches a server to a community: a game_server payload's community_id is taken
only from a member of that community (any role), null detaches, a payload without the key keeps
what the cloud has, and pull hands the attachment out."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from gsm_cloud.db.models import GameServer
from tests.cloud.conftest import ON_POSTGRES, Account, MakeUser
from tests.cloud.test_communities import BASE, create
from tests.cloud.test_sync import delete, local_server, operation, pull, push, statuses


def community_of(db, server_id: str) -> str | None:  # type: ignore[no-untyped-def]
    db.expire_all()
    value = db.scalar(select(GameServer.community_id).where(GameServer.id == uuid.UUID(server_id)))
    return None if value is None else str(value)


def private_member_of(client: TestClient, owner: Account, member: Account) -> str:
    """A private community where ``member`` has the plain Member role."""
    cid = create(client, owner, name="Hidden", is_public=False)["id"]
    code = client.post(f"{BASE}/{cid}/invitations", json={}, headers=owner.headers).json()["code"]
    joined = client.post(f"{BASE}/{cid}/join", json={"code": code}, headers=member.headers)
    assert joined.status_code == 200, joined.text
    return cid


def test_a_member_attaches_and_detaches_a_server_and_pull_says_so(
    client: TestClient, make_user: MakeUser, db
) -> None:
    owner, alice = make_user(password=None), make_user(password=None)
    cid = private_member_of(client, owner, alice)
    server = local_server(community_id=cid)
    assert statuses(push(client, alice, operation("create", server))) == ["applied"]
    assert community_of(db, server["id"]) == cid
    [change] = pull(client, alice)["changes"][-1:]
    assert change["data"]["community_id"] == cid
    listed = client.get("/v1/servers", headers=alice.headers).json()["items"]
    assert [s["community_id"] for s in listed] == [cid]

    assert statuses(push(client, alice, operation("update", server | {"community_id": None}))) == [
        "applied"
    ]
    assert community_of(db, server["id"]) is None
    assert pull(client, alice)["changes"][-1]["data"]["community_id"] is None


@pytest.mark.parametrize("kind", ["create", "update"])
def test_a_non_member_is_rejected_and_nothing_changes(
    client: TestClient, make_user: MakeUser, db, kind: str
) -> None:
    owner, alice = make_user(password=None), make_user(password=None)
    public = create(client, owner, name="Open")["id"]  # visible, but alice has not joined
    server = local_server()
    if kind == "update":
        assert statuses(push(client, alice, operation("create", server))) == ["applied"]
    for cid in (public, str(uuid.uuid4())):
        [result] = push(client, alice, operation(kind, server | {"community_id": cid}))
        assert result["status"] == "rejected"
        assert result["reason"] == f"not a member of community {cid}"
        assert community_of(db, server["id"]) is None


def test_a_payload_without_community_id_keeps_the_attachment(
    client: TestClient, make_user: MakeUser, db
) -> None:
    owner, alice = make_user(password=None), make_user(password=None)
    cid = private_member_of(client, owner, alice)
    server = local_server(community_id=cid)
    push(client, alice, operation("create", server))
    older_client = {k: v for k, v in server.items() if k != "community_id"} | {"name": "renamed"}
    assert statuses(push(client, alice, operation("update", older_client))) == ["applied"]
    assert community_of(db, server["id"]) == cid
    summary = {"recorded_at": "2026-11-20 09:00:00", "player_count": 3}
    pushed = push(client, alice, operation("update", summary, entity_type="server_summary",
                                           entity_id=server["id"]))  # fmt: skip
    assert statuses(pushed) == ["applied"]
    assert community_of(db, server["id"]) == cid


def test_a_re_created_server_loses_its_community_unless_the_payload_names_it(
    client: TestClient, make_user: MakeUser, db
) -> None:
    owner, alice = make_user(password=None), make_user(password=None)
    cid = private_member_of(client, owner, alice)
    server = local_server(community_id=cid)
    push(client, alice, operation("create", server))
    bare = {k: v for k, v in server.items() if k != "community_id"}
    pushed = push(client, alice, delete(server["id"]), operation("create", bare))
    assert statuses(pushed) == ["applied", "applied"]
    assert community_of(db, server["id"]) is None
    pushed = push(client, alice, delete(server["id"]), operation("create", server))
    assert statuses(pushed) == ["applied", "applied"]
    assert community_of(db, server["id"]) == cid


def test_a_server_stays_attached_when_its_owner_leaves_but_cannot_be_re_attached(
    client: TestClient, make_user: MakeUser, db
) -> None:
    owner, alice = make_user(password=None), make_user(password=None)
    cid = private_member_of(client, owner, alice)
    server = local_server(community_id=cid)
    push(client, alice, operation("create", server))
    assert client.post(f"{BASE}/{cid}/leave", headers=alice.headers).status_code == 200
    # the unchanged attachment is not a new one: the device's other changes still apply
    unchanged = push(client, alice, operation("update", server | {"status": "running"}))
    assert statuses(unchanged) == ["applied"]
    push(client, alice, operation("update", server | {"community_id": None}))
    [again] = push(client, alice, operation("update", server))
    assert (again["status"], again["reason"]) == ("rejected", f"not a member of community {cid}")
    assert community_of(db, server["id"]) is None


def test_every_role_may_attach(client: TestClient, make_user: MakeUser, db) -> None:
    owner = make_user(password=None)
    cid = create(client, owner)["id"]
    people: dict[str, Account] = {"Owner": owner}
    for role in ("Admin", "Moderator", "Member"):
        people[role] = make_user(password=None)
        assert client.post(f"{BASE}/{cid}/join", headers=people[role].headers).status_code == 200
        if role != "Member":
            url = f"{BASE}/{cid}/members/{people[role].id}"
            assert client.patch(url, json={"role": role}, headers=owner.headers).status_code == 200
    for who in people.values():
        server: dict[str, Any] = local_server(community_id=cid)
        assert statuses(push(client, who, operation("create", server))) == ["applied"]
        assert community_of(db, server["id"]) == cid


def test_deleting_the_community_detaches_and_pull_tells_the_servers_owner(
    client: TestClient, make_user: MakeUser, db
) -> None:
    owner, alice = make_user(password=None), make_user(password=None)
    cid = private_member_of(client, owner, alice)
    server = local_server(community_id=cid)
    push(client, alice, operation("create", server))
    cursor = pull(client, alice)["next_cursor"]
    assert client.delete(f"{BASE}/{cid}", headers=owner.headers).status_code == 204
    changes = pull(client, alice, cursor)["changes"]
    servers = [c for c in changes if c["entity_type"] == "game_server"]
    assert [(c["entity_id"], c["data"]["community_id"]) for c in servers] == [(server["id"], None)]
    assert community_of(db, server["id"]) is None


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL's concurrent writers")
def test_pushes_racing_the_deletion_of_their_community_do_not_deadlock(
    app: FastAPI, client: TestClient, make_user: MakeUser, db
) -> None:
    """A push holds the feed's lock and then writes servers; deleting a community nulls its
    servers' community_id: both take the feed's lock first, so neither waits on the other."""
    owner = make_user(password=None)
    cid = create(client, owner)["id"]
    pushers = [make_user(password=None) for _ in range(6)]
    servers = {}
    for user in pushers:
        assert client.post(f"{BASE}/{cid}/join", headers=user.headers).status_code == 200
        servers[user.id] = local_server(community_id=cid)
        push(client, user, operation("create", servers[user.id]))
    start = threading.Barrier(len(pushers) + 1)

    def act(user: Account) -> list[int]:
        with TestClient(app) as own_client:
            start.wait()
            if user is owner:
                return [own_client.delete(f"{BASE}/{cid}", headers=owner.headers).status_code]
            answers = []
            for i in range(5):
                payload = servers[user.id] | {"status": f"s{i}"}
                body = {"operations": [operation("update", payload)]}
                answer = own_client.post("/v1/sync/push", json=body, headers=user.headers)
                answers.append(answer.status_code)
                # before the deletion: applied; after it: the stale community_id is refused
                [result] = answer.json()["results"]
                assert result["status"] == "applied" or result["reason"] == (
                    f"not a member of community {cid}"
                ), result
            return answers

    with ThreadPoolExecutor(len(pushers) + 1) as pool:
        answers = [code for job in pool.map(act, [owner, *pushers]) for code in job]
    assert answers == [204] + [200] * 5 * len(pushers)
    for server in servers.values():
        assert community_of(db, server["id"]) is None
