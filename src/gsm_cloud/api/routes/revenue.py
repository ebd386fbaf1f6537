"""Money: donations to communities, plugin purchases, and the caller's revenue and payments.

A donation or purchase answers with the payment it started (pending, or confirmed at once by
the development provider). Amounts leave the API as strings with two decimals ("4.99"). The
rules live in services.revenue and services.payments.
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from gsm_cloud.api.bodies import ApiRoute
from gsm_cloud.api.deps import CurrentUser, PagingDep, SessionDep, SettingsDep
from gsm_cloud.api.errors import Invalid, responses
from gsm_cloud.api.schemas.revenue import (
    DonationCreate,
    PaymentOut,
    PaymentStarted,
    PurchaseCreate,
    ReportBy,
    ReportRowOut,
    ReportTotalOut,
    RevenueReport,
    TransactionOut,
    TransactionPage,
    TransactionType,
)
from gsm_cloud.services import payments, revenue
from gsm_cloud.services.revenue import Ledger

router = APIRouter(tags=["revenue"], route_class=ApiRoute)

TypeFilter = Annotated[TransactionType | None, Query(description="Only transactions of this type")]
# Starting a payment: 502 when the provider fails, 503 when the cloud has none.
PAYMENT_ERRORS = responses(401, 404, 409, 422, 502, 503)


def _page(ledger: Ledger, page: int, per_page: int) -> TransactionPage:
    return TransactionPage(
        items=[TransactionOut.model_validate(row) for row in ledger.items],
        page=page,
        per_page=per_page,
        total=ledger.total,
        totals=ledger.totals,
    )


def started(result: payments.Started) -> PaymentStarted:
    out = PaymentOut.model_validate(result.payment)
    return PaymentStarted(payment=out.model_copy(update={"client_secret": result.client_secret}))


@router.post(
    "/v1/communities/{community_id}/donations",
    response_model=PaymentStarted,
    status_code=status.HTTP_201_CREATED,
    responses=PAYMENT_ERRORS,
)
def donate(
    community_id: uuid.UUID,
    body: DonationCreate,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> PaymentStarted:
    """Donate to a community: a payment to the community's owner, which becomes a
    community_donation transaction once the payment provider confirms it."""
    result = revenue.donate(
        session,
        user,
        community_id,
        payments.provider_for(settings),
        amount=body.amount,
        currency=body.currency,
        message=body.message,
    )
    session.commit()
    return started(result)


@router.post(
    "/v1/plugins/{plugin_id}/purchase",
    response_model=PaymentStarted,
    status_code=status.HTTP_201_CREATED,
    responses=PAYMENT_ERRORS,
)
def purchase_plugin(
    plugin_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[PurchaseCreate | None, Body()] = None,
) -> PaymentStarted:
    """Buy a plugin at its current price and currency: a payment to its developer, which
    becomes a plugin_sale transaction (and lets the buyer download the plugin) once the payment
    provider confirms it. The body is optional and empty; free plugins (409 not_for_sale), your
    own plugins and plugins you bought already (409 already_bought) cannot be bought."""
    result = revenue.purchase(session, user, plugin_id, payments.provider_for(settings))
    session.commit()
    return started(result)


def _naive_utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


@router.get("/v1/revenue/report", response_model=RevenueReport, responses=responses(401, 422))
def revenue_report(
    user: CurrentUser,
    session: SessionDep,
    by: Annotated[ReportBy, Query(description="Group by plugin, community or month")] = "month",
    since: Annotated[
        datetime | None, Query(description="From this time, inclusive (ISO 8601; UTC if bare)")
    ] = None,
    until: Annotated[datetime | None, Query(description="Until this time, exclusive")] = None,
) -> RevenueReport:
    """What the caller received as recipient (plugin developer, community owner), grouped by
    plugin (plugin sales), community (donations) or month (all), with totals per currency,
    exact to the cent."""
    since, until = _naive_utc(since), _naive_utc(until)
    if since is not None and until is not None and since >= until:
        raise Invalid("since must be before until")
    report = revenue.report(session, user, by=by, since=since, until=until)
    return RevenueReport(
        by=by,
        since=since,
        until=until,
        rows=[ReportRowOut(**vars(row)) for row in report.rows],
        totals=[
            ReportTotalOut(currency=t.currency, count=t.count, total=t.total) for t in report.totals
        ],
    )


@router.get("/v1/revenue", response_model=TransactionPage, responses=responses(401, 422))
def list_revenue(
    user: CurrentUser, session: SessionDep, paging: PagingDep, transaction_type: TypeFilter = None
) -> TransactionPage:
    """What the caller earned (transactions where the caller is the recipient), newest first,
    with totals per currency."""
    ledger = revenue.earned(
        session,
        user,
        transaction_type=transaction_type,
        offset=paging.offset,
        limit=paging.per_page,
    )
    return _page(ledger, paging.page, paging.per_page)


@router.get("/v1/revenue/payments", response_model=TransactionPage, responses=responses(401, 422))
def list_payments(
    user: CurrentUser, session: SessionDep, paging: PagingDep, transaction_type: TypeFilter = None
) -> TransactionPage:
    """What the caller paid (transactions where the caller is the payer), newest first, with
    totals per currency."""
    ledger = revenue.paid(
        session,
        user,
        transaction_type=transaction_type,
        offset=paging.offset,
        limit=paging.per_page,
    )
    return _page(ledger, paging.page, paging.per_page)
