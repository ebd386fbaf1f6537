"""Invitations to a community: how anyone, above all into a private community, is let in.

Rules (docs/cloud.md repeats them):

- An Owner or Admin creates, lists and revokes a community's invitations; another member gets
  403, someone who cannot see the community 404 (as everywhere in services.communities).
- The code is shown once, when the invitation is created; the cloud keeps only its SHA-256.
- A code admits whoever presents it to that community's join endpoint while it is not expired,
  not revoked and used fewer than ``max_uses`` times, and, when the invitation names an email,
  only the user with that email (any case). Each admission uses one use.
- Every refused code gets the same 403 ``invitation_invalid`` with the same message, whether
  the code is unknown, for another community, expired, revoked, used up or for another email:
  the answer tells a guesser nothing.
- Joining with a code locks the community row (as every membership change does) and then the
  invitation's row, so two joins with the last use of a code admit exactly one.
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gsm_cloud.api.errors import Forbidden, NotFound
from gsm_cloud.clock import utcnow
from gsm_cloud.db.models import Community, CommunityInvitation, User
from gsm_cloud.services import communities

CODE_PREFIX = "gsmi_"
CODE_BYTES = 18  # 144 random bits: never guessed, never worth a rate limit
ACTIVE, EXPIRED, USED, REVOKED = "active", "expired", "used", "revoked"
INVALID_MESSAGE = "this invitation code is not valid (it may have expired, been used or revoked)"


@dataclass(frozen=True)
class Created:
    invitation: CommunityInvitation
    code: str  # the only time it exists in clear


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def state_of(invitation: CommunityInvitation, now: datetime | None = None) -> str:
    """revoked, used (no use left), expired, or active: the first that holds."""
    if invitation.revoked_at is not None:
        return REVOKED
    if invitation.uses >= invitation.max_uses:
        return USED
    if invitation.expires_at <= (now or utcnow()):
        return EXPIRED
    return ACTIVE


def _managed(session: Session, user: User, community_id: uuid.UUID) -> Community:
    community, role = communities.visible(session, user, community_id)
    if role not in communities.MANAGERS:
        raise Forbidden("only the community's Owners and Admins can manage its invitations")
    return community


def create(
    session: Session,
    user: User,
    community_id: uuid.UUID,
    *,
    email: str | None,
    expires_in_seconds: int,
    max_uses: int,
) -> Created:
    community = _managed(session, user, community_id)
    code = CODE_PREFIX + secrets.token_urlsafe(CODE_BYTES)
    now = utcnow()
    invitation = CommunityInvitation(
        community_id=community.id,
        created_by=user.id,
        code_hash=hash_code(code),
        email=email,
        max_uses=max_uses,
        uses=0,
        expires_at=now + timedelta(seconds=expires_in_seconds),
        created_at=now,
    )
    session.add(invitation)
    session.flush()
    return Created(invitation, code)


def list_for(
    session: Session, user: User, community_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[list[CommunityInvitation], int]:
    """A community's invitations, oldest first, in every state."""
    community = _managed(session, user, community_id)
    where = CommunityInvitation.community_id == community.id
    total = session.scalar(select(func.count()).select_from(CommunityInvitation).where(where))
    rows = session.scalars(
        select(CommunityInvitation)
        .where(where)
        .order_by(CommunityInvitation.created_at, CommunityInvitation.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows), total or 0


def revoke(session: Session, user: User, community_id: uuid.UUID, invitation_id: uuid.UUID) -> None:
    """Revoke an invitation; revoking a revoked one changes nothing (its first time stays)."""
    community = _managed(session, user, community_id)
    invitation = session.scalars(
        select(CommunityInvitation)
        .where(
            CommunityInvitation.id == invitation_id,
            CommunityInvitation.community_id == community.id,
        )
        .with_for_update()
    ).first()
    if invitation is None:
        raise NotFound("no such invitation in this community", code="invitation_not_found")
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        session.flush()


def _invalid() -> Forbidden:
    return Forbidden(INVALID_MESSAGE, code="invitation_invalid")


def join_with_code(
    session: Session, user: User, community_id: uuid.UUID, code: str
) -> tuple[Community, str]:
    """Join a community (public or private) as a Member with an invitation's code, using one
    of its uses. A member already gets the usual 409 and uses nothing."""
    community = communities.find(session, community_id, lock=True)
    if community is None:
        raise _invalid()  # not 404: a code's answer never says which communities exist
    if communities.role_of(session, community.id, user.id) is not None:
        raise communities.already_member()
    invitation = session.scalars(
        select(CommunityInvitation)
        .where(CommunityInvitation.code_hash == hash_code(code))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if (
        invitation is None
        or invitation.community_id != community.id
        or state_of(invitation) != ACTIVE
        or (
            invitation.email is not None
            and invitation.email.casefold() != (user.email or "").casefold()
        )
    ):
        raise _invalid()
    invitation.uses += 1
    communities.admit(session, community, user)
    return community, communities.MEMBER
