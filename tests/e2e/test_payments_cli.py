"""gsm plugin buy, gsm community donate and gsm revenue report against a real gsm-cloud whose
payments go through the development provider (confirmed at once): buy then install, buying
twice, free plugins, amounts and currencies refused with exit 4, exact totals per currency,
and exit 6 when logged out. Then pending payments, with a cloud that pays through Stripe and a
Stripe played on loopback: what the buyer is told, --wait running out, a confirmation and a
refusal arriving by signed webhook while gsm waits."""

import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest

from tests.conftest import GsmRunner
from tests.e2e.conftest import CloudAccount, LiveCloud, serve_cloud, unique
from tests.packages import package_bytes


@pytest.fixture(scope="module")
def seller(paying_cloud: LiveCloud) -> CloudAccount:
    """A developer who sells plugins and owns communities."""
    return paying_cloud.account("Developer")


@pytest.fixture
def seller_api(paying_cloud: LiveCloud, seller: CloudAccount) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {seller.token}"}
    with httpx.Client(base_url=paying_cloud.url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def buyer(
    paying_cloud: LiveCloud, monkeypatch: pytest.MonkeyPatch, gsm: GsmRunner, tmp_path: Path
) -> CloudAccount:
    """A logged-in user (GSM_API_URL + GSM_TOKEN) with a stopped Minecraft server `mc`."""
    account = paying_cloud.account()
    monkeypatch.setenv("GSM_API_URL", paying_cloud.url)
    monkeypatch.setenv("GSM_TOKEN", account.token)
    made = gsm("server", "create", "mc", "--game", "minecraft", "--path", str(tmp_path / "mc"))
    assert made.exit_code == 0, made.stderr
    return account


def sell(api: httpx.Client, price: str | None, currency: str = "EUR") -> str:
    """A new plugin listed at ``price`` (None: free) with a published 1.0.0; its name."""
    name = unique("Paid" if price else "Free")
    body = {"name": name, "category": "utility", "supported_games": ["minecraft"]}
    if price:
        body |= {"price": price, "currency": currency}
    made = api.post("/v1/plugins", json=body)
    assert made.status_code == 201, made.text
    sent = api.post(
        f"/v1/plugins/{made.json()['id']}/versions",
        files={"file": ("p.zip", package_bytes(name, "1.0.0"), "application/zip")},
    )
    assert sent.status_code == 201, sent.text
    return name


def community(api: httpx.Client) -> str:
    made = api.post("/v1/communities", json={"name": unique("Guild"), "is_public": True})
    assert made.status_code == 201, made.text
    return made.json()["name"]


def totals(report: dict) -> list[tuple[str, int, str]]:
    return [(t["currency"], t["count"], t["total"]) for t in report["totals"]]


def test_buy_a_paid_plugin_then_install_it_and_buying_again_is_already_bought(
    gsm: GsmRunner, buyer: CloudAccount, seller_api: httpx.Client, tmp_path: Path
) -> None:
    name = sell(seller_api, "4.99", "EUR")
    before = gsm("plugin", "install", name, "--server", "mc", "--json")
    assert before.exit_code == 6, before.stderr
    assert before.error()["code"] == "purchase_required"
    assert f"gsm plugin buy {name}" in before.error()["hint"]

    unasked = gsm("plugin", "buy", name, "--json")  # no terminal and no --yes: nothing bought
    assert unasked.exit_code == 2, unasked.stderr
    assert unasked.error()["code"] == "confirmation_required"
    assert "4.99 EUR" in unasked.error()["message"]

    bought = gsm("plugin", "buy", name.lower(), "--yes", "--json")
    assert bought.exit_code == 0, bought.stderr
    result = bought.json()
    assert (result["name"], result["price"], result["currency"]) == (name, "4.99", "EUR")
    assert result["status"] == "confirmed"
    payment = result["payment"]
    assert (payment["status"], payment["amount"], payment["currency"]) == (
        "confirmed",
        "4.99",
        "EUR",
    )
    assert (payment["kind"], payment["provider"]) == ("plugin_purchase", "development")
    assert f"gsm plugin install {name}" in bought.stderr

    installed = gsm("plugin", "install", name, "--server", "mc", "--json")
    assert installed.exit_code == 0, installed.stderr
    assert [i["name"] for i in installed.json()["installed"]] == [name]

    again = gsm("plugin", "buy", name, "--yes")
    assert again.exit_code == 0, again.stderr
    assert "already bought" in again.stderr
    as_json = gsm("plugin", "buy", name, "--yes", "--json")
    assert as_json.exit_code == 0, as_json.stderr
    assert (as_json.json()["status"], as_json.json()["payment"]) == ("already_bought", None)


def test_free_unknown_and_own_plugins_and_own_communities_are_refused(
    gsm: GsmRunner, buyer: CloudAccount, seller: CloudAccount, seller_api: httpx.Client
) -> None:
    free = gsm("plugin", "buy", sell(seller_api, None), "--yes", "--json")
    assert free.exit_code == 5, free.stderr
    assert free.error()["code"] == "not_for_sale"
    assert "gsm plugin install" in free.error()["hint"]
    missing = gsm("plugin", "buy", unique("Nope"), "--yes", "--json")
    assert missing.exit_code == 3, missing.stderr
    assert missing.error()["code"] == "plugin_not_found"
    as_seller = {"GSM_TOKEN": seller.token}
    own = gsm("plugin", "buy", sell(seller_api, "1.00"), "--yes", "--json", env=as_seller)
    assert own.exit_code == 5, own.stderr
    assert own.error()["code"] == "own_plugin"
    assert "developer" in own.error()["hint"]
    guild = community(seller_api)
    to_self = gsm(
        "community", "donate", guild, "--amount", "1", "--currency", "EUR", "--yes", "--json",
        env=as_seller,
    )  # fmt: skip
    assert to_self.exit_code == 5, to_self.stderr
    assert to_self.error()["code"] == "own_community"


def test_donate_and_amounts_or_currencies_refused_with_exit_4(
    gsm: GsmRunner, buyer: CloudAccount, seller_api: httpx.Client
) -> None:
    guild = community(seller_api)
    given = gsm(
        "community", "donate", guild, "--amount", "5.00", "--currency", "eur",
        "--message", "thanks", "--yes", "--json",
    )  # fmt: skip
    assert given.exit_code == 0, given.stderr
    payment = given.json()["payment"]
    assert (payment["status"], payment["amount"], payment["currency"]) == (
        "confirmed",
        "5.00",
        "EUR",
    )
    assert payment["kind"] == "community_donation"
    assert given.json()["community"] == guild

    refused = {
        ("0", "EUR"): "invalid_amount",
        ("0.00", "EUR"): "invalid_amount",
        ("-5", "EUR"): "invalid_amount",
        ("1e3", "EUR"): "invalid_amount",
        ("5,00", "EUR"): "invalid_amount",
        ("NaN", "EUR"): "invalid_amount",
        ("5", "EURO"): "invalid_currency",
        ("5", "E1R"): "invalid_currency",
        ("5.001", "EUR"): None,  # the cloud's rule: more decimals than EUR has (422)
        ("5.5", "JPY"): None,  # JPY has no decimals
        ("5", "XYZ"): None,  # three letters, but not ISO 4217
    }
    for (amount, currency), code in refused.items():
        done = gsm(
            "community", "donate", guild, "--amount", amount, "--currency", currency,
            "--yes", "--json",
        )  # fmt: skip
        assert done.exit_code == 4, (amount, currency, done.stderr)
        assert done.stdout == ""
        if code:
            assert done.error()["code"] == code, (amount, currency)
        assert done.error().get("hint"), (amount, currency)


def test_revenue_report_totals_are_exact_per_currency(
    gsm: GsmRunner, buyer: CloudAccount, paying_cloud: LiveCloud
) -> None:
    fresh = gsm("revenue", "report", "--json")  # the buyer earned nothing
    assert fresh.exit_code == 0, fresh.stderr
    assert (fresh.json()["rows"], fresh.json()["totals"]) == ([], [])
    empty = gsm("revenue", "report")
    assert empty.exit_code == 0, empty.stderr
    assert "no revenue" in empty.stderr

    owner = paying_cloud.account()  # earns only what this test gives
    headers = {"Authorization": f"Bearer {owner.token}"}
    with httpx.Client(base_url=paying_cloud.url, headers=headers, timeout=30) as owner_api:
        guild = community(owner_api)
    for amount, currency in (("0.10", "EUR"), ("0.10", "EUR"), ("0.10", "EUR"), ("1", "USD")):
        done = gsm(
            "community", "donate", guild, "--amount", amount, "--currency", currency, "--yes"
        )
        assert done.exit_code == 0, done.stderr
    as_owner = {"GSM_TOKEN": owner.token}
    report = gsm("revenue", "report", "--by", "community", "--since", "1h", "--json", env=as_owner)
    assert report.exit_code == 0, report.stderr
    data = report.json()
    assert sorted((r["label"], r["currency"], r["count"], r["total"]) for r in data["rows"]) == [
        (guild, "EUR", 3, "0.30"),
        (guild, "USD", 1, "1.00"),
    ]
    assert totals(data) == [("EUR", 3, "0.30"), ("USD", 1, "1.00")]
    by_month = gsm("revenue", "report", "--by", "month", "--json", env=as_owner)
    assert by_month.exit_code == 0, by_month.stderr
    assert totals(by_month.json()) == totals(data)

    table = gsm("revenue", "report", "--by", "community", env=as_owner)
    assert table.exit_code == 0, table.stderr
    assert "0.30" in table.stdout and "1.00" in table.stdout and guild in table.stdout
    later = gsm("revenue", "report", "--since", "2099-01-01", "--json", env=as_owner)
    assert later.exit_code == 0, later.stderr
    assert later.json()["rows"] == []
    backwards = gsm("revenue", "report", "--since", "1h", "--until", "2h", "--json")
    assert backwards.exit_code == 4
    assert backwards.error()["code"] == "invalid_time_range"


def test_logged_out_every_money_command_exits_6(
    gsm: GsmRunner, paying_cloud: LiveCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GSM_API_URL", paying_cloud.url)
    monkeypatch.delenv("GSM_TOKEN", raising=False)
    for args in (
        ("plugin", "buy", "Anything", "--yes"),
        ("community", "donate", "Anyone", "--amount", "5", "--currency", "EUR", "--yes"),
        ("revenue", "report"),
    ):
        done = gsm(*args, "--json")
        assert done.exit_code == 6, (args, done.stderr)
        assert done.error()["code"] == "not_logged_in", args


# --- pending payments: a cloud that pays through Stripe, Stripe played on loopback ----------

WEBHOOK_SECRET = "whsec_e2e"


class FakeStripe:
    """Stripe's API as the cloud uses it (POST /v1/payment_intents) on a loopback port. Each
    intent it creates can be settled by a signed webhook sent to the cloud, as Stripe would,
    once the buyer completed the payment: ``outcome`` says which event, None sends none."""

    def __init__(self) -> None:
        self.cloud_url = ""
        self.outcome: str | None = None
        self.intents: list[dict[str, str]] = []
        self.deliveries: list[threading.Thread] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                intent = {
                    "id": f"pi_{uuid.uuid4().hex[:16]}",
                    "amount": form["amount"],
                    "currency": form["currency"],
                }
                intent["client_secret"] = f"{intent['id']}_secret_e2e"
                fake.intents.append(intent)
                body = json.dumps(intent).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                if fake.outcome is not None:
                    delivery = threading.Thread(target=fake.deliver, args=(intent, fake.outcome))
                    delivery.start()
                    fake.deliveries.append(delivery)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def deliver(self, intent: dict[str, str], outcome: str) -> None:
        """Send the signed event until the cloud knows the intent: it answers 400 for an
        unknown one while the purchase that asked for it is still being committed."""
        amount_key = "amount_received" if outcome == "succeeded" else "amount"
        event = {
            "id": f"evt_{uuid.uuid4().hex[:16]}",
            "type": f"payment_intent.{outcome}",
            "data": {"object": {"id": intent["id"], amount_key: int(intent["amount"]),
                                "currency": intent["currency"]}},
        }  # fmt: skip
        payload = json.dumps(event).encode()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            stamp = str(int(time.time()))
            signed = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + payload, "sha256")
            answer = httpx.post(
                f"{self.cloud_url}/v1/payments/webhooks/stripe",
                content=payload,
                headers={"Stripe-Signature": f"t={stamp},v1={signed.hexdigest()}",
                         "Content-Type": "application/json"},
                timeout=10,
            )  # fmt: skip
            if answer.status_code == 200:
                return
            time.sleep(0.05)

    def settle_all(self) -> None:
        for delivery in self.deliveries:
            delivery.join(timeout=30)


@pytest.fixture(scope="module")
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    serving = threading.Thread(target=fake.server.serve_forever, daemon=True)
    serving.start()
    try:
        yield fake
    finally:
        fake.settle_all()
        fake.server.shutdown()
        fake.server.server_close()


@pytest.fixture(scope="module")
def stripe_cloud(
    tmp_path_factory: pytest.TempPathFactory, fake_stripe: FakeStripe
) -> Iterator[LiveCloud]:
    extra = {
        "GSM_CLOUD_PAYMENTS": "stripe",
        "GSM_CLOUD_STRIPE_SECRET_KEY": "sk_test_e2e",
        "GSM_CLOUD_STRIPE_API_URL": fake_stripe.url,
        "GSM_CLOUD_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    with serve_cloud(tmp_path_factory.mktemp("stripe-cloud"), extra) as cloud:
        fake_stripe.cloud_url = cloud.url
        yield cloud


@pytest.fixture
def stripe_buyer(
    stripe_cloud: LiveCloud, monkeypatch: pytest.MonkeyPatch, gsm: GsmRunner, tmp_path: Path
) -> CloudAccount:
    account = stripe_cloud.account()
    monkeypatch.setenv("GSM_API_URL", stripe_cloud.url)
    monkeypatch.setenv("GSM_TOKEN", account.token)
    made = gsm("server", "create", "mc", "--game", "minecraft", "--path", str(tmp_path / "mc"))
    assert made.exit_code == 0, made.stderr
    return account


def test_a_pending_purchase_says_what_to_do_and_wait_sees_it_confirmed(
    gsm: GsmRunner, stripe_cloud: LiveCloud, stripe_buyer: CloudAccount, fake_stripe: FakeStripe
) -> None:
    developer = stripe_cloud.account("Developer")
    headers = {"Authorization": f"Bearer {developer.token}"}
    with httpx.Client(base_url=stripe_cloud.url, headers=headers, timeout=30) as api:
        later, now = sell(api, "4.99", "EUR"), sell(api, "1.50", "USD")

    fake_stripe.outcome = None  # the buyer has not paid yet
    pending = gsm("plugin", "buy", later, "--yes", "--json")
    assert pending.exit_code == 0, pending.stderr
    payment = pending.json()["payment"]
    assert (pending.json()["status"], payment["provider"]) == ("pending", "stripe")
    intent = fake_stripe.intents[-1]
    assert (intent["amount"], intent["currency"]) == ("499", "eur")
    assert payment["client_secret"] == intent["client_secret"]
    assert payment["id"] in pending.stderr and intent["client_secret"] in pending.stderr
    not_yet = gsm("plugin", "install", later, "--server", "mc", "--json")
    assert not_yet.exit_code == 6 and not_yet.error()["code"] == "purchase_required"
    waited = gsm("plugin", "buy", later, "--yes", "--wait", "0.5", "--json")
    assert waited.exit_code == 1, waited.stderr
    assert waited.error()["code"] == "payment_pending"

    fake_stripe.outcome = "succeeded"  # Stripe confirms while gsm waits
    confirmed = gsm("plugin", "buy", now, "--yes", "--wait", "20", "--json")
    assert confirmed.exit_code == 0, confirmed.stderr
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["payment"]["transaction_id"]
    installed = gsm("plugin", "install", now, "--server", "mc", "--json")
    assert installed.exit_code == 0, installed.stderr


def test_a_donation_the_provider_refuses_is_payment_failed(
    gsm: GsmRunner, stripe_cloud: LiveCloud, stripe_buyer: CloudAccount, fake_stripe: FakeStripe
) -> None:
    owner = stripe_cloud.account()
    headers = {"Authorization": f"Bearer {owner.token}"}
    with httpx.Client(base_url=stripe_cloud.url, headers=headers, timeout=30) as owner_api:
        guild = community(owner_api)
    fake_stripe.outcome = "payment_failed"
    refused = gsm(
        "community", "donate", guild, "--amount", "2.00", "--currency", "EUR",
        "--yes", "--wait", "20", "--json",
    )  # fmt: skip
    assert refused.exit_code == 1, refused.stderr
    assert refused.error()["code"] == "payment_failed"
    report = gsm("revenue", "report", "--json", env={"GSM_TOKEN": owner.token})
    assert report.exit_code == 0, report.stderr
    assert report.json()["rows"] == []  # a failed payment is no revenue
