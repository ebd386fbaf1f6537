"""The FastAPI application."""

import importlib
import pkgutil
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from gsm_cloud import __version__
from gsm_cloud.api import errors, routes
from gsm_cloud.api.routes.health import DatabaseUnavailable, HealthCheck
from gsm_cloud.config import Settings, load_settings
from gsm_cloud.db.engine import make_engine, session_factory


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    app = FastAPI(
        title="gsm-cloud",
        version=__version__,
        description="The cloud API of gsm: accounts, communities, the plugin marketplace, "
        'and sync of game servers. Errors are always {"error": {"code", "message"}}.',
    )
    engine = make_engine(settings.database_url, ping_after_idle=settings.db_ping_after_idle)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.health = HealthCheck(engine)
    errors.install(app)
    app.add_exception_handler(DBAPIError, _database_error)
    for module in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        app.include_router(importlib.import_module(f"{routes.__name__}.{module.name}").router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A lost database connection is 503 (the pool has already dropped it and its peers, so the
    next request connects afresh); any other database error stays an internal error."""
    if isinstance(exc, DBAPIError) and _connection_lost(exc):
        return errors.error_json(503, DatabaseUnavailable.code, "the database cannot be reached")
    return errors.error_json(500, "internal_error", "the server failed to handle this request")


def _connection_lost(exc: DBAPIError) -> bool:
    # connection_invalidated: SQLAlchemy saw the connection die in use. A psycopg
    # OperationalError without an SQLSTATE: the server could not be reached at all.
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    return type(orig).__module__.startswith("psycopg") and (
        type(orig).__name__ == "OperationalError" and getattr(orig, "sqlstate", None) is None
    )


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with 422 answers described as what they are: our error model."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for item in document.get("paths", {}).values():
        for operation in item.values():
            answers = operation.setdefault("responses", {})
            invalid = answers.get("422")
            if invalid is not None:
                invalid["description"] = "invalid_request"
                invalid["content"] = {"application/json": {"schema": error_ref}}
            if "requestBody" in operation:  # a body that is not JSON at all, or too large
                for status, code in (("400", "bad_request"), ("413", "too_large")):
                    answers.setdefault(
                        status,
                        {
                            "description": code,
                            "content": {"application/json": {"schema": error_ref}},
                        },
                    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    if "ErrorResponse" not in schemas:  # routes normally bring it in through responses()
        model = errors.ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(model.pop("$defs", {}))
        schemas["ErrorResponse"] = model
    app.openapi_schema = document
    return document
