"""Request-scoped dependencies: the database session, the caller, paging."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from gsm_cloud.api.errors import Unauthorized
from gsm_cloud.clock import utcnow
from gsm_cloud.config import Settings
from gsm_cloud.db.models import ApiToken, User
from gsm_cloud.security import token_hash
from gsm_cloud.services import devices


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
_bearer = HTTPBearer(auto_error=False, description="A token from POST /v1/auth/token or a PAT")
LAST_USED_RESOLUTION = timedelta(minutes=1)
# The request's bearer credentials, if any, unchecked: for endpoints that need a user only
# sometimes (downloads of paid plugins), which then call ``user_of``.
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def current_token(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiToken:
    """The valid token of this request (else 401), its use and device recorded."""
    if credentials is None or not credentials.credentials:
        raise Unauthorized("a bearer token is required", code="not_authenticated")
    token = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == token_hash(credentials.credentials))
    ).first()
    now = utcnow()
    if token is None or token.revoked_at is not None:
        raise Unauthorized("the token is not valid", code="invalid_token")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthorized("the token has expired", code="token_expired")
    changed = False
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
        user = session.get(User, token.user_id)
        if user is not None:
            user.last_seen = now
        changed = True
    device = devices.from_headers(request.headers)
    if device is not None and devices.seen(session, token.id, device, now):
        changed = True
    if changed:
        session.commit()
    return token


TokenDep = Annotated[ApiToken, Depends(current_token)]


def current_user(session: SessionDep, token: TokenDep) -> User:
    user = session.get(User, token.user_id)
    if user is None:
        raise Unauthorized("the token's user no longer exists", code="invalid_token")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def user_of(request: Request, session: Session, credentials: BearerDep) -> User | None:
    """The caller when the request carries a token, checked as for CurrentUser (401 when it
    is not valid); None when it carries none."""
    if credentials is None or not credentials.credentials:
        return None
    return current_user(session, current_token(request, session, credentials))


class Paging:
    def __init__(
        self,
        page: Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1")] = 1,
        per_page: Annotated[int, Query(ge=1, le=200, description="Items per page")] = 50,
    ) -> None:
        self.page = page
        self.per_page = per_page

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


PagingDep = Annotated[Paging, Depends()]
