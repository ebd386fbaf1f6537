"""Paying through gsm-cloud: buying a plugin, donating to a community, and waiting for the
payment provider to confirm (docs/payments.md).

A purchase or a donation is created by the cloud as a *pending* payment; it becomes revenue
(and a bought plugin becomes downloadable) only when the provider confirms it. The development
provider of a test deployment confirms at once; Stripe confirms later, through its webhook, after
the buyer completed the payment with the ``client_secret`` the cloud hands out.

Amounts are ``Decimal`` from the command line to the request body (sent as text, "5.00"), never
float. Here only the form of an amount and a currency is checked (digits with an optional
decimal point, above zero; three letters): how many decimals a currency allows and whether it
is an ISO 4217 code is the cloud's rule (the minor units table lives there), and its refusal
(HTTP 422) is exit 4 like a refusal here.

No printing here: each function returns data or raises a GsmError.
"""

import re
import time
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from gsm_cli.cloud.client import CloudClient
from gsm_cli.errors import ConflictError, GsmError, InvalidInputError

_NONE = type(None)
# What gsm relies on in a payment (the contract's Payment; other keys are passed through).
PAYMENT_FIELDS: dict[str, Any] = {
    "id": str,
    "kind": str,
    "status": str,
    "amount": str,
    "currency": str,
    "provider": str,
    "client_secret": (str, _NONE),
}
STATUSES = ("pending", "confirmed", "failed")
_AMOUNT = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
AMOUNT_HINT = "give an amount above zero with a decimal point, e.g. --amount 5.00"
CURRENCY_HINT = "give an ISO 4217 currency code, e.g. --currency EUR or --currency USD"
# How long to sleep between two looks at a pending payment: short at first (a provider often
# confirms within a second), then no more often than every 2 s.
FIRST_POLL, LAST_POLL = 0.2, 2.0

Report = Callable[[float, float | None, str | None], None]


def parse_amount(text: str) -> Decimal:
    """The amount written ``text`` ("5", "5.00", "0.10") as a Decimal, exactly as written.

    Signs, exponents, NaN, infinity and zero are refused (InvalidInputError, exit 4,
    ``invalid_amount``); so is anything a float would be needed for."""
    written = (text or "").strip()
    if not _AMOUNT.match(written):
        raise InvalidInputError(
            f"invalid amount {text!r}: expected a number above zero like 5.00",
            hint=AMOUNT_HINT,
            code="invalid_amount",
        )
    try:
        amount = Decimal(written)
    except InvalidOperation:  # the pattern admits only digits; kept for safety's sake
        raise InvalidInputError(
            f"invalid amount {text!r}", hint=AMOUNT_HINT, code="invalid_amount"
        ) from None
    if amount <= 0:
        raise InvalidInputError(
            f"invalid amount {text!r}: it must be more than zero",
            hint=AMOUNT_HINT,
            code="invalid_amount",
        )
    return amount


def parse_currency(text: str) -> str:
    """The currency code ``text`` in upper case ("eur" -> "EUR"); anything but three letters is
    InvalidInputError (exit 4, ``invalid_currency``). Whether the code is in ISO 4217 is the
    cloud's check (a 422, also exit 4)."""
    written = (text or "").strip()
    if not _CURRENCY.match(written):
        raise InvalidInputError(
            f"invalid currency {text!r}: expected a three-letter ISO 4217 code",
            hint=CURRENCY_HINT,
            code="invalid_currency",
        )
    return written.upper()


def money(amount: Decimal | str) -> str:
    """An amount as text with at least two decimals ("5" -> "5.00", "0.125" stays): never
    rounded, so a total is shown exactly as the cloud summed it."""
    value = Decimal(amount)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        value = value.quantize(Decimal("0.01"))
    return f"{value:f}"


def checked_payment(client: CloudClient, value: Any) -> dict[str, Any]:
    """A payment from the cloud with the keys gsm relies on, its amount a decimal and its status
    a known one; anything else is the cloud's bad answer (exit 7)."""
    if isinstance(value, dict) and "payment" in value:
        value = value["payment"]
    payment = client.checked_object(value, "the payment", PAYMENT_FIELDS)
    if payment["status"] not in STATUSES:
        raise client.bad_answer(f"the payment's status is {payment['status'][:40]!r}")
    try:
        Decimal(payment["amount"])
    except InvalidOperation:
        raise client.bad_answer(f"the payment's amount {payment['amount'][:40]!r}") from None
    return payment


def get_payment(client: CloudClient, payment_id: str) -> dict[str, Any]:
    """GET /v1/payments/{id}: the payer's own payment (someone else's is not found, exit 3)."""
    return checked_payment(client, client.json("GET", f"/v1/payments/{quote(payment_id, safe='')}"))


