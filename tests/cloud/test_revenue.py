"""Revenue: donations to communities, plugin purchases, and what each user earned and paid,
with totals per currency. Money leaves the API as strings with two decimals. These tests run
with the development payment provider (conftest), which confirms every payment at once;
tests/cloud/test_payments.py covers pending payments and Stripe."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gsm_cloud.db.models import Plugin, RevenueTransaction
from tests.cloud.conftest import ON_POSTGRES, Account, MakeUser

MAX = "99999999.99"


@pytest.fixture
def person(make_user: MakeUser):  # type: ignore[no-untyped-def]
    """Users with a token but no password (no password hashing: faster)."""
    return lambda role="Basic": make_user(role, password=None)


def community(client: TestClient, owner: Account, *, public: bool = True) -> str:
    response = client.post(
        "/v1/communities", json={"name": "Rusty", "is_public": public}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def donate(client: TestClient, cid: str, payer: Account, **body: Any):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/communities/{cid}/donations", json=body, headers=payer.headers)


def plugin(db, developer: Account | None, price: str | None, currency: str = "USD") -> uuid.UUID:  # type: ignore[no-untyped-def]
    row = Plugin(
        name="Anti-grief",
        version="1.0.0",
        category="admin",
        price=None if price is None else Decimal(price),
        currency=currency,
        developer_id=developer.id if developer else None,
    )
    db.add(row)
    db.commit()
    return row.id


def buy(client: TestClient, plugin_id: uuid.UUID | str, buyer: Account, **kwargs: Any):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/plugins/{plugin_id}/purchase", headers=buyer.headers, **kwargs)


# --- donations -------------------------------------------------------------------------------


def test_a_donation_goes_to_the_communitys_owner(client: TestClient, person, db) -> None:
    owner, fan = person(), person()
    cid = community(client, owner)
    response = donate(client, cid, fan, amount="4.99", message="for the server costs")
    assert response.status_code == 201, response.text
    body = response.json()["payment"]
    assert body["kind"] == "community_donation" and body["status"] == "confirmed"
    assert body["amount"] == "4.99" and body["currency"] == "USD"
    assert body["community_id"] == cid and body["plugin_id"] is None
    assert body["provider"] == "development" and body["client_secret"] is None
    assert body["created_at"].endswith("Z") and body["confirmed_at"].endswith("Z")
    row = db.get(RevenueTransaction, uuid.UUID(body["transaction_id"]))
    assert row.transaction_type == "community_donation" and row.amount == Decimal("4.99")
    assert row.payer_id == fan.id and row.recipient_id == owner.id
    assert row.community_id == uuid.UUID(cid) and row.stripe_payment_intent_id is None


@pytest.mark.parametrize(
    ("amount", "shown"),
    [(5, "5.00"), ("10", "10.00"), ("4.5", "4.50"), ("0.01", "0.01"), (MAX, MAX), ("1.10", "1.10")],
)
def test_amounts_leave_with_two_decimals(
    client: TestClient, person, amount: Any, shown: str
) -> None:
    owner, fan = person(), person()
    response = donate(client, community(client, owner), fan, amount=amount, currency="EUR")
    assert response.status_code == 201, response.text
    payment = response.json()["payment"]
    assert payment["amount"] == shown and payment["currency"] == "EUR"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"amount": 0},
        {"amount": -1},
        {"amount": "0.00"},
        {"amount": 0.001},
        {"amount": "1.005"},
        {"amount": 100000000},
        {"amount": "99999999.999"},
        {"amount": 1e308},
        {"amount": "1e999999999"},
        {"amount": "-1e999999999"},
        {"amount": "NaN"},
        {"amount": "Infinity"},
        {"amount": "-Infinity"},
        {"amount": "abc"},
        {"amount": ""},
        {"amount": None},
        {"amount": [1]},
        {"amount": {"value": 1}},
        {"amount": 10**40},
        {"amount": 1, "currency": "usd"},
        {"amount": 1, "currency": "US"},
        {"amount": 1, "currency": "EURO"},
        {"amount": 1, "currency": "U\x00D"},
        {"amount": 1, "currency": None},
        {"amount": 4.99},  # a JSON number with decimals went through a float
        {"amount": True},
        {"amount": "1", "stripe_payment_intent_id": "pi_1"},  # the provider says, not the client
        {"amount": "1", "message": "m" * 501},
        {"amount": "1", "message": "\x00"},
        {"amount": 1, "payer_id": str(uuid.uuid4())},
        {"amount": 1, "recipient_id": str(uuid.uuid4())},
    ],
)
def test_bad_donations_are_422(client: TestClient, person, db, body: dict[str, Any]) -> None:
    owner, fan = person(), person()
    response = donate(client, community(client, owner), fan, **body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert db.scalar(select(func.count()).select_from(RevenueTransaction)) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"amount": 1e400}',
        b'{"amount": -1e400}',
        b'{"amount": NaN}',
        b'{"amount": Infinity}',
        b'{"amount": 1' + b"0" * 5000 + b"}",
        b'{"amount": 0.' + b"0" * 5000 + b"1}",
        b'{"amount": 1',
        b"[]",
        b"null",
        b"",
    ],
)
def test_raw_bodies_never_cause_a_500(client: TestClient, person, raw: bytes) -> None:
    owner, fan = person(), person()
    cid = community(client, owner)
    response = client.post(
        f"/v1/communities/{cid}/donations",
        content=raw,
        headers=fan.headers | {"Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422), response.text
    assert "error" in response.json()


def test_donation_rules(client: TestClient, person) -> None:
    owner, member, outsider = person(), person(), person()
    private = community(client, owner)
    assert client.post(f"/v1/communities/{private}/join", headers=member.headers).status_code == 200
    client.patch(f"/v1/communities/{private}", json={"is_public": False}, headers=owner.headers)
    cases = [
        (outsider, private, 404),  # a private community does not exist for outsiders
        (member, private, 201),
        (owner, private, 409),  # to yourself
        (member, str(uuid.uuid4()), 404),
        (member, "not-a-uuid", 422),
    ]
    for payer, cid, expected in cases:
        assert donate(client, cid, payer, amount=1).status_code == expected, (payer, cid)
    assert (
        client.post(f"/v1/communities/{private}/donations", json={"amount": 1}).status_code == 401
    )


def test_donations_follow_the_current_owner(client: TestClient, person, db) -> None:
    owner, heir, fan = person(), person(), person()
    cid = community(client, owner)
    assert client.post(f"/v1/communities/{cid}/join", headers=heir.headers).status_code == 200
    url = f"/v1/communities/{cid}/members/{heir.id}"
    assert client.patch(url, json={"role": "Owner"}, headers=owner.headers).status_code == 200
    assert client.post(f"/v1/communities/{cid}/leave", headers=owner.headers).status_code == 200
    response = donate(client, cid, fan, amount=2)
    assert response.status_code == 201
    row = db.get(RevenueTransaction, uuid.UUID(response.json()["payment"]["transaction_id"]))
    assert row.recipient_id == heir.id
    assert donate(client, cid, owner, amount=2).status_code == 201  # no longer owner


# --- purchases -------------------------------------------------------------------------------


def test_buying_a_plugin_pays_its_developer_its_price(client: TestClient, person, db) -> None:
    dev, buyer = person("Developer"), person()
    pid = plugin(db, dev, "4.99", "EUR")
    response = buy(client, pid, buyer)
    assert response.status_code == 201, response.text
    body = response.json()["payment"]
    assert body["kind"] == "plugin_purchase" and body["status"] == "confirmed"
    assert (body["amount"], body["currency"]) == ("4.99", "EUR")
    assert body["plugin_id"] == str(pid) and body["community_id"] is None
    row = db.get(RevenueTransaction, uuid.UUID(body["transaction_id"]))
    assert (row.transaction_type, row.amount, row.currency) == (
        "plugin_sale",
        Decimal("4.99"),
        "EUR",
    )
    assert row.payer_id == buyer.id and row.recipient_id == dev.id and row.plugin_id == pid
    assert buy(client, plugin(db, dev, "1"), person(), json={}).status_code == 201


def test_purchase_rules(client: TestClient, person, db) -> None:
    dev, buyer = person("Developer"), person()
    paid = plugin(db, dev, "3.50")
    cases = [
        (plugin(db, dev, "0"), buyer, 409, "not_for_sale"),
        (plugin(db, dev, None), buyer, 409, "not_for_sale"),
        (paid, dev, 409, "own_plugin"),
        (plugin(db, None, "2"), buyer, 409, "no_recipient"),
        (uuid.uuid4(), buyer, 404, "plugin_not_found"),
        (paid, buyer, 201, None),
        (paid, buyer, 409, "already_bought"),
    ]
    for pid, who, status, code in cases:
        response = buy(client, pid, who)
        assert response.status_code == status, (pid, response.text)
        if code:
            assert response.json()["error"]["code"] == code
    assert buy(client, "not-a-uuid", buyer).status_code == 422
    assert client.post(f"/v1/plugins/{paid}/purchase").status_code == 401
    count = db.scalar(select(func.count()).select_from(RevenueTransaction))
    assert count == 1


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 1},
        {"price": "0.01"},
        {"currency": "EUR"},  # the plugin's currency, not the buyer's
        {"stripe_payment_intent_id": "pi_1"},
        [],
        "x",
    ],
)
def test_bad_purchase_bodies_are_422(client: TestClient, person, db, body: Any) -> None:
    pid = plugin(db, person("Developer"), "1")
    assert buy(client, pid, person(), json=body).status_code == 422


# --- what I earned and what I paid -----------------------------------------------------------


def test_revenue_lists_what_i_received_with_totals(client: TestClient, person, db) -> None:
    dev, fan, other = person("Developer"), person(), person()
    cid = community(client, dev)
    amounts = [("0.10", "USD"), ("0.20", "USD"), ("5", "EUR")]
    for amount, currency in amounts:
        response = donate(client, cid, fan, amount=amount, currency=currency)
        assert response.status_code == 201
    assert buy(client, plugin(db, dev, "4.99"), fan).status_code == 201
    assert buy(client, plugin(db, dev, "4.99"), other).status_code == 201
    assert donate(client, community(client, other), fan, amount=100).status_code == 201

    body = client.get("/v1/revenue", headers=dev.headers).json()
    assert body["total"] == 5 and len(body["items"]) == 5
    assert body["totals"] == {"EUR": "5.00", "USD": "10.28"}  # 0.10 + 0.20 + 2 x 4.99, exactly
    assert all(t["recipient_id"] == str(dev.id) for t in body["items"])
    times = [t["created_at"] for t in body["items"]]
    assert times == sorted(times, reverse=True)  # newest first

    sales = client.get("/v1/revenue?transaction_type=plugin_sale", headers=dev.headers).json()
    assert sales["total"] == 2 and sales["totals"] == {"USD": "9.98"}
    gifts = "/v1/revenue?transaction_type=community_donation&per_page=1&page=2"
    page = client.get(gifts, headers=dev.headers).json()
    assert page["total"] == 3 and len(page["items"]) == 1 and page["page"] == 2
    assert page["totals"] == {"EUR": "5.00", "USD": "0.30"}  # over every page
    subs = client.get("/v1/revenue?transaction_type=subscription", headers=dev.headers).json()
    assert subs == {"items": [], "page": 1, "per_page": 50, "total": 0, "totals": {}}

    other_view = client.get("/v1/revenue", headers=other.headers).json()
    assert other_view["total"] == 1 and other_view["totals"] == {"USD": "100.00"}


def test_payments_list_what_i_paid(client: TestClient, person, db) -> None:
    dev, fan = person("Developer"), person()
    cid = community(client, dev)
    assert donate(client, cid, fan, amount=MAX).status_code == 201
    assert donate(client, cid, fan, amount=MAX).status_code == 201
    assert buy(client, plugin(db, dev, "0.01"), fan).status_code == 201
    body = client.get("/v1/revenue/payments", headers=fan.headers).json()
    assert body["total"] == 3
    assert body["totals"] == {"USD": "199999999.99"}  # beyond DECIMAL(10,2), still exact
    assert {t["payer_id"] for t in body["items"]} == {str(fan.id)}
    only_sales = client.get(
        "/v1/revenue/payments?transaction_type=plugin_sale", headers=fan.headers
    ).json()
    assert [t["amount"] for t in only_sales["items"]] == ["0.01"]
    assert client.get("/v1/revenue/payments", headers=dev.headers).json()["total"] == 0
    assert client.get("/v1/revenue", headers=fan.headers).json()["totals"] == {}


@pytest.mark.parametrize("url", ["/v1/revenue", "/v1/revenue/payments"])
@pytest.mark.parametrize(
    "query", ["?transaction_type=refund", "?per_page=0", "?page=-1", "?transaction_type=%00"]
)
def test_bad_revenue_queries_are_422(client: TestClient, person, url: str, query: str) -> None:
    assert client.get(url + query, headers=person().headers).status_code == 422


@pytest.mark.parametrize("url", ["/v1/revenue", "/v1/revenue/payments"])
def test_revenue_needs_a_token(client: TestClient, url: str) -> None:
    assert client.get(url).status_code == 401


# --- at most once, under concurrency (PostgreSQL) --------------------------------------------

on_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="concurrent writers need PostgreSQL")


def all_at_once(app: FastAPI, count: int, request) -> list[int]:  # type: ignore[no-untyped-def]
    start = threading.Barrier(count)

    def attempt(_: int) -> int:
        with TestClient(app) as own_client:
            start.wait()
            return request(own_client).status_code

    with ThreadPoolExecutor(count) as pool:
        return sorted(pool.map(attempt, range(count)))


@on_postgres
def test_buying_the_same_plugin_at_once_buys_it_once(app: FastAPI, person, db) -> None:
    dev, buyer = person("Developer"), person()
    pid = plugin(db, dev, "2.50")
    statuses = all_at_once(app, 6, lambda c: buy(c, pid, buyer))
    assert statuses == [201] + [409] * 5
    assert db.scalar(select(func.count()).select_from(RevenueTransaction)) == 1
