"""Revenue: donations to communities, plugin sales, and what each user earned and paid.

A donation or purchase starts a payment (services.payments) with the configured provider; it
becomes a transaction (a ``revenue_transactions`` row, a record of money that moved) only when
the provider confirms it. Transactions are never changed or deleted by the API: when a
community is deleted, its donations keep their rows with ``community_id`` NULL.

- A donation goes to the community's owner (``communities.owner_id``); the payer must be able
  to see the community, and cannot be its owner. Its amount must fit its currency
  (services.money).
- A plugin sale is for the plugin's current price, in the plugin's currency, and goes to its
  developer. A free plugin is not for sale; developers cannot buy their own plugins; a user
  buys a plugin once (a confirmed purchase; a pending one may be started again).

The schema has no unique index for "once" (and it is a contract), so on PostgreSQL the check
runs under a transaction-level advisory lock keyed by the payer and the plugin: two concurrent
purchases run one after the other, and the second sees the first's row.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from gsm_cloud.api.errors import Conflict, NotFound
from gsm_cloud.db.models import Community, Plugin, RevenueTransaction, User
from gsm_cloud.services import communities, payments
from gsm_cloud.services.payments import PaymentProvider, Started

TRANSACTION_TYPES = ("plugin_sale", "community_donation", "subscription")
REPORT_BY = ("plugin", "community", "month")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Ledger:
    items: list[RevenueTransaction]
    total: int
    totals: dict[str, Decimal]  # currency -> sum over every matching row, not just this page


def donate(
    session: Session,
    user: User,
    community_id: uuid.UUID,
    provider: PaymentProvider,
    *,
    amount: Decimal,
    currency: str,
    message: str | None = None,
) -> Started:
    """Start a donation to the community's owner."""
    community, _ = communities.get(session, user, community_id)
    if community.owner_id is None:
        raise Conflict("this community has no owner to receive donations", code="no_recipient")
    if community.owner_id == user.id:
        raise Conflict("you cannot donate to a community you own", code="own_community")
    return payments.start(
        session,
        provider,
        kind="community_donation",
        payer=user,
        recipient_id=community.owner_id,
        community_id=community.id,
        amount=amount,
        currency=currency,
        message=message,
    )


def has_bought(session: Session, user: User, plugin: Plugin) -> bool:
    """Whether the user has a confirmed purchase of the plugin (a sale transaction)."""
    return bool(
        session.scalar(
            select(func.count())
            .select_from(RevenueTransaction)
            .where(
                RevenueTransaction.transaction_type == "plugin_sale",
                RevenueTransaction.plugin_id == plugin.id,
                RevenueTransaction.payer_id == user.id,
            )
        )
    )


def purchase(
    session: Session, user: User, plugin_id: uuid.UUID, provider: PaymentProvider
) -> Started:
    """Start the purchase of a plugin at its current price and currency."""
    plugin = session.get(Plugin, plugin_id)
    if plugin is None:
        raise NotFound("no such plugin", code="plugin_not_found")
    price = plugin.price if plugin.price is not None else Decimal(0)
    if price <= 0:
        raise Conflict("this plugin is free: there is nothing to buy", code="not_for_sale")
    if plugin.developer_id == user.id:
        raise Conflict("you cannot buy your own plugin", code="own_plugin")
    if plugin.developer_id is None:
        raise Conflict("this plugin has no developer to pay", code="no_recipient")
    payments.serialise_on(session, "purchase", str(user.id), str(plugin.id))
    if has_bought(session, user, plugin):
        raise Conflict("you have already bought this plugin", code="already_bought")
    return payments.start(
        session,
        provider,
        kind="plugin_purchase",
        payer=user,
        recipient_id=plugin.developer_id,
        plugin_id=plugin.id,
        amount=Decimal(price),
        currency=plugin.currency,
    )


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


@dataclass(frozen=True)
class ReportRow:
    key: str
    label: str
    currency: str
    count: int
    total: Decimal


@dataclass(frozen=True)
class Report:
    rows: list[ReportRow]
    totals: list[ReportRow]  # per currency (key and label are the currency)


GONE = "deleted"  # the key of transactions whose plugin or community no longer exists


def report(
    session: Session,
    user: User,
    *,
    by: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Report:
    """What the user received (as developer or community owner) from ``since`` (inclusive) to
    ``until`` (exclusive), grouped ``by`` plugin (plugin sales), community (donations) or month
    (every transaction), with totals per currency. Sums are SQL SUMs over NUMERIC: exact."""
    if by not in REPORT_BY:
        raise ValueError(f"by must be one of {REPORT_BY}")
    t = RevenueTransaction
    where = [t.recipient_id == user.id]
    if since is not None:
        where.append(t.created_at >= since)
    if until is not None:
        where.append(t.created_at < until)
    key: Any
    label: Any
    if by == "plugin":
        where.append(t.transaction_type == "plugin_sale")
        key, label = t.plugin_id, Plugin.name
        query = select(key, label).select_from(t).outerjoin(Plugin, Plugin.id == t.plugin_id)
    elif by == "community":
        where.append(t.transaction_type == "community_donation")
        key, label = t.community_id, Community.name
        query = (
            select(key, label).select_from(t).outerjoin(Community, Community.id == t.community_id)
        )
    else:
        if session.get_bind().dialect.name == "postgresql":
            key = func.to_char(t.created_at, "YYYY-MM")
        else:
            key = func.strftime("%Y-%m", t.created_at)
        label = key
        query = select(key.label("key"), key.label("label")).select_from(t)
    currency = func.coalesce(t.currency, "USD")
    grouped = (
        query.add_columns(currency.label("currency"), func.count(), func.sum(t.amount))
        .where(*where)
        .group_by(key, label, currency)
    )
    rows = [
        ReportRow(
            key=str(row_key) if row_key is not None else GONE,
            label=str(row_label) if row_label is not None else f"({GONE} {by})",
            currency=row_currency,
            count=count,
            total=Decimal(total).quantize(CENT),
        )
        for row_key, row_label, row_currency, count, total in session.execute(grouped)
    ]
    rows.sort(key=lambda r: (r.key, r.currency) if by == "month" else (r.label, r.key, r.currency))
    totals_query = (
        select(currency.label("currency"), func.count(), func.sum(t.amount))
        .where(*where)
        .group_by(currency)
        .order_by(currency)
    )
    totals = [
        ReportRow(key=c, label=c, currency=c, count=n, total=Decimal(s).quantize(CENT))
        for c, n, s in session.execute(totals_query)
    ]
    return Report(rows, totals)
