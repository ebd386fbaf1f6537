import uuid

from fastapi import APIRouter, status

from gsm_cloud.api.bodies import TEXT, ApiRoute, body_limit
from gsm_cloud.api.deps import CurrentUser, SessionDep
from gsm_cloud.api.errors import responses
from gsm_cloud.api.schemas.accounts import (
    CreatedToken,
    PersonalTokenCreate,
    TokenOut,
    UserOut,
    UserUpdate,
)
from gsm_cloud.clock import utcnow
from gsm_cloud.services import accounts

router = APIRouter(prefix="/v1/me", tags=["me"], route_class=ApiRoute)


@router.get("", response_model=UserOut, responses=responses(401))
def get_me(user: CurrentUser) -> UserOut:
    """Who the token belongs to: profile and settings."""
    return UserOut.model_validate(user)


@router.patch("", response_model=UserOut, responses=responses(401, 422))
@body_limit(TEXT)
def update_me(body: UserUpdate, user: CurrentUser, session: SessionDep) -> UserOut:
    """Change the display name, profile or settings."""
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is not None or field != "display_name":
            setattr(user, field, value)
    session.commit()
    return UserOut.model_validate(user)


@router.get("/tokens", response_model=list[TokenOut], responses=responses(401))
def list_tokens(user: CurrentUser, session: SessionDep) -> list[TokenOut]:
    """The caller's tokens that are not revoked (sessions and personal access tokens)."""
    return [TokenOut.model_validate(t) for t in accounts.tokens_of(session, user)]


@router.post(
    "/tokens",
    response_model=CreatedToken,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 422),
)
def create_personal_token(
    body: PersonalTokenCreate, user: CurrentUser, session: SessionDep
) -> CreatedToken:
    """A personal access token for CI. The token is in this response only."""
    from datetime import timedelta

    expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    issued = accounts.issue_token(
        session, user, name=body.name, kind="personal", expires_at=expires
    )
    session.commit()
    return CreatedToken(token=issued.token, **TokenOut.model_validate(issued.record).model_dump())


@router.delete(
    "/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(401, 404)
)
def revoke_token(token_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> None:
    """Revoke one of the caller's tokens."""
    accounts.revoke(session, user, token_id)
    session.commit()
