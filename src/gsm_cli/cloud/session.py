"""Opening a client for the cloud the user is logged in to, with the configured timeout."""

from collections.abc import Mapping

from gsm_cli.cloud import credentials
from gsm_cli.cloud.client import CloudClient
from gsm_cli.paths import Paths
from gsm_cli.services import settings
from gsm_cli.store import Store


def configured_url(store: Store, env: Mapping[str, str]) -> str | None:
    return settings.effective_value(store, "cloud.api_url", env)


def timeout(store: Store, env: Mapping[str, str]) -> float:
    return float(settings.effective_value(store, "cloud.timeout", env) or 10)


def connect(store: Store, paths: Paths, env: Mapping[str, str]) -> CloudClient:
    """A client with the credentials in force; NotAllowedError (exit 6) when logged out."""
    creds = credentials.current(paths, env, configured_url(store, env))
    return CloudClient(creds.api_url, creds.token, timeout=timeout(store, env))
