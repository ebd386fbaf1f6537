from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from gsm_cloud import __version__
from gsm_cloud.api.bodies import ApiRoute
from gsm_cloud.api.deps import SessionDep

router = APIRouter(tags=["health"], route_class=ApiRoute)


class Health(BaseModel):
    status: str
    version: str


@router.get("/healthz", response_model=Health)
def healthz(session: SessionDep) -> Health:
    """Alive and able to reach its database."""
    session.execute(text("SELECT 1"))
    return Health(status="ok", version=__version__)
