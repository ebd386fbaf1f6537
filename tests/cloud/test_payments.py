"""Payments through a provider: a purchase or donation is pending until the provider confirms
it, and only then a revenue transaction. Stripe is a small fake Stripe on 127.0.0.1 (a real
HTTP server that answers POST /v1/payment_intents as Stripe does); its webhooks are signed here
as Stripe signs them. The development provider confirms at once, only when enabled."""

import dataclasses
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gsm_cloud.app import create_app
from gsm_cloud.config import Settings, SettingsError, load_settings
from gsm_cloud.db.models import Payment, PaymentEvent, RevenueTransaction
from gsm_cloud.services import payments
from tests.cloud.conftest import ON_POSTGRES, Account, MakeUser
from tests.conftest import free_port
from tests.packages import package_bytes

WEBHOOK_SECRET = "whsec_test_secret"
SECRET_KEY = "sk_test_key"
WEBHOOK = "/v1/payments/webhooks/stripe"


@dataclass
class FakeStripe:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    refuse_with: int | None = None  # answer POSTs with this status and a Stripe error


def _handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            fake.requests.append({"path": self.path, "headers": dict(self.headers), "form": form})
            if fake.refuse_with is not None:
                status = fake.refuse_with
                body: dict[str, Any] = {"error": {"message": "Your card was declined."}}
            else:
                status, number = 200, len(fake.requests)
                body = {
                    "id": f"pi_{number}",
                    "object": "payment_intent",
                    "amount": int(form["amount"]),
                    "currency": form["currency"],
                    "client_secret": f"pi_{number}_secret_abc",
                    "status": "requires_payment_method",
                }
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    port = free_port()
    fake = FakeStripe(url=f"http://127.0.0.1:{port}")
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def cloud_settings(cloud_settings: Settings, fake_stripe: FakeStripe) -> Settings:
    """This module's cloud takes payments through (the fake) Stripe."""
    return dataclasses.replace(
        cloud_settings,
        payments="stripe",
        stripe_api_url=fake_stripe.url,
        stripe_secret_key=SECRET_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
    )


@pytest.fixture
def person(make_user: MakeUser):  # type: ignore[no-untyped-def]
    return lambda role="Basic": make_user(role, password=None)


@pytest.fixture
def paid_plugin(client: TestClient, person) -> tuple[Account, str]:  # type: ignore[no-untyped-def]
    """A developer and their published plugin at 4.99 EUR."""
    developer = person("Developer")
    body = {"name": "Premium", "category": "admin", "price": "4.99", "currency": "EUR",
            "supported_games": ["minecraft"]}  # fmt: skip
    listed = client.post("/v1/plugins", json=body, headers=developer.headers)
    assert listed.status_code == 201, listed.text
    assert (listed.json()["price"], listed.json()["currency"]) == ("4.99", "EUR")
    pid = listed.json()["id"]
    published = client.post(
        f"/v1/plugins/{pid}/versions",
        files={"file": ("p.zip", package_bytes("Premium"), "application/zip")},
        headers=developer.headers,
    )
    assert published.status_code == 201, published.text
    return developer, pid


