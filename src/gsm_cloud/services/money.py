"""Money: ISO 4217 currencies and amounts that fit them, as Decimal, never float.

The database keeps amounts as NUMERIC(10,2), so an amount has at most two decimals, and no
more than its currency's minor unit allows (none for JPY, two for EUR). Currencies are the
active ISO 4217 alphabetic codes (the ``iso4217`` package's table); codes without a minor unit
(gold, SDRs, test codes) are not money anyone pays with here.
"""

import re
from decimal import Decimal

from iso4217 import Currency

STORED_PLACES = 2  # NUMERIC(10,2)
MAX_AMOUNT = Decimal("99999999.99")
# Digits with an optional decimal part ("5", "5.5", "4.99"); a minus sign, so that a negative
# amount is told it must be more than 0. No exponents, spaces, signs or separators.
AMOUNT_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class MoneyError(ValueError):
    """An amount or currency that cannot be paid (the API answers 422)."""


def minor_unit(currency: str) -> int:
    """The number of decimals ``currency`` has (2 for EUR, 0 for JPY); MoneyError if it is
    not an active ISO 4217 code with a minor unit."""
    try:
        exponent = Currency(currency).exponent
    except ValueError:
        raise MoneyError(f"{currency!r} is not an ISO 4217 currency code") from None
    if exponent is None:
        raise MoneyError(f"{currency} has no minor unit: it is not a currency to pay with")
    return int(exponent)


def decimal_places(amount: Decimal) -> int:
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite amounts only: checked before
    return max(0, -exponent)


def check_amount(amount: Decimal, currency: str, *, allow_zero: bool = False) -> Decimal:
    """``amount`` in ``currency``, quantized to cents, or MoneyError: it must be finite, above
    zero (or zero when ``allow_zero``: a free plugin), at most MAX_AMOUNT, and have no more
    decimals than the currency's minor unit and the database keep."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise MoneyError("the amount must be a finite decimal number")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise MoneyError("the amount must be more than 0")
    if amount > MAX_AMOUNT:
        raise MoneyError(f"the amount must be at most {MAX_AMOUNT}")
    places = min(minor_unit(currency), STORED_PLACES)
    if decimal_places(amount) > places:
        raise MoneyError(
            f"{amount} has more decimals than {currency} allows here (at most {places})"
        )
    return amount.quantize(Decimal(1).scaleb(-STORED_PLACES))


def parse_amount(value: object) -> Decimal:
    """An amount from JSON: a string such as "5.00" or an integer, never a float (a float
    has already lost the exact amount) nor a boolean."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (bool, float)):
        raise MoneyError('amounts are strings such as "4.99", not JSON numbers with decimals')
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        if len(value) > 40 or not AMOUNT_TEXT.fullmatch(value):
            raise MoneyError(f'{value[:40]!r} is not an amount such as "4.99"')
        return Decimal(value)
    raise MoneyError('amounts are strings such as "4.99"')


def minor_units(amount: Decimal, currency: str) -> int:
    """The amount in the currency's smallest unit (cents), as payment providers count it."""
    return int(amount.scaleb(minor_unit(currency)).to_integral_exact())
