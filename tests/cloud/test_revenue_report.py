"""GET /v1/revenue/report: what the caller received as recipient, grouped by plugin, community
or month, with totals per currency exact to the cent (SQL SUM over NUMERIC). Payments go
through the development provider (conftest), which confirms them at once."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from gsm_cloud.db.models import Plugin, RevenueTransaction
from tests.cloud.conftest import Account, MakeUser

URL = "/v1/revenue/report"


@pytest.fixture
def person(make_user: MakeUser):  # type: ignore[no-untyped-def]
    return lambda role="Basic": make_user(role, password=None)


def community(client: TestClient, owner: Account, name: str) -> str:
    response = client.post("/v1/communities", json={"name": name}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def donate(client: TestClient, cid: str, payer: Account, amount: str, currency: str) -> str:
    body = {"amount": amount, "currency": currency}
    response = client.post(f"/v1/communities/{cid}/donations", json=body, headers=payer.headers)
    assert response.status_code == 201, response.text
    return response.json()["payment"]["transaction_id"]


def plugin(client: TestClient, developer: Account, name: str, price: str, currency: str) -> str:
    body = {"name": name, "category": "admin", "price": price, "currency": currency}
    response = client.post("/v1/plugins", json=body, headers=developer.headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def buy(client: TestClient, pid: str, buyer: Account) -> str:
    response = client.post(f"/v1/plugins/{pid}/purchase", headers=buyer.headers)
    assert response.status_code == 201, response.text
    return response.json()["payment"]["transaction_id"]


def report(client: TestClient, who: Account, **params: Any) -> dict[str, Any]:
    response = client.get(URL, params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


def move(db, transaction_id: str, when: str) -> None:  # type: ignore[no-untyped-def]
    db.execute(
        update(RevenueTransaction)
        .where(RevenueTransaction.id == uuid.UUID(transaction_id))
        .values(created_at=datetime.fromisoformat(when))
    )
    db.commit()


@pytest.fixture
def world(client: TestClient, person, db) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A developer who also owns two communities; fans who buy and donate in EUR and USD."""
    dev, other_dev = person("Developer"), person("Developer")
    fans = [person() for _ in range(3)]
    rust, valheim = community(client, dev, "Rust"), community(client, dev, "Valheim")
    antigrief = plugin(client, dev, "Antigrief", "4.99", "EUR")
    maps = plugin(client, dev, "Maps", "0.10", "USD")
    elsewhere = plugin(client, other_dev, "Elsewhere", "1.00", "USD")
    ids = {
        "rust_eur": [donate(client, rust, fan, "0.10", "EUR") for fan in fans],  # 3 x 0.10
        "rust_usd": donate(client, rust, fans[0], "0.20", "USD"),
        "valheim": donate(client, valheim, fans[1], "1000", "JPY"),
        "antigrief": [buy(client, antigrief, fan) for fan in fans[:2]],
        "maps": [buy(client, maps, fan) for fan in fans],
        "elsewhere": buy(client, elsewhere, fans[0]),  # another developer's revenue
    }
    # Spread over two months: the JPY donation and one Maps sale in November.
    move(db, ids["valheim"], "2026-11-20T10:00:00")
    move(db, ids["maps"][0], "2026-11-30T23:59:59")
    for tid in [*ids["rust_eur"], ids["rust_usd"], *ids["antigrief"], *ids["maps"][1:]]:
        move(db, tid, "2026-12-01T00:00:00")
    return {"dev": dev, "other_dev": other_dev, "fan": fans[0], "rust": rust,
            "valheim": valheim, "antigrief": antigrief, "maps": maps}  # fmt: skip


def test_by_month_totals_per_currency_exact_to_the_cent(client: TestClient, world) -> None:
    body = report(client, world["dev"], by="month")
    assert body["by"] == "month" and body["since"] is None and body["until"] is None
    rows = [(r["key"], r["currency"], r["count"], r["total"]) for r in body["rows"]]
    assert rows == [
        ("2026-11", "JPY", 1, "1000.00"),
        ("2026-11", "USD", 1, "0.10"),
        ("2026-12", "EUR", 5, "10.28"),  # 3 x 0.10 + 2 x 4.99
        ("2026-12", "USD", 3, "0.40"),  # 0.20 + 2 x 0.10
    ]
    assert all(r["label"] == r["key"] for r in body["rows"])
    assert body["totals"] == [
        {"currency": "EUR", "count": 5, "total": "10.28"},
        {"currency": "JPY", "count": 1, "total": "1000.00"},
        {"currency": "USD", "count": 4, "total": "0.50"},
    ]


