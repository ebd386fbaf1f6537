"""Logging in to gsm-cloud, checking who we are, logging out."""

from collections.abc import Mapping
from typing import Any

from gsm_cli.cloud import credentials, session
from gsm_cli.cloud.client import CloudTokenRefusedError
from gsm_cli.cloud.session import configured_url
from gsm_cli.errors import GsmError, InvalidInputError, NotFoundError
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
    with session.client(store, env, api_url) as anonymous:
        issued = anonymous.login(email, password)
    token = issued["access_token"]
    with session.client(store, env, api_url, token) as client:
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
    with session.client(store, env, api_url, token) as client:
        me = client.me()  # 401 here: exit 6 with "run gsm auth login"
    credentials.save(paths, credentials.Credentials(api_url, token, email=me.get("email")))
    return _who(me, api_url)


def status(store: Store, paths: Paths, env: Mapping[str, str]) -> dict[str, Any]:
    creds = credentials.current(paths, env, configured_url(store, env))
    with session.client(store, env, creds.api_url, creds.token) as client:
        me = client.me()
    return {**_who(me, creds.api_url), "token_source": creds.source, "token_valid": True}


def logout(
    store: Store, paths: Paths, env: Mapping[str, str], *, revoke: bool = False
) -> dict[str, Any]:
    """Forget the stored token on this machine; the token itself keeps working wherever else
    it is used (a personal access token may serve several machines or CI).

    With ``revoke``, first revoke it on the cloud, so that it stops working everywhere, and say
    which other devices used it (``other_devices``; None when the cloud does not say). When the
    cloud cannot be asked, nothing is forgotten and the error is raised: run it again, or
    without ``revoke``. A token the cloud already refuses is simply forgotten."""
    stored = credentials.load_stored(paths)
    result: dict[str, Any] = {
        "logged_out": False,
        "revoked_on_cloud": False,
        "other_devices": None,
        "reason": None,
        "env_token_still_set": bool(env.get("GSM_TOKEN")),
    }
    if stored is None:
        return result
    if revoke:
        try:
            result.update(_revoke(store, env, stored))
        except CloudTokenRefusedError as err:
            result["reason"] = f"the cloud no longer accepts the token: {err.message}"
        except GsmError as err:
            raise type(err)(
                f"could not revoke the token: {err.message}",
                hint="nothing was changed; try again when the cloud answers, or run "
                "gsm auth logout without --revoke to forget the token on this machine only",
                code=err.code,
            ) from None
    result["logged_out"] = credentials.forget(paths)
    return result


def _revoke(
    store: Store, env: Mapping[str, str], stored: credentials.Credentials
) -> dict[str, Any]:
    from gsm_cli.services import device

    this = device.identity(store, env)
    with session.client(store, env, stored.api_url, stored.token) as client:
        try:
            devices: list[dict[str, Any]] | None = client.token_info()["devices"]
        except NotFoundError:  # a cloud that does not record devices
            devices = None
        client.logout()
    others = None
    if devices is not None:
        others = [
            {
                "device_id": d["device_id"],
                "device_name": d.get("device_name"),
                "last_seen_at": d.get("last_seen_at"),
            }
            for d in devices
            if d["device_id"] != this.id
        ]
    return {"revoked_on_cloud": True, "other_devices": others}
