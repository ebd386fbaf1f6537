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
def running_cloud(database_url: str, workers: int = 2) -> Iterator[str]:
    port = free_port()
    storage = tempfile.mkdtemp(prefix="gsm-bench-packages-")  # removed below, not left in cwd
    env = {
        **os.environ,
        "GSM_CLOUD_DATABASE_URL": database_url,
        "GSM_CLOUD_STORAGE_DIR": storage,
    }
    exe = Path(sys.executable).parent / "gsm-cloud"
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("gsm-cloud did not come up")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(storage, ignore_errors=True)


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