def test_by_community_counts_donations_only(client: TestClient, world) -> None:
    body = report(client, world["dev"], by="community")
    rows = [(r["key"], r["label"], r["currency"], r["count"], r["total"]) for r in body["rows"]]
    assert rows == [
        (world["rust"], "Rust", "EUR", 3, "0.30"),  # 3 x 0.10 EUR is 0.30, exactly
        (world["rust"], "Rust", "USD", 1, "0.20"),
        (world["valheim"], "Valheim", "JPY", 1, "1000.00"),
    ]
    assert [t["total"] for t in body["totals"]] == ["0.30", "1000.00", "0.20"]


def test_by_plugin_counts_sales_only(client: TestClient, world) -> None:
    body = report(client, world["dev"], by="plugin")
    rows = [(r["key"], r["label"], r["currency"], r["count"], r["total"]) for r in body["rows"]]
    assert rows == [
        (world["antigrief"], "Antigrief", "EUR", 2, "9.98"),
        (world["maps"], "Maps", "USD", 3, "0.30"),
    ]
    assert body["totals"] == [
        {"currency": "EUR", "count": 2, "total": "9.98"},
        {"currency": "USD", "count": 3, "total": "0.30"},
    ]


def test_since_and_until_bound_the_report(client: TestClient, world) -> None:
    december = report(client, world["dev"], since="2026-12-01T00:00:00Z")
    assert december["since"] == "2026-12-01T00:00:00Z"
    assert [(r["key"], r["currency"]) for r in december["rows"]] == [
        ("2026-12", "EUR"),
        ("2026-12", "USD"),
    ]
    november = report(client, world["dev"], until="2026-12-01T00:00:00Z")  # exclusive
    assert [(r["key"], r["count"]) for r in november["rows"]] == [("2026-11", 1), ("2026-11", 1)]
    # An offset is converted to UTC: 2026-12-01T00:30+01:00 is 23:30 UTC, before the Maps sale
    # of 23:59:59.
    shifted = report(client, world["dev"], until="2026-12-01T00:30:00+01:00")
    assert shifted["until"] == "2026-11-30T23:30:00Z"
    assert [r["currency"] for r in shifted["rows"]] == ["JPY"]
    empty = report(client, world["dev"], since="2027-01-01T00:00:00Z")
    assert empty["rows"] == [] and empty["totals"] == []


def test_only_the_callers_own_revenue(client: TestClient, world, person) -> None:
    other = report(client, world["other_dev"], by="plugin")
    assert [(r["label"], r["total"]) for r in other["rows"]] == [("Elsewhere", "1.00")]
    assert report(client, world["fan"])["rows"] == []  # a payer received nothing
    assert report(client, person())["totals"] == []


def test_sums_beyond_a_single_rows_precision_stay_exact(client: TestClient, person, db) -> None:
    dev, fan = person("Developer"), person()
    pid = plugin(client, dev, "Big", "99999999.99", "EUR")
    buy(client, pid, fan)
    for _ in range(2):
        buy(client, plugin(client, dev, f"Big{uuid.uuid4().hex[:6]}", "99999999.99", "EUR"), fan)
    totals = report(client, dev)["totals"]
    assert totals == [{"currency": "EUR", "count": 3, "total": "299999999.97"}]
    stored = db.query(Plugin).filter(Plugin.id == uuid.UUID(pid)).one()
    assert stored.price == Decimal("99999999.99") and stored.currency == "EUR"


def test_a_deleted_community_keeps_its_donations_in_the_report(client: TestClient, world) -> None:
    dev = world["dev"]
    assert client.delete(
        f"/v1/communities/{world['valheim']}", headers=dev.headers
    ).status_code == (204)
    rows = report(client, dev, by="community")["rows"]
    gone = [r for r in rows if r["key"] == "deleted"]
    assert [(r["label"], r["currency"], r["total"]) for r in gone] == [
        ("(deleted community)", "JPY", "1000.00")
    ]


@pytest.mark.parametrize(
    "query",
    [
        "?by=payer",
        "?by=",
        "?since=yesterday",
        "?since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z",
        "?since=2026-12-01T00:00:00Z&until=2026-12-01T00:00:00Z",
    ],
)
def test_bad_report_queries_are_422(client: TestClient, person, query: str) -> None:
    answer = client.get(URL + query, headers=person().headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"


def test_the_report_needs_a_token(client: TestClient) -> None:
    assert client.get(URL).status_code == 401
