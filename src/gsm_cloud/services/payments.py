"""Payments: a purchase or donation is a ``payments`` row, pending until its provider confirms
it; only a confirmed payment becomes a ``revenue_transactions`` row.

Providers (chosen by the cloud's environment, config.Settings.payments):

- ``stripe``: ``start`` creates a PaymentIntent through Stripe's HTTP API and hands the payer
  its client secret; Stripe then calls ``POST /v1/payments/webhooks/stripe`` with
  ``payment_intent.succeeded`` (confirm) or ``payment_intent.payment_failed``. A webhook counts
  only with a valid ``Stripe-Signature`` (HMAC-SHA256 of ``TIMESTAMP.BODY`` with the webhook
  secret, the timestamp within WEBHOOK_TOLERANCE_SECONDS of now, so a captured delivery cannot
  be replayed later); each event id is handled once (``payment_events``), and a payment is
  confirmed once whatever the number of events that say so (the payment row is locked while an
  event is handled).
- ``development``: confirms at once, without any money moving: for test deployments only, and
  never chosen unless the environment says ``GSM_CLOUD_PAYMENTS=development``.

Without a provider, starting a payment answers 503 ``payments_unavailable``.
"""

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import httpx
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gsm_cloud.api.errors import ApiError, Invalid, NotFound
from gsm_cloud.clock import utcnow
from gsm_cloud.config import Settings
from gsm_cloud.db.models import Payment, PaymentEvent, RevenueTransaction, User
from gsm_cloud.services import money

WEBHOOK_TOLERANCE_SECONDS = 300
STRIPE_TIMEOUT_SECONDS = 10.0
# payments.kind -> revenue_transactions.transaction_type
TRANSACTION_TYPES = {"plugin_purchase": "plugin_sale", "community_donation": "community_donation"}


class PaymentsUnavailable(ApiError):
    status_code = 503
    code = "payments_unavailable"


class ProviderFailed(ApiError):
    status_code = 502
    code = "payment_provider_error"


class BadWebhook(ApiError):
    status_code = 400
    code = "invalid_webhook"


@dataclass(frozen=True)
class StartResult:
    provider_payment_id: str
    client_secret: str | None = None  # what the payer needs to complete the payment
    confirmed: bool = False  # the provider confirmed it already (development)


class PaymentProvider(Protocol):
    name: str

    def start(self, payment: Payment) -> StartResult:
        """Ask the provider to take ``payment`` (amount, currency, id); raise ProviderFailed
        when it refuses or cannot be reached."""
        ...


class DevelopmentProvider:
    """Confirms every payment at once; no money moves."""

    name = "development"

    def start(self, payment: Payment) -> StartResult:
        return StartResult(provider_payment_id=f"dev_{payment.id.hex}", confirmed=True)