def signed(payload: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    timestamp = str(int(time.time()) if at is None else at)
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def event(intent: str, *, kind: str = "payment_intent.succeeded", amount: int = 499,
          currency: str = "eur", event_id: str | None = None) -> bytes:  # fmt: skip
    amount_key = "amount_received" if kind == "payment_intent.succeeded" else "amount"
    body = {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": kind,
        "data": {"object": {"id": intent, "object": "payment_intent", amount_key: amount,
                            "currency": currency}},
    }  # fmt: skip
    return json.dumps(body).encode()


def deliver(client: TestClient, payload: bytes, signature: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post(WEBHOOK, content=payload, headers=headers)


def counts(db) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(revenue transactions, handled events)"""
    db.expire_all()
    revenue = db.scalar(select(func.count()).select_from(RevenueTransaction))
    events = db.scalar(select(func.count()).select_from(PaymentEvent))
    return revenue, events


def buy(client: TestClient, pid: str, buyer: Account) -> dict[str, Any]:
    response = client.post(f"/v1/plugins/{pid}/purchase", headers=buyer.headers)
    assert response.status_code == 201, response.text
    return response.json()["payment"]


# --- Stripe: start, then the webhook ---------------------------------------------------------


def test_a_stripe_purchase_is_pending_until_its_webhook_confirms_it(
    client: TestClient, person, paid_plugin, fake_stripe: FakeStripe, db
) -> None:
    developer, pid = paid_plugin
    buyer = person()
    payment = buy(client, pid, buyer)
    assert payment["status"] == "pending" and payment["provider"] == "stripe"
    assert payment["provider_payment_id"] == "pi_1"
    assert payment["client_secret"] == "pi_1_secret_abc"
    assert payment["transaction_id"] is None and payment["confirmed_at"] is None
    [sent] = fake_stripe.requests
    assert sent["path"] == "/v1/payment_intents"
    assert sent["headers"]["Authorization"] == f"Bearer {SECRET_KEY}"
    assert sent["headers"]["Idempotency-Key"] == f"gsm-payment-{payment['id']}"
    assert sent["form"]["amount"] == "499" and sent["form"]["currency"] == "eur"
    assert sent["form"]["metadata[gsm_payment_id]"] == payment["id"]

    download = f"/v1/plugins/{pid}/download"
    assert client.get(download, headers=buyer.headers).status_code == 403  # pending: not yet
    assert counts(db) == (0, 0)
    seen = client.get(f"/v1/payments/{payment['id']}", headers=buyer.headers).json()
    assert seen["status"] == "pending" and seen["client_secret"] is None  # shown once only

    payload = event("pi_1")
    answer = deliver(client, payload, signed(payload))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": True, "outcome": "confirmed"}
    seen = client.get(f"/v1/payments/{payment['id']}", headers=buyer.headers).json()
    assert seen["status"] == "confirmed" and seen["confirmed_at"].endswith("Z")
    row = db.get(RevenueTransaction, uuid.UUID(seen["transaction_id"]))
    assert (row.transaction_type, row.amount, row.currency) == (
        "plugin_sale",
        Decimal("4.99"),
        "EUR",
    )
    assert row.stripe_payment_intent_id == "pi_1"
    assert (row.payer_id, row.recipient_id, str(row.plugin_id)) == (buyer.id, developer.id, pid)
    assert client.get(download, headers=buyer.headers).status_code == 200  # confirmed: yes
    again = client.post(f"/v1/plugins/{pid}/purchase", headers=buyer.headers)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_bought")


def test_a_stripe_donation_waits_for_stripe_too(
    client: TestClient, person, fake_stripe: FakeStripe, db
) -> None:
    owner, fan = person(), person()
    cid = client.post("/v1/communities", json={"name": "Rusty"}, headers=owner.headers).json()["id"]
    body = {"amount": "500", "currency": "JPY", "message": "thanks"}
    started = client.post(f"/v1/communities/{cid}/donations", json=body, headers=fan.headers)
    assert started.status_code == 201, started.text
    payment = started.json()["payment"]
    assert (payment["amount"], payment["currency"], payment["status"]) == (
        "500.00",
        "JPY",
        "pending",
    )
    assert fake_stripe.requests[0]["form"]["amount"] == "500"  # JPY has no minor unit
    payload = event(payment["provider_payment_id"], amount=500, currency="jpy")
    assert deliver(client, payload, signed(payload)).json()["outcome"] == "confirmed"
    row = db.scalars(select(RevenueTransaction)).one()
    assert (row.transaction_type, row.amount, row.recipient_id) == (
        "community_donation", Decimal("500.00"), owner.id,
    )  # fmt: skip
    assert db.get(Payment, uuid.UUID(payment["id"])).message == "thanks"


def test_stripe_refusing_or_unreachable_answers_502_and_keeps_nothing(
    client: TestClient, person, paid_plugin, fake_stripe: FakeStripe, db, app: FastAPI
) -> None:
    _developer, pid = paid_plugin
    buyer = person()
    fake_stripe.refuse_with = 402
    refused = client.post(f"/v1/plugins/{pid}/purchase", headers=buyer.headers)
    assert refused.status_code == 502
    assert refused.json()["error"]["code"] == "payment_provider_error"
    assert "Your card was declined." in refused.json()["error"]["message"]
    unreachable = dataclasses.replace(
        app.state.settings, stripe_api_url=f"http://127.0.0.1:{free_port()}"
    )
    app.state.settings = unreachable
    gone = client.post(f"/v1/plugins/{pid}/purchase", headers=buyer.headers)
    assert gone.status_code == 502 and "could not be reached" in gone.json()["error"]["message"]
    assert SECRET_KEY not in gone.text + refused.text
    assert db.scalar(select(func.count()).select_from(Payment)) == 0


# --- webhooks that must not count ------------------------------------------------------------


def _pending(client: TestClient, person, paid_plugin) -> tuple[Account, dict[str, Any]]:  # type: ignore[no-untyped-def]
    buyer = person()
    return buyer, buy(client, paid_plugin[1], buyer)


def _forged(payload: bytes) -> tuple[bytes, str]:
    return payload, signed(payload, secret="whsec_someone_else")


def _altered(payload: bytes) -> tuple[bytes, str]:
    signature = signed(payload)
    return payload.replace(b"499", b"001"), signature


def _stale(payload: bytes) -> tuple[bytes, str]:
    return payload, signed(payload, at=int(time.time()) - 301)


def _from_the_future(payload: bytes) -> tuple[bytes, str]:
    return payload, signed(payload, at=int(time.time()) + 301)


def _unsigned(payload: bytes) -> tuple[bytes, str]:
    return payload, ""


def _no_v1(payload: bytes) -> tuple[bytes, str]:
    return payload, signed(payload).replace("v1=", "v0=")


def _no_timestamp(payload: bytes) -> tuple[bytes, str]:
    return payload, signed(payload).split(",", 1)[1]


def _bad_timestamp(payload: bytes) -> tuple[bytes, str]:
    return payload, signed(payload).replace("t=", "t=x")


@pytest.mark.parametrize(
    "tamper",
    [_forged, _altered, _stale, _from_the_future, _unsigned, _no_v1, _no_timestamp, _bad_timestamp],
)
def test_a_bad_webhook_is_400_and_records_nothing(
    client: TestClient, person, paid_plugin, db, tamper
) -> None:
    buyer, payment = _pending(client, person, paid_plugin)
    payload, signature = tamper(event(payment["provider_payment_id"]))
    answer = deliver(client, payload, signature or None)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_webhook"
    assert counts(db) == (0, 0)
    assert client.get(f"/v1/payments/{payment['id']}", headers=buyer.headers).json()["status"] == (
        "pending"
    )


def test_a_replayed_webhook_is_refused_once_its_window_has_passed(
    client: TestClient, person, paid_plugin, db
) -> None:
    _buyer, payment = _pending(client, person, paid_plugin)
    payload = event(payment["provider_payment_id"])
    captured = signed(payload, at=int(time.time()) - 240)  # delivered 4 minutes ago
    assert deliver(client, payload, captured).json()["outcome"] == "confirmed"
    # A replay of the captured delivery: inside the window it is the same event (once); after
    # it, refused whatever it says.
    assert deliver(client, payload, captured).json()["outcome"] == "duplicate"
    with pytest.raises(payments.BadWebhook, match="300 seconds"):
        payments.verify_stripe_signature(payload, captured, WEBHOOK_SECRET, now=time.time() + 61)
    assert counts(db) == (1, 1)


def test_unknown_intents_wrong_amounts_and_bodies_are_400(
    client: TestClient, person, paid_plugin, db
) -> None:
    _buyer, payment = _pending(client, person, paid_plugin)
    intent = payment["provider_payment_id"]
    for payload in (
        event("pi_nobody_knows"),
        event(intent, amount=1),
        event(intent, currency="usd"),
        b"not json",
        b"[]",
        json.dumps({"type": "payment_intent.succeeded"}).encode(),  # no id
        json.dumps({"id": "evt_1", "type": "payment_intent.succeeded", "data": {}}).encode(),
    ):
        answer = deliver(client, payload, signed(payload))
        assert answer.status_code == 400, (payload, answer.text)
    assert counts(db) == (0, 0)


def test_webhooks_are_refused_when_no_secret_is_configured(
    client: TestClient, app: FastAPI, db
) -> None:
    app.state.settings = dataclasses.replace(app.state.settings, stripe_webhook_secret=None)
    payload = event("pi_1")
    answer = deliver(client, payload, signed(payload))
    assert (answer.status_code, answer.json()["error"]["code"]) == (503, "payments_unavailable")
    assert counts(db) == (0, 0)


# --- once, and once only ---------------------------------------------------------------------


def test_the_same_event_delivered_twice_records_once(
    client: TestClient, person, paid_plugin, db
) -> None:
    _buyer, payment = _pending(client, person, paid_plugin)
    payload = event(payment["provider_payment_id"], event_id="evt_same")
    assert deliver(client, payload, signed(payload)).json()["outcome"] == "confirmed"
    assert deliver(client, payload, signed(payload)).json()["outcome"] == "duplicate"
    assert counts(db) == (1, 1)


def test_one_intent_confirmed_by_two_events_records_once(
    client: TestClient, person, paid_plugin, db
) -> None:
    _buyer, payment = _pending(client, person, paid_plugin)
    first, second = (event(payment["provider_payment_id"]) for _ in range(2))
    assert deliver(client, first, signed(first)).json()["outcome"] == "confirmed"
    assert deliver(client, second, signed(second)).json()["outcome"] == "unchanged"
    assert counts(db) == (1, 2)


def test_a_failed_payment_may_still_succeed_and_unhandled_events_are_ignored(
    client: TestClient, person, paid_plugin, db
) -> None:
    buyer, payment = _pending(client, person, paid_plugin)
    intent, url = payment["provider_payment_id"], f"/v1/payments/{payment['id']}"
    failed = event(intent, kind="payment_intent.payment_failed")
    assert deliver(client, failed, signed(failed)).json()["outcome"] == "failed"
    assert client.get(url, headers=buyer.headers).json()["status"] == "failed"
    other = event(intent, kind="charge.refunded")
    assert deliver(client, other, signed(other)).json()["outcome"] == "ignored"
    # Stripe lets the payer retry with another card: the same intent then succeeds.
    succeeded = event(intent)
    assert deliver(client, succeeded, signed(succeeded)).json()["outcome"] == "confirmed"
    late_failure = event(intent, kind="payment_intent.payment_failed")
    assert deliver(client, late_failure, signed(late_failure)).json()["outcome"] == "unchanged"
    assert client.get(url, headers=buyer.headers).json()["status"] == "confirmed"
    assert counts(db) == (1, 3)


def test_several_v1_signatures_one_of_them_right_is_accepted(
    client: TestClient, person, paid_plugin
) -> None:
    _buyer, payment = _pending(client, person, paid_plugin)
    payload = event(payment["provider_payment_id"])
    right = signed(payload)
    timestamp, good = right.split(",")
    wrong = signed(payload, secret="whsec_old").split(",")[1]
    answer = deliver(client, payload, f"{timestamp},{wrong},v0=abc,{good}")
    assert answer.json()["outcome"] == "confirmed"


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrent writers need PostgreSQL")
def test_events_for_one_intent_arriving_at_once_record_once(
    app: FastAPI, client: TestClient, person, paid_plugin, db
) -> None:
    _buyer, payment = _pending(client, person, paid_plugin)
    same = event(payment["provider_payment_id"], event_id="evt_race")
    payloads = [same] * 4 + [event(payment["provider_payment_id"]) for _ in range(4)]
    start = threading.Barrier(len(payloads))

    def attempt(payload: bytes) -> str:
        with TestClient(app) as own:
            start.wait()
            return deliver(own, payload, signed(payload)).json()["outcome"]

    with ThreadPoolExecutor(len(payloads)) as pool:
        outcomes = sorted(pool.map(attempt, payloads))
    assert outcomes.count("confirmed") == 1
    assert set(outcomes) <= {"confirmed", "duplicate", "unchanged"}
    assert counts(db) == (1, 5)  # one transaction; evt_race and the four others, once each


# --- payments are the payer's ----------------------------------------------------------------


def test_a_payment_is_shown_to_its_payer_only(client: TestClient, person, paid_plugin) -> None:
    buyer, payment = _pending(client, person, paid_plugin)
    developer = paid_plugin[0]
    url = f"/v1/payments/{payment['id']}"
    assert client.get(url, headers=buyer.headers).status_code == 200
    for other in (developer, person()):
        answer = client.get(url, headers=other.headers)
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "payment_not_found")
    assert client.get(url).status_code == 401
    assert client.get(f"/v1/payments/{uuid.uuid4()}", headers=buyer.headers).status_code == 404
    assert client.get("/v1/payments/nope", headers=buyer.headers).status_code == 422


# --- which provider --------------------------------------------------------------------------


def test_without_a_provider_payments_are_503_and_nothing_is_kept(
    cloud_settings: Settings, app: FastAPI, person, paid_plugin, db
) -> None:
    owner, fan = person(), person()
    none = dataclasses.replace(cloud_settings, payments=None, stripe_secret_key=None)
    other = create_app(none)
    try:
        with TestClient(other) as client:
            cid = client.post("/v1/communities", json={"name": "C"}, headers=owner.headers)
            answers = [
                client.post(f"/v1/plugins/{paid_plugin[1]}/purchase", headers=fan.headers),
                client.post(
                    f"/v1/communities/{cid.json()['id']}/donations",
                    json={"amount": "5.00", "currency": "EUR"},
                    headers=fan.headers,
                ),
            ]
    finally:
        other.state.engine.dispose()
    for answer in answers:
        assert answer.status_code == 503
        error = answer.json()["error"]
        assert error["code"] == "payments_unavailable"
        assert "GSM_CLOUD_PAYMENTS=development" in error["message"]
    assert db.scalar(select(func.count()).select_from(Payment)) == 0


def test_the_development_provider_only_when_the_environment_says_so() -> None:
    base = {"GSM_CLOUD_HOME": "/nonexistent"}
    assert load_settings(base).payments is None
    assert load_settings({**base, "GSM_CLOUD_PAYMENTS": "development"}).payments == "development"
    stripe = load_settings({**base, "GSM_CLOUD_STRIPE_SECRET_KEY": "sk_live_x"})
    assert stripe.payments == "stripe" and stripe.stripe_api_url == "https://api.stripe.com"
    assert "sk_live_x" not in repr(stripe)  # secrets never in logs
    custom = load_settings(
        {**base, "GSM_CLOUD_STRIPE_SECRET_KEY": "k", "GSM_CLOUD_STRIPE_API_URL": "http://x/"}
    )
    assert custom.stripe_api_url == "http://x"
    for wrong in ({"GSM_CLOUD_PAYMENTS": "dev"}, {"GSM_CLOUD_PAYMENTS": "stripe"}):
        with pytest.raises(SettingsError):
            load_settings({**base, **wrong})
    with pytest.raises(payments.PaymentsUnavailable):
        payments.provider_for(load_settings(base))
    assert isinstance(
        payments.provider_for(load_settings({**base, "GSM_CLOUD_PAYMENTS": "development"})),
        payments.DevelopmentProvider,
    )


# --- amounts and currencies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "stored"),
    [
        ("5.5", "EUR", "5.50"),
        ("5", "EUR", "5.00"),
        (5, "USD", "5.00"),
        ("0.01", "USD", "0.01"),
        ("500", "JPY", "500.00"),
        ("1.50", "KWD", "1.50"),  # three decimals in ISO 4217; two kept here
    ],
)
def test_good_amounts(
    client: TestClient, person, amount: Any, currency: str, stored: str, fake_stripe: FakeStripe
) -> None:
    owner, fan = person(), person()
    cid = client.post("/v1/communities", json={"name": "C"}, headers=owner.headers).json()["id"]
    body = {"amount": amount, "currency": currency}
    answer = client.post(f"/v1/communities/{cid}/donations", json=body, headers=fan.headers)
    assert answer.status_code == 201, answer.text
    assert answer.json()["payment"]["amount"] == stored
    minor = Decimal(stored).scaleb({"JPY": 0, "KWD": 3}.get(currency, 2))
    assert fake_stripe.requests[-1]["form"]["amount"] == str(int(minor))


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("0", "EUR"),
        ("0.00", "EUR"),
        ("-5.00", "EUR"),
        ("5.001", "EUR"),  # over-precise
        ("1.005", "KWD"),  # fits KWD, not the two decimals kept
        ("5.5", "JPY"),  # JPY has no decimals
        ("5.00", "ABC"),  # not ISO 4217
        ("5.00", "DEM"),  # no longer ISO 4217
        ("5.00", "XAU"),  # gold: no minor unit
        ("5.00", "eur"),
        (5.5, "EUR"),  # a JSON number with decimals: already a float
        ("5,00", "EUR"),
        ("1e3", "EUR"),
        ("5_0", "EUR"),
    ],
)
def test_bad_amounts_are_422(
    client: TestClient, person, db, amount: Any, currency: str, fake_stripe: FakeStripe
) -> None:
    owner, fan = person(), person()
    cid = client.post("/v1/communities", json={"name": "C"}, headers=owner.headers).json()["id"]
    body = {"amount": amount, "currency": currency}
    answer = client.post(f"/v1/communities/{cid}/donations", json=body, headers=fan.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"
    assert fake_stripe.requests == [] and db.scalar(select(func.count()).select_from(Payment)) == 0


def test_plugin_prices_fit_their_currency(client: TestClient, person) -> None:
    developer = person("Developer")

    def create(**fields: Any) -> Any:
        body = {"name": f"P{uuid.uuid4().hex[:8]}", "category": "admin", **fields}
        return client.post("/v1/plugins", json=body, headers=developer.headers)

    yen = create(price="500", currency="JPY")
    assert yen.status_code == 201 and (yen.json()["price"], yen.json()["currency"]) == (
        "500.00", "JPY",
    )  # fmt: skip
    assert create().json()["currency"] == "USD"
    bad_fields: list[dict[str, Any]] = [
        {"price": "4.99", "currency": "JPY"},
        {"price": "1", "currency": "ABC"},
        {"price": 4.99},
        {"price": "4.999"},
        {"price": "-1"},
        {"currency": None},
    ]
    for bad in bad_fields:
        assert create(**bad).status_code == 422, bad
    euro = create(price="4.99", currency="EUR").json()
    url = f"/v1/plugins/{euro['id']}"
    to_yen = client.patch(url, json={"currency": "JPY"}, headers=developer.headers)
    assert to_yen.status_code == 422 and "JPY" in to_yen.json()["error"]["message"]
    both = client.patch(url, json={"currency": "JPY", "price": "700"}, headers=developer.headers)
    assert both.status_code == 200 and (both.json()["price"], both.json()["currency"]) == (
        "700.00", "JPY",
    )  # fmt: skip
    assert client.patch(url, json={"price": "7.5"}, headers=developer.headers).status_code == 422
    assert client.patch(url, json={"currency": None}, headers=developer.headers).status_code == 422
