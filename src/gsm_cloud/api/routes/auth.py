from fastapi import APIRouter, Request, status

from gsm_cloud.api.bodies import ApiRoute
from gsm_cloud.api.deps import SessionDep, SettingsDep, TokenDep
from gsm_cloud.api.errors import Unauthorized, responses
from gsm_cloud.api.schemas.accounts import (
    CurrentTokenOut,
    DeviceOut,
    LoginRequest,
    TokenOut,
    TokenResponse,
)
from gsm_cloud.clock import utcnow
from gsm_cloud.services import accounts, devices, ratelimit

router = APIRouter(prefix="/v1/auth", tags=["auth"], route_class=ApiRoute)


@router.post("/token", response_model=TokenResponse, responses=responses(401, 422, 429))
def create_token(
    body: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    """Exchange an email and password for a bearer token (a session).

    Rate-limited: every attempt counts against the client's address, every failed one against
    the account; past either limit the answer is 429 with Retry-After, without checking the
    password."""
    now = utcnow()
    host = request.client.host if request.client else None
    window = ratelimit.check_login(session, settings, host=host, email=body.email, now=now)
    try:
        issued = accounts.login(
            session,
            email=body.email,
            password=body.password,
            session_days=settings.session_token_days,
        )
    except Unauthorized:
        ratelimit.login_failed(session, body.email, window)
        raise
    ratelimit.login_succeeded(session, body.email, window)
    session.commit()
    return TokenResponse(
        access_token=issued.token, token_id=issued.record.id, expires_at=issued.record.expires_at
    )


@router.get("/token", response_model=CurrentTokenOut, responses=responses(401))
def current_token(session: SessionDep, token: TokenDep) -> CurrentTokenOut:
    """The token this request carries, and the devices that used it (gsm looks them up before
    `gsm auth logout --revoke`, to say which other machines the revocation logs out)."""
    return CurrentTokenOut(
        **TokenOut.model_validate(token).model_dump(),
        devices=[DeviceOut.model_validate(d) for d in devices.of_token(session, token.id)],
    )


@router.delete("/token", status_code=status.HTTP_204_NO_CONTENT, responses=responses(401))
def revoke_current_token(session: SessionDep, token: TokenDep) -> None:
    """Revoke the token this request carries (log out)."""
    token.revoked_at = utcnow()
    session.commit()
