"""Amounts and currencies as gsm reads and shows them (services/payments.py): exact decimals,
never floats, never rounded; what the cloud decides (ISO 4217 membership, minor units) is
tested against a real cloud in tests/e2e/test_payments_cli.py."""

from decimal import Decimal

import pytest

from gsm_cli.errors import ExitCode, InvalidInputError
from gsm_cli.services import payments


@pytest.mark.parametrize(
    ("text", "amount"),
    [("5", "5"), ("5.00", "5.00"), ("0.10", "0.10"), (" 12.5 ", "12.5"), ("0.001", "0.001")],
)
def test_an_amount_is_read_exactly_as_written(text: str, amount: str) -> None:
    read = payments.parse_amount(text)
    assert isinstance(read, Decimal)
    assert str(read) == amount
    assert sum([payments.parse_amount("0.10")] * 3) == Decimal("0.30")


@pytest.mark.parametrize(
    "text", ["0", "0.00", "-5", "+5", "1e3", "5,00", "NaN", "Infinity", "", ".5", "5.", "five"]
)
def test_what_is_no_amount_is_exit_4(text: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        payments.parse_amount(text)
    assert (refused.value.exit_code, refused.value.code) == (
        ExitCode.INVALID_INPUT,
        "invalid_amount",
    )
    assert refused.value.hint


def test_a_currency_is_three_letters_in_upper_case() -> None:
    assert payments.parse_currency("eur") == "EUR"
    for text in ("EURO", "E1R", "", "€"):
        with pytest.raises(InvalidInputError) as refused:
            payments.parse_currency(text)
        assert refused.value.code == "invalid_currency"


@pytest.mark.parametrize(
    ("amount", "shown"),
    [("5", "5.00"), ("0.3", "0.30"), ("0.30", "0.30"), ("0.125", "0.125"), ("1E+2", "100.00")],
)
def test_money_shows_two_decimals_and_never_rounds(amount: str, shown: str) -> None:
    assert payments.money(Decimal(amount)) == shown
