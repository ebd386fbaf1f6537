"""The API against its own OpenAPI document, fuzzed by schemathesis: no input gives a server
error, and every response matches the documented status codes, content types and schemas.
Bounded: a fixed number of examples per operation, derandomised so CI runs are repeatable."""

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks

from gsm_cloud.app import create_app
from gsm_cloud.config import Settings
from tests.cloud.conftest import MakeUser

EXAMPLES_PER_OPERATION = 30
CHECKS = [
    not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def operation_labels() -> list[str]:
    """Every operation of the API, read from the document itself at collection time."""
    app = create_app(Settings(database_url="sqlite://", storage_dir=Path(tempfile.gettempdir())))
    paths = app.openapi()["paths"]
    return sorted(f"{method.upper()} {path}" for path, item in paths.items() for method in item)


@pytest.fixture
def admin_headers(make_user: MakeUser) -> dict[str, str]:
    # An Admin reaches the most code: every role check lets it through or explains why not.
    return make_user("Admin").headers


@pytest.mark.parametrize("label", operation_labels())
def test_operation_honours_its_contract(label: str, app, admin_headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    method, path = label.split(" ", 1)
    operation = schemathesis.openapi.from_asgi("/openapi.json", app)[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers=admin_headers, checks=CHECKS)

    run()
