"""A real gsm-cloud for end-to-end tests: `gsm-cloud serve` in a child process on a free
loopback port, on PostgreSQL when GSM_TEST_DATABASE_URL is set (CI), else an SQLite file."""

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port


@dataclass
class CloudAccount:
    email: str
    password: str
    token: str


@dataclass
class LiveCloud:
    url: str
    database_url: str
    storage: Path | None = None  # where it keeps plugin packages (GSM_CLOUD_STORAGE_DIR)

    def account(self, role: str = "Basic", password: str = "correct horse") -> CloudAccount:
        from gsm_cloud.db.engine import make_engine, session_factory, transaction
        from gsm_cloud.services import accounts

        engine = make_engine(self.database_url)
        email = f"e2e-{uuid.uuid4().hex[:10]}@example.com"
        try:
            with transaction(session_factory(engine)) as session:
                user = accounts.create_user(
                    session, email=email, display_name=email[:12], role=role, password=password
                )
                issued = accounts.issue_token(
                    session, user, name="e2e", kind="personal", expires_at=None
                )
                token = issued.token
        finally:
            engine.dispose()
        return CloudAccount(email, password, token)


@contextlib.contextmanager
def _database(tmp: Path) -> Iterator[str]:
    from gsm_cloud.db.scratch import scratch_database

    given = os.environ.get("GSM_TEST_DATABASE_URL")
    if not given:
        yield f"sqlite:///{tmp / 'cloud.db'}"
        return
    with scratch_database(given, "gsm_e2e", migrated=False) as url:
        yield url


@pytest.fixture(scope="module")
def live_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCloud]:
    with serve_cloud(tmp_path_factory.mktemp("live-cloud"), {}) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def paying_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCloud]:
    """A live gsm-cloud whose payments go through the development provider, which confirms
    every purchase and donation at once (GSM_CLOUD_PAYMENTS=development)."""
    extra = {"GSM_CLOUD_PAYMENTS": "development"}
    with serve_cloud(tmp_path_factory.mktemp("paying-cloud"), extra) as cloud:
        yield cloud


@contextlib.contextmanager
def serve_cloud(tmp: Path, extra_env: dict[str, str]) -> Iterator[LiveCloud]:
    """`gsm-cloud serve` on a migrated scratch database, with these variables added to its
    environment, until the block ends."""
    exe = Path(sys.executable).parent / "gsm-cloud"
    with _database(tmp) as database_url:
        env = {
            **os.environ,
            "GSM_CLOUD_DATABASE_URL": database_url,
            "GSM_CLOUD_HOME": str(tmp),
            **extra_env,
        }
        subprocess.run([str(exe), "migrate"], env=env, check=True, capture_output=True)
        port = free_port()
        log = (tmp / "serve.log").open("wb")
        proc = subprocess.Popen(
            [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"gsm-cloud did not start: {(tmp / 'serve.log').read_text()[-2000:]}"
                    )
                time.sleep(0.05)
            yield LiveCloud(url, database_url, tmp / "packages")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()


def unique(prefix: str) -> str:
    """A fresh plugin name: names are unique in the marketplace, and the cloud outlives a test."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def developer(live_cloud: LiveCloud) -> CloudAccount:
    return live_cloud.account("Developer")


@pytest.fixture
def api(live_cloud: LiveCloud, developer: CloudAccount) -> Iterator[httpx.Client]:
    """The developer's own HTTP client, to set the marketplace up."""
    headers = {"Authorization": f"Bearer {developer.token}"}
    with httpx.Client(base_url=live_cloud.url, headers=headers, timeout=30) as client:
        yield client
