"""Invitations to a community: codes shown once and kept hashed, who may manage them, joining
a private community with a code, every refused code answering the same 403, and the row lock
that lets a single-use code admit exactly one of two racing joins (PostgreSQL)."""

import hashlib
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from gsm_cloud.clock import utcnow
from gsm_cloud.db.models import CommunityInvitation
from gsm_cloud.services import invitations as service
from tests.cloud.conftest import ON_POSTGRES, Account, MakeUser
from tests.cloud.test_communities import BASE, counts_are_true, create, members_of

on_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="row locking needs PostgreSQL")


def private_community(client: TestClient, owner: Account, name: str = "Hidden") -> str:
    return create(client, owner, name=name, is_public=False)["id"]


def invite(client: TestClient, cid: str, by: Account, **fields: Any) -> dict[str, Any]:
    response = client.post(f"{BASE}/{cid}/invitations", json=fields, headers=by.headers)
    assert response.status_code == 201, response.text
    return response.json()


def join_with(client: TestClient, cid: str, who: Account, code: str) -> Any:
    return client.post(f"{BASE}/{cid}/join", json={"code": code}, headers=who.headers)


def listed(client: TestClient, cid: str, by: Account) -> list[dict[str, Any]]:
    response = client.get(f"{BASE}/{cid}/invitations", headers=by.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_code_is_shown_once_and_kept_only_as_its_hash(
    client: TestClient, make_user: MakeUser, db
) -> None:
    owner = make_user(password=None)
    cid = private_community(client, owner)
    before = utcnow()
    body = invite(client, cid, owner)
    assert body["code"].startswith("gsmi_") and len(body["code"]) >= 5 + 24
    assert {k: body[k] for k in ("community_id", "email", "max_uses", "uses", "state")} == {
        "community_id": cid,
        "email": None,
        "max_uses": 1,
        "uses": 0,
        "state": "active",
    }
    assert body["created_by"] == str(owner.id) and body["revoked_at"] is None
    row = db.get(CommunityInvitation, uuid.UUID(body["id"]))
    assert row.code_hash == hashlib.sha256(body["code"].encode()).hexdigest()
    assert body["code"] not in {str(v) for v in vars(row).values()}
    # the default lifetime is 7 days
    assert timedelta(days=7) <= row.expires_at - before < timedelta(days=7, minutes=1)
    items = listed(client, cid, owner)
    assert [i["id"] for i in items] == [body["id"]] and "code" not in items[0]
    assert items[0]["state"] == "active"
    # two invitations never share a code
    assert invite(client, cid, owner)["code"] != body["code"]


def test_an_invited_user_joins_a_private_community_with_the_code(
    client: TestClient, make_user: MakeUser, db
) -> None:
    owner, guest = make_user(password=None), make_user(password=None)
    cid = private_community(client, owner)
    assert client.post(f"{BASE}/{cid}/join", headers=guest.headers).status_code == 404
    code = invite(client, cid, owner)["code"]
    response = join_with(client, cid, guest, code)
    assert response.status_code == 200, response.text
    assert response.json()["my_role"] == "Member" and response.json()["member_count"] == 2
    assert client.get(f"{BASE}/{cid}", headers=guest.headers).status_code == 200
    [item] = listed(client, cid, owner)
    assert (item["uses"], item["state"]) == (1, "used")
    assert members_of(db, cid) == 2 and counts_are_true(db)


def test_a_code_is_usable_max_uses_times(client: TestClient, make_user: MakeUser, db) -> None:
    owner = make_user(password=None)
    cid = private_community(client, owner)
    code = invite(client, cid, owner, max_uses=3)["code"]
    guests = [make_user(password=None) for _ in range(4)]
    answers = [join_with(client, cid, guest, code).status_code for guest in guests]
    assert answers == [200, 200, 200, 403]
    [item] = listed(client, cid, owner)
    assert (item["uses"], item["max_uses"], item["state"]) == (3, 3, "used")
    assert members_of(db, cid) == 4 and counts_are_true(db)


def test_a_member_joining_again_with_a_code_uses_nothing(
    client: TestClient, make_user: MakeUser
) -> None:
    owner, guest = make_user(password=None), make_user(password=None)
    cid = private_community(client, owner)
    code = invite(client, cid, owner, max_uses=2)["code"]
    assert join_with(client, cid, guest, code).status_code == 200
    again = join_with(client, cid, guest, code)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_member"
    assert listed(client, cid, owner)[0]["uses"] == 1


def test_the_email_of_an_invitation_matches_in_any_case(
    client: TestClient, make_user: MakeUser
) -> None:
    owner = make_user(password=None)
    guest = make_user(password=None, email=f"Ana.{uuid.uuid4().hex[:6]}@Example.com")
    cid = private_community(client, owner)
    code = invite(client, cid, owner, email=guest.email.upper())["code"]
    assert join_with(client, cid, guest, code).status_code == 200


def test_a_public_community_still_joins_without_a_body_or_with_an_empty_one(
    client: TestClient, make_user: MakeUser
) -> None:
    owner, a, b = (make_user(password=None) for _ in range(3))
    cid = create(client, owner)["id"]
    assert client.post(f"{BASE}/{cid}/join", headers=a.headers).status_code == 200
    assert client.post(f"{BASE}/{cid}/join", json={}, headers=b.headers).status_code == 200


# Each refused case: (name, how to spoil the invitation or the attempt).
REFUSED = ["unknown", "expired", "revoked", "used up", "wrong email", "other community", "gone"]


@pytest.mark.parametrize("case", REFUSED)
def test_every_refused_code_gets_the_same_403(
    client: TestClient, make_user: MakeUser, db, case: str
) -> None:
    owner, guest, first = (make_user(password=None) for _ in range(3))
    cid = private_community(client, owner)
    other = private_community(client, owner, name="Other")
    fields = {"email": "someone.else@example.com"} if case == "wrong email" else {}
    body = invite(client, other if case == "other community" else cid, owner, **fields)
    code, target = body["code"], cid
    if case == "unknown":
        code = "gsmi_" + "x" * 24
    elif case == "expired":
        db.execute(
            update(CommunityInvitation)
            .where(CommunityInvitation.id == uuid.UUID(body["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.commit()
    elif case == "revoked":
        url = f"{BASE}/{cid}/invitations/{body['id']}"
        assert client.delete(url, headers=owner.headers).status_code == 204
    elif case == "used up":
        assert join_with(client, cid, first, code).status_code == 200
    elif case == "gone":
        target = str(uuid.uuid4())  # no such community: still 403, never a 404 oracle
    response = join_with(client, target, guest, code)
    assert response.status_code == 403, response.text
    assert response.json() == {
        "error": {"code": "invitation_invalid", "message": service.INVALID_MESSAGE}
    }
    assert client.get(f"{BASE}/{cid}", headers=guest.headers).status_code == 404
    assert counts_are_true(db)


def test_revoking_is_idempotent_and_shows_in_the_list(
    client: TestClient, make_user: MakeUser
) -> None:
    owner = make_user(password=None)
    cid = private_community(client, owner)
    first, second = invite(client, cid, owner), invite(client, cid, owner)
    url = f"{BASE}/{cid}/invitations/{first['id']}"
    assert client.delete(url, headers=owner.headers).status_code == 204
    revoked_at = listed(client, cid, owner)[0]["revoked_at"]
    assert client.delete(url, headers=owner.headers).status_code == 204
    items = listed(client, cid, owner)
    assert [(i["id"], i["state"]) for i in items] == [
        (first["id"], "revoked"),
        (second["id"], "active"),
    ]
    assert items[0]["revoked_at"] == revoked_at is not None


def test_unknown_invitations_and_those_of_other_communities_are_404(
    client: TestClient, make_user: MakeUser
) -> None:
    owner = make_user(password=None)
    cid, other = private_community(client, owner), private_community(client, owner, "Other")
    theirs = invite(client, other, owner)["id"]
    for invitation_id in (theirs, str(uuid.uuid4())):
        response = client.delete(f"{BASE}/{cid}/invitations/{invitation_id}", headers=owner.headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "invitation_not_found"
    assert listed(client, other, owner)[0]["state"] == "active"


@pytest.mark.parametrize(
    "body",
    [
        {"expires_in_seconds": 59},
        {"expires_in_seconds": 90 * 24 * 3600 + 1},
        {"max_uses": 0},
        {"max_uses": 1001},
        {"email": "not-an-email"},
        {"code": "chosen"},
    ],
)
def test_bad_invitation_bodies_are_422(
    client: TestClient, make_user: MakeUser, body: dict[str, Any]
) -> None:
    owner = make_user(password=None)
    cid = private_community(client, owner)
    response = client.post(f"{BASE}/{cid}/invitations", json=body, headers=owner.headers)
    assert response.status_code == 422, response.text


def test_the_limits_of_an_invitation_are_accepted(client: TestClient, make_user: MakeUser) -> None:
    owner = make_user(password=None)
    cid = private_community(client, owner)
    for fields in ({"expires_in_seconds": 60, "max_uses": 1000},
                   {"expires_in_seconds": 90 * 24 * 3600}):  # fmt: skip
        assert invite(client, cid, owner, **fields)["max_uses"] == fields.get("max_uses", 1)


def test_deleting_a_community_deletes_its_invitations(
    client: TestClient, make_user: MakeUser, db
) -> None:
    owner = make_user(password=None)
    cid = private_community(client, owner)
    invite(client, cid, owner)
    assert client.delete(f"{BASE}/{cid}", headers=owner.headers).status_code == 204
    rows = db.scalars(
        select(CommunityInvitation).where(CommunityInvitation.community_id == uuid.UUID(cid))
    ).all()
    assert rows == []


# --- concurrency (PostgreSQL's row locks) -----------------------------------------------------


@on_postgres
def test_two_racing_joins_with_a_single_use_code_admit_exactly_one(
    app: FastAPI, client: TestClient, make_user: MakeUser, db
) -> None:
    owner = make_user(password=None)
    cid = private_community(client, owner)
    for _ in range(5):  # several rounds: the race is won by either, never by both
        code = invite(client, cid, owner)["code"]
        guests = [make_user(password=None) for _ in range(2)]
        start = threading.Barrier(2)

        def attempt(guest: Account, code: str = code, start: threading.Barrier = start) -> int:
            with TestClient(app) as own_client:
                start.wait()
                return join_with(own_client, cid, guest, code).status_code

        with ThreadPoolExecutor(2) as pool:
            assert sorted(pool.map(attempt, guests)) == [200, 403]
    assert [i["uses"] for i in listed(client, cid, owner)] == [1] * 5
    assert members_of(db, cid) == 6 and counts_are_true(db)


@on_postgres
def test_fifty_concurrent_joins_with_codes_and_leaves_keep_the_count_true(
    app: FastAPI, client: TestClient, make_user: MakeUser, db
) -> None:
    owner = make_user(password=None)
    cid = private_community(client, owner)
    leavers = [make_user(password=None) for _ in range(25)]
    setup_code = invite(client, cid, owner, max_uses=25)["code"]
    for user in leavers:
        assert join_with(client, cid, user, setup_code).status_code == 200
    joiners = [make_user(password=None) for _ in range(25)]
    code = invite(client, cid, owner, max_uses=25)["code"]
    start = threading.Barrier(len(leavers) + len(joiners))

    def act(job: tuple[str, Account]) -> int:
        verb, account = job
        with TestClient(app) as own_client:
            start.wait()
            if verb == "join":
                return join_with(own_client, cid, account, code).status_code
            return own_client.post(f"{BASE}/{cid}/leave", headers=account.headers).status_code

    jobs = [("leave", u) for u in leavers] + [("join", u) for u in joiners]
    with ThreadPoolExecutor(len(jobs)) as pool:
        answers = list(pool.map(act, jobs))
    assert answers == [200] * len(jobs)
    body = client.get(f"{BASE}/{cid}", headers=owner.headers).json()
    assert body["member_count"] == members_of(db, cid) == 1 + len(joiners)
    assert counts_are_true(db)
    assert [i["state"] for i in listed(client, cid, owner)] == ["used", "used"]
