"""/v1/communities: communities and their members.

A private community is invisible (404) to everyone but its members, on every endpoint; a visible
community where the caller lacks the role answers 403. The rules live in services.communities.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from gsm_cloud.api.bodies import JSON, TEXT, ApiRoute, body_limit
from gsm_cloud.api.deps import CurrentUser, PagingDep, SessionDep
from gsm_cloud.api.errors import responses
from gsm_cloud.api.schemas.common import Page, Text
from gsm_cloud.api.schemas.communities import (
    CommunityCreate,
    CommunityOut,
    CommunityUpdate,
    InvitationCreate,
    InvitationCreated,
    InvitationOut,
    JoinRequest,
    MemberOut,
    MemberRoleUpdate,
)
from gsm_cloud.db.models import Community, CommunityInvitation
from gsm_cloud.services import communities, invitations

router = APIRouter(prefix="/v1/communities", tags=["communities"], route_class=ApiRoute)


def _out(community: Community, my_role: str | None) -> CommunityOut:
    return CommunityOut(
        id=community.id,
        name=community.name,
        description=community.description,
        logo_url=community.logo_url,
        banner_url=community.banner_url,
        is_public=community.is_public is True,
        member_count=community.member_count or 0,
        settings=community.settings,
        created_at=community.created_at,
        owner_id=community.owner_id,
        my_role=my_role,
    )


@router.post(
    "",
    response_model=CommunityOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 422),
)
@body_limit(TEXT)
def create_community(body: CommunityCreate, user: CurrentUser, session: SessionDep) -> CommunityOut:
    """Create a community; the caller becomes its Owner and first member."""
    community = communities.create(session, user, body.model_dump())
    session.commit()
    return _out(community, communities.OWNER)


@router.get("", response_model=Page[CommunityOut], responses=responses(401, 422))
def list_communities(
    user: CurrentUser,
    session: SessionDep,
    paging: PagingDep,
    q: Annotated[
        Text(max_length=200) | None,
        Query(description="Only communities whose name contains this (any case)"),
    ] = None,
    is_public: Annotated[bool | None, Query(description="Only public (true) or private")] = None,
    member: Annotated[
        bool | None,
        Query(description="true: only those the caller is a member of; false: only the others"),
    ] = None,
) -> Page[CommunityOut]:
    """Communities the caller can see: public ones and private ones the caller belongs to."""
    listing = communities.list_visible(
        session,
        user,
        q=q,
        is_public=is_public,
        member=member,
        offset=paging.offset,
        limit=paging.per_page,
    )
    return Page[CommunityOut](
        items=[_out(c, role) for c, role in listing.items],
        page=paging.page,
        per_page=paging.per_page,
        total=listing.total,
    )


@router.get("/{community_id}", response_model=CommunityOut, responses=responses(401, 404, 422))
def get_community(community_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> CommunityOut:
    """One community, with the caller's role in it."""
    return _out(*communities.get(session, user, community_id))


@router.patch(
    "/{community_id}", response_model=CommunityOut, responses=responses(401, 403, 404, 422)
)
@body_limit(TEXT)
def update_community(
    community_id: uuid.UUID, body: CommunityUpdate, user: CurrentUser, session: SessionDep
) -> CommunityOut:
    """Change a community's details (its Owners and Admins only)."""
    fields = body.model_dump(exclude_unset=True)
    community, role = communities.update_details(session, user, community_id, fields)
    session.commit()
    return _out(community, role)


