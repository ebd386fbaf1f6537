"""Cloud tests run on PostgreSQL when GSM_TEST_DATABASE_URL is set (CI always sets it), and
on an SQLite file otherwise. Each test session gets its own freshly migrated database; each
test starts with empty tables."""

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

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
    return Settings(database_url=database_url, storage_dir=tmp_path / "packages")


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
