"""Logging in, tokens (hashed at rest, expiry, revocation) and /v1/me."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from gsm_cloud.clock import utcnow
from gsm_cloud.db.models import ApiToken
from gsm_cloud.security import token_hash
from tests.cloud.conftest import MakeUser


def login(client: TestClient, email: str, password: str):
    return client.post("/v1/auth/token", json={"email": email, "password": password})


def test_login_gives_a_token_that_works(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user()
    response = login(client, alice.email, "correct horse")
    assert response.status_code == 200
    token = response.json()["access_token"]
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["email"] == alice.email and me.json()["role"] == "Basic"


def test_wrong_password_and_unknown_email_look_the_same(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user()
    wrong = login(client, alice.email, "nope")
    unknown = login(client, "nobody@example.com", "nope")
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {"error": {"code": "bad_credentials", "message": "wrong email or password"}}
    )


def test_a_token_only_user_cannot_log_in_with_any_password(
    client: TestClient, make_user: MakeUser
) -> None:
    bot = make_user(password=None)
    assert login(client, bot.email, "").status_code == 422
    assert login(client, bot.email, "anything").status_code == 401


def test_tokens_are_stored_only_as_hashes(client: TestClient, make_user: MakeUser, db) -> None:
    alice = make_user()
    token = login(client, alice.email, "correct horse").json()["access_token"]
    rows = db.scalars(select(ApiToken)).all()
    assert all(row.token_hash != token and len(row.token_hash) == 64 for row in rows)
    assert token_hash(token) in {row.token_hash for row in rows}


def test_no_token_bad_token_and_malformed_header(client: TestClient) -> None:
    assert client.get("/v1/me").json()["error"]["code"] == "not_authenticated"
    bad = client.get("/v1/me", headers={"Authorization": "Bearer gsmc_forged"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_token"
    assert bad.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_logout_revokes_the_token(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user()
    token = login(client, alice.email, "correct horse").json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.delete("/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/v1/me", headers=headers).status_code == 401


def test_an_expired_token_is_refused(client: TestClient, make_user: MakeUser, db) -> None:
    alice = make_user()
    row = db.scalars(select(ApiToken).where(ApiToken.user_id == alice.id)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    response = client.get("/v1/me", headers=alice.headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"


def test_personal_access_tokens(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user()
    created = client.post(
        "/v1/me/tokens", json={"name": "ci", "expires_in_days": 7}, headers=alice.headers
    )
    assert created.status_code == 201
    pat = created.json()
    ci = {"Authorization": f"Bearer {pat['token']}"}
    assert client.get("/v1/me", headers=ci).status_code == 200
    listed = client.get("/v1/me/tokens", headers=alice.headers).json()
    assert {t["name"] for t in listed} == {"test", "ci"}
    assert all("token" not in t for t in listed)
    assert client.delete(f"/v1/me/tokens/{pat['id']}", headers=alice.headers).status_code == 204
    assert client.get("/v1/me", headers=ci).status_code == 401


def test_nobody_revokes_another_users_token(client: TestClient, make_user: MakeUser, db) -> None:
    alice, bob = make_user(), make_user()
    bobs = db.scalars(select(ApiToken).where(ApiToken.user_id == bob.id)).one()
    response = client.delete(f"/v1/me/tokens/{bobs.id}", headers=alice.headers)
    assert response.status_code == 404
    assert client.get("/v1/me", headers=bob.headers).status_code == 200


def test_update_me(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user()
    body = {"display_name": "Alice A.", "profile": {"bio": "hi"}, "settings": {"theme": "dark"}}
    updated = client.patch("/v1/me", json=body, headers=alice.headers)
    assert updated.status_code == 200
    assert updated.json()["profile"] == {"bio": "hi"}
    assert client.get("/v1/me", headers=alice.headers).json()["display_name"] == "Alice A."
    bad = client.patch("/v1/me", json={"display_name": "x\u0000y"}, headers=alice.headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    unknown = client.patch("/v1/me", json={"role": "Admin"}, headers=alice.headers)
    assert unknown.status_code == 422
    assert client.get("/v1/me", headers=alice.headers).json()["role"] == "Basic"


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
