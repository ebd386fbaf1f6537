"""Communities and their members.

Rules (the API's documentation of communities repeats them):

- A community is visible to a user when it is public or the user is a member. An invisible
  community does not exist for that user: every endpoint answers 404, never 403. A visible
  community where the caller lacks the role answers 403.
- Member roles: Owner, Admin, Moderator, Member. Owners and Admins manage the community and
  its members; only an Owner may make or unmake Owners and Admins, and delete the community.
  A community always has at least one Owner, and ``owner_id`` always names one of them (the
  longest-standing Owner when the one it named leaves or steps down); donations go to it.
- ``member_count`` always equals the number of membership rows. Every membership change first
  locks the community row (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers) and
  then recounts in the same transaction, so concurrent joins and leaves never lose a count.
- Every membership change writes a ``community_membership`` change for the affected user (the
  change's ``entity_id`` is the community's id), so ``gsm sync pull`` tells that user. A rename
  writes one for every member, since what they pull names the community.
- Private communities are joined with an invitation's code (services.invitations).
- Deleting a community deletes its memberships and invitations; game servers and revenue
  transactions that referenced it keep their rows with ``community_id`` set to NULL (money
  records are never deleted; a donation still names its payer, recipient and amount).

Functions take the caller's ``User`` and raise the API's error types; routes commit.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from gsm_cloud.api.errors import Conflict, Forbidden, NotFound
from gsm_cloud.clock import utcnow
from gsm_cloud.db.models import (
    Community,
    CommunityInvitation,
    CommunityMember,
    GameServer,
    RevenueTransaction,
    User,
)
from gsm_cloud.services import changes

OWNER, ADMIN, MODERATOR, MEMBER = "Owner", "Admin", "Moderator", "Member"
ROLES = (OWNER, ADMIN, MODERATOR, MEMBER)
MANAGERS = (OWNER, ADMIN)
UPDATABLE = ("name", "description", "logo_url", "banner_url", "is_public", "settings")


@dataclass(frozen=True)
class Membership:
    user_id: uuid.UUID
    display_name: str
    role: str
    joined_at: Any


@dataclass(frozen=True)
class Listing:
    items: list[tuple[Community, str | None]]  # (community, the caller's role or None)
    total: int


# --- reading ---------------------------------------------------------------------------------


def _role_of(session: Session, community_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    member = _membership(session, community_id, user_id)
    return None if member is None else (member.role or MEMBER)


def _membership(
    session: Session, community_id: uuid.UUID, user_id: uuid.UUID
) -> CommunityMember | None:
    return session.scalars(
        select(CommunityMember).where(
            CommunityMember.community_id == community_id, CommunityMember.user_id == user_id
        )
    ).first()


def _not_found() -> NotFound:
    return NotFound("no such community", code="community_not_found")


def find(session: Session, community_id: uuid.UUID, *, lock: bool = False) -> Community | None:
    """The community, whoever may see it. ``lock`` takes the community row's lock first: every
    membership change does, so that changes of one community's members run one after another."""
    query = select(Community).where(Community.id == community_id)
    if lock:
        # NO KEY: foreign-key checks of other writers (which may hold the feed lock) pass.
        query = query.with_for_update(key_share=True)
        # A row read earlier in this session must be read again under the lock.
        query = query.execution_options(populate_existing=True)
    return session.scalars(query).first()


