"""Revenue: donations to communities, plugin sales, and what each user earned and paid.

A transaction is a record of money that moved (the payment itself happens at Stripe; its
payment intent id may be kept with the row). Rows are never changed or deleted by the API:
when a community is deleted, its donations keep their rows with ``community_id`` NULL.

- A donation goes to the community's owner (``communities.owner_id``); the payer must be able
  to see the community, and cannot be its owner.
- A plugin sale is for the plugin's current price and goes to its developer. A free plugin has
  nothing to buy; developers cannot buy their own plugins; a user buys a plugin once.
- A Stripe payment intent is recorded once: a second transaction with the same id is refused.

The schema has no unique index for "once" (and it is a contract), so on PostgreSQL each check
runs under a transaction-level advisory lock keyed by what must be unique (the payer and the
plugin; the payment intent): two concurrent requests for the same thing run one after the other,
and the second sees the first's row. (SQLite serialises writers anyway.)
"""

import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session

from gsm_cloud.api.errors import Conflict, NotFound
from gsm_cloud.clock import utcnow
from gsm_cloud.db.models import Plugin, RevenueTransaction, User
from gsm_cloud.services import communities

TRANSACTION_TYPES = ("plugin_sale", "community_donation", "subscription")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Ledger:
    items: list[RevenueTransaction]
    total: int
    totals: dict[str, Decimal]  # currency -> sum over every matching row, not just this page


def _serialise_on(session: Session, *key: str) -> None:
    """Hold a PostgreSQL advisory lock for ``key`` until the transaction ends."""
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256("\x1f".join(("gsm-revenue", *key)).encode()).digest()
    number = int.from_bytes(digest[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": number})


def _check_payment_intent(session: Session, payment_intent: str | None) -> None:
    if payment_intent is None:
        return
    _serialise_on(session, "payment_intent", payment_intent)
    seen = session.scalar(
        select(func.count())
        .select_from(RevenueTransaction)
        .where(RevenueTransaction.stripe_payment_intent_id == payment_intent)
    )
    if seen:
        raise Conflict(
            "this Stripe payment intent is already recorded", code="payment_already_recorded"
        )


def donate(
    session: Session,
    user: User,
    community_id: uuid.UUID,
    *,
    amount: Decimal,
    currency: str,
    payment_intent: str | None,
) -> RevenueTransaction:
    community, _ = communities.get(session, user, community_id)
    if community.owner_id is None:
        raise Conflict("this community has no owner to receive donations", code="no_recipient")
    if community.owner_id == user.id:
        raise Conflict("you cannot donate to a community you own", code="own_community")
    _check_payment_intent(session, payment_intent)
    row = RevenueTransaction(
        transaction_type="community_donation",
        amount=amount.quantize(CENT),
        currency=currency,
        payer_id=user.id,
        recipient_id=community.owner_id,
        community_id=community.id,
        stripe_payment_intent_id=payment_intent,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def purchase(
    session: Session,
    user: User,
    plugin_id: uuid.UUID,
    *,
    currency: str,
    payment_intent: str | None,
) -> RevenueTransaction:
    plugin = session.get(Plugin, plugin_id)
    if plugin is None:
        raise NotFound("no such plugin", code="plugin_not_found")
    price = plugin.price if plugin.price is not None else Decimal(0)
    if price <= 0:
        raise Conflict("this plugin is free: there is nothing to buy", code="nothing_to_buy")
    if plugin.developer_id == user.id:
        raise Conflict("you cannot buy your own plugin", code="own_plugin")
    if plugin.developer_id is None:
        raise Conflict("this plugin has no developer to pay", code="no_recipient")
    _serialise_on(session, "purchase", str(user.id), str(plugin.id))
    bought = session.scalar(
        select(func.count())
        .select_from(RevenueTransaction)
        .where(
            RevenueTransaction.transaction_type == "plugin_sale",
            RevenueTransaction.plugin_id == plugin.id,
            RevenueTransaction.payer_id == user.id,
        )
    )
    if bought:
        raise Conflict("you have already bought this plugin", code="already_bought")
    _check_payment_intent(session, payment_intent)
    row = RevenueTransaction(
        transaction_type="plugin_sale",
        amount=Decimal(price).quantize(CENT),
        currency=currency,
        payer_id=user.id,
        recipient_id=plugin.developer_id,
        plugin_id=plugin.id,
        stripe_payment_intent_id=payment_intent,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def _ledger(
    session: Session, query: Select[Any], *, transaction_type: str | None, offset: int, limit: int
) -> Ledger:
    if transaction_type is not None:
        query = query.where(RevenueTransaction.transaction_type == transaction_type)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(
        session.scalars(
            query.order_by(RevenueTransaction.created_at.desc(), RevenueTransaction.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
    sums = query.subquery()
    totals: dict[str, Decimal] = {}
    for currency, amount in session.execute(
        select(sums.c.currency, func.sum(sums.c.amount)).group_by(sums.c.currency)
    ):
        key = currency or "USD"
        totals[key] = (totals.get(key, Decimal(0)) + Decimal(amount or 0)).quantize(CENT)
    totals = dict(sorted(totals.items()))
    return Ledger(items, total, totals)


def earned(
    session: Session, user: User, *, transaction_type: str | None, offset: int, limit: int
) -> Ledger:
    """Transactions where the user is the recipient, newest first, with totals per currency."""
    query = select(RevenueTransaction).where(RevenueTransaction.recipient_id == user.id)
    return _ledger(session, query, transaction_type=transaction_type, offset=offset, limit=limit)


def paid(
    session: Session, user: User, *, transaction_type: str | None, offset: int, limit: int
) -> Ledger:
    """Transactions where the user is the payer, newest first, with totals per currency."""
    query = select(RevenueTransaction).where(RevenueTransaction.payer_id == user.id)
    return _ledger(session, query, transaction_type=transaction_type, offset=offset, limit=limit)