class StripeProvider:
    """Creates a PaymentIntent per payment (POST /v1/payment_intents); confirmation comes later
    through the webhook."""

    name = "stripe"

    def __init__(self, api_url: str, secret_key: str) -> None:
        self.api_url = api_url.rstrip("/")
        self._secret_key = secret_key  # never logged nor shown

    def start(self, payment: Payment) -> StartResult:
        form = {
            "amount": str(money.minor_units(payment.amount, payment.currency)),
            "currency": payment.currency.lower(),
            "automatic_payment_methods[enabled]": "true",
            "metadata[gsm_payment_id]": str(payment.id),
            "metadata[kind]": payment.kind,
        }
        headers = {
            "Authorization": f"Bearer {self._secret_key}",
            # A retried request creates no second intent for the same payment.
            "Idempotency-Key": f"gsm-payment-{payment.id}",
        }
        try:
            with httpx.Client(timeout=STRIPE_TIMEOUT_SECONDS) as http:
                url = f"{self.api_url}/v1/payment_intents"
                response = http.post(url, data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderFailed(f"Stripe could not be reached: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            reason = _stripe_error(body) or f"HTTP {response.status_code}"
            raise ProviderFailed(f"Stripe refused the payment: {reason}")
        intent, secret = body.get("id"), body.get("client_secret")
        if not isinstance(intent, str) or not intent or not isinstance(secret, str):
            raise ProviderFailed("Stripe answered without a payment intent id and client secret")
        return StartResult(provider_payment_id=intent, client_secret=secret)


def _stripe_error(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body["error"].get("message")
        return str(message)[:200] if message else None
    return None


def provider_for(settings: Settings) -> PaymentProvider:
    """The provider the environment configured, else 503 payments_unavailable."""
    if settings.payments == "development":
        return DevelopmentProvider()
    if settings.payments == "stripe" and settings.stripe_secret_key:
        return StripeProvider(settings.stripe_api_url, settings.stripe_secret_key)
    raise PaymentsUnavailable(
        "this gsm-cloud takes no payments: its operator has configured no payment provider "
        "(GSM_CLOUD_STRIPE_SECRET_KEY, or GSM_CLOUD_PAYMENTS=development for a test deployment)"
    )


def serialise_on(session: Session, *key: str) -> None:
    """Hold a PostgreSQL advisory lock for ``key`` until the transaction ends (SQLite
    serialises writers anyway)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256("\x1f".join(("gsm-revenue", *key)).encode()).digest()
    number = int.from_bytes(digest[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": number})


# --- starting and confirming ------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    payment: Payment
    client_secret: str | None


def start(
    session: Session,
    provider: PaymentProvider,
    *,
    kind: str,
    payer: User,
    recipient_id: uuid.UUID,
    amount: Decimal,
    currency: str,
    plugin_id: uuid.UUID | None = None,
    community_id: uuid.UUID | None = None,
    message: str | None = None,
) -> Started:
    """A new payment, started with ``provider`` (and confirmed when the provider says so).
    The caller commits; when the provider fails, nothing is kept. The provider is asked inside
    the caller's transaction (a purchase holds its payer-and-plugin lock meanwhile), so two
    purchases of one plugin by one payer cannot both start; Stripe's answer is bounded by
    STRIPE_TIMEOUT_SECONDS."""
    try:
        amount = money.check_amount(amount, currency)
    except money.MoneyError as exc:
        raise Invalid(str(exc)) from None
    payment = Payment(
        id=uuid.uuid4(),
        kind=kind,
        payer_id=payer.id,
        recipient_id=recipient_id,
        plugin_id=plugin_id,
        community_id=community_id,
        amount=amount,
        currency=currency,
        provider=provider.name,
        status="pending",
        message=message,
        created_at=utcnow(),
    )
    result = provider.start(payment)
    payment.provider_payment_id = result.provider_payment_id
    session.add(payment)
    session.flush()
    if result.confirmed:
        confirm(session, payment)
    return Started(payment, result.client_secret)


def confirm(session: Session, payment: Payment) -> RevenueTransaction:
    """Write the payment's revenue_transactions row and mark it confirmed (the caller holds
    the payment row's lock, or has just created it)."""
    now = utcnow()
    row = RevenueTransaction(
        id=uuid.uuid4(),
        transaction_type=TRANSACTION_TYPES[payment.kind],
        amount=payment.amount,
        currency=payment.currency,
        payer_id=payment.payer_id,
        recipient_id=payment.recipient_id,
        plugin_id=payment.plugin_id,
        community_id=payment.community_id,
        stripe_payment_intent_id=(
            payment.provider_payment_id if payment.provider == "stripe" else None
        ),
        created_at=now,
    )
    session.add(row)
    session.flush()
    payment.transaction_id = row.id
    payment.status = "confirmed"
    payment.confirmed_at = now
    session.flush()
    return row


def get_for_payer(session: Session, user: User, payment_id: uuid.UUID) -> Payment:
    """The caller's own payment; anyone else's does not exist for them (404)."""
    payment = session.get(Payment, payment_id)
    if payment is None or payment.payer_id != user.id:
        raise NotFound("no such payment", code="payment_not_found")
    return payment


# --- Stripe webhooks --------------------------------------------------------------------------


@dataclass(frozen=True)
class StripeEvent:
    id: str
    type: str
    intent_id: str | None
    amount: int | None  # minor units received (succeeded) or asked (failed)
    currency: str | None  # upper case


HANDLED_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed")


def verify_stripe_signature(
    payload: bytes,
    header: str | None,
    secret: str,
    *,
    now: float | None = None,
    tolerance: int = WEBHOOK_TOLERANCE_SECONDS,
) -> None:
    """Stripe's scheme: ``Stripe-Signature: t=TIMESTAMP,v1=HEX[,v1=HEX...]``, each v1 an
    HMAC-SHA256 of ``TIMESTAMP.PAYLOAD`` with the endpoint's secret (several while a secret is
    rolled); the timestamp within ``tolerance`` seconds of now. BadWebhook otherwise."""
    if not header:
        raise BadWebhook("the Stripe-Signature header is missing")
    timestamp: str | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not (timestamp.isascii() and timestamp.isdigit()) or not signatures:
        raise BadWebhook("the Stripe-Signature header has no timestamp or no v1 signature")
    signed = timestamp.encode() + b"." + payload
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest().encode()
    if not any(hmac.compare_digest(expected, s.encode("latin-1", "replace")) for s in signatures):
        raise BadWebhook("the webhook's signature does not match")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        raise BadWebhook(
            f"the webhook's timestamp is more than {tolerance} seconds away from now (a replay?)"
        )


def parse_stripe_event(payload: bytes) -> StripeEvent:
    try:
        event = json.loads(payload)
    except ValueError:
        raise BadWebhook("the webhook's body is not JSON") from None
    if not isinstance(event, dict):
        raise BadWebhook("the webhook's body is not a Stripe event")
    event_id, event_type = event.get("id"), event.get("type")
    data = event.get("data")
    intent = data.get("object") if isinstance(data, dict) else None
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
        raise BadWebhook("the webhook's body is not a Stripe event")
    if not isinstance(intent, dict):
        intent = {}
    intent_id = intent.get("id") if isinstance(intent.get("id"), str) else None
    amount_key = "amount_received" if event_type == "payment_intent.succeeded" else "amount"
    amount = intent.get(amount_key)
    currency = intent.get("currency")
    return StripeEvent(
        id=event_id[:255],
        type=event_type,
        intent_id=intent_id,
        amount=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
        currency=currency.upper() if isinstance(currency, str) else None,
    )


def handle_stripe_event(session: Session, event: StripeEvent) -> str:
    """Apply a verified event; returns what happened: confirmed, failed, duplicate (this event
    was handled before), unchanged (the payment was confirmed already) or ignored (an event
    type we do not handle). BadWebhook for an intent we do not know or whose amount differs,
    recording nothing. The caller commits."""
    if event.type not in HANDLED_EVENTS:
        return "ignored"
    if event.intent_id is None:
        raise BadWebhook("the event names no payment intent")
    payment = session.scalars(
        select(Payment)
        .where(Payment.provider == "stripe", Payment.provider_payment_id == event.intent_id)
        .with_for_update()
    ).first()
    if payment is None:
        raise BadWebhook("the event's payment intent is not a payment of this gsm-cloud")
    # After the payment's lock: a concurrent delivery of the same event has committed by now.
    if session.get(PaymentEvent, ("stripe", event.id)) is not None:
        return "duplicate"
    outcome = "unchanged"
    if event.type == "payment_intent.succeeded" and payment.status != "confirmed":
        expected = money.minor_units(payment.amount, payment.currency)
        if (event.amount, event.currency) != (expected, payment.currency):
            raise BadWebhook(
                f"the event's amount ({event.amount} {event.currency}) is not the payment's "
                f"({expected} {payment.currency} in minor units)"
            )
        confirm(session, payment)
        outcome = "confirmed"
    elif event.type == "payment_intent.payment_failed" and payment.status == "pending":
        payment.status = "failed"
        outcome = "failed"
    session.add(PaymentEvent(provider="stripe", event_id=event.id, received_at=utcnow()))
    session.flush()
    return outcome
