"""GET /healthz asks the database at most once per interval, shared by the requests of a
worker, and answers from the event loop; the API survives its database connections dying."""

import asyncio
import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio.to_thread
import httpx
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event

from gsm_cloud.api.routes.health import HealthCheck
from gsm_cloud.app import create_app
from gsm_cloud.config import Settings
from tests.cloud.conftest import ON_POSTGRES, MakeUser
from tests.conftest import wait_for


def count_health_queries(app: FastAPI) -> list[str]:
    """The database checks of /healthz run from now on (their statements)."""
    seen: list[str] = []

    @event.listens_for(app.state.engine, "before_cursor_execute")
    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement == "SELECT 1":
            seen.append(statement)

    return seen


def asgi(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def test_requests_within_the_interval_share_one_database_check(app: FastAPI) -> None:
    app.state.health = HealthCheck(app.state.engine, interval=3600)
    checks = count_health_queries(app)

    async def scenario() -> None:
        async with asgi(app) as client:
            answers = await asyncio.gather(*(client.get("/healthz") for _ in range(20)))
            assert [a.status_code for a in answers] == [200] * 20
            assert answers[0].json()["status"] == "ok"
            assert len(checks) == 1  # the 19 others waited for the first one's check
            for _ in range(5):
                assert (await client.get("/healthz")).status_code == 200
            assert len(checks) == 1
            app.state.health.interval = 0  # the result is stale: the next request asks again
            assert (await client.get("/healthz")).status_code == 200
            assert len(checks) == 2

    asyncio.run(scenario())


def test_healthz_answers_while_every_worker_thread_is_busy(app: FastAPI) -> None:
    app.state.health = HealthCheck(app.state.engine, interval=3600)
    release = threading.Event()

    async def scenario() -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1
        async with asgi(app) as client:
            assert (await client.get("/healthz")).status_code == 200  # checked once
            busy = asyncio.create_task(anyio.to_thread.run_sync(release.wait))
            try:
                limiter = anyio.to_thread.current_default_thread_limiter()
                while limiter.borrowed_tokens < 1:  # the one worker thread is taken
                    await asyncio.sleep(0.01)
                answer = await asyncio.wait_for(client.get("/healthz"), timeout=5)
                assert answer.status_code == 200
            finally:
                release.set()
                await busy

    asyncio.run(scenario())


def test_healthz_is_503_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    settings = Settings(
        database_url="postgresql+psycopg://postgres@127.0.0.1:1/nothing",
        storage_dir=tmp_path / "packages",
    )
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            health = client.get("/healthz")
            me = client.get("/v1/me", headers={"Authorization": "Bearer gsm_whatever"})
    finally:
        app.state.engine.dispose()
    assert health.status_code == 503
    assert health.json()["error"]["code"] == "database_unavailable"
    assert me.status_code == 503  # any endpoint: the database is out of reach, not a bug
    assert me.json()["error"]["code"] == "database_unavailable"


@pytest.fixture
def app_pinging_after(cloud_settings: Settings) -> Iterator[object]:
    """make(seconds): an app whose pooled connections are pinged after that long idle."""
    made: list[FastAPI] = []

    def make(seconds: float) -> FastAPI:
        made.append(create_app(dataclasses.replace(cloud_settings, db_ping_after_idle=seconds)))
        return made[-1]

    yield make
    for app in made:
        app.state.engine.dispose()


def terminate_other_backends(database_url: str) -> None:
    """What a PostgreSQL restart does to the API's connections: each is killed server-side."""
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    others = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()"
    )
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"SELECT pg_terminate_backend(pid) FROM ({others}) AS o")
        wait_for(lambda: admin.execute(others).fetchone() is None)


postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="pg_terminate_backend: PostgreSQL")


@postgres_only
def test_a_killed_connection_costs_one_503_and_the_next_request_reconnects(
    app_pinging_after, make_user: MakeUser, database_url: str
) -> None:
    app = app_pinging_after(3600)  # no ping: the dead connection is used and fails
    account = make_user()
    with TestClient(app) as client:
        assert client.get("/v1/me", headers=account.headers).status_code == 200
        terminate_other_backends(database_url)
        failed = client.get("/v1/me", headers=account.headers)
        assert failed.status_code == 503
        assert failed.json()["error"]["code"] == "database_unavailable"
        assert [client.get("/v1/me", headers=account.headers).status_code for _ in range(3)] == [
            200
        ] * 3


@postgres_only
def test_a_connection_killed_while_idle_is_replaced_before_use(
    app_pinging_after, make_user: MakeUser, database_url: str
) -> None:
    app = app_pinging_after(0)  # every connection counts as idle: pinged at each checkout
    account = make_user()
    with TestClient(app) as client:
        assert client.get("/v1/me", headers=account.headers).status_code == 200
        terminate_other_backends(database_url)
        assert client.get("/v1/me", headers=account.headers).status_code == 200
