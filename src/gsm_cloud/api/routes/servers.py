"""The caller's game servers in the cloud (kept in step by ``gsm sync push``)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from gsm_cloud.api.bodies import ApiRoute
from gsm_cloud.api.deps import CurrentUser, PagingDep, SessionDep
from gsm_cloud.api.errors import responses
from gsm_cloud.api.schemas.common import Page, Text
from gsm_cloud.api.schemas.servers import ServerOut
from gsm_cloud.services import servers

router = APIRouter(prefix="/v1/servers", tags=["servers"], route_class=ApiRoute)


@router.get("", response_model=Page[ServerOut], responses=responses(401, 422))
def list_servers(
    user: CurrentUser,
    session: SessionDep,
    paging: PagingDep,
    status: Annotated[
        Text(max_length=20, min_length=1) | None,
        Query(description="Only servers in this status (running, stopped, ...)"),
    ] = None,
    game_type: Annotated[
        Text(max_length=50, min_length=1) | None,
        Query(description="Only servers of this game (valheim, minecraft, ...)"),
    ] = None,
) -> Page[ServerOut]:
    """The caller's servers, ordered by name then id."""
    listing = servers.list_owned(
        session,
        user.id,
        status=status,
        game_type=game_type,
        offset=paging.offset,
        limit=paging.per_page,
    )
    return Page[ServerOut](
        items=[ServerOut.model_validate(server) for server in listing.items],
        page=paging.page,
        per_page=paging.per_page,
        total=listing.total,
    )


@router.get("/{server_id}", response_model=ServerOut, responses=responses(401, 404, 422))
def get_server(server_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> ServerOut:
    """One of the caller's servers; another user's server answers 404."""
    return ServerOut.model_validate(servers.get_owned(session, user.id, server_id))
