"""Payments: the payer's view of a payment, and the payment provider's webhook.

Purchases and donations start payments (routes/revenue.py); services.payments holds the rules.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.orm import Session

from gsm_cloud.api.bodies import TEXT, ApiRoute, body_limit
from gsm_cloud.api.deps import CurrentUser, SessionDep, SettingsDep
from gsm_cloud.api.errors import responses
from gsm_cloud.api.schemas.revenue import PaymentOut
from gsm_cloud.services import payments

router = APIRouter(prefix="/v1/payments", tags=["payments"], route_class=ApiRoute)


class WebhookReceived(BaseModel):
    received: bool = True
    outcome: str  # confirmed | failed | duplicate | unchanged | ignored


# The webhook's body is Stripe's event, read raw: the signature covers its exact bytes.
STRIPE_EVENT_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"type": "object", "description": "A Stripe event, signed by Stripe"}
        }
    },
}


@router.get("/{payment_id}", response_model=PaymentOut, responses=responses(401, 404, 422))
def get_payment(payment_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> PaymentOut:
    """One of the caller's payments (its status: pending, confirmed or failed). Other users'
    payments answer 404."""
    return PaymentOut.model_validate(payments.get_for_payer(session, user, payment_id))


def _handle_stripe(session: Session, payload: bytes, signature: str | None, secret: str) -> str:
    payments.verify_stripe_signature(payload, signature, secret)
    outcome = payments.handle_stripe_event(session, payments.parse_stripe_event(payload))
    session.commit()
    return outcome


@router.post(
    "/webhooks/stripe",
    response_model=WebhookReceived,
    responses=responses(400, 503),
    openapi_extra={"requestBody": STRIPE_EVENT_BODY},
)
@body_limit(TEXT)
async def stripe_webhook(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    stripe_signature: Annotated[str | None, Header()] = None,
) -> WebhookReceived:
    """Stripe's webhook endpoint (no bearer token: the Stripe-Signature header, an HMAC of the
    body with the endpoint's secret, proves it comes from Stripe). Handles
    payment_intent.succeeded (the payment is confirmed and its revenue transaction written)
    and payment_intent.payment_failed; other event types are acknowledged and ignored. Each
    event is handled once. A bad or missing signature, a timestamp more than 300 seconds away
    or an unknown payment intent answers 400 and records nothing."""
    secret = settings.stripe_webhook_secret
    if not secret:
        raise payments.PaymentsUnavailable(
            "Stripe webhooks are not configured here (GSM_CLOUD_STRIPE_WEBHOOK_SECRET)"
        )
    payload = await request.body()
    outcome = await run_in_threadpool(_handle_stripe, session, payload, stripe_signature, secret)
    return WebhookReceived(outcome=outcome)
