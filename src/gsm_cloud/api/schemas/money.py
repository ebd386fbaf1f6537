"""Money in requests and responses: amounts as JSON strings with a decimal point ("4.99"),
currencies as ISO 4217 codes ("EUR"). The rules live in services.money; these types apply
them to request bodies (422 when broken) and render amounts with two decimals."""

from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

from gsm_cloud.services import money

CENT = Decimal("0.01")


def _parse(value: object) -> Decimal:
    try:
        return money.parse_amount(value)
    except money.MoneyError as exc:
        raise ValueError(str(exc)) from None


def _iso_4217(code: str) -> str:
    try:
        money.minor_unit(code)
    except money.MoneyError as exc:
        raise ValueError(str(exc)) from None
    return code


def _two_places(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


# An amount as it arrives: "4.99" or an integer; a JSON number with decimals is refused (it
# went through a float). Whether its decimals fit the currency is checked with the currency.
AmountIn = Annotated[
    Decimal,
    BeforeValidator(_parse),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^[0-9]+(\.[0-9]+)?$",
            "description": "A decimal string with at most the currency's decimals, e.g. "
            '"4.99"; never a JSON number with decimals',
            "examples": ["4.99"],
        }
    ),
]
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_iso_4217),
    Field(description="An ISO 4217 currency code in upper case", examples=["EUR"]),
]
# An amount as it leaves: a string with two decimals.
Money = Annotated[
    Decimal,
    PlainSerializer(_two_places, return_type=str),
    Field(json_schema_extra={"pattern": r"^-?\d+\.\d{2}$", "examples": ["4.99"]}),
]


def check(amount: Decimal, currency: str, *, allow_zero: bool = False) -> Decimal:
    """services.money.check_amount for a model validator: a ValueError pydantic reports."""
    try:
        return money.check_amount(amount, currency, allow_zero=allow_zero)
    except money.MoneyError as exc:
        raise ValueError(str(exc)) from None
