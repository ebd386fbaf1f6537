"""docs/openapi.json is the API's current OpenAPI document, complete with error models."""

import json
from pathlib import Path

from gsm_cloud.cli import openapi_text

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_docs_openapi_json_is_current() -> None:
    assert DOCUMENT.exists(), "run: gsm-cloud openapi -o docs/openapi.json"
    assert DOCUMENT.read_text(encoding="utf-8") == openapi_text(), (
        "docs/openapi.json is stale; run: gsm-cloud openapi -o docs/openapi.json"
    )


def test_every_operation_documents_its_responses_and_errors() -> None:
    document = json.loads(openapi_text())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            assert operation.get("summary") or operation.get("description"), label
            statuses = set(operation["responses"])
            assert any(s.startswith("2") for s in statuses), label
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, label
    assert "ErrorResponse" in document["components"]["schemas"]