def role_of(session: Session, community_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    """The user's role in the community, or None when not a member."""
    return _role_of(session, community_id, user_id)


def visible(
    session: Session, user: User, community_id: uuid.UUID, *, lock: bool = False
) -> tuple[Community, str | None]:
    """The community and the caller's role in it; 404 when it does not exist for the caller
    (``lock``: as in ``find``)."""
    community = find(session, community_id, lock=lock)
    if community is None:
        raise _not_found()
    role = _role_of(session, community.id, user.id)
    if role is None and community.is_public is not True:
        raise _not_found()
    return community, role


def get(session: Session, user: User, community_id: uuid.UUID) -> tuple[Community, str | None]:
    return visible(session, user, community_id)


def list_visible(
    session: Session,
    user: User,
    *,
    q: str | None,
    is_public: bool | None,
    member: bool | None,
    offset: int,
    limit: int,
) -> Listing:
    """Public communities and the private ones the caller belongs to, oldest first.
    ``member`` True: only the caller's; False: only those the caller has not joined."""
    mine = select(CommunityMember.community_id).where(CommunityMember.user_id == user.id)
    query: Select[Any] = select(Community).where(
        or_(Community.is_public.is_(True), Community.id.in_(mine))
    )
    if q:
        query = query.where(Community.name.icontains(q, autoescape=True))
    if is_public is not None:
        query = query.where(
            Community.is_public.is_(True) if is_public else Community.is_public.isnot(True)
        )
    if member is True:
        query = query.where(Community.id.in_(mine))
    elif member is False:
        query = query.where(Community.id.not_in(mine))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(
        session.scalars(
            query.order_by(Community.created_at, Community.id).offset(offset).limit(limit)
        )
    )
    roles: dict[uuid.UUID, str] = {}
    if rows:
        for community_id, role in session.execute(
            select(CommunityMember.community_id, CommunityMember.role).where(
                CommunityMember.user_id == user.id,
                CommunityMember.community_id.in_([c.id for c in rows]),
            )
        ):
            roles[community_id] = role or MEMBER
    return Listing([(c, roles.get(c.id)) for c in rows], total)


def members(
    session: Session, user: User, community_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[list[Membership], int]:
    """The members of a community the caller can see, in the order they joined."""
    community, _ = visible(session, user, community_id)
    where = CommunityMember.community_id == community.id
    total = session.scalar(select(func.count()).select_from(CommunityMember).where(where)) or 0
    rows = session.execute(
        select(CommunityMember, User.display_name)
        .join(User, User.id == CommunityMember.user_id)
        .where(where)
        .order_by(CommunityMember.joined_at, CommunityMember.id)
        .offset(offset)
        .limit(limit)
    )
    return [Membership(m.user_id, name, m.role or MEMBER, m.joined_at) for m, name in rows], total


# --- writing ---------------------------------------------------------------------------------


def _recount(session: Session, community: Community) -> None:
    """Set member_count to the true number of members. Callers hold the community's lock."""
    session.flush()
    community.member_count = (
        session.scalar(
            select(func.count())
            .select_from(CommunityMember)
            .where(CommunityMember.community_id == community.id)
        )
        or 0
    )


def _record(session: Session, community_id: uuid.UUID, user_id: uuid.UUID, operation: str) -> None:
    changes.record(
        session,
        entity_type="community_membership",
        entity_id=community_id,
        operation=operation,
        audience_user_id=user_id,
    )


def _owners(session: Session, community_id: uuid.UUID) -> list[CommunityMember]:
    return list(
        session.scalars(
            select(CommunityMember)
            .where(CommunityMember.community_id == community_id, CommunityMember.role == OWNER)
            .order_by(CommunityMember.joined_at, CommunityMember.id)
        )
    )


def _keep_owner_id(session: Session, community: Community) -> None:
    """Point owner_id at an Owner: keep it if it still names one, else the longest-standing."""
    session.flush()
    owners = _owners(session, community.id)
    if owners and community.owner_id not in {o.user_id for o in owners}:
        community.owner_id = owners[0].user_id


def create(session: Session, user: User, fields: dict[str, Any]) -> Community:
    now = utcnow()
    community = Community(
        **{key: value for key, value in fields.items() if key in UPDATABLE},
        owner_id=user.id,
        member_count=1,
        created_at=now,
    )
    session.add(community)
    session.flush()
    session.add(
        CommunityMember(community_id=community.id, user_id=user.id, role=OWNER, joined_at=now)
    )
    _record(session, community.id, user.id, "upsert")
    session.flush()
    return community


def update_details(
    session: Session, user: User, community_id: uuid.UUID, fields: dict[str, Any]
) -> tuple[Community, str | None]:
    community, role = visible(session, user, community_id)
    if role not in MANAGERS:
        raise Forbidden("only the community's Owners and Admins can change it")
    renamed = "name" in fields and fields["name"] != community.name
    for key, value in fields.items():
        if key in UPDATABLE:
            setattr(community, key, value)
    session.flush()
    if renamed:  # what a member pulls names the community: tell every member
        for member_id in _member_ids(session, community.id):
            _record(session, community.id, member_id, "upsert")
    return community, role


def _member_ids(session: Session, community_id: uuid.UUID) -> list[uuid.UUID]:
    return [
        user_id
        for user_id in session.scalars(
            select(CommunityMember.user_id)
            .where(CommunityMember.community_id == community_id)
            .order_by(CommunityMember.joined_at, CommunityMember.id)
        )
        if user_id is not None
    ]


def delete_community(session: Session, user: User, community_id: uuid.UUID) -> None:
    community, role = visible(session, user, community_id, lock=True)
    if role != OWNER:
        raise Forbidden("only an Owner can delete the community")
    # The feed's lock before the game_servers rows: a sync push takes the feed's lock first and
    # then writes its servers (which may belong to this community), so the other order deadlocks.
    changes.lock_feed(session)
    member_ids = _member_ids(session, community.id)
    servers = session.execute(
        select(GameServer.id, GameServer.owner_id)
        .where(GameServer.community_id == community.id)
        .order_by(GameServer.id)
    ).all()
    session.execute(
        update(GameServer)
        .where(GameServer.community_id == community.id)
        .values(community_id=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(RevenueTransaction)
        .where(RevenueTransaction.community_id == community.id)
        .values(community_id=None)
        .execution_options(synchronize_session=False)
    )
    for table in (CommunityMember, CommunityInvitation):
        session.execute(
            delete(table)
            .where(table.community_id == community.id)
            .execution_options(synchronize_session=False)
        )
    session.delete(community)
    session.flush()
    for member_id in member_ids:
        _record(session, community.id, member_id, "delete")
    for server_id, server_owner in servers:
        if server_owner is not None:
            changes.record(
                session,
                entity_type="game_server",
                entity_id=server_id,
                operation="upsert",
                audience_user_id=server_owner,
            )


def join(session: Session, user: User, community_id: uuid.UUID) -> tuple[Community, str]:
    """Join a public community (a private one takes an invitation: services.invitations)."""
    community, role = visible(session, user, community_id, lock=True)
    if role is not None:
        raise already_member()
    admit(session, community, user)
    return community, MEMBER


def already_member() -> Conflict:
    return Conflict("you are already a member of this community", code="already_member")


def admit(session: Session, community: Community, user: User) -> None:
    """Make the user a Member. The caller holds the community's lock (``find(lock=True)``)
    and has checked that the user is not a member yet."""
    session.add(
        CommunityMember(community_id=community.id, user_id=user.id, role=MEMBER, joined_at=utcnow())
    )
    _recount(session, community)
    _record(session, community.id, user.id, "upsert")


def _remove(session: Session, community: Community, member: CommunityMember) -> None:
    if member.role == OWNER and len(_owners(session, community.id)) <= 1:
        raise Conflict(
            "the last Owner cannot leave; make another member Owner first, or delete the community",
            code="last_owner",
        )
    user_id = member.user_id
    session.delete(member)
    _recount(session, community)
    _keep_owner_id(session, community)
    if user_id is not None:
        _record(session, community.id, user_id, "delete")


def leave(session: Session, user: User, community_id: uuid.UUID) -> Community:
    community, role = visible(session, user, community_id, lock=True)
    member = _membership(session, community.id, user.id) if role else None
    if member is None:
        raise Conflict("you are not a member of this community", code="not_member")
    _remove(session, community, member)
    return community


def _target(session: Session, community: Community, user_id: uuid.UUID) -> CommunityMember:
    member = _membership(session, community.id, user_id)
    if member is None:
        raise NotFound("no such member in this community", code="member_not_found")
    return member


def remove_member(
    session: Session, user: User, community_id: uuid.UUID, user_id: uuid.UUID
) -> Community:
    """Owners and Admins remove members; an Admin cannot remove an Owner or an Admin.
    Removing yourself is leaving, which every member may do."""
    community, role = visible(session, user, community_id, lock=True)
    if user_id == user.id:
        if role is None:
            raise NotFound("no such member in this community", code="member_not_found")
        _remove(session, community, _target(session, community, user_id))
        return community
    if role not in MANAGERS:
        raise Forbidden("only the community's Owners and Admins can remove members")
    target = _target(session, community, user_id)
    if (target.role or MEMBER) in MANAGERS and role != OWNER:
        raise Forbidden("only an Owner can remove an Owner or an Admin")
    _remove(session, community, target)
    return community


def change_role(
    session: Session, user: User, community_id: uuid.UUID, user_id: uuid.UUID, new_role: str
) -> Membership:
    """Owners and Admins change roles; only an Owner may make or unmake Owners and Admins;
    the last Owner cannot step down."""
    community, role = visible(session, user, community_id, lock=True)
    if role not in MANAGERS:
        raise Forbidden("only the community's Owners and Admins can change roles")
    target = _target(session, community, user_id)
    old_role = target.role or MEMBER
    if (old_role in MANAGERS or new_role in MANAGERS) and role != OWNER:
        raise Forbidden("only an Owner can make or unmake Owners and Admins")
    if old_role != new_role:
        if old_role == OWNER and len(_owners(session, community.id)) <= 1:
            raise Conflict(
                "a community needs an Owner; make another member Owner first",
                code="last_owner",
            )
        target.role = new_role
        _keep_owner_id(session, community)
        _record(session, community.id, user_id, "upsert")
    name = session.scalar(select(User.display_name).where(User.id == user_id)) or ""
    return Membership(user_id, name, new_role, target.joined_at)


def member_counts_are_true(session: Session) -> bool:
    """For tests and health checks: does every member_count equal its membership rows?"""
    counted = (
        select(CommunityMember.community_id, func.count().label("n"))
        .group_by(CommunityMember.community_id)
        .subquery()
    )
    wrong = session.scalar(
        select(func.count())
        .select_from(Community)
        .outerjoin(counted, counted.c.community_id == Community.id)
        .where(
            func.coalesce(Community.member_count, 0) != func.coalesce(counted.c.n, 0),
        )
    )
    return wrong == 0
