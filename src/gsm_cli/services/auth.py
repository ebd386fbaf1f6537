"""Logging in to gsm-cloud, checking who we are, logging out."""

from collections.abc import Mapping
from typing import Any

from gsm_cli.cloud import credentials
from gsm_cli.cloud.client import CloudClient
from gsm_cli.cloud.session import configured_url, timeout
from gsm_cli.errors import GsmError, InvalidInputError
from gsm_cli.paths import Paths
from gsm_cli.services.settings import validate
from gsm_cli.store import Store


def resolve_api_url(
    store: Store, env: Mapping[str, str], given: str | None, paths: Paths | None = None
) -> str:
    """--api-url, then GSM_API_URL / cloud.api_url, then the cloud of the last login."""
    stored = credentials.load_stored(paths) if paths is not None else None
    url = given or configured_url(store, env) or (stored.api_url if stored else None)
    if not url:
        raise InvalidInputError(
            "no cloud API URL to log in to",
            hint="pass --api-url URL, set GSM_API_URL, or gsm config set cloud.api_url URL",
            code="no_api_url",
        )
    return validate("cloud.api_url", url)


def _who(me: dict[str, Any], api_url: str) -> dict[str, Any]:
    return {
        "api_url": api_url,
        "email": me.get("email"),
        "display_name": me.get("display_name"),
        "role": me.get("role"),
        "user_id": me.get("id"),
    }


def login_with_password(
    store: Store, paths: Paths, env: Mapping[str, str], *, api_url: str, email: str, password: str
) -> dict[str, Any]:
    with CloudClient(api_url, timeout=timeout(store, env)) as anonymous:
        issued = anonymous.login(email, password)
    token = issued["access_token"]
    with CloudClient(api_url, token, timeout=timeout(store, env)) as client:
        me = client.me()
    credentials.save(
        paths,
        credentials.Credentials(
            api_url, token, email=me.get("email"), token_id=issued.get("token_id")
        ),
    )
    return _who(me, api_url)


def login_with_token(
    store: Store, paths: Paths, env: Mapping[str, str], *, api_url: str, token: str
) -> dict[str, Any]:
    token = token.strip()
    if not token:
        raise InvalidInputError("no token on standard input", code="no_token")
    with CloudClient(api_url, token, timeout=timeout(store, env)) as client:
        me = client.me()  # 401 here: exit 6 with "run gsm auth login"
    credentials.save(paths, credentials.Credentials(api_url, token, email=me.get("email")))
    return _who(me, api_url)


def status(store: Store, paths: Paths, env: Mapping[str, str]) -> dict[str, Any]:
    creds = credentials.current(paths, env, configured_url(store, env))
    with CloudClient(creds.api_url, creds.token, timeout=timeout(store, env)) as client:
        me = client.me()
    return {**_who(me, creds.api_url), "token_source": creds.source, "token_valid": True}


def logout(store: Store, paths: Paths, env: Mapping[str, str]) -> dict[str, Any]:
    """Revoke the stored token on the cloud when it answers; always forget it locally."""
    stored = credentials.load_stored(paths)
    revoked, reason = False, None
    if stored is not None:
        try:
            with CloudClient(stored.api_url, stored.token, timeout=timeout(store, env)) as client:
                client.logout()
            revoked = True
        except GsmError as err:
            reason = err.message
    forgot = credentials.forget(paths)
    return {
        "logged_out": forgot,
        "revoked_on_cloud": revoked,
        "reason": reason,
        "env_token_still_set": bool(env.get("GSM_TOKEN")),
    }
