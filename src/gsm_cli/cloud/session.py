"""Opening a client for the cloud: with the credentials in force, the configured timeout, and
this machine's device identity on every request."""

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


def client(
    store: Store, env: Mapping[str, str], api_url: str, token: str | None = None
) -> CloudClient:
    """A client for ``api_url`` that says which device it runs on (X-GSM-Device-Id/-Name)."""
    from gsm_cli.services import device

    this = device.identity(store, env)
    return CloudClient(
        api_url, token, timeout=timeout(store, env), device_id=this.id, device_name=this.name
    )


def connect(store: Store, paths: Paths, env: Mapping[str, str]) -> CloudClient:
    """A client with the credentials in force; NotAllowedError (exit 6) when logged out."""
    creds = credentials.current(paths, env, configured_url(store, env))
    return client(store, env, creds.api_url, creds.token)


def connect_or_anonymous(store: Store, paths: Paths, env: Mapping[str, str]) -> CloudClient:
    """The logged-in client, or when logged out an anonymous one for what the cloud serves
    without a login (the catalog, free plugins' packages) when its URL is known (GSM_API_URL
    or cloud.api_url). NotAllowedError (exit 6) when neither a login nor a URL is there."""
    from gsm_cli.errors import NotAllowedError

    try:
        return connect(store, paths, env)
    except NotAllowedError as exc:
        if exc.code != "not_logged_in":
            raise
        api_url = env.get("GSM_API_URL") or configured_url(store, env)
        if not api_url:
            exc.hint = (
                "run gsm auth login, or set the cloud's URL (gsm config set cloud.api_url URL) "
                "to fetch free plugins without logging in"
            )
            raise
        return client(store, env, api_url.rstrip("/"))
