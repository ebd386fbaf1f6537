"""Request and response models of donations, purchases, payments and revenue.

Money enters as a JSON string ("4.99") or integer, never a JSON number with decimals, with at
most the currency's decimals, and leaves as a string with exactly two, so no client ever
rounds it through a float.
"""

import uuid
from typing import Literal

from pydantic import Field, model_validator

from gsm_cloud.api.schemas.common import Model, Out, Page, Text, UtcDateTime
from gsm_cloud.api.schemas.money import AmountIn, Currency, Money, check

TransactionType = Literal["plugin_sale", "community_donation", "subscription"]
PaymentKind = Literal["plugin_purchase", "community_donation"]
PaymentStatus = Literal["pending", "confirmed", "failed"]
ReportBy = Literal["plugin", "community", "month"]
MAX_MESSAGE = 500


class DonationCreate(Model):
    amount: AmountIn
    currency: Currency = "USD"
    message: Text(max_length=MAX_MESSAGE) | None = None

    @model_validator(mode="after")
    def _fits_currency(self) -> "DonationCreate":
        self.amount = check(self.amount, self.currency)
        return self


class PurchaseCreate(Model):
    """No fields: a plugin is bought at its current price, in its currency."""


class PaymentOut(Out):
    id: uuid.UUID
    kind: PaymentKind
    status: PaymentStatus
    amount: Money
    currency: str
    plugin_id: uuid.UUID | None
    community_id: uuid.UUID | None
    provider: Literal["stripe", "development"]
    provider_payment_id: str | None
    client_secret: str | None = Field(
        default=None,
        description="Stripe only, in the answer that started the payment: what the payer's "
        "client needs to complete it; null otherwise",
    )
    transaction_id: uuid.UUID | None = Field(
        description="The revenue transaction written when the provider confirmed the payment"
    )
    created_at: UtcDateTime
    confirmed_at: UtcDateTime | None


class PaymentStarted(Model):
    payment: PaymentOut


class TransactionOut(Out):
    id: uuid.UUID
    transaction_type: str
    amount: Money
    currency: str | None
    payer_id: uuid.UUID | None
    recipient_id: uuid.UUID | None
    plugin_id: uuid.UUID | None
    community_id: uuid.UUID | None
    stripe_payment_intent_id: str | None
    created_at: UtcDateTime | None


class TransactionPage(Page[TransactionOut]):
    totals: dict[str, Money] = Field(
        description="Sum of every matching transaction (not only this page), per currency"
    )


class ReportRowOut(Model):
    key: str = Field(
        description='The plugin or community id ("deleted" when it no longer exists), or the '
        'month ("2026-12")'
    )
    label: str = Field(description="The plugin's or community's name, or the month")
    currency: str
    count: int
    total: Money


class ReportTotalOut(Model):
    currency: str
    count: int
    total: Money


class RevenueReport(Model):
    by: ReportBy
    since: UtcDateTime | None
    until: UtcDateTime | None
    rows: list[ReportRowOut]
    totals: list[ReportTotalOut] = Field(description="Per currency, over every row")
