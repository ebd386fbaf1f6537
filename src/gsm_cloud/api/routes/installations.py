"""The plugins installed on a game server: /v1/servers/{server_id}/plugins."""

import uuid

from fastapi import APIRouter

from gsm_cloud.api.bodies import ApiRoute
from gsm_cloud.api.deps import CurrentUser, SessionDep
from gsm_cloud.api.errors import responses
from gsm_cloud.api.schemas.plugins import InstallationOut
from gsm_cloud.services import plugins

router = APIRouter(prefix="/v1/servers", tags=["servers"], route_class=ApiRoute)


@router.get(
    "/{server_id}/plugins",
    response_model=list[InstallationOut],
    responses=responses(401, 404, 422),
)
def list_installations(
    server_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> list[InstallationOut]:
    """The plugins installed on one of your game servers, as sync push recorded them, with
    each plugin's catalog name and latest published version. Another user's server is 404."""
    return [
        InstallationOut(
            id=item.row.id,
            server_id=item.row.server_id,
            plugin_id=item.row.plugin_id,
            plugin_name=item.plugin_name,
            latest_version=item.latest_version,
            installed_version=item.row.installed_version,
            installed_at=item.row.installed_at,
            configuration=item.row.configuration,
        )
        for item in plugins.installations(session, user, server_id)
    ]
