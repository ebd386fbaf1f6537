"""Request and response models of donations, purchases and revenue.

Money enters as a JSON number or string with at most two decimals and leaves as a string with
exactly two ("4.99"), so no client ever rounds it through a float.
"""

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, PlainSerializer, StringConstraints

from gsm_cloud.api.schemas.common import Model, Out, Page, Text, UtcDateTime

MAX_AMOUNT = Decimal("99999999.99")  # DECIMAL(10,2)
CENT = Decimal("0.01")

TransactionType = Literal["plugin_sale", "community_donation", "subscription"]


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


Money = Annotated[
    Decimal,
    PlainSerializer(_money, return_type=str),
    Field(json_schema_extra={"pattern": r"^-?\d+\.\d{2}$", "examples": ["4.99"]}),
]
Amount = Annotated[
    Decimal,
    Field(
        gt=0,
        le=MAX_AMOUNT,
        max_digits=10,
        decimal_places=2,
        allow_inf_nan=False,
        description="More than 0, at most 99999999.99, at most two decimals",
        examples=["4.99"],
    ),
]
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    Field(description="ISO 4217 code: three uppercase letters", examples=["USD"]),
]
PaymentIntent = Annotated[
    Text(max_length=100, min_length=1),
    Field(description="The Stripe payment intent behind this transaction (recorded once)"),
]


class DonationCreate(Model):
    amount: Amount
    currency: Currency = "USD"
    stripe_payment_intent_id: PaymentIntent | None = None


class PurchaseCreate(Model):
    currency: Currency = "USD"
    stripe_payment_intent_id: PaymentIntent | None = None


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
