"""GET /healthz: alive, and able to reach the database.

Load balancers and monitors ask often; each answer must not cost a database round trip nor
hold one of the worker's threads. The database is asked at most once a second per worker
process (``HealthCheck``): requests in between share the last result, and a request that
arrives while a check runs waits for that check, on the event loop, without a thread.
"""

import asyncio
import logging
import time

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool

from gsm_cloud import __version__
from gsm_cloud.api.bodies import ApiRoute
from gsm_cloud.api.errors import ApiError, ErrorResponse

router = APIRouter(tags=["health"], route_class=ApiRoute)
CHECK_INTERVAL = 1.0  # seconds a database check's result is reused
log = logging.getLogger(__name__)


class Health(BaseModel):
    status: str
    version: str


class DatabaseUnavailable(ApiError):
    status_code = 503
    code = "database_unavailable"


class HealthCheck:
    """The database check of one app, its result shared for ``interval`` seconds."""

    def __init__(self, engine: Engine, interval: float = CHECK_INTERVAL) -> None:
        self.engine = engine
        self.interval = interval
        self._checked_at: float | None = None
        self._ok = False
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    async def database_ok(self) -> bool:
        if self._fresh():
            return self._ok
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:  # a lock serves one event loop
            self._lock, self._lock_loop = asyncio.Lock(), loop
        async with self._lock:
            if not self._fresh():  # else: another request checked while this one waited
                self._ok = await run_in_threadpool(self._ask_database)
                self._checked_at = time.monotonic()
        return self._ok

    def _fresh(self) -> bool:
        return self._checked_at is not None and time.monotonic() - self._checked_at < self.interval

    def _ask_database(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to reach it is the answer, not an error of ours
            log.warning("health check: the database cannot be reached: %s", exc)
            return False
        return True


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": ErrorResponse, "description": DatabaseUnavailable.code}},
)
async def healthz(request: Request) -> Health:
    """Alive and able to reach its database (checked at most once a second; 503
    ``database_unavailable`` when it cannot)."""
    check: HealthCheck = request.app.state.health
    if not await check.database_ok():
        raise DatabaseUnavailable("the database cannot be reached")
    return Health(status="ok", version=__version__)
