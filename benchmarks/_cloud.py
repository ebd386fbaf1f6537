"""Shared by the cloud benchmarks: a throw-away PostgreSQL database, a real gsm-cloud server
on a free loopback port, and users with tokens. Loopback only; everything is removed after."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    from gsm_cloud.db.scratch import scratch_database as scratch

    with scratch(os.environ.get("GSM_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL), "gsm_bench") as url:
        yield url


@contextlib.contextmanager
def running_cloud(
    database_url: str, workers: int = 2, extra_args: tuple[str, ...] = ()
) -> Iterator[str]:
    """`gsm-cloud serve` on a free loopback port; yields its base URL."""
    storage = tempfile.mkdtemp(prefix="gsm-bench-packages-")  # removed below, not left in cwd
    env = {
        **os.environ,
        "GSM_CLOUD_DATABASE_URL": database_url,
        "GSM_CLOUD_STORAGE_DIR": storage,
    }
    exe = str(Path(sys.executable).parent / "gsm-cloud")
    try:
        with _serving(
            lambda port: [
                exe,
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
                *extra_args,
            ],
            env,
        ) as base:
            yield base
    finally:
        shutil.rmtree(storage, ignore_errors=True)


@contextlib.contextmanager
def running_bare_app(workers: int = 2, access_log: bool = True) -> Iterator[str]:
    """The baseline: a bare FastAPI app (one GET /healthz answering a pydantic model, no
    database), served by uvicorn with exactly the options `gsm-cloud serve` uses."""
    script = (
        "import sys, uvicorn; from gsm_cloud import server; "
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
        "uvicorn.run('_cloud:bare_app', factory=True, host='127.0.0.1', port=int(sys.argv[1]), "
        f"**server.uvicorn_options(workers={workers}, access_log={access_log}))"
    )
    with _serving(lambda port: [sys.executable, "-c", script, str(port)], dict(os.environ)) as base:
        yield base


def bare_app():  # type: ignore[no-untyped-def]
    from fastapi import FastAPI
    from pydantic import BaseModel

    class Health(BaseModel):
        status: str
        version: str

    app = FastAPI()

    @app.get("/healthz", response_model=Health)
    async def healthz() -> Health:
        return Health(status="ok", version="0")

    return app


@contextlib.contextmanager
def _serving(command, env: dict[str, str]) -> Iterator[str]:  # type: ignore[no-untyped-def]
    port = free_port()
    proc = subprocess.Popen(
        command(port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{command(port)[0]} did not come up")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def make_token(database_url: str, *, role: str = "Basic") -> tuple[uuid.UUID, str]:
    from gsm_cloud.db.engine import make_engine, session_factory, transaction
    from gsm_cloud.services import accounts

    engine = make_engine(database_url)
    with transaction(session_factory(engine)) as session:
        user = accounts.create_user(
            session,
            email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
            display_name="bench",
            role=role,
            password=None,
        )
        issued = accounts.issue_token(session, user, name="bench", kind="personal", expires_at=None)
        result = (user.id, issued.token)
    engine.dispose()
    return result


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
