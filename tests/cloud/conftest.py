"""Cloud tests run on PostgreSQL when GSM_TEST_DATABASE_URL is set (CI always sets it), and
on an SQLite file otherwise. Each test session gets its own freshly migrated database; each
test starts with empty tables."""

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from gsm_cloud.app import create_app
from gsm_cloud.config import Settings
from gsm_cloud.db.engine import make_engine, migrate, transaction
from gsm_cloud.db.models import Base
from gsm_cloud.db.scratch import scratch_database
from gsm_cloud.services import accounts
from tests.conftest import free_port, wait_for

ON_POSTGRES = bool(os.environ.get("GSM_TEST_DATABASE_URL"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("GSM_TEST_DATABASE_URL")
    if not given:
        path = tmp_path_factory.mktemp("cloud-db") / "cloud.db"
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        yield url
        return
    with scratch_database(given, "gsm_test") as url:
        yield url


def empty_all_tables(url: str) -> None:
    engine = make_engine(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
            conn.execute(text("DELETE FROM sqlite_sequence WHERE name = 'change_log'"))
    engine.dispose()


@pytest.fixture
def cloud_settings(database_url: str, tmp_path: Path) -> Settings:
    # The development payment provider: purchases and donations are confirmed at once. A
    # webhook secret too, so that the Stripe webhook judges what it gets (400) instead of 503.
    return Settings(
        database_url=database_url,
        storage_dir=tmp_path / "packages",
        payments="development",
        stripe_webhook_secret="whsec_tests",
    )


@pytest.fixture
def app(cloud_settings: Settings) -> Iterator[FastAPI]:
    application = create_app(cloud_settings)
    yield application
    application.state.engine.dispose()
    empty_all_tables(cloud_settings.database_url)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@dataclass
class Account:
    id: uuid.UUID
    email: str
    token: str
    role: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


MakeUser = Callable[..., Account]


@pytest.fixture
def make_user(app: FastAPI) -> MakeUser:
    """Create a user with a personal access token: make_user("Developer")."""
    counter = iter(range(1, 10_000))

    def make(
        role: str = "Basic", *, password: str | None = "correct horse", email: str | None = None
    ) -> Account:
        email = email or f"user{next(counter)}-{uuid.uuid4().hex[:6]}@example.com"
        with transaction(app.state.sessions) as session:
            user = accounts.create_user(
                session, email=email, display_name=email.split("@")[0], role=role, password=password
            )
            issued = accounts.issue_token(
                session, user, name="test", kind="personal", expires_at=None
            )
            return Account(user.id, email, issued.token, role)

    return make


@pytest.fixture
def db(app: FastAPI):  # type: ignore[no-untyped-def]
    """A session on the test database, for checking what the API wrote."""
    with app.state.sessions() as session:
        yield session


@dataclass
class Served:
    url: str
    port: int
    log: Path
    process: subprocess.Popen  # type: ignore[type-arg]

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


ServeCloud = Callable[..., Served]


@pytest.fixture
def serve_cloud(database_url: str, tmp_path: Path) -> Iterator[ServeCloud]:
    """Start a real `gsm-cloud serve` on 127.0.0.1 on the test database: serve_cloud(workers=2,
    env={"GSM_CLOUD_HEADER_TIMEOUT": "1"}). Stopped, and the tables emptied, after the test."""
    started: list[Served] = []

    def start(*, workers: int = 1, env: dict[str, str] | None = None) -> Served:
        exe = Path(sys.executable).parent / "gsm-cloud"
        port = free_port()
        log = tmp_path / f"serve-{port}.log"
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GSM_CLOUD_")},
            "GSM_CLOUD_DATABASE_URL": database_url,
            "GSM_CLOUD_HOME": str(tmp_path / "cloud-home"),
            **(env or {}),
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(exe), "serve", "--port", str(port), "--workers", str(workers)],
                env=environment, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        served = Served(f"http://127.0.0.1:{port}", port, log, process)
        started.append(served)

        def answers() -> bool:
            if process.poll() is not None:
                pytest.fail(f"gsm-cloud serve exited: {served.log_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(f"{served.url}/healthz", timeout=1).status_code == 200
            return False

        wait_for(answers, timeout=60)
        if workers > 1:  # every worker up, not only the first
            wait_for(lambda: served.log_text().count("Application startup complete") >= workers)
        return served

    yield start
    for served in started:
        served.process.terminate()
        try:
            served.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            served.process.kill()
            served.process.wait()
    empty_all_tables(database_url)