def purchase(client: CloudClient, plugin_id: str, name: str) -> dict[str, Any] | None:
    """Start buying the plugin ``plugin_id`` (called ``name``): its payment, or None when this
    account has bought it already. The cloud's "not for sale" is ConflictError (exit 5,
    ``not_for_sale``); buying one's own plugin is exit 5 (``own_plugin``) with why not."""
    try:
        answer = client.json("POST", f"/v1/plugins/{quote(plugin_id, safe='')}/purchase")
    except ConflictError as exc:
        if exc.code == "already_bought":
            return None
        if exc.code in ("not_for_sale", "nothing_to_buy"):
            raise not_for_sale(name) from None
        if exc.code == "own_plugin":
            exc.hint = "you are its developer: you can download it without buying it"
        raise
    return checked_payment(client, answer)


def plugin_offer(client: CloudClient, name: str) -> dict[str, Any]:
    """What buying the plugin ``name`` (or id) costs: {plugin_id, name, price, currency}, the
    price as text with two decimals. A free plugin is ``not_for_sale`` (exit 5)."""
    from gsm_cli.services.plugin_cloud import _price, find_plugin

    plugin = find_plugin(client, name)
    price = _price(plugin)  # the catalog's price as install reads it: one rule
    if price <= 0:
        raise not_for_sale(plugin["name"])
    return {
        "plugin_id": plugin["id"],
        "name": plugin["name"],
        "price": money(price),
        "currency": plugin_currency(plugin),
    }


def buy(
    client: CloudClient,
    offer: Mapping[str, Any],
    wait_seconds: float | None = None,
    report: Report | None = None,
) -> dict[str, Any]:
    """Buy the plugin of ``offer`` (``plugin_offer``): {**offer, status, payment}. ``status``
    is ``already_bought`` (``payment`` None) when this account owns it, else the payment's
    status, after waiting up to ``wait_seconds`` for a pending one to be settled. A failed
    payment, or one still pending when the wait ran out, is raised (``settled``)."""
    payment = purchase(client, offer["plugin_id"], offer["name"])
    if payment is None:
        return {**offer, "status": "already_bought", "payment": None}
    if wait_seconds is not None:
        payment = wait(client, payment, wait_seconds, report)
    settled(payment, wait_seconds)
    return {**offer, "status": payment["status"], "payment": payment}


def donate(
    client: CloudClient,
    community_id: str,
    amount: Decimal,
    currency: str,
    message: str | None = None,
    wait_seconds: float | None = None,
    report: Report | None = None,
) -> dict[str, Any]:
    """Donate ``amount`` ``currency`` to a community: its payment, after waiting up to
    ``wait_seconds`` for a pending one to be settled (a failed one, or one still pending when
    the wait ran out, is raised: ``settled``). The cloud's refusal of the amount or currency
    (422) is exit 4 with what it accepts."""
    body = {"amount": f"{amount:f}", "currency": currency, "message": message}
    path = f"/v1/communities/{quote(community_id, safe='')}/donations"
    try:
        answer = client.json("POST", path, json=body)
    except InvalidInputError as exc:
        if not exc.hint:
            exc.hint = (
                "an amount above zero with no more decimals than the currency has (two for "
                f"EUR or USD, none for JPY); {CURRENCY_HINT}"
            )
        raise
    payment = checked_payment(client, answer)
    if wait_seconds is not None:
        payment = wait(client, payment, wait_seconds, report)
    settled(payment, wait_seconds)
    return payment


def wait(
    client: CloudClient,
    payment: dict[str, Any],
    timeout: float,
    report: Report | None = None,
) -> dict[str, Any]:
    """Look at a pending payment until the provider confirmed or failed it, or ``timeout``
    seconds passed; the payment as last seen (its status says which). ``report`` is told the
    seconds waited, for a spinner."""
    start = time.monotonic()
    pause = FIRST_POLL
    while payment["status"] == "pending":
        waited = time.monotonic() - start
        if waited >= timeout:
            break
        if report is not None:
            report(waited, None, f"waiting for payment {payment['id']} ({int(waited)} s)")
        time.sleep(min(pause, max(0.0, timeout - waited)))
        pause = min(pause * 2, LAST_POLL)
        payment = get_payment(client, payment["id"])
    return payment


def settled(payment: Mapping[str, Any], waited: float | None) -> None:
    """Raise for a payment that did not go through: ``payment_failed`` when the provider
    refused it, ``payment_pending`` when ``--wait`` ran out (exit 1 both; nothing is owed
    for a failed one, and a pending one can still be confirmed later)."""
    if payment["status"] == "failed":
        raise GsmError(
            f"the payment {payment['id']} failed: the payment provider refused it",
            hint="nothing was charged; try again, or with another means of payment",
            code="payment_failed",
        )
    if payment["status"] == "pending" and waited is not None:
        raise GsmError(
            f"the payment {payment['id']} is still pending after {waited:g} s",
            hint="complete it with the payment provider; it counts once the provider confirms "
            "it (try again with a longer --wait)",
            code="payment_pending",
        )


def plugin_currency(plugin: Mapping[str, Any]) -> str:
    """The plugin's currency; USD for a cloud older than prices with currencies."""
    currency = plugin.get("currency")
    return currency if isinstance(currency, str) and currency else "USD"


def not_for_sale(name: str) -> ConflictError:
    return ConflictError(
        f"{name} is free: there is nothing to buy",
        hint=f"install it directly: gsm plugin install {name} --server SERVER",
        code="not_for_sale",
    )
