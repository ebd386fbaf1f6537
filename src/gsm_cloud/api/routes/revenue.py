"""Money: donations to communities, plugin purchases, and the caller's revenue and payments.

Amounts leave the API as strings with two decimals ("4.99"). The rules live in
services.revenue.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from gsm_cloud.api.bodies import ApiRoute
from gsm_cloud.api.deps import CurrentUser, PagingDep, SessionDep
from gsm_cloud.api.errors import responses
from gsm_cloud.api.schemas.revenue import (
    DonationCreate,
    PurchaseCreate,
    TransactionOut,
    TransactionPage,
    TransactionType,
)
from gsm_cloud.services import revenue
from gsm_cloud.services.revenue import Ledger

router = APIRouter(tags=["revenue"], route_class=ApiRoute)

TypeFilter = Annotated[TransactionType | None, Query(description="Only transactions of this type")]


def _page(ledger: Ledger, page: int, per_page: int) -> TransactionPage:
    return TransactionPage(
        items=[TransactionOut.model_validate(row) for row in ledger.items],
        page=page,
        per_page=per_page,
        total=ledger.total,
        totals=ledger.totals,
    )


@router.post(
    "/v1/communities/{community_id}/donations",
    response_model=TransactionOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 404, 409, 422),
)
def donate(
    community_id: uuid.UUID, body: DonationCreate, user: CurrentUser, session: SessionDep
) -> TransactionOut:
    """Donate to a community: a community_donation to the community's owner."""
    row = revenue.donate(
        session,
        user,
        community_id,
        amount=body.amount,
        currency=body.currency,
        payment_intent=body.stripe_payment_intent_id,
    )
    session.commit()
    return TransactionOut.model_validate(row)


@router.post(
    "/v1/plugins/{plugin_id}/purchase",
    response_model=TransactionOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 404, 409, 422),
)
def purchase_plugin(
    plugin_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    body: Annotated[PurchaseCreate | None, Body()] = None,
) -> TransactionOut:
    """Buy a plugin at its current price: a plugin_sale to its developer. The body is
    optional; free plugins and your own plugins cannot be bought (409)."""
    body = body or PurchaseCreate()
    row = revenue.purchase(
        session,
        user,
        plugin_id,
        currency=body.currency,
        payment_intent=body.stripe_payment_intent_id,
    )
    session.commit()
    return TransactionOut.model_validate(row)


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
