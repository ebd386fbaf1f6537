from fastapi import APIRouter, status

from gsm_cloud.api.deps import SessionDep, SettingsDep, TokenDep
from gsm_cloud.api.errors import responses
from gsm_cloud.api.schemas.accounts import LoginRequest, TokenResponse
from gsm_cloud.clock import utcnow
from gsm_cloud.services import accounts

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/token", response_model=TokenResponse, responses=responses(401, 422))
def create_token(body: LoginRequest, session: SessionDep, settings: SettingsDep) -> TokenResponse:
    """Exchange an email and password for a bearer token (a session)."""
    issued = accounts.login(
        session, email=body.email, password=body.password, session_days=settings.session_token_days
    )
    session.commit()
    return TokenResponse(
        access_token=issued.token, token_id=issued.record.id, expires_at=issued.record.expires_at
    )


@router.delete("/token", status_code=status.HTTP_204_NO_CONTENT, responses=responses(401))
def revoke_current_token(session: SessionDep, token: TokenDep) -> None:
    """Revoke the token this request carries (log out)."""
    token.revoked_at = utcnow()
    session.commit()