@router.delete(
    "/{community_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 422),
)
def delete_community(community_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> None:
    """Delete a community and its memberships (an Owner only). Its game servers and revenue
    transactions stay, with community_id set to null."""
    communities.delete_community(session, user, community_id)
    session.commit()


@router.post(
    "/{community_id}/join",
    response_model=CommunityOut,
    responses=responses(401, 403, 404, 409, 422),
)
@body_limit(JSON)
def join_community(
    community_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    body: JoinRequest | None = None,
) -> CommunityOut:
    """Join as a Member: a public community without a body; any community with an
    invitation's code, which uses one of its uses. Every refused code answers the same 403
    invitation_invalid; a member already gets 409 and uses nothing."""
    if body is not None and body.code is not None:
        community, role = invitations.join_with_code(session, user, community_id, body.code)
    else:
        community, role = communities.join(session, user, community_id)
    session.commit()
    return _out(community, role)


@router.post(
    "/{community_id}/leave",
    response_model=CommunityOut,
    responses=responses(401, 404, 409, 422),
)
def leave_community(
    community_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> CommunityOut:
    """Leave a community. The last Owner cannot leave (409): make someone else Owner first."""
    community = communities.leave(session, user, community_id)
    session.commit()
    return _out(community, None)


@router.get(
    "/{community_id}/members",
    response_model=Page[MemberOut],
    responses=responses(401, 404, 422),
)
def list_members(
    community_id: uuid.UUID, user: CurrentUser, session: SessionDep, paging: PagingDep
) -> Page[MemberOut]:
    """The members of a community, in the order they joined."""
    rows, total = communities.members(
        session, user, community_id, offset=paging.offset, limit=paging.per_page
    )
    return Page[MemberOut](
        items=[MemberOut.model_validate(m) for m in rows],
        page=paging.page,
        per_page=paging.per_page,
        total=total,
    )


@router.patch(
    "/{community_id}/members/{user_id}",
    response_model=MemberOut,
    responses=responses(401, 403, 404, 409, 422),
)
def change_member_role(
    community_id: uuid.UUID,
    user_id: uuid.UUID,
    body: MemberRoleUpdate,
    user: CurrentUser,
    session: SessionDep,
) -> MemberOut:
    """Change a member's role (Owners and Admins; only an Owner makes or unmakes Owners and
    Admins; a community always keeps an Owner)."""
    membership = communities.change_role(session, user, community_id, user_id, body.role)
    session.commit()
    return MemberOut.model_validate(membership)


@router.delete(
    "/{community_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 409, 422),
)
def remove_member(
    community_id: uuid.UUID, user_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> None:
    """Remove a member (Owners and Admins; an Admin cannot remove an Owner or an Admin).
    Removing yourself is leaving."""
    communities.remove_member(session, user, community_id, user_id)
    session.commit()


def _invitation_out(invitation: CommunityInvitation, **extra: str) -> dict[str, Any]:
    """The fields of InvitationOut (and ``extra``), its state computed now."""
    fields = {
        name: getattr(invitation, name) for name in InvitationOut.model_fields if name != "state"
    }
    return fields | {"state": invitations.state_of(invitation)} | extra


@router.post(
    "/{community_id}/invitations",
    response_model=InvitationCreated,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 404, 422),
)
@body_limit(JSON)
def create_invitation(
    community_id: uuid.UUID, body: InvitationCreate, user: CurrentUser, session: SessionDep
) -> InvitationCreated:
    """Invite someone (Owners and Admins). The answer carries the code, the only time it is
    shown: the cloud keeps only its hash."""
    created = invitations.create(
        session,
        user,
        community_id,
        email=body.email,
        expires_in_seconds=body.expires_in_seconds,
        max_uses=body.max_uses,
    )
    session.commit()
    return InvitationCreated(**_invitation_out(created.invitation, code=created.code))


@router.get(
    "/{community_id}/invitations",
    response_model=Page[InvitationOut],
    responses=responses(401, 403, 404, 422),
)
def list_invitations(
    community_id: uuid.UUID, user: CurrentUser, session: SessionDep, paging: PagingDep
) -> Page[InvitationOut]:
    """A community's invitations in every state, oldest first (Owners and Admins); no codes."""
    rows, total = invitations.list_for(
        session, user, community_id, offset=paging.offset, limit=paging.per_page
    )
    return Page[InvitationOut](
        items=[InvitationOut(**_invitation_out(i)) for i in rows],
        page=paging.page,
        per_page=paging.per_page,
        total=total,
    )


@router.delete(
    "/{community_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 403, 404, 422),
)
def revoke_invitation(
    community_id: uuid.UUID, invitation_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> None:
    """Revoke an invitation (Owners and Admins): its code admits no one any more. Revoking it
    again changes nothing."""
    invitations.revoke(session, user, community_id, invitation_id)
    session.commit()
