"""Users, passwords and API tokens."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gsm_cloud.api.errors import Conflict, Invalid, NotFound, Unauthorized
from gsm_cloud.clock import utcnow
from gsm_cloud.db.models import ApiToken, User
from gsm_cloud.security import hash_password, new_token, token_hash, verify_password

ROLES = ("Basic", "Developer", "Admin")
TOKEN_KINDS = ("session", "personal")


def create_user(
    session: Session, *, email: str, display_name: str, role: str = "Basic", password: str | None
) -> User:
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    email = email.strip().lower()
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise Conflict(f"a user with email {email} already exists", code="email_taken")
    user = User(
        email=email,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    return user


def user_by_email(session: Session, email: str) -> User:
    user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise NotFound(f"no user with email {email}", code="user_not_found")
    return user


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once, never stored
    record: ApiToken


def issue_token(
    session: Session, user: User, *, name: str, kind: str, expires_at: datetime | None
) -> IssuedToken:
    token = new_token()
    record = ApiToken(
        user_id=user.id,
        name=name,
        kind=kind,
        token_hash=token_hash(token),
        expires_at=expires_at,
    )
    session.add(record)
    session.flush()
    return IssuedToken(token, record)


def login(session: Session, *, email: str, password: str, session_days: int) -> IssuedToken:
    user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if not verify_password(password, user.password_hash if user else None) or user is None:
        raise Unauthorized("wrong email or password", code="bad_credentials")
    return issue_token(
        session,
        user,
        name="login",
        kind="session",
        expires_at=utcnow() + timedelta(days=session_days),
    )


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc())
        )
    )


def revoke(session: Session, user: User, token_id: uuid.UUID) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("no such token", code="token_not_found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token
