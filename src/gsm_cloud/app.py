"""The FastAPI application."""

import importlib
import pkgutil

from fastapi import FastAPI

from gsm_cloud import __version__
from gsm_cloud.api import errors, routes
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
    engine = make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    errors.install(app)
    for module in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        app.include_router(importlib.import_module(f"{routes.__name__}.{module.name}").router)
    return app
